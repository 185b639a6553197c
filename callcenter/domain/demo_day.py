"""The demo's operator's day: missed calls and tasks of every kind around the demo's moment.

Pure and deterministic like :mod:`callcenter.domain.demo_data`, which calls it: the same ``rng``
state and ``now`` always give the same day.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

__all__ = ["operators_day"]

_LADDER = (timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=3), timedelta(days=1))
_FAILED = ("no_answer", "no_answer", "busy", "unavailable")
_CALLBACK_TITLES = ("Перезвонить: выбирает модель, просил набрать позже", "Перезвонить: обсудить рассрочку",
                    "Перезвонить: уточнить адрес доставки", "Перезвонить: сравнивает с другим магазином",
                    "Перезвонить: ждёт зарплату, хочет оформить заказ")


def _task(kind: str, client_index: int | None, due_at: datetime, title: str, **extra: Any) -> dict[str, Any]:
    task = {"kind": kind, "status": "open", "client_index": client_index, "phone": None, "title": title,
            "due_at": due_at, "assigned": None, "failures": 0, "attempts": 0, "history": [], "priority": 0,
            "order_index": None, "call_index": None, "note": None, "result": None, "closed_at": None,
            "closed_reason": None}
    task.update(extra)
    return task


def _redial(client_index: int, last_at: datetime, failures: int, rng: random.Random, title: str,
            **extra: Any) -> dict[str, Any]:
    """A redial after ``failures`` failed attempts, the last at ``last_at``: due a ladder step later."""
    history, at = [], last_at
    for step in range(failures, 0, -1):
        history.append((at, rng.choice(_FAILED)))
        if step > 1:
            at -= _LADDER[step - 2]
    history.reverse()
    return _task("redial", client_index, last_at + _LADDER[failures - 1], title, failures=failures,
                 attempts=failures, history=history, result=history[-1][1], **extra)


def _archived(task: dict[str, Any], at: datetime, reason: str) -> dict[str, Any]:
    return {**task, "status": "archived", "closed_at": at, "closed_reason": reason}


def operators_day(rng: random.Random, now: datetime, clients: list[dict[str, Any]],
                  orders: list[dict[str, Any]], *, first_random: int, unknown_caller: str,
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Missed calls and tasks for the clients, around ``now`` (UTC); see
    :class:`callcenter.domain.demo_data.DemoData`.  ``clients[:first_random]`` are the named
    clients the day is written around (found by name); ``unknown_caller`` a number that is
    nobody's.

    Open tasks are never a do-not-call client's, and a number has at most one open missed-call
    task.  Due times are the times asked for: some are due now for every zone of the named clients,
    others later today, tomorrow, and a few are archived or done."""
    now = now.replace(microsecond=0)
    day = {c["name"]: i for i, c in enumerate(clients[:first_random])}.get

    def last_order(client_index: int) -> int | None:
        return max((n for n, o in enumerate(orders) if o["client_index"] == client_index), default=None)

    pool = [i for i in range(first_random, len(clients)) if not clients[i]["do_not_call"]]
    rng.shuffle(pool)
    calls: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []

    def missed(client_index: int | None, ago: timedelta, *, phone: str | None = None) -> None:
        phone = phone or clients[client_index]["phones"][0]["number"]
        wait = rng.randint(12, 70)
        calls.append({"client_index": client_index, "phone": phone, "started_at": now - ago,
                      "wait_seconds": wait})
        if client_index is None or not clients[client_index]["do_not_call"]:
            tasks.append(_task("missed_call", client_index, now - ago + timedelta(seconds=wait),
                               "Пропущенный звонок", phone=phone, attempts=1, call_index=len(calls) - 1))

    # due now, one per zone: whichever zone is in its calling hours gives Next task something
    for name, ago in (("Дмитрий Орлов", timedelta(minutes=25)), ("Павел Гусев", timedelta(hours=2)),
                      ("Тамара Фролова", timedelta(hours=3))):
        if day(name) is not None:
            missed(day(name), ago)
    missed(None, timedelta(minutes=70), phone=unknown_caller)
    if (i := day("Марина Ковалёва")) is not None:
        tasks.append(_redial(i, now - timedelta(minutes=10), 1, rng, "Не дозвонились: вопрос по доставке"))
    if (i := day("Елена Зайцева")) is not None:
        tasks.append(_task("callback", i, now - timedelta(minutes=3), "Перезвонить: выбирает подарок мужу",
                           assigned=0, note="Просила перезвонить сегодня"))
    if (i := day("Сергей Никитин")) is not None:
        order = last_order(i)
        title = f"Уточнить адрес доставки заказа {orders[order]['number']}" if order is not None \
            else "Уточнить адрес доставки"
        tasks.append(_redial(i, now - timedelta(minutes=32), 2, rng, title, order_index=order))
    if (i := day("Ирина Вайнштейн")) is not None:
        tasks.append(_task("callback", i, now + timedelta(hours=3), "Перезвонить: выбрать цвет чехла",
                           assigned=1))
    if (i := day("Тамара Фролова")) is not None:
        # she asked not to be called on the phone: her open task went to the archive
        asked = now - timedelta(days=1, hours=2)
        tasks.append(_archived(_task("redial", i, asked - timedelta(minutes=5), "Предложить скидку",
                                     failures=1, attempts=1, history=[(asked, "no_answer")],
                                     result="no_answer"), asked, "do_not_call"))

    # later today and tomorrow
    if (i := day("Иван Петров")) is not None:
        tasks.append(_task("callback", i, now + timedelta(hours=2), "Перезвонить: обсудить рассрочку",
                           assigned=0))
        order = last_order(i)
        tasks.append(_task("reminder", i, now + timedelta(hours=20),
                           f"Напомнить о получении заказа {orders[order]['number']}" if order is not None
                           else "Напомнить о получении заказа", order_index=order))
    if (i := day("Ольга Смирнова")) is not None:
        tasks.append(_task("callback", i, now + timedelta(hours=5), "Перезвонить: уточнить размер", assigned=1))

    # every new order waits for its confirmation
    for n, order in enumerate(orders):
        if order["status"] == "new" and not clients[order["client_index"]]["do_not_call"]:
            tasks.append(_task("order_confirmation", order["client_index"],
                               order["created_at"].astimezone(timezone.utc), f"Подтвердить заказ {order['number']}",
                               order_index=n, priority=1 if order["total"] >= Decimal("30000") else 0))

    # the other clients: a spread of work over the day, and the archive
    spread = pool[:24]
    for i in spread[:3]:
        missed(i, timedelta(minutes=rng.randint(15, 360)))
    for k, i in enumerate(spread[3:9]):
        tasks.append(_redial(i, now - timedelta(minutes=rng.randint(5, 170)), 1 + k % 3, rng,
                             "Не дозвонились по заказу"))
    for k, i in enumerate(spread[9:15]):
        tasks.append(_task("callback", i, now + timedelta(minutes=rng.randint(-120, 600)),
                           rng.choice(_CALLBACK_TITLES), assigned=(0, 1, None)[k % 3]))
    for i in spread[15:17]:
        tasks.append(_task("reminder", i, now + timedelta(minutes=rng.randint(-60, 1440)),
                           "Напомнить о бонусах к празднику"))
    for k, i in enumerate(spread[17:20]):
        last = now - timedelta(hours=rng.randint(2, 30))
        if k < 2:  # the fifth failure ends the ladder
            task = _redial(i, last - _LADDER[3], 4, rng, "Не дозвонились по заказу")
            task["history"].append((last, "no_answer"))
            tasks.append(_archived({**task, "failures": 5, "attempts": 5, "result": "no_answer"},
                                   task["due_at"], "ladder_exhausted"))
        else:
            tasks.append(_archived(_task("redial", i, last, "Не дозвонились по заказу", attempts=1,
                                         history=[(last, "invalid_number")], result="invalid_number"),
                                   last, "invalid_number"))
    for i, result in zip(spread[20:22], ("confirmed", "paid")):
        at = now - timedelta(hours=rng.randint(1, 8))
        tasks.append({**_task("callback", i, at, rng.choice(_CALLBACK_TITLES), attempts=1,
                              history=[(at, result)], result=result),
                      "status": "done", "closed_at": at, "closed_reason": result})
    return calls, tasks

"""Demo data: deterministic, realistic, and consistent with the AMI demo traces."""

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
import pytest

from callcenter.config import load_settings
from callcenter.domain.calling_hours import parse_calling_hours
from callcenter.domain.client_zone import resolve_client_zone
from callcenter.domain.demo_data import (
    DAY_CLIENTS,
    FIXED_CLIENTS,
    ORDER_STATUSES,
    TASK_KINDS,
    UNKNOWN_CALLER,
    UNKNOWN_MISSED_CALLER,
    DemoData,
    feminine_surname,
    generate_demo,
)
from callcenter.domain.phones import normalise_phone
from callcenter.domain.redial import window_for
from callcenter.domain.tasks import Placement

NOW = datetime(2025, 3, 30, 3, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # minutes after a DST jump
CYRILLIC_NAME = re.compile(r"^[А-ЯЁ][а-яё]+(-[А-ЯЁ][а-яё]+)?( [А-ЯЁ][а-яё]+(-[А-ЯЁ][а-яё]+)?){1,2}$")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate_demo(seed=42, now=NOW)


def all_phones(data):
    return [p["number"] for c in data.clients for p in c["phones"]]


def test_same_seed_same_data(demo):
    assert generate_demo(seed=42, now=NOW) == demo
    assert generate_demo(seed=43, now=NOW) != demo


def test_same_seed_same_data_in_another_process():
    # Catches iteration over sets, whose order changes with PYTHONHASHSEED.
    script = (
        "import hashlib, datetime as d; from callcenter.domain.demo_data import generate_demo as g;"
        "x = g(7, d.datetime(2025, 1, 1, tzinfo=d.timezone.utc), clients=60);"
        "print(hashlib.sha256(repr(x).encode()).hexdigest())"
    )
    digests = {
        subprocess.run([sys.executable, "-c", script], cwd=REPO, env={**os.environ, "PYTHONHASHSEED": salt},
                       capture_output=True, text=True, check=True).stdout
        for salt in ("1", "2")
    }
    here = generate_demo(7, datetime(2025, 1, 1, tzinfo=timezone.utc), clients=60)
    assert digests == {hashlib.sha256(repr(here).encode()).hexdigest() + "\n"}


def test_shops(demo):
    assert [s["slug"] for s in demo.shops] == ["tehnomir", "domovoy"]
    assert demo.shops[0]["name"] == "ТехноМир"


def test_fixed_clients_come_first(demo):
    ivan, olga = demo.clients[:2]
    assert (ivan["name"], ivan["city"], ivan["timezone"]) == ("Иван Петров", "Москва", "Europe/Moscow")
    assert ivan["phones"][0]["number"] == "+79161234567"
    assert olga["name"] == "Ольга Смирнова"
    assert olga["phones"][0]["number"] == "+79265550101"
    assert [c["name"] for c in demo.clients].count("Иван Петров") == 1


def test_unknown_caller_is_nobodys_number(demo):
    assert UNKNOWN_CALLER not in all_phones(demo)


def test_client_count_is_honoured(demo):
    assert len(demo.clients) == 1000
    assert [c["name"] for c in generate_demo(1, NOW, clients=1).clients] == ["Иван Петров"]
    empty = generate_demo(1, NOW, clients=0)
    assert (len(empty.shops), empty.clients, empty.orders) == (2, [], [])
    with pytest.raises(ValueError):
        generate_demo(1, NOW, clients=-1)


def test_all_phones_are_valid_unique_and_normalised(demo):
    phones = all_phones(demo)
    assert len(phones) == len(set(phones))
    for number in phones:
        assert phonenumbers.is_valid_number(phonenumbers.parse(number)), number
        assert normalise_phone(number).e164 == number
    assert all(1 <= len(c["phones"]) <= 3 for c in demo.clients)
    assert all(c["phones"][0]["label"] == "mobile" for c in demo.clients)


def test_landlines_use_the_city_area_code(demo):
    landlines = [(c, p["number"]) for c in demo.clients for p in c["phones"] if p["label"] in ("home", "work")]
    assert len(landlines) > 50
    moscow = [n for c, n in landlines if c["city"] == "Москва"]
    assert moscow and all(n.startswith(("+7495", "+7499")) for n in moscow)


def test_names_are_cyrillic_with_gendered_surnames(demo):
    for client in demo.clients:
        assert CYRILLIC_NAME.match(client["name"]), client["name"]
    surnames = Counter(word for c in demo.clients for word in c["name"].split())
    assert surnames["Петрова"] or surnames["Иванова"] or surnames["Смирнова"]


@pytest.mark.parametrize(
    ("male", "female"),
    [("Петров", "Петрова"), ("Соловьёв", "Соловьёва"), ("Ильин", "Ильина"), ("Жуковский", "Жуковская"),
     ("Троицкий", "Троицкая"), ("Толстой", "Толстая"), ("Шевченко", "Шевченко"), ("Кравчук", "Кравчук"),
     ("Черных", "Черных")],
)
def testfeminine_surname(male, female):
    assert feminine_surname(male) == female


def test_timezones_are_iana_and_spread_across_russia(demo):
    zones = Counter(c["timezone"] for c in demo.clients if c["timezone"] is not None)
    assert set(zones) <= available_timezones()
    assert {"Europe/Moscow", "Europe/Kaliningrad", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Novosibirsk",
            "Asia/Vladivostok"} <= set(zones)
    assert zones["Europe/Moscow"] == max(zones.values())


def test_optional_fields_are_sometimes_set(demo):
    share = {key: sum(bool(c[key]) for c in demo.clients) / len(demo.clients)
             for key in ("emails", "company", "birthday", "tags", "notes", "do_not_call")}
    assert 0.4 < share["emails"] < 0.8
    assert 0.03 < share["company"] < 0.25
    assert 0.2 < share["birthday"] < 0.6
    assert 0 < share["do_not_call"] < 0.06
    assert all(c["company"] is None or c["company"].startswith(("ООО «", "АО «")) for c in demo.clients)
    emails = [e for c in demo.clients for e in c["emails"]]
    assert len(emails) == len(set(emails)) and all(re.fullmatch(r"[a-z0-9.]+@[a-z.]+", e) for e in emails)


def test_orders_reference_clients_and_add_up(demo):
    assert {o["shop_slug"] for o in demo.orders} == {"tehnomir", "domovoy"}
    for order in demo.orders:
        assert 0 <= order["client_index"] < len(demo.clients)
        assert order["status"] in ORDER_STATUSES
        assert order["currency"] == "RUB"
        assert order["created_at"].tzinfo is not None
        assert order["created_at"] < NOW
        assert order["created_at"] > NOW - timedelta(days=366)
        assert order["items"] and all(i["qty"] >= 1 and isinstance(i["price"], Decimal) for i in order["items"])
        assert order["total"] == sum(i["price"] * i["qty"] for i in order["items"])
        assert re.fullmatch(r"(TM|DM)-\d{5}", order["number"])
    assert len({(o["shop_slug"], o["external_id"]) for o in demo.orders}) == len(demo.orders)
    assert len({o["number"] for o in demo.orders}) == len(demo.orders)


def test_most_clients_have_one_to_four_orders(demo):
    per_client = Counter(o["client_index"] for o in demo.orders)
    assert max(per_client.values()) <= 4
    assert len(per_client) / len(demo.clients) > 0.7
    assert per_client[0] >= 2  # Иван Петров: the AMI demo's screen pop shows his history


def test_every_status_occurs_and_fresh_orders_are_not_finished(demo):
    statuses = Counter(o["status"] for o in demo.orders)
    assert set(statuses) == set(ORDER_STATUSES)
    for order in demo.orders:
        if order["status"] in ("new", "confirmed", "paid"):
            assert NOW - order["created_at"] < timedelta(days=7)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        generate_demo(1, datetime(2025, 1, 1))


def test_fixed_clients_are_not_shared_mutable_state():
    data = generate_demo(1, NOW, clients=2)
    data.clients[0]["phones"].append({"number": "+79000000000", "label": "mobile"})
    assert len(FIXED_CLIENTS[0]["phones"]) == 1


# the operator's day

DEFAULTS = load_settings({}, environ={})
HOURS = parse_calling_hours(DEFAULTS.calling_hours, DEFAULTS.holidays)
UTC_NOW = NOW.astimezone(timezone.utc).replace(microsecond=0)


def zone_of(client):
    return resolve_client_zone(client["timezone"], client["city"], client["region"],
                               client["phones"][0]["number"], fallback=(DEFAULTS.timezone,))


def placed(data, task):
    """Where the tasks service puts the task: its due time moved into the client's window."""
    client = data.clients[task["client_index"]] if task["client_index"] is not None else None
    zone = zone_of(client) if client else resolve_client_zone(
        None, None, None, task["phone"], fallback=(DEFAULTS.timezone,))
    return Placement.of(task["due_at"], window_for(task["due_at"], zone, HOURS))


def open_tasks(data):
    return [t for t in data.tasks if t["status"] == "open"]


def test_day_clients_come_after_the_fixed_ones_one_per_zone(demo):
    day = demo.clients[len(FIXED_CLIENTS):len(FIXED_CLIENTS) + len(DAY_CLIENTS)]
    assert [c["name"] for c in day] == [c["name"] for c in DAY_CLIENTS]
    assert "orders" not in day[0]
    zones = [zone_of(c) for c in day]
    assert {z.zones[0] for z in zones if z.known} >= {
        "Europe/Kaliningrad", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk",
        "Asia/Vladivostok", "America/New_York"}
    unknown = [c for c, z in zip(day, zones) if not z.known]
    assert [c["name"] for c in unknown] == ["Павел Гусев"]
    assert unknown[0]["phones"][0]["number"].startswith("+79") and unknown[0]["city"] is None
    assert [c["name"] for c in day if c["do_not_call"]] == ["Тамара Фролова"]


def test_tasks_of_every_kind_now_later_and_in_the_archive(demo):
    tasks = open_tasks(demo)
    assert {t["kind"] for t in tasks} == set(TASK_KINDS)
    assert {t["failures"] for t in tasks if t["kind"] == "redial"} == {1, 2, 3}
    own = [t for t in tasks if t["kind"] == "callback" and t["assigned"] is not None]
    assert any(t["due_at"] <= UTC_NOW for t in own)
    assert any(UTC_NOW < t["due_at"] < UTC_NOW + timedelta(hours=12) for t in own)
    assert {t["assigned"] for t in own} == {0, 1}
    new_orders = [n for n, o in enumerate(demo.orders) if o["status"] == "new"
                  and not demo.clients[o["client_index"]]["do_not_call"]]
    confirmations = [t for t in tasks if t["kind"] == "order_confirmation"]
    assert sorted(t["order_index"] for t in confirmations) == new_orders
    for t in confirmations:
        assert demo.orders[t["order_index"]]["client_index"] == t["client_index"]
        assert demo.orders[t["order_index"]]["number"] in t["title"]
    closed = [t for t in demo.tasks if t["status"] != "open"]
    assert {t["closed_reason"] for t in closed if t["status"] == "archived"} == {
        "ladder_exhausted", "invalid_number", "do_not_call"}
    assert {t["status"] for t in closed} == {"archived", "done"}
    assert all(t["closed_at"] <= UTC_NOW and t["result"] for t in closed)
    exhausted = [t for t in closed if t["closed_reason"] == "ladder_exhausted"]
    assert all(t["failures"] == 5 == len(t["history"]) for t in exhausted)


def test_missed_calls_open_one_task_per_number_never_for_do_not_call(demo):
    missed = [t for t in open_tasks(demo) if t["kind"] == "missed_call"]
    assert len(missed) >= 4
    for t in missed:
        call = demo.calls[t["call_index"]]
        assert (call["client_index"], call["phone"]) == (t["client_index"], t["phone"])
        assert call["started_at"] < t["due_at"] <= UTC_NOW and t["attempts"] == 1
    assert len({t["phone"] for t in missed}) == len(missed)
    assert UNKNOWN_MISSED_CALLER in {t["phone"] for t in missed if t["client_index"] is None}
    assert UNKNOWN_MISSED_CALLER not in all_phones(demo)
    # the do-not-call client's missed call is in the log, with no task
    tamara = [i for i, c in enumerate(demo.clients) if c["name"] == "Тамара Фролова"]
    assert [c for c in demo.calls if c["client_index"] in tamara]
    callers = {c["phone"] for c in demo.calls}
    assert len(callers) == len(demo.calls)


def test_no_open_task_for_a_do_not_call_client(demo):
    for t in open_tasks(demo):
        if t["client_index"] is not None:
            assert not demo.clients[t["client_index"]]["do_not_call"], t


def test_attempt_history_matches_the_counters(demo):
    for t in demo.tasks:
        times = [at for at, _ in t["history"]]
        assert times == sorted(times) and all(at <= UTC_NOW for at in times), t
        assert t["attempts"] >= len(t["history"])
        if t["kind"] == "redial" and t["status"] == "open":
            assert len(t["history"]) == t["failures"] == t["attempts"]
            assert all(o in ("no_answer", "busy", "unavailable") for _, o in t["history"])
            assert t["due_at"] > t["history"][-1][0]
        assert t["due_at"].utcoffset() == timedelta(0)


@pytest.mark.parametrize("day", ["2026-12-02", "2026-07-15"])  # New York in winter and summer time
def test_next_task_has_something_in_a_calling_window_at_any_hour(day):
    for minutes in range(5, 24 * 60, 30):
        now = datetime.fromisoformat(f"{day}T00:00:00+00:00") + timedelta(minutes=minutes)
        data = generate_demo(seed=7, now=now, clients=40)
        ready = [t for t in open_tasks(data)
                 if (p := placed(data, t)).ready_at <= now < p.window_ends_at]
        assert ready, f"nothing to call at {now:%H:%M} UTC"

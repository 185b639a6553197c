"""The demo's operator's day: the demo PBX answers click-to-call with scripted calls that carry
the task, and `callcenter demo`, run as a newcomer runs it, gives the operator work at once."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from callcenter.ami.demo_pbx import SCRIPTS, start_demo_pbx
from callcenter.ami.framing import AmiFramer
from callcenter.ami.message_text import parse_message, render_message
from callcenter.domain.call_records import CallEnded
from callcenter.domain.call_tracker import CallTracker
from tests.test_cli import CALLCENTER, LISTENING, Running, base_env

DMITRY = "+79037451290"  # a demo client of the day, in Moscow


async def _ami(port: int, username: str, secret: str):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framer = AmiFramer()
    pending: list[dict[str, str]] = []

    async def read() -> dict[str, str]:
        while not pending:
            data = await asyncio.wait_for(reader.read(65536), 10)
            assert data, "the demo PBX closed the connection"
            pending.extend(f for f in map(parse_message, framer.feed(data)) if f)
        return pending.pop(0)

    writer.write(render_message({"Action": "Login", "ActionID": "login", "Username": username,
                                 "Secret": secret}).encode())
    while (await read()).get("ActionID") != "login":
        pass
    return reader, writer, read


async def test_demo_pbx_answers_each_originate_with_the_next_scripted_call_for_its_task():
    pbx = await start_demo_pbx([], first_after=3600, speed=0)
    try:
        reader, writer, read = await _ami(pbx.port, pbx.username, pbx.secret)
        tracker = CallTracker()
        ended, texts = [], []
        for n, task_id in enumerate(("77", "78", "79", "80")):
            action = {"Action": "Originate", "ActionID": f"crm-{n}", "Channel": "PJSIP/102",
                      "Context": "operators", "Exten": DMITRY, "Priority": "1",
                      "CallerID": f'"Дмитрий Орлов" <{DMITRY}>', "Async": "true",
                      "Variable": [f"CRM_NUMBER={DMITRY}", f"CRM_TASK_ID={task_id}",
                                   "CRM_CLIENT_ID=5"]}
            tracker.originate_sent(action, datetime.now(timezone.utc))
            writer.write(render_message(action).encode())
            while True:
                event = await read()
                texts.append(json.dumps(event, ensure_ascii=False))
                effects = tracker.feed(event, datetime.now(timezone.utc))
                done = [e.call for e in effects if isinstance(e, CallEnded)]
                if done:
                    ended += done
                    break
        writer.close()
        assert tracker.errors == 0
        assert [r.outcome for r in ended] == [o for o, _ in SCRIPTS] + [SCRIPTS[0][0]]
        assert [o for o, _ in SCRIPTS] == ["busy", "answered", "no_answer"]
        for record, task_id in zip(ended, ("77", "78", "79", "80")):
            assert record.direction == "outbound"
            assert record.task_id == task_id  # Asterisk's echo of CRM_TASK_ID is this task's
            assert record.placed_by == "PJSIP/102"
            assert record.callee.lstrip("+") == DMITRY.lstrip("+")
        assert ended[1].talk_seconds > 0 and ended[1].answered_by == "PJSIP/102"
        stream = "\n".join(texts)
        # nothing of the recorded call it was made from: its operator, customer, task
        assert "79161234567" not in stream and "Иван Петров" not in stream
        assert "PJSIP/101" not in stream
        assert '"CRM_TASK_ID", "Value": "4' not in stream
    finally:
        await pbx.stop()


async def test_demo_pbx_rings_only_the_operators_not_paused():
    pbx = await start_demo_pbx(["+79161234567"], every_seconds=0.05, first_after=0)
    try:
        reader, writer, read = await _ami(pbx.port, pbx.username, pbx.secret)

        async def rung(calls: int) -> list[str]:
            """The operators rung for the next ``calls`` calls that join the queue."""
            joined: list[str] = []
            interfaces = []
            while len(joined) <= calls:
                event = await read()
                if event.get("Event") == "QueueCallerJoin":
                    joined.append(event["Linkedid"])
                elif event.get("Event") == "AgentCalled" and event["Linkedid"] in joined[:calls]:
                    interfaces.append(event["Interface"])
            return interfaces

        assert {"PJSIP/101", "PJSIP/102"} <= set(await rung(3))
        writer.write(render_message({"Action": "QueuePause", "ActionID": "p1",
                                     "Interface": "PJSIP/101", "Paused": "true",
                                     "Reason": "lunch"}).encode())
        while (await read()).get("Event") != "QueueMemberPause":
            pass
        assert set(await rung(6)) == {"PJSIP/102"}
        writer.write(render_message({"Action": "QueuePause", "ActionID": "p2",
                                     "Interface": "PJSIP/102", "Paused": "true"}).encode())
        while (await read()).get("Event") != "QueueMemberPause":
            pass
        assert await rung(4) == []  # nobody rings: the callers give up, missed calls
        writer.close()
    finally:
        await pbx.stop()


# `callcenter demo` over HTTP, as the newcomer's browser drives it

class Client:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = None

    def __call__(self, method: str, path: str, body=None) -> tuple[int, dict | None]:
        headers = {"Content-Type": "application/json"}
        if self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        req = urllib.request.Request(f"{self.base}{path}", method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
        try:
            with self.opener.open(req, timeout=20) as r:
                text = r.read()
                return r.status, json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            text = exc.read()
            return exc.code, json.loads(text) if text else None


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, what
        time.sleep(0.25)


def test_demo_day_ready_next_task_call_outcome_and_the_next_attempt(tmp_path):
    env = base_env(tmp_path, tmp_path / "var" / "callcenter.sqlite3")
    demo = Running([CALLCENTER, "demo", "--clients", "60", "--http-port", "0"], env, tmp_path)
    try:
        port = demo.wait_for(LISTENING)["port"]
        demo.wait_for(re.compile(r"The operator's day: log in as 101, press Ready, then Next task"))
        api = Client(f"http://127.0.0.1:{port}")
        status, me = api("POST", "/api/login", {"login": "101", "password": "demo-pass-101"})
        assert status == 200, me
        api.csrf = (me or {}).get("csrf_token") or (me or {}).get("csrf")
        status, agent = api("POST", "/api/agents/me/state", {"state": "ready"})
        assert status == 200 and agent["state"] == "ready", agent

        # Next task at once: something in its client's calling window now
        status, got = api("POST", "/api/tasks/next")
        assert status == 200, got
        task = got["task"]
        now = datetime.now(timezone.utc)
        assert utc(task["ready_at"]) <= now < utc(task["window_ends_at"]), task
        assert task["status"] == "open" and task["claimed_by"] == agent["user_id"]
        assert not task["do_not_call"]

        # Call: the demo PBX's first scripted call is busy, and it reaches the task
        def originate():
            status, body = api("POST", "/api/calls/originate", {
                "number": task["phone"], "task_id": task["id"], "client_id": task["client_id"]})
            return body if status == 202 else None
        wait_until(originate, 20, "click-to-call never accepted (AMI not connected?)")

        def pbx_outcome():
            status, body = api("GET", f"/api/tasks/{task['id']}")
            assert status == 200, body
            return body if body["attempts"] > task["attempts"] else None
        after = wait_until(pbx_outcome, 30, "the PBX's busy never reached the task")
        assert after["result"] == "busy" and after["status"] == "open", after
        assert [h["source"] for h in after["history"]][:1] == ["pbx"]
        assert utc(after["due_at"]) >= now + timedelta(minutes=4), after
        assert after["failures"] == task["failures"] + 1

        # The operator records an outcome on the next task: its next attempt moves on the ladder
        status, got = api("POST", "/api/tasks/next")
        assert status == 200, got
        second = got["task"]
        assert second["id"] != task["id"]
        pressed = datetime.now(timezone.utc)
        status, saved = api("POST", f"/api/tasks/{second['id']}/outcome",
                            {"outcome": "no_answer", "note": "не берёт трубку"})
        assert status == 200, saved
        assert saved["status"] == "open" and saved["attempts"] == second["attempts"] + 1
        assert saved["failures"] == second["failures"] + 1 and saved["result"] == "no_answer"
        assert utc(saved["due_at"]) > max(utc(second["due_at"]), pressed), (second, saved)
        assert utc(saved["ready_at"]) >= utc(saved["due_at"])
    finally:
        assert demo.stop() == 0, demo.output

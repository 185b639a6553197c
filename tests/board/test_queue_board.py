"""The board's pure parts on the events of real Asterisk 22 traces: callers waiting in a queue,
members, listen-in, and the counters of the day (no event loop, no database)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from callcenter.ami.message_text import parse_message
from callcenter.ami.trace import load_trace
from callcenter.domain.queue_board import QueueBoard, SpyWatch, mode_of_options, tally

TRACES = Path(__file__).resolve().parents[1] / "traces"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def events(name: str) -> list[tuple[datetime, dict[str, str]]]:
    """The trace's events, each at the time it arrived."""
    out = []
    for t, text in load_trace(TRACES / f"{name}.jsonl").messages:
        fields = parse_message(text)
        if fields and "Event" in fields:
            out.append((T0 + timedelta(seconds=t), fields))
    return out


def follow(name: str, board: QueueBoard | None = None):
    """Feed a trace; the board after each event that changed something, with the event."""
    board = board or QueueBoard()
    seen = []
    for at, e in events(name):
        if board.feed(e, at):
            seen.append((e["Event"], board.view("shop")))
    return board, seen


def test_inbound_answered_waits_while_it_rings_then_leaves():
    board, seen = follow("inbound_answered")
    joined = [view for name, view in seen if name == "QueueCallerJoin"]
    assert len(joined) == 1
    (waiter,) = joined[0]["waiting"]
    assert waiter["number"] == "79161234567" and waiter["position"] == 1
    assert waiter["call_key"] == "1795449448.12"
    assert joined[0]["longest_since"] == waiter["since"]
    left = [view for name, view in seen if name == "QueueCallerLeave"]
    assert left and left[0]["waiting"] == [] and left[0]["longest_since"] is None
    assert board.view("shop")["waiting"] == []
    # QueueMemberStatus told both members; at the end both phones are free again
    assert board.view("shop")["members"] == 2
    assert board.view("shop")["members_ready"] == 2


def test_inbound_abandoned_leaves_on_abandon():
    board, seen = follow("inbound_abandoned")
    names = [name for name, view in seen]
    assert "QueueCallerJoin" in names and "QueueCallerAbandon" in names
    at_abandon = seen[names.index("QueueCallerAbandon")][1]
    assert at_abandon["waiting"] == []
    waiting = seen[names.index("QueueCallerJoin")][1]["waiting"]
    assert [w["number"] for w in waiting] == ["+79031112233"]


def test_agent_pause_and_ready_members_from_queue_status_and_pause():
    board = QueueBoard()
    ready_counts = []
    paused_101 = []
    for at, e in events("agent_pause_and_ready"):
        if board.feed(e, at):
            member = board.queue("shop").members.get("PJSIP/101")
            paused_101.append((member.paused, member.reason) if member else None)
            ready_counts.append(board.view("shop")["members_ready"])
    assert (True, "lunch") in paused_101
    assert paused_101[-1] == (False, None)
    # while 101 was on lunch at most one member (102) could take a call
    first_pause = paused_101.index((True, "lunch"))
    assert ready_counts[first_pause] <= 1
    assert ready_counts[-1] == 2


def test_resync_resets_and_queue_entry_gives_since_from_wait():
    board, _ = follow("inbound_answered")
    join = next(e for _, e in events("inbound_answered") if e["Event"] == "QueueCallerJoin")
    board.feed(join, T0)
    assert board.view("shop")["waiting"]
    assert board.begin_resync() == {"shop"}
    assert board.view("shop")["waiting"] == [] and board.view("shop")["members"] == 0
    answer_at = T0 + timedelta(minutes=5)
    for e in ({"Event": "QueueParams", "Queue": "shop", "Calls": "2"},
              {"Event": "QueueMember", "Queue": "shop", "Name": "PJSIP/101",
               "StateInterface": "PJSIP/101", "Status": "1", "Paused": "1",
               "PausedReason": "lunch"},
              {"Event": "QueueMember", "Queue": "shop", "Name": "PJSIP/102",
               "StateInterface": "PJSIP/102", "Status": "1", "Paused": "0"},
              {"Event": "QueueEntry", "Queue": "shop", "Position": "1", "Uniqueid": "1.1",
               "Channel": "PJSIP/trunk-1", "CallerIDNum": "79161234567",
               "CallerIDName": "Иван", "Wait": "42"},
              {"Event": "QueueEntry", "Queue": "shop", "Position": "2", "Uniqueid": "2.1",
               "Channel": "PJSIP/trunk-2", "CallerIDNum": "<unknown>", "Wait": "7"}):
        board.feed(e, answer_at)
    view = board.view("shop", lambda w: "Иван Петров" if w.number == "79161234567" else None)
    assert [(w["position"], w["number"], w["client_name"]) for w in view["waiting"]] == [
        (1, "79161234567", "Иван Петров"), (2, None, None)]
    assert view["waiting"][0]["since"] == (answer_at - timedelta(seconds=42)).isoformat()
    assert view["longest_since"] == view["waiting"][0]["since"]
    assert (view["members"], view["members_ready"]) == (2, 1)
    # the first one hangs up while waiting (no QueueCallerLeave seen): the second moves up
    assert board.feed({"Event": "Hangup", "Uniqueid": "1.1"}, answer_at) == {"shop"}
    assert [(w["position"], w["call_key"]) for w in board.view("shop")["waiting"]] == [(1, "2.1")]
    assert board.feed({"Event": "Hangup", "Uniqueid": "nobody"}, answer_at) == set()


@pytest.mark.parametrize("trace, mode", [("supervisor_whisper", "whisper"),
                                         ("supervisor_barge", "barge")])
def test_supervised_by_from_chanspy_start_and_stop(trace, mode):
    spies = SpyWatch()
    changes = []
    for _, e in events(trace):
        for endpoint in spies.feed(e):
            changes.append((e["Event"], endpoint, spies.spied.get(endpoint)))
    (start, stop) = changes
    assert start[0] == "ChanSpyStart" and start[1] == "PJSIP/101"
    assert (start[2].spyer, start[2].mode) == ("PJSIP/102", mode)
    assert stop[:2] == ("ChanSpyStop", "PJSIP/101") and stop[2] is None
    assert spies.spied == {}


def test_spy_mode_from_crm_variables_wins_and_hangup_ends_it():
    spies = SpyWatch()
    spies.feed({"Event": "VarSet", "Uniqueid": "9.1", "Variable": "CRM_SPY_MODE",
                "Value": "whisper"})
    spies.feed({"Event": "VarSet", "Uniqueid": "9.1", "Variable": "__CRM_SUPERVISOR",
                "Value": "7"})
    spies.feed({"Event": "OriginateResponse", "Response": "Success", "Uniqueid": "9.1",
                "Context": "callcenter-supervise", "Exten": "barge"})
    assert spies.feed({"Event": "ChanSpyStart", "SpyerChannel": "PJSIP/105-00000001",
                       "SpyerUniqueid": "9.1", "SpyeeChannel": "PJSIP/101-00000002"}) == \
        {"PJSIP/101"}
    spy = spies.spied["PJSIP/101"]
    assert (spy.spyer, spy.mode, spy.supervisor_id) == ("PJSIP/105", "whisper", 7)
    assert spies.feed({"Event": "Hangup", "Uniqueid": "9.1"}) == {"PJSIP/101"}
    assert spies.spied == {}
    # Exten of the Originate when no variable says it; listen when nothing does
    spies.feed({"Event": "OriginateResponse", "Response": "Success", "Uniqueid": "9.2",
                "Exten": "barge"})
    spies.feed({"Event": "ChanSpyStart", "SpyerChannel": "PJSIP/105-3", "SpyerUniqueid": "9.2",
                "SpyeeChannel": "PJSIP/102-4"})
    spies.feed({"Event": "ChanSpyStart", "SpyerChannel": "PJSIP/106-5", "SpyerUniqueid": "9.3",
                "SpyeeChannel": "PJSIP/103-6"})
    assert spies.spied["PJSIP/102"].mode == "barge"
    assert spies.spied["PJSIP/103"].mode == "listen"
    assert spies.reset() == {"PJSIP/102", "PJSIP/103"} and spies.spied == {}


def test_a_listen_in_running_through_a_reconnect_is_rebuilt_from_core_show_channels():
    spies = SpyWatch()
    spies.feed({"Event": "ChanSpyStart", "SpyerChannel": "PJSIP/105-1", "SpyerUniqueid": "9.1",
                "SpyeeChannel": "PJSIP/101-2"})
    assert spies.reset() == {"PJSIP/101"}
    listed = {"Event": "CoreShowChannel", "Channel": "PJSIP/105-00000001", "Uniqueid": "9.1",
              "Application": "ChanSpy", "ApplicationData": "PJSIP/101-,qEB"}
    assert spies.feed(listed) == {"PJSIP/101"}
    spy = spies.spied["PJSIP/101"]
    assert (spy.spyer, spy.mode, spy.supervisor_id) == ("PJSIP/105", "barge", None)
    # the customer's channel in a queue, or a ChanSpy with no target, is no listen-in
    assert spies.feed({"Event": "CoreShowChannel", "Channel": "PJSIP/trunk-3",
                       "Uniqueid": "9.3", "Application": "Queue",
                       "ApplicationData": "shop,t,,,40"}) == set()
    assert spies.feed({"Event": "CoreShowChannel", "Channel": "PJSIP/106-4", "Uniqueid": "9.4",
                       "Application": "ChanSpy", "ApplicationData": ",q"}) == set()
    # and it ends as one started live
    assert spies.feed({"Event": "ChanSpyStop", "SpyerUniqueid": "9.1",
                       "SpyeeChannel": "PJSIP/101-2"}) == {"PJSIP/101"}
    assert spies.spied == {}


@pytest.mark.parametrize("options, mode", [
    ("qw", "whisper"), ("qB", "barge"), ("qE", "listen"), ("qEw", "whisper"),
    ("qEB", "barge"), ("", "listen"), (None, "listen")])
def test_mode_of_chanspy_options(options, mode):
    assert mode_of_options(options) == mode


ROWS = [
    # inbound answered by 1 (rang 1 and 2)
    {"direction": "inbound", "outcome": "answered", "answered_by_user_id": 1,
     "placed_by": None, "operators_rung": ["PJSIP/101", "PJSIP/102"], "talk_seconds": 60,
     "disposition": "order_confirmed"},
    # inbound missed that rang both
    {"direction": "inbound", "outcome": "missed", "answered_by_user_id": None,
     "placed_by": None, "operators_rung": ["PJSIP/101", "PJSIP/102"], "talk_seconds": 0,
     "disposition": None},
    # inbound missed that rang only 2
    {"direction": "inbound", "outcome": "missed", "answered_by_user_id": None,
     "placed_by": None, "operators_rung": ["PJSIP/102"], "talk_seconds": 0, "disposition": None},
    # outbound by 1, no answer
    {"direction": "outbound", "outcome": "no_answer", "answered_by_user_id": None,
     "placed_by": "PJSIP/101", "operators_rung": [], "talk_seconds": 0,
     "disposition": "no_answer"},
    # outbound by 1, answered
    {"direction": "outbound", "outcome": "answered", "answered_by_user_id": 1,
     "placed_by": "PJSIP/101", "operators_rung": [], "talk_seconds": 30,
     "disposition": "order_confirmed"},
    # outbound by 2
    {"direction": "outbound", "outcome": "answered", "answered_by_user_id": 2,
     "placed_by": "PJSIP/102", "operators_rung": [], "talk_seconds": 10, "disposition": None},
]


@pytest.mark.parametrize("user_id, extension, expected", [
    (1, "PJSIP/101", {"calls": 4, "inbound": 2, "outbound": 2, "answered": 2, "missed": 1,
                      "talk_seconds": 90,
                      "outcomes": {"order_confirmed": 2, "no_answer": 1}}),
    (2, "PJSIP/102", {"calls": 3, "inbound": 2, "outbound": 1, "answered": 1, "missed": 2,
                      "talk_seconds": 10, "outcomes": {}}),
    (3, None, {"calls": 0, "inbound": 0, "outbound": 0, "answered": 0, "missed": 0,
               "talk_seconds": 0, "outcomes": {}}),
])
def test_tally_counts_an_operators_calls(user_id, extension, expected):
    assert tally(ROWS, user_id, extension) == expected

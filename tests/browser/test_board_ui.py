"""The supervisors' board (#/board) in a real browser.

The page against a fixed board (GET /api/board answered by the test), then the real server and
the AMI simulator: a supervisor watches an inbound call replayed through the simulator, whispers
into it (the simulator receives the Originate), pauses an operator (QueuePause), sees the stale
banner while the PBX link is down; an operator opening #/board sees no board data."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SLOW_MS = 20_000  # a loaded machine: replayed calls and reconnects take their time


def _wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def _iso(seconds_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).isoformat()


def _fixture_board() -> dict:
    today = {"calls": 0, "inbound": 0, "outbound": 0, "answered": 0, "missed": 0,
             "talk_seconds": 0, "outcomes": {}}
    return {
        "generated_at": _iso(0), "stale": True, "stale_since": _iso(90),
        "ami": {"status": "down"},
        "pause_reasons": ["lunch", "break", "training"],
        "operators": [
            {"user_id": 11, "login": "anna", "name": "Анна Смирнова", "extension": "PJSIP/101",
             "state": "talking", "reason": None, "since": _iso(75), "wrap_up_until": None,
             "call": {"call_key": "k1", "direction": "inbound", "number": "+79161234567",
                      "client_id": 5, "client_name": "Иван <b>Петров</b>", "since": _iso(65),
                      "supervised_by": {"user_id": 3, "name": "Светлана Орлова", "mode": "whisper"}},
             "today": {**today, "calls": 7, "inbound": 5, "outbound": 2, "answered": 6, "missed": 1,
                       "talk_seconds": 754, "outcomes": {"callback": 2, "resolved": 3, "other": 1,
                                                         "complaint": 0}}},
            {"user_id": 12, "login": "boris", "name": "Борис Ким", "extension": "PJSIP/102",
             "state": "paused", "reason": "lunch", "since": _iso(125), "wrap_up_until": None,
             "call": None, "today": today},
            {"user_id": 13, "login": "vera", "name": "Вера Ли", "extension": None,
             "state": "offline", "reason": None, "since": None, "wrap_up_until": None,
             "call": None, "today": today},
        ],
        "queues": [
            {"name": "shop", "members": 2, "members_ready": 1, "longest_since": _iso(42),
             "waiting": [
                 {"call_key": "w2", "number": "+79031112233", "client_name": None,
                  "since": _iso(10), "position": 2},
                 {"call_key": "w1", "number": "+79857778899", "client_name": "Мария Смирнова",
                  "since": _iso(42), "position": 1}]},
            {"name": "vip", "members": 1, "members_ready": 0, "longest_since": None, "waiting": []},
        ],
    }


def test_the_board_shows_states_calls_counters_and_queues_from_the_api(
        page, live_server, sign_in):
    board = _fixture_board()
    posts = []

    def answer_board(route):
        route.fulfill(status=200, content_type="application/json", body=json.dumps(board))

    def answer_supervise(route):
        posts.append(("supervise", route.request.post_data_json))
        route.fulfill(status=409, content_type="application/json", body=json.dumps(
            {"error": {"code": "not_on_call", "message": "The operator is not on a call",
                       "details": {}}}))

    def answer_state(route):
        posts.append((route.request.url.rsplit("/api/", 1)[1], route.request.post_data_json))
        op = board["operators"][1]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(
            {"user_id": 12, "login": "boris", "name": op["name"], "extension": op["extension"],
             "state": "ready", "reason": None, "since": _iso(0), "wrap_up_until": None,
             "chosen": "ready", "chosen_reason": None}))

    page.route(re.compile(r".*/api/board$"), answer_board)
    page.route(re.compile(r".*/api/supervise$"), answer_supervise)
    page.route(re.compile(r".*/api/agents/\d+/state$"), answer_state)
    sign_in(role="supervisor", name="Светлана Орлова")
    page.goto(live_server.url + "/#/board")

    anna = page.get_by_test_id("board-operator-11")
    expect(anna).to_have_attribute("data-state", "talking")
    expect(anna.get_by_test_id("board-state")).to_have_text("Разговор")
    expect(anna.get_by_test_id("board-since")).to_have_text(re.compile(r"^уже 1:1\d$"))
    # the client's name is text, never markup, and links to the client card
    client = anna.get_by_test_id("board-client")
    expect(client).to_have_text("Иван <b>Петров</b>")
    expect(client).to_have_attribute("href", "#/clients/5")
    expect(anna.get_by_test_id("board-talk")).to_have_text(re.compile(r"^1:0\d$"))
    expect(anna.get_by_test_id("board-supervised")).to_have_text(
        "Подключён Светлана Орлова: подсказывает")
    expect(anna.get_by_test_id("board-today-calls")).to_have_text("Звонков7")
    expect(anna.get_by_test_id("board-today-missed")).to_have_text("Пропущено1")
    expect(anna.get_by_test_id("board-today-talk")).to_have_text("Разговоры12:34")
    expect(anna.get_by_test_id("board-outcomes").locator(".chip")).to_have_count(3)
    expect(anna.get_by_test_id("board-outcomes").locator(".chip").first).to_contain_text("3")

    boris = page.get_by_test_id("board-operator-12")
    expect(boris.get_by_test_id("board-state")).to_have_text("Пауза")
    expect(boris.get_by_test_id("board-reason")).to_have_text("обед")
    expect(boris.get_by_test_id("board-since")).to_have_text(re.compile(r"^уже 2:0\d$"))
    expect(boris.get_by_test_id("board-whisper")).to_have_count(0)  # not on a call
    # the offline operator sinks to the bottom
    expect(page.locator("tr.board-row").last).to_have_attribute("data-testid", "board-operator-13")

    # the ticker moves the timers
    first = anna.get_by_test_id("board-talk").text_content()
    expect(anna.get_by_test_id("board-talk")).not_to_have_text(first, timeout=5000)

    shop = page.get_by_test_id("board-queue-shop")
    expect(shop.get_by_test_id("board-queue-count")).to_have_text("Ждут: 2")
    expect(shop.get_by_test_id("board-queue-members")).to_have_text("Готовы 1 из 2")
    expect(shop.get_by_test_id("board-waiting")).to_have_count(2)
    expect(shop.get_by_test_id("board-waiting").first).to_contain_text("Мария Смирнова")
    expect(shop.get_by_test_id("board-waiting").last).to_contain_text("+7 903 111-22-33")
    expect(shop.get_by_test_id("board-queue-longest")).to_contain_text(re.compile(r"0:4\d"))
    expect(page.get_by_test_id("board-queue-vip").get_by_test_id("board-queue-empty")).to_be_visible()
    expect(page.get_by_test_id("board-summary")).to_have_text(
        "Готовы: 0 · На звонке: 1 · На паузе: 1 · Ждут в очередях: 2")

    stale = page.get_by_test_id("board-stale")
    expect(stale).to_be_visible()
    page.screenshot(path="/tmp/boardui/board.png")
    expect(stale).to_have_text(re.compile(r"^Нет связи с АТС с \d\d:\d\d: табло не обновляется"))
    expect(page.get_by_test_id("board-offline")).to_be_hidden()

    # the buttons are reached and pressed from the keyboard; the server's refusal is said in words
    anna.get_by_test_id("board-whisper").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("toast").last).to_have_text(re.compile("не разговаривает|not on a call"))
    assert posts[-1] == ("supervise", {"operator_id": 11, "mode": "whisper"})

    boris.get_by_test_id("board-ready").click()
    expect(boris).to_have_attribute("data-state", "ready")
    assert posts[-1] == ("agents/12/state", {"state": "ready"})
    boris.get_by_test_id("board-pause-reason").select_option("training")
    boris.get_by_test_id("board-pause").click()
    _wait_for(lambda: posts[-1] == ("agents/12/state", {"state": "paused", "reason": "training"}))

    # a 1024 px screen: the table fits the page (nothing hidden beyond its right edge)
    page.set_viewport_size({"width": 1024, "height": 768})
    for testid in ("board-barge", "board-ready", "board-today-talk"):
        box = anna.get_by_test_id(testid).bounding_box()
        assert box and box["x"] + box["width"] <= 1024, (testid, box)
    page.screenshot(path="/tmp/boardui/board-1024.png")

    # the same board in English
    page.get_by_test_id("lang-switch").select_option("en")
    expect(anna.get_by_test_id("board-state")).to_have_text("Talking")
    expect(anna.get_by_test_id("board-whisper")).to_have_text("Whisper")
    expect(anna.get_by_test_id("board-supervised")).to_have_text(
        "Светлана Орлова is on the call: whispering")
    expect(page.get_by_test_id("board-stale")).to_contain_text("No link to the PBX since")


def test_an_operator_opening_the_board_sees_no_board_data(page, live_server, sign_in):
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/api/board" in r.url else None)
    sign_in(role="operator")
    page.goto(live_server.url + "/#/board")
    expect(page.get_by_test_id("board-page").get_by_test_id("page-error")).to_have_text(
        re.compile("Недостаточно прав"))
    expect(page.get_by_test_id("board-operators")).to_have_count(0)
    assert requests == []


def test_pushes_replace_rows_queues_and_the_banner_and_a_reconnect_fetches_the_board_again(
        page, live_server, sign_in):
    board = _fixture_board()
    board["stale"], board["stale_since"], board["ami"] = False, None, {"status": "connected"}
    fetched = []
    sockets = []

    def answer_board(route):
        fetched.append(route.request.url)
        route.fulfill(status=200, content_type="application/json", body=json.dumps(board))

    def through(ws):
        ws.connect_to_server()  # the real server's messages pass; the test adds its own
        sockets.append(ws)

    page.route(re.compile(r".*/api/board$"), answer_board)
    page.route_web_socket(re.compile(r"/ws$"), through)
    sign_in(role="supervisor", name="Светлана Орлова")
    page.goto(live_server.url + "/#/board")
    boris = page.get_by_test_id("board-operator-12")
    expect(boris).to_have_attribute("data-state", "paused")
    expect(page.get_by_test_id("board-stale")).to_be_hidden()
    fetches = len(fetched)

    def push(message):
        sockets[-1].send(json.dumps(message))

    # board.operator replaces the row: Boris takes an outbound call to a number without a client
    row = {**board["operators"][1], "state": "talking", "reason": None, "since": _iso(3),
           "call": {"call_key": "k9", "direction": "outbound", "number": "+79035550101",
                    "client_id": None, "client_name": None, "since": _iso(3),
                    "supervised_by": None},
           "today": {**board["operators"][1]["today"], "calls": 1, "outbound": 1}}
    push({"type": "board.operator", "operator": row})
    expect(boris).to_have_attribute("data-state", "talking")
    expect(boris.get_by_test_id("board-client")).to_have_text("+7 903 555-01-01")
    expect(boris.get_by_test_id("board-today-calls")).to_have_text("Звонков1")
    expect(boris.get_by_test_id("board-listen")).to_be_visible()

    # board.queue replaces a queue: nobody waits any more
    push({"type": "board.queue", "queue": {**board["queues"][0], "waiting": [],
                                           "longest_since": None}})
    shop = page.get_by_test_id("board-queue-shop")
    expect(shop.get_by_test_id("board-waiting")).to_have_count(0)
    expect(shop.get_by_test_id("board-queue-count")).to_have_text("Ждут: 0")

    # agent.state moves the chip at once (before the board's own row arrives)
    push({"type": "agent.state", "agent": {"user_id": 11, "state": "paused", "reason": "break",
                                           "since": _iso(0), "wrap_up_until": None}})
    anna = page.get_by_test_id("board-operator-11")
    expect(anna.get_by_test_id("board-state")).to_have_text("Пауза")
    expect(anna.get_by_test_id("board-reason")).to_have_text("перерыв")

    # board.status: stale while the board catches up with the PBX, plainly, with the time
    push({"type": "board.status", "stale": True, "stale_since": _iso(5)})
    expect(page.get_by_test_id("board-stale")).to_contain_text(
        re.compile(r"Табло сверяется с АТС после разрыва связи в \d\d:\d\d"))
    # the PBX link goes down meanwhile: the banner says so
    push({"type": "ami.status", "ami": {"status": "down", "since": _iso(1)}})
    expect(page.get_by_test_id("board-stale")).to_contain_text(re.compile(r"^Нет связи с АТС с "))
    push({"type": "board.status", "stale": False, "stale_since": None})
    expect(page.get_by_test_id("board-stale")).to_be_hidden()

    # the live link drops: said plainly; back again, the board is fetched anew
    sockets[-1].close(code=1011)
    expect(page.get_by_test_id("board-offline")).to_contain_text("Нет связи с сервером")
    expect(page.get_by_test_id("board-offline")).to_be_hidden(timeout=SLOW_MS)
    _wait_for(lambda: len(fetched) > fetches, timeout=SLOW_MS / 1000)
    # the fresh board is the server's truth again: Boris is back on his lunch pause
    expect(boris).to_have_attribute("data-state", "paused")


# ---- the real server and the AMI simulator --------------------------------------------------


def _actions(sim, name: str) -> list[dict]:
    return [dict(a) for a in list(sim.actions) if a.get("Action") == name]


def _variables(action: dict) -> dict[str, str]:
    """The Originate's CRM_* variables, however many Variable headers carried them."""
    from callcenter.ami.message_text import split_repeated
    from callcenter.domain.originates import originate_variables

    raw = action.get("Variable", "")
    return originate_variables(split_repeated(raw) if isinstance(raw, str) else raw)


def _operator(live_pbx, name: str, extension: str) -> dict:
    login = f"op{extension.rsplit('/', 1)[1]}_{time.monotonic_ns()}"
    return live_pbx.create_user(login, f"pw-{login}-secret", "operator", name, extension=extension)


def test_a_supervisor_watches_an_inbound_call_whispers_into_it_and_pauses_an_operator(
        page, live_pbx, pbx_sign_in, replay, ivan_petrov):
    live_pbx.wait_ami_connected()
    ivan_petrov()
    anna = _operator(live_pbx, "Анна Смирнова", "PJSIP/101")
    boris = _operator(live_pbx, "Борис Ким", "PJSIP/102")
    pbx_sign_in(page, role="supervisor", name="Светлана Орлова", extension="PJSIP/201")
    page.goto(live_pbx.url + "/#/board")
    row = page.get_by_test_id(f"board-operator-{anna['id']}")
    expect(row.get_by_test_id("board-today-calls")).to_have_text("Звонков0", timeout=SLOW_MS)
    sim = live_pbx.sim

    # the supervisor readies Anna from the board: the PBX is told
    row.get_by_test_id("board-ready").click()
    _wait_for(lambda: [(a["Interface"], a["Paused"]) for a in _actions(sim, "QueuePause")][-1:]
              == [("PJSIP/101", "false")], timeout=SLOW_MS / 1000)
    expect(row).to_have_attribute("data-state", "ready", timeout=SLOW_MS)

    # Иван Петров calls the shop: he waits in the queue while the phones ring, Anna answers
    playing = replay("inbound_answered", speed=0.5)
    shop = page.get_by_test_id("board-queue-shop")
    expect(shop.get_by_test_id("board-waiting")).to_have_count(1, timeout=SLOW_MS)
    expect(shop.get_by_test_id("board-waiting")).to_contain_text("Иван Петров")
    expect(row).to_have_attribute("data-state", "ringing", timeout=SLOW_MS)
    expect(row).to_have_attribute("data-state", "talking", timeout=SLOW_MS)
    expect(row.get_by_test_id("board-client")).to_have_text("Иван Петров")
    expect(row.get_by_test_id("board-client")).to_have_attribute("href", re.compile(r"^#/clients/\d+$"))
    expect(shop.get_by_test_id("board-waiting")).to_have_count(0, timeout=SLOW_MS)

    # whisper: the supervisor's own phone is called into the supervise context
    row.get_by_test_id("board-whisper").click()
    expect(page.get_by_test_id("toast").filter(has_text="Звонит ваш телефон")).to_be_visible(
        timeout=SLOW_MS)
    def spy_originates():
        return [a for a in _actions(sim, "Originate") if a.get("Context") == "callcenter-supervise"]

    _wait_for(lambda: spy_originates(), timeout=SLOW_MS / 1000)
    originates = spy_originates()
    assert len(originates) == 1, originates
    spy = originates[0]
    assert spy["Channel"] == "PJSIP/201"
    assert spy["Exten"] == "whisper"
    assert str(spy.get("Priority")) == "1"
    assert _variables(spy)["CRM_SPY"] == "PJSIP/101"
    assert _variables(spy)["CRM_SPY_MODE"] == "whisper"
    # the supervisor's phone answers and ChanSpy starts: the row says who is on the call
    expect(row.get_by_test_id("board-supervised")).to_have_text(
        "Подключён Светлана Орлова: подсказывает", timeout=SLOW_MS)
    # the talk time ticks
    expect(row.get_by_test_id("board-talk")).to_have_text(re.compile(r"^0:(0[1-9]|[1-5]\d)$"),
                                                          timeout=5000)
    page.screenshot(path="/tmp/boardui/board-live.png")

    # after the call the counters have gone up
    playing.join()
    expect(row.get_by_test_id("board-today-calls")).to_have_text("Звонков1", timeout=SLOW_MS)
    expect(row.get_by_test_id("board-today-answered")).to_have_text("Отвечено1")
    expect(row).not_to_have_attribute("data-state", "talking", timeout=SLOW_MS)
    expect(row.get_by_test_id("board-whisper")).to_have_count(0)

    # pause Boris for training from his row: QueuePause reaches the PBX, the row says so
    boris_row = page.get_by_test_id(f"board-operator-{boris['id']}")
    boris_row.get_by_test_id("board-pause-reason").select_option("training")
    boris_row.get_by_test_id("board-pause").click()
    _wait_for(lambda: [(a["Interface"], a["Paused"], a.get("Reason"))
                       for a in _actions(sim, "QueuePause")][-1:]
              == [("PJSIP/102", "true", "training")], timeout=SLOW_MS / 1000)
    expect(boris_row).to_have_attribute("data-state", "paused", timeout=SLOW_MS)
    expect(boris_row.get_by_test_id("board-reason")).to_have_text("обучение")


def test_the_board_says_it_is_stale_while_the_pbx_link_is_down(page, live_pbx, pbx_sign_in):
    live_pbx.wait_ami_connected()
    anna = _operator(live_pbx, "Анна Смирнова", "PJSIP/101")
    pbx_sign_in(page, role="supervisor", name="Светлана Орлова")
    page.goto(live_pbx.url + "/#/board")
    stale = page.get_by_test_id("board-stale")
    expect(page.get_by_test_id("board-page")).to_have_attribute("data-loaded", "1", timeout=SLOW_MS)
    expect(stale).to_be_hidden()

    port = live_pbx.sim.port
    live_pbx.call(live_pbx.sim.stop())
    expect(stale).to_be_visible(timeout=SLOW_MS)
    expect(stale).to_contain_text(re.compile(r"^Нет связи с АТС с \d\d:\d\d"))
    expect(page.get_by_test_id("board-offline")).to_be_hidden()  # the live link itself is fine

    # readied meanwhile: kept, and the supervisor is told the PBX hears of it later
    row = page.get_by_test_id(f"board-operator-{anna['id']}")
    row.get_by_test_id("board-ready").click()
    expect(page.get_by_test_id("toast").filter(has_text="АТС недоступна")).to_be_visible()

    live_pbx.call(live_pbx.sim.start(port=port))
    live_pbx.wait_ami_connected(timeout=30)
    expect(stale).to_be_hidden(timeout=SLOW_MS)
    # the rows re-sent after the resync: Anna is still there, and the PBX got her state
    expect(row).to_be_visible()
    _wait_for(lambda: [(a["Interface"], a["Paused"]) for a in _actions(live_pbx.sim, "QueuePause")][-1:]
              == [("PJSIP/101", "false")], timeout=SLOW_MS / 1000)
    expect(row).to_have_attribute("data-state", "ready", timeout=SLOW_MS)


def test_the_board_api_refuses_an_operator(page, live_server, sign_in, page_api):
    sign_in(role="operator")
    assert page_api(page, "GET", "/board")["status"] == 403
    page.goto(live_server.url + "/#/board")
    expect(page.get_by_test_id("board-page").get_by_test_id("page-error")).to_be_visible()

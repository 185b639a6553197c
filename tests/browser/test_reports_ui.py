"""The reports page in a real Chromium against the real app: a supervisor reads a seeded day's
figures per operator and per queue, the three charts show the same figures, presets and
from/to dates reload the report, CSV and XLSX downloads arrive and open, a plan saved shows in
the KPI column, an operator gets the forbidden banner; no console errors on the way.

The history is seeded straight into the calls table (as the call log writes it when a call
ends), so every figure below is known in advance. Each test runs on SQLite and PostgreSQL."""

import csv
import io
import json
import re
from datetime import date, datetime, time, timedelta, timezone
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ZONE = ZoneInfo("Europe/Moscow")  # the settings' default CALLCENTER_TIMEZONE
DAY = date(2026, 11, 10)  # a Tuesday: one working day
_keys = count(1)
CHARTS_MS = 15_000  # Chart.js is fetched on the first report; generous on a loaded machine


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZONE).astimezone(timezone.utc)


def call(started_at, direction, outcome, *, answered_by=None, placed_by=None, rung=(), wait=None,
         talk=0, disposition=None, queue=None):
    key = next(_keys)
    return {"call_key": f"seed-{key}", "linkedid": f"seed-{key}", "direction": direction,
            "caller": "+79161234567", "callee": "600", "operators_rung": list(rung),
            "answered_by_user_id": answered_by, "placed_by": placed_by, "started_at": started_at,
            "answered_at": started_at + timedelta(seconds=wait or 0) if outcome == "answered" else None,
            "ended_at": started_at + timedelta(seconds=(wait or 0) + talk), "outcome": outcome,
            "talk_seconds": talk, "wait_seconds": wait, "disposition": disposition, "queue": queue,
            "status": "completed"}


def seed(server, rows):
    from callcenter.storage.tables import calls

    async def insert():
        async with server.services.db.write() as conn:
            await conn.execute(calls.insert(), rows)

    server.call(insert())


@pytest.fixture
def sqlite_url(db_url):
    """The live server of these tests runs on each database (db_url: a SQLite file and a
    PostgreSQL database), since the reports' SQL is not the same on the two."""
    return db_url


@pytest.fixture
def staff(live_server):
    """Two operators with softphones (Анна PJSIP/101, Борис PJSIP/102); their ids."""
    anna = live_server.create_user("anna_r", "pw-anna-reports", "operator", "Анна Смирнова", extension="PJSIP/101")
    boris = live_server.create_user("boris_r", "pw-boris-reports", "operator", "Борис Кузнецов", extension="PJSIP/102")
    return {"anna": anna["id"], "boris": boris["id"]}


@pytest.fixture
def seeded_day(live_server, staff):
    """DAY's calls. Анна: 3 inbound answered (queues sales, sales, support; waits 10/15/30 s;
    talks 60/120/180 s), 1 outbound answered (120 s) and 1 missed inbound that rang both; she
    confirmed one order of 2 490 ₽, was ready 9:00–18:00 but for 30 minutes' lunch and 5
    minutes' pause without a reason. Борис: 3 outbound (two answered, 30 s each; one not
    answered)."""
    anna, boris = staff["anna"], staff["boris"]
    seed(live_server, [
        call(local(DAY, 10, 5), "inbound", "answered", answered_by=anna, wait=10, talk=60,
             disposition="confirmed", queue="sales"),
        call(local(DAY, 10, 20), "inbound", "answered", answered_by=anna, wait=15, talk=120,
             disposition="callback", queue="sales"),
        call(local(DAY, 11, 10), "inbound", "answered", answered_by=anna, wait=30, talk=180,
             disposition="confirmed", queue="support"),
        call(local(DAY, 10, 40), "inbound", "missed", rung=["PJSIP/101", "PJSIP/102"], wait=25,
             queue="sales"),
        call(local(DAY, 12, 0), "outbound", "answered", placed_by="PJSIP/101", talk=120,
             disposition="refused"),
        call(local(DAY, 14, 0), "outbound", "answered", placed_by="PJSIP/102", talk=30,
             disposition="confirmed"),
        call(local(DAY, 14, 30), "outbound", "answered", placed_by="PJSIP/102", talk=30,
             disposition="refused"),
        call(local(DAY, 15, 0), "outbound", "no_answer", placed_by="PJSIP/102",
             disposition="no_answer"),
    ])
    confirm_order(live_server, anna, local(DAY, 10, 6), "2490.00")
    states(live_server, anna, [(local(DAY, 9, 0), "ready", None), (local(DAY, 12, 30), "paused", "lunch"),
                               (local(DAY, 13, 0), "ready", None), (local(DAY, 13, 10), "paused", None),
                               (local(DAY, 13, 15), "ready", None), (local(DAY, 18, 0), "offline", None)])
    return staff


def states(server, user_id, changes):
    """The operator's state changes [(at, state, reason)], as the agents' service logs them."""
    from callcenter.storage.tables import agent_state_changes

    async def insert():
        async with server.services.db.write() as conn:
            await conn.execute(agent_state_changes.insert(), [
                {"user_id": user_id, "at": at, "state": state, "reason": reason, "source": "crm"}
                for at, state, reason in changes])

    server.call(insert())


def confirm_order(server, user_id, at, total):
    """An order of `total` roubles that `user_id` confirmed at `at` (its status change as the
    order form records it)."""
    from callcenter.services.context import Actor
    from callcenter.storage.tables import changes

    shop = server.create_shop(f"shop{next(_keys)}", "Чайный дом")
    client = server.create_client(name="Иван Петров", timezone="Europe/Moscow",
                                  phones=[{"number": "+79161234567", "label": "mobile"}])
    order = server.call(server.services.orders.create(Actor.system("test"), {
        "client_id": client["id"], "shop_id": shop["id"], "number": f"TEA-{next(_keys)}",
        "status": "new", "total": total, "currency": "RUB",
        "items": [{"sku": "PU-1", "name": "Пуэр", "qty": 1, "price": total}]}))

    async def insert():
        async with server.services.db.write() as conn:
            await conn.execute(changes.insert().values(
                entity="order", entity_id=order["id"], client_id=client["id"], user_id=user_id,
                at=at, field="status", old="new", new="confirmed"))

    server.call(insert())


@pytest.fixture
def console_errors(page):
    """Console errors of the page, but for the 401 of /api/me before anyone signed in (the
    login screen's own question)."""
    errors = []

    def seen(message):
        if message.type != "error":
            return
        if "401" in message.text and message.location.get("url", "").endswith("/api/me"):
            return
        errors.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", seen)
    return errors


def open_day(page, day=DAY, to=None):
    """The reports page, the custom period typed into the from/to boxes."""
    page.get_by_test_id("nav-reports").click()
    expect(page.get_by_test_id("reports-page")).to_have_attribute("data-state", "ready")
    page.get_by_test_id("report-from").fill(day.isoformat())
    page.get_by_test_id("report-to").fill((to or day).isoformat())
    page.get_by_test_id("report-apply").click()
    expect(page.get_by_test_id("reports-page")).to_have_attribute(
        "data-period", re.compile(f":{day.isoformat()}:{(to or day).isoformat()}$"))


def row_of(page, user_id):
    return page.get_by_test_id("report-table").locator(f"[data-testid=report-row][data-key='{user_id}']")


def series(page, chart):
    box = page.get_by_test_id("chart-" + chart)
    expect(box).to_have_attribute("data-drawn", "true", timeout=CHARTS_MS)
    canvas = box.locator("canvas").bounding_box()
    assert canvas["width"] > 100 and canvas["height"] > 100, f"the {chart} chart has no size: {canvas}"
    labels, sets = json.loads(box.get_attribute("data-labels")), json.loads(box.get_attribute("data-series"))
    # what the box says is what Chart.js itself was given
    drawn = box.evaluate("async (el) => (await import('/static/views/reports_charts.js')).drawnData(el)")
    assert drawn == {"labels": labels, "data": [s["data"] for s in sets]}, drawn
    return labels, sets


def live_charts(page):
    return page.evaluate("async () => (await import('/static/views/reports_charts.js')).liveChartCount()")


def test_the_supervisor_reads_a_days_figures_and_charts(page, sign_in, seeded_day, console_errors):
    sign_in("supervisor", name="Светлана Руководитель")
    open_day(page)

    anna, boris = row_of(page, seeded_day["anna"]), row_of(page, seeded_day["boris"])
    for cell, text in [("calls_in", "4"), ("calls_out", "1"), ("answered", "4"), ("missed", "1"),
                       ("missed_rate", re.compile(r"^25\s%$")), ("talk_seconds", "8:00"),
                       ("avg_talk", "2:00"), ("max_wait", "0:30"), ("orders_confirmed", "1"),
                       ("sales", re.compile(r"^2\s490,00\s₽$")), ("ready_seconds", "8:25:00"),
                       ("paused_seconds", "35:00"), ("callbacks_late_avg_minutes", "—")]:
        expect(anna.get_by_test_id("cell-" + cell)).to_have_text(text)
    expect(anna.get_by_test_id("cell-paused_seconds")).to_have_attribute("title", "без причины: 5:00\nобед: 30:00")
    for cell, text in [("calls_in", "1"), ("calls_out", "3"), ("answered", "2"), ("missed", "1"),
                       ("talk_seconds", "1:00")]:
        expect(boris.get_by_test_id("cell-" + cell)).to_have_text(text)
    totals = page.get_by_test_id("totals-row")
    expect(totals.get_by_test_id("cell-calls_in")).to_have_text("4")
    expect(totals.get_by_test_id("cell-calls_out")).to_have_text("4")
    expect(totals.get_by_test_id("cell-answered")).to_have_text("6")
    expect(boris.get_by_test_id("cell-sales")).to_have_text(re.compile(r"^0,00\s₽$"))
    expect(anna.get_by_test_id("kpi-none")).to_be_visible()  # no plan yet

    labels, (inbound, outbound) = series(page, "by-hour")
    assert labels[10] == "10" and len(inbound["data"]) == 24
    assert inbound["data"][10] == 3 and inbound["data"][11] == 1 and sum(inbound["data"]) == 4
    assert outbound["data"][12] == 1 and outbound["data"][14] == 2 and outbound["data"][15] == 1
    labels, (outcomes,) = series(page, "outcomes")
    assert dict(zip(labels, outcomes["data"])) == {
        "Не отвечает": 1, "Перезвонить…": 1, "Отказ": 2, "Заказ подтверждён": 3}
    labels, compared = series(page, "operators")
    assert labels == ["Анна Смирнова", "Борис Кузнецов"]
    assert compared[0]["data"] == [5, 4] and compared[1]["data"] == [4, 2]  # calls, answered
    assert compared[2]["data"] == [1, 0]  # confirmed orders
    assert live_charts(page) == 3

    # sorting: by outbound calls, most first; again, fewest first
    page.get_by_test_id("sort-calls_out").click()
    expect(page.get_by_test_id("report-row").first).to_have_attribute("data-key", str(seeded_day["boris"]))
    page.get_by_test_id("sort-calls_out").click()
    expect(page.get_by_test_id("report-row").first).to_have_attribute("data-key", str(seeded_day["anna"]))

    # the queues tab: its own table and two charts
    page.get_by_test_id("tab-queues").click()
    expect(page.get_by_test_id("reports-page")).to_have_attribute("data-period", f"queues:{DAY}:{DAY}")
    sales = page.get_by_test_id("report-table").locator("[data-testid=report-row][data-key='sales']")
    expect(sales.get_by_test_id("cell-offered")).to_have_text("3")
    expect(sales.get_by_test_id("cell-answered")).to_have_text("2")
    expect(sales.get_by_test_id("cell-abandoned")).to_have_text("1")
    labels, compared = series(page, "queues")
    assert dict(zip(labels, compared[0]["data"])) == {"sales": 3, "support": 1}
    series(page, "by-hour")
    expect(page.get_by_test_id("plans-panel")).to_be_hidden()
    assert live_charts(page) == 2  # the operators' three were destroyed with their tab

    # the language switch redraws the charts in English, and leaving the page destroys them
    page.get_by_test_id("tab-operators").click()
    page.get_by_test_id("lang-switch").select_option("en")
    expect(page.get_by_test_id("tab-operators")).to_have_text("Operators")
    _, (inbound, _) = series(page, "by-hour")
    assert inbound["label"] == "Inbound"
    labels, _ = series(page, "outcomes")
    assert "Order confirmed" in labels
    expect(page.get_by_test_id("reports-page")).to_have_attribute("data-period", f"operators:{DAY}:{DAY}")
    series(page, "operators")
    assert live_charts(page) == 3  # the Russian ones went with the page they were drawn on
    page.get_by_test_id("nav-calls").click()
    expect(page.get_by_test_id("reports-page")).to_have_count(0)
    assert live_charts(page) == 0
    assert page.evaluate("() => typeof window.Chart") == "undefined"
    assert not console_errors, console_errors


def test_presets_and_dates_reload_the_report(page, live_server, staff, sign_in, console_errors):
    anna = staff["anna"]
    today = datetime.now(ZONE).date()
    yesterday = today - timedelta(days=1)
    seed(live_server, [
        call(datetime.combine(today, time(0, 1), ZONE).astimezone(timezone.utc), "inbound", "answered",
             answered_by=anna, wait=5, talk=40),
        *[call(local(yesterday, 9, m), "inbound", "answered", answered_by=anna, wait=5, talk=40)
          for m in (0, 10)],
    ])
    sign_in("supervisor", name="Светлана Руководитель")
    page.get_by_test_id("nav-reports").click()
    report = page.get_by_test_id("reports-page")
    expect(report).to_have_attribute("data-period", f"operators:{today}:{today}")
    expect(page.get_by_test_id("preset-today")).to_have_attribute("aria-pressed", "true")
    expect(row_of(page, anna).get_by_test_id("cell-calls_in")).to_have_text("1")

    page.get_by_test_id("preset-yesterday").click()
    expect(report).to_have_attribute("data-period", f"operators:{yesterday}:{yesterday}")
    expect(page.get_by_test_id("preset-yesterday")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("preset-today")).to_have_attribute("aria-pressed", "false")
    expect(row_of(page, anna).get_by_test_id("cell-calls_in")).to_have_text("2")
    expect(page.get_by_test_id("report-from")).to_have_value(yesterday.isoformat())

    page.get_by_test_id("preset-this_month").click()
    expect(report).to_have_attribute("data-period", re.compile(f"^operators:{today.replace(day=1)}:"))
    page.get_by_test_id("preset-this_week").click()
    monday = today - timedelta(days=today.weekday())
    expect(report).to_have_attribute("data-period", re.compile(f"^operators:{monday}:"))

    # from/to: both days; the choice is kept in the page's address
    page.get_by_test_id("report-from").fill(yesterday.isoformat())
    page.get_by_test_id("report-to").fill(today.isoformat())
    page.get_by_test_id("report-apply").click()
    expect(report).to_have_attribute("data-period", f"operators:{yesterday}:{today}")
    expect(row_of(page, anna).get_by_test_id("cell-calls_in")).to_have_text("3")
    for preset in ("today", "yesterday", "this_week", "this_month"):
        expect(page.get_by_test_id("preset-" + preset)).to_have_attribute("aria-pressed", "false")
    assert f"from={yesterday}" in page.url and f"to={today}" in page.url
    page.reload()
    expect(report).to_have_attribute("data-period", f"operators:{yesterday}:{today}")

    # over the longest span the server allows: its field error, no report
    page.get_by_test_id("report-from").fill((today - timedelta(days=400)).isoformat())
    page.get_by_test_id("report-apply").click()
    expect(report).to_have_attribute("data-state", "error")
    expect(page.get_by_test_id("report-error")).to_be_visible()
    expect(page.get_by_test_id("report-period-form").get_by_test_id("error-to")).to_be_visible()
    # from after to: the server names the from box
    page.get_by_test_id("report-from").fill(today.isoformat())
    page.get_by_test_id("report-to").fill(yesterday.isoformat())
    page.get_by_test_id("report-apply").click()
    expect(page.get_by_test_id("report-period-form").get_by_test_id("error-from")).to_be_visible()
    expect(page.get_by_test_id("report-period-form").get_by_test_id("error-to")).to_have_count(0)
    expect(page.get_by_test_id("export-csv")).to_be_hidden()
    console_errors[:] = [e for e in console_errors if "422" not in e]  # the refused request itself
    assert not console_errors, console_errors


def test_a_period_without_calls_says_so(page, sign_in, seeded_day, console_errors):
    sign_in("supervisor", name="Светлана Руководитель")
    open_day(page, DAY + timedelta(days=1))
    expect(page.get_by_test_id("report-empty")).to_have_text("В этом периоде звонков нет")
    expect(page.locator("canvas")).to_have_count(0)
    expect(row_of(page, seeded_day["anna"]).get_by_test_id("cell-calls_in")).to_have_text("0")
    page.get_by_test_id("tab-queues").click()
    expect(page.get_by_test_id("report-empty")).to_be_visible()
    expect(page.locator("canvas")).to_have_count(0)
    assert not console_errors, console_errors


def test_csv_and_xlsx_downloads_arrive(page, sign_in, seeded_day, console_errors):
    from openpyxl import load_workbook

    sign_in("supervisor", name="Светлана Руководитель")
    open_day(page)
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    download = info.value
    assert download.suggested_filename == f"operators-{DAY}-{DAY}.csv"
    raw = open(download.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read Cyrillic"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=_delimiter(raw)))
    anna = next(r for r in rows if "Анна Смирнова" in r)
    boris = next(r for r in rows if "Борис Кузнецов" in r)
    header = rows[0]  # in the supervisor's language
    assert len(anna) == len(header) and len(boris) == len(header)
    assert anna[header.index("Входящие")] == "4" and anna[header.index("Отвечено")] == "4"
    assert boris[header.index("Исходящие")] == "3"
    assert rows[-1][0] == "Итого" and rows[-1][header.index("Исходящие")] == "4"

    with page.expect_download() as info:
        page.get_by_test_id("export-xlsx").click()
    download = info.value
    assert download.suggested_filename == f"operators-{DAY}-{DAY}.xlsx"
    # the download's temporary file has no extension, which openpyxl insists on
    sheet = load_workbook(io.BytesIO(open(download.path(), "rb").read()), read_only=True).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    anna_x = next(r for r in values if "Анна Смирнова" in r)
    assert anna_x[values[0].index("Входящие")] == 4
    assert anna_x[values[0].index("Время разговоров")] is not None  # a duration cell, 8 minutes

    page.get_by_test_id("tab-queues").click()
    expect(page.get_by_test_id("reports-page")).to_have_attribute("data-period", f"queues:{DAY}:{DAY}")
    with page.expect_download() as info:
        page.get_by_test_id("export-csv").click()
    assert info.value.suggested_filename == f"queues-{DAY}-{DAY}.csv"
    text = open(info.value.path(), "rb").read().decode("utf-8-sig")
    assert "sales" in text and "support" in text
    assert not console_errors, console_errors


def _delimiter(raw: bytes) -> str:
    first = raw.decode("utf-8-sig").splitlines()[0]
    return ";" if first.count(";") > first.count(",") else ","


def test_a_plan_saved_shows_in_the_kpi_column(page, sign_in, seeded_day, console_errors):
    sign_in("supervisor", name="Светлана Руководитель")
    open_day(page)
    plan = page.get_by_test_id("plans-table").locator(f"[data-testid=plan-row][data-user-id='{seeded_day['anna']}']")
    expect(plan.get_by_test_id("plan-name")).to_have_text("Анна Смирнова")

    # the server's field error under the box; nothing saved
    plan.get_by_test_id("plan-calls_per_day").fill("-3")
    plan.get_by_test_id("plan-save").click()
    expect(plan.get_by_test_id("error-calls_per_day")).to_be_visible()
    expect(row_of(page, seeded_day["anna"]).get_by_test_id("kpi-none")).to_be_visible()

    # 4 calls a day; Анна handled 4 (3 answered inbound + 1 outbound) in one working day
    plan.get_by_test_id("plan-calls_per_day").fill("4")
    plan.get_by_test_id("plan-confirmed_orders_per_day").fill("2")
    plan.get_by_test_id("plan-sales_per_day").fill("1500")
    plan.get_by_test_id("plan-save").click()
    expect(plan.get_by_test_id("error-calls_per_day")).to_have_count(0)
    kpi = row_of(page, seeded_day["anna"]).get_by_test_id("kpi-calls")
    expect(kpi).to_have_attribute("data-value", "1")
    expect(kpi).to_have_attribute("data-level", "good")
    expect(kpi).to_contain_text(re.compile(r"100\s%"))
    # 1 order of 2 a day: far behind; 2 490 ₽ of 1 500: past the plan
    expect(row_of(page, seeded_day["anna"]).get_by_test_id("kpi-orders")).to_have_attribute("data-value", "0.5")
    expect(row_of(page, seeded_day["anna"]).get_by_test_id("kpi-orders")).to_have_attribute("data-level", "low")
    expect(row_of(page, seeded_day["anna"]).get_by_test_id("kpi-sales")).to_have_attribute("data-level", "good")
    expect(row_of(page, seeded_day["anna"]).get_by_test_id("kpi-sales")).to_contain_text(re.compile(r"166\s%"))
    expect(row_of(page, seeded_day["boris"]).get_by_test_id("kpi-none")).to_be_visible()
    # the comparison chart carries the KPI line now
    _, compared = series(page, "operators")
    assert compared[-1]["data"][0] == 100

    page.reload()  # stored, not only shown
    plan = page.get_by_test_id("plans-table").locator(f"[data-testid=plan-row][data-user-id='{seeded_day['anna']}']")
    expect(plan.get_by_test_id("plan-calls_per_day")).to_have_value("4")
    expect(row_of(page, seeded_day["anna"]).get_by_test_id("kpi-calls")).to_have_attribute("data-value", "1")
    console_errors[:] = [e for e in console_errors if "422" not in e]  # the refused save itself
    assert not console_errors, console_errors


def test_an_operator_gets_the_forbidden_banner(page, sign_in, console_errors):
    sign_in("operator")
    expect(page.get_by_test_id("nav-reports")).to_have_count(0)
    page.goto(page.url.split("#")[0] + "#/reports")
    expect(page.get_by_test_id("reports-page").get_by_test_id("page-error")).to_be_visible()
    expect(page.get_by_test_id("report-table")).to_have_count(0)
    assert not console_errors, console_errors

"""The order pipeline in a real Chromium against the real app: an operator moves an order on
the board to "shipped" with the keyboard menu, gives the tracking number, and sees the move in
the order page's history; an admin renames a stage in Settings › Stages."""

from __future__ import annotations

import itertools
import os

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

_shops = itertools.count(1)


def shop_with_order(server):
    from callcenter.services.context import Actor

    shop = server.create_shop(f"pipe{next(_shops)}-{os.getpid()}", "ТехноМир")
    client = server.create_client(name="Мария Соловьёва",
                                  phones=[{"number": "+79857778899", "label": "mobile"}])
    order = server.call(server.services.orders.create(Actor.system("test"), {
        "client_id": client["id"], "shop_id": shop["id"], "number": "TM-501", "total": "2490",
        "items": [{"name": "Чайник", "qty": 1, "price": "2490"}]}))
    return shop, client, order


def test_an_operator_ships_an_order_from_the_board(page, live_server, sign_in):
    shop, client, order = shop_with_order(live_server)
    sign_in("operator")
    page.goto(live_server.url + "/#/pipeline")
    page.get_by_test_id("pipeline-shop").select_option(str(shop["id"]))
    new_column = page.locator("[data-testid=pipeline-column][data-stage=new]")
    card = new_column.locator("[data-testid=pipeline-card][data-number='TM-501']")
    expect(card).to_be_visible()
    card.get_by_test_id("move-select").select_option("shipped")
    page.get_by_test_id("tracking-input").fill("RA123456789RU")
    page.get_by_test_id("tracking-save").click()
    shipped = page.locator("[data-testid=pipeline-column][data-stage=shipped]")
    moved = shipped.locator("[data-testid=pipeline-card][data-number='TM-501']")
    expect(moved).to_be_visible()
    expect(moved.get_by_test_id("card-tracking")).to_have_text("RA123456789RU")
    expect(new_column.get_by_test_id("column-count")).to_have_text("0")
    moved.get_by_test_id("card-number").click()
    expect(page.get_by_test_id("order-tracking-text")).to_have_text("RA123456789RU")
    rows = page.get_by_test_id("stage-history-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Новый → Отправлен")


def test_an_unallowed_move_shows_the_error(page, live_server, sign_in):
    from callcenter.domain.pipeline import default_stages
    from callcenter.services.context import Actor

    shop, client, order = shop_with_order(live_server)
    stages = [dict(s, roles=["admin"]) if s["code"] == "cancelled" else s
              for s in default_stages()]
    live_server.call(live_server.services.pipeline.save_stages(
        Actor.system("test"), shop["id"], {"stages": stages}))
    sign_in("operator")
    page.goto(live_server.url + "/#/pipeline")
    page.get_by_test_id("pipeline-shop").select_option(str(shop["id"]))
    card = page.locator("[data-testid=pipeline-card][data-number='TM-501']")
    card.get_by_test_id("move-select").select_option("cancelled")
    expect(page.get_by_test_id("move-error")).to_contain_text("«Отменён»")
    expect(page.locator("[data-testid=pipeline-column][data-stage=new]")
           .locator("[data-testid=pipeline-card]")).to_have_count(1)


def test_an_admin_renames_a_stage(page, live_server, sign_in):
    shop, client, order = shop_with_order(live_server)
    sign_in("admin")
    page.goto(live_server.url + "/#/settings/stages")
    page.get_by_test_id("stages-shop").select_option(str(shop["id"]))
    row = page.locator("[data-testid=stage-row][data-code=paid]")
    row.get_by_test_id("stage-name_ru").fill("Оплата получена")
    page.get_by_test_id("stages-save").click()
    expect(page.get_by_test_id("toast")).to_contain_text("Этапы сохранены")
    expect(page.get_by_test_id("stages-save-error")).to_have_count(0)
    stages = live_server.call(live_server.services.pipeline.stages(shop["id"]))["items"]
    assert [s["name_ru"] for s in stages if s["code"] == "paid"] == ["Оплата получена"]
    page.goto(live_server.url + "/#/pipeline")
    page.get_by_test_id("pipeline-shop").select_option(str(shop["id"]))
    expect(page.locator("[data-testid=pipeline-column][data-stage=paid] h2")).to_have_text(
        "Оплата получена")

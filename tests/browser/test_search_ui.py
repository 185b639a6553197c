"""The sidebar search in a real Chromium: "ё" and "е" find each other, the last digits of a
number find the client, and results beyond the first page are reached with "Show more" (and
with ↓ from the last result)."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def _results(page):
    return page.get_by_test_id("search-result")


def test_yo_and_the_last_digits_find_the_client(page, live_server, sign_in):
    live_server.create_client(name="Анна Соловьёва", phones=[{"number": "+7 926 555-01-01"}])
    live_server.create_client(name="Пётр Семенов", phones=[{"number": "+7 916 000-22-33"}])
    sign_in("operator")
    search = page.get_by_test_id("search-input")

    search.fill("соловьева")
    expect(_results(page)).to_have_count(1)
    expect(_results(page)).to_contain_text("Анна Соловьёва")

    search.fill("Семёнов")
    expect(_results(page)).to_have_count(1)
    expect(_results(page)).to_contain_text("Пётр Семенов")

    for typed in ("0101", "01-01", "555 01 01", "8 (926) 555-01-01"):
        search.fill(typed)
        expect(_results(page)).to_have_count(1)
        expect(_results(page)).to_contain_text("Анна Соловьёва")
        expect(_results(page)).to_contain_text("телефон")  # what matched
    search.fill("0199")
    expect(page.get_by_test_id("search-empty")).to_be_visible()


def test_results_beyond_the_first_page_are_reachable(page, live_server, sign_in):
    for i in range(45):
        live_server.create_client(name=f"Кузнецов {i:02d}")
    sign_in("operator")
    page.get_by_test_id("search-input").fill("кузнецов")
    expect(_results(page)).to_have_count(20)
    expect(page.locator(".search-status")).to_have_text("Показаны 20 из 45")

    page.get_by_test_id("search-more").click()
    expect(_results(page)).to_have_count(40)
    expect(page.locator(".search-status")).to_have_text("Показаны 40 из 45")

    # ↓ on the last result brings the rest, and the highlight moves on to it
    page.get_by_test_id("search-input").focus()
    for _ in range(39):
        page.keyboard.press("ArrowDown")
    expect(_results(page).nth(39)).to_have_class(re.compile(r"\bhighlighted\b"))
    page.keyboard.press("ArrowDown")
    expect(_results(page)).to_have_count(45)
    expect(page.get_by_test_id("search-more")).to_have_count(0)
    expect(page.locator(".search-status")).to_have_text("Найдено: 45")
    expect(_results(page).nth(40)).to_have_class(re.compile(r"\bhighlighted\b"))
    names = _results(page).locator(".result-name").all_inner_texts()
    assert sorted(names) == [f"Кузнецов {i:02d}" for i in range(45)]  # each once

    page.keyboard.press("Enter")
    expect(page.get_by_test_id("client-name")).to_have_text(names[40])


def test_a_search_too_long_says_its_limits_in_russian(page, live_server, sign_in):
    sign_in("operator")
    page.get_by_test_id("search-input").fill(" ".join(["иван"] * 11))
    expect(page.locator(".search-status")).to_have_text(
        "Слишком длинный поиск: не больше 10 слов и 200 символов.")

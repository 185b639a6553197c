"""A page whose session ends elsewhere goes back to the login screen by itself (the server
closes its websocket with 4001), and the strict Content-Security-Policy breaks nothing."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_logging_out_everywhere_sends_the_open_page_back_to_login(page, live_server, sign_in):
    from callcenter.services.context import Actor
    from callcenter.storage.users import get_user_with_hash

    csp_errors = []
    page.on("console", lambda m: "Content Security Policy" in m.text and csp_errors.append(m.text))
    who = sign_in("supervisor", name="Светлана Орлова")
    expect(page.locator("html[data-live=open]")).to_have_count(1)

    async def log_out_everywhere():
        services = live_server.services
        async with services.db.read() as conn:
            user = await get_user_with_hash(conn, who["login"])
        await services.accounts.logout_everywhere(
            Actor(user_id=user["id"], login=user["login"], role=None, ip="127.0.0.1"))

    live_server.call(log_out_everywhere())
    # no click, no navigation: the closed websocket brings the login form back
    expect(page.get_by_test_id("login-form")).to_be_visible(timeout=10000)
    assert csp_errors == []


def test_a_role_change_reloads_the_page_with_the_new_roles_app(page, live_server, sign_in):
    from callcenter.services.context import Actor
    from callcenter.storage.users import get_user_with_hash

    who = sign_in("supervisor", name="Светлана Орлова")
    expect(page.get_by_test_id("nav-live")).to_be_visible()
    expect(page.locator("html[data-live=open]")).to_have_count(1)

    async def demote():
        services = live_server.services
        async with services.db.read() as conn:
            user = await get_user_with_hash(conn, who["login"])
        await services.accounts.update_user(Actor.system("test"), user["id"],
                                            {"role": "operator"})

    live_server.call(demote())
    # the session stays; the page reloads by itself and no longer offers the supervisor's pages
    expect(page.get_by_test_id("nav-live")).to_have_count(0, timeout=10000)
    expect(page.get_by_test_id("search-input")).to_be_visible()

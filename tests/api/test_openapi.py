"""The OpenAPI description covers every route and says which roles may call it."""

from callcenter.app import all_route_specs


async def test_openapi_lists_every_api_route_with_its_roles(api):
    resp = await api.anon.get("/api/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.")
    for spec in all_route_specs():
        if spec.tag == "static":
            continue
        op = doc["paths"][spec.path][spec.method.lower()]
        assert op["summary"] == spec.summary
        assert op["x-roles"] == (sorted(r.value for r in spec.roles) or ["public"])
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]


async def test_the_web_app_is_served(api):
    resp = await api.anon.get("/")
    assert resp.status == 200 and "text/html" in resp.headers["Content-Type"]
    html = await resp.text()
    assert "/static/" in html
    resp = await api.anon.get("/static/app.js")
    assert resp.status == 200
    resp = await api.anon.get("/static/../callcenter/config.py")
    assert resp.status in (403, 404)

"""One error shape for every error the API returns."""

import pytest


def assert_error_shape(body, code):
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)


@pytest.mark.parametrize("method,path,code,status", [
    ("GET", "/api/nope", "not_found", 404),
    ("GET", "/api/clients", "not_authenticated", 401),
    ("DELETE", "/api/me", "method_not_allowed", 405),
])
async def test_anonymous_errors_have_one_shape(api, method, path, code, status):
    resp = await api.anon.request(method, path)
    assert resp.status == status
    assert_error_shape(await resp.json(), code)


async def test_validation_not_found_conflict_and_bad_json_shapes(api):
    s = await api.login("anna")
    resp = await s.post("/api/clients", json={"name": "", "phones": [{"number": "abc"}]})
    assert resp.status == 422
    body = await resp.json()
    assert_error_shape(body, "validation_failed")
    assert set(body["error"]["details"]["fields"]) == {"name", "phones.0"}

    resp = await s.get("/api/clients/999999")
    assert resp.status == 404
    assert_error_shape(await resp.json(), "not_found")

    resp = await s.get("/api/clients/abc")
    assert resp.status == 404
    assert_error_shape(await resp.json(), "not_found")

    resp = await s.post("/api/clients", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    assert_error_shape(await resp.json(), "bad_request")

    await s.post("/api/clients", json={"name": "Иван", "phones": ["+79161234567"]})
    resp = await s.post("/api/clients", json={"name": "Другой", "phones": ["89161234567"]})
    assert resp.status == 409
    body = await resp.json()
    assert_error_shape(body, "duplicate_client")
    assert body["error"]["details"]["matches"][0]["matched_on"] == "phone"

    resp = await s.get("/api/clients?limit=abc")
    assert resp.status == 400
    assert_error_shape(await resp.json(), "bad_request")

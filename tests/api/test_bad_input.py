"""Bad input never answers 5xx. A JSON fuzz table (NaN, Infinity, huge integers, deep nesting,
surrogates, NUL, huge strings, wrong types for every field of the published body schema, nulls,
arrays instead of objects, bodies over the limit) over every write route of the route table must
give 400/413/422 in the error shape; ids beyond the database's integers, 999-word searches and
websocket frames that are not objects get a 4xx (or an error frame)."""

from __future__ import annotations

import copy
import json
from typing import Any, Iterator

import pytest

from callcenter.app import all_route_specs
from callcenter.domain.json_text import MAX_SAFE_INTEGER
from callcenter.http.middleware import MAX_JSON_BYTES
from tests.api import test_roles as roles
from tests.api.test_error_shape import assert_error_shape
from tests.api.world import build_world

WRITES = [s for s in all_route_specs() if s.method in ("POST", "PUT", "PATCH", "DELETE")]
REFUSED = {400, 413, 422}

HUGE_INT = "1" + "0" * 30
# whole bodies, as raw bytes
BODIES: dict[str, bytes] = {
    "NaN": b"NaN",
    "NaN in an object": b'{"qty": NaN, "name": NaN}',
    "Infinity": b"Infinity",
    "-Infinity in an array": b"[-Infinity]",
    "1e400": b'{"total": 1e400}',
    "5000-digit integer": b'{"id": ' + b"9" * 5000 + b"}",
    "10^30": b'{"client_id": ' + HUGE_INT.encode() + b"}",
    "deep array": b"[" * 100_000 + b"]" * 100_000,
    "deep object": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "lone surrogate": b'{"name": "\\ud800"}',
    "surrogate key": b'{"\\udc00": 1}',
    "NUL": b'{"name": "a\\u0000b", "text": "\\u0000"}',
    "invalid UTF-8": b'{"name": "\xed\xa0\x80"}',
    "latin-1 bytes": b'{"name": "\xe9t\xe9"}',
    "not JSON": b"{not json",
    "empty": b"",
    "array": b"[]",
    "array of objects": b'[{"name": "x"}]',
    "string": b'"text"',
    "number": b"1",
    "true": b"true",
    "null": b"null",
    "over the limit": b'{"name": "' + b"x" * (MAX_JSON_BYTES + 10) + b'"}',
}

# values of each JSON type; a field gets every one its schema does not allow
SAMPLES: list[tuple[str, str, Any]] = [
    ("null", "null", None), ("boolean", "true", True), ("integer", "7", 7),
    ("number", "1.5", 1.5), ("string", "text", "text"), ("array", "array", []),
    ("object", "object", {}),
]
ALWAYS_BAD: list[tuple[str, Any]] = [
    ("10^30", json.loads(HUGE_INT)),           # out of every id's and quantity's range
    ("2^53", MAX_SAFE_INTEGER + 1),
    ("surrogate", "\ud800"),
    ("NUL", "x\x00y"),
    ("huge string", "я" * 30_000),
    ("NaN", float("nan")),
    ("Infinity", float("inf")),
]


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type", [])
    kinds = {kind} if isinstance(kind, str) else set(kind)
    if "number" in kinds:
        kinds.add("integer")
    return kinds


def mutations(schema: dict[str, Any], value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(label, body) for each wrong value of each field (nested ones too) of a valid body."""
    if not isinstance(value, dict):
        return
    for name, prop in (schema.get("properties") or {}).items():
        allowed = _types(prop)
        wrong = [(label, v) for kind, label, v in SAMPLES if kind not in allowed]
        wrong += ALWAYS_BAD if prop.get("type") != "boolean" else ALWAYS_BAD[:1]
        for label, bad in wrong:
            body = copy.deepcopy(value)
            body[name] = bad
            yield f"{path}{name}={label}", body
        inner = value.get(name)
        if "object" in allowed and isinstance(inner, dict):
            for label, bad_inner in mutations(prop, inner, f"{path}{name}."):
                body = copy.deepcopy(value)
                body[name] = bad_inner
                yield label, body
        items = prop.get("items")
        if "array" in allowed and isinstance(items, dict) and isinstance(inner, list) and inner:
            for label, bad_item in mutations(items, inner[0], f"{path}{name}[0]."):
                body = copy.deepcopy(value)
                body[name] = [bad_item, *inner[1:]]
                yield label, body


def encode(body: Any) -> bytes:
    # json.dumps writes NaN, Infinity and lone surrogates (as \ud800), as a hostile client would
    return json.dumps(body, ensure_ascii=True, allow_nan=True).encode()


def request_for(world, spec):
    table = roles.PUBLIC_CASES if spec.public else roles.CASES
    build, _ = table[(spec.method, spec.path)]
    return build(world, "fuzz")


async def send_raw(world, spec, req, body: bytes):
    session = world.session("admin")
    client = world.api.anon if spec.public else session.client
    headers = {"Content-Type": "application/json", **(req.headers or {})}
    if not spec.public:
        headers["X-CSRF-Token"] = session.csrf
    return await client.request(spec.method, req.path.split("?")[0] if req.data else req.path,
                                data=body, headers=headers)


async def expect_refused(resp, what) -> None:
    text = await resp.text()
    assert resp.status in REFUSED, (what, resp.status, text[:300])
    assert_error_shape(json.loads(text), json.loads(text)["error"]["code"])


async def refused_or_note(resp, what, wrong: list) -> None:
    """Like expect_refused, but notes the failure so that one run lists them all."""
    try:
        await expect_refused(resp, what)
    except AssertionError as exc:
        wrong.append(str(exc)[:160])


@pytest.fixture
async def world(api_with):
    world = await build_world(api_with)
    yield world


async def test_every_write_route_refuses_bad_bodies(world):
    for spec in WRITES:
        req = request_for(world, spec)
        for label, body in BODIES.items():
            if label == "empty" and spec.body is None:
                continue  # no body at all is how a route that takes none is called
            resp = await send_raw(world, spec, req, body)
            await expect_refused(resp, (spec.method, spec.path, label))


async def test_every_field_of_every_write_route_refuses_wrong_values(world):
    tried, wrong = 0, []
    for spec in WRITES:
        req = request_for(world, spec)
        if not spec.body or not isinstance(req.json, dict):
            continue
        for label, body in mutations(spec.body, req.json):
            fresh = request_for(world, spec)  # nothing shared between tries
            resp = await send_raw(world, spec, fresh, encode(body))
            await refused_or_note(resp, (spec.method, spec.path, label), wrong)
            tried += 1
    assert not wrong, "\n".join(wrong)
    assert tried > 500  # the table really walked the fields


async def test_bad_numbers_are_refused_and_never_poison_a_card(world):
    admin = world.session("admin")
    client_id = world.clients["anna"]
    for qty in (b"NaN", b"Infinity", b"-Infinity", b"1e400"):
        body = (b'{"client_id": %d, "shop_id": %d, "number": "Q-1", "total": "1", '
                b'"items": [{"name": "x", "qty": %s}]}') % (client_id, world.shop["id"], qty)
        resp = await admin.client.post("/api/orders", data=body, headers={
            "Content-Type": "application/json", "X-CSRF-Token": admin.csrf})
        await expect_refused(resp, qty)
        resp = await admin.patch(f"/api/orders/{world.orders['anna']}", data=body.replace(
            b'"client_id": %d, ' % client_id, b""), headers={
            "Content-Type": "application/json", "X-CSRF-Token": admin.csrf})
        await expect_refused(resp, qty)
    resp = await admin.get(f"/api/clients/{client_id}")
    assert resp.status == 200
    json.loads(await resp.text(), parse_constant=lambda c: pytest.fail(f"{c} in the card"))


@pytest.mark.parametrize("path", [
    "/api/clients/1" + "0" * 30, "/api/clients/99999999999", "/api/orders/4294967296",
    "/api/clients/-1", "/api/clients/" + "9" * 5000,
    "/api/calls?client_id=99999999999", "/api/orders?client_id=1" + "0" * 30,
    "/api/calls?operator_id=" + "9" * 5000, "/api/audit?user_id=4294967296",
    "/api/clients?limit=" + "9" * 5000, "/api/clients?q=" + "%20".join(["a"] * 999),
    "/api/clients?q=" + "+".join(["иван"] * 50),
    "/api/clients?q=" + "x" * 5000, "/api/clients?q=a%00b", "/api/orders?q=%00",
    "/api/tasks?status=%00", "/api/audit?action=a%00", "/api/calls?since=" + "9" * 5000,
])
async def test_bad_ids_and_queries_get_4xx(world, path):
    resp = await world.session("admin").get(path)
    assert 400 <= resp.status < 500, (path[:80], resp.status, (await resp.text())[:200])
    assert resp.content_type == "application/json", (path[:80], (await resp.text())[:200])
    assert_error_shape(await resp.json(), (await resp.json())["error"]["code"])


async def test_ids_beyond_the_integer_range_in_bodies(world):
    admin = world.session("admin")
    for path, body in (
        (f"/api/calls/{world.calls['anna']}", {"client_id": 2**31}),
        ("/api/orders", {"client_id": 2**31, "shop_id": world.shop["id"], "number": "X",
                         "total": "1"}),
        (f"/api/orders/{world.orders['anna']}", {"shop_id": 2**40}),
        ("/api/clients", {"name": "Иван", "assigned_operator_id": 2**31}),
        ("/api/calls/originate", {"number": "+79161110001", "task_id": 2**31}),
    ):
        method = admin.patch if path.count("/") == 3 and path[-1].isdigit() else admin.post
        resp = await method(path, json=body)
        await expect_refused(resp, (path, body))


async def test_order_patch_to_a_missing_shop_or_taken_external_id(world):
    admin = world.session("admin")
    resp = await admin.patch(f"/api/orders/{world.orders['anna']}", json={"shop_id": 999999})
    assert resp.status == 422, await resp.text()
    resp = await admin.patch(f"/api/orders/{world.orders['anna']}", json={"client_id": 999999})
    assert resp.status == 404, await resp.text()


async def test_a_body_over_the_upload_limit_is_413_in_the_error_shape(api_with):
    api = await api_with(max_upload_mb=1)
    s = await api.login("sup", "supervisor", password="correct-horse-battery-7")
    big = b"x" * (3 * 1024 * 1024)
    resp = await s.client.post("/api/import/clients", data=big, headers={
        "Content-Type": "application/octet-stream", "X-CSRF-Token": s.csrf})
    assert resp.status == 413, await resp.text()
    assert_error_shape(await resp.json(), "payload_too_large")


async def test_websocket_frames_that_are_not_objects_get_an_error_frame(world):
    ws = await world.session("sup").client.ws_connect("/ws")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    for frame in ("[]", "1", '"subscribe"', "null", "NaN", "[" * 10000, '{"type": "\\ud800"}',
                  "{not json"):
        await ws.send_str(frame)
        reply = await ws.receive_json(timeout=5)
        assert reply["type"] == "error" and reply["code"] == "bad_request", (frame, reply)
    await ws.send_json({"type": "subscribe", "topic": "calls"})  # still alive and serving
    assert (await ws.receive_json(timeout=5))["type"] == "subscribed"
    await ws.close()


def test_json_is_written_only_through_the_writer_that_refuses_nan():
    """Every HTTP answer goes through middleware.json_response (json_text.dumps, allow_nan
    off); a handler calling aiohttp's json_response directly would bring NaN back."""
    from pathlib import Path

    import callcenter

    root = Path(callcenter.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "middleware.py" and "web.json_response(" in p.read_text("utf-8")]
    assert offenders == []

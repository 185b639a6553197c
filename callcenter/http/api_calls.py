"""Calls: the live websocket, the call log, after-call notes, click-to-call, callback tasks."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from aiohttp import WSCloseCode, WSMsgType, web

from callcenter.domain.access import ALL_ROLES, STAFF, Role, may_see_call
from callcenter.domain.click_to_call import ClickToCall
from callcenter.domain.clients import MAX_ID
from callcenter.domain.json_text import JsonRejected, parse_json
from callcenter.domain.phones import try_normalise
from callcenter.errors import (
    BadRequest, Forbidden, NoExtension, NotFound, ServiceUnavailable, ValidationFailed,
)
from callcenter.http.keys import CALLS, SERVICES
from callcenter.http.middleware import (
    ctx_of, int_arg, json_response, path_id, read_json, read_json_object,
)
from callcenter.http.routing import RouteTable
from callcenter.http.ws_hub import TOO_MANY_PAGES
from callcenter.http.ws_sessions import check_origin
from callcenter.services.calls import call_rows_json
from callcenter.services.clients import call_row_json
from callcenter.storage import audit
from callcenter.storage import calls as repo
from callcenter.storage.clients import get_client, insert_activity
from callcenter.storage.users import get_user

routes = RouteTable()

DIRECTIONS = ("inbound", "outbound", "internal")
OUTCOMES = ("answered", "missed", "no_answer", "busy", "invalid_number", "unavailable", "failed",
            "unknown")
DISPOSITIONS = ("resolved", "callback", "order_placed", "order_confirmed", "complaint",
                "wrong_number", "other")
HEARTBEAT_SECONDS = 20.0


def _time_arg(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 date or date-time", {"param": name}) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name) or None
    if value is not None and value not in allowed:
        raise BadRequest(f"{name} must be one of {', '.join(allowed)}", {"param": name})
    return value


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


async def _may_see_call(conn, services, ctx, call) -> bool:
    """Whether the actor may see this stored call (its client's owner read in ``conn``)."""
    owner = None
    if call["client_id"] is not None:
        client = await get_client(conn, call["client_id"])
        owner = client["assigned_operator_id"] if client else None
    return may_see_call(ctx.actor.role, ctx.actor.user_id, ctx.user["extension"],
                        services.clients.own_clients_only, client_owner=owner,
                        has_client=call["client_id"] is not None,
                        answered_by_user_id=call["answered_by_user_id"],
                        placed_by=call["placed_by"])


async def _check_task_visible(services, ctx, task_id: int) -> None:
    """NotFound unless an operator limited to their own clients may see the task (anyone
    else may name any task id: the call only carries it, as CRM_TASK_ID)."""
    own = services.clients.restricted_to(ctx.actor)
    if own is None:
        return
    async with services.db.read() as conn:
        task = await repo.get_task(conn, task_id)
    if task is None:
        raise NotFound.entity("task", task_id)
    if task["client_id"] is not None:
        try:
            await services.clients.check_access(ctx.actor, task["client_id"])
        except NotFound:
            raise NotFound.entity("task", task_id) from None
    elif own not in (task["assigned_to"], task["claimed_by"]):
        raise NotFound.entity("task", task_id)


@routes.get("/ws", roles=ALL_ROLES, tag="calls",
            summary="Websocket of live call events: call.ringing, call.answered, call.ended …")
async def websocket(request: web.Request) -> web.StreamResponse:
    check_origin(request)
    ctx = ctx_of(request)
    hub = request.app[CALLS].hub
    services = request.app[SERVICES]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=64 * 1024,
                               compress=hub.COMPRESS)
    await ws.prepare(request)
    if hub.closing:  # the server began to shut down during the handshake
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        return ws
    # counted and registered with no await in between, so simultaneous pages cannot all slip in
    if hub.pages_of(ctx.actor.user_id) >= services.settings.max_websockets_per_user:
        await ws.close(code=TOO_MANY_PAGES, message=b"too many open pages")
        return ws
    conn = hub.register(ws, user_id=ctx.actor.user_id, role=ctx.actor.role.value,
                        extension=ctx.user["extension"], transport=request.transport,
                        session=services.accounts.token_hash(ctx.session_token))
    hub.send_to(conn, {
        "type": "hello", "user": {"id": ctx.actor.user_id, "name": ctx.actor.name,
                                  "role": ctx.actor.role.value,
                                  "extension": ctx.user["extension"]},
        "ami": request.app[SERVICES].ami_status() if request.app[SERVICES].ami_status
        else {"status": "disabled"},
        # which server process the page is connected to (behind a proxy: for support)
        "server": services.bus.node if services.bus is not None else None})
    try:
        # the calls at this operator's phone now: a page whose link was down gets their cards
        for message in await request.app[CALLS].pops_for(ctx.user["extension"]):
            hub.send_to(conn, message)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = parse_json(msg.data)
            except JsonRejected as exc:
                hub.send_to(conn, {"type": "error", "code": "bad_request",
                                   "message": f"The message is not acceptable JSON: {exc}"})
                continue
            if not isinstance(data, dict):
                hub.send_to(conn, {"type": "error", "code": "bad_request",
                                   "message": "A message must be a JSON object"})
                continue
            if data.get("type") == "subscribe" and data.get("topic") == "calls":
                if ctx.actor.role in (Role.SUPERVISOR, Role.ADMIN):
                    hub.watch_all_calls(conn)
                    hub.send_to(conn, {"type": "subscribed", "topic": "calls"})
                else:
                    hub.send_to(conn, {
                        "type": "error", "code": "forbidden",
                        "message": "Only supervisors and admins watch all calls"})
    except asyncio.CancelledError:
        raise
    finally:
        await hub.unregister(conn)
    return ws


@routes.get("/api/calls", roles=ALL_ROLES, tag="calls",
            query=("since", "until", "operator_id", "client_id", "direction", "outcome",
                   "limit", "offset"),
            summary="The call log, newest first, with filters and paging")
async def list_calls(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    ctx = ctx_of(request)
    client_id = int_arg(request, "client_id", low=1)
    if client_id is not None:
        await services.clients.check_access(ctx.actor, client_id)
    operator_id = int_arg(request, "operator_id", low=1)
    endpoint = None
    if operator_id is not None:
        async with services.db.read() as conn:
            operator = await get_user(conn, operator_id)
        endpoint = operator["extension"] if operator else None
    own = services.clients.restricted_to(ctx.actor)
    async with services.db.read() as conn:
        rows, total = await repo.list_calls(
            conn, since=_time_arg(request, "since"), until=_time_arg(request, "until"),
            operator_id=operator_id, operator_endpoint=endpoint, client_id=client_id,
            direction=_choice(request, "direction", DIRECTIONS),
            outcome=_choice(request, "outcome", OUTCOMES),
            limit=int_arg(request, "limit", 50, low=1, high=500),
            offset=int_arg(request, "offset", 0),
            own_operator_id=own, own_endpoint=ctx.user["extension"] if own else None)
        items = await services.recording_access.attach(
            conn, ctx.actor, await call_rows_json(conn, rows), rows,
            extension=ctx.user["extension"])
    return json_response({"items": items, "total": total})


@routes.patch("/api/calls/{id}", roles=ALL_ROLES, tag="calls",
              body={"type": "object", "properties": {
                  "disposition": {"type": "string", "enum": list(DISPOSITIONS)},
                  "note": {"type": "string"}, "client_id": {"type": "integer"}}},
              summary="After the call: its outcome for the shop, a note, the client it was")
async def patch_call(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    ctx = ctx_of(request)
    call_id = path_id(request)
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ValidationFailed.fields({"body": "must be a JSON object"})
    values, errors = {}, {}
    if "disposition" in data:
        if data["disposition"] not in DISPOSITIONS:
            errors["disposition"] = f"one of {', '.join(DISPOSITIONS)}"
        values["disposition"] = data["disposition"]
    if "note" in data:
        if not isinstance(data["note"], str) or len(data["note"]) > 20_000:
            errors["note"] = "text of up to 20000 characters"
        values["note"] = data["note"]
    if "client_id" in data:
        if not _is_id(data["client_id"]):
            errors["client_id"] = "a client id"
        else:
            values["client_id"] = data["client_id"]
    for name in set(data) - {"disposition", "note", "client_id"}:
        errors[name] = "unknown field"
    if errors:
        raise ValidationFailed.fields(errors)
    if "client_id" in values:
        await services.clients.check_access(ctx.actor, values["client_id"])
    async with services.db.write() as conn:
        call = await repo.get_call(conn, call_id)
        if call is None or not await _may_see_call(conn, services, ctx, call):
            raise NotFound.entity("call", call_id)
        await repo.update_call(conn, call_id, values)
        if values.get("note") and (values.get("client_id") or call["client_id"]):
            await insert_activity(conn, {
                "client_id": values.get("client_id") or call["client_id"], "kind": "call",
                "text": values["note"], "author_id": ctx.actor.user_id,
                "created_at": services.clients.clock()})
        await audit.record(conn, at=services.clients.clock(), action="call.update",
                           user_id=ctx.actor.user_id, login=ctx.actor.login, ip=ctx.actor.ip,
                           entity="call", entity_id=call_id, details=values)
        call = await repo.get_call(conn, call_id)
        (item,) = await services.recording_access.attach(
            conn, ctx.actor, [call_row_json(call)], [call], extension=ctx.user["extension"])
    return json_response(item)


@routes.post("/api/calls/originate", roles=ALL_ROLES, tag="calls",
             body={"type": "object", "required": ["number"], "properties": {
                 "number": {"type": "string"}, "task_id": {"type": ["integer", "null"]},
                 "client_id": {"type": ["integer", "null"]}}},
             summary="Click to call: ring my softphone, then dial the number (AMI Originate)")
async def originate(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    calls = request.app[CALLS]
    ctx = ctx_of(request)
    data = await read_json_object(request)
    number = data.get("number")
    parsed = try_normalise(number, services.settings.default_region) \
        if isinstance(number, str) and len(number) <= 100 else None
    errors = {} if parsed else {"number": f"{str(number)[:100]!r} is not a phone number"}
    for name in ("task_id", "client_id"):
        if name in data and data[name] is not None and not _is_id(data[name]):
            errors[name] = "an id or null"
    for name in set(data) - {"number", "task_id", "client_id"}:
        errors[name] = "unknown field"
    if errors:
        raise ValidationFailed.fields(errors)
    if data.get("client_id") is not None:
        await services.clients.check_access(ctx.actor, data["client_id"])
    if data.get("task_id") is not None:
        await _check_task_visible(services, ctx, data["task_id"])
    if not ctx.user["extension"]:
        raise NoExtension("You have no softphone set: an admin must give you an extension "
                          "such as PJSIP/101", {"fields": {"extension": "not set"}})
    if calls.ami is None:
        raise ServiceUnavailable("No Asterisk is connected (CALLCENTER_AMI_HOST is not set)")
    placed = await calls.click_to_call.place(ClickToCall(
        channel=ctx.user["extension"], number=parsed, user_id=ctx.actor.user_id,
        task_id=data.get("task_id"), client_id=data.get("client_id")))
    return json_response({"action_id": placed.action_id, "number": placed.number}, status=202)


@routes.get("/api/calls/live", roles=STAFF, tag="calls",
            summary="Calls in progress right now (supervisors)")
async def live_calls(request: web.Request) -> web.Response:
    return json_response({"items": request.app[CALLS].live()})

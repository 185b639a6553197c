"""Tasks and the next-task queue: create, list, claim the next, record an attempt's outcome, the archive."""

from __future__ import annotations

import re
from datetime import datetime

from aiohttp import web

from callcenter.domain.access import ALL_ROLES
from callcenter.domain.tasks import STATUSES, FieldErrors, parse_instant
from callcenter.errors import BadRequest, ValidationFailed
from callcenter.http.keys import SERVICES
from callcenter.http.middleware import ctx_of, int_arg, json_response, path_id, read_json_object
from callcenter.http.routing import RouteTable

routes = RouteTable()

KIND_RE = re.compile(r"[a-z0-9_]{1,32}")
TIME = {"type": "string", "format": "date-time",
        "description": "ISO 8601 with its offset, e.g. 2026-12-01T10:00:00+03:00"}
TASK_BODY = {"type": "object", "required": ["kind", "client_id", "due_at"], "properties": {
    "kind": {"type": "string"}, "client_id": {"type": "integer"}, "due_at": TIME,
    "title": {"type": ["string", "null"], "description": "null: the client's name"},
    "assigned_to": {"type": ["integer", "null"], "description": "null: anyone"},
    "priority": {"type": ["integer", "null"], "description": "higher first; null: 0"},
    "note": {"type": ["string", "null"]},
    "order_id": {"type": ["integer", "null"]}}}
OUTCOME_BODY = {"type": "object", "required": ["outcome"], "properties": {
    "outcome": {"type": "string", "description": "a code of GET /api/outcomes"},
    "note": {"type": ["string", "null"]}, "next_at": {**TIME, "type": ["string", "null"]}}}
TASK_OUTCOME_BODY = {**OUTCOME_BODY, "properties": {
    **OUTCOME_BODY["properties"], "call_id": {"type": ["integer", "null"]}}}


def _time_arg(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return parse_instant(raw, name)
    except FieldErrors as exc:
        raise BadRequest(f"{name} {exc.fields[name]}", {"param": name}) from None


def _code_arg(request: web.Request, name: str, allowed: tuple[str, ...] | None = None):
    value = request.query.get(name) or None
    if value is None:
        return None
    if (allowed is not None and value not in allowed) or not KIND_RE.fullmatch(value):
        raise BadRequest(f"{name} must be " + (", ".join(allowed) if allowed else
                                               "a kind (a-z, 0-9, _)"), {"param": name})
    return value


def _fields_only(data: dict, allowed: tuple[str, ...]) -> None:
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValidationFailed.fields({str(k)[:64]: "unknown field" for k in unknown})


@routes.get("/api/tasks", roles=ALL_ROLES, tag="tasks",
            query=("status", "kind", "assigned_to", "due_from", "due_to", "client_id", "limit",
                   "offset"),
            summary="Tasks, soonest due first: by status, kind, owner (me, anyone, a user id), "
                    "due range")
async def list_tasks(request: web.Request) -> web.Response:
    items, total = await request.app[SERVICES].tasks.list(
        ctx_of(request).actor, status=_code_arg(request, "status", STATUSES),
        kind=_code_arg(request, "kind"), assigned_to=request.query.get("assigned_to"),
        due_from=_time_arg(request, "due_from"), due_to=_time_arg(request, "due_to"),
        client_id=int_arg(request, "client_id", low=1),
        limit=int_arg(request, "limit", 50, low=1, high=500),
        offset=int_arg(request, "offset", 0))
    return json_response({"items": items, "total": total})


@routes.post("/api/tasks", roles=ALL_ROLES, tag="tasks", body=TASK_BODY,
             summary="Create a task for a client (409 do_not_call if they may not be called)")
async def create_task(request: web.Request) -> web.Response:
    task = await request.app[SERVICES].tasks.create(ctx_of(request).actor,
                                                    await read_json_object(request))
    return json_response(task, status=201)


@routes.post("/api/tasks/next", roles=ALL_ROLES, tag="tasks",
             summary="Take the most urgent due task (leased to me): {task, client}, or 204")
async def next_task(request: web.Request) -> web.StreamResponse:
    claimed = await request.app[SERVICES].tasks.claim_next(ctx_of(request).actor)
    if claimed is None:
        return web.Response(status=204)
    return json_response(claimed)


@routes.get("/api/tasks/archive", roles=ALL_ROLES, tag="tasks", query=("q", "limit", "offset"),
            summary="Archived tasks, searched by the client's name or the number's digits")
async def archive(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].tasks.archive_list(
        ctx_of(request).actor, request.query.get("q"),
        limit=int_arg(request, "limit", 50, low=1, high=500),
        offset=int_arg(request, "offset", 0)))


@routes.get("/api/tasks/{id}", roles=ALL_ROLES, tag="tasks",
            summary="A task, with its attempts (history)")
async def get_task(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].tasks.get(ctx_of(request).actor,
                                                               path_id(request)))


@routes.post("/api/tasks/{id}/outcome", roles=ALL_ROLES, tag="tasks", body=TASK_OUTCOME_BODY,
             summary="Record an attempt's outcome (any time, also before due): the task as it "
                     "now is")
async def task_outcome(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    _fields_only(data, ("outcome", "note", "next_at", "call_id"))
    task = await request.app[SERVICES].tasks.record_outcome(
        ctx_of(request).actor, path_id(request), data.get("outcome"), note=data.get("note"),
        next_at=data.get("next_at"), call_id=data.get("call_id"))
    return json_response(task)


@routes.post("/api/tasks/{id}/release", roles=ALL_ROLES, tag="tasks",
             summary="Give the task back to the pool (my Next task skips it for a while)")
async def release(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].tasks.release(ctx_of(request).actor,
                                                                   path_id(request)))


@routes.post("/api/tasks/{id}/restore", roles=ALL_ROLES, tag="tasks",
             summary="Bring an archived task back: open, ladder from the start, due now")
async def restore(request: web.Request) -> web.Response:
    return json_response(await request.app[SERVICES].tasks.restore(ctx_of(request).actor,
                                                                   path_id(request)))


@routes.post("/api/calls/{id}/outcome", roles=ALL_ROLES, tag="calls", body=OUTCOME_BODY,
             summary="The outcome pressed after a call: stored on the call and its task "
                     "(opened when a follow-up is needed): {call, task}")
async def call_outcome(request: web.Request) -> web.Response:
    data = await read_json_object(request)
    _fields_only(data, ("outcome", "note", "next_at"))
    return json_response(await request.app[SERVICES].tasks.record_call_outcome(
        ctx_of(request).actor, path_id(request), data.get("outcome"), note=data.get("note"),
        next_at=data.get("next_at")))

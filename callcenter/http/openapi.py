"""The OpenAPI description, generated from the declared route table."""

from __future__ import annotations

import re
from typing import Any, Iterable

from aiohttp import web

from callcenter import __version__
from callcenter.domain.access import PUBLIC
from callcenter.http.keys import OPENAPI
from callcenter.http.middleware import json_response
from callcenter.http.routing import RouteSpec, RouteTable

routes = RouteTable()

ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message", "details"],
                             "properties": {"code": {"type": "string"},
                                            "message": {"type": "string"},
                                            "details": {"type": "object"}}}},
}


def build_openapi(specs: Iterable[RouteSpec]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for spec in specs:
        if spec.tag == "static":
            continue
        op: dict[str, Any] = {
            "summary": spec.summary, "tags": [spec.tag],
            "x-roles": sorted(r.value for r in spec.roles) or ["public"],
            "responses": {"200": {"description": "OK"},
                          "default": {"description": "Error",
                                      "content": {"application/json": {
                                          "schema": {"$ref": "#/components/schemas/Error"}}}}},
        }
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in re.findall(r"{(\w+)}", spec.path)]
        params += [{"name": name, "in": "query", "required": False,
                    "schema": {"type": "string"}} for name in spec.query]
        if params:
            op["parameters"] = params
        if spec.body:
            op["requestBody"] = {"content": {"application/json": {"schema": spec.body}}}
        if spec.roles:
            op["security"] = [{"session": []}]
        elif spec.tag == "intake":
            op["security"] = [{"shopToken": []}]
        paths.setdefault(spec.path, {})[spec.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "callcenter", "version": __version__,
                 "description": "Telephony-centred CRM for the call centres of online shops. "
                                "Writes with the session cookie need the X-CSRF-Token header."},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "cc_session"},
                "shopToken": {"type": "http", "scheme": "bearer"}},
        },
    }


@routes.get("/api/openapi.json", roles=PUBLIC, tag="system", summary="This description")
async def openapi(request: web.Request) -> web.Response:
    return json_response(request.app[OPENAPI])

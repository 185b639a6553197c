"""The browser app: index.html at / and the files of web/ under /static/."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from callcenter.domain.access import PUBLIC
from callcenter.http.routing import RouteTable

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
routes = RouteTable()


@routes.get("/", roles=PUBLIC, tag="static", summary="The web app")
async def index(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(WEB_DIR / "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


def add_static(app: web.Application) -> None:
    # HEAD / answers like GET without the body (monitors and `curl -I` ask this way)
    app.router.add_route("HEAD", "/", index)
    app.router.add_static("/static/", WEB_DIR, follow_symlinks=False, append_version=False)

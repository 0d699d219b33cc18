"""The web chat page at ``/`` (static/index.html, driving the user API from the browser)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"


async def handle_index(request: web.Request) -> web.StreamResponse:
    index = STATIC_DIR / "index.html"
    return web.FileResponse(index, headers={"Cache-Control": "no-cache"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", handle_index)
    if STATIC_DIR.is_dir():
        app.router.add_static("/static/", STATIC_DIR)

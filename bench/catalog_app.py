"""The bench server: Recurra's app plus one baseline route, served by the same process and middleware.

``GET /_bench/constant?bytes=N`` answers a constant HTML page of N bytes: the most a route can do without any
work, which the catalog pages are measured against (bench/catalog.py).
"""

from __future__ import annotations

from litestar import Response, get

from app.main import create_app

_bodies: dict[int, bytes] = {}


@get("/_bench/constant", include_in_schema=False)
async def constant(bytes: int = 1024) -> Response[bytes]:
    body = _bodies.get(bytes)
    if body is None:
        body = _bodies[bytes] = b"<!doctype html><p>" + b"x" * max(0, bytes - 18)
    return Response(body, media_type="text/html")  # Litestar adds the charset, as for the portal's pages


app = create_app()
app.register(constant)

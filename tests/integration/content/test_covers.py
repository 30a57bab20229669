"""Cover images: shown on the catalog and item pages, served through the covers storage by item id (never a
path), publicly cacheable with validators for published items only, raster images only."""

from __future__ import annotations

import re
from typing import Any

import httpx
from litestar import Litestar

from app.content.service import cover_version
from tables.content import ContentItem
from tests.integration.content.helpers import QueryCounter, customer_logged_in, item, runtime
from tests.integration.staff import staff_session, table

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
COVER = re.compile(r'<img class="(?:catalog|item)-cover" src="(/covers/\d+\?v=\w+)"')


async def covered(app: Litestar, key: str = "sunrise-1a2b.png", data: bytes = PNG, **values: Any) -> ContentItem:
    await runtime(app).covers.write(key, data)
    return await item(**{"slug": "sunrise", "title": "Sunrise", "is_free": True, "cover_image": key, **values})


def covers_in(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return COVER.findall(page.text)


async def test_covers_show_on_the_catalog_and_item_pages_and_are_served_cacheably(
    app: Litestar, client: httpx.AsyncClient, new_client: httpx.AsyncClient
) -> None:
    row = await covered(app)
    (listed,) = covers_in(await client.get("/catalog"))
    (shown,) = covers_in(await client.get("/catalog/sunrise"))
    assert listed == shown == f"/covers/{row.id}?v={cover_version('sunrise-1a2b.png')}"
    assert "sunrise-1a2b" not in (await client.get("/catalog")).text  # the storage key is not in the page
    image = await client.get(shown)
    assert image.status_code == 200 and image.content == PNG
    assert image.headers["content-type"] == "image/png" and image.headers["content-length"] == str(len(PNG))
    assert image.headers["cache-control"] == "public, max-age=86400"
    assert image.headers["etag"] and image.headers["last-modified"]
    assert image.headers["x-content-type-options"] == "nosniff"
    again = await client.get(shown, headers={"If-None-Match": image.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    first_visit = await new_client.get(shown)  # a browser with no cookies yet: none are set on a shared response
    assert first_visit.status_code == 200 and "set-cookie" not in first_visit.headers


async def test_a_new_cover_gets_a_new_url(app: Litestar, client: httpx.AsyncClient) -> None:
    row = await covered(app)
    (before,) = covers_in(await client.get("/catalog"))
    await runtime(app).covers.write("dawn-9f8e.webp", b"RIFF....WEBP")
    async with staff_session(app, "content") as staff:
        patched = await staff.patch(table("content_item", row.id), json={"cover_image": "dawn-9f8e.webp"})
        assert patched.status_code == 200, patched.text
    (after,) = covers_in(await client.get("/catalog"))
    assert after != before and after.startswith(f"/covers/{row.id}?v=")
    served = await client.get(after)
    assert served.content == b"RIFF....WEBP" and served.headers["content-type"] == "image/webp"


async def test_a_cache_hit_with_covers_runs_no_sql(
    app: Litestar, client: httpx.AsyncClient, sql_queries: QueryCounter
) -> None:
    await covered(app)
    await customer_logged_in(client)
    for path in ("/catalog", "/catalog/sunrise"):
        await client.get(path)  # fills the caches
        before = sql_queries.count
        assert len(covers_in(await client.get(path))) == 1
        assert sql_queries.count == before, path


async def test_only_published_items_raster_covers_inside_the_covers_folder_are_served(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    draft = await covered(app, slug="draft", publish_state="draft")
    assert (await client.get(f"/covers/{draft.id}")).status_code == 404
    plain = await item(slug="plain", is_free=True)
    assert covers_in(await client.get("/catalog/plain")) == []
    assert (await client.get(f"/covers/{plain.id}")).status_code == 404
    svg = await covered(app, key="logo-77.svg", data=b"<svg onload='alert(1)'/>", slug="vector")
    assert covers_in(await client.get("/catalog/vector")) == []  # an SVG could run script on our origin
    assert (await client.get(f"/covers/{svg.id}")).status_code == 404
    await runtime(app).storage.write("secret-file.png", PNG)  # an item file, not a cover
    for key in ("secret-file.png", "../files/secret-file.png", "/etc/hostname.png", "missing.png"):
        escaping = await item(slug=f"escape-{len(key)}", is_free=True, cover_image=key)
        assert (await client.get(f"/covers/{escaping.id}")).status_code == 404, key


async def test_the_admin_accepts_raster_covers_only(app: Litestar, client: httpx.AsyncClient) -> None:
    form = {"table_name": "content_item", "column_name": "cover_image"}
    async with staff_session(app, "content") as staff:
        refused = await staff.post(
            "/admin/api/media/", data=form, files={"file": ("logo.svg", b"<svg/>", "image/svg+xml")}
        )
        assert refused.status_code == 422, refused.text
        accepted = await staff.post("/admin/api/media/", data=form, files={"file": ("sunrise.png", PNG, "image/png")})
        assert accepted.status_code == 200, accepted.text
    key = accepted.json()["file_key"]
    assert (await runtime(app).covers.stat(key)).size == len(PNG)

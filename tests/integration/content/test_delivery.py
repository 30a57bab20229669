"""Signed media links: tampering, expiry, entitlement at the moment of the read, and the HTTP semantics of the
file itself (Range, ETag / Last-Modified, 304, Content-Type / Disposition, X-Accel-Redirect)."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar import Litestar

from app import clock
from app.content import delivery
from app.content.storage import AdminMediaStorage, LocalMediaStorage, MediaNotFound, UploadTooLarge
from app.main import create_app
from app.settings import Settings
from tables.content import ContentItem
from tables.subscriptions import Subscription
from tests import factories
from tests.integration.content.helpers import customer_logged_in, media_item, plan_with, runtime
from tests.integration.staff import staff_session

DATA = bytes(range(256)) * 40  # 10,240 bytes, every offset recognisable
LINK = re.compile(r'id="media-link" href="([^"]+)"')


def media_url(page: httpx.Response) -> str:
    match = LINK.search(page.text)
    assert match, page.text
    return match.group(1).replace("&amp;", "&")


async def entitled_link(app: Litestar, client: httpx.AsyncClient, **item: str) -> tuple[str, int, int]:
    """A logged-in subscriber, a downloadable item on their plan, and the signed link its page gives them."""
    customer_id = await customer_logged_in(client)
    downloads = await factories.feature(key="downloads")
    await factories.subscription(customer=customer_id, plan=await plan_with(downloads.id))
    row = await media_item(app, DATA, item.get("key", "sheet.csv"), item.get("type", "text/csv"), (downloads.id,),
                           slug="the-sheet", title="The sheet")  # fmt: skip
    page = await client.get("/catalog/the-sheet")
    return media_url(page), customer_id, int(row.id)


async def test_a_signed_link_streams_the_file_with_its_headers(app: Litestar, client: httpx.AsyncClient) -> None:
    url, customer_id, item_id = await entitled_link(app, client)
    query = parse_qs(urlsplit(url).query)
    assert query["c"] == [str(customer_id)] and urlsplit(url).path == f"/media/{item_id}"
    expires = int(query["e"][0])
    assert expires - clock.now().timestamp() == pytest.approx(600, abs=5)  # MEDIA_URL_TTL_S default
    response = await client.get(url)
    assert response.status_code == 200 and response.content == DATA
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="the-sheet.csv"')
    assert response.headers["content-length"] == str(len(DATA)) and response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] and response.headers["last-modified"]


async def test_tampered_links_are_refused_and_an_entitled_customer_is_offered_a_fresh_one(
    app: Litestar, client: httpx.AsyncClient, new_client: httpx.AsyncClient
) -> None:
    url, customer_id, item_id = await entitled_link(app, client)
    path, query = url.split("?")
    params = parse_qs(query)
    other_customer = url.replace(f"c={customer_id}", f"c={customer_id + 1}")
    longer = url.replace(f"e={params['e'][0]}", f"e={int(params['e'][0]) + 3600}")
    forged_sig = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    other_item = url.replace(path, f"/media/{item_id + 1}")
    for tampered in (other_customer, longer, forged_sig, other_item, path, f"{path}?c=x&e=1&s=2"):
        refused = await client.get(tampered)
        assert refused.status_code == 403, tampered
        assert 'data-reason="tampered"' in refused.text
    fresh = re.search(r'id="fresh-link" href="([^"]+)"', (await client.get(forged_sig)).text)
    assert fresh is not None
    assert (await client.get(fresh.group(1).replace("&amp;", "&"))).content == DATA
    # Someone else holding the link (not logged in) gets the refusal without a fresh link.
    anonymous = await new_client.get(forged_sig)
    assert anonymous.status_code == 403 and "fresh-link" not in anonymous.text


async def test_an_expired_link_is_refused_from_its_expiry_on(app: Litestar, client: httpx.AsyncClient) -> None:
    url, _, _ = await entitled_link(app, client)
    expires = int(parse_qs(urlsplit(url).query)["e"][0])
    with clock.frozen_at(datetime.fromtimestamp(expires - 1, UTC)):
        assert (await client.get(url)).status_code == 200
    with clock.frozen_at(datetime.fromtimestamp(expires, UTC)):
        expired = await client.get(url)
        assert expired.status_code == 403 and 'data-reason="expired"' in expired.text
        assert 'id="fresh-link"' in expired.text


async def test_a_valid_link_stops_working_when_the_entitlement_ends(app: Litestar, client: httpx.AsyncClient) -> None:
    url, customer_id, _ = await entitled_link(app, client)
    await Subscription.update({Subscription.status: Subscription.Status.paused}).where(
        Subscription.customer == customer_id
    )
    await runtime(app).entitlements.invalidate([customer_id])  # what the subscription.pause event does
    refused = await client.get(url)
    assert refused.status_code == 403 and 'data-reason="not_entitled"' in refused.text
    assert "fresh-link" not in refused.text and "/subscribe/" in refused.text


async def test_range_requests_seek_and_malformed_ranges_get_416(app: Litestar, client: httpx.AsyncClient) -> None:
    url, _, _ = await entitled_link(app, client)
    part = await client.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.content == DATA[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(DATA)}"
    assert part.headers["content-length"] == "1000"
    tail = await client.get(url, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == DATA[-100:]
    open_ended = await client.get(url, headers={"Range": "bytes=10000-"})
    assert open_ended.status_code == 206 and open_ended.content == DATA[10000:]
    for bad in ("bytes=abc", "bytes=5-1", "items=0-1", f"bytes={len(DATA)}-", "bytes=-0", "bytes=-"):
        refused = await client.get(url, headers={"Range": bad})
        assert refused.status_code == 416, bad
        assert refused.headers["content-range"] == f"bytes */{len(DATA)}"
    several = await client.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert several.status_code == 200 and several.content == DATA  # allowed: the whole file instead


async def test_validators_give_304_and_if_range_guards_stale_ranges(app: Litestar, client: httpx.AsyncClient) -> None:
    url, _, _ = await entitled_link(app, client)
    first = await client.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert (await client.get(url, headers={"If-Modified-Since": modified})).status_code == 304
    assert (await client.get(url, headers={"If-None-Match": '"other"'})).status_code == 200
    stale = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == DATA
    fresh = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert fresh.status_code == 206 and fresh.content == DATA[:10]


async def test_inline_types_play_in_the_browser(app: Litestar, client: httpx.AsyncClient) -> None:
    url, _, _ = await entitled_link(app, client, key="talk.mp3", type="audio/mpeg")
    response = await client.get(url)
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["content-disposition"].startswith('inline; filename="the-sheet.mp3"')


async def test_x_accel_redirect_hands_the_transfer_to_nginx(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path)
    await storage.write("big.mp4", DATA)
    plan = await delivery.plan_delivery(storage, "big.mp4", "talk.mp4", {}, x_accel_prefix="/_protected_media/")
    assert plan.status == 200 and plan.body is None
    assert plan.headers["x-accel-redirect"] == "/_protected_media/big.mp4"
    assert plan.headers["content-type"] == "video/mp4"


async def test_keys_cannot_leave_the_media_folder(app: Litestar, client: httpx.AsyncClient, tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path / "files")
    (tmp_path / "secret.txt").write_text("not for customers")
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "link.txt").symlink_to(tmp_path / "secret.txt")
    for key in ("../secret.txt", "..", "/etc/passwd", "a/b.txt", ".hidden", "link.txt", "x\x00.txt"):
        with pytest.raises(MediaNotFound):
            await storage.stat(key)
    # Through the route: an item whose key points outside the folder is simply not found.
    customer_id = await customer_logged_in(client)
    await factories.subscription(customer=customer_id, plan=await plan_with())
    row = await factories.content_item(
        slug="escape", kind="file", media_key="../secret_key", publish_state=ContentItem.PublishState.published
    )
    page = await client.get("/catalog/escape")
    assert (await client.get(media_url(page))).status_code == 404
    assert row.id


async def test_oversized_uploads_are_refused_with_the_limit_in_the_message(tmp_path: Path) -> None:
    storage = AdminMediaStorage(ContentItem.media_key, tmp_path, max_bytes=1024 * 1024)
    with pytest.raises(UploadTooLarge, match=r"talk\.mp4 is 3\.0 MB; uploads are limited to 1 MB"):
        await storage.store_file("talk.mp4", io.BytesIO(b"x" * (3 * 1024 * 1024)))
    small = await storage.store_file("talk.mp4", io.BytesIO(b"ok"))
    assert (tmp_path / small).read_bytes() == b"ok"


async def test_the_admin_upload_refuses_a_file_over_max_upload_mb(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    small_limit = create_app(replace(settings, content=replace(settings.content, max_upload_mb=1)))
    async with staff_session(small_limit, "content") as staff:
        files = {"file": ("talk.mp4", b"x" * (2 * 1024 * 1024), "video/mp4")}
        form = {"table_name": "content_item", "column_name": "media_key"}
        refused = await staff.post("/admin/api/media/", data=form, files=files)
        assert refused.status_code == 422
        assert "uploads are limited to 1 MB (MAX_UPLOAD_MB)" in refused.json()["detail"]
        accepted = await staff.post("/admin/api/media/", data=form, files={"file": ("talk.mp4", b"tiny", "video/mp4")})
        assert accepted.status_code == 200 and accepted.json()["file_key"].startswith("talk")


GET_HEADERS = ("content-length", "accept-ranges", "etag", "last-modified", "content-type", "content-disposition")


async def test_head_answers_with_the_get_s_headers_and_no_body(app: Litestar, client: httpx.AsyncClient) -> None:
    url, _, _ = await entitled_link(app, client, key="talk.mp3", type="audio/mpeg")
    got, probed = await client.get(url), await client.head(url)
    assert probed.status_code == 200 and probed.content == b""
    assert {h: probed.headers[h] for h in GET_HEADERS} == {h: got.headers[h] for h in GET_HEADERS}
    assert probed.headers["content-length"] == str(len(DATA))
    part = await client.head(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == b""
    assert part.headers["content-range"] == f"bytes 0-99/{len(DATA)}" and part.headers["content-length"] == "100"
    unchanged = await client.head(url, headers={"If-None-Match": got.headers["etag"]})
    assert unchanged.status_code == 304 and unchanged.content == b""
    unsatisfiable = await client.head(url, headers={"Range": "bytes=-0"})
    assert unsatisfiable.status_code == 416 and unsatisfiable.content == b""


async def test_head_makes_the_get_s_checks(app: Litestar, client: httpx.AsyncClient) -> None:
    url, customer_id, item_id = await entitled_link(app, client)
    expires = int(parse_qs(urlsplit(url).query)["e"][0])
    tampered = url.replace(f"c={customer_id}", f"c={customer_id + 1}")
    for refused in (tampered, f"/media/{item_id}", url.replace(f"/media/{item_id}", f"/media/{item_id + 1}")):
        answer = await client.head(refused)
        assert answer.status_code == 403 and answer.content == b"", refused
    with clock.frozen_at(datetime.fromtimestamp(expires, UTC)):
        assert (await client.head(url)).status_code == 403
    await Subscription.update({Subscription.status: Subscription.Status.paused}).where(
        Subscription.customer == customer_id
    )
    await runtime(app).entitlements.invalidate([customer_id])
    lapsed = await client.head(url)
    assert lapsed.status_code == 403 and lapsed.content == b"" and "etag" not in lapsed.headers
    await ContentItem.update({ContentItem.media_key: "gone.csv"}).where(ContentItem.id == item_id)
    await Subscription.update({Subscription.status: Subscription.Status.active}).where(
        Subscription.customer == customer_id
    )
    await runtime(app).entitlements.invalidate([customer_id])
    missing = await client.head(url)
    assert missing.status_code == 404 and missing.content == b""

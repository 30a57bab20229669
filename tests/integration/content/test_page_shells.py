"""Cached catalog pages are whole pages filled in per request: each visitor still gets their own CSRF token,
flash messages and signed link, and nothing of one visitor reaches another."""

from __future__ import annotations

import re

import httpx
from litestar import Litestar

from app import pages
from tests import factories
from tests.integration.content.helpers import customer_logged_in, media_item, plan_with
from tests.portal import submit

HX_TOKEN = re.compile(r'hx-headers=\'\{"x-csrftoken": "([^"]*)"\}\'')
LINK = re.compile(r'id="media-link" href="([^"]+)"')


def page_token(page: httpx.Response) -> str:
    match = HX_TOKEN.search(page.text)
    assert match, page.text
    return match.group(1)


async def test_each_visitor_gets_their_own_csrf_token_on_a_cached_page(
    client: httpx.AsyncClient, new_client: httpx.AsyncClient
) -> None:
    await factories.content_item(slug="shared", title="Shared page", publish_state="published")
    for path in ("/catalog", "/catalog/shared"):
        first = await client.get(path)  # builds the cached page
        again = await client.get(path)  # served from it
        other = await new_client.get(path)
        assert first.status_code == again.status_code == other.status_code == 200
        mine, theirs = client.cookies["recurra_csrf"], new_client.cookies["recurra_csrf"]
        assert mine != theirs
        assert page_token(first) == page_token(again) == mine
        assert page_token(other) == theirs
        assert "slot-" not in again.text and "slot-" not in other.text
        assert again.headers["content-type"] == "text/html; charset=utf-8"


async def test_a_flash_message_reaches_a_cached_page_once(client: httpx.AsyncClient) -> None:
    await customer_logged_in(client)
    await client.get("/catalog")  # the page is cached for this audience before the message exists
    opted = await submit(client, "/catalog", "/catalog/digest", {"enabled": "1"})
    assert opted.status_code == 303 and opted.headers["location"] == "/catalog"
    shown = await client.get("/catalog")
    assert "You&#39;ll get a weekly e-mail of new content." in shown.text
    assert 'class="flash flash-success"' in shown.text
    later = await client.get("/catalog")
    assert "weekly e-mail of new content" not in later.text


async def test_the_signed_link_is_each_customers_own_and_escaped(
    app: Litestar, client: httpx.AsyncClient, new_client: httpx.AsyncClient
) -> None:
    downloads = await factories.feature(key="downloads")
    plan = await plan_with(downloads.id)
    await media_item(app, b"a,b\n", "sheet.csv", "text/csv", (downloads.id,), slug="sheet", title="Sheet")
    links = []
    for http, email in ((client, "one@example.com"), (new_client, "two@example.com")):
        customer_id = await customer_logged_in(http, email=email)
        await factories.subscription(customer=customer_id, plan=plan)
        page = await http.get("/catalog/sheet")  # the second customer is served the page the first one cached
        match = LINK.search(page.text)
        assert match, page.text
        assert "&amp;e=" in match.group(1)  # escaped as the template escapes it
        links.append((customer_id, match.group(1).replace("&amp;", "&")))
    for (customer_id, link), http in zip(links, (client, new_client), strict=True):
        assert f"c={customer_id}&" in link
        assert (await http.get(link)).content == b"a,b\n"


def test_slots_cannot_be_guessed_from_a_page() -> None:
    # A title or body that quotes a marker literally would otherwise be filled with a visitor's token.
    assert pages.slot("csrf") == pages.CSRF_SLOT
    assert len(pages.CSRF_SLOT.split("-")[1]) == 16


async def test_a_slug_that_starts_like_a_non_portal_path_is_still_a_portal_page(client: httpx.AsyncClient) -> None:
    await factories.content_item(slug="api-basics", title="API basics", publish_state="published")
    await factories.content_item(slug="static-pages", title="Static pages", publish_state="published")
    for path in ("/catalog/api-basics", "/catalog/static-pages"):
        client.cookies.clear()
        page = await client.get(path)
        assert page.status_code == 200
        assert page_token(page) == client.cookies["recurra_csrf"] != "", path

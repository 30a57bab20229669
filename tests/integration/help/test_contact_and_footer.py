"""Every portal page's footer links to the help centre, the contact page and the support address (SUPPORT_EMAIL);
/contact is public and offers logged-in customers a support request."""

from __future__ import annotations

import httpx
from litestar import Litestar

from tests.integration.content.helpers import customer_logged_in


def footer(page: httpx.Response) -> str:
    return page.text.split('<footer class="site-footer')[1]


async def test_the_footer_links_to_help_and_contact_everywhere(app: Litestar, client: httpx.AsyncClient) -> None:
    address = app.state.settings.support.support_email
    for path in ("/", "/catalog", "/help", "/contact", "/login", "/no-such-page"):
        page = await client.get(path)
        assert page.status_code in (200, 404), path
        links = footer(page)
        assert 'href="/help"' in links and 'href="/contact"' in links, path
        assert f'href="mailto:{address}">{address}</a>' in links, path


async def test_the_contact_page(app: Litestar, client: httpx.AsyncClient) -> None:
    address = app.state.settings.support.support_email
    page = await client.get("/contact")
    assert page.status_code == 200
    assert f'id="support-email" href="mailto:{address}"' in page.text
    assert 'href="/help"' in page.text
    assert 'href="/login?next=/support/new"' in page.text and 'href="/support/new"' not in page.text
    await customer_logged_in(client)
    logged_in = await client.get("/contact")
    assert 'class="button" href="/support/new">New support request</a>' in logged_in.text

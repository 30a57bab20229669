"""A visitor finds an item by search, is told it is locked and on which plan, subscribes, and then reads it."""

from __future__ import annotations

import struct
import zlib

from playwright.async_api import Page, expect

from app.settings import SANDBOX_MOUNT_PATH
from tables.catalog import PlanFeature
from tables.content import ContentItem, ContentItemFeature
from tests import factories
from tests.portal import PASSWORD, link_in
from tests.servers import LiveServer
from tests.smtp import Mailbox

BODY = "Anchoring works because the first number a buyer sees sets the scale."


def png(width: int, height: int) -> bytes:
    """A valid PNG of ``width`` x ``height`` teal pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x11\x88\x88" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def test_find_it_see_it_locked_subscribe_and_read(server: LiveServer, page: Page, mailbox: Mailbox) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    library = await factories.feature(key="library", name="Full library")
    basic = await factories.plan(code="basic-monthly", name="Basic", amount_minor=900)
    await PlanFeature.insert(PlanFeature(plan=basic.id, feature=library.id))
    covers = server.log_path.parent / "media" / "covers"  # the live server's MEDIA_DIR/covers
    covers.mkdir(parents=True, exist_ok=True)
    (covers / "anchors-5e1f.png").write_bytes(png(32, 18))
    for slug, title, cover in (("pricing-psychology", "The psychology of pricing pages", "anchors-5e1f.png"),
                               ("churn", "A churn playbook", "")):  # fmt: skip
        row = await factories.content_item(
            slug=slug, title=title, summary="Why three plans beat two.", body=f"# {title}\n\n{BODY}\n",
            publish_state=ContentItem.PublishState.published, cover_image=cover,
        )  # fmt: skip
        await ContentItemFeature.insert(ContentItemFeature(item=row.id, feature=library.id))

    await page.goto(server.url + "/register")
    await page.get_by_label("Your name").fill("Grace Hopper")
    await page.get_by_label("E-mail").fill("grace@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Country").select_option("US")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator(".flash-success")).to_contain_text("We sent a confirmation link")
    [mail] = await mailbox.wait_for("verify_email")
    await page.goto(server.url + link_in(mail, "/verify-email"))  # paying needs a confirmed address

    await page.goto(server.url + "/catalog")
    await expect(page.locator(".catalog-card")).to_have_count(2)
    await page.get_by_label("Search").fill("psychology")
    await expect(page.locator(".catalog-card")).to_have_count(1)  # htmx swapped the results in
    card = page.locator(".catalog-card")
    await expect(card).to_contain_text("Locked")
    cover = card.locator("img.catalog-cover")  # shown to everyone, locked or not
    await expect(cover).to_have_count(1)
    assert await cover.evaluate("img => img.decode().then(() => img.naturalWidth)") == 32
    await expect(card.locator(".locked-note")).to_contain_text("Available on plan Basic")
    await card.get_by_role("link", name="The psychology of pricing pages").click()

    await expect(page.locator("#locked")).to_contain_text("This item is locked")
    assert await page.locator("img.item-cover").evaluate("img => img.decode().then(() => img.naturalHeight)") == 18
    await expect(page.locator("#locked")).to_contain_text("available on plan Basic")
    await expect(page.get_by_role("link", name="Get Basic")).to_have_attribute("href", "/subscribe/basic-monthly")
    await expect(page.locator(".prose")).to_have_count(0)

    await page.get_by_role("link", name="Get Basic").click()
    await page.get_by_role("button", name="Pay $9.00 with PayPal").click()
    await page.get_by_label("Email").fill("grace.buyer@example.com")
    await page.get_by_role("button", name="Approve and pay").click()
    await page.wait_for_url("**/account/subscriptions")
    await expect(page.locator(".subscription .status")).to_have_text("active")

    await page.goto(server.url + "/catalog/pricing-psychology")
    await expect(page.locator(".prose")).to_contain_text(BODY)
    await expect(page.locator("#locked")).to_have_count(0)
    await page.screenshot(path=str(server.log_path.parent / "content-unlocked.png"), full_page=True)
    # Our pages run under the strict CSP without a violation (the sandbox's own PayPal page is not ours).
    assert not [e for e in errors if "Content Security Policy" in e and SANDBOX_MOUNT_PATH not in e], errors

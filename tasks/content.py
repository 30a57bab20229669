"""Content jobs: scheduled items and help articles publish themselves; opted-in customers get a weekly digest of
new content."""

from __future__ import annotations

from app import clock
from app.content import service
from app.content.runtime import ContentRuntime
from app.jobs import JobContext
from app.mail_templates import render_mail
from app.support.help import service as help_service


async def publish_scheduled(ctx: JobContext) -> int:
    """Cron tick: publish the catalog items and help articles that are due, then retire the cached pages (the
    catalog's, the help centre's) that could show them."""
    runtime: ContentRuntime = ctx["content"]
    items = await service.publish_due()
    if items:
        await runtime.catalog.bump()
    articles = await help_service.publish_due()
    if articles:
        await runtime.help.bump()
    return len(items) + len(articles)


async def send_content_digests(ctx: JobContext) -> int:
    """Cron tick: queue one digest e-mail per opted-in customer due one (a week since the last) with news."""
    at = clock.now()
    base_url = ctx["settings"].base_url
    week = at.strftime("%G-W%V")
    queued = 0
    for digest in await service.due_digests(at):
        if digest.news:
            mail = render_mail(
                "content_digest", digest.email, "New in the library this week",
                name=digest.name, news=digest.news, base_url=base_url,
            )  # fmt: skip
            await ctx["queue"].enqueue("send_email", mail.to_job(), job_id=f"digest:{digest.customer_id}:{week}")
            queued += 1
        await service.mark_digest_sent(digest.customer_id, at)
    return queued

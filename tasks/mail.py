from __future__ import annotations

import logging
from typing import Any

from arq import Retry

from app.jobs import JobContext
from app.mail import OutgoingMail, build_message

log = logging.getLogger("recurra.tasks.mail")
MAIL_RETRY_DELAYS_S = (10, 60, 300, 900)


async def send_email(ctx: JobContext, mail: dict[str, Any]) -> None:
    """Send one e-mail; a transport failure is logged and retried with growing delays."""
    outgoing = OutgoingMail.from_job(mail)
    message = build_message(outgoing, ctx["settings"].mail.from_address)
    try:
        await ctx["mailer"].send(message)
    except (OSError, TimeoutError) as exc:
        job_try: int = ctx.get("job_try", 1)
        if job_try > len(MAIL_RETRY_DELAYS_S):
            log.error("giving up on mail %r to %s: %s", outgoing.subject, outgoing.to, exc)
            raise
        log.warning("mail %r to %s failed (%s); retrying", outgoing.subject, outgoing.to, exc)
        raise Retry(defer=MAIL_RETRY_DELAYS_S[job_try - 1]) from exc
    log.info("mail %r sent to %s", outgoing.subject, outgoing.to, extra={"tag": outgoing.tag})

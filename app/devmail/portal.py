from __future__ import annotations

from email.utils import parseaddr

from litestar import Controller, MediaType, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template

from app.devmail import service
from app.support.email_in import deliver
from app.web import AnyRequest, Form, see_other

OUTCOMES = {
    "threaded": "Your reply was added to request #{}.",
    "opened": "Your mail opened request #{}.",
    "follow_up": "The request was closed, so your mail opened the follow-up request #{}.",
    "duplicate": "That mail had arrived already.",
    "dropped": "The desk dropped it as automatic mail.",
    "rejected": "The desk refused it: {}",
    "deferred": "The desk asked to try later: {}",
}

# The HTML part is shown in a sandboxed frame of /dev/mail: no scripts, no same-origin access.
FRAMED_MAIL_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


class DevMailPortal(Controller):
    path = "/dev/mail"
    include_in_schema = False

    @get("/", name="devmail:list")
    async def inbox(self, state: State) -> Template:
        return Template("devmail/list.html", context={"messages": service.list_mail(state.settings.mail.outbox_dir)})

    @get("/{name:str}", name="devmail:show")
    async def show(self, state: State, name: FromPath[str]) -> Template:
        message = service.get_mail(state.settings.mail.outbox_dir, name)
        return Template("devmail/show.html", context={"message": message})

    @post("/{name:str}/reply", name="devmail:reply")
    async def reply(self, request: AnyRequest, state: State, name: FromPath[str], data: Form) -> Redirect:
        """Answer a mail as its recipient would from their mail client: the reply goes to the support desk's
        e-mail in, exactly as one received by its SMTP listener."""
        message = service.get_mail(state.settings.mail.outbox_dir, name)
        body = data.get("body", "").strip()
        if not body:
            flash(request, "Write a reply first.", category="error")
            return see_other(f"/dev/mail/{name}")
        reply = service.reply_as_recipient(message, body)
        received = await deliver(
            state.support, bytes(reply), mail_from=parseaddr(message.to)[1], rcpt_tos=[parseaddr(message.answer_to)[1]]
        )
        said = OUTCOMES[received.outcome].format(received.ticket_id if received.ticket_id else received.detail)
        flash(request, said, category="error" if received.outcome in ("rejected", "deferred") else "success")
        return see_other(f"/dev/mail/{name}")

    @get("/{name:str}/html", name="devmail:html", media_type=MediaType.HTML)
    async def html(self, state: State, name: FromPath[str]) -> Response[str]:
        message = service.get_mail(state.settings.mail.outbox_dir, name)
        return Response(
            message.html or "",
            headers={"Content-Security-Policy": FRAMED_MAIL_CSP, "X-Frame-Options": "SAMEORIGIN"},
        )

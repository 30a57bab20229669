from __future__ import annotations

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Template

from app.devmail import service

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

    @get("/{name:str}/html", name="devmail:html", media_type=MediaType.HTML)
    async def html(self, state: State, name: FromPath[str]) -> Response[str]:
        message = service.get_mail(state.settings.mail.outbox_dir, name)
        return Response(
            message.html or "",
            headers={"Content-Security-Policy": FRAMED_MAIL_CSP, "X-Frame-Options": "SAMEORIGIN"},
        )

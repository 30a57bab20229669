"""Reading received mail: what the person wrote, their files, and whether a machine sent it."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from app.support.inbound import read_mail
from tests.support import PNG, customer_mail

OWN = {"support@example.com", "no-reply@example.com"}


def read(message: EmailMessage, mail_from: str | None = "ada@example.com") -> object:
    return read_mail(bytes(message), mail_from=mail_from, rcpt_tos=["support@example.com"], own_addresses=OWN)


@pytest.mark.parametrize(
    ("headers", "mail_from", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "ada@example.com", "Auto-Submitted: auto-replied"),
        ({"Auto-Submitted": "no"}, "ada@example.com", ""),
        ({"Precedence": "junk"}, "ada@example.com", "Precedence: junk"),
        ({"Precedence": "list"}, "ada@example.com", "Precedence: list"),
        ({"X-Autorespond": "1"}, "ada@example.com", "X-Autorespond"),
        ({}, "", "empty return path (a bounce)"),
        ({}, "<>", "empty return path (a bounce)"),
        ({}, "ada@example.com", ""),
    ],
)
def test_automatic_mail_is_recognised(headers: dict[str, str], mail_from: str, reason: str) -> None:
    mail = read_mail(bytes(customer_mail("ada@example.com", "support@example.com", "Hi", "Hello", headers=headers)),
                     mail_from=mail_from, rcpt_tos=[], own_addresses=OWN)  # fmt: skip
    assert mail.automatic == reason


def test_delivery_reports_and_system_senders_are_automatic() -> None:
    report = EmailMessage()
    report["From"] = "ada@example.com"
    report.set_content("Delivery failed")
    report.make_mixed()
    report.replace_header("Content-Type", "multipart/report; report-type=delivery-status")
    assert read_mail(bytes(report), mail_from=None, rcpt_tos=[], own_addresses=OWN).automatic == "a delivery report"
    daemon = customer_mail("MAILER-DAEMON@mx.example.net", "support@example.com", "Undelivered", "Sorry")
    assert read_mail(bytes(daemon), mail_from=None, rcpt_tos=[], own_addresses=OWN).automatic.startswith("from ")
    ours = customer_mail("Recurra <no-reply@example.com>", "support@example.com", "Receipt", "Thanks")
    assert read_mail(bytes(ours), mail_from=None, rcpt_tos=[], own_addresses=OWN).automatic == "from the desk itself"


def test_an_html_only_mail_is_read_as_text_without_its_quoted_blockquote() -> None:
    message = EmailMessage()
    message["From"] = "Ada <ADA@example.com>"
    message["Subject"] = "  Re:   Video    stops "
    message.set_content(
        "<html><head><style>p{}</style></head><body><p>It works &amp; thanks!</p>"
        "<div class='gmail_quote'><p>On Mon, 1 Dec 2026, Support wrote:</p>"
        "<blockquote><p>Try again</p></blockquote></div><script>x()</script></body></html>",
        subtype="html",
    )
    mail = read_mail(bytes(message), mail_from="ada@example.com", rcpt_tos=[], own_addresses=OWN)
    assert (mail.sender, mail.sender_name, mail.subject, mail.text) == (
        "ada@example.com", "Ada", "Re: Video stops", "It works & thanks!",
    )  # fmt: skip


def test_files_are_the_attachments_not_the_body() -> None:
    threading = {"In-Reply-To": "<b@x>", "References": "<a@x> <b@x>", "Cc": "me@example.org"}
    message = customer_mail("ada@example.com", "support+t1-x@example.com", "Shot", "See attached",
                            files=[("screen.png", "image/png", PNG)], headers=threading)  # fmt: skip
    mail = read_mail(bytes(message), mail_from="ada@example.com", rcpt_tos=["support+t1-x@example.com"],
                     own_addresses=OWN)  # fmt: skip
    assert mail.text == "See attached"
    assert [(u.filename, u.data) for u in mail.uploads] == [("screen.png", PNG)]
    assert mail.thread_ids == ["<b@x>", "<a@x>"]
    assert "me@example.org" in mail.recipients and "support+t1-x@example.com" in mail.recipients

"""A customer asks for help with a screenshot, staff answer, the answer arrives by e-mail, the customer answers
that e-mail (real SMTP to `python -m app inbound-mail`), sees it in the thread and says it is solved."""

from __future__ import annotations

from playwright.async_api import Page, expect

from app import clock
from app.accounts.passwords import hash_password
from app.accounts.staff import create_staff
from app.support import service
from tables.support import KnowledgeBaseArticle, Ticket
from tests import factories
from tests.portal import PASSWORD
from tests.servers import LiveServer
from tests.smtp import Mailbox
from tests.support import PNG, customer_mail, inbound_mail_process, send


async def test_ask_get_an_answer_by_mail_reply_by_mail_and_solve(
    server: LiveServer, page: Page, mailbox: Mailbox
) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await factories.customer(email="ada@example.com", name="Ada", password_hash=hash_password(PASSWORD),
                             email_verified_at=clock.now())  # fmt: skip
    agent = await create_staff("sam", "sam@example.com", PASSWORD, "support")
    await KnowledgeBaseArticle(title="When the player stops", slug="player-stops", body="Reload the page.",
                               publish_state=KnowledgeBaseArticle.PublishState.published).save()  # fmt: skip
    await page.goto(server.url + "/login?next=/support/new")
    await page.get_by_label("E-mail").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()

    await page.get_by_label("Subject").press_sequentially("The player stops")  # keys: htmx suggests articles
    await expect(page.locator(".suggested").get_by_role("link", name="When the player stops")).to_be_visible()
    await page.get_by_label("What is it about?").select_option("technical")
    await page.get_by_label("Message").fill("Every video stops after one minute.")
    await page.get_by_label("Files (optional)").set_input_files(
        [{"name": "screen.png", "mimeType": "image/png", "buffer": PNG}]
    )
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator(".flash-success")).to_contain_text("we have your request")
    await expect(page.get_by_role("link", name="screen.png")).to_be_visible()

    ticket = await Ticket.objects().first()
    assert ticket is not None
    await service.staff_reply(ticket.id, agent.id, "Which browser do you use?")  # as the console will
    [mail] = await mailbox.wait_for("support_reply", timeout=30)  # the server's outbox dispatcher sends it
    assert "Which browser do you use?" in Mailbox.text(mail)
    assert f"{server.url}/support/{ticket.id}" in Mailbox.text(mail)

    var = server.log_path.parent
    with inbound_mail_process(var, var / "inbound-mail.log") as port:
        answer = customer_mail(
            "ada@example.com", mail["Reply-To"], f"Re: {mail['Subject']}",
            f"Firefox 133.\n\nOn {mail['Date']}, Recurra Support wrote:\n> Which browser do you use?\n",
            headers={"In-Reply-To": mail["Message-ID"], "References": mail["References"]},
        )  # fmt: skip
        await send(port, answer)

    await page.goto(f"{server.url}/support/{ticket.id}")
    thread = page.locator(".thread .message-body")
    await expect(thread).to_have_text(["Every video stops after one minute.", "Which browser do you use?",
                                       "Firefox 133."])  # fmt: skip
    await expect(page.locator(".ticket-status")).to_have_text("Waiting for us")
    await page.get_by_role("button", name="This is solved").click()
    await expect(page.locator(".flash-success")).to_contain_text("Glad it is sorted")
    await expect(page.locator(".ticket-status")).to_have_text("Solved")
    assert not [e for e in errors if "Content Security Policy" in e], errors

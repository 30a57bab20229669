"""Live chat across two web processes sharing Redis and the database: the customer's browser talks to one, the
agent's to the other, so every line and typing notice crosses processes through Redis."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from piccolo_api.session_auth.tables import SessionsBase
from playwright.async_api import Browser, BrowserContext, Page, expect

from app import clock
from app.accounts.passwords import hash_password
from app.accounts.staff import create_staff
from tables.support import Ticket, TicketMessage
from tests import factories
from tests.portal import PASSWORD
from tests.servers import LiveServer, live_server, server_env
from tests.smtp import Mailbox

SERVE = [sys.executable, "-m", "app", "serve"]


def replica_env(var: Path, mailbox: Mailbox, **more: str) -> dict[str, str]:
    """A single-process server on its own port, on the test database and the test Redis (REDIS_URL and
    REDIS_PREFIX come from the test environment), as a replica behind a load balancer would run."""
    return server_env(VAR_DIR=str(var), SMTP_URL=mailbox.url, BILLING_CRON="off", WEB_CONCURRENCY="1", **more)


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chat-var")


@pytest.fixture(scope="module")
def two_servers(var: Path, mailbox: Mailbox) -> Iterator[tuple[LiveServer, LiveServer]]:
    with ExitStack() as stack:
        servers = [stack.enter_context(live_server(SERVE, replica_env(var, mailbox), var / f"server-{n}.log"))
                   for n in (1, 2)]  # fmt: skip
        yield servers[0], servers[1]


async def agent_desk(browser: Browser, server: LiveServer, errors: list[str]) -> tuple[BrowserContext, Page]:
    """Sam's chats page on ``server``, signed in as signing in at /admin/ would."""
    sam = await create_staff("sam", "sam@example.com", PASSWORD, "support")
    staff_session = await SessionsBase.create_session(sam.id)
    context = await browser.new_context()
    await context.add_cookies([{"name": "id", "value": staff_session.token, "url": server.url}])
    desk = await context.new_page()
    watch(desk, errors)
    await desk.goto(server.url + "/staff/support/chats")
    await expect(desk.locator(".agent-status")).to_contain_text("You are online for chat")
    return context, desk


async def customer_panel(browser: Browser, server: LiveServer, errors: list[str]) -> tuple[BrowserContext, Page]:
    """Ada, logged in on ``server``, with the chat panel open."""
    await factories.customer(email="ada@example.com", name="Ada", password_hash=hash_password(PASSWORD),
                             email_verified_at=clock.now())  # fmt: skip
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    panel = await context.new_page()
    watch(panel, errors)
    await panel.goto(server.url + "/login?next=/account")
    await panel.get_by_label("E-mail").fill("ada@example.com")
    await panel.get_by_label("Password").fill(PASSWORD)
    await panel.get_by_role("button", name="Log in").click()
    await panel.get_by_role("button", name="Chat with us").click()
    return context, panel


def watch(page: Page, errors: list[str]) -> None:
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))


async def say(panel: Page, text: str) -> None:
    await panel.get_by_label("Your message").fill(text)
    await panel.get_by_label("Your message").press("Enter")


async def test_a_customer_and_an_agent_chat_through_two_web_processes(
    two_servers: tuple[LiveServer, LiveServer], browser: Browser
) -> None:
    customer_server, agent_server = two_servers
    errors: list[str] = []
    customer_context, panel = await customer_panel(browser, customer_server, errors)
    await expect(panel.locator(".chat-offline")).to_contain_text("No one is online to chat right now.")
    await expect(panel.get_by_role("link", name="Write to us")).to_have_attribute("href", "/support/new")
    agent_context, desk = await agent_desk(browser, agent_server, errors)  # the agent comes online elsewhere
    await expect(panel.locator(".chat-status")).to_have_text("We are online. Ask us anything.")
    await say(panel, "My invoice <b>is</b> wrong")
    customer_lines = panel.locator(".chat-thread .chat-body")
    await expect(customer_lines).to_have_text(["My invoice <b>is</b> wrong"])

    await desk.locator(".agent-waiting li", has_text="Ada").get_by_role("button", name="Take").click()
    conversation = desk.locator(".agent-chat")
    agent_lines = conversation.locator(".chat-body")
    await expect(agent_lines).to_have_text(["My invoice <b>is</b> wrong", "sam joined the chat."])
    await expect(panel.locator(".chat-status")).to_have_text("You are chatting with sam.")

    await conversation.get_by_label("Your answer").press_sequentially("Let me check")
    await expect(panel.locator(".chat-typing")).to_be_visible()
    await conversation.get_by_label("Your answer").press("Enter")
    await expect(customer_lines).to_have_text(["My invoice <b>is</b> wrong", "sam joined the chat.", "Let me check"])
    await panel.get_by_label("Your message").fill("Thanks!")
    await panel.get_by_role("button", name="Send").click()  # the button as well as Enter
    await expect(agent_lines.last).to_have_text("Thanks!")
    await panel.goto(customer_server.url + "/support")  # the open panel follows the customer to the next page
    await expect(customer_lines).to_have_text(["My invoice <b>is</b> wrong", "sam joined the chat.", "Let me check",
                                               "Thanks!"])  # fmt: skip

    ticket = await Ticket.objects().get(Ticket.channel == "chat")
    thread = await TicketMessage.select(TicketMessage.body).where(TicketMessage.ticket == ticket.id)
    assert [m["body"] for m in thread] == ["My invoice <b>is</b> wrong", "sam joined the chat.", "Let me check",
                                           "Thanks!"]  # fmt: skip
    assert ticket.status == "open" and ticket.assignee is not None
    assert not errors, errors
    await agent_context.close()
    await customer_context.close()


async def test_a_dropped_connection_resumes_without_losing_or_repeating_a_line(
    two_servers: tuple[LiveServer, LiveServer], var: Path, mailbox: Mailbox, browser: Browser
) -> None:
    _, agent_server = two_servers
    errors: list[str] = []
    env = replica_env(var, mailbox)
    agent_context, desk = await agent_desk(browser, agent_server, errors)
    with live_server(SERVE, env, var / "restarted-1.log") as customer_server:
        customer_context, panel = await customer_panel(browser, customer_server, errors)
        await expect(panel.locator(".chat-status")).to_have_text("We are online. Ask us anything.")
        await say(panel, "Hello")
        await desk.locator(".agent-waiting li", has_text="Ada").get_by_role("button", name="Take").click()
        customer_lines = panel.locator(".chat-thread .chat-body")
        await expect(customer_lines).to_have_text(["Hello", "sam joined the chat."])
    # The customer's web process restarts (a deploy); meanwhile the agent answers through the other one.
    await expect(panel.locator(".chat-status")).to_have_text("Connecting…")
    answer = desk.locator(".agent-chat").get_by_label("Your answer")
    await answer.fill("Are you still there?")
    await answer.press("Enter")
    await expect(desk.locator(".agent-chat .chat-body").last).to_have_text("Are you still there?")
    with live_server(SERVE, env, var / "restarted-2.log"):  # the same port again
        await expect(customer_lines).to_have_text(["Hello", "sam joined the chat.", "Are you still there?"],
                                                  timeout=30_000)  # fmt: skip
        await say(panel, "Yes, back")
        await expect(desk.locator(".agent-chat .chat-body").last).to_have_text("Yes, back")
        await expect(customer_lines).to_have_text(["Hello", "sam joined the chat.", "Are you still there?",
                                                   "Yes, back"])  # fmt: skip
    assert not errors, errors
    await agent_context.close()
    await customer_context.close()

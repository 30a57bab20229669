"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright against a live Recurra server."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.servers import LiveServer, live_server, server_env
from tests.smtp import Mailbox

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} missing: apt-get install chromium"))


@pytest.fixture(autouse=True)
def _isolated(clean_db: None) -> None:
    """Browser tests start from clean tables too."""


@pytest.fixture(autouse=True)
def _empty_mailbox(mailbox: Mailbox) -> None:
    mailbox.messages.clear()


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Iterator[LiveServer]:
    """The app in its own process on the test database; jobs in process (no REDIS_URL); mail over SMTP to
    the test's mailbox. Stopped after the browser tests: its in-process outbox dispatcher would otherwise send
    later tests' mail (with its own address in the links) before they dispatch it themselves."""
    var = tmp_path_factory.mktemp("browser-var")
    # BILLING_CRON=off: its in-process cron must not renew or charge other tests' subscriptions on the shared
    # test database (against its own embedded sandbox, which knows none of their saved methods).
    env = server_env(VAR_DIR=str(var), REDIS_URL="", SMTP_URL=mailbox.url, BILLING_CRON="off")
    command = [sys.executable, "-m", "app", "serve"]  # one process: no Redis
    with live_server(command, env, var / "server.log") as running:
        yield running


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = await context.new_page()
    yield page
    await context.close()

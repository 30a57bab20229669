"""The support queue: filters (status, priority, assignee, unassigned, waiting on us, SLA breached), its order,
pages, and each ticket's service level as of a fixed moment (Wednesday noon; business hours Mon-Fri 09-17 UTC;
first response urgent 1 h, high 4 h, normal 8 h, low 24 h; resolution urgent 8 h, high 24 h, normal 40 h)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
from piccolo.apps.user.tables import BaseUser

from app import clock
from app.accounts.staff import create_staff
from tests import factories
from tests.integration.console.conftest import ConsoleSession
from tests.portal import PASSWORD

NOW = datetime(2026, 3, 11, 12, tzinfo=UTC)  # a Wednesday


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def ids(html: str) -> list[str]:
    return re.findall(r'<tr data-ticket="(\d+)"', html)


async def desk_of_tickets(sam: BaseUser, kim: BaseUser) -> dict[str, str]:
    """Eight tickets, named by letter; returns letter -> id."""
    specs: dict[str, dict[str, Any]] = {
        # urgent, unanswered since 10:00: its 1 h first response broke at 11:00
        "A": {"priority": "urgent", "status": "new", "created_at": at(11, 10), "assignee": sam.id},
        # normal, unanswered since 09:00: due at 17:00
        "B": {"priority": "normal", "status": "open", "created_at": at(11, 9), "assignee": kim.id},
        # low, answered, waiting on the customer
        "C": {"priority": "low", "status": "pending", "created_at": at(9, 9), "first_response_at": at(9, 10)},
        # high, answered Friday; 24 business hours to resolve run to Wednesday 16:00
        "D": {"priority": "high", "status": "open", "created_at": at(6, 16), "first_response_at": at(6, 16, 30)},
        # urgent, answered at once; its 8 h resolution broke Tuesday 17:00
        "E": {"priority": "urgent", "status": "open", "created_at": at(10, 9), "first_response_at": at(10, 9, 30)},
        # solved: off the unsolved queue
        "F": {"priority": "normal", "status": "solved", "created_at": at(9, 9), "first_response_at": at(9, 9, 5),
              "solved_at": at(9, 11)},
        "G": {"priority": "normal", "status": "new", "created_at": at(11, 11, 59, 59)},
        # normal, waiting on the customer since last week: 40 business hours to resolve ran out Friday 17:00
        "H": {"priority": "normal", "status": "pending", "created_at": at(2, 9), "first_response_at": at(2, 9, 10)},
    }  # fmt: skip
    return {name: str((await factories.ticket(subject=f"Ticket {name}", **spec)).id) for name, spec in specs.items()}


async def test_filters_order_and_service_levels(client: httpx.AsyncClient, console: ConsoleSession) -> None:
    sam = await create_staff("sam", "sam@example.com", PASSWORD, "support")
    kim = await create_staff("kim", "kim@example.com", PASSWORD, "support")
    t = await desk_of_tickets(sam, kim)

    def named(*letters: str) -> list[str]:
        return [t[letter] for letter in letters]

    async with console("support", "sam") as http:
        with clock.frozen_at(NOW):

            async def shown(query: str = "") -> list[str]:
                response = await http.get(f"/staff/support{query}")
                assert response.status_code == 200, response.text
                return ids(response.text)

            # Most urgent first, the oldest first within a priority.
            assert await shown() == named("E", "A", "D", "H", "B", "G", "C")
            assert await shown("?sort=oldest") == named("H", "D", "C", "E", "B", "A", "G")
            assert await shown("?status=solved") == named("F")
            assert sorted(await shown("?status=all"), key=int) == sorted(t.values(), key=int)
            assert await shown("?status=pending") == named("H", "C")
            assert await shown("?priority=urgent") == named("E", "A")
            assert await shown("?assignee=me") == named("A")
            assert await shown(f"?assignee={kim.id}") == named("B")
            assert await shown("?assignee=none") == named("E", "D", "H", "G", "C")
            assert await shown("?waiting=1") == named("E", "A", "D", "B", "G")
            assert await shown("?breached=1") == named("E", "A", "H")
            assert await shown("?breached=1&waiting=1&assignee=none") == named("E")
            assert await shown("?status=solved&breached=1") == []  # breaches are listed among unsolved tickets
            assert await shown("?status=nonsense&priority=soon&assignee=x") == await shown()  # defaults

            page = (await http.get("/staff/support")).text
            row = {letter: page[page.index(f'data-ticket="{t[letter]}"') :].split("</tr>")[0] for letter in t if
                   letter != "F"}  # fmt: skip
            assert "First response: breached 1 h ago" in row["A"] and "sla-breached" in row["A"]
            assert "First response: due in 5 h" in row["B"] and "sla-running" in row["B"]
            assert "Resolution: due in 4 h" in row["D"]
            assert "Resolution: breached 3 h ago" in row["E"]  # due Tue 17:00; Wed 09:00-12:00 are the hours since
            assert "First response: due in 7 h 59 min" in row["G"]  # a second gone: whole minutes left are shown
            assert "Ada" not in page and "unverified" not in page

            partial = await http.get("/staff/support?breached=1", headers={"HX-Request": "true"})
            assert partial.text.lstrip().startswith('<div id="queue">')  # only the list, for htmx to swap
            assert partial.text.count("sla-breached") == 3
            assert partial.headers["vary"] == "HX-Request"
            history = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
            restored = await http.get("/staff/support?breached=1", headers=history)
            assert "<html" in restored.text  # the back button after a filter: the whole page


async def test_pages_of_twenty_five(client: httpx.AsyncClient, console: ConsoleSession) -> None:
    for n in range(30):
        await factories.ticket(subject=f"Question {n}", created_at=at(11, 9, n))
    async with console("support", "sam") as http:
        with clock.frozen_at(NOW):
            first = (await http.get("/staff/support?sort=oldest")).text
            second = (await http.get("/staff/support?sort=oldest&page=2")).text
            beyond = (await http.get("/staff/support?sort=oldest&page=99")).text
    assert len(ids(first)) == 25 and len(ids(second)) == 5
    assert not set(ids(first)) & set(ids(second))
    assert "30 tickets · page 1 of 2" in first
    assert 'href="/staff/support?sort=oldest&amp;page=2"' in first
    assert 'href="/staff/support?sort=oldest"' in second  # back to page 1: the default page is left out
    assert ids(beyond) == ids(second)

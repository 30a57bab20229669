"""Customer satisfaction (CSAT): each solve of a ticket asks the customer for a rating, 1 to 5 with an optional
comment, by e-mail and on the ticket page; the console reads the figures per agent and overall.

- **One rating per solve**: a ``TicketRating`` row per (ticket, solved_at), made when the mail is written or the
  customer first rates on the page, whichever comes first (insert-or-nothing on its unique key). Rating again
  changes it (the latest score and comment count); a ticket solved again after a reopening asks again.
- **Signed links**: the mail links to ``/support/rate/<id>-<signature>?score=N`` (HMAC-SHA256 of the rating id
  under a key derived from SECRET_KEY), a page that works without logging in. Opening the link shows the score
  chosen and records nothing: mail scanners open every link of a message, so the rating is stored when the
  customer presses "Send" (one press; the comment is optional).
- **Who is rated**: the ticket's assignee when it was solved, else the last staff member who replied publicly.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from piccolo.custom_types import Combinable
from piccolo.query.functions.aggregate import Count, Sum

from app import clock
from app.audit.service import actor_for_customer
from app.errors import NotFound
from app.support.errors import TicketFormError
from tables.support import Ticket, TicketEvent, TicketMessage, TicketRating

SCORES = {1: "Very unhappy", 2: "Unhappy", 3: "Neutral", 4: "Happy", 5: "Very happy"}
SATISFIED = 4  # CSAT counts the share of 4s and 5s
MAX_COMMENT = 2000
SIGNATURE_HEX = 24
_TOKEN = re.compile(rf"^(\d{{1,12}})-([0-9a-f]{{{SIGNATURE_HEX}}})$")
RATEABLE = (Ticket.Status.solved, Ticket.Status.closed)


class RatingNotFound(NotFound):
    code = "rating_not_found"


@dataclass(frozen=True, slots=True)
class RatingView:
    id: int
    ticket_id: int
    subject: str
    solved_at: datetime
    score: int | None
    comment: str
    rated_at: datetime | None
    ticket_status: str
    current: bool  # the ticket's latest solve, and the ticket is still solved or closed


# --- signed links -----------------------------------------------------------------------------------------


def _signature(secret_key: str, rating_id: int) -> str:
    key = hmac.new(secret_key.encode(), b"recurra:support-csat-link", hashlib.sha256).digest()
    return hmac.new(key, f"rating:{rating_id}".encode(), hashlib.sha256).hexdigest()[:SIGNATURE_HEX]


def link_token(secret_key: str, rating_id: int) -> str:
    return f"{rating_id}-{_signature(secret_key, rating_id)}"


def rating_of_token(secret_key: str, token: str) -> int | None:
    """The rating a link was signed for; None when it is malformed or forged."""
    match = _TOKEN.match(token.strip().lower())
    if match is None:
        return None
    rating_id = int(match.group(1))
    return rating_id if hmac.compare_digest(match.group(2), _signature(secret_key, rating_id)) else None


# --- the rating of a solve --------------------------------------------------------------------------------


async def _agent_of(ticket_id: int, assignee: int | None) -> int | None:
    if assignee is not None:
        return assignee
    last = await (
        TicketMessage.select(TicketMessage.staff_author)
        .where(TicketMessage.ticket == ticket_id, TicketMessage.internal.eq(False),
               TicketMessage.author_kind == TicketMessage.Author.staff, TicketMessage.staff_author.is_not_null())
        .order_by(TicketMessage.id, ascending=False)
        .first()
    )  # fmt: skip
    return int(last["staff_author"]) if last else None


async def rating_for_solve(ticket_id: int, solved_at: datetime | None = None) -> int | None:
    """The rating row of the ticket's solve at ``solved_at`` (default: its latest solve), made on first use;
    None when the ticket is not solved or closed now, or was solved again since ``solved_at``."""
    ticket = await Ticket.select(Ticket.status, Ticket.solved_at, Ticket.assignee).where(Ticket.id == ticket_id).first()
    if ticket is None or ticket["status"] not in RATEABLE or ticket["solved_at"] is None:
        return None
    latest = clock.as_utc(ticket["solved_at"])
    if solved_at is not None and clock.as_utc(solved_at) != latest:
        return None
    key = f"{ticket_id}:{latest.isoformat()}"
    await TicketRating.insert(
        TicketRating(ticket=ticket_id, key=key, solved_at=latest, agent=await _agent_of(ticket_id, ticket["assignee"]),
                     created_at=clock.now())
    ).on_conflict(action="DO NOTHING")  # fmt: skip
    row = await TicketRating.select(TicketRating.id).where(TicketRating.key == key).first()
    return int(row["id"]) if row else None


async def _view(where: Combinable) -> RatingView | None:
    row = await (
        TicketRating.select(
            TicketRating.id, TicketRating.ticket, TicketRating.ticket.subject.as_alias("subject"),
            TicketRating.ticket.status.as_alias("status"), TicketRating.ticket.solved_at.as_alias("ticket_solved_at"),
            TicketRating.solved_at, TicketRating.score, TicketRating.comment, TicketRating.rated_at,
        )
        .where(where)
        .order_by(TicketRating.id, ascending=False)
        .first()
    )  # fmt: skip
    if row is None:
        return None
    solved_at = clock.as_utc(row["solved_at"])
    current = row["status"] in RATEABLE and row["ticket_solved_at"] is not None and (
        clock.as_utc(row["ticket_solved_at"]) == solved_at
    )  # fmt: skip
    return RatingView(
        id=row["id"], ticket_id=row["ticket"], subject=row["subject"], solved_at=solved_at, score=row["score"],
        comment=row["comment"], rated_at=clock.as_utc(row["rated_at"]) if row["rated_at"] else None,
        ticket_status=row["status"], current=current,
    )  # fmt: skip


async def rating(rating_id: int) -> RatingView:
    found = await _view(TicketRating.id == rating_id)
    if found is None:
        raise RatingNotFound("There is no such rating.")
    return found


async def latest_rating(ticket_id: int) -> RatingView | None:
    """The rating of the ticket's latest solve that has one (for the ticket pages)."""
    return await _view(TicketRating.ticket == ticket_id)


def checked(score: str | int, comment: str) -> tuple[int, str]:
    try:
        value = int(score)
    except (TypeError, ValueError):
        value = 0
    if value not in SCORES:
        raise TicketFormError({"score": "Choose a rating from 1 to 5."})
    text = comment.replace("\r\n", "\n").strip()
    if len(text) > MAX_COMMENT:
        raise TicketFormError({"comment": f"Keep the comment under {MAX_COMMENT:,} characters."})
    return value, text


async def rate(rating_id: int, score: str | int, comment: str, *, customer_id: int | None) -> RatingView:
    """Record (or change) the customer's rating of one solve. Only the ticket's latest solve may be rated: once
    the ticket is reopened or solved again, an older link shows its rating and changes nothing."""
    value, text = checked(score, comment)
    found = await rating(rating_id)
    if not found.current:
        raise TicketFormError({"score": "This request was reopened since: we will ask again once it is solved."})
    await TicketRating.update(
        {TicketRating.score: value, TicketRating.comment: text, TicketRating.rated_at: clock.now()}
    ).where(TicketRating.id == rating_id)
    # Through the signed link nobody is logged in: the link stands for the ticket's customer.
    actor = actor_for_customer(customer_id) if customer_id is not None else "customer:signed-link"
    await TicketEvent.insert(
        TicketEvent(ticket=found.ticket_id, event="rate", from_status=found.ticket_status,
                    to_status=found.ticket_status, actor=actor, reason=f"{value}/5", occurred_at=clock.now())
    )  # fmt: skip
    return await rating(rating_id)


async def rate_latest_solve(ticket_id: int, score: str | int, comment: str, *, customer_id: int) -> RatingView:
    """The owner rates from the ticket page (the caller checked the owner)."""
    checked(score, comment)
    rating_id = await rating_for_solve(ticket_id)
    if rating_id is None:
        raise TicketFormError({"score": "A request can be rated once it is solved."})
    return await rate(rating_id, score, comment, customer_id=customer_id)


# --- the console's figures --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    responses: int
    satisfied: int  # rated 4 or 5
    score_total: int

    @property
    def csat_percent(self) -> int | None:
        """The CSAT score: the share of satisfied answers (4 and 5), in percent; None without answers."""
        return round(100 * self.satisfied / self.responses) if self.responses else None

    @property
    def average(self) -> float | None:
        return round(self.score_total / self.responses, 1) if self.responses else None


@dataclass(frozen=True, slots=True)
class AgentFigures:
    agent: str  # the staff member's username, or "" for solves nobody worked
    figures: Figures


@dataclass(frozen=True, slots=True)
class Comment:
    ticket_id: int
    score: int
    comment: str
    agent: str
    rated_at: datetime


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    until: datetime
    overall: Figures
    agents: list[AgentFigures]
    comments: list[Comment]


async def report(since: datetime, until: datetime, *, comments: int = 10) -> Report:
    """CSAT of the ratings given in ``[since, until)``: overall and per agent (most answers first), and the
    latest comments."""
    rated = (TicketRating.rated_at >= since) & (TicketRating.rated_at < until) & TicketRating.score.is_not_null()
    agent = TicketRating.agent.username.as_alias("agent")
    totals = await TicketRating.select(agent, Count(alias="n"), Sum(TicketRating.score, alias="total")).where(
        rated
    ).group_by(TicketRating.agent.username)  # fmt: skip
    happy = await TicketRating.select(agent, Count(alias="n")).where(rated, TicketRating.score >= SATISFIED).group_by(
        TicketRating.agent.username
    )  # fmt: skip
    satisfied = {row["agent"]: int(row["n"]) for row in happy}
    agents = [
        AgentFigures(row["agent"] or "", Figures(int(row["n"]), satisfied.get(row["agent"], 0), int(row["total"] or 0)))
        for row in totals
    ]
    agents.sort(key=lambda a: (-a.figures.responses, a.agent))
    overall = Figures(*(sum(getattr(a.figures, f) for a in agents) for f in ("responses", "satisfied", "score_total")))
    latest = await (
        TicketRating.select(TicketRating.ticket, TicketRating.score, TicketRating.comment, agent, TicketRating.rated_at)
        .where(rated, TicketRating.comment != "")
        .order_by(TicketRating.rated_at, ascending=False)
        .limit(comments)
    )
    return Report(
        since, until, overall, agents,
        [Comment(r["ticket"], r["score"], r["comment"], r["agent"] or "", clock.as_utc(r["rated_at"])) for r in latest],
    )  # fmt: skip

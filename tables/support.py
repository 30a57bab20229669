from enum import StrEnum

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table

from tables.accounts import Customer
from tables.content import ContentItem


class HelpCategory(Table):
    """A section of the help centre, listed on /help in ``sort_order`` with its articles."""

    id = Serial(primary_key=True)
    name = Varchar(length=100)
    slug = Varchar(
        length=100,
        unique=True,
        help_text="Its address: /help/category/<slug>. Lowercase letters, digits, hyphens and underscores.",
    )
    description = Text(default="", help_text="One sentence shown under the name on /help.")
    sort_order = Integer(default=0, help_text="Lower numbers come first on /help.")

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class KnowledgeBaseArticle(Table):
    """A help-centre article, public at /help/<slug> once published (drafts and scheduled ones answer 404)."""

    id = Serial(primary_key=True)
    PublishState = ContentItem.PublishState  # the catalog's states, published the same way

    title = Varchar(length=300)
    slug = Varchar(
        length=200,
        unique=True,
        help_text="Its address: /help/<slug>. Lowercase letters, digits, hyphens and underscores. Staff signed "
        "in to the admin can open any article, draft or scheduled, at /help/preview/<slug>.",
    )
    category = ForeignKey(references=HelpCategory, null=True, default=None, on_delete=OnDelete.set_null)
    summary = Text(default="", help_text="One or two sentences shown under the title in lists and search results.")
    body = Text(help_text="Markdown (raw HTML is shown as text). Link to portal pages by their path, e.g. /account.")
    publish_state = Varchar(length=10, choices=PublishState, default=PublishState.draft, index=True)
    publish_at = Timestamptz(
        null=True, default=None, help_text="When a scheduled article publishes itself (within a minute)."
    )
    published_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.title])


class HelpVote(Table):
    """One visitor's answer to "Was this helpful?" on one article (unique per article and visitor: changing the
    answer updates the row). The counts staff see are derived from these rows."""

    id = Serial(primary_key=True)
    article = ForeignKey(references=KnowledgeBaseArticle, on_delete=OnDelete.cascade)
    visitor = Varchar(length=80, help_text="customer:<id>, or anon:<the visitor cookie's random id>.")
    customer = ForeignKey(references=Customer, null=True, default=None, on_delete=OnDelete.cascade)
    helpful = Boolean()
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Ticket(Table):
    id = Serial(primary_key=True)

    class Status(StrEnum):
        new = "new"
        open = "open"
        pending = "pending"
        solved = "solved"
        closed = "closed"

    class Priority(StrEnum):
        low = "low"
        normal = "normal"
        high = "high"
        urgent = "urgent"

    customer = ForeignKey(references=Customer, on_delete=OnDelete.restrict)
    subject = Varchar(length=300)
    status = Varchar(length=10, choices=Status, default=Status.new, index=True)
    priority = Varchar(length=10, choices=Priority, default=Priority.normal)
    assignee = ForeignKey(references=BaseUser, null=True, default=None, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="#%s %s", columns=[cls.id, cls.subject])


class TicketMessage(Table):
    id = Serial(primary_key=True)

    class Author(StrEnum):
        customer = "customer"
        staff = "staff"
        system = "system"

    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade)
    author_kind = Varchar(length=10, choices=Author)
    staff_author = ForeignKey(references=BaseUser, null=True, default=None, on_delete=OnDelete.set_null)
    body = Text()
    internal = Boolean(default=False, help_text="A staff-only note the customer never sees.")
    created_at = Timestamptz(default=TimestamptzNow())

from enum import StrEnum

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table

from tables.accounts import Customer


class KnowledgeBaseArticle(Table):
    id = Serial(primary_key=True)
    title = Varchar(length=300)
    slug = Varchar(length=200, unique=True)
    category = Varchar(length=100, default="General")
    body = Text(help_text="Markdown.")
    published = Boolean(default=True)
    helpful_yes = Integer(default=0)
    helpful_no = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.title])


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

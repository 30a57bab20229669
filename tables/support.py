from enum import StrEnum

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import JSON, Boolean, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
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
    """A customer's question and its whole conversation (web, e-mail and chat alike: TicketMessage rows).

    ``status`` moves only through app.support.states (each move a TicketEvent row)."""

    id = Serial(primary_key=True)

    class Status(StrEnum):
        new = "new"
        open = "open"
        pending = "pending"  # waiting on the customer
        solved = "solved"
        closed = "closed"

    class Priority(StrEnum):
        low = "low"
        normal = "normal"
        high = "high"
        urgent = "urgent"

    class Channel(StrEnum):
        web = "web"
        email = "email"
        chat = "chat"

    customer = ForeignKey(
        references=Customer,
        null=True,
        default=None,
        on_delete=OnDelete.restrict,
        help_text="Empty for mail from an address no verified customer owns (see requester_email).",
    )
    subject = Varchar(length=300)
    category = Varchar(length=30, default="other")
    channel = Varchar(length=10, choices=Channel, default=Channel.web, help_text="Where the ticket was opened.")
    status = Varchar(length=10, choices=Status, default=Status.new, index=True)
    priority = Varchar(length=10, choices=Priority, default=Priority.normal)
    assignee = ForeignKey(references=BaseUser, null=True, default=None, on_delete=OnDelete.set_null)
    requester_email = Varchar(length=320, default="", help_text="The address replies go to.")
    verified = Boolean(default=True, help_text="False: opened by e-mail from an address no verified customer owns.")
    follow_up_of: ForeignKey["Ticket"] = ForeignKey(
        references="self", null=True, default=None, on_delete=OnDelete.set_null,
        help_text="The closed ticket a customer wrote to again.",
    )  # fmt: skip
    first_response_at = Timestamptz(null=True, default=None, help_text="The first public staff reply.")
    solved_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="#%s %s", columns=[cls.id, cls.subject])


class TicketMessage(Table):
    """One message of a ticket's thread, whatever the channel it came by."""

    id = Serial(primary_key=True)

    class Author(StrEnum):
        customer = "customer"
        staff = "staff"
        system = "system"

    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade)
    author_kind = Varchar(length=10, choices=Author)
    staff_author = ForeignKey(references=BaseUser, null=True, default=None, on_delete=OnDelete.set_null)
    channel = Varchar(length=10, choices=Ticket.Channel, default=Ticket.Channel.web)
    body = Text()
    internal = Boolean(default=False, help_text="A staff-only note the customer never sees.")
    from_address = Varchar(length=320, default="", help_text="The sender of a message that came by e-mail.")
    # Indexed by a raw migration (ticket_message_email_message_id_idx): SQLite cannot drop an indexed column,
    # so a declared index would break migrating backwards.
    email_message_id = Varchar(length=998, default="", help_text="Message-ID of the e-mail that brought or carried it.")
    created_at = Timestamptz(default=TimestamptzNow())


class TicketEvent(Table):
    """What happened to a ticket: each state transition (from, to), and assignment and priority changes."""

    id = Serial(primary_key=True)
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade)
    event = Varchar(length=30)
    from_status = Varchar(length=10)
    to_status = Varchar(length=10)
    actor = Varchar(length=100)
    reason = Text(default="")
    occurred_at = Timestamptz(default=TimestamptzNow())


class TicketAttachment(Table):
    """A file a customer attached to a message; its type was read from its bytes, never from its name."""

    id = Serial(primary_key=True)
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade)
    message = ForeignKey(references=TicketMessage, on_delete=OnDelete.cascade)
    filename = Varchar(length=255, help_text="The name it was sent with (cleaned); only shown, never used on disk.")
    content_type = Varchar(length=100)
    size = Integer()
    storage_key = Varchar(length=255, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())


class HelpDeflection(Table):
    """One visit to the new-ticket form in which the customer opened a suggested help article.

    Settled a day after the first article opened (app.support.deflection): ``deflected`` when no ticket
    followed, ``submitted`` when the form was sent anyway, ``ticket_later`` when another ticket followed."""

    id = Serial(primary_key=True)

    class Outcome(StrEnum):
        pending = "pending"
        deflected = "deflected"
        submitted = "submitted"
        ticket_later = "ticket_later"

    draft = Varchar(length=64, unique=True, help_text="The form visit's random id.")
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    first_article = ForeignKey(references=KnowledgeBaseArticle, null=True, default=None, on_delete=OnDelete.set_null)
    articles_opened = Integer(default=1)
    outcome = Varchar(length=15, choices=Outcome, default=Outcome.pending, index=True)
    ticket = ForeignKey(references=Ticket, null=True, default=None, on_delete=OnDelete.set_null)
    opened_at = Timestamptz(default=TimestamptzNow())
    settled_at = Timestamptz(null=True, default=None)


class CannedReply(Table):
    """A ready answer staff insert into a reply in the support console, then edit before sending.

    ``body`` may name placeholders, filled server-side by plain substitution (never a template language):
    {{customer_name}}, {{customer_email}}, {{plan}}, {{agent_name}}, {{ticket_id}}, {{ticket_subject}},
    {{site_name}}."""

    id = Serial(primary_key=True)
    title = Varchar(length=120, help_text="How staff find it in the console's list.")
    body = Text(help_text="The reply's text, with placeholders like {{customer_name}} or {{plan}}.")
    active = Boolean(default=True, help_text="Off: not offered in the console.")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.title])


class TicketRating(Table):
    """The customer's satisfaction (CSAT) with one solve of a ticket: asked by e-mail and on the ticket page,
    one per solve (``key``), changeable until the ticket is solved again. ``agent``: who worked it when solved."""

    id = Serial(primary_key=True)
    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade, index=True)
    key = Varchar(length=80, unique=True, help_text="ticket:solved_at, so each solve is rated once.")
    solved_at = Timestamptz()
    agent = ForeignKey(references=BaseUser, null=True, default=None, on_delete=OnDelete.set_null)
    score = Integer(null=True, default=None, help_text="1 (very unhappy) to 5 (very happy); empty: not rated yet.")
    comment = Text(default="")
    rated_at = Timestamptz(null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Chat(Table):
    """A live chat with a customer. Its ticket holds the transcript (TicketMessage rows, channel ``chat``), so a
    chat is read, answered and kept like any ticket; this row holds who is talking: one agent per chat.

    ``status`` moves only through app.support.chat_states (waiting -> active -> ended), each move a ChatEvent."""

    id = Serial(primary_key=True)

    class Status(StrEnum):
        waiting = "waiting"  # the customer wrote; no agent has taken it yet
        active = "active"  # an agent took it
        ended = "ended"

    ticket = ForeignKey(references=Ticket, unique=True, on_delete=OnDelete.cascade)
    # One waiting or active chat per customer: a partial unique index (migration chat_live_customer_uniq).
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    status = Varchar(length=10, choices=Status, default=Status.waiting, index=True)
    agent = ForeignKey(references=BaseUser, null=True, default=None, on_delete=OnDelete.set_null,
                       help_text="The staff member who took the chat; only they answer in it.")  # fmt: skip
    started_at = Timestamptz(default=TimestamptzNow())
    taken_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)


class ChatEvent(Table):
    """What happened to a chat: each state transition (taken, ended), by whom."""

    id = Serial(primary_key=True)
    chat = ForeignKey(references=Chat, on_delete=OnDelete.cascade)
    event = Varchar(length=30)
    from_status = Varchar(length=10)
    to_status = Varchar(length=10)
    actor = Varchar(length=100)
    reason = Text(default="")
    occurred_at = Timestamptz(default=TimestamptzNow())


class BillingActionRequest(Table):
    """A billing action (a refund, a goodwill credit, a pause...) a support agent asked for from a ticket, for
    billing staff to approve or reject in the console (/staff/billing/requests).

    ``status`` moves only through app.support.request_states (each move a BillingActionRequestEvent row): requested
    -> approved (the action then runs, as the approver) -> failed when it was refused; or requested -> rejected."""

    id = Serial(primary_key=True)

    class Status(StrEnum):
        requested = "requested"
        approved = "approved"
        rejected = "rejected"
        failed = "failed"

    ticket = ForeignKey(references=Ticket, on_delete=OnDelete.cascade)
    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    kind = Varchar(length=30, help_text="The action: refund, goodwill_credit, retry_payment, pause, ... "
                   "(app.billing.staff_actions.Kind).")  # fmt: skip
    params = JSON(default={}, help_text="What it acts on and how much: ids, amount in minor units and currency, dates.")
    reason = Text(help_text="Why, in the requester's words: shown to the approver and kept with the action.")
    status = Varchar(length=10, choices=Status, default=Status.requested, index=True)
    requested_by = ForeignKey(references=BaseUser, null=True, default=None, on_delete=OnDelete.set_null)
    decided_by = ForeignKey(references=BaseUser, null=True, default=None, on_delete=OnDelete.set_null)
    decided_at = Timestamptz(null=True, default=None)
    result = Text(default="", help_text="What running it came to, or why it was rejected.")
    created_at = Timestamptz(default=TimestamptzNow())


class BillingActionRequestEvent(Table):
    """What happened to a billing action request: each state transition (from, to), by whom and why."""

    id = Serial(primary_key=True)
    billing_action_request = ForeignKey(references=BillingActionRequest, on_delete=OnDelete.cascade)
    event = Varchar(length=30)
    from_status = Varchar(length=10)
    to_status = Varchar(length=10)
    actor = Varchar(length=100)
    reason = Text(default="")
    occurred_at = Timestamptz(default=TimestamptzNow())

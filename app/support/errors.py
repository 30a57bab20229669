"""Refusals of the support desk, each with a stable code the portal, the admin forms and the console show."""

from __future__ import annotations

from app.accounts.errors import FormError
from app.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RateLimited


class TicketNotFound(NotFound):
    """No such ticket, or not the asker's: the two look the same from outside (owner-only pages)."""

    code = "ticket_not_found"


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"


class TicketClosed(Conflict):
    code = "ticket_closed"


class TicketFormError(FormError):
    """What the customer typed or attached is not acceptable; ``fields`` says what is wrong with which field."""

    code = "invalid_ticket"


class TooManyTickets(RateLimited):
    code = "too_many_tickets"

    def __init__(self, retry_after_s: int) -> None:
        minutes = max(1, -(-retry_after_s // 60))
        super().__init__(
            f"You have opened several requests in a short time. Try again in {minutes} minutes, "
            "or add to one of your open requests.",
            headers={"Retry-After": str(retry_after_s)},
        )


class StaffOnly(InvalidInput):
    """A staff action named something that is not a staff member who may work tickets."""

    code = "not_support_staff"


class ChatNotFound(NotFound):
    """No such chat, or not the asker's (a customer's own; an agent's taken ones): the two look the same."""

    code = "chat_not_found"


class ChatTaken(Conflict):
    """Another agent took the chat first: one agent per chat."""

    code = "chat_taken"


class ChatEnded(Conflict):
    code = "chat_ended"


class NoAgentOnline(Conflict):
    """Nobody has the chats page open: the customer is offered the ticket form instead."""

    code = "no_agent_online"


class ChatMessageInvalid(InvalidInput):
    code = "invalid_chat_message"


class TooManyChatMessages(RateLimited):
    code = "too_many_chat_messages"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"You are sending messages very fast. Wait {retry_after_s} s, then send again.",
                         headers={"Retry-After": str(retry_after_s)})  # fmt: skip


class BillingRequestNotFound(NotFound):
    code = "billing_request_not_found"


class RequestDecided(Conflict):
    """A billing action request is decided once: a second approval (or a rejection after it) changes nothing."""

    code = "request_decided"


class OwnRequest(PermissionDenied):
    """Nobody approves or rejects the billing action they asked for, whatever their role is now."""

    code = "own_request"

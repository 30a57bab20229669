"""A live chat's lifecycle as data: waiting (for an agent) -> active (one agent took it) -> ended.

Either side may end a chat; a waiting chat the customer leaves ends too, and its ticket stays on the desk to be
answered by e-mail. Every move goes through ``app.statemachine.write_transition`` (a ChatEvent row and a
``chat.<event>`` outbox event each). The ticket keeps its own states (``app.support.states``).
"""

from __future__ import annotations

from enum import StrEnum

from app.statemachine import StateMachine
from tables.support import Chat

ChatStatus = Chat.Status


class ChatMove(StrEnum):
    take = "take"  # an agent took the waiting chat
    end = "end"  # the customer or the agent ended it


TRANSITIONS: dict[tuple[ChatStatus, ChatMove], ChatStatus] = {
    (ChatStatus.waiting, ChatMove.take): ChatStatus.active,
    (ChatStatus.waiting, ChatMove.end): ChatStatus.ended,
    (ChatStatus.active, ChatMove.end): ChatStatus.ended,
}

MACHINE: StateMachine[ChatStatus, ChatMove] = StateMachine(
    entity="chat",
    states=ChatStatus,
    transitions=TRANSITIONS,
    stamps={ChatMove.take: "taken_at", ChatMove.end: "ended_at"},
)

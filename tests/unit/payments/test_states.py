from __future__ import annotations

import pytest

from app.payments.states import OUTBOX_EVENTS, TRANSITIONS, S, allowed


def test_final_states_have_no_way_out_but_refunds() -> None:
    assert {event for (state, event) in TRANSITIONS if state == S.succeeded} == {"refund_part", "refund_all"}
    for final in (S.declined, S.failed, S.refunded):
        assert not [key for key in TRANSITIONS if key[0] == final]


@pytest.mark.parametrize("event", ["succeed", "decline", "fail"])
def test_an_unknown_payment_can_still_settle_either_way(event: str) -> None:
    assert allowed("unknown", event) is not None


def test_a_declined_payment_cannot_succeed_later() -> None:
    assert allowed("declined", "succeed") is None  # a new attempt is a new payment with a new key


def test_every_target_state_publishes_an_event() -> None:
    assert set(TRANSITIONS.values()) <= set(OUTBOX_EVENTS)

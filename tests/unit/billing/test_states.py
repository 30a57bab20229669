"""The transition tables: every legal move, and every other (state, event) pair refused with a stable code."""

from __future__ import annotations

import itertools

import pytest

from app.billing import states as invoice
from app.billing.errors import IllegalTransition
from app.subscriptions import states as subscription

SUBSCRIPTION_MOVES = {
    ("incomplete", "activate"): "active",
    ("incomplete", "start_trial"): "trialing",
    ("incomplete", "expire"): "incomplete_expired",
    ("trialing", "trial_end"): "active",
    ("active", "renew_failed"): "past_due",
    ("past_due", "pay"): "active",
    ("unpaid", "pay"): "active",
    ("past_due", "retries_exhausted"): "unpaid",
    ("past_due", "forgive"): "active",  # staff voided the renewal it was behind on
    ("unpaid", "forgive"): "active",
    ("active", "pause"): "paused",
    ("paused", "resume"): "active",
    **{(state, "cancel"): "canceled" for state in ("incomplete", "trialing", "active", "past_due", "unpaid", "paused")},
}

INVOICE_MOVES = {
    ("draft", "finalize"): "open",
    ("open", "pay"): "paid",
    ("open", "void"): "void",
    ("open", "mark_uncollectible"): "uncollectible",
    ("uncollectible", "pay"): "paid",
    ("uncollectible", "void"): "void",
}

CASES = [
    (subscription.MACHINE, subscription.Status, subscription.Event, SUBSCRIPTION_MOVES),
    (invoice.MACHINE, invoice.Status, invoice.Event, INVOICE_MOVES),
]


@pytest.mark.parametrize(("machine", "statuses", "events", "moves"), CASES, ids=["subscription", "invoice"])
def test_the_table_is_exactly_the_documented_lifecycle(machine, statuses, events, moves) -> None:  # type: ignore[no-untyped-def]
    for state, event in itertools.product(statuses, events):
        expected = moves.get((state.value, event.value))
        if expected is None:
            with pytest.raises(IllegalTransition) as refused:
                machine.target(state.value, event)
            assert refused.value.code == "illegal_transition"
            assert refused.value.extra == {"from": state.value, "event": event.value}
        else:
            assert machine.target(state.value, event) == expected


def test_terminal_states_have_no_way_out() -> None:
    for state in ("canceled", "incomplete_expired"):
        assert subscription.MACHINE.events_from(state) == []
    for state in ("paid", "void"):
        assert invoice.MACHINE.events_from(state) == []


def test_stamps_name_real_columns() -> None:
    from tables.billing import Invoice
    from tables.subscriptions import Subscription

    for machine, table in ((subscription.MACHINE, Subscription), (invoice.MACHINE, Invoice)):
        for column in machine.stamps.values():
            assert table._meta.get_column_by_name(column)._meta.name == column


def test_refusal_reads_as_a_sentence() -> None:
    with pytest.raises(IllegalTransition, match="A subscription that is canceled cannot resume"):
        subscription.MACHINE.target("canceled", subscription.Event.resume)

"""A PayPal vault approval belongs to the customer who started it (issue 10, item 4): the return URLs of "Use
another PayPal account" and of a trial accept only the setup token of a set-up that customer started (for that
trial); anybody else's token is a 404 that changes nothing and asks PayPal nothing. One's own return, replayed,
is idempotent."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.payments import methods
from app.payments.gateway import VaultedMethod
from tables.accounts import Customer
from tables.payments import PaymentMethod, VaultSetup
from tables.subscriptions import Subscription
from tests import factories
from tests.integration.subscriptions.conftest import Catalog, sign_up, submit, subscribe_paid
from tests.paypal import Buyer, SandboxControl

BILLING = "/account/billing"


def token_of(return_url: str) -> str:
    return parse_qs(urlsplit(return_url).query)["approval_token_id"][0]


async def approved_method_change(client: httpx.AsyncClient, buyer: Buyer) -> str:
    """The customer on ``client`` pressed "Use another PayPal account" and approved on PayPal: the return URL."""
    started = await submit(client, BILLING, f"{BILLING}/method")
    assert started.status_code == 303, started.text
    await buyer.approve(started.headers["location"])
    return buyer.last_redirect


async def trial_started_by(client: httpx.AsyncClient, customer_id: int) -> int:
    """The customer on ``client`` chose the trial plan (and is on PayPal's approval page): their subscription."""
    started = await submit(client, "/subscribe/basic-monthly", "/subscribe/basic-monthly")
    assert started.status_code == 303, started.text
    [sub] = await Subscription.select(Subscription.id).where(Subscription.customer == customer_id)
    return int(sub["id"])


async def methods_of(customer_id: int) -> list[dict[str, object]]:
    return await PaymentMethod.select(PaymentMethod.id, PaymentMethod.vault_token, PaymentMethod.is_default).where(
        PaymentMethod.customer == customer_id
    )


async def payment_token_calls(sandbox: SandboxControl, seq: int) -> int:
    return len([e for e in await sandbox.journal(seq) if e["operation"] == "payment-tokens.create"])


@pytest.mark.parametrize("ada_came_back_first", [False, True], ids=["before-ada", "after-ada"])
async def test_anothers_token_on_the_billing_method_return_is_not_found(
    client: httpx.AsyncClient,
    new_client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
    ada_came_back_first: bool,
) -> None:
    await subscribe_paid(client, buyer)
    adas_return = await approved_method_change(client, Buyer("ada.second@example.com"))
    if ada_came_back_first:
        assert (await client.get(adas_return)).headers["location"] == BILLING
    adas_methods = await methods_of(customer.id)
    eve = await sign_up(new_client, "eve@example.com")
    seq = await sandbox.last_seq()

    stolen = await new_client.get(f"{BILLING}/method/return?approval_token_id={token_of(adas_return)}")

    assert stolen.status_code == 404
    assert await methods_of(eve.id) == []
    assert await methods_of(customer.id) == adas_methods
    assert await payment_token_calls(sandbox, seq) == 0  # PayPal was not even asked
    if not ada_came_back_first:  # Ada's own approval still works afterwards
        assert (await client.get(adas_return)).headers["location"] == BILLING
        assert len(await methods_of(customer.id)) == 2


async def test_anothers_token_on_the_trial_return_is_not_found(
    client: httpx.AsyncClient,
    new_client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
) -> None:
    adas_return = await approved_method_change(client, Buyer("ada.second@example.com"))
    await client.get(adas_return)
    adas_methods = await methods_of(customer.id)
    adas_trial = await submit(client, "/subscribe/basic-monthly", "/subscribe/basic-monthly")
    adas_trial_token = (await Buyer("ada.trial@example.com").approve(adas_trial.headers["location"]))[
        "approval_token_id"
    ]  # approved on PayPal, not yet back
    eve = await sign_up(new_client, "eve@example.com")
    eves_trial = await trial_started_by(new_client, eve.id)
    seq = await sandbox.last_seq()

    for token in (token_of(adas_return), adas_trial_token):
        stolen = await new_client.get(f"/subscribe/trial/{eves_trial}/return?approval_token_id={token}")
        assert stolen.status_code == 404

    assert (await Subscription.select(Subscription.status).where(Subscription.id == eves_trial))[0]["status"] == (
        "incomplete"
    )
    assert await methods_of(eve.id) == []
    assert await methods_of(customer.id) == adas_methods
    assert await payment_token_calls(sandbox, seq) == 0


async def test_a_method_change_token_does_not_start_a_trial(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    """Bound to its purpose too: the same customer's "Use another PayPal account" approval is not a trial's."""
    method_return = await approved_method_change(client, Buyer("ada.second@example.com"))
    trial = await submit(client, "/subscribe/basic-monthly", "/subscribe/basic-monthly")
    assert trial.status_code == 303
    [sub] = await Subscription.select(Subscription.id).where(Subscription.status == "incomplete")

    wrong = await client.get(f"/subscribe/trial/{sub['id']}/return?approval_token_id={token_of(method_return)}")

    assert wrong.status_code == 404
    assert (await Subscription.select(Subscription.status).where(Subscription.id == sub["id"]))[0]["status"] == (
        "incomplete"
    )


async def test_replaying_ones_own_returns_is_idempotent(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    method_return = await approved_method_change(client, Buyer("ada.second@example.com"))
    trial = await submit(client, "/subscribe/basic-monthly", "/subscribe/basic-monthly")
    trial_buyer = Buyer("ada.trial@example.com")
    await trial_buyer.approve(trial.headers["location"])

    for _ in range(2):
        assert (await client.get(method_return)).headers["location"] == BILLING
        assert (await client.get(trial_buyer.last_redirect)).headers["location"] == "/account/subscriptions"

    methods_now = await methods_of(customer.id)
    assert len(methods_now) == 2  # "another account" and the trial's: each saved once
    assert await Subscription.count().where(Subscription.status == "trialing") == 1
    setups = await VaultSetup.select(VaultSetup.status, VaultSetup.payment_method).order_by(VaultSetup.id)
    assert [s["status"] for s in setups] == ["saved", "saved"]
    assert len({s["payment_method"] for s in setups}) == 2


async def test_a_vault_token_saved_for_one_customer_is_never_anothers(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    await subscribe_paid(client, buyer)
    [adas] = await PaymentMethod.select()
    eve = await factories.customer(email="eve@example.com")

    with pytest.raises(methods.VaultTokenTaken):
        await methods.save_vaulted_method(eve.id, VaultedMethod(adas["vault_token"], "PAYER", "eve@example.com", "x"))

    assert await PaymentMethod.select() == [adas]

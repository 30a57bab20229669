"""Signed reply addresses and Message-IDs: how a mail finds its ticket, and how nobody forges one."""

from __future__ import annotations

from app.support.mailthread import (
    message_ids,
    reply_address,
    reply_token,
    root_message_id,
    split_support_address,
    ticket_of_addresses,
    ticket_of_token,
    tickets_named_by,
)

KEY = "k" * 40
SUPPORT = "support@example.com"


def test_a_reply_address_names_its_ticket_and_survives_case_folding() -> None:
    address = reply_address(KEY, SUPPORT, 42)
    assert address.startswith("support+t42-") and address.endswith("@example.com")
    assert ticket_of_addresses(KEY, SUPPORT, [address]) == 42
    assert ticket_of_addresses(KEY, SUPPORT, [f"Recurra Support <{address.upper()}>"]) == 42


def test_forged_tampered_and_foreign_tokens_name_no_ticket() -> None:
    token = reply_token(KEY, 42)
    assert ticket_of_token(KEY, token) == 42
    assert ticket_of_token(KEY, token.replace("t42-", "t43-")) is None  # another ticket, same signature
    assert ticket_of_token("x" * 40, token) is None  # signed with another SECRET_KEY
    assert ticket_of_token(KEY, "t42-" + "0" * 20) is None
    assert ticket_of_token(KEY, "t42") is None
    assert ticket_of_addresses(KEY, SUPPORT, [f"support+{token}@elsewhere.example"]) is None
    assert ticket_of_addresses(KEY, SUPPORT, [f"sales+{token}@example.com"]) is None


def test_support_addresses() -> None:
    assert split_support_address("<Support@Example.com>", SUPPORT) == (True, "")
    assert split_support_address("support+t1-abc@example.com", SUPPORT) == (True, "t1-abc")
    assert split_support_address("supportx@example.com", SUPPORT) == (False, "")


def test_message_ids_newest_first_and_ours_name_their_ticket() -> None:
    ids = message_ids("<c@x>", "<a@x> <b@x>\r\n <c@x>")
    assert ids == ["<c@x>", "<b@x>", "<a@x>"]
    ours = [root_message_id(7, "example.com"), "<ticket-8.00ff@example.com>", "<ticket-9@evil.example>"]
    assert tickets_named_by(ours, "example.com") == [7, 8]

"""SUPPORT_EMAIL: the one support address (footer, /contact, every e-mail)."""

from __future__ import annotations

import pytest

from app.settings import SettingsError, load_settings


def test_the_support_address() -> None:
    assert load_settings({}).support.support_email == "support@recurra.localhost"
    assert load_settings({"SUPPORT_EMAIL": " Help@Example.com "}).support.support_email == "help@example.com"


@pytest.mark.parametrize("address", ["help", "a b@example.com", "Help <help@example.com>", "@example.com", "a@b@c"])
def test_anything_but_a_plain_address_is_refused(address: str) -> None:
    with pytest.raises(SettingsError, match="SUPPORT_EMAIL"):
        load_settings({"SUPPORT_EMAIL": address})

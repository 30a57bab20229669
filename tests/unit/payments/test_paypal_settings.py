from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import SANDBOX_WEBHOOK_ID, SettingsError, load_settings


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"VAR_DIR": str(tmp_path), **values}


def test_embedded_defaults(tmp_path: Path) -> None:
    paypal = load_settings(env(tmp_path)).paypal
    assert (paypal.timeout_s, paypal.webhook_id) == (20.0, SANDBOX_WEBHOOK_ID)
    assert paypal.webhook_url == "http://127.0.0.1:8000/webhooks/paypal"


def test_standalone_sandbox_and_timeout(tmp_path: Path) -> None:
    paypal = load_settings(
        env(
            tmp_path,
            PAYPAL_MODE="sandbox",
            PAYPAL_CLIENT_ID="recurra-sandbox",
            PAYPAL_CLIENT_SECRET="s",
            PAYPAL_API_URL="http://127.0.0.1:8765/",
            PAYPAL_TIMEOUT_S="7.5",
            PAYPAL_SANDBOX_WEBHOOK_URL="http://10.0.0.2/webhooks/paypal",
        )
    ).paypal
    assert (paypal.api_url, paypal.web_url) == ("http://127.0.0.1:8765", "http://127.0.0.1:8765")
    assert (paypal.timeout_s, paypal.webhook_url) == (7.5, "http://10.0.0.2/webhooks/paypal")


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_timeout_must_be_positive_seconds(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match="PAYPAL_TIMEOUT_S"):
        load_settings(env(tmp_path, PAYPAL_TIMEOUT_S=value))

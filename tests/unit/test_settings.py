from pathlib import Path

import pytest

from app.settings import SettingsError, load_settings

KEY = "k" * 40


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"VAR_DIR": str(tmp_path), **values}


def test_embedded_defaults_with_nothing_set(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path))
    assert settings.environment == "development"
    assert settings.database.engine == "sqlite"
    assert settings.database.sqlite_path == tmp_path / "recurra.sqlite"
    assert not settings.redis.enabled
    assert settings.mail.uses_outbox
    assert settings.dev_mail_enabled
    assert settings.paypal.mode == "embedded"
    assert settings.paypal.api_url == "http://127.0.0.1:8000/_sandbox/paypal"
    assert settings.base_url == "http://127.0.0.1:8000"


def test_generated_secret_key_is_persisted_privately(tmp_path: Path) -> None:
    first = load_settings(env(tmp_path)).secret_key
    assert len(first) >= 32
    assert load_settings(env(tmp_path)).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_real_engines_by_one_setting_each(tmp_path: Path) -> None:
    settings = load_settings(
        env(
            tmp_path,
            DATABASE_URL="postgres://app@db/recurra",
            REDIS_URL="redis://cache:6379/1",
            SMTP_URL="smtp://mail:25",
            PAYPAL_CLIENT_ID="id",
            PAYPAL_CLIENT_SECRET="secret",
            PORT="9000",
        )
    )
    assert settings.database.engine == "postgres"
    assert settings.redis.enabled
    assert not settings.mail.uses_outbox
    assert not settings.dev_mail_enabled
    assert settings.paypal.mode == "sandbox"
    assert settings.paypal.api_url == "https://api-m.sandbox.paypal.com"
    assert settings.port == 9000


def test_secrets_are_not_in_the_repr(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path, SECRET_KEY=KEY, PAYPAL_CLIENT_ID="id", PAYPAL_CLIENT_SECRET="hush-hush"))
    assert KEY not in repr(settings)
    assert "hush-hush" not in repr(settings)


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(
            env(
                tmp_path,
                RECURRA_ENV="production",
                SMTP_URL="smtp://m",
                PAYPAL_CLIENT_ID="i",
                PAYPAL_CLIENT_SECRET="s",
            )
        )


def test_production_refuses_the_demo_outbox(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SMTP_URL"):
        load_settings(
            env(
                tmp_path,
                RECURRA_ENV="production",
                SECRET_KEY=KEY,
                PAYPAL_CLIENT_ID="i",
                PAYPAL_CLIENT_SECRET="s",
            )
        )


def test_production_refuses_the_bundled_paypal_sandbox(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="PAYPAL"):
        load_settings(env(tmp_path, RECURRA_ENV="production", SECRET_KEY=KEY, SMTP_URL="smtp://m"))


def test_production_with_everything_set(tmp_path: Path) -> None:
    settings = load_settings(
        env(
            tmp_path,
            RECURRA_ENV="production",
            SECRET_KEY=KEY,
            SMTP_URL="smtp://m",
            PAYPAL_CLIENT_ID="i",
            PAYPAL_CLIENT_SECRET="s",
            PAYPAL_MODE="live",
            BASE_URL="https://subs.example.com/",
        )
    )
    assert settings.is_production
    assert settings.https
    assert settings.base_url == "https://subs.example.com"
    assert settings.log_json
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SECRET_KEY", "short", "at least 32"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL"),
        ("BASE_URL", "example.com", "BASE_URL"),
        ("PAYPAL_MODE", "prod", "PAYPAL_MODE"),
        ("RECURRA_ENV", "staging", "RECURRA_ENV"),
        ("PORT", "eighty", "PORT"),
        ("LOG_JSON", "maybe", "yes/no"),
        ("TRIAL_ELIGIBILITY", "twice", "once_per_product, once_per_customer, always"),
    ],
)
def test_bad_values_are_named_in_the_error(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(env(tmp_path, **{name: value}))


def test_paypal_sandbox_mode_needs_credentials(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="PAYPAL_CLIENT_ID"):
        load_settings(env(tmp_path, PAYPAL_MODE="sandbox"))


def test_partner_api_rate_limit(tmp_path: Path) -> None:
    assert load_settings(env(tmp_path)).partner_api_rate_limit == 600
    assert load_settings(env(tmp_path, PARTNER_API_RATE_LIMIT="30")).partner_api_rate_limit == 30
    for bad in ("0", "lots"):
        with pytest.raises(SettingsError, match="PARTNER_API_RATE_LIMIT"):
            load_settings(env(tmp_path, PARTNER_API_RATE_LIMIT=bad))


def test_content_settings_default_under_var_and_are_validated(tmp_path: Path) -> None:
    content = load_settings(env(tmp_path)).content
    assert (content.media_dir, content.media_url_ttl_s, content.max_upload_mb) == (tmp_path / "media", 600, 200)
    assert content.x_accel_redirect == "" and content.max_upload_bytes == 200 * 1024 * 1024
    custom = load_settings(env(tmp_path, MEDIA_DIR="/srv/media", X_ACCEL_REDIRECT="/_media/", MEDIA_URL_TTL_S="60"))
    assert (custom.content.media_dir, custom.content.x_accel_redirect) == (Path("/srv/media"), "/_media/")
    assert custom.content.media_url_ttl_s == 60
    with pytest.raises(SettingsError, match="X_ACCEL_REDIRECT"):
        load_settings(env(tmp_path, X_ACCEL_REDIRECT="media"))
    with pytest.raises(SettingsError, match="MAX_UPLOAD_MB"):
        load_settings(env(tmp_path, MAX_UPLOAD_MB="0"))


def test_one_trial_per_product_unless_told_otherwise(tmp_path: Path) -> None:
    assert load_settings(env(tmp_path)).billing.trial_eligibility == "once_per_product"
    chosen = load_settings(env(tmp_path, TRIAL_ELIGIBILITY="once_per_customer")).billing.trial_eligibility
    assert chosen == "once_per_customer"


def test_support_settings(tmp_path: Path) -> None:
    defaults = load_settings(env(tmp_path)).support
    assert defaults.support_email == "support@recurra.localhost"
    assert (defaults.inbound_smtp_host, defaults.inbound_smtp_port) == ("127.0.0.1", 2525)
    assert defaults.unknown_senders == "accept_unverified"
    assert defaults.attachments_dir == tmp_path / "support"
    assert (defaults.max_attachment_bytes, defaults.tickets_per_hour, defaults.auto_close_days) == (10 << 20, 5, 7)
    chosen = load_settings(
        env(tmp_path, SUPPORT_EMAIL="Help@Example.com", INBOUND_SMTP_HOST="192.0.2.10", INBOUND_SMTP_PORT="25",
            SUPPORT_UNKNOWN_SENDERS="reject", SUPPORT_MAX_ATTACHMENT_MB="25")
    ).support  # fmt: skip
    assert (chosen.support_email, chosen.mail_domain, chosen.inbound_smtp_port) == (
        "help@example.com",
        "example.com",
        25,
    )
    assert (chosen.unknown_senders, chosen.inbound_smtp_host) == ("reject", "192.0.2.10")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SUPPORT_EMAIL", "help+desk@example.com"),  # the "+" part is the reply addresses' own
        ("SUPPORT_EMAIL", "not an address"),
        ("SUPPORT_UNKNOWN_SENDERS", "bounce"),
        ("SUPPORT_MAX_ATTACHMENT_MB", "26"),
        ("INBOUND_SMTP_PORT", "70000"),
    ],
)
def test_support_settings_refuse_what_cannot_work(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(env(tmp_path, **{name: value}))

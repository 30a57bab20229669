"""Every knob Recurra has, read once from the environment into one frozen object.

Nothing else in the code base reads ``os.environ`` for configuration: it asks for a ``Settings``.
With nothing set, the embedded defaults apply (SQLite under var/, in-process sessions, cache and jobs,
mail kept in a local outbox, the bundled PayPal sandbox); each is swapped for a real engine by one setting.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Environment = Literal["development", "test", "production"]
PayPalMode = Literal["embedded", "sandbox", "live"]

_PAYPAL_API_URLS = {
    "sandbox": ("https://api-m.sandbox.paypal.com", "https://www.sandbox.paypal.com"),
    "live": ("https://api-m.paypal.com", "https://www.paypal.com"),
}
SANDBOX_CLIENT_ID = "recurra-sandbox"
SANDBOX_CLIENT_SECRET = "recurra-sandbox-secret"  # noqa: S105 - the bundled sandbox's public demo credential
SANDBOX_MOUNT_PATH = "/_sandbox/paypal"
# PayPal's verify-webhook-signature schema allows only letters and digits in a webhook id.
SANDBOX_WEBHOOK_ID = "0RECURRASANDBOXWEBHOOK"
MIN_SECRET_KEY_LENGTH = 32
_PLAIN_ADDRESS = re.compile(r"^[a-z0-9._-]+@[a-z0-9-]+(\.[a-z0-9-]+)*$")


class SettingsError(ValueError):
    """The environment describes a configuration Recurra refuses to run with."""


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str
    pool_size: int = 10  # per process: N web processes + workers must stay under PostgreSQL's max_connections

    @property
    def engine(self) -> Literal["sqlite", "postgres"]:
        return "sqlite" if self.url.startswith("sqlite") else "postgres"

    @property
    def sqlite_path(self) -> Path:
        """The file behind a ``sqlite:///relative`` or ``sqlite:////absolute`` URL."""
        return Path(self.url.removeprefix("sqlite:///"))


@dataclass(frozen=True, slots=True)
class RedisSettings:
    url: str | None
    prefix: str = "recurra"  # namespaces every key (stores, arq queue) so deployments can share a Redis

    @property
    def enabled(self) -> bool:
        return self.url is not None


@dataclass(frozen=True, slots=True)
class PayPalSettings:
    mode: PayPalMode
    client_id: str
    client_secret: str = field(repr=False)
    webhook_id: str
    base_url: str  # Recurra's own base URL, where the embedded sandbox is mounted
    timeout_s: float = 20.0  # per HTTP call to PayPal; the SDK itself waits forever
    sandbox_webhook_url: str = ""  # where the embedded sandbox POSTs its signed webhooks
    api_url_override: str = ""  # e.g. a sandbox run alone with `python -m app.payments.sandbox`

    @property
    def webhook_url(self) -> str:
        """Recurra's webhook endpoint as the embedded sandbox reaches it."""
        return self.sandbox_webhook_url or self.base_url + "/webhooks/paypal"

    @property
    def api_url(self) -> str:
        if self.api_url_override:
            return self.api_url_override
        if self.mode == "embedded":
            return self.base_url + SANDBOX_MOUNT_PATH
        return _PAYPAL_API_URLS[self.mode][0]

    @property
    def web_url(self) -> str:
        if self.api_url_override:  # the bundled sandbox serves its approval pages beside its API
            return self.api_url_override
        if self.mode == "embedded":
            return self.base_url + SANDBOX_MOUNT_PATH
        return _PAYPAL_API_URLS[self.mode][1]


@dataclass(frozen=True, slots=True)
class MailSettings:
    smtp_url: str | None = field(repr=False)
    from_address: str
    outbox_dir: Path

    @property
    def uses_outbox(self) -> bool:
        """Without an SMTP server, mail is written to a local folder that /dev/mail shows."""
        return self.smtp_url is None


DunningFinalAction = Literal["unpaid", "cancel"]
# Who gets a plan's free trial: a customer once per product (default), once in all, or on every subscription.
TrialEligibility = Literal["once_per_product", "once_per_customer", "always"]
TRIAL_ELIGIBILITIES: tuple[TrialEligibility, ...] = ("once_per_product", "once_per_customer", "always")
DEFAULT_TRIAL_ELIGIBILITY: TrialEligibility = "once_per_product"


@dataclass(frozen=True, slots=True)
class BillingSettings:
    """Dunning and billing reminders (DESIGN.md section 3)."""

    dunning_retry_days: tuple[int, ...] = (1, 3, 5)  # retries after the first failure, counted from the due date
    dunning_final_action: DunningFinalAction = "unpaid"  # after the last retry fails: unpaid, or cancel
    renewal_reminder_days: int = 7  # the "upcoming renewal" e-mail goes out this many days before
    trial_reminder_days: int = 3  # the "trial ending" e-mail
    trial_eligibility: TrialEligibility = DEFAULT_TRIAL_ELIGIBILITY  # who has had theirs: app/subscriptions/trials.py
    price_change_notice_days: int = 30  # a move to a new price applies from a renewal at least this far, noticed then
    cron_enabled: bool = True  # off: this process's cron neither renews, charges nor reminds (tests' extra servers)


@dataclass(frozen=True, slots=True)
class ContentSettings:
    media_dir: Path  # where uploaded files live (local media storage); never served from a public path
    media_url_ttl_s: int = 600  # how long a signed media link works
    max_upload_mb: int = 200  # larger uploads are refused in the admin
    x_accel_redirect: str = ""  # e.g. /_protected_media/: nginx sends the file (an internal location)
    page_size: int = 20  # catalog items per page
    cache_ttl_s: int = 3600  # cached catalog pages; versioned keys make them stale at once on any change

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


UnknownSenderPolicy = Literal["accept_unverified", "reject"]


@dataclass(frozen=True, slots=True)
class SupportSettings:
    """The support desk: its address, e-mail in (the SMTP listener) and the customers' limits."""

    support_email: str  # where customers write; the help centre's /contact shows it, ticket replies come back to it
    attachments_dir: Path  # ticket attachments (served only to the ticket's owner and support staff)
    inbound_smtp_host: str = "127.0.0.1"  # where `python -m app inbound-mail` (and `run`) listens
    inbound_smtp_port: int = 2525
    unknown_senders: UnknownSenderPolicy = "accept_unverified"  # mail from an address no verified customer owns
    max_attachment_mb: int = 10  # per file; at most MAX_ATTACHMENTS files a message (app.support.attachments)
    tickets_per_hour: int = 5  # new tickets a customer (or an e-mail address) may open in an hour
    auto_close_days: int = 7  # a solved ticket closes after this many days without a customer reply

    @property
    def max_attachment_bytes(self) -> int:
        return self.max_attachment_mb * 1024 * 1024

    @property
    def mail_domain(self) -> str:
        return self.support_email.rpartition("@")[2]


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRIORITIES = ("urgent", "high", "normal", "low")  # tables.support.Ticket.Priority, the SLA targets' keys


@dataclass(frozen=True, slots=True)
class SlaSettings:
    """The support desk's service levels: business hours (days, hours, zone) and, per ticket priority, the
    first-response and resolution targets in business minutes (app/support/sla.py does the arithmetic)."""

    timezone: str = "UTC"  # an IANA zone: business hours are its wall-clock hours, DST included
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    opens_minute: int = 9 * 60  # minutes after local midnight
    closes_minute: int = 17 * 60  # at most 24 * 60
    first_response_minutes: Mapping[str, int] = field(
        default_factory=lambda: {"urgent": 60, "high": 4 * 60, "normal": 8 * 60, "low": 24 * 60}
    )
    resolution_minutes: Mapping[str, int] = field(
        default_factory=lambda: {"urgent": 8 * 60, "high": 24 * 60, "normal": 40 * 60, "low": 80 * 60}
    )


@dataclass(frozen=True, slots=True)
class TodayOverride:
    """``RECURRA_TEST_TODAY``: the system clock (``app.clock``) runs as if today were ``today``, at the real time
    of day, advancing in real time; for running the tests (and the demo) on a chosen calendar day.

    ``counted_from`` (``RECURRA_TEST_TODAY_FROM``) is the real date the shift counts from: a test run sets it for
    every process it starts, so processes started either side of midnight keep one shift. Unset: the real date
    when the process's clock first ticks."""

    today: date
    counted_from: date | None = None

    def shift(self, real_today: date) -> timedelta:
        """How far the system clock moves: whole days, so the time of day stays the real one."""
        return self.today - (self.counted_from or real_today)


@dataclass(frozen=True, slots=True)
class Settings:
    environment: Environment
    secret_key: str = field(repr=False)
    base_url: str
    host: str
    port: int
    var_dir: Path
    log_level: str
    log_json: bool
    trusted_proxies: tuple[str, ...]
    database: DatabaseSettings
    redis: RedisSettings
    paypal: PayPalSettings
    mail: MailSettings
    content: ContentSettings
    support: SupportSettings
    site_name: str = "Recurra"
    web_concurrency: int = 2  # web processes when Redis holds the shared state (one without it)
    partner_api_rate_limit: int = 600  # requests per API key per minute
    billing: BillingSettings = field(default_factory=BillingSettings)
    sla: SlaSettings = field(default_factory=SlaSettings)
    today_override: TodayOverride | None = None  # tests and the demo only; production refuses it

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def dev_mail_enabled(self) -> bool:
        return self.mail.uses_outbox and not self.is_production


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"expected a yes/no flag, got {value!r}")


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _secret_key(env: Mapping[str, str], environment: Environment, var_dir: Path) -> str:
    key = env.get("SECRET_KEY", "")
    if key:
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")
        return key
    if environment == "production":
        raise SettingsError("SECRET_KEY must be set in production")
    # Outside production a key is generated once and kept, so sessions survive a restart of the demo.
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


def _database_url(env: Mapping[str, str], var_dir: Path) -> str:
    url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'recurra.sqlite'}"
    scheme = urlsplit(url).scheme
    if scheme not in {"sqlite", "postgres", "postgresql"}:
        raise SettingsError(f"DATABASE_URL must be sqlite:/// or postgres://, got scheme {scheme!r}")
    return url


def _base_url(env: Mapping[str, str], host: str, port: int) -> str:
    url = env.get("BASE_URL") or f"http://{host}:{port}"
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SettingsError(f"BASE_URL must be an absolute http(s) URL, got {url!r}")
    return url.rstrip("/")


def _paypal(env: Mapping[str, str], base_url: str) -> PayPalSettings:
    client_id = env.get("PAYPAL_CLIENT_ID", "")
    secret = env.get("PAYPAL_CLIENT_SECRET", "")
    mode = env.get("PAYPAL_MODE") or ("sandbox" if client_id else "embedded")
    if mode not in {"embedded", "sandbox", "live"}:
        raise SettingsError(f"PAYPAL_MODE must be embedded, sandbox or live, got {mode!r}")
    if mode == "embedded":
        client_id = client_id or SANDBOX_CLIENT_ID
        secret = secret or SANDBOX_CLIENT_SECRET
    elif not (client_id and secret):
        raise SettingsError(f"PAYPAL_MODE={mode} needs PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET")
    return PayPalSettings(
        mode=mode,  # type: ignore[arg-type]  # checked against the literal's values just above
        client_id=client_id,
        client_secret=secret,
        webhook_id=env.get("PAYPAL_WEBHOOK_ID", SANDBOX_WEBHOOK_ID),
        base_url=base_url,
        timeout_s=_positive_float(env, "PAYPAL_TIMEOUT_S", 20.0),
        sandbox_webhook_url=env.get("PAYPAL_SANDBOX_WEBHOOK_URL", ""),
        api_url_override=env.get("PAYPAL_API_URL", "").rstrip("/"),
    )


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}")
    return value


def _content(env: Mapping[str, str], var_dir: Path) -> ContentSettings:
    prefix = env.get("X_ACCEL_REDIRECT", "").strip()
    if prefix and not (prefix.startswith("/") and prefix.endswith("/")):
        raise SettingsError(f"X_ACCEL_REDIRECT must be an internal nginx location like /_media/, got {prefix!r}")
    return ContentSettings(
        media_dir=Path(env.get("MEDIA_DIR") or var_dir / "media"),
        media_url_ttl_s=_positive_int(env, "MEDIA_URL_TTL_S", 600),
        max_upload_mb=_positive_int(env, "MAX_UPLOAD_MB", 200),
        x_accel_redirect=prefix,
        page_size=_positive_int(env, "CATALOG_PAGE_SIZE", 20),
        cache_ttl_s=_positive_int(env, "CATALOG_CACHE_TTL_S", 3600),
    )


def _billing(env: Mapping[str, str]) -> BillingSettings:
    raw = env.get("DUNNING_RETRY_DAYS") or "1,3,5"
    try:
        days = () if raw.strip() == "none" else tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise SettingsError(f"DUNNING_RETRY_DAYS must be whole days like 1,3,5, got {raw!r}") from None
    if any(b <= a for a, b in zip((0, *days), days, strict=False)):
        raise SettingsError(f"DUNNING_RETRY_DAYS must be increasing days after the failure, got {raw!r}")
    action = env.get("DUNNING_FINAL_ACTION") or "unpaid"
    if action not in {"unpaid", "cancel"}:
        raise SettingsError(f"DUNNING_FINAL_ACTION must be unpaid or cancel, got {action!r}")
    trials = env.get("TRIAL_ELIGIBILITY") or DEFAULT_TRIAL_ELIGIBILITY
    if trials not in TRIAL_ELIGIBILITIES:
        raise SettingsError(f"TRIAL_ELIGIBILITY must be one of {', '.join(TRIAL_ELIGIBILITIES)}, got {trials!r}")
    return BillingSettings(
        dunning_retry_days=days,
        dunning_final_action=action,  # type: ignore[arg-type]  # checked just above
        renewal_reminder_days=_positive_int(env, "RENEWAL_REMINDER_DAYS", 7),
        trial_reminder_days=_positive_int(env, "TRIAL_REMINDER_DAYS", 3),
        trial_eligibility=trials,
        price_change_notice_days=_positive_int(env, "PRICE_CHANGE_NOTICE_DAYS", 30),
        cron_enabled=_flag(env.get("BILLING_CRON"), default=True),
    )


_PLAIN_ADDRESS = re.compile(r"^[a-z0-9._-]+@[a-z0-9-]+(\.[a-z0-9-]+)*$")


MAX_SUPPORT_ATTACHMENT_MB = 25  # what mail systems commonly carry; the portal's upload size limit is built on it


def _attachment_mb(env: Mapping[str, str]) -> int:
    value = _positive_int(env, "SUPPORT_MAX_ATTACHMENT_MB", 10)
    if value > MAX_SUPPORT_ATTACHMENT_MB:
        raise SettingsError(f"SUPPORT_MAX_ATTACHMENT_MB must be at most {MAX_SUPPORT_ATTACHMENT_MB}, got {value}")
    return value


def _support(env: Mapping[str, str], var_dir: Path) -> SupportSettings:
    address = (env.get("SUPPORT_EMAIL") or "support@recurra.localhost").strip().lower()
    # Replies come back to support+<ticket token>@domain: the address itself carries no "+" part.
    if not _PLAIN_ADDRESS.match(address):
        raise SettingsError(f"SUPPORT_EMAIL must be a plain address like support@example.com, got {address!r}")
    policy = env.get("SUPPORT_UNKNOWN_SENDERS") or "accept_unverified"
    if policy not in {"accept_unverified", "reject"}:
        raise SettingsError(f"SUPPORT_UNKNOWN_SENDERS must be accept_unverified or reject, got {policy!r}")
    port = _positive_int(env, "INBOUND_SMTP_PORT", 2525)
    if port > 65535:
        raise SettingsError(f"INBOUND_SMTP_PORT must be a TCP port, got {port}")
    return SupportSettings(
        support_email=address,
        attachments_dir=Path(env.get("SUPPORT_ATTACHMENTS_DIR") or var_dir / "support"),
        inbound_smtp_host=env.get("INBOUND_SMTP_HOST") or "127.0.0.1",
        inbound_smtp_port=port,
        unknown_senders=policy,  # type: ignore[arg-type]  # checked just above
        max_attachment_mb=_attachment_mb(env),
        tickets_per_hour=_positive_int(env, "SUPPORT_TICKETS_PER_HOUR", 5),
        auto_close_days=_positive_int(env, "SUPPORT_AUTO_CLOSE_DAYS", 7),
    )


def _clock_minute(name: str, value: str) -> int:
    hours, _, minutes = value.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and int(minutes) < 60):
        raise SettingsError(f"{name} must be hours like 09:00-17:00, got {value!r}")
    return int(hours) * 60 + int(minutes)


def _business_days(raw: str) -> tuple[int, ...]:
    """``mon-fri``, ``mon,wed,fri`` or a mix (``mon-thu,sat``)."""
    days: set[int] = set()
    for part in raw.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise SettingsError(f"SUPPORT_BUSINESS_DAYS must be days like mon-fri or mon,wed,fri, got {raw!r}")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if end < start:
            raise SettingsError(f"SUPPORT_BUSINESS_DAYS ranges run forward (mon-fri), got {part!r}")
        days.update(range(start, end + 1))
    return tuple(sorted(days))


def _sla_targets(env: Mapping[str, str], name: str, default: Mapping[str, int]) -> dict[str, int]:
    """``urgent:1,high:4,normal:8,low:24``: business hours per priority (decimals allowed: 0.5 is 30 minutes)."""
    raw = env.get(name, "").strip()
    if not raw:
        return dict(default)
    targets: dict[str, int] = {}
    for part in raw.replace(" ", "").split(","):
        priority, _, hours = part.partition(":")
        try:
            minutes = round(float(hours) * 60)
        except ValueError:
            minutes = 0
        if priority not in PRIORITIES or minutes < 1:
            raise SettingsError(f"{name} must be business hours per priority like urgent:1,high:4, got {part!r}")
        targets[priority] = minutes
    if missing := [p for p in PRIORITIES if p not in targets]:
        raise SettingsError(f"{name} must give every priority a target; missing: {', '.join(missing)}")
    return targets


def _sla(env: Mapping[str, str]) -> SlaSettings:
    zone = env.get("SUPPORT_TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"SUPPORT_TIMEZONE must be an IANA time zone like Europe/Berlin, got {zone!r}") from None
    hours = env.get("SUPPORT_BUSINESS_HOURS", "").strip() or "09:00-17:00"
    opens, _, closes = hours.partition("-")
    opens_minute = _clock_minute("SUPPORT_BUSINESS_HOURS", opens)
    closes_minute = _clock_minute("SUPPORT_BUSINESS_HOURS", closes)
    if not opens_minute < closes_minute <= 24 * 60:
        raise SettingsError(f"SUPPORT_BUSINESS_HOURS must open before it closes, within a day, got {hours!r}")
    defaults = SlaSettings()
    return SlaSettings(
        timezone=zone,
        days=_business_days(env.get("SUPPORT_BUSINESS_DAYS", "").strip() or "mon-fri"),
        opens_minute=opens_minute,
        closes_minute=closes_minute,
        first_response_minutes=_sla_targets(env, "SUPPORT_SLA_FIRST_RESPONSE", defaults.first_response_minutes),
        resolution_minutes=_sla_targets(env, "SUPPORT_SLA_RESOLUTION", defaults.resolution_minutes),
    )


def _date(env: Mapping[str, str], name: str) -> date | None:
    raw = env.get(name, "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        raise SettingsError(f"{name} must be a date like 2027-02-28, got {raw!r}") from None


def _today_override(env: Mapping[str, str], environment: str, paypal: PayPalSettings) -> TodayOverride | None:
    today = _date(env, "RECURRA_TEST_TODAY")
    if today is None:
        return None
    # A moved clock bills renewals early or late: never where money is real.
    if environment == "production" or paypal.mode == "live":
        raise SettingsError("RECURRA_TEST_TODAY moves the clock for tests and the demo; production refuses it")
    return TodayOverride(today, _date(env, "RECURRA_TEST_TODAY_FROM"))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ`` (the process environment by default), or raise SettingsError."""
    env = os.environ if environ is None else environ
    environment = env.get("RECURRA_ENV", "development")
    if environment not in {"development", "test", "production"}:
        raise SettingsError(f"RECURRA_ENV must be development, test or production, got {environment!r}")
    var_dir = Path(env.get("VAR_DIR") or PROJECT_ROOT / "var")
    host = env.get("HOST", "127.0.0.1")
    try:
        port = int(env.get("PORT", "8000"))
    except ValueError:
        raise SettingsError(f"PORT must be a number, got {env.get('PORT')!r}") from None
    base_url = _base_url(env, host, port)
    paypal = _paypal(env, base_url)
    mail = MailSettings(
        smtp_url=env.get("SMTP_URL") or None,
        from_address=env.get("MAIL_FROM", "Recurra <no-reply@recurra.localhost>"),
        outbox_dir=var_dir / "outbox",
    )
    settings = Settings(
        environment=environment,  # type: ignore[arg-type]  # checked above
        secret_key=_secret_key(env, environment, var_dir),  # type: ignore[arg-type]
        base_url=base_url,
        host=host,
        port=port,
        var_dir=var_dir,
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        log_json=_flag(env.get("LOG_JSON"), default=environment == "production"),
        trusted_proxies=tuple(p.strip() for p in env.get("TRUSTED_PROXIES", "").split(",") if p.strip()),
        database=DatabaseSettings(
            url=_database_url(env, var_dir), pool_size=_positive_int(env, "DATABASE_POOL_SIZE", 10)
        ),
        redis=RedisSettings(url=env.get("REDIS_URL") or None, prefix=env.get("REDIS_PREFIX", "recurra")),
        paypal=paypal,
        mail=mail,
        content=_content(env, var_dir),
        site_name=env.get("SITE_NAME", "Recurra"),
        web_concurrency=_positive_int(env, "WEB_CONCURRENCY", 2),
        partner_api_rate_limit=_positive_int(env, "PARTNER_API_RATE_LIMIT", 600),
        billing=_billing(env),
        support=_support(env, var_dir),
        sla=_sla(env),
        today_override=_today_override(env, environment, paypal),
    )
    if settings.is_production and settings.mail.uses_outbox:
        raise SettingsError("production needs SMTP_URL: the demo mail outbox is for development only")
    if settings.is_production and settings.paypal.mode == "embedded":
        raise SettingsError("production needs PAYPAL_CLIENT_ID/SECRET: the bundled sandbox takes no money")
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read on first use."""
    return load_settings()

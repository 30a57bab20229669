from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table

from tables.outbox import OutboxEvent


class Partner(Table):
    id = Serial(primary_key=True)
    name = Varchar(length=200)
    contact_email = Varchar(length=320, default="")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class ApiKey(Table):
    """A partner credential: shown once, stored as a hash, found by its visible prefix."""

    id = Serial(primary_key=True)

    partner = ForeignKey(references=Partner, on_delete=OnDelete.cascade)
    name = Varchar(length=100, default="")
    prefix = Varchar(length=20, unique=True, help_text="The visible start of the key, e.g. rk_live_ab12cd.")
    key_hash = Varchar(length=64, secret=True)
    scopes = Text(default="", help_text="Space-separated, e.g. 'customers:read subscriptions:write'.")
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class IdempotencyRecord(Table):
    """The first response to a partner POST with an Idempotency-Key, replayed for repeats."""

    id = Serial(primary_key=True)

    partner = ForeignKey(references=Partner, on_delete=OnDelete.cascade)
    key = Varchar(length=255)
    request_fingerprint = Varchar(length=64, help_text="SHA-256 of method, path and body.")
    response_status = Integer(null=True, default=None)
    response_body = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookEndpoint(Table):
    id = Serial(primary_key=True)
    partner = ForeignKey(references=Partner, on_delete=OnDelete.cascade)
    url = Varchar(length=1000)
    secret = Varchar(length=100, secret=True, help_text="Signs each delivery (HMAC-SHA256).")
    event_types = Text(default="*", help_text="Space-separated event types, or * for all.")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookDelivery(Table):
    id = Serial(primary_key=True)
    endpoint = ForeignKey(references=WebhookEndpoint, on_delete=OnDelete.cascade)
    event = ForeignKey(references=OutboxEvent, on_delete=OnDelete.cascade)
    status = Varchar(length=10, default="pending", index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)
    last_status_code = Integer(null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())

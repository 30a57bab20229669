from enum import StrEnum

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import BigInt, Boolean, ForeignKey, OnDelete, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table

from tables.clocks import TestClock


class Customer(Table):
    """A person who buys subscriptions. Staff are piccolo BaseUsers, kept apart on purpose."""

    id = Serial(primary_key=True)

    class Status(StrEnum):
        active = "active"
        disabled = "disabled"
        erased = "erased"

    email = Varchar(length=320, unique=True, index=True, help_text="Stored lower-cased.")
    email_verified_at = Timestamptz(null=True, default=None)
    password_hash = Varchar(length=255, help_text="argon2id hash; never the password.")
    name = Varchar(length=200)
    country = Varchar(length=2, help_text="ISO 3166-1 alpha-2.")
    address_line1 = Varchar(length=200, default="")
    address_line2 = Varchar(length=200, default="")
    city = Varchar(length=100, default="")
    postal_code = Varchar(length=20, default="")
    region = Varchar(length=100, default="")
    status = Varchar(length=20, choices=Status, default=Status.active)
    totp_secret = Varchar(length=64, null=True, default=None, secret=True)
    totp_enabled_at = Timestamptz(null=True, default=None)
    totp_last_step = BigInt(null=True, default=None, help_text="Last accepted TOTP time step: a code works once.")
    digest_opt_in = Boolean(default=False, help_text="Weekly e-mail of new content.")
    test_clock = ForeignKey(
        references=TestClock,
        null=True,
        default=None,
        on_delete=OnDelete.set_null,
        help_text="Test customers live on a test clock's time instead of the real one.",
    )
    is_test = Boolean(
        default=False,
        help_text="A test customer, made on a test clock (and only there); fixed when the customer is created.",
    )
    last_login_at = Timestamptz(null=True, default=None)
    last_catalog_visit_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s <%s>", columns=[cls.name, cls.email])


class AuthToken(Table):
    """A single-use, expiring token mailed to a customer (verify e-mail, reset password, change e-mail)."""

    id = Serial(primary_key=True)

    class Purpose(StrEnum):
        verify_email = "verify_email"
        reset_password = "reset_password"  # noqa: S105 - a purpose, not a password
        change_email = "change_email"

    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    purpose = Varchar(length=20, choices=Purpose)
    token_hash = Varchar(length=64, unique=True, help_text="SHA-256 of the token; the token itself is only mailed.")
    new_email = Varchar(length=320, null=True, default=None)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class RecoveryCode(Table):
    """A one-time two-factor recovery code, stored hashed."""

    id = Serial(primary_key=True)

    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    code_hash = Varchar(length=64)
    used_at = Timestamptz(null=True, default=None)


class CustomerSession(Table):
    """Index of a customer's live portal sessions, so they can be listed and ended everywhere."""

    id = Serial(primary_key=True)

    customer = ForeignKey(references=Customer, on_delete=OnDelete.cascade)
    session_key_hash = Varchar(length=64, unique=True)
    ip = Varchar(length=45, default="")
    user_agent = Varchar(length=300, default="")
    remember = Boolean(default=False, help_text="'Remember me': a persistent cookie and a longer life.")
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class StaffRole(Table):
    """What a staff member (piccolo BaseUser) may touch in the admin."""

    id = Serial(primary_key=True)

    class Role(StrEnum):
        superuser = "superuser"
        billing = "billing"
        support = "support"
        content = "content"

    user = ForeignKey(references=BaseUser, unique=True, on_delete=OnDelete.cascade)
    role = Varchar(length=20, choices=Role, default=Role.support)
    created_at = Timestamptz(default=TimestamptzNow())

from enum import StrEnum

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table


class Product(Table):
    """What a business sells access to; plans price it."""

    id = Serial(primary_key=True)

    name = Varchar(length=200)
    slug = Varchar(length=100, unique=True)
    description = Text(default="")
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class Feature(Table):
    """An entitlement key (``library``, ``hd_video``, ``downloads``) that plans grant and content requires."""

    id = Serial(primary_key=True)

    key = Varchar(length=50, unique=True)
    name = Varchar(length=100)
    description = Text(default="")

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.key])


class Plan(Table):
    """A price for a product on an interval. Immutable in price once anybody subscribed (the database refuses
    the update): a new price is a new version of the plan, in the same family (``app.catalog.prices``)."""

    id = Serial(primary_key=True)

    class Interval(StrEnum):
        day = "day"
        week = "week"
        month = "month"
        year = "year"

    class Status(StrEnum):
        active = "active"
        archived = "archived"

    product = ForeignKey(references=Product, on_delete=OnDelete.restrict)
    code = Varchar(length=100, unique=True, help_text="Stable identifier partners and URLs use.")
    name = Varchar(length=200)
    description = Text(default="")
    amount_minor = Integer(help_text="Price per interval in minor units (cents).")
    currency = Varchar(length=3, default="USD")
    interval = Varchar(length=10, choices=Interval, default=Interval.month)
    interval_count = Integer(default=1)
    trial_days = Integer(default=0)
    public = Boolean(default=True, help_text="Listed on the pricing page.")
    status = Varchar(length=20, choices=Status, default=Status.active)
    sort_order = Integer(default=0)
    family = Varchar(
        length=100,
        null=True,
        default=None,
        help_text="The code of the first version, shared by every later price of this plan; empty until re-priced.",
    )
    version = Integer(default=1, help_text="1 for the first price; each 'New price' adds one.")
    created_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class PlanFeature(Table):
    """A feature a plan grants, optionally with a limit (e.g. downloads per month)."""

    id = Serial(primary_key=True)

    plan = ForeignKey(references=Plan, on_delete=OnDelete.cascade)
    feature = ForeignKey(references=Feature, on_delete=OnDelete.restrict)
    limit_value = Integer(null=True, default=None, help_text="Empty means unlimited.")

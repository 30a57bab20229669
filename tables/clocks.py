from piccolo.columns import Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table


class TestClock(Table):
    """A frozen time test customers live on; staff advance it to watch billing happen (Stripe's test clocks)."""

    id = Serial(primary_key=True)

    __test__ = False  # not a pytest test class

    name = Varchar(length=100)
    frozen_time = Timestamptz(help_text="The instant customers attached to this clock see as 'now'.")
    created_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])

from enum import StrEnum

from piccolo.columns import BigInt, Boolean, ForeignKey, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table

from tables.accounts import Customer
from tables.catalog import Feature, Product


class ContentItem(Table):
    """Something customers subscribe for: an article, a video or audio file, a download or a link."""

    id = Serial(primary_key=True)

    class Kind(StrEnum):
        article = "article"
        video = "video"
        audio = "audio"
        file = "file"
        link = "link"

    class PublishState(StrEnum):
        draft = "draft"
        scheduled = "scheduled"
        published = "published"
        archived = "archived"

    product = ForeignKey(references=Product, null=True, default=None, on_delete=OnDelete.set_null)
    kind = Varchar(length=10, choices=Kind, default=Kind.article)
    title = Varchar(length=300)
    slug = Varchar(length=200, unique=True)
    summary = Text(default="")
    body = Text(default="", help_text="Markdown, for articles.")
    cover_image = Varchar(length=500, default="", help_text="Storage key of the cover image.")
    media_key = Varchar(length=500, default="", help_text="Storage key of the file for video, audio and files.")
    media_content_type = Varchar(length=100, default="")
    media_size = BigInt(default=0)
    external_url = Varchar(length=1000, default="")
    is_free = Boolean(default=False, help_text="Readable without a subscription (a preview).")
    publish_state = Varchar(length=10, choices=PublishState, default=PublishState.draft, index=True)
    publish_at = Timestamptz(null=True, default=None, help_text="When a scheduled item publishes itself.")
    published_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), index=True)

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.title])


class ContentItemFeature(Table):
    """A feature that unlocks an item; an item with none needs any live subscription unless it is free."""

    id = Serial(primary_key=True)

    item = ForeignKey(references=ContentItem, on_delete=OnDelete.cascade)
    feature = ForeignKey(references=Feature, on_delete=OnDelete.restrict)


class Tag(Table):
    id = Serial(primary_key=True)
    name = Varchar(length=100)
    slug = Varchar(length=100, unique=True)

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.name])


class ContentItemTag(Table):
    id = Serial(primary_key=True)
    item = ForeignKey(references=ContentItem, on_delete=OnDelete.cascade)
    tag = ForeignKey(references=Tag, on_delete=OnDelete.cascade)


class ContentChange(Table):
    """What changed in the catalog and when: feeds 'new since your last visit' and the weekly digest."""

    id = Serial(primary_key=True)

    class Change(StrEnum):
        published = "published"
        updated = "updated"
        archived = "archived"

    item = ForeignKey(references=ContentItem, on_delete=OnDelete.cascade)
    change = Varchar(length=20, choices=Change)
    summary = Text(default="")
    changed_at = Timestamptz(default=TimestamptzNow(), index=True)


class ContentReader(Table):
    """A customer's reading state: their visits (for "new since your last visit") and the weekly digest opt-in."""

    id = Serial(primary_key=True)

    customer = ForeignKey(references=Customer, unique=True, on_delete=OnDelete.cascade)
    last_visit_at = Timestamptz(null=True, default=None, help_text="The latest catalog visit.")
    previous_visit_at = Timestamptz(
        null=True, default=None, help_text="Where the current visit began counting news from."
    )
    digest_opt_in = Boolean(default=False, help_text="Wants the weekly e-mail of new content.")
    digest_sent_at = Timestamptz(null=True, default=None)

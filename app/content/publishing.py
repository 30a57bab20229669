"""Draft, scheduled, published, archived: how the catalog's items and the help centre's articles come out.

Both tables have ``title``, ``publish_state``, ``publish_at``, ``published_at`` and ``updated_at``; only
``published`` rows exist for readers. A scheduled row publishes itself when its ``publish_at`` has come (the
``publish_scheduled`` job, every minute), dated ``publish_at``; a row staff publish by hand is dated at that edit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from app import clock
from app.db import write_transaction
from tables.content import ContentItem

PublishState = ContentItem.PublishState
Published = Callable[[dict[str, Any]], Awaitable[None]]


async def publish_due(table: Any, at: datetime, on_published: Published | None = None) -> list[dict[str, Any]]:
    """Publish every scheduled row of ``table`` whose ``publish_at`` is at or before ``at``; ``on_published``
    runs for each in the same transaction. Returns the rows published (id, title). Idempotent: a second run finds
    none, and a row staff changed meanwhile is left alone."""
    async with write_transaction():  # SQLite: the write lock from the start (a read-then-write would be refused)
        due: list[dict[str, Any]] = await table.select(table.id, table.title, table.publish_at).where(
            table.publish_state == PublishState.scheduled, table.publish_at <= at
        )
        published = []
        for row in due:
            done = (
                await table.update(
                    {table.publish_state: PublishState.published, table.published_at: clock.as_utc(row["publish_at"]),
                     table.updated_at: at}
                )
                .where(table.id == row["id"], table.publish_state == PublishState.scheduled)
                .returning(table.id)
            )  # fmt: skip
            if done:
                published.append(row)
                if on_published is not None:
                    await on_published(row)
    return published


async def stamp_edit(table: Any, row_id: int, at: datetime, extra: dict[Any, Any] | None = None) -> str | None:
    """After a staff edit of row ``row_id``: ``updated_at`` is ``at`` and a published row without a publication
    date gets ``at``. Returns the row's publish state (None: no such row)."""
    row = await table.select(table.publish_state, table.published_at).where(table.id == row_id).first()
    if row is None:
        return None
    values: dict[Any, Any] = {table.updated_at: at, **(extra or {})}
    if row["publish_state"] == PublishState.published and row["published_at"] is None:
        values[table.published_at] = at
    await table.update(values).where(table.id == row_id)
    return str(row["publish_state"])

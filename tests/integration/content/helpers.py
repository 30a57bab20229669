"""Content test helpers: items with features and files, and customers logged in through the portal."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar

from app.content.runtime import ContentRuntime
from tables.catalog import PlanFeature
from tables.content import ContentItem, ContentItemFeature
from tests import factories
from tests.portal import sign_up

Published = ContentItem.PublishState.published


class QueryCounter:
    """How many SQL statements ran (the ``sql_queries`` fixture)."""

    def __init__(self) -> None:
        self.count = 0


def runtime(app: Litestar) -> ContentRuntime:
    content: ContentRuntime = app.state.content
    return content


async def item(features: tuple[int, ...] = (), **overrides: Any) -> ContentItem:
    row = await factories.content_item(**{"publish_state": Published, "summary": "A summary.", **overrides})
    for feature_id in features:
        await ContentItemFeature.insert(ContentItemFeature(item=row.id, feature=feature_id))
    return row


async def media_item(
    app: Litestar, data: bytes, key: str, content_type: str, features: tuple[int, ...] = (), **overrides: Any
) -> ContentItem:
    await runtime(app).storage.write(key, data)
    kind = overrides.pop("kind", ContentItem.Kind.file)
    return await item(
        features, kind=kind, media_key=key, media_content_type=content_type, media_size=len(data), **overrides
    )


async def plan_with(*feature_ids: int, **overrides: Any) -> int:
    plan = await factories.plan(**overrides)
    for feature_id in feature_ids:
        await PlanFeature.insert(PlanFeature(plan=plan.id, feature=feature_id))
    return int(plan.id)


async def customer_logged_in(client: httpx.AsyncClient, email: str = "reader@example.com") -> int:
    return int((await sign_up(client, email, verified=False)).id)

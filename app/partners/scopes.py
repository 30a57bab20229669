"""The one list of API key scopes. A scope is ``<resource>:<read|write>``; routes name the scopes they need."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from app.errors import InvalidInput


class Scope(StrEnum):
    customers_read = "customers:read"
    customers_write = "customers:write"
    subscriptions_read = "subscriptions:read"
    subscriptions_write = "subscriptions:write"
    plans_read = "plans:read"
    invoices_read = "invoices:read"


KNOWN_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)


def parse_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    """Known scopes in a stable order, duplicates dropped; refuses unknown ones rather than storing them."""
    wanted = {v.strip() for v in values if v.strip()}
    if unknown := sorted(wanted - KNOWN_SCOPES):
        raise InvalidInput(
            f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(sorted(KNOWN_SCOPES))}",
            code="unknown_scope",
        )
    if not wanted:
        raise InvalidInput("an API key needs at least one scope", code="no_scopes")
    return tuple(s for s in Scope if s.value in wanted)


def split_stored(scopes: str) -> frozenset[str]:
    """ApiKey.scopes holds the scopes space-separated."""
    return frozenset(scopes.split())

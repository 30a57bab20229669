"""The in-process store of the zero-set-up default: Litestar's Store contract, and expired entries swept."""

from __future__ import annotations

from app.stores import SWEEP_EVERY, LocalStore


async def test_values_expire_and_can_be_renewed() -> None:
    store = LocalStore()
    await store.set("kept", "value")
    await store.set("short", b"bytes", expires_in=60)
    await store.set("gone", b"bytes", expires_in=-1)  # expired already: no sleeping for it
    assert await store.get("kept") == b"value" and await store.get("short") == b"bytes"
    assert await store.get("gone") is None and await store.expires_in("gone") is None
    assert await store.expires_in("kept") == -1 and 0 < (await store.expires_in("short") or 0) <= 60
    assert await store.get("short", renew_for=600) == b"bytes"
    assert 60 < (await store.expires_in("short") or 0) <= 600
    await store.delete("kept")
    assert not await store.exists("kept") and await store.get("missing") is None


async def test_expired_entries_are_swept_without_being_read() -> None:
    store = LocalStore()
    for n in range(10):
        await store.set(f"page:old:{n}", b"x", expires_in=-1)  # expired the moment they were written
    assert len(store) == 10  # nobody reads old versions' keys again
    for n in range(SWEEP_EVERY - 10):
        await store.set(f"page:new:{n}", b"x")
    assert len(store) == SWEEP_EVERY - 10
    await store.delete_all()
    assert len(store) == 0

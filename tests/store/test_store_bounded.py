"""``Store.bounded``: a caller that cannot wait (a Discord reply) gets TimeoutError, and the read it gave up
on still finishes, so the store's connection is never left in the middle of a transaction."""

from __future__ import annotations

import asyncio

import pytest

from tests.store.conftest import FLUSH_LIMIT


async def test_a_read_in_time_gives_its_result(open_store):
    store = await open_store()
    await store.put_document(1, "notes", "notes.md", "# Notes", None)
    assert [d.document_id for d in await store.bounded(store.documents(1))] == ["notes"]


async def test_a_read_past_its_time_raises_and_is_left_to_finish(open_store):
    store = await open_store()
    go, finished = asyncio.Event(), asyncio.Event()
    results = []

    async def slow_read() -> int:
        await go.wait()
        results.append(await store.collection_usage(1))
        finished.set()
        return 0

    with pytest.raises(TimeoutError):
        await store.bounded(slow_read(), seconds=0)
    go.set()
    await asyncio.wait_for(finished.wait(), FLUSH_LIMIT)
    assert results == [(0, 0)]
    assert await store.bounded(store.collection_usage(1)) == (0, 0)  # the store is still usable

"""Waiting for something that must not be cancelled (a store's read mid-transaction) no longer than a caller can."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(work: Awaitable[T], seconds: float) -> T:
    """``work``'s result, or TimeoutError after ``seconds``; the work itself is never cancelled (cancelling a
    read mid-transaction would leave its connection in that transaction): it finishes in the background and
    its result or error is dropped."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        raise TimeoutError("no answer in time")
    return task.result()

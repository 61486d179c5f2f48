"""Reading the store from the Discord layer: bounded in time, so a hung database never holds an answer up."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from bot.store import Store
from bot.timeouts import within

log = logging.getLogger(__name__)
T = TypeVar("T")

# The longest the bot waits for a read from the store (a server's settings, earlier votes, the reload
# history) before it goes on without it: a last resort against a hung disk. Discord's 3-second deadline
# is met meanwhile by respond_in_time, which shows "thinking…" after DEFER_AFTER seconds.
STORE_READ_WAIT = 10.0


async def bounded_read(read: Awaitable[T]) -> T:
    """``read``, or TimeoutError after STORE_READ_WAIT seconds; the read itself is never cancelled
    (cancelling one mid-transaction would leave the store's connection in that transaction)."""
    return await within(read, STORE_READ_WAIT)


async def write_pending_before_reading(store: Store | None) -> None:
    """Let the writes queued so far land before a read that should show them (``/kb stats``), unless
    the database is failing: then they wait for it, and the read shows what is saved."""
    if store is None or store.health().fault is not None or not store.health().pending:
        return
    try:
        await bounded_read(store.flush())
    except Exception as exc:
        log.info("Reading without the %d pending write(s): %s", store.health().pending, exc)

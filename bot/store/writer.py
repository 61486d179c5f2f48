"""The write queue: record calls return at once, one task writes in order, faults are waited out.

Answering a question must never wait for the database, and a database that is locked, read-only,
full or gone for a while must not lose what the bot saw meanwhile. So writes go into a bounded
queue; the writer applies them in batches (one short transaction each) and, when the database
refuses for a reason that can pass (``describe_fault`` says which), keeps them and retries with
backoff. One warning is logged when a fault episode starts, one line when it ends; none per write.

The bound (``max_pending``, 10,000 by default: hours of questions on a busy server) keeps memory
flat during a long outage; past it the oldest writes are dropped, with one warning when dropping
starts and the number dropped in the recovery line. A write the database rejects for good (a bug,
a constraint) is logged as an error and dropped so it cannot hold up the ones behind it.

This module knows nothing about SQL: every backend hands it an ``apply(batch)`` coroutine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Generic, TypeVar

from bot.store.base import utcnow

log = logging.getLogger("bot.store")
T = TypeVar("T")

MAX_PENDING = 10_000
BATCH_SIZE = 100
FIRST_RETRY = 0.5  # seconds; doubled after every failed attempt
LAST_RETRY = 60.0

RetryWait = Callable[[int], Awaitable[None]]


async def backoff(attempt: int) -> None:
    """Wait before retry number ``attempt``: 0.5 s, 1 s, 2 s … up to a minute."""
    await asyncio.sleep(min(LAST_RETRY, FIRST_RETRY * 2 ** (attempt - 1)))


class FaultLog:
    """One warning per fault episode: the first failure starts it, the first success after it ends it."""

    def __init__(self, where: str):
        self.where = where
        self.reason: str | None = None
        self.since: datetime | None = None
        self.dropped = 0

    @property
    def active(self) -> bool:
        return self.reason is not None

    def report(self, reason: str, pending: int) -> None:
        if self.active:
            return
        self.reason, self.since = reason, utcnow()
        log.warning("Database %s unavailable: %s. The bot keeps answering; %d pending write(s) are kept and "
                    "retried until it is back.", self.where, reason, pending)

    def note_dropped(self, bound: int) -> None:
        if not self.dropped:
            log.warning("Database %s: more than %d writes pending; dropping the oldest until it is back.",
                        self.where, bound)
        self.dropped += 1

    def clear(self, pending: int) -> None:
        if not self.active and not self.dropped:
            return
        if self.dropped:
            log.warning("Database %s is back (it was unavailable: %s); %d oldest write(s) were dropped meanwhile.",
                        self.where, self.reason or "too many writes at once", self.dropped)
        else:
            log.info("Database %s is back (it was unavailable since %s: %s); %d write(s) still pending.",
                     self.where, self.since and self.since.isoformat(timespec="seconds"), self.reason, pending)
        self.reason, self.since, self.dropped = None, None, 0


class WriteQueue(Generic[T]):
    """A bounded, ordered queue of writes and the one task that applies them."""

    def __init__(self, apply: Callable[[Sequence[T]], Awaitable[None]],
                 describe_fault: Callable[[BaseException], str | None], faults: FaultLog, *,
                 max_pending: int = MAX_PENDING, batch_size: int = BATCH_SIZE, retry_wait: RetryWait = backoff):
        if max_pending < batch_size:
            batch_size = max_pending
        self._apply = apply
        self._describe_fault = describe_fault
        self.faults = faults
        self.max_pending = max_pending
        self.batch_size = max(1, batch_size)
        self._retry_wait = retry_wait
        self._items: deque[T] = deque()
        self._in_flight = 0
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._items) + self._in_flight

    def put(self, item: T) -> None:
        """Queue a write; never waits. Past ``max_pending`` the oldest queued write is dropped."""
        self._items.append(item)
        while self.pending > self.max_pending and self._items:
            self._items.popleft()
            self.faults.note_dropped(self.max_pending)
        self._idle.clear()
        self._wakeup.set()

    def discard(self, unwanted: Callable[[T], bool]) -> int:
        """Drop the queued writes ``unwanted`` picks (not one being written now); returns how many."""
        kept = [item for item in self._items if not unwanted(item)]
        dropped = len(self._items) - len(kept)
        self._items = deque(kept)
        if not self.pending:
            self._idle.set()
        return dropped

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="store writer")

    async def flush(self) -> None:
        """Wait until the queue is empty and nothing is being written."""
        while not self._idle.is_set():
            if self._task is None or self._task.done():
                raise RuntimeError("the store's writer is not running (was the store opened?)")
            idle = asyncio.ensure_future(self._idle.wait())
            try:
                await asyncio.wait({idle, self._task}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                idle.cancel()

    async def close(self, timeout: float | None) -> None:
        """Flush for at most ``timeout`` seconds, then stop the writer; says how many writes were not saved."""
        if self._task is not None and not self._task.done():
            if self.pending:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.flush(), timeout)
            if self.pending:
                log.warning("Database %s: closing with %d write(s) not saved (%s).", self.faults.where,
                            self.pending, self.faults.reason or "still writing")
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        attempt = 0
        while True:
            if not self._items:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [self._items.popleft() for _ in range(min(self.batch_size, len(self._items)))]
            self._in_flight = len(batch)
            try:
                reason = await self._write(batch)
            finally:
                self._in_flight = 0
            if reason is None:
                attempt = 0
                self.faults.clear(self.pending)
                continue
            attempt += 1
            self.faults.report(reason, self.pending)
            await self._retry_wait(attempt)

    async def _write(self, batch: list[T]) -> str | None:
        """Apply ``batch``; on a passing fault put it back at the front and return why."""
        try:
            await self._apply(batch)
            return None
        except Exception as exc:
            reason = self._describe_fault(exc)
            if reason is not None:
                self._items.extendleft(reversed(batch))
                return reason
            if len(batch) == 1:
                self._refused(batch[0], exc)
                return None
        # One write in the batch is refused for good: write them one by one to find it.
        for n, item in enumerate(batch):
            try:
                await self._apply([item])
            except Exception as exc:
                reason = self._describe_fault(exc)
                if reason is not None:
                    self._items.extendleft(reversed(batch[n:]))
                    return reason
                self._refused(item, exc)
        return None

    def _refused(self, item: T, exc: Exception) -> None:
        log.error("Database %s refused a %s and it was dropped: %s: %s", self.faults.where, type(item).__name__,
                  type(exc).__name__, exc)

"""Real SQLite files in temp folders, a retry gate the tests open by hand, and honest ways to break a disk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.store import SQLiteStore, UserHasher

NOW = datetime(2026, 5, 9, 12, 0, tzinfo=UTC)
FLUSH_LIMIT = 10  # seconds; a guard against a hung test, never a way to wait for something


class Clock:
    """The store's clock, moved by the test."""

    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def back(self, **delta: float) -> datetime:
        return self.now - timedelta(**delta)


class RetryGate:
    """The writer's retry wait, opened by the test: no sleeping, no guessing how long backoff takes.

    ``await gate.failed()`` returns once the writer has failed and is waiting to retry;
    ``gate.retry()`` lets it try again.
    """

    def __init__(self) -> None:
        self.attempts = 0
        self._waiting = asyncio.Event()
        self._go = asyncio.Event()

    async def __call__(self, attempt: int) -> None:
        self.attempts = attempt
        self._go.clear()
        self._waiting.set()
        await self._go.wait()

    async def failed(self) -> int:
        await asyncio.wait_for(self._waiting.wait(), FLUSH_LIMIT)
        return self.attempts

    def retry(self) -> None:
        self._waiting.clear()
        self._go.set()

    async def fail_again(self) -> int:
        """Let the writer retry while the fault lasts, and wait until that attempt has failed too."""
        self.retry()
        return await self.failed()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gate() -> RetryGate:
    return RetryGate()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "bot.sqlite3"


@pytest.fixture
async def open_store(db_path: Path, clock: Clock, gate: RetryGate) -> AsyncIterator[Callable[..., Any]]:
    """Open SQLiteStores on ``db_path`` (or another path); all are closed after the test."""
    stores: list[SQLiteStore] = []

    async def opener(path: Path | None = None, **options: Any) -> SQLiteStore:
        options = {"hasher": UserHasher(b"test salt"), "clock": clock, "retry_wait": gate, "busy_timeout": 0.05,
                   **options}
        store = SQLiteStore(path or db_path, **options)
        await store.open()
        stores.append(store)
        return store

    yield opener
    for store in stores:
        await store.close(timeout=0)


async def flushed(store: SQLiteStore) -> None:
    await asyncio.wait_for(store.flush(), FLUSH_LIMIT)


def store_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("bot.store") and r.levelno == logging.WARNING]


@pytest.fixture(autouse=True)
def store_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.store")


def ask(store: SQLiteStore, question: str = "What did Russia do in Syria?", **fields: Any) -> str:
    """Record a question with plausible defaults."""
    values = {"answered": True, "passage_ids": ("putin#p4", "putin#p6"), "latency_ms": 12.0, "guild_id": 1,
              "channel_id": 10, "user_id": 100, **fields}
    return store.record_question(question=question, **values)


# ------------------------------------------------------------------------------------ breaking the disk


def _chattr(flag: str, path: Path) -> bool:
    result = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True)
    return result.returncode == 0


@contextlib.contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make files and folders unwritable for real, and always undo it.

    As root, permission bits stop nothing, so the immutable attribute (``chattr +i``) is used; as
    another user, taking away the write bits is enough.
    """
    undo: list[Callable[[], object]] = []
    try:
        for path in paths:
            if not path.exists():
                continue
            if os.geteuid() == 0:
                if not _chattr("+i", path):
                    pytest.fail(f"chattr +i {path} failed: this file system cannot make files immutable")
                undo.append(lambda p=path: _chattr("-i", p))
            else:
                mode = path.stat().st_mode
                path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
                undo.append(lambda p=path, m=mode: p.chmod(m))
        yield
    finally:
        for step in reversed(undo):
            step()

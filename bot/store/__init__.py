"""Everything the bot remembers: the question log, feedback, per-server settings and reload history.

``open_store(settings)`` gives the bot its ``Store``: PostgreSQL when DATABASE_URL is set (one database
that several processes share; ``bot.store.postgres``, needing the ``postgres`` extra), else SQLite at
DATABASE_PATH. The records, ``Stats`` and ``StoreError`` are plain data from ``bot.store.base`` (a reload's from
``bot.reloads``); the statements are written once (``bot.store.queries``) for both.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from bot.reloads import ReloadRecord
from bot.settings import Settings
from bot.store.base import (
    DOWN,
    EVERYWHERE,
    UP,
    CollectionFull,
    Count,
    ForgottenGuild,
    GuildSettings,
    LoggedQuestion,
    PassageVotes,
    PostQuestion,
    QuestionRecord,
    Scope,
    Stats,
    Store,
    StoredDocument,
    StoreError,
    StoreHealth,
    UnansweredPost,
    UnansweredQuestion,
    UserHasher,
    Vote,
)
from bot.store.sqlite import SQLiteStore

__all__ = ["DOWN", "EVERYWHERE", "UP", "CollectionFull", "Count", "ForgottenGuild", "GuildSettings", "LoggedQuestion",
           "PassageVotes", "PostQuestion", "QuestionRecord", "ReloadRecord", "SQLiteStore", "Scope", "Stats", "Store",
           "StoreError", "StoreHealth", "StoredDocument", "UnansweredPost", "UnansweredQuestion", "UserHasher", "Vote",
           "load_salt", "open_store", "store_from_settings"]

log = logging.getLogger("bot.store")
SALT_FILE = "hash_salt"


def load_salt(settings: Settings) -> bytes:
    """HASH_SALT, else the salt kept in the state folder (made on first run, readable by its owner only).

    The salt lives outside the database on purpose: a copied database alone does not let anyone
    test user ids against the pseudonyms. If the file can be neither read nor made, a salt for
    this run only is used (pseudonyms then change at the next start) and a warning says so.
    """
    if settings.hash_salt:
        return settings.hash_salt.encode()
    path = Path(settings.state_dir) / SALT_FILE
    try:
        return _read_or_create_salt(path)
    except OSError as exc:
        log.warning("Cannot keep the hash salt in %s (%s): using one for this run only; set HASH_SALT to keep "
                    "pseudonyms stable across restarts", path, exc.strerror or exc)
        return secrets.token_hex(32).encode()


def _read_or_create_salt(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_hex(32) + "\n")
    salt = path.read_bytes().strip()
    if not salt:
        raise OSError(f"{path} is empty")
    return salt


def store_from_settings(settings: Settings, *, read_only: bool = False, **options: object) -> Store:
    """The store DATABASE_URL or DATABASE_PATH describes, not opened yet (``options`` go to the backend).

    ``read_only`` (the terminal's stats and export) needs no salt and creates nothing.
    """
    hasher = None if read_only else UserHasher(load_salt(settings))
    if settings.database_url:
        try:
            from bot.store.postgres import PostgresStore
        except ImportError as exc:  # asyncpg is an extra: SQLite needs nothing
            raise StoreError("DATABASE_URL", f"PostgreSQL needs asyncpg ({exc}): pip install 'kb-answer-bot[postgres]'"
                             ) from exc
        return PostgresStore(settings.database_url, hasher=hasher, retention_days=settings.retention_days,
                             read_only=read_only, **options)  # type: ignore[arg-type]
    return SQLiteStore(settings.database_path, hasher=hasher, retention_days=settings.retention_days,
                       read_only=read_only, **options)  # type: ignore[arg-type]


async def open_store(settings: Settings, *, read_only: bool = False, **options: object) -> Store:
    """Open (create or upgrade) the store; raises StoreError if the database is damaged or newer than the bot."""
    store = store_from_settings(settings, read_only=read_only, **options)
    await store.open()
    return store

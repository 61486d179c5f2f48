"""The schema, as an ordered list of SQL steps; ``PRAGMA user_version`` says how many a database has had.

Append a step to change the schema; never edit one that has shipped. Each step runs in one
transaction together with the version bump, so a database is always at exactly one version.

The SQL sticks to what SQLite and PostgreSQL both accept (TEXT, BIGINT, BOOLEAN, REAL, foreign keys,
ON CONFLICT upserts elsewhere), so a PostgreSQL list can follow these steps one for one. Times are
ISO 8601 text in UTC ("2026-05-09T07:35:25.123456+00:00"): they sort as text and read well in the
sqlite3 shell. Discord ids are BIGINT; they fit in a signed 64-bit integer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "question log", """
        CREATE TABLE questions (
            id TEXT PRIMARY KEY,
            asked_at TEXT NOT NULL,
            guild_id BIGINT,                -- NULL: a direct message
            channel_id BIGINT,              -- NULL in direct messages
            asker_hash TEXT NOT NULL,       -- HMAC-SHA256 of the user id with HASH_SALT, never the id
            question TEXT NOT NULL,
            answered BOOLEAN NOT NULL,
            latency_ms INTEGER NOT NULL
        );
        CREATE INDEX questions_by_time ON questions (asked_at);
        CREATE INDEX questions_by_guild_and_time ON questions (guild_id, asked_at);

        CREATE TABLE question_passages (
            question_id TEXT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,      -- 1: the answer's first excerpt
            passage_id TEXT NOT NULL,
            document_id TEXT NOT NULL,
            PRIMARY KEY (question_id, position)
        );
        CREATE INDEX question_passages_by_passage ON question_passages (passage_id);
    """),
    Migration(2, "feedback", """
        CREATE TABLE feedback (
            question_id TEXT NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
            voter_hash TEXT NOT NULL,
            vote SMALLINT NOT NULL CHECK (vote IN (-1, 1)),
            voted_at TEXT NOT NULL,
            PRIMARY KEY (question_id, voter_hash)
        );
    """),
    Migration(3, "per-server settings", """
        CREATE TABLE guild_settings (
            guild_id BIGINT PRIMARY KEY,
            answer_channel_ids TEXT,        -- JSON array of channel ids; NULL: ASK_CHANNEL_IDS
            public_answers BOOLEAN NOT NULL,
            cooldown_seconds REAL,          -- NULL: COOLDOWN_SECONDS
            updated_at TEXT NOT NULL
        );
    """),
    Migration(4, "reload history", """
        CREATE TABLE reloads (
            id TEXT PRIMARY KEY,
            reloaded_at TEXT NOT NULL,
            guild_id BIGINT,                -- whose collection; NULL: the shared knowledge base
            by_name TEXT NOT NULL,
            by_hash TEXT,
            error TEXT,                     -- NULL: the reload succeeded
            documents INTEGER NOT NULL,
            passages INTEGER NOT NULL,
            documents_added TEXT NOT NULL,  -- JSON arrays of document ids
            documents_changed TEXT NOT NULL,
            documents_removed TEXT NOT NULL,
            passages_added INTEGER NOT NULL,
            passages_changed INTEGER NOT NULL,
            passages_removed INTEGER NOT NULL,
            skipped TEXT NOT NULL           -- JSON array of {"path": ..., "reason": ...}
        );
        CREATE INDEX reloads_by_guild_and_time ON reloads (guild_id, reloaded_at);
    """),
)

LATEST = MIGRATIONS[-1].version

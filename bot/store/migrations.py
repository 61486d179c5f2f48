"""The schema, as ordered lists of SQL steps: one list for SQLite, one for PostgreSQL, step for step.

Append a step to change the schema, to both lists with the same number and name (a test checks);
never edit one that has shipped. Each step runs in one transaction together with the version bump,
so a database is always at exactly one version: ``PRAGMA user_version`` in SQLite, the
``schema_migrations`` table in PostgreSQL (which has no user_version).

SQLite: times are ISO 8601 text in UTC ("2026-05-09T07:35:25.123456+00:00"): they sort as text and
read well in the sqlite3 shell; lists are JSON text. PostgreSQL: the same tables and columns in its
own types (TIMESTAMPTZ, BOOLEAN, BIGINT[], TEXT[], JSONB). Discord ids are BIGINT in both; they fit
in a signed 64-bit integer.
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
    Migration(5, "server collections", """
        CREATE TABLE collection_documents (
            guild_id BIGINT NOT NULL,       -- the server whose collection it is
            document_id TEXT NOT NULL,      -- the slug /kb remove names
            filename TEXT NOT NULL,
            text TEXT NOT NULL,             -- the whole file, UTF-8
            checksum TEXT NOT NULL,         -- SHA-256 of the UTF-8 text, hex
            size_bytes INTEGER NOT NULL,
            added_at TEXT NOT NULL,
            added_by TEXT,                  -- the admin's pseudonym; NULL when not added by a Discord user
            PRIMARY KEY (guild_id, document_id)
        );

        -- What other processes poll to know a collection changed. Versions come from one counter
        -- and are never reused, so a collection deleted and built again never repeats a version.
        CREATE TABLE collection_versions (
            guild_id BIGINT PRIMARY KEY,
            version BIGINT NOT NULL
        );
        CREATE TABLE collection_changes (last BIGINT NOT NULL);
        INSERT INTO collection_changes (last) VALUES (0);
    """),
)

LATEST = MIGRATIONS[-1].version

# The same steps in PostgreSQL's types. Its DDL is transactional too: a failing step leaves nothing.
POSTGRES_MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "question log", """
        CREATE TABLE questions (
            id TEXT PRIMARY KEY,
            asked_at TIMESTAMPTZ NOT NULL,
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
            voted_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (question_id, voter_hash)
        );
    """),
    Migration(3, "per-server settings", """
        CREATE TABLE guild_settings (
            guild_id BIGINT PRIMARY KEY,
            answer_channel_ids BIGINT[],    -- NULL: ASK_CHANNEL_IDS; empty: no channel
            public_answers BOOLEAN NOT NULL,
            cooldown_seconds DOUBLE PRECISION,  -- NULL: COOLDOWN_SECONDS
            updated_at TIMESTAMPTZ NOT NULL
        );
    """),
    Migration(4, "reload history", """
        CREATE TABLE reloads (
            id TEXT PRIMARY KEY,
            reloaded_at TIMESTAMPTZ NOT NULL,
            guild_id BIGINT,                -- whose collection; NULL: the shared knowledge base
            by_name TEXT NOT NULL,
            by_hash TEXT,
            error TEXT,                     -- NULL: the reload succeeded
            documents INTEGER NOT NULL,
            passages INTEGER NOT NULL,
            documents_added TEXT[] NOT NULL,
            documents_changed TEXT[] NOT NULL,
            documents_removed TEXT[] NOT NULL,
            passages_added INTEGER NOT NULL,
            passages_changed INTEGER NOT NULL,
            passages_removed INTEGER NOT NULL,
            skipped JSONB NOT NULL          -- [{"path": ..., "reason": ...}]
        );
        CREATE INDEX reloads_by_guild_and_time ON reloads (guild_id, reloaded_at);
    """),
    Migration(5, "server collections", """
        CREATE TABLE collection_documents (
            guild_id BIGINT NOT NULL,
            document_id TEXT NOT NULL,
            filename TEXT NOT NULL,
            text TEXT NOT NULL,
            checksum TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            added_at TIMESTAMPTZ NOT NULL,
            added_by TEXT,
            PRIMARY KEY (guild_id, document_id)
        );
        CREATE TABLE collection_versions (
            guild_id BIGINT PRIMARY KEY,
            version BIGINT NOT NULL
        );
        CREATE SEQUENCE collection_changes;
    """),
)

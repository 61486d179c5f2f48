"""The schema, as one ordered list of SQL steps, written once and given to each backend in its own types.

Append a step to change the schema; never edit one that has shipped. Each step runs in one
transaction together with the version bump, so a database is always at exactly one version:
``PRAGMA user_version`` in SQLite, the ``schema_migrations`` table in PostgreSQL (which has no
user_version).

The steps name their column types by what they hold (``$TIME``, ``$ID_LIST`` …); each dialect says
how it stores that. SQLite: times are ISO 8601 text in UTC ("2026-05-09T07:35:25.123456+00:00"):
they sort as text and read well in the sqlite3 shell; lists are JSON text. PostgreSQL: its own
types (TIMESTAMPTZ, BIGINT[], TEXT[], JSONB). Discord ids are BIGINT in both; they fit in a signed
64-bit integer. The one counter (collection versions) is a one-row table in SQLite, a SEQUENCE in
PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from bot.store.base import StoreError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


STEPS: tuple[Migration, ...] = (
    Migration(1, "question log", """
        CREATE TABLE questions (
            id TEXT PRIMARY KEY,
            asked_at $TIME NOT NULL,
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
            voted_at $TIME NOT NULL,
            PRIMARY KEY (question_id, voter_hash)
        );
    """),
    Migration(3, "per-server settings", """
        CREATE TABLE guild_settings (
            guild_id BIGINT PRIMARY KEY,
            answer_channel_ids $ID_LIST,    -- NULL: ASK_CHANNEL_IDS; empty: no channel
            public_answers BOOLEAN NOT NULL,
            cooldown_seconds $FLOAT,        -- NULL: COOLDOWN_SECONDS
            updated_at $TIME NOT NULL
        );
    """),
    Migration(4, "reload history", """
        CREATE TABLE reloads (
            id TEXT PRIMARY KEY,
            reloaded_at $TIME NOT NULL,
            guild_id BIGINT,                -- whose collection; NULL: the shared knowledge base
            by_name TEXT NOT NULL,
            by_hash TEXT,
            error TEXT,                     -- NULL: the reload succeeded
            documents INTEGER NOT NULL,
            passages INTEGER NOT NULL,
            documents_added $NAME_LIST NOT NULL,  -- document ids
            documents_changed $NAME_LIST NOT NULL,
            documents_removed $NAME_LIST NOT NULL,
            passages_added INTEGER NOT NULL,
            passages_changed INTEGER NOT NULL,
            passages_removed INTEGER NOT NULL,
            skipped $JSON NOT NULL          -- [{"path": ..., "reason": ...}]
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
            added_at $TIME NOT NULL,
            added_by TEXT,                  -- the admin's pseudonym; NULL when not added by a Discord user
            PRIMARY KEY (guild_id, document_id)
        );

        -- What other processes poll to know a collection changed. Versions come from one counter
        -- and are never reused, so a collection deleted and built again never repeats a version.
        CREATE TABLE collection_versions (
            guild_id BIGINT PRIMARY KEY,
            version BIGINT NOT NULL
        );
        $COUNTER
    """),
    Migration(6, "forum posts", """
        -- The help forums whose new posts the bot answers (/kb settings forum:); NULL: none.
        ALTER TABLE guild_settings ADD COLUMN forum_channel_ids $ID_LIST;

        -- A forum post's question is logged like any other, with the post (its thread's id): one per post, so
        -- a restarted bot never answers a post twice. solved_at: when its author or an admin pressed Solved.
        ALTER TABLE questions ADD COLUMN post_id BIGINT;
        ALTER TABLE questions ADD COLUMN solved_at $TIME;
        CREATE UNIQUE INDEX questions_by_post ON questions (post_id) WHERE post_id IS NOT NULL;
    """),
    Migration(7, "answer threads", """
        -- The channels where each public answer starts a thread for its follow-ups (/kb settings threads:); NULL: none.
        ALTER TABLE guild_settings ADD COLUMN thread_channel_ids $ID_LIST;
    """),
    Migration(8, "when help forums were named", """
        -- {"<forum id>": "<when /kb settings forum: named it, ISO 8601 UTC>"}; NULL: none known. A bot that starts
        -- answers the posts made since then that it missed while it was away, and never an older one.
        ALTER TABLE guild_settings ADD COLUMN forums_named_at $JSON;
    """),
)

SQLITE_TYPES = {
    "TIME": "TEXT", "ID_LIST": "TEXT", "NAME_LIST": "TEXT", "JSON": "TEXT", "FLOAT": "REAL",
    "COUNTER": "CREATE TABLE collection_changes (last BIGINT NOT NULL);\n"
               "        INSERT INTO collection_changes (last) VALUES (0);",
}
# PostgreSQL's DDL is transactional too: a failing step leaves nothing.
POSTGRES_TYPES = {
    "TIME": "TIMESTAMPTZ", "ID_LIST": "BIGINT[]", "NAME_LIST": "TEXT[]", "JSON": "JSONB", "FLOAT": "DOUBLE PRECISION",
    "COUNTER": "CREATE SEQUENCE collection_changes;",
}


def in_dialect(types: dict[str, str]) -> tuple[Migration, ...]:
    return tuple(Migration(step.version, step.name, Template(step.sql).substitute(types)) for step in STEPS)


MIGRATIONS = in_dialect(SQLITE_TYPES)
POSTGRES_MIGRATIONS = in_dialect(POSTGRES_TYPES)
LATEST = STEPS[-1].version


def refuse_newer(version: int, known: int, where: str, what: str = "the database") -> None:
    """StoreError for a database a newer bot has upgraded: this one would not know its tables."""
    if version > known:
        raise StoreError(where, f"the database has schema version {version} but this bot knows only {known}: "
                                f"run a newer bot ({what} was left untouched)")


def refuse_older(version: int, where: str) -> None:
    """StoreError for a read-only opening of a database this bot would have to upgrade first."""
    if version != LATEST:
        raise StoreError(where, f"the database has schema version {version}, this bot {LATEST}: "
                                "run the bot once to upgrade it")

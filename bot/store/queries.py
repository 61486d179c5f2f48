"""Every statement the store runs, written once, with named parameters (``:name``).

A backend hands these functions a ``Session``: one open transaction that binds the parameters in
its own style (sqlite3 takes ``:name`` as it is; asyncpg needs ``$1``), stores times and lists in its
own column types, and says how many rows a statement changed. Reading back, SQLite gives text where
PostgreSQL gives a ``datetime`` or a list: ``_when`` and ``_list`` accept both. Text is ordered
``COLLATE BINARY`` (byte order, as SQLite does by default; PostgreSQL's session calls it "C"). What
truly differs by dialect is the session's own: taking the next collection version, and whether an
insert may meet its own earlier attempt (``on_repeat``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from bot.knowledge.models import Problem
from bot.reloads import ReloadRecord, ReloadReport
from bot.store.base import (
    EVERYWHERE,
    Count,
    ForgottenGuild,
    GuildSettings,
    LoggedQuestion,
    PassageVotes,
    PostQuestion,
    QuestionRecord,
    Scope,
    SolvedPost,
    Stats,
    StoredDocument,
    UnansweredPost,
    Vote,
    as_utc,
    utcnow,
)
from bot.store.stats import busiest_topics, unanswered_questions

log = logging.getLogger("bot.store")
Record = QuestionRecord | PostQuestion | SolvedPost | Vote | GuildSettings | ReloadRecord
TOP = 10  # rows in each "most …" list of the stats
IN_CHUNK = 500  # ids per IN (…) list: SQLite caps the number of parameters


class Session(Protocol):
    """One transaction on one connection, whatever the database."""

    # Ends an insert of a row whose id the store made: "ON CONFLICT (id) DO NOTHING" where a retry can
    # repeat a write whose COMMIT went unanswered (a server over the network), else "" (a repeat is a bug).
    on_repeat: str

    async def execute(self, sql: str, /, **params: Any) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Mapping[str, Any]]) -> None: ...

    async def fetch(self, sql: str, /, **params: Any) -> list[Sequence[Any]]: ...

    async def new_collection_version(self, guild_id: int) -> int:
        """Give a server's collection a version no collection has had before: the counter only goes up."""
        ...


def _when(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _list(value: Sequence[Any] | str) -> list[Any]:
    return json.loads(value) if isinstance(value, str) else list(value)


def _document_id(passage_id: str) -> str:
    return passage_id.split("#", 1)[0]


async def insert_question(s: Session, q: QuestionRecord, post_id: int | None = None) -> None:
    """A question and its cited passages. A forum post's (``post_id``) is kept once: the first one logged
    for the post stays (ON CONFLICT covers the post's unique index too)."""
    inserted = await s.execute(
        "INSERT INTO questions (id, asked_at, guild_id, channel_id, asker_hash, question, answered, latency_ms, "
        "post_id) VALUES (:id, :asked_at, :guild_id, :channel_id, :asker_hash, :question, :answered, :latency_ms, "
        ":post_id) " + (s.on_repeat if post_id is None else "ON CONFLICT DO NOTHING"),
        id=q.id, asked_at=q.asked_at, guild_id=q.guild_id, channel_id=q.channel_id, asker_hash=q.asker_hash,
        question=q.question, answered=q.answered, latency_ms=q.latency_ms, post_id=post_id)
    if not inserted:
        return  # written by an attempt whose COMMIT went unanswered, or the post's question is logged already
    await s.execute_many(
        "INSERT INTO question_passages (question_id, position, passage_id, document_id) "
        "VALUES (:question_id, :position, :passage_id, :document_id)",
        [{"question_id": q.id, "position": n, "passage_id": passage_id, "document_id": _document_id(passage_id)}
         for n, passage_id in enumerate(q.passage_ids, 1)])


async def upsert_vote(s: Session, v: Vote) -> None:
    """One row per person per answer; a vote on an answer the log does not have (purged) is ignored."""
    written = await s.execute(
        "INSERT INTO feedback (question_id, voter_hash, vote, voted_at) "
        "SELECT :question_id, :voter_hash, :vote, :voted_at "
        "WHERE EXISTS (SELECT 1 FROM questions WHERE id = :question_id) "
        "ON CONFLICT (question_id, voter_hash) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at",
        question_id=v.question_id, voter_hash=v.voter_hash, vote=v.vote, voted_at=v.voted_at)
    if not written:
        log.info("A vote on answer %s was ignored: the question log no longer has it", v.question_id)


async def upsert_guild_settings(s: Session, g: GuildSettings) -> None:
    await s.execute(
        "INSERT INTO guild_settings (guild_id, answer_channel_ids, public_answers, cooldown_seconds, updated_at, "
        "forum_channel_ids, thread_channel_ids, forums_named_at) "
        "VALUES (:guild_id, :channels, :public_answers, :cooldown_seconds, :updated_at, :forums, :threads, :named) "
        "ON CONFLICT (guild_id) DO UPDATE SET answer_channel_ids = excluded.answer_channel_ids, "
        "public_answers = excluded.public_answers, cooldown_seconds = excluded.cooldown_seconds, "
        "updated_at = excluded.updated_at, forum_channel_ids = excluded.forum_channel_ids, "
        "thread_channel_ids = excluded.thread_channel_ids, forums_named_at = excluded.forums_named_at",
        guild_id=g.guild_id, channels=None if g.answer_channel_ids is None else sorted(g.answer_channel_ids),
        public_answers=g.public_answers, cooldown_seconds=g.cooldown_seconds, updated_at=g.updated_at or utcnow(),
        forums=sorted(g.forum_channel_ids) or None, threads=sorted(g.thread_channel_ids) or None,
        named=json.dumps({str(forum): as_utc(at).isoformat() for forum, at in sorted(g.forums_named_at.items())})
        if g.forums_named_at else None)


async def mark_solved(s: Session, p: SolvedPost) -> None:
    await s.execute("UPDATE questions SET solved_at = :solved_at WHERE post_id = :post_id AND guild_id = :guild_id "
                    "AND solved_at IS NULL", solved_at=p.solved_at, post_id=p.post_id, guild_id=p.guild_id)


async def insert_reload(s: Session, r: ReloadRecord) -> None:
    report = r.report
    await s.execute(
        "INSERT INTO reloads (id, reloaded_at, guild_id, by_name, by_hash, error, documents, passages, "
        "documents_added, documents_changed, documents_removed, passages_added, passages_changed, "
        "passages_removed, skipped) VALUES (:id, :at, :guild_id, :by_name, :by_hash, :error, :documents, "
        ":passages, :added, :changed, :removed, :passages_added, :passages_changed, :passages_removed, :skipped) "
        + s.on_repeat,
        id=r.id, at=r.at, guild_id=r.guild_id, by_name=r.by_name, by_hash=r.by_hash, error=report.error,
        documents=report.documents, passages=report.passages, added=list(report.documents_added),
        changed=list(report.documents_changed), removed=list(report.documents_removed),
        passages_added=report.passages_added, passages_changed=report.passages_changed,
        passages_removed=report.passages_removed,
        skipped=json.dumps([{"path": str(p.path), "reason": p.reason} for p in report.problems], ensure_ascii=False))


async def write_records(s: Session, records: Iterable[Record]) -> None:
    for record in records:
        match record:
            case QuestionRecord():
                await insert_question(s, record)
            case PostQuestion():
                await insert_question(s, record.question, record.post_id)
            case SolvedPost():
                await mark_solved(s, record)
            case Vote():
                await upsert_vote(s, record)
            case GuildSettings():
                await upsert_guild_settings(s, record)
            case ReloadRecord():
                await insert_reload(s, record)
            case _:
                raise TypeError(f"not a record the store keeps: {record!r}")


async def delete_expired(s: Session, cutoff: datetime) -> int:
    """Questions asked before ``cutoff`` (their passages and votes go with them: ON DELETE CASCADE), and
    reloads before it except each collection's latest, which ``/kb status`` shows."""
    deleted = await s.execute("DELETE FROM questions WHERE asked_at < :cutoff", cutoff=cutoff)
    await s.execute(
        "DELETE FROM reloads WHERE reloaded_at < :cutoff AND reloaded_at < ("
        " SELECT MAX(newer.reloaded_at) FROM reloads AS newer"
        " WHERE COALESCE(newer.guild_id, 0) = COALESCE(reloads.guild_id, 0))", cutoff=cutoff)
    return deleted


async def collection_usage_besides(s: Session, guild_id: int, document_id: str) -> tuple[int, int]:
    """(documents, bytes) of a server's collection not counting ``document_id`` (which a put replaces)."""
    [(count, size)] = await s.fetch(
        "SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM collection_documents "
        "WHERE guild_id = :guild_id AND document_id <> :document_id", guild_id=guild_id, document_id=document_id)
    return int(count), int(size)


async def upsert_document(s: Session, d: StoredDocument) -> None:
    await s.execute(
        "INSERT INTO collection_documents (guild_id, document_id, filename, text, checksum, size_bytes, added_at, "
        "added_by) VALUES (:guild_id, :document_id, :filename, :text, :checksum, :size_bytes, :added_at, :added_by) "
        "ON CONFLICT (guild_id, document_id) DO UPDATE SET filename = excluded.filename, text = excluded.text, "
        "checksum = excluded.checksum, size_bytes = excluded.size_bytes, added_at = excluded.added_at, "
        "added_by = excluded.added_by",
        guild_id=d.guild_id, document_id=d.document_id, filename=d.filename, text=d.text, checksum=d.checksum,
        size_bytes=d.size_bytes, added_at=d.added_at, added_by=d.added_by)


async def remove_document(s: Session, guild_id: int, document_id: str) -> bool:
    deleted = await s.execute("DELETE FROM collection_documents WHERE guild_id = :guild_id AND "
                              "document_id = :document_id", guild_id=guild_id, document_id=document_id)
    if not deleted:
        return False
    await s.new_collection_version(guild_id)
    return True


async def select_documents(s: Session, guild_id: int) -> list[StoredDocument]:
    rows = await s.fetch("SELECT guild_id, document_id, filename, text, checksum, size_bytes, added_at, added_by "
                         "FROM collection_documents WHERE guild_id = :guild_id ORDER BY document_id COLLATE BINARY",
                         guild_id=guild_id)
    return [StoredDocument(r[0], r[1], r[2], r[3], r[4], r[5], _when(r[6]), r[7]) for r in rows]


async def select_collection_versions(s: Session, guild_ids: Sequence[int]) -> dict[int, int]:
    versions = dict.fromkeys(guild_ids, 0)
    for start in range(0, len(guild_ids), IN_CHUNK):
        chunk = {f"g{n}": guild_id for n, guild_id in enumerate(guild_ids[start:start + IN_CHUNK])}
        marks = ", ".join(f":{name}" for name in chunk)
        for guild_id, version in await s.fetch(
                f"SELECT guild_id, version FROM collection_versions WHERE guild_id IN ({marks})", **chunk):
            versions[guild_id] = int(version)
    return versions


async def delete_guild(s: Session, guild_id: int) -> ForgottenGuild:
    """Everything kept about one server; direct messages and other servers are untouched."""
    async def delete(sql: str) -> int:
        return await s.execute(sql, guild_id=guild_id)

    votes = await delete("DELETE FROM feedback WHERE question_id IN (SELECT id FROM questions "
                         "WHERE guild_id = :guild_id)")
    questions = await delete("DELETE FROM questions WHERE guild_id = :guild_id")  # passages: ON DELETE CASCADE
    reloads = await delete("DELETE FROM reloads WHERE guild_id = :guild_id")
    settings = await delete("DELETE FROM guild_settings WHERE guild_id = :guild_id")
    documents = await delete("DELETE FROM collection_documents WHERE guild_id = :guild_id")
    await delete("DELETE FROM collection_versions WHERE guild_id = :guild_id")
    return ForgottenGuild(guild_id, documents, questions, votes, reloads, settings)


def where_questions(scope: Scope, since: datetime | None = None, until: datetime | None = None
                    ) -> tuple[str, dict[str, Any]]:
    """The filter on ``questions AS q`` for a scope and period, with its parameters."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if scope is None:
        conditions.append("q.guild_id IS NULL")
    elif scope is not EVERYWHERE:
        conditions.append("q.guild_id = :guild_id")
        params["guild_id"] = int(scope)
    if since is not None:
        conditions.append("q.asked_at >= :since")
        params["since"] = as_utc(since)
    if until is not None:
        conditions.append("q.asked_at <= :until")
        params["until"] = as_utc(until)
    return " AND ".join(conditions) or "1 = 1", params


async def select_questions(s: Session, where: str, params: dict[str, Any]) -> list[LoggedQuestion]:
    rows = await s.fetch(f"""
        SELECT q.id, q.asked_at, q.guild_id, q.channel_id, q.asker_hash, q.question, q.answered, q.latency_ms,
               (SELECT COUNT(*) FROM feedback AS f WHERE f.question_id = q.id AND f.vote > 0) AS votes_up,
               (SELECT COUNT(*) FROM feedback AS f WHERE f.question_id = q.id AND f.vote < 0) AS votes_down
        FROM questions AS q WHERE {where} ORDER BY q.asked_at, q.id COLLATE BINARY""", **params)
    passages: dict[str, list[str]] = {}
    for question_id, passage_id in await s.fetch(f"""
            SELECT qp.question_id, qp.passage_id FROM question_passages AS qp
            JOIN questions AS q ON q.id = qp.question_id
            WHERE {where} ORDER BY qp.question_id, qp.position""", **params):
        passages.setdefault(question_id, []).append(passage_id)
    return [LoggedQuestion(QuestionRecord(
        id=row[0], asked_at=_when(row[1]), guild_id=row[2], channel_id=row[3], asker_hash=row[4], question=row[5],
        answered=bool(row[6]), passage_ids=tuple(passages.get(row[0], ())), latency_ms=row[7]),
        votes_up=row[8], votes_down=row[9]) for row in rows]


async def select_votes(s: Session, question_id: str) -> tuple[Vote, ...]:
    rows = await s.fetch("SELECT question_id, voter_hash, vote, voted_at FROM feedback "
                         "WHERE question_id = :question_id ORDER BY voted_at, voter_hash COLLATE BINARY",
                         question_id=question_id)
    return tuple(Vote(r[0], r[1], r[2], _when(r[3])) for r in rows)


async def select_guild_settings(s: Session, guild_id: int) -> GuildSettings | None:
    rows = await s.fetch("SELECT guild_id, answer_channel_ids, public_answers, cooldown_seconds, updated_at, "
                         "forum_channel_ids, thread_channel_ids, forums_named_at FROM guild_settings "
                         "WHERE guild_id = :guild_id", guild_id=guild_id)
    if not rows:
        return None
    guild, channels, public, cooldown, updated_at, forums, threads, named = rows[0]
    named_at = {int(forum): _when(at) for forum, at in (json.loads(named) if named is not None else {}).items()}
    return GuildSettings(guild, None if channels is None else frozenset(_list(channels)), bool(public), cooldown,
                         _when(updated_at), _id_set(forums), _id_set(threads), named_at)


def _id_set(value: Sequence[Any] | str | None) -> frozenset[int]:
    return frozenset() if value is None else frozenset(_list(value))


async def select_post_question_id(s: Session, post_id: int) -> str | None:
    rows = await s.fetch("SELECT id FROM questions WHERE post_id = :post_id", post_id=post_id)
    return rows[0][0] if rows else None


async def select_unanswered_posts(s: Session, guild_id: int, since: datetime) -> tuple[UnansweredPost, ...]:
    rows = await s.fetch("SELECT post_id, question, asked_at FROM questions WHERE guild_id = :guild_id "
                         "AND post_id IS NOT NULL AND NOT answered AND solved_at IS NULL AND asked_at >= :since "
                         "ORDER BY asked_at DESC, post_id DESC", guild_id=guild_id, since=as_utc(since))
    return tuple(UnansweredPost(int(r[0]), r[1], _when(r[2])) for r in rows)


async def select_logged_posts(s: Session, post_ids: list[int]) -> frozenset[int]:
    logged: set[int] = set()
    for start in range(0, len(post_ids), IN_CHUNK):
        chunk = {f"p{n}": post_id for n, post_id in enumerate(post_ids[start:start + IN_CHUNK])}
        marks = ", ".join(f":{name}" for name in chunk)
        logged.update(int(row[0]) for row in await s.fetch(
            f"SELECT post_id FROM questions WHERE post_id IN ({marks})", **chunk))
    return frozenset(logged)


def _reload_record(row: Sequence[Any]) -> ReloadRecord:
    (id_, at, guild_id, by_name, by_hash, error, documents, passages, added, changed, removed,
     passages_added, passages_changed, passages_removed, skipped) = row
    report = ReloadReport(
        documents_added=tuple(_list(added)), documents_changed=tuple(_list(changed)),
        documents_removed=tuple(_list(removed)), passages_added=passages_added,
        passages_changed=passages_changed, passages_removed=passages_removed,
        problems=tuple(Problem(Path(p["path"]), p["reason"]) for p in json.loads(skipped)),
        documents=documents, passages=passages, error=error)
    return ReloadRecord(_when(at), by_name, report, guild_id, by_hash, id_)


async def select_reloads(s: Session, guild_id: int | None, limit: int) -> tuple[ReloadRecord, ...]:
    which = "guild_id IS NULL" if guild_id is None else "guild_id = :guild_id"
    rows = await s.fetch(f"""
        SELECT id, reloaded_at, guild_id, by_name, by_hash, error, documents, passages, documents_added,
               documents_changed, documents_removed, passages_added, passages_changed, passages_removed, skipped
        FROM reloads WHERE {which} ORDER BY reloaded_at DESC, id COLLATE BINARY DESC LIMIT :limit""",
                         limit=limit, **({} if guild_id is None else {"guild_id": guild_id}))
    return tuple(_reload_record(row) for row in rows)


async def select_stats(s: Session, scope: Scope, since: datetime, until: datetime) -> Stats:
    where, params = where_questions(scope, since, until)
    asked = await s.fetch(f"SELECT q.question, q.answered, q.asked_at FROM questions AS q WHERE {where}", **params)
    documents = await s.fetch(f"""
        SELECT qp.document_id, COUNT(DISTINCT qp.question_id) AS questions
        FROM question_passages AS qp JOIN questions AS q ON q.id = qp.question_id
        WHERE {where} GROUP BY qp.document_id
        ORDER BY questions DESC, qp.document_id COLLATE BINARY LIMIT :top""", top=TOP, **params)
    [(up, down)] = await s.fetch(f"""
        SELECT COALESCE(SUM(CASE WHEN f.vote > 0 THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN f.vote < 0 THEN 1 ELSE 0 END), 0)
        FROM feedback AS f JOIN questions AS q ON q.id = f.question_id WHERE {where}""", **params)
    voted_down = await s.fetch(f"""
        SELECT qp.passage_id, SUM(CASE WHEN f.vote < 0 THEN 1 ELSE 0 END) AS down,
               SUM(CASE WHEN f.vote > 0 THEN 1 ELSE 0 END) AS up
        FROM feedback AS f JOIN questions AS q ON q.id = f.question_id
        JOIN question_passages AS qp ON qp.question_id = f.question_id
        WHERE {where} GROUP BY qp.passage_id HAVING SUM(CASE WHEN f.vote < 0 THEN 1 ELSE 0 END) > 0
        ORDER BY down DESC, up, qp.passage_id COLLATE BINARY LIMIT :top""", top=TOP, **params)
    return Stats(
        scope=scope, since=since, until=until, questions=len(asked), answered=sum(1 for r in asked if r[1]),
        topics=busiest_topics(r[0] for r in asked),
        documents=tuple(Count(doc, int(n)) for doc, n in documents),
        unanswered=unanswered_questions((r[0], _when(r[2])) for r in asked if not r[1]),
        votes_up=int(up), votes_down=int(down),
        voted_down=tuple(PassageVotes(p, int(d), int(u)) for p, d, u in voted_down))

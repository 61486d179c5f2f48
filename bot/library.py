"""Whose knowledge answers a question: the shared knowledge base, plus the collection of the
server the question is asked in.

Each server with a collection gets an engine of its own whose index is the shared one (indexed once
per process) with the server's documents in small segments on top, searched together and scored on
the statistics of exactly what that server can see: scores are on one scale (the best passage wins,
shared or not), and nothing of another server's collection can reach an answer, a correction, a list
or a count. A server costs memory and build time in proportion to its own documents: the shared
index, recommendations and vectors are not copied. Servers without a collection, and direct
messages, use the shared engine itself.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from bot.engine import Engine, EngineState, ReloadReport, diff, document_changes, extend_state
from bot.knowledge.loader import parse_document
from bot.knowledge.models import Document, KnowledgeBase, KnowledgeError, Passage, Problem
from bot.search.segment import Segment, updated_segments


@dataclass(frozen=True)
class CollectionFile:
    """One document of a server's collection as the store keeps it: a file name and its text."""

    filename: str
    text: str


def passage_ref(passage_id: str) -> str:
    """A short, stable reference to a passage: a button's custom id holds 100 characters, an id has no bound."""
    return hashlib.sha256(passage_id.encode()).hexdigest()[:12]


def _refs(documents: Sequence[Document]) -> dict[str, str]:
    return {passage_ref(p.id): p.id for d in documents for p in d.passages}


def collection_path(guild_id: int, filename: str) -> Path:
    """Where a server's document says it comes from (it lives in the store, not on disk)."""
    return Path(f"server-{guild_id}") / filename


def parse_collection(guild_id: int, files: Iterable[CollectionFile], reserved_ids: frozenset[str] = frozenset(),
                     parsed: dict[CollectionFile, Document] | None = None) -> tuple[list[Document], list[Problem]]:
    """Documents of a server's collection; a bad one, or one whose id the shared base uses, is a Problem.

    ``parsed`` holds documents already parsed from the same file name and text: reused, not parsed again.
    """
    documents: list[Document] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for file in sorted(files, key=lambda f: f.filename):
        path = collection_path(guild_id, file.filename)
        try:
            document = (parsed or {}).get(file) or parse_document(path, file.text)
        except KnowledgeError as exc:
            problems.append(Problem(path, exc.reason))
            continue
        if document.id in reserved_ids:
            problems.append(Problem(path, f"the shared knowledge base already has a document {document.id!r}; "
                                          "rename the file or set another `id:` in its front matter"))
            continue
        if document.id in seen:
            problems.append(Problem(path, f"duplicate document id {document.id!r}"))
            continue
        seen.add(document.id)
        documents.append(document)
    return documents, problems


@dataclass
class _Server:
    version: object
    engine: Engine
    files: tuple[CollectionFile, ...]
    documents: tuple[Document, ...]
    problems: tuple[Problem, ...]
    segments: tuple[Segment, ...]  # the server's own documents, indexed on top of the shared base

    @cached_property
    def refs(self) -> dict[str, str]:
        """Passage ids of its own documents by their short references."""
        return _refs(self.documents)

    def parsed(self) -> dict[CollectionFile, Document]:
        """Its documents by the file they were parsed from."""
        by_name = {d.path.name: d for d in self.documents}
        return {f: by_name[f.filename] for f in self.files if f.filename in by_name}


class Library:
    """The shared engine and one engine per server that has a collection."""

    def __init__(self, shared: Engine):
        self.shared = shared
        self._servers: dict[int, _Server] = {}
        self._lock = threading.Lock()  # builds run in worker threads; one at a time
        self._shared_refs: tuple[KnowledgeBase, dict[str, str]] | None = None

    def engine_for(self, guild_id: int | None) -> Engine:
        """The engine a question in this server (None: a direct message) is answered from."""
        server = self._servers.get(guild_id) if guild_id is not None else None
        return server.engine if server is not None else self.shared

    def find_passage(self, guild_id: int | None, ref: str) -> tuple[Document, Passage] | None:
        """The document and passage a short reference (``passage_ref``) stands for in what ``guild_id`` is
        answered from, or None. CPU work the first time for a knowledge base: call it off the event loop.
        The shared base's references are mapped once, a server's own once per collection."""
        engine = self.engine_for(guild_id)
        shared = self.shared.knowledge
        if self._shared_refs is None or self._shared_refs[0] is not shared:
            self._shared_refs = (shared, _refs(shared.documents))
        passage_id = self._shared_refs[1].get(ref)
        server = self._servers.get(guild_id) if guild_id is not None else None
        if passage_id is None and server is not None:
            passage_id = server.refs.get(ref)
        return engine.passage(passage_id) if passage_id else None

    def collection(self, guild_id: int) -> tuple[Document, ...]:
        server = self._servers.get(guild_id)
        return server.documents if server else ()

    def files(self, guild_id: int) -> tuple[CollectionFile, ...]:
        """A server's collection as the store keeps it (file names and texts)."""
        server = self._servers.get(guild_id)
        return server.files if server else ()

    def problems(self, guild_id: int) -> tuple[Problem, ...]:
        server = self._servers.get(guild_id)
        return server.problems if server else ()

    def version(self, guild_id: int) -> object:
        server = self._servers.get(guild_id)
        return server.version if server else None

    def servers(self) -> tuple[int, ...]:
        return tuple(self._servers)

    def update_server(self, guild_id: int, files: Iterable[CollectionFile], version: object = None) -> ReloadReport:
        """(Re)build a server's engine from its collection (CPU work: call it off the event loop).

        Only what changed is parsed and indexed: a new or changed document becomes a new segment,
        a removed one is marked deleted in its segment; an unchanged collection over an unchanged
        shared base keeps its engine. An empty collection drops the server's engine: it is answered
        from the shared one again.
        """
        files = tuple(files)
        with self._lock:
            shared = self.shared.state
            reserved = frozenset(d.id for d in shared.knowledge.documents)
            old = self._servers.get(guild_id)
            documents, problems = parse_collection(guild_id, files, reserved, old.parsed() if old else None)
            old_documents = old.documents if old else ()
            if not documents:
                self._servers.pop(guild_id, None)
                return _collection_report(old_documents, (), problems, shared.knowledge)
            removed, added = document_changes(old.documents if old else (), documents)
            segments = updated_segments(old.segments if old else (), removed, added, protected=0)
            if old is not None and not removed and not added and _extends(old.engine.state, shared):
                engine = old.engine  # nothing changed: nothing to index or embed
            else:
                engine = self._engine(shared, tuple(documents), segments)
            self._servers[guild_id] = _Server(version, engine, files, tuple(documents), tuple(problems), segments)
            return _collection_report(old_documents, tuple(documents), problems, shared.knowledge)

    def _engine(self, shared: EngineState, documents: tuple[Document, ...], segments: tuple[Segment, ...]) -> Engine:
        if self.shared.background:  # answered lexically at once, hybrid once the server's own are embedded
            engine = Engine(extend_state(shared, documents, segments), self.shared.semantic, background=True,
                            after=self.shared)
            engine.embed_in_background()
            return engine
        return Engine(extend_state(shared, documents, segments, self.shared.semantic), self.shared.semantic)

    def forget_server(self, guild_id: int) -> None:
        with self._lock:
            self._servers.pop(guild_id, None)

    def rebuild_all(self) -> None:
        """After the shared base changed, every server engine is put on top of the new one: the
        servers' own segments are reused, nothing of theirs is indexed again."""
        with self._lock:
            servers = dict(self._servers)
        for guild_id, server in servers.items():
            self.update_server(guild_id, server.files, server.version)


def _extends(state: EngineState, shared: EngineState) -> bool:
    """Whether a server's state sits on this shared state's index."""
    return state.base is not None and state.base.index is shared.index


def _collection_report(old: tuple[Document, ...], new: tuple[Document, ...], problems: list[Problem],
                       shared: KnowledgeBase) -> ReloadReport:
    """What changed in a collection (compared without the shared base, which did not change), with the
    totals of everything the server sees."""
    directory = shared.directory
    report = diff(KnowledgeBase(directory, old), KnowledgeBase(directory, new))
    shared_passages = sum(len(d.passages) for d in shared.documents)
    return ReloadReport(report.documents_added, report.documents_changed, report.documents_removed,
                        report.passages_added, report.passages_changed, report.passages_removed, tuple(problems),
                        len(shared.documents) + report.documents, shared_passages + report.passages)

"""Whose knowledge answers a question: the shared knowledge base, plus the collection of the
server the question is asked in.

Each server with a collection gets an engine of its own over the shared documents and its own,
indexed together, so BM25 statistics are those of exactly what that server can see: scores are on
one scale (the best passage wins, shared or not), and nothing of another server's collection can
reach an answer, a correction, a list or a count. Servers without a collection, and direct
messages, use the shared engine itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.engine import Engine, ReloadReport, build_state, diff
from bot.knowledge.loader import parse_document
from bot.knowledge.models import Document, KnowledgeBase, KnowledgeError, Problem


@dataclass(frozen=True)
class CollectionFile:
    """One document of a server's collection as the store keeps it: a file name and its text."""

    filename: str
    text: str


def collection_path(guild_id: int, filename: str) -> Path:
    """Where a server's document says it comes from (it lives in the store, not on disk)."""
    return Path(f"server-{guild_id}") / filename


def parse_collection(guild_id: int, files: Iterable[CollectionFile],
                     reserved_ids: frozenset[str] = frozenset()) -> tuple[list[Document], list[Problem]]:
    """Documents of a server's collection; a bad one, or one whose id the shared base uses, is a Problem."""
    documents: list[Document] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for file in sorted(files, key=lambda f: f.filename):
        path = collection_path(guild_id, file.filename)
        try:
            document = parse_document(path, file.text)
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


class Library:
    """The shared engine and one engine per server that has a collection."""

    def __init__(self, shared: Engine):
        self.shared = shared
        self._servers: dict[int, _Server] = {}
        self._lock = threading.Lock()  # builds run in worker threads; one at a time

    def engine_for(self, guild_id: int | None) -> Engine:
        """The engine a question in this server (None: a direct message) is answered from."""
        server = self._servers.get(guild_id) if guild_id is not None else None
        return server.engine if server is not None else self.shared

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

    def _combined(self, documents: tuple[Document, ...]) -> KnowledgeBase:
        shared = self.shared.knowledge
        return KnowledgeBase(shared.directory, shared.documents + documents, (), shared.aliases)

    def update_server(self, guild_id: int, files: Iterable[CollectionFile], version: object = None) -> ReloadReport:
        """(Re)build a server's engine from its collection (CPU work: call it off the event loop).

        An empty collection drops the server's engine: it is answered from the shared one again.
        """
        files = tuple(files)
        with self._lock:
            reserved = frozenset(d.id for d in self.shared.knowledge.documents)
            documents, problems = parse_collection(guild_id, files, reserved)
            old = self._servers.get(guild_id)
            old_kb = self._combined(old.documents) if old else self.shared.knowledge
            if not documents:
                self._servers.pop(guild_id, None)
                return _collection_report(old_kb, self.shared.knowledge, problems)
            kb = self._combined(tuple(documents))
            if self.shared.background:  # answered lexically at once, hybrid once embedded
                engine = Engine(build_state(kb), self.shared.semantic, background=True, after=self.shared)
                engine.embed_in_background()
            else:
                engine = Engine(build_state(kb, self.shared.semantic), self.shared.semantic)
            self._servers[guild_id] = _Server(version, engine, files, tuple(documents), tuple(problems))
            return _collection_report(old_kb, kb, problems)

    def forget_server(self, guild_id: int) -> None:
        with self._lock:
            self._servers.pop(guild_id, None)

    def rebuild_all(self) -> None:
        """After the shared base changed, every server engine is rebuilt on top of the new one."""
        with self._lock:
            servers = dict(self._servers)
        for guild_id, server in servers.items():
            self.update_server(guild_id, server.files, server.version)


def _collection_report(old: KnowledgeBase, new: KnowledgeBase, problems: list[Problem]) -> ReloadReport:
    report = diff(old, new)
    return ReloadReport(report.documents_added, report.documents_changed, report.documents_removed,
                        report.passages_added, report.passages_changed, report.passages_removed, tuple(problems),
                        report.documents, report.passages)

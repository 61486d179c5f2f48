"""The answer engine: one knowledge base, its index, and the questions asked of it.

Everything here is synchronous and Discord-free. A reload builds a complete
new state and swaps it in with one assignment, so a question being answered
meanwhile sees the old knowledge base or the new one, never half of each.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.answers import DEFAULT_EXCERPTS, Answer, answer_question
from bot.excerpts import split_sentences
from bot.knowledge.loader import load_knowledge_dir
from bot.knowledge.models import Document, KnowledgeBase, Passage
from bot.knowledge.parse_cache import ParseCache
from bot.recommendations import Recommendations, extract_recommendations, filter_recommendations
from bot.reloads import ReloadReport
from bot.search.index import SearchIndex
from bot.search.query import QueryAnalyser
from bot.search.segment import Segment
from bot.search.semantic import (
    SemanticIndex,
    SemanticSetup,
    StackedSemanticIndex,
    build_semantic_index,
    lexical_only,
    load_semantic,
)
from bot.search.stored import SegmentStore
from bot.settings import Settings

log = logging.getLogger(__name__)

_PROPER_NOUN = re.compile(r"(?<![.!?:]\s)(?<!^)\b([A-Z][a-zA-Z]{2,}|[A-Z]{2,}[0-9]*)\b")


@dataclass(frozen=True)
class EngineState:
    knowledge: KnowledgeBase
    index: SearchIndex
    analyser: QueryAnalyser
    topics: tuple[str, ...]
    recommendations: Recommendations
    loaded_at: datetime
    semantic: SemanticIndex | StackedSemanticIndex | None = None
    # The shared state a server's state extends (its index and vectors are the shared ones plus the
    # server's own on top); None for the shared state itself.
    base: EngineState | None = None
    names: Counter[str] = field(default_factory=Counter)  # of the shared state: its topics' counts


_COMMON_NAMES = {"The", "And", "But", "How", "What", "Why", "Yes", "His", "Its", "This", "That", "Every", "Case",
                 "Maybe", "Need", "Well", "Not", "President", "Image"}


def name_counts(documents: Sequence[Document], sample: int | None = 2000) -> Counter[str]:
    """How many passages mention each name (capitalised word not opening a sentence).

    A large knowledge base is sampled evenly (``sample`` passages): the hint needs the
    common names, and counting every passage of 100,000 cost a second per reload.
    """
    passages = [p for doc in documents for p in doc.body]
    step = max(1, len(passages) // sample) if sample else 1
    counts: Counter[str] = Counter()
    for passage in passages[::step]:
        counts.update(set(_PROPER_NOUN.findall(passage.text)))
    return counts


def embedding_context(title: str, passage: Passage) -> str:
    """What the meaning stage reads before a passage: where it stands ("GNU GPL › 4. Conveying: ")."""
    return " › ".join((title, *passage.section)) + ": "


def top_names(counts: Counter[str], count: int = 8) -> tuple[str, ...]:
    return tuple(word for word, n in counts.most_common() if word not in _COMMON_NAMES and n > 1)[:count]


def main_topics(documents: tuple[Document, ...], count: int = 8, sample: int = 2000) -> tuple[str, ...]:
    """Names the knowledge base mentions most often, to suggest what can be asked."""
    return top_names(name_counts(documents, sample), count)


def _embed_passages(passages: Sequence[Passage], documents: Sequence[Document], semantic: SemanticSetup,
                    on_progress: Callable[[int, int], None] | None) -> SemanticIndex:
    texts = [p.text for p in passages]
    spans = [[(s.start, s.end) for s in split_sentences(t)] for t in texts]
    about = [p.text for d in documents for p in d.passages if p.kind == "metadata"]
    titles = {d.id: d.title for d in documents}
    contexts = [embedding_context(titles[p.document_id], p) for p in passages]
    return build_semantic_index(semantic.encoder, texts, semantic.cache, spans, about, on_progress, contexts)


def embed_state(state: EngineState, semantic: SemanticSetup, on_progress: Callable[[int, int], None] | None = None,
                base: SemanticIndex | StackedSemanticIndex | None = None) -> SemanticIndex | StackedSemanticIndex:
    """The semantic index of a state's passages, their sentences and the documents' metadata lines,
    from the embedding cache, encoding what is missing (CPU work: minutes for a large new base).

    With ``base`` (the semantic index of the shared state a server's state extends), only the
    server's own documents are embedded and stacked on the shared vectors, which are not copied.
    """
    if base is None or state.base is None or isinstance(base, StackedSemanticIndex):
        return _embed_passages(state.index.passages, state.knowledge.documents, semantic, on_progress)
    own_segments = state.index.segments[len(state.base.index.segments):]
    own = _embed_passages([p for s in own_segments for p in s.live_passages],
                          state.knowledge.documents[len(state.base.knowledge.documents):], semantic, on_progress)
    return StackedSemanticIndex(base, own)


def build_state(knowledge: KnowledgeBase, semantic: SemanticSetup | None = None,
                previous: EngineState | None = None, store: SegmentStore | None = None) -> EngineState:
    """Index a loaded knowledge base (CPU work: call it off the event loop); with ``semantic``, embed it too.

    With ``previous`` (the state being replaced), only documents that changed are indexed: the
    others' passages stay in their segments, a removed or changed document's are marked deleted.
    With ``store``, the index is read memory-mapped from disk when stored there (shared between
    processes), else built and stored.
    """
    if previous is not None and previous.base is None:
        index = _updated_index(previous.index, previous.knowledge, knowledge)
    elif store is not None:
        index = SearchIndex.from_segments([store.segment(knowledge.searchable)])
    else:
        index = SearchIndex(knowledge.searchable)
    names = name_counts(knowledge.documents)
    state = EngineState(knowledge, index, QueryAnalyser(index, knowledge.aliases), top_names(names),
                        extract_recommendations(knowledge), datetime.now(UTC), names=names)
    if semantic is not None and semantic.encoder is not None:
        state = dataclasses.replace(state, semantic=embed_state(state, semantic))
    return state


def _same_document(old: Document, new: Document) -> bool:
    if old.checksum and new.checksum:
        return old.checksum == new.checksum
    return old.passages == new.passages


def document_changes(old: Sequence[Document], new: Sequence[Document]) -> tuple[list[str], list[Passage]]:
    """What an index of ``old`` must drop (ids of removed or changed documents) and add (the
    searchable passages of new or changed documents) to hold ``new``."""
    old_docs = {d.id: d for d in old}
    unchanged = {d.id for d in new if d.id in old_docs and _same_document(old_docs[d.id], d)}
    return [i for i in old_docs if i not in unchanged], [p for d in new if d.id not in unchanged for p in d.body]


def _updated_index(index: SearchIndex, old: KnowledgeBase, new: KnowledgeBase) -> SearchIndex:
    """The index of ``new`` from that of ``old``: changed documents re-indexed, the rest kept."""
    removed, added = document_changes(old.documents, new.documents)
    if not removed and not added:
        return index
    if len(removed) == len(old.documents):  # nothing kept: one fresh segment
        return SearchIndex(new.searchable, index.k1, index.b)
    return index.updated(removed, added)


def extend_state(base: EngineState, documents: Sequence[Document], segments: Sequence[Segment],
                 semantic: SemanticSetup | None = None) -> EngineState:
    """A server's state: the shared ``base`` with the server's own documents, indexed in ``segments``,
    on top. Costs the server's documents only: the shared index, recommendations and vectors are
    shared, and BM25 scores are on the statistics of everything the server can see."""
    shared = base.knowledge
    knowledge = KnowledgeBase(shared.directory, shared.documents + tuple(documents), (), shared.aliases)
    index = base.index.extended(segments)
    own = extract_recommendations(KnowledgeBase(shared.directory, tuple(documents)))
    recommendations = Recommendations(base.recommendations.lists + own.lists,
                                      base.recommendations.sentences + own.sentences)
    # Topics: the shared base's (sampled) name counts plus every passage of the server's own.
    topics = top_names(base.names + name_counts(documents, sample=None))
    state = EngineState(knowledge, index, QueryAnalyser(index, knowledge.aliases), topics, recommendations,
                        datetime.now(UTC), base=base)
    if semantic is not None and semantic.encoder is not None and base.semantic is not None:
        state = dataclasses.replace(state, semantic=embed_state(state, semantic, base=base.semantic))
    return state


def _passage_map(kb: KnowledgeBase) -> dict[str, Passage]:
    return {p.id: p for p in kb.passages}


def diff(old: KnowledgeBase | None, new: KnowledgeBase) -> ReloadReport:
    old_docs = {d.id: d for d in old.documents} if old else {}
    new_docs = {d.id: d for d in new.documents}
    old_passages = _passage_map(old) if old else {}
    new_passages = _passage_map(new)
    return ReloadReport(
        documents_added=tuple(sorted(new_docs.keys() - old_docs.keys())),
        documents_changed=tuple(sorted(d for d in new_docs.keys() & old_docs.keys()
                                       if new_docs[d].checksum != old_docs[d].checksum)),
        documents_removed=tuple(sorted(old_docs.keys() - new_docs.keys())),
        passages_added=len(new_passages.keys() - old_passages.keys()),
        passages_changed=sum(1 for p in new_passages.keys() & old_passages.keys()
                             if new_passages[p].text != old_passages[p].text),
        passages_removed=len(old_passages.keys() - new_passages.keys()),
        problems=new.problems,
        documents=len(new.documents),
        passages=len(new_passages),
    )


@dataclass(frozen=True)
class EmbeddingProgress:
    """How far the semantic index being built in the background has come."""

    done: int  # texts encoded so far
    total: int  # texts that were not in the embedding cache

    @property
    def share(self) -> float:
        return self.done / self.total if self.total else 1.0


class Engine:
    """Answers questions from the knowledge directory; reloadable while serving.

    With ``background=True`` the semantic stage never holds answers back: a new or reloaded
    knowledge base is served lexically at once and switches to hybrid ranking when its embeddings
    are ready (built in a thread, written to the cache as they go, so a restart resumes).
    """

    def __init__(self, state: EngineState, semantic: SemanticSetup | None = None, *, background: bool = False,
                 after: Engine | None = None):
        self._state = state
        # An engine whose embeddings this one's include (a server's collection over the shared base):
        # waited for before embedding, so the texts they share come from the cache, encoded once.
        self.after = after
        self.semantic = semantic or lexical_only()
        self.background = background
        self._reload_lock = threading.Lock()
        self._embedding_lock = threading.Lock()
        self._generation = 0
        self.progress: EmbeddingProgress | None = None  # set while embeddings are being built
        self.embedding_error: str | None = None
        self._embedder: threading.Thread | None = None
        self.parse_cache: ParseCache | None = None  # parsed files kept on disk between runs

    @classmethod
    def from_directory(cls, directory: Path | str, semantic: SemanticSetup | None = None, *,
                       background: bool = False, parse_cache: ParseCache | None = None,
                       segment_store: SegmentStore | None = None) -> Engine:
        """Load and index a knowledge directory; raises KnowledgeError if nothing usable is there."""
        knowledge = load_knowledge_dir(directory, parse_cache=parse_cache)
        engine = cls(build_state(knowledge, None if background else semantic, store=segment_store), semantic,
                     background=background)
        engine.parse_cache = parse_cache
        engine.embed_in_background()  # nothing to do unless the state still lacks its embeddings
        return engine

    @classmethod
    def from_settings(cls, settings: Settings, *, background: bool = False) -> Engine:
        """The engine settings describe: knowledge directory, the semantic stage when available, parsed
        files and the memory-mapped index kept in the state folder."""
        semantic = load_semantic(settings.semantic, settings.semantic_model, settings.embedding_cache)
        return cls.from_directory(settings.knowledge_dir, semantic, background=background,
                                  parse_cache=ParseCache(settings.state_dir / "parsed"),
                                  segment_store=SegmentStore(settings.state_dir / "index"))

    @property
    def mode(self) -> str:
        """"lexical", "semantic (model)", or lexical while the semantic index is being built."""
        if self.semantic.encoder is not None and self._state.semantic is None:
            progress = self.progress
            building = f", {progress.share:.0%} embedded" if progress and progress.total else ""
            if self.embedding_error:
                return f"lexical (semantic index failed: {self.embedding_error})"
            return f"lexical (semantic index being built{building})"
        return self.semantic.mode

    def embed_in_background(self) -> threading.Thread | None:
        """Build the semantic index of the state being served in a thread, and switch to it when ready.

        A later reload supersedes it: only the newest build is ever swapped in.
        """
        if self.semantic.encoder is None or self._state.semantic is not None:
            return None
        with self._embedding_lock:
            self._generation += 1
            generation, state = self._generation, self._state
            self.progress, self.embedding_error = EmbeddingProgress(0, 0), None
            thread = threading.Thread(target=self._embed, args=(state, generation), daemon=True,
                                      name="embeddings")
            self._embedder = thread
        thread.start()
        return thread

    def wait_for_embeddings(self, timeout: float | None = None) -> bool:
        """Block until the background build (if any) has finished; whether it has."""
        thread = self._embedder
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _embed(self, state: EngineState, generation: int) -> None:
        def report(done: int, total: int) -> None:
            if self._generation == generation:
                self.progress = EmbeddingProgress(done, total)

        try:
            base = None
            if self.after is not None:
                self.after.wait_for_embeddings()
                shared = self.after.state
                if state.base is not None and shared.index is state.base.index:
                    base = shared.semantic  # the shared vectors this server's index extends
            dense = embed_state(state, self.semantic, report, base)
        except Exception as exc:  # the model failing mid-way: keep answering lexically, say why
            log.exception("Building the semantic index failed")
            with self._embedding_lock:
                if self._generation == generation:
                    self.embedding_error, self.progress = str(exc).splitlines()[0][:200] or type(exc).__name__, None
            return
        with self._embedding_lock:
            # The same index (an unchanged reload may have swapped in a new state around it) gets the vectors.
            if self._generation == generation and self._state.index is state.index:
                self._state = dataclasses.replace(self._state, semantic=dense)
                self.progress = None

    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def knowledge(self) -> KnowledgeBase:
        return self._state.knowledge

    def hint(self, state: EngineState | None = None) -> str:
        state = state or self._state
        titles = "; ".join(f"“{d.title}”" + (f" by {d.author}" if d.author else "")
                           for d in state.knowledge.documents[:3])
        more = f" and {len(state.knowledge.documents) - 3} more" if len(state.knowledge.documents) > 3 else ""
        topics = ", ".join(state.topics[:6])
        about = f" — for example {topics}" if topics else ""
        return f"I can answer questions about {titles}{more}{about}."

    def ask(self, question: str, limit: int = DEFAULT_EXCERPTS, offset: int = 0, *,
            earlier: Sequence[str] = ()) -> Answer:
        """Answer a question; ``earlier``: the conversation's previous questions, for a follow-up."""
        state = self._state  # one read: a concurrent reload cannot mix two knowledge bases
        return answer_question(state.knowledge, state.index, state.analyser, question, limit=limit,
                               offset=offset, hint=self.hint(state), semantic=state.semantic, earlier=earlier)

    def recommendations(self, topic: str | None = None, document: str | None = None) -> Recommendations:
        """Recommendation lists and sentences, for one document and/or about a topic."""
        state = self._state
        terms = None
        if topic and topic.strip():
            terms = frozenset(state.analyser.analyse(topic).weights)
        return filter_recommendations(state.recommendations, topic_terms=terms, document=document)

    def passage(self, passage_id: str) -> tuple[Document, Passage] | None:
        kb = self._state.knowledge
        passage = kb.passage(passage_id)
        if passage is None:
            return None
        document = kb.document(passage.document_id)
        return (document, passage) if document else None

    def reload(self, directory: Path | str | None = None) -> ReloadReport:
        """Re-read the directory and swap the new index in; on failure keep serving the old one.

        Reloads run one after the other (a lock), never interleaved.
        """
        with self._reload_lock:
            old = self._state.knowledge
            try:
                new = load_knowledge_dir(directory or old.directory, parse_cache=self.parse_cache)
            except Exception as exc:
                reason = getattr(exc, "reason", None) or str(exc)
                problems = getattr(exc, "problems", ())
                return ReloadReport(error=reason, problems=tuple(problems), documents=len(old.documents),
                                    passages=len(old.passages))
            report = diff(old, new)
            if not report.changed:  # an unchanged file costs nothing: the index, vectors and lists stay
                with self._embedding_lock:
                    state = self._state
                    analyser = state.analyser if new.aliases == old.aliases else QueryAnalyser(state.index,
                                                                                               new.aliases)
                    self._state = dataclasses.replace(state, knowledge=new, analyser=analyser)
                return report
            if self.background:
                with self._embedding_lock:
                    self._state = build_state(new, previous=self._state)
                self.embed_in_background()
            else:
                self._state = build_state(new, self.semantic, previous=self._state)
            return report

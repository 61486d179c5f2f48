"""BM25 over passages: rank-bm25's statistics with a Lucene-style IDF, over one or more segments
of compact postings, so a question only touches the passages that contain its terms.

SearchIndex is the one interface the engine searches. It stacks segments (bot.search.segment) and
scores them together on the statistics of all their live passages (N, average length, document
frequencies summed at query time, as Lucene combines its segments): a server's view of the shared
base plus its own collection scores exactly as one index built over the same passages would.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from functools import cached_property

import numpy as np
from rank_bm25 import BM25

from bot.knowledge.models import Passage
from bot.search.analysis import index_words, word_terms
from bot.search.segment import Segment, updated_segments
from bot.search.typos import closest

# Chosen with `python -m bot eval` on the dev set: k1 1.2-2.0 with b 0.75 tie
# at hit@1 92.2%; b 0.5 or 0.4 lose two points (long paragraphs win too often).
K1 = 1.2
B = 0.75


def lucene_idf(corpus_size: int, document_frequency: int) -> float:
    return math.log(1 + (corpus_size - document_frequency + 0.5) / (document_frequency + 0.5))


class LuceneBM25(BM25):
    """rank-bm25's BM25 with Lucene's IDF, log(1 + (N - n + 0.5) / (n + 0.5)).

    BM25Okapi gives IDF 0 to a term in exactly half the passages and a floored
    epsilon to terms in more (rank-bm25 issues #39, #43): with one article as
    the whole corpus, "Russia" then scores nothing. Lucene's IDF stays positive
    and decreases smoothly with document frequency. This class is also the
    reference the fast index is checked and benchmarked against.
    """

    def __init__(self, corpus: Sequence[Sequence[str]], k1: float = K1, b: float = B):
        self.k1 = k1
        self.b = b
        super().__init__(corpus)

    def _calc_idf(self, nd: Mapping[str, int]) -> None:
        for word, freq in nd.items():
            self.idf[word] = lucene_idf(self.corpus_size, freq)

    def get_scores(self, query: Sequence[str]) -> np.ndarray:
        """Scores of every passage, as rank-bm25 computes them (the naive reference)."""
        score = np.zeros(self.corpus_size)
        doc_len = np.array(self.doc_len)
        for q in query:
            q_freq = np.array([(doc.get(q) or 0) for doc in self.doc_freqs])
            score += (self.idf.get(q) or 0) * (q_freq * (self.k1 + 1) /
                                               (q_freq + self.k1 * (1 - self.b + self.b * doc_len / self.avgdl)))
        return score

    def get_batch_scores(self, query: Sequence[str], doc_ids: Sequence[int]) -> list[float]:
        scores = self.get_scores(query)
        return [float(scores[i]) for i in doc_ids]


def passage_terms(passage: Passage) -> list[str]:
    """The terms a passage is indexed under, in order: its words, then its hidden keywords (its
    section's headings).

    SearchIndex computes the same in bulk; this is the readable definition (and the reference's input).
    """
    return [t for word in index_words(f"{passage.text} {passage.keywords}") for t in word_terms(word)]




_scratch = threading.local()  # per-thread work arrays: questions are answered in several threads at once


def _work_arrays(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 arrays of length n, reused between calls (new arrays of a posting's size each
    time cost page faults: measured 4x slower than the arithmetic on them)."""
    arrays = getattr(_scratch, "arrays", None)
    if arrays is None or len(arrays[0]) < n:
        size = max(n, 4096, 2 * len(arrays[0]) if arrays is not None else 0)
        arrays = _scratch.arrays = (np.empty(size), np.empty(size))
    return arrays[0][:n], arrays[1][:n]


class _StackedPassages(Sequence[Passage]):
    """The live passages of several segments as one sequence, without copying them."""

    def __init__(self, parts: Sequence[tuple[Passage, ...]]):
        self._parts = tuple(parts)
        self._starts = [0]
        for part in self._parts:
            self._starts.append(self._starts[-1] + len(part))

    def __len__(self) -> int:
        return self._starts[-1]

    def __getitem__(self, position):  # type: ignore[override]
        if isinstance(position, slice):
            return tuple(self)[position]
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(position)
        part = bisect_right(self._starts, position) - 1
        return self._parts[part][position - self._starts[part]]

    def __iter__(self) -> Iterator[Passage]:
        for part in self._parts:
            yield from part


class _IdfTable(Mapping[str, float]):
    """Term -> IDF over what an index can see, computed on demand (a per-server dict of every term
    of the shared base would cost megabytes per server)."""

    def __init__(self, index: SearchIndex):
        self._index = index

    def __getitem__(self, term: str) -> float:
        df = self._index.document_frequency(term)
        if not df:
            raise KeyError(term)
        return lucene_idf(len(self._index), df)

    def __iter__(self) -> Iterator[str]:
        return self._index.vocabulary()

    def __len__(self) -> int:
        return self._index.vocabulary_size


class _KnownWords(Set[str]):
    """Surface word forms some live passage of the index holds (for typo correction and word families)."""

    def __init__(self, segments: Sequence[Segment]):
        self._segments = segments

    def count(self, form: str) -> int:
        return sum(s.form_count(form) for s in self._segments)

    def __contains__(self, form: object) -> bool:
        return isinstance(form, str) and self.count(form) > 0

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for segment in self._segments:
            for form in segment.forms:
                if form not in seen and form in self:
                    seen.add(form)
                    yield form

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _StackedSpeller:
    """The speller of an index of several segments: every segment's candidates, counts summed over
    the live passages, chosen as one speller over all of them would choose."""

    def __init__(self, segments: Sequence[Segment], known: _KnownWords):
        self._segments = segments
        self._known = known

    def correct(self, word: str) -> str | None:
        if len(self._segments) == 1 and self._segments[0].deleted is None:
            return self._segments[0].speller.correct(word)
        candidates = {c for s in self._segments for c in s.speller.candidates(word)}
        return closest(word, candidates, self._known.count)


class SearchIndex:
    """BM25 over the live passages of one or more segments, searched and scored as one index;
    plus the known vocabulary for typo correction."""

    def __init__(self, passages: Sequence[Passage], k1: float = K1, b: float = B):
        self._setup((Segment.build(passages),), k1, b, None)

    @classmethod
    def from_segments(cls, segments: Sequence[Segment], k1: float = K1, b: float = B,
                      base: SearchIndex | None = None) -> SearchIndex:
        index = cls.__new__(cls)
        index._setup(tuple(segments), k1, b, base)
        return index

    def _setup(self, segments: tuple[Segment, ...], k1: float, b: float, base: SearchIndex | None) -> None:
        if not segments or not sum(s.live for s in segments):
            raise ValueError("cannot index zero passages")
        self.segments = segments
        self.base = base  # the index this one extends (a server's view of the shared one), if any
        self.k1, self.b = k1, b
        self._offsets = np.cumsum([0] + [s.live for s in segments])
        self.passages: Sequence[Passage] = (segments[0].live_passages if len(segments) == 1
                                            else _StackedPassages([s.live_passages for s in segments]))
        n = int(self._offsets[-1])
        self.avgdl = sum(s.live_length for s in segments) / n
        self.max_idf = lucene_idf(n, 0)
        self._single = segments[0] if len(segments) == 1 and segments[0].deleted is None else None
        if self._single is not None:  # the shared base alone: plain tables, as fast as before segments
            self.idf_map: Mapping[str, float] = {t: lucene_idf(n, int(df)) for t, df in
                                                 zip(self._single.terms, self._single.df, strict=True)}
            self.known_words: Set[str] = self._single.forms.keys()
        else:  # a view of several segments: computed on demand, nothing per term is copied
            self.idf_map = _IdfTable(self)
            self.known_words = _KnownWords(segments)
        self.speller = _StackedSpeller(segments, _KnownWords(segments))

    def extended(self, segments: Iterable[Segment]) -> SearchIndex:
        """This index with more segments on top (a server's collection over the shared base):
        costs only the new segments, and scores on the statistics of all of them."""
        return SearchIndex.from_segments(self.segments + tuple(segments), self.k1, self.b, base=self)

    def updated(self, removed: Iterable[str], added: Sequence[Passage]) -> SearchIndex:
        """This index with some documents removed (marked deleted, merged later) and some passages
        added (a new segment): unchanged passages are not indexed again."""
        return SearchIndex.from_segments(updated_segments(self.segments, removed, added), self.k1, self.b)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def document_frequency(self, term: str) -> int:
        if self._single is not None:
            term_id = self._single.term_ids.get(term)
            return 0 if term_id is None else int(self._single.df[term_id])
        return sum(s.document_frequency(term) for s in self.segments)

    def vocabulary(self) -> Iterator[str]:
        """Every term some live passage holds, once."""
        if self._single is not None:
            yield from self._single.terms
            return
        seen: set[str] = set()
        for segment in self.segments:
            for term in segment.terms:
                if term not in seen and self.document_frequency(term):
                    seen.add(term)
                    yield term

    @cached_property
    def vocabulary_size(self) -> int:
        return sum(1 for _ in self.vocabulary())

    def knows(self, term: str) -> bool:
        if self._single is not None:
            return term in self._single.term_ids
        return any(s.document_frequency(term) for s in self.segments)

    def idf(self, term: str) -> float:
        """IDF of a term; an unknown term counts as rarer than any known one."""
        if self._single is not None:
            return self.idf_map.get(term, self.max_idf)
        df = self.document_frequency(term)
        return lucene_idf(len(self), df) if df else self.max_idf

    def words_with_prefix(self, prefix: str) -> list[str]:
        """Known words starting with a four-letter prefix."""
        if self._single is not None:
            return self._single.by_prefix.get(prefix, [])
        words = {w for s in self.segments for w in s.by_prefix.get(prefix, ())}
        return sorted(w for w in words if w in self.known_words)

    def _locate(self, position: int) -> tuple[Segment, int]:
        """The segment holding an index position, and the passage's position inside it."""
        part = int(np.searchsorted(self._offsets, position, side="right")) - 1
        segment = self.segments[part]
        local = position - int(self._offsets[part])
        return segment, local if segment.live_local is None else int(segment.live_local[local])

    def holding(self, terms: Sequence[str], positions: np.ndarray) -> np.ndarray:
        """Which of the (sorted or not) passage positions hold any of the terms, from the postings."""
        positions = np.asarray(positions)
        found = np.zeros(len(positions), dtype=bool)
        for part, segment in enumerate(self.segments):
            start, end = int(self._offsets[part]), int(self._offsets[part + 1])
            inside = (positions >= start) & (positions < end) if len(self.segments) > 1 else None
            local = positions - start if inside is None else positions[inside] - start
            if segment.live_local is not None:
                local = segment.live_local[local]
            hit = np.zeros(len(local), dtype=bool)
            for term in terms:
                term_id = segment.term_ids.get(term)
                if term_id is None:
                    continue
                posting = segment.post_docs[segment.post_start[term_id]:segment.post_start[term_id + 1]]
                at = np.searchsorted(posting, local)
                hit |= posting[np.minimum(at, len(posting) - 1)] == local
            if inside is None:
                found |= hit
            else:
                found[inside] |= hit
        return found

    def passage_terms(self, position: int) -> frozenset[str]:
        segment, local = self._locate(position)
        row = segment.row_terms[segment.row_start[local]:segment.row_start[local + 1]]
        return frozenset(segment.terms[t] for t in row)

    def search(self, weighted_terms: Mapping[str, float], k: int | None = None) -> list[tuple[int, float]]:
        """Passages with a positive score, best first: (position, score).

        Equal to rank-bm25's get_scores over the live passages for the same terms (weights 1), but
        only the passages in the terms' postings are touched.
        """
        k1, b = self.k1, self.b
        # factor: what multiplies tf / (tf + norm) for each term, from the statistics of every segment.
        factors = [(term, weight * self.idf(term) * (k1 + 1)) for term, weight in weighted_terms.items()
                   if weight > 0 and self.knows(term)]
        if not factors:
            return []
        norm_base, norm_per_length = k1 * (1 - b), k1 * b / self.avgdl
        found_positions: list[np.ndarray] = []
        found_values: list[np.ndarray] = []
        for part, segment in enumerate(self.segments):
            acc: np.ndarray | None = None
            touched: list[np.ndarray] = []
            for term, factor in factors:
                term_id = segment.term_ids.get(term)
                if term_id is None:
                    continue
                start, end = segment.post_start[term_id], segment.post_start[term_id + 1]
                ids = segment.post_docs[start:end]
                # factor * tf / (tf + k1 * (1 - b + b * length / avgdl)), the expression rank-bm25 evaluates
                norm, contribution = _work_arrays(end - start)
                np.multiply(segment.post_len[start:end], norm_per_length, out=norm, dtype=np.float64)
                norm += norm_base
                np.add(norm, segment.post_tf[start:end], out=norm, dtype=np.float64)
                np.multiply(segment.post_tf[start:end], factor, out=contribution, dtype=np.float64)
                contribution /= norm
                if acc is None:
                    acc = np.zeros(len(segment))
                acc[ids] += contribution  # ids are unique within a posting
                touched.append(ids)
            if acc is None:
                continue
            # One posting: its passages; several: the non-zero accumulator (cheaper than merging postings).
            candidates = touched[0] if len(touched) == 1 else np.flatnonzero(acc)
            values = acc[candidates]
            if segment.deleted is not None:
                live = ~segment.deleted[candidates]
                candidates, values = segment.live_rank[candidates[live]], values[live]
            found_positions.append(candidates.astype(np.int64) + int(self._offsets[part]))
            found_values.append(values)
        if not found_positions:
            return []
        candidates = found_positions[0] if len(found_positions) == 1 else np.concatenate(found_positions)
        values = found_values[0] if len(found_values) == 1 else np.concatenate(found_values)
        if k is not None and k < len(candidates):
            kth = np.partition(values, len(values) - k)[len(values) - k]
            keep = values >= kth  # every tie at the cut-off, so ties break by position as in the reference
            candidates, values = candidates[keep], values[keep]
        order = np.lexsort((candidates, -values))[:k]
        return [(int(candidates[i]), float(values[i])) for i in order]

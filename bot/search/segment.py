"""One segment of the lexical index: the passages of some documents, their postings and raw counts.

A segment keeps counts (term frequencies, passage lengths, document frequencies), never scores: a
SearchIndex stacks segments and scores them on the statistics of all of them together, as Lucene
scores the segments of one index. So the shared knowledge base is one segment built once per process,
and a server's collection adds small segments of its own; a removed document is marked deleted in its
segment (its counts subtracted) until the segment is merged.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from bot.knowledge.models import Passage
from bot.search.analysis import index_words, word_form, word_terms
from bot.search.typos import Speller

# Segments an index may hold beyond its first before the small ones are merged into one
# (a server adding documents one at a time keeps at most this many, each a few passages).
MAX_SEGMENTS = 8
# A segment with more of its passages deleted than this share is rebuilt from the rest.
MAX_DELETED_SHARE = 0.5


def _unique_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique values and their counts (NumPy 2's hash-based np.unique is 10x slower here)."""
    if not len(keys):
        return keys, keys
    keys = np.sort(keys)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return keys[starts], np.diff(np.append(starts, len(keys)))


_CHUNK = 10_000  # passages per NumPy batch: bounds the temporary arrays of a large build


class _PostingsBuilder:
    """Turns passages into (passage, term, frequency) triples a batch at a time.

    One pass of Python over the words of each passage (word ids); the rest is
    NumPy, so 100,000 passages index in seconds within a few hundred MB.
    """

    def __init__(self) -> None:
        self.word_ids: dict[str, int] = {}
        self.words: list[str] = []
        self.term_ids: dict[str, int] = {}
        self.terms: list[str] = []
        self._word_terms: list[int] = []  # term ids of every word, concatenated
        self._word_term_count: list[int] = []
        self.word_passages = np.zeros(0, dtype=np.int64)  # passages holding each word
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._lengths: list[np.ndarray] = []

    def _new_word(self, word: str) -> int:
        terms = word_terms(word)
        self._word_terms.extend(self.term_ids.setdefault(t, len(self.term_ids)) for t in terms)
        self._word_term_count.append(len(terms))
        self.words.append(word)
        return len(self.words) - 1

    def add(self, passages: Sequence[Passage], first: int) -> None:
        word_ids = self.word_ids
        token_words = array("i")
        counts = np.zeros(len(passages), dtype=np.int64)
        for i, passage in enumerate(passages):
            words = index_words(f"{passage.text} {passage.keywords}")
            counts[i] = len(words)
            token_words.extend([word_ids[w] if w in word_ids else word_ids.setdefault(w, self._new_word(w))
                                for w in words])
        self.terms = list(self.term_ids)
        tokens = np.frombuffer(token_words, dtype=np.int32).astype(np.int64)
        docs = np.repeat(np.arange(len(passages), dtype=np.int64), counts)
        # Passages holding each word (for the speller's tie-break).
        word_pairs, _ = _unique_counts((docs << 32) | tokens)
        seen = np.bincount(word_pairs & 0xFFFFFFFF, minlength=len(self.words))
        self.word_passages = np.concatenate((self.word_passages, np.zeros(len(seen) - len(self.word_passages),
                                                                          dtype=np.int64))) + seen
        # Each word becomes its terms: none for a stop word, several for "Al-Qaida".
        term_count = np.asarray(self._word_term_count, dtype=np.int64)
        word_start = np.concatenate(([0], np.cumsum(term_count)))
        per_token = term_count[tokens]
        starts = np.repeat(word_start[tokens], per_token)
        within = np.arange(int(per_token.sum())) - np.repeat(np.cumsum(per_token) - per_token, per_token)
        terms = np.asarray(self._word_terms, dtype=np.int64)[starts + within]
        term_docs = np.repeat(docs, per_token)
        self._lengths.append(np.bincount(term_docs, minlength=len(passages)))
        pairs, tf = _unique_counts((term_docs << 32) | terms)
        self._parts.append((((pairs >> 32) + first).astype(np.int32), (pairs & 0xFFFFFFFF).astype(np.int32),
                            tf.astype(np.int32)))

    def finish(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        docs, terms, tf = (np.concatenate(p) if p else np.zeros(0, np.int32) for p in zip(*self._parts, strict=True))
        doc_len = np.concatenate(self._lengths) if self._lengths else np.zeros(n, np.int64)
        self._parts.clear()
        return docs, terms, tf, doc_len


def _add_forms(forms: dict[str, int], word: str, count: int) -> None:
    """File a surface word under its form (and the parts of a hyphenated form) for typo correction."""
    if not word_terms(word):
        return
    form = word_form(word)
    for part in (form, *(p for p in form.split("-") if "-" in form and p)):
        forms[part] = forms.get(part, 0) + count


def surface_forms(passages: Iterable[Passage]) -> dict[str, int]:
    """Word forms of passages and how many passages hold each: what a segment files for typo correction.

    Segment.build counts the same in bulk; this is the readable definition, used to subtract deleted passages.
    """
    words: Counter[str] = Counter()
    for passage in passages:
        words.update(set(index_words(f"{passage.text} {passage.keywords}")))
    forms: dict[str, int] = {}
    for word, count in words.items():
        _add_forms(forms, word, count)
    return forms


def prefix_table(forms: Iterable[str]) -> dict[str, list[str]]:
    """Four-letter prefix -> the known words starting with it, sorted (for word families)."""
    by_prefix: dict[str, list[str]] = {}
    for word in sorted(forms):
        if len(word) >= 4 and word.isalpha():
            by_prefix.setdefault(word[:4], []).append(word)
    return by_prefix


@dataclass(frozen=True, eq=False)
class Segment:
    """Passages, postings (term -> passages with frequencies and lengths), rows (passage -> terms),
    document frequencies and surface word forms; optionally some passages marked deleted."""

    passages: tuple[Passage, ...]
    term_ids: dict[str, int]
    terms: list[str]
    post_start: np.ndarray  # term id -> start of its posting (one more entry than terms)
    post_docs: np.ndarray  # int32 local passage positions, ascending within a posting
    post_tf: np.ndarray  # float32 (exact for counts): frequency of the term in the passage
    post_len: np.ndarray  # float32: length of the posting's passage, for BM25's length normalisation
    row_start: np.ndarray  # local position -> start of its row
    row_terms: np.ndarray  # int32 term ids, by passage
    doc_len: np.ndarray  # int64 terms per passage
    df: np.ndarray  # int64 passages holding each term (deleted ones included)
    forms: dict[str, int]  # surface word form -> passages holding it (deleted ones included)
    speller: Speller
    by_prefix: dict[str, list[str]]  # four-letter prefix -> sorted known words
    deleted: np.ndarray | None = None  # bool per passage, None when nothing is deleted
    deleted_df: dict[str, int] = dataclasses.field(default_factory=dict)
    deleted_forms: dict[str, int] = dataclasses.field(default_factory=dict)

    @classmethod
    def build(cls, passages: Sequence[Passage]) -> Segment:
        passages = tuple(passages)
        if not passages:
            raise ValueError("cannot index zero passages")
        n = len(passages)
        builder = _PostingsBuilder()
        for chunk_start in range(0, n, _CHUNK):
            builder.add(passages[chunk_start:chunk_start + _CHUNK], chunk_start)
        pair_docs, pair_terms, tf, doc_len = builder.finish(n)
        order = np.argsort(pair_terms, kind="stable")
        post_docs = pair_docs[order]
        post_tf = tf[order].astype(np.float32)
        del order
        df = np.bincount(pair_terms, minlength=len(builder.terms))
        forms: dict[str, int] = {}
        for word, count in zip(builder.words, builder.word_passages.tolist(), strict=True):
            _add_forms(forms, word, count)
        return cls(passages, builder.term_ids, builder.terms, np.concatenate(([0], np.cumsum(df))), post_docs,
                   post_tf, doc_len[post_docs].astype(np.float32),
                   np.searchsorted(pair_docs, np.arange(n + 1)), pair_terms, doc_len, df, forms,
                   Speller(forms.items()), prefix_table(forms))

    def __len__(self) -> int:
        return len(self.passages)

    @cached_property
    def documents(self) -> frozenset[str]:
        """Ids of the documents with a live passage here."""
        return frozenset(p.document_id for p in self.live_passages)

    @cached_property
    def live_local(self) -> np.ndarray | None:
        """Local positions of the live passages, None when none is deleted."""
        return None if self.deleted is None else np.flatnonzero(~self.deleted)

    @cached_property
    def live_rank(self) -> np.ndarray | None:
        """Local position -> its rank among the live passages (its position in an index's order)."""
        if self.deleted is None:
            return None
        return np.cumsum(~self.deleted) - 1

    @cached_property
    def live_passages(self) -> tuple[Passage, ...]:
        if self.live_local is None:
            return self.passages
        return tuple(self.passages[i] for i in self.live_local)

    @cached_property
    def live(self) -> int:
        return len(self.passages) if self.live_local is None else len(self.live_local)

    @cached_property
    def live_length(self) -> int:
        """Terms in the live passages (BM25's total length)."""
        if self.deleted is None:
            return int(self.doc_len.sum())
        return int(self.doc_len[~self.deleted].sum())

    def document_frequency(self, term: str) -> int:
        """Live passages holding the term."""
        term_id = self.term_ids.get(term)
        if term_id is None:
            return 0
        return int(self.df[term_id]) - self.deleted_df.get(term, 0)

    def form_count(self, form: str) -> int:
        """Live passages holding the surface form."""
        return self.forms.get(form, 0) - self.deleted_forms.get(form, 0)

    def without_documents(self, document_ids: Iterable[str]) -> Segment:
        """This segment with the passages of these documents marked deleted (the arrays are shared)."""
        wanted = frozenset(document_ids)
        hit = np.fromiter((p.document_id in wanted for p in self.passages), dtype=bool, count=len(self.passages))
        if self.deleted is not None:
            hit &= ~self.deleted
        if not hit.any():
            return self
        gone = [self.passages[i] for i in np.flatnonzero(hit)]
        deleted_df = Counter(self.deleted_df)
        for i in np.flatnonzero(hit):
            deleted_df.update(self.terms[t] for t in self.row_terms[self.row_start[i]:self.row_start[i + 1]])
        deleted_forms = Counter(self.deleted_forms)
        deleted_forms.update(surface_forms(gone))
        mask = hit if self.deleted is None else self.deleted | hit
        return dataclasses.replace(self, deleted=mask, deleted_df=dict(deleted_df), deleted_forms=dict(deleted_forms))

    def merged(self) -> Segment:
        """A fresh segment of the live passages: deletions merged away."""
        return self if self.deleted is None else Segment.build(self.live_passages)


def merge_policy(segments: Sequence[Segment], protected: int = 1) -> tuple[Segment, ...]:
    """Drop empty segments, rebuild mostly-deleted ones, and fold the small ones after the first
    ``protected`` (the shared base's) into one when there are too many."""
    kept = [s if s.deleted is None or s.live >= len(s) * (1 - MAX_DELETED_SHARE) else s.merged()
            for s in segments if s.live]
    if len(kept) > MAX_SEGMENTS + protected:
        kept = [*kept[:protected], Segment.build([p for s in kept[protected:] for p in s.live_passages])]
    return tuple(kept)


def updated_segments(segments: Sequence[Segment], removed: Iterable[str], added: Sequence[Passage],
                     protected: int = 1) -> tuple[Segment, ...]:
    """Segments after some documents were removed (marked deleted) and some passages added (a new segment)."""
    removed = frozenset(removed)
    result = [s.without_documents(removed) if removed & s.documents else s for s in segments]
    if added:
        result.append(Segment.build(added))
    return merge_policy(result, protected)

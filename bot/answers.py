"""Answers as plain data: quoted excerpts with numbered citations, or a polite decline.

Retrieval ranks passages; this module decides whether the best of them
really answers (coverage of the question's topic words), picks each
passage's best sentences, and cites where they came from.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from bot.excerpts import Selection, Span, select_excerpt
from bot.followups import FollowUp, read_followup
from bot.knowledge.models import Document, KnowledgeBase, Passage
from bot.search.analysis import acronyms, analyse
from bot.search.index import SearchIndex
from bot.search.query import ALIAS_WEIGHT, CONTEXT_WEIGHT, Query, QueryAnalyser
from bot.search.stopwords import DOCUMENT_WORDS

if TYPE_CHECKING:
    from bot.search.semantic import SemanticIndex

DEFAULT_EXCERPTS = 3
MAX_EXCERPTS = 10
# Share of the question's topic words (IDF-weighted) the best passage must
# contain. Dev set: unanswerable questions peak at 0.28 (one outlier at 0.53),
# answerable ones with a word the article never uses sit at 0.33-0.46;
# 0.3 declines 23/24 unanswerable with 0-1 false abstentions (0.4: 2, 0.5: 4).
# Across the three dev sets with the semantic stage (hit@1 licences / Python docs, declined licences / Python
# docs, false abstentions in all): 0.3: 70 / 21.3, 62.5 / 40.0, 0; 0.35: 65 / 19.1, 75 / 60.0, 1; 0.4: 65 / 19.1,
# 75 / 66.7, 1; 0.45: 65 / 19.1, 75 / 66.7, 1 (article hit@1 96.1). Declining more off-topic questions costs answers.
MIN_COVERAGE = 0.3
# Further excerpts must score at least this share of the best one, so a
# clear answer is not padded with loosely related text (0.2 cost 2 points of hit@3).
MIN_RELATIVE_SCORE = 0.1
CANDIDATES = 50
QUOTE_COVERAGE_BONUS = 1.0

# Semantic stage, measured on the three dev sets at once (`python -m bot eval eval/sets.yaml`).
# Weighted reciprocal rank fusion with bge-small-en-v1.5, hit@1 article / licences / Python docs,
# pooled over 118 answerable questions: lexical weight 0.7: 94.1 / 50 / 17.0 (55.9%); 0.6: 96.1 / 45 /
# 19.1 (56.8%); 0.55: 96.1 / 45 / 21.3 (57.6%); 0.5: 96.1 / 40 / 23.4 (57.6%); 0.3: 88.2 / 20 / 25.5
# (51.7%). (With MiniLM, fitted on the article alone, 0.7 was best: a weaker model needed more BM25.)
# Re-measured with passages embedded after their title and section (pooled hit@1 / hit@3): 0.4: 59.3 / 72.0;
# 0.5: 61.9 / 73.7; 0.55: 62.7 / 72.9; 0.6: 63.6 / 72.0; 0.7: 58.5 / 70.3 -- a plateau from 0.5 to 0.6.
DENSE_CANDIDATES = 20
LEXICAL_WEIGHT = 0.55
# Reciprocal rank fusion's constant: 60 as in Cormack et al. (2009), where it was measured on TREC. On the three
# dev sets (pooled hit@1 / hit@3): 5: 62.7 / 72.0; 10: 62.7 / 72.9; 20 and 60: 62.7 / 74.6 (Python docs hit@3
# 40.4 -> 44.7, the rest unchanged).
RRF_K = 60
# On bge-small-en-v1.5's cosine scale (higher than MiniLM's: unrelated text scores ~0.4-0.5). MiniLM's 0.25
# and 0.6 mapped by quantile and by a linear fit of both models' best similarity per dev question (article
# and licences, 101 questions, r=0.91-0.93): 0.53 and 0.72; MIN_SIMILARITY sits, as 0.25 did for MiniLM, just
# below the lowest answerable question that shares words (0.504).
MIN_SIMILARITY = 0.50  # lexical match but meaning this far off: declined
STRONG_SIMILARITY = 0.72  # a paraphrase this close is answered even without shared words
SENTENCE_MEANING_WEIGHT = 0.5  # share of a sentence's score from its similarity to the question
# A proper name the knowledge base never mentions ("Venezuela") is the
# question's subject far more surely than an unknown common word ("buddy").
UNKNOWN_NAME_WEIGHT = 2.0
# A corrected word is a guess: "match" is a real word, and "March" one edit away
# must not make a football question look answered. Half credit keeps single
# misspelt words ("syira") answerable.
TYPO_CREDIT = 0.5

NOT_FOUND = "I couldn't find that in the knowledge base."
NOT_A_QUESTION = "Ask me a question about the knowledge base."


@dataclass(frozen=True)
class Citation:
    number: int
    document_id: str
    passage_id: str
    title: str
    location: str
    author: str | None = None
    publication: str | None = None
    published: str | None = None
    url: str | None = None

    @property
    def text(self) -> str:
        """"Title — Author, Publication, July 6, 2017, ¶4. URL" as a reader cites it."""
        parts = [p for p in (self.author, self.publication, self.published, self.location) if p]
        text = f"{self.title} — {', '.join(parts)}" if parts else self.title
        return f"{text}. {self.url}" if self.url else f"{text}."


@dataclass(frozen=True)
class Excerpt:
    quote: str  # the article's exact words
    passage: Passage
    citation: Citation
    score: float
    highlights: tuple[Span, ...] = ()  # matched words, as offsets into quote
    trimmed_start: bool = False  # the passage goes on before the quote
    trimmed_end: bool = False
    code: Passage | None = None  # a code block that directly follows the quoted passage, shown as code

    @property
    def display_quote(self) -> str:
        return f"{'… ' if self.trimmed_start else ''}{self.quote}{' …' if self.trimmed_end else ''}"


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    message: str
    excerpts: tuple[Excerpt, ...] = ()
    offset: int = 0
    has_more: bool = False
    corrections: dict[str, str] = field(default_factory=dict)
    hint: str = ""
    searched: tuple[str, ...] = ()  # a follow-up's topic words, earlier ones first (bot/followups.py)

    def to_json(self) -> dict:
        """The stable `--json` contract (docs/commands-and-settings.md)."""
        return {
            "question": self.question,
            "answered": self.answered,
            "message": self.message,
            "excerpts": [
                {
                    "quote": e.quote,
                    "passage": e.passage.text,
                    "citation": e.citation.text,
                    "document": e.passage.document_id,
                    "paragraph": e.passage.paragraph,
                    "score": round(e.score, 4),
                    "passage_id": e.passage.id,
                    "number": e.citation.number,
                    "section": list(e.passage.section),
                    "page": e.passage.page,
                    **({"code": e.code.text} if e.code else {}),
                }
                for e in self.excerpts
            ],
            "corrections": self.corrections,
        }


def cite(document: Document, passage: Passage, number: int) -> Citation:
    return Citation(number, document.id, passage.id, document.title, passage.location, document.author,
                    document.publication, document.published_text, document.url)


class Coverage:
    """IDF-weighted share of the question's topic words that a passage (or a quote) holds.

    An unknown word weighs as much as the rarest known one: "Russia in
    Venezuela" is mostly about Venezuela, which the knowledge base never names.
    Weights are worked out once per question; a passage then costs a few set lookups.
    """

    def __init__(self, query: Query, index: SearchIndex):
        self.index = index
        self.words: list[tuple[float, tuple[str, ...], tuple[str, ...]]] = []  # (weight, terms, aliases)
        self.total = 0.0
        for word in query.content_words:
            known = [t for t in word.terms + word.aliases if index.knows(t)]
            weight = max(index.idf(t) for t in known) if word.known and known else index.max_idf
            if word.name and not word.known:
                weight *= UNKNOWN_NAME_WEIGHT
            if word.context:  # a follow-up must still be answered for what it asks now
                weight *= CONTEXT_WEIGHT
            self.total += weight
            self.words.append((weight * (TYPO_CREDIT if word.correction else 1.0), word.terms, word.aliases))

    def __call__(self, present: Collection[str]) -> float:
        covered = 0.0
        for weight, terms, aliases in self.words:
            if any(t in present for t in terms):
                covered += weight
            elif any(t in present for t in aliases):
                covered += weight * ALIAS_WEIGHT
        return covered / self.total if self.total else 0.0

    def of_passages(self, positions: np.ndarray) -> np.ndarray:
        """Coverage of many passages at once, from the postings."""
        covered = np.zeros(len(positions))
        for weight, terms, aliases in self.words:
            direct = self.index.holding(terms, positions)
            covered += weight * direct + weight * ALIAS_WEIGHT * (self.index.holding(aliases, positions) & ~direct)
        return covered / self.total if self.total else covered


@dataclass(frozen=True)
class _Candidate:
    position: int
    bm25: float
    coverage: float  # of the whole passage
    quote_coverage: float  # of the sentences that would be quoted
    selection: Selection
    similarity: float = 0.0  # cosine to the question (semantic stage only)
    score: float = 0.0  # what the answer is ranked by

    @property
    def lexical(self) -> float:
        """BM25, scaled by how much of the question the passage and its quote answer.

        The quote factor rewards passages whose matches sit together in one or
        two sentences (a proximity signal); on the dev set it lifts hit@1 from
        90.2% to 92.2% and quote@1 from 88.2% to 90.2% (bonus 1.0; 2.0 ties).
        """
        return self.bm25 * self.coverage * (1 + QUOTE_COVERAGE_BONUS * self.quote_coverage)


def _candidate(query: Query, index: SearchIndex, coverage: Coverage, position: int, bm25: float,
               passage_coverage: float, sentence_sims: dict[tuple[int, int], float] | None = None,
               similarity: float = 0.0) -> _Candidate:
    text = index.passages[position].text
    selection = select_excerpt(text, query.weights, index.idf_map, query.highlight_terms, sentence_sims,
                               SENTENCE_MEANING_WEIGHT if sentence_sims else 0.0)
    return _Candidate(position, bm25, passage_coverage, coverage(selection.matched), selection, similarity)


def rank_lexical(query: Query, index: SearchIndex, needed: int) -> list[_Candidate]:
    """The best ``needed`` candidates in order (and any others worked out on the way).

    Candidates are taken by BM25 x coverage; the quote bonus can at most
    multiply that by 1 + QUOTE_COVERAGE_BONUS, so once that bound falls below
    the needed-th score found, no later candidate can enter the page and the
    rest are never excerpted. The order of the first ``needed`` is exact.
    """
    ranked = index.search(query.weights, k=CANDIDATES)
    if not ranked:
        return []
    coverage = Coverage(query, index)
    positions = np.fromiter((p for p, _ in ranked), dtype=np.int64, count=len(ranked))
    covered = coverage.of_passages(positions)
    bounds = sorted(((bm25 * covered[i], pos, bm25, float(covered[i])) for i, (pos, bm25) in enumerate(ranked)),
                    key=lambda b: (-b[0], b[1]))
    done: list[_Candidate] = []
    scores: list[float] = []
    for bound, pos, bm25, passage_coverage in bounds:
        best_possible = bound * (1 + QUOTE_COVERAGE_BONUS)
        if scores and best_possible < MIN_RELATIVE_SCORE * scores[0]:
            break
        if len(scores) >= needed and best_possible < scores[needed - 1]:
            break
        candidate = _candidate(query, index, coverage, pos, bm25, passage_coverage)
        done.append(dataclasses.replace(candidate, score=candidate.lexical))
        scores = sorted((c.score for c in done), reverse=True)
    done.sort(key=lambda c: (-c.score, c.position))
    return done


def rank_hybrid(query: Query, index: SearchIndex, semantic: SemanticIndex,
                question: str) -> tuple[list[_Candidate], float, float]:
    """BM25 candidates and dense candidates, fused by weighted reciprocal rank.

    Returns the candidates, the best similarity of a passage, and of a passage or a metadata line.
    """
    vector = semantic.encode_query(question)
    similarity = semantic.passage_similarity(vector)
    lexical = dict(index.search(query.weights, k=CANDIDATES))
    dense = np.argsort(-similarity, kind="stable")[:DENSE_CANDIDATES]
    positions = list(dict.fromkeys([*lexical, *(int(p) for p in dense)]))
    coverage = Coverage(query, index)
    covered = coverage.of_passages(np.asarray(positions, dtype=np.int64))
    candidates = [_candidate(query, index, coverage, pos, lexical.get(pos, 0.0), float(covered[i]),
                             semantic.sentence_similarity(vector, pos), float(similarity[pos]))
                  for i, pos in enumerate(positions)]
    best = float(similarity.max()) if len(similarity) else 0.0
    return candidates, best, max(best, semantic.about_similarity(vector))


def fuse(candidates: list[_Candidate], lexical_weight: float) -> list[_Candidate]:
    by_lexical = sorted((c for c in candidates if c.lexical > 0), key=lambda c: (-c.lexical, c.position))
    by_meaning = sorted(candidates, key=lambda c: (-c.similarity, c.position))
    fused: dict[int, float] = {}
    for weight, ranking in ((lexical_weight, by_lexical), (1 - lexical_weight, by_meaning)):
        for rank, c in enumerate(ranking, 1):
            fused[c.position] = fused.get(c.position, 0.0) + weight / (RRF_K + rank)
    return sorted((dataclasses.replace(c, score=fused.get(c.position, 0.0)) for c in candidates),
                  key=lambda c: (-c.score, c.position))


def _metadata_terms(document: Document) -> frozenset[str]:
    """The words that name a document: its title, subtitle, author, publication, path, and acronyms."""
    text = " ".join(filter(None, (document.title, document.subtitle, document.author, document.publication,
                                  document.id.replace("/", " ").replace("-", " "))))
    return frozenset(analyse(text)) | {t for a in acronyms(f"{document.title} {document.subtitle or ''}")
                                       for t in analyse(a)}


def answer_from_metadata(kb: KnowledgeBase, query: Query) -> list[Excerpt]:
    """Fields of the documents a question asks about, when that is all it asks.

    "Who wrote the article?", "when was the GNU GPL published?", "which sections does the Apache
    License have?": words that ask for a field, and otherwise only words that name documents
    (their title, author, path) or refer to one ("article"). A question with any other word
    ("what does the author recommend?") is about the text, and is answered from it.
    """
    if not query.fields:
        return []
    naming = [w for w in query.words if not w.field and w.word not in DOCUMENT_WORDS and not w.context]
    documents = [d for d in kb.documents
                 if all(any(t in _metadata_terms(d) for t in w.terms + w.aliases) for w in naming)]
    earlier = [w for w in query.words if w.context]  # a follow-up ("who wrote it?"): the documents named before
    named_before = [d for d in documents if any(t in _metadata_terms(d) for w in earlier for t in w.terms)]
    documents = named_before or documents
    # The documents whose own title says most of what the question names come first ("the logging
    # howto": "Logging HOWTO" before "Logging Cookbook", which only lives in the howto folder).
    documents.sort(key=lambda d: -sum(any(t in analyse(d.title) for t in w.terms) for w in naming))
    excerpts: list[Excerpt] = []
    for document in documents:
        by_field = {p.id.rsplit("#", 1)[1]: p for p in document.metadata}
        for name in query.fields:
            passage = by_field.get(name)
            if passage is not None:
                excerpts.append(Excerpt(passage.text, passage, cite(document, passage, len(excerpts) + 1), 1.0))
    return excerpts


def corrected_text(query: Query) -> str:
    """The question with its spelling corrections applied: what the meaning stage should read
    ("syira" embeds as nothing in particular; "syria" as the country)."""
    text = query.text
    for word, correction in query.corrections.items():
        text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", correction, text)
    return text


def answer_question(kb: KnowledgeBase, index: SearchIndex, analyser: QueryAnalyser, question: str, *,
                    limit: int = DEFAULT_EXCERPTS, offset: int = 0, hint: str = "",
                    semantic: SemanticIndex | None = None, earlier: Sequence[str] = ()) -> Answer:
    """Answer from the knowledge base, or decline when nothing relevant is known.

    ``earlier``: the conversation's previous questions, oldest first; a follow-up is read with them.
    """
    limit = max(1, min(limit, MAX_EXCERPTS))
    followup = read_followup(analyser, question, earlier) if earlier else FollowUp(analyser.analyse(question))
    query, searched = followup.query, followup.searched
    shown = question.strip()
    if not query.words:
        return Answer(shown, False, NOT_A_QUESTION, hint=hint)
    details = answer_from_metadata(kb, query)
    if details:
        page = tuple(details[offset:offset + limit])
        if page:
            return Answer(shown, True, "", page, offset, offset + limit < len(details), query.corrections, hint,
                          searched)
        return Answer(shown, False, "No more excerpts for this question.", offset=offset,
                      corrections=query.corrections, hint=hint)
    if semantic is None:
        ranked = rank_lexical(query, index, offset + limit + 1)
        answerable = bool(ranked) and ranked[0].coverage >= MIN_COVERAGE
    else:
        # The meaning stage reads the earlier words only when the question names nothing itself ("why?"):
        # added to "and what about Venezuela?" they would make it mean the earlier question.
        meaning = " ".join((corrected_text(query), *(() if followup.own else followup.carried)))
        candidates, best_body, best_any = rank_hybrid(query, index, semantic, meaning)
        lexical_best = max(candidates, key=lambda c: (c.lexical, -c.position), default=None)
        lexical_ok = lexical_best is not None and lexical_best.lexical > 0 and lexical_best.coverage >= MIN_COVERAGE
        # Common words but no meaning match: declined; no shared words but a strong match: answered,
        # ranked by meaning alone since the words that matched are not what was asked.
        answerable = (lexical_ok and best_any >= MIN_SIMILARITY) or best_body >= STRONG_SIMILARITY
        ranked = fuse(candidates, LEXICAL_WEIGHT if lexical_ok else 0.0)
    if not answerable:
        return Answer(shown, False, NOT_FOUND, corrections=query.corrections, hint=hint, searched=searched)
    top_score = ranked[0].score
    excerpts: list[Excerpt] = []
    seen_quotes: set[str] = set()
    for candidate in ranked:
        if candidate.score < MIN_RELATIVE_SCORE * top_score:
            break
        passage = index.passages[candidate.position]
        selection = candidate.selection
        quote = passage.text[selection.start:selection.end]
        key = " ".join(quote.lower().split())
        if key in seen_quotes:  # the same words in two places: quote them once
            continue
        seen_quotes.add(key)
        document = kb.document(passage.document_id)
        citation = cite(document, passage, len(excerpts) + 1)
        excerpts.append(Excerpt(quote, passage, citation, candidate.score, selection.highlights,
                                selection.start > 0, selection.end < len(passage.text.rstrip()),
                                document.code_after(passage)))
    page = tuple(excerpts[offset:offset + limit])
    if not page:
        return Answer(shown, False, "No more excerpts for this question.", offset=offset,
                      corrections=query.corrections, hint=hint)
    return Answer(shown, True, "", page, offset, offset + limit < len(excerpts), query.corrections, hint, searched)

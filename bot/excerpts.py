"""Pick the one or two sentences of a passage that best answer, and mark the matched words."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bot.search.analysis import word_spans

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr gen sen rep gov lt col sgt capt st jr sr prof no vs etc e.g i.e jan feb mar apr jun jul aug "
    "sep sept oct nov dec inc co corp ltd dept fig approx est".split())
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_WORD_BEFORE = re.compile(r"([\w.]+)[.!?…]*[\"'”’)\]]*$")

# A passage sentence this short rarely answers on its own ("Not likely.").
SHORT_SENTENCE = 40
# With the semantic stage, meaning picks the sentence only when no sentence holds this
# share of the question's weighted words: on the dev set meaning as a tie-break among
# lexically equal sentences lost quote@1 (MiniLM preferred "The risk of a clash ... over
# Syria" to the sentence that says what Russia did there).
WEAK_SENTENCE_MATCH = 0.5
QUESTION_PENALTY = 0.2


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def split_sentences(text: str) -> list[Span]:
    """Sentence spans; abbreviations ("Gen.", "U.S.", "H.R.") do not end a sentence."""
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = _WORD_BEFORE.search(text, start, match.end())
        word = before.group(1).lower().rstrip(".") if before else ""
        if word in _ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)*[a-z]", word):
            continue
        spans.append(Span(start, match.end()))
        start = match.end()
        while start < len(text) and text[start].isspace():
            start += 1
    if start < len(text):
        spans.append(Span(start, len(text.rstrip())))
    return [s for s in spans if text[s.start:s.end].strip()]


@dataclass(frozen=True)
class Selection:
    start: int
    end: int
    highlights: tuple[Span, ...]  # offsets relative to the selection
    matched: frozenset[str] = frozenset()  # question terms the selection holds


def select_excerpt(text: str, weights: Mapping[str, float], idf: Mapping[str, float],
                   highlight: Collection[str], sentence_sims: Mapping[tuple[int, int], float] | None = None,
                   meaning_weight: float = 0.0) -> Selection:
    """The best sentence (distinct question terms first, then BM25), widened to two when that helps.

    A rhetorical question in the passage ("Maybe Putin can help with North
    Korea?") ranks below a statement with the same words, and when it is
    still the best it takes the next sentence along, which holds the answer.
    With the semantic stage, a sentence's similarity to the question counts
    too (``meaning_weight`` of the score), so a paraphrase can win.
    """
    spans = split_sentences(text) or [Span(0, len(text))]
    words = word_spans(text)
    total = sum(weights.values()) or 1.0
    scored = []
    w = 0
    for i, span in enumerate(spans):
        matched: dict[str, int] = {}
        while w < len(words) and words[w][0] < span.end:
            if words[w][0] >= span.start:
                for term in words[w][2]:
                    if term in weights:
                        matched[term] = matched.get(term, 0) + 1
            w += 1
        coverage = sum(weights[t] for t in matched)
        # The saturating tf part of BM25 within the sentence breaks ties between equal coverage.
        bm25 = sum(weights[t] * idf.get(t, 0.0) * tf * 2.2 / (tf + 1.2) for t, tf in matched.items())
        is_question = text[span.start:span.end].rstrip("\"'”’) ").endswith("?")
        scored.append((coverage - (0.5 if is_question else 0.0), bm25, -i, set(matched), is_question))
    if sentence_sims and meaning_weight and max(s[0] for s in scored) < WEAK_SENTENCE_MATCH * total:
        # No sentence holds even half the question's words: a paraphrase. Meaning decides,
        # still below a statement for a rhetorical question.
        scored = [((1 - meaning_weight) * lexical / total
                   + meaning_weight * sentence_sims.get((spans[i].start, spans[i].end), 0.0)
                   - (QUESTION_PENALTY if is_question else 0.0), bm25, order, matched, is_question)
                  for i, (lexical, bm25, order, matched, is_question) in enumerate(scored)]
    best = max(range(len(spans)), key=lambda i: scored[i][:3])
    first = last = best
    _, _, _, matched, is_question = scored[best]
    short = spans[best].end - spans[best].start < SHORT_SENTENCE
    options = []
    for j in (best + 1, best - 1):
        if 0 <= j < len(spans):
            gain = len(scored[j][3] - matched)
            options.append((gain, j == best + 1, j))
    options.sort(reverse=True)
    if options:
        gain, _, j = options[0]
        if gain > 0 or ((is_question or short) and best + 1 < len(spans)):
            j = j if gain > 0 else best + 1
            first, last = min(best, j), max(best, j)
    start, end = spans[first].start, spans[last].end
    marks = tuple(Span(ws - start, we - start) for ws, we, terms in words
                  if ws >= start and we <= end and any(t in highlight for t in terms))
    quoted = frozenset(t for i in range(first, last + 1) for t in scored[i][3])
    return Selection(start, end, marks, quoted)

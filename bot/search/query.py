"""From what a user typed to weighted search terms.

Cleaning drops what is not the question (mentions, markdown, emoji);
analysis then adds typo corrections for words that are neither in the knowledge base nor
English, and admin aliases,
and keeps track of which question word each term came from so that
abstention can ask "how much of the question does this passage cover?".
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.knowledge.loader import FIELD_WORDS
from bot.search.analysis import fold, tokens, word_form, word_terms
from bot.search.english import is_english, spelling_variants
from bot.search.index import SearchIndex
from bot.search.stopwords import FRAMING_WORDS

# Weights relative to a word as typed; measured with `python -m bot eval`.
# "article", "say" frame the question, rarely name its topic: 0.3 let the
# author's bio ("author of ... Putin's Regime") outrank the answer (hit@1 -2%).
FRAMING_WEIGHT = 0.0
TYPO_WEIGHT = 0.9  # a corrected word is probably, not certainly, what was meant
ALIAS_WEIGHT = 0.6  # an alias widens the question; the word itself should still win
# A word carried over from the conversation's earlier questions (bot/followups.py): it narrows a follow-up
# ("and what about Iran?") without outweighing what is asked now. eval/followups (article and licences, 24
# answerable follow-ups, 5 unanswerable): hit@1 lexical / semantic 0.3: 79.2 / 75.0, all 5 declined; 0.5: 79.2 /
# 75.0 (hit@3 83.3 / 87.5), all declined; 0.7: 75.0 / 75.0, 2 of 5 answered. The question alone: 45.8 / 54.2.
# The 18 new-topic questions score the same with and without the earlier ones (83.3 / 88.9) at every weight.
CONTEXT_WEIGHT = 0.5
MAX_QUESTION_CHARS = 1000  # beyond this a "question" is a paste; the start is what is asked
MAX_TERMS = 48

# "wrote" -> "author": a question word that asks for a metadata field (answers.py decides whether
# the question is about the field or about the text). Matched as written, not by stem: "called"
# asks for a title, "call" does not.
_FIELD_OF = {word: name for name, (_, words) in FIELD_WORDS.items() for word in words.split()}

_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|@(?:everyone|here)\b")
_CUSTOM_EMOJI = re.compile(r"<a?:(\w+):\d+>")
_SHORTCODE = re.compile(r":[a-z0-9_+\-]+:")
_URL = re.compile(r"https?://\S+")
_MARKDOWN = re.compile(r"[*_~`>|#\\]+")
_REPEATED = re.compile(r"([!?.,;:\-])\1+")


def clean_question(text: str) -> str:
    """The question without Discord mentions, markdown, emoji, links and repeated punctuation."""
    text = _MENTION.sub(" ", text)
    text = _CUSTOM_EMOJI.sub(" ", text)
    text = _SHORTCODE.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _MARKDOWN.sub(" ", text)  # a separator, as the index reads it: "dh_python3" is dh, python3
    text = "".join(" " if unicodedata.category(ch) in ("So", "Sk", "Cs", "Co", "Cn") or ch in "\u200d\ufe0f"
                   else ch for ch in text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = _REPEATED.sub(r"\1", text)
    text = re.sub(r"\s+([!?.,;:])", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class QueryWord:
    """One content word of the question and the terms it searches."""

    word: str
    terms: tuple[str, ...]  # its own stems, or the correction's
    weight: float
    known: bool
    framing: bool = False
    correction: str | None = None
    aliases: tuple[str, ...] = ()  # related terms searched at ALIAS_WEIGHT: admin aliases, word family
    name: bool = False  # written as a proper name ("Venezuela" mid-sentence)
    field: str | None = None  # the metadata field this word asks for ("wrote": author)
    context: bool = False  # carried over from an earlier question of the conversation (CONTEXT_WEIGHT)


@dataclass(frozen=True)
class Query:
    text: str
    words: tuple[QueryWord, ...]
    weights: Mapping[str, float] = field(default_factory=dict)

    @property
    def content_words(self) -> tuple[QueryWord, ...]:
        """The words that name the topic; known framing words only when nothing else is asked."""
        topic = tuple(w for w in self.words if not w.framing)
        return topic or tuple(w for w in self.words if w.known)

    @property
    def fields(self) -> tuple[str, ...]:
        """Metadata fields the question's words ask for, in order."""
        return tuple(dict.fromkeys(w.field for w in self.words if w.field))

    @property
    def corrections(self) -> dict[str, str]:
        return {w.word: w.correction for w in self.words if w.correction}

    @property
    def unknown(self) -> tuple[str, ...]:
        return tuple(w.word for w in self.words if not w.known)

    @property
    def highlight_terms(self) -> frozenset[str]:
        return frozenset(self.weights)


def _weights(words: Sequence[QueryWord]) -> dict[str, float]:
    """Each term's weight: the highest of the words that search it (aliases at ALIAS_WEIGHT)."""
    weights: dict[str, float] = {}
    for w in words:
        for term in w.terms:
            weights[term] = max(weights.get(term, 0.0), w.weight)
        for term in w.aliases:
            weights[term] = max(weights.get(term, 0.0), ALIAS_WEIGHT * w.weight)
    return weights


def _standalone(word: str, question: str) -> bool:
    """Whether the question as typed holds the word on its own, not inside an identifier ("__name__")."""
    return re.search(rf"(?<![\w.]){re.escape(word)}(?![\w(])", question.lower()) is not None


def _shared_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _same_family(a: str, b: str) -> bool:
    """One word extends the other by a short ending ("east"/"eastern"), or both share a
    long stem and differ only in their last three letters ("kleptocracy"/"kleptocratic")."""
    shared = _shared_prefix(a, b)
    short, long = sorted((len(a), len(b)))
    return (shared == short >= 4 and long - short <= 3) or (shared >= 6 and short - shared <= 3)


def _analysed_aliases(aliases: Mapping[str, tuple[str, ...]]) -> dict[tuple[str, ...], tuple[str, ...]]:
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    for key, targets in aliases.items():
        key_terms = tuple(t for tok in tokens(key) for t in tok.terms)
        target_terms = tuple(dict.fromkeys(t for text in targets for tok in tokens(text) for t in tok.terms))
        if key_terms and target_terms:
            table[key_terms] = tuple(dict.fromkeys(table.get(key_terms, ()) + target_terms))
    return table


class QueryAnalyser:
    """Turns questions into Queries against one index and one alias table."""

    def __init__(self, index: SearchIndex, aliases: Mapping[str, tuple[str, ...]] | None = None):
        self.index = index
        self.aliases = _analysed_aliases(aliases or {})

    def analyse(self, question: str) -> Query:
        text = clean_question(question)[:MAX_QUESTION_CHARS]
        words: list[QueryWord] = []
        seen: set[str] = set()
        stems_in_question: list[str] = []
        for token in tokens(text):
            if not token.terms:
                continue
            form = word_form(token.surface)
            if form in seen:
                continue
            seen.add(form)
            stems_in_question.extend(token.terms)
            framing = form in FRAMING_WORDS
            terms = token.terms
            known = any(self.index.knows(t) for t in terms)
            correction = None
            if not known and "-" not in form:
                terms, known, correction = self._unknown_word(form, terms)
            family = () if framing else self._family(correction or form, known)
            weight = FRAMING_WEIGHT if framing else (TYPO_WEIGHT if correction else 1.0)
            name = token.start > 0 and text[token.start].isupper() and not text[:token.start].rstrip().endswith(
                (".", "?", "!")) and not text.isupper()
            # A word that is no English word, not a typo of a known one and unknown here names something
            # ("heroku", "wtfpl") as surely as a capital does: the question is about what the base never names.
            name = name or not (known or correction or family or is_english(form))
            field_name = _FIELD_OF.get(form) if _FIELD_OF.get(form) and _standalone(form, question) else None
            words.append(QueryWord(form, terms, weight, known or bool(family), framing, correction, family, name,
                                   field_name))
            if len(words) >= MAX_TERMS:
                break
        words = self._add_aliases(words, stems_in_question)
        if words and all(w.framing for w in words):  # "who is the author?" asks about framing itself
            words = [dataclasses.replace(w, weight=1.0) for w in words]
        return Query(fold(text), tuple(words), _weights(words))

    def with_context(self, query: Query, earlier: Sequence[QueryWord]) -> Query:
        """``query`` with topic words of earlier questions added at CONTEXT_WEIGHT (those it does not hold)."""
        own = {t for w in query.words for t in w.terms}
        added = [dataclasses.replace(w, weight=w.weight * CONTEXT_WEIGHT, context=True) for w in earlier
                 if not own.intersection(w.terms)]
        words = (*query.words, *added)
        return Query(query.text, words, _weights(words))

    def _unknown_word(self, form: str, terms: tuple[str, ...]) -> tuple[tuple[str, ...], bool, str | None]:
        """(terms, known, correction) of a word the knowledge base does not know.

        An English word is never corrected: "worth" stays "worth" (an unknown, so rare, word)
        rather than becoming "north". Its other spelling is searched too when the knowledge base
        has that one ("licence" in a text that writes "license"): the same word, not a guess.
        Only a word that is neither English nor known is a typo, corrected to the closest known word.
        """
        if is_english(form):
            variants = tuple(t for v in spelling_variants(form) for t in word_terms(v) if self.index.knows(t))
            return (tuple(dict.fromkeys(terms + variants)), True, None) if variants else (terms, False, None)
        correction = self.index.speller.correct(form)
        if not correction:
            return terms, False, None
        terms = word_terms(correction) or terms
        return terms, any(self.index.knows(t) for t in terms), correction

    def _family(self, form: str, known: bool) -> tuple[str, ...]:
        """Known words of the same family: "russian" <-> "russia", "kleptocracy" -> "kleptocratic".

        Demonyms link a name and its adjective both ways. A word the knowledge
        base does not know also matches a known word of the same family (see
        _same_family).
        """
        base = form[:-1] if form.endswith("s") and len(form) > 4 else form
        candidates = ({base[:-1], base[:-2], base[:-3], base[:-2] + "e", base[:-3] + "e"}
                      if base.endswith("n") else set())
        candidates |= {base + "n", base + "an", base + "ian", base[:-1] + "ian", base[:-1] + "an"}
        own = set(word_terms(form))
        related = [t for c in candidates if len(c) >= 4 and c in self.index.known_words
                   for t in word_terms(c) if t not in own]
        if not known and not related and len(form) >= 5 and form.isalpha():
            related = [t for k in self.index.words_with_prefix(form[:4]) if _same_family(form, k)
                       for t in word_terms(k) if t not in own]
        return tuple(dict.fromkeys(related))

    def _add_aliases(self, words: list[QueryWord], stems: list[str]) -> list[QueryWord]:
        if not self.aliases:
            return words
        present = set(stems) | {t for w in words for t in w.terms}
        result = []
        for w in words:
            extra: tuple[str, ...] = ()
            for key, targets in self.aliases.items():
                if set(key) <= present and any(t in key for t in w.terms + tuple(word_terms(w.word))):
                    extra += tuple(t for t in targets if t not in w.terms and t not in extra)
            known = w.known or any(self.index.knows(t) for t in extra)
            result.append(dataclasses.replace(w, known=known, aliases=w.aliases + extra) if extra else w)
        return result

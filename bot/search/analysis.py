"""Text analysis shared by indexing, questions and highlighting.

normalise -> tokens (with offsets into the original text) -> terms (stop
words dropped, possessives and apostrophes folded, stemmed). The same
function analyses passages and questions, so they always agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from bot.search.stopwords import STOP_WORDS

# One character in, one character out, so token offsets stay valid in the original text.
_FOLD = str.maketrans({
    **{c: "'" for c in "‘’‚‛′`´ʼ"},
    **{c: '"' for c in "“”„‟″«»"},
    **{c: "-" for c in "‐‑"},
    **{c: " " for c in "‒–—―−\u00ad\u00a0\u2009\u202f"},
})

_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W_]+(?:['\-][^\W_]+)*")

_stemmer = snowballstemmer.stemmer("english")


@dataclass(frozen=True)
class Token:
    surface: str  # the word as folded (lower case, straight quotes), for typo matching
    start: int
    end: int
    terms: tuple[str, ...]  # the stems this word is indexed under


def fold(text: str) -> str:
    """Lower case with curly quotes and dashes made plain; same length as the input."""
    folded = text.translate(_FOLD)
    lowered = folded.lower()
    return lowered if len(lowered) == len(folded) else "".join(
        ch.lower() if len(ch.lower()) == 1 else ch for ch in folded)


def _strip_accents(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return unicodedata.normalize("NFKC", "".join(c for c in decomposed if not unicodedata.combining(c)))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


@lru_cache(maxsize=200_000)
def word_form(surface: str) -> str:
    """A word with accents, acronym dots, possessive 's and apostrophes removed."""
    word = _strip_accents(surface).replace(".", "")
    if word.endswith("'s"):
        word = word[:-2]
    return word.replace("'", "")


@lru_cache(maxsize=200_000)
def word_terms(surface: str) -> tuple[str, ...]:
    """Stems for one folded word; a hyphenated word also yields its parts and its joined form."""
    word = word_form(surface)
    parts = [p for p in word.split("-") if p]
    candidates = parts if len(parts) == 1 else [*parts, "".join(parts)]
    terms = []
    for part in candidates:
        if part in STOP_WORDS or not part:
            continue
        term = stem(part)
        if term not in terms:
            terms.append(term)
    return tuple(terms)


def tokens(text: str) -> list[Token]:
    """Every word of ``text`` with its offsets and stems (stop words have no stems)."""
    folded = fold(text)
    return [Token(m.group(), m.start(), m.end(), word_terms(m.group())) for m in _TOKEN.finditer(folded)]


def word_spans(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, stems) of every word: tokens() without the objects, for hot paths."""
    return [(m.start(), m.end(), word_terms(m.group())) for m in _TOKEN.finditer(fold(text))]


def index_words(text: str) -> list[str]:
    """The folded words of a text, without offsets: the fast path for indexing."""
    return _TOKEN.findall(fold(text))


def analyse(text: str) -> list[str]:
    """The stems of a text, in order, repeats kept (what BM25 counts)."""
    return [term for token in tokens(text) for term in token.terms]


def acronyms(text: str, shortest: int = 2, longest: int | None = None) -> set[str]:
    """Initials of runs of capitalised words: "GNU General Public License" -> gpl, ggpl, gp, ...

    ``longest`` bounds their length: a long Title Case heading has many runs, and acronyms are short.
    """
    found: set[str] = set()
    run: list[str] = []
    for word in [*re.findall(r"[\w'’]+", text), ""]:
        if word[:1].isupper():
            run.append(word[0].lower())
            continue
        if len(run) >= shortest:
            found |= {"".join(run[i:j]) for i in range(len(run))
                      for j in range(i + shortest, min(len(run), i + (longest or len(run))) + 1)}
        run = []
    return found

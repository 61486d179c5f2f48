"""Plain text (.txt, READMEs, licences) read into blocks by the conventions of hard-wrapped text.

Plain text has no markup, only habits: blank lines between paragraphs, lines wrapped at ~72
columns, titles underlined with ``====`` or ``----``, centred or numbered headings standing
alone, bullets and ``a)`` enumerations with hanging indents, commands indented under the prose.
The rules below follow those habits and stay conservative: when in doubt a block is a paragraph,
whose words are kept exactly (only the line breaks and runs of spaces are joined).
"""

from __future__ import annotations

import itertools
import re
import textwrap
from collections import Counter
from dataclasses import dataclass

from bot.knowledge.blocks import Block, ParsedDocument, ParseError
from bot.knowledge.formats.markdown import table_paragraphs

_TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|.\x08")
_RULE = re.compile(r"^\s*(?:[#;]+\s*)?([-=*_~#+.^:<>/\\|])(?:\s*\1){2,}\s*$")
# "-------- Original README --------": a heading between two runs of one character.
_DECORATED = re.compile(r"^\s*([-=*#~+])\1{2,}\s+(\S.{0,78}?)\s+\1{3,}\s*$")
_UNDERLINE_LEVEL = {"=": 1, "-": 2}
# "1. Introduction", "2.1 Scope", "IV. Writing", "Section 3. Terms", "Appendix A"
_NUMBERED_HEADING = re.compile(
    r"^(?:(?:section|chapter|part|article|appendix|annex|schedule|exhibit)\s+[\dA-Z][\w.]*[.:]?"
    r"|(\d{1,3}(?:\.\d{1,3})*)\.?|[IVXLC]{1,6}\.|[A-Z]\.)\s+\S",
    re.IGNORECASE,
)
# Addresses, placeholders, markup and copyright lines are not headings even when they stand alone.
_NOT_A_TITLE = re.compile(r"://|@|[\[\]<>{}|=$_]|^[^\s/]*/\S*$|\bcopyright\b|\(c\)|©", re.IGNORECASE)
# A line that ends on one of these words is a sentence leading into what follows ("... use"), not a title.
_RUN_ON_WORDS = frozenset(
    "a an the and or but nor of to in on at by for with from into as than that which who whose this these "
    "those is are was were be been being use using include includes including follows following like via "
    "if when where while such also your its their our my".split()
)
_SENTENCE_END = (".", ",", ";", ":", "!", "?")
# A word of prose (once the punctuation clinging to it is off); identifiers (png_ptr, argv[0]) are not words.
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_CLINGING = "()\"'“‘”’.,;:!?"
_CODE_LINE = re.compile(
    r"""^(?:\$|%|\#|>>>|\.\.\.|C:\\>)\s                   # a prompt
    |[;{}\\]$                                        # a statement or block end, a continuation
    |^[A-Za-z_][\w.\[\]>-]*\s*[-+*/|&]?=\s*\S          # assignment, VAR=value
    |^[A-Za-z_][\w.>-]*\s*\(.*[,(]$                    # a call running on to the next line
    |==|!=|&&|\|\||->|=>|::|\(\)|</|\$\(|\$\{
    |^\#\s*(?:include|define|if|ifn?def|endif|else)\b
    |^(?:from\s+[\w.]+\s+import|import\s+[\w.]+$|def\s+\w+\(|class\s+\w+[(:]|return\b)
    |^(?:int|void|char|static|struct|unsigned|const)\s+\**\w
    |^(?:if|for|while|switch)\s*\(
    |^[\w.-]+\s*\([^()]*\)\s*;?$                         # a call: name(args)
    |^(?:sudo|make|cd|ls|cp|mv|rm|git|apt|apt-get|dpkg|pip3?|python3?|sh|bash|export|echo|cat|tar|gcc|cc|
        \./configure|configure|cmake|curl|wget|chmod|chown|mkdir|ln|su|systemctl|gpgconf|openssl)(?:\s+\S+){0,10}$
    |(?:^|\s)--?[A-Za-z][\w-]*(?:=\S+)?(?:\s|$)       # a command-line option
    |(?:^|\s)\.{0,2}/[\w.-]+/                          # a path
    """,
    re.VERBOSE,
)


@dataclass
class _Line:
    text: str  # as written, trailing spaces removed
    indent: int  # leading spaces, tabs expanded to 8 columns
    number: int = 0  # the line's place in the file

    @property
    def body(self) -> str:
        return self.text.strip()


def parse_text(text: str, *, source: str = "") -> ParsedDocument:
    """A plain-text document as headings, paragraphs, list items and code blocks (none for blank text:
    the loader words that problem)."""
    if "\x00" in text:
        raise ParseError("binary file, not text")
    dropped: Counter[str] = Counter()
    text, escapes = _TERMINAL_ESCAPE.subn("", text)  # nroff bold/underline, colour codes
    if escapes:
        dropped["terminal escape"] += escapes
    chunks = _chunks(text, dropped)
    return ParsedDocument("text", _Reader(chunks, dropped).blocks(), {}, dropped)


@dataclass
class _Heading:
    text: str
    level: int


def _chunks(text: str, dropped: Counter[str]) -> list[list[_Line] | _Heading]:
    """Groups of lines between blank lines; underlined and decorated titles taken out as headings."""
    lines = _uncomment(text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n").split("\n"))
    chunks: list[list[_Line] | _Heading] = []
    current: list[_Line] = []

    def flush() -> None:
        nonlocal current
        if current:
            chunks.append(current)
        current = []

    for number, raw in enumerate(lines):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped == ".":  # a lone "." separates paragraphs in Debian's copyright files
            flush()
            continue
        rule = _RULE.match(line)
        if rule:
            if current and _is_underline(current[-1], stripped):
                title = current.pop().body
                flush()
                chunks.append(_Heading(title, _UNDERLINE_LEVEL.get(rule.group(1), 3)))
            else:
                flush()
                dropped["rule"] += 1
            continue
        decorated = _DECORATED.match(line)
        if decorated:
            flush()
            chunks.append(_Heading(decorated.group(2), 2))
            continue
        current.append(_line(line, number))
    flush()
    return chunks


_COMMENT_PREFIX = re.compile(r"^\s*(?:\*|#|//|>|;|\|)(?=\s|$)")


def _uncomment(lines: list[str]) -> list[str]:
    """Prose written inside a comment box (" * " or "# " before every line, maybe a border after)
    loses the box; a run of short prefixed lines (a bullet list, a config file) is left alone."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        prefix = _COMMENT_PREFIX.match(lines[i])
        j = i + 1
        if prefix:
            while j < len(lines) and lines[j].startswith(prefix.group()) \
                    and lines[j][len(prefix.group()):][:1] in ("", " ", "\t"):
                j += 1
        texts = [line[len(prefix.group()):] for line in lines[i:j]] if prefix else []
        border = prefix.group().strip() if prefix else ""
        boxed = len(texts) >= 3 and all(text.rstrip().endswith(border) for text in texts)
        if boxed:
            texts = [text.rstrip().removesuffix(border) for text in texts]
        if boxed or (prefix and _is_prose_box(texts)):
            out.extend(textwrap.dedent("\n".join(texts)).split("\n"))
        else:
            out.extend(lines[i:j])
        i = j
    return out


def _is_prose_box(texts: list[str]) -> bool:
    filled = [t.strip() for t in texts if t.strip()]
    if len(texts) < 3 or len(filled) < 2 or sum(len(t) for t in filled) < 40 * len(filled):
        return False
    runs_on = sum(1 for before, after in itertools.pairwise(filled)
                  if after[:1].islower() and not before.endswith(_SENTENCE_END))
    return runs_on * 4 >= len(filled)


def _is_underline(line: _Line, rule: str) -> bool:
    """``Title`` over ``=====`` of about its length (a long rule under a short line is a separator)."""
    title = line.body
    if len(title) > 100 or not any(c.isalnum() for c in title) or _marker(line):
        return False
    length = len(rule.replace(" ", ""))
    return len(title) - 3 <= length <= len(title) + max(4, len(title) // 4)


class _Reader:
    """Turns chunks into blocks, deciding for each chunk what it is from its shape and neighbours."""

    def __init__(self, chunks: list[list[_Line] | _Heading], dropped: Counter[str]) -> None:
        self.chunks = chunks
        self.dropped = dropped
        self.out: list[Block] = []
        self.base = _base_indent(chunks)
        self.deepest_underline = 0
        self.item_indents: list[int] = []  # marker columns of the open list's levels
        self.code_lines: list[_Line] = []  # the last code block's lines, and its chunk
        self.code_chunk = -1
        self.code_chunks: set[int] = set()  # ids of the chunks read as code

    def blocks(self) -> list[Block]:
        for index, chunk in enumerate(self.chunks):
            if isinstance(chunk, _Heading):
                self.heading(chunk.text, chunk.level)
                self.deepest_underline = max(self.deepest_underline, min(chunk.level, 2))
                continue
            self.chunk(chunk, index)
        self.flush_code()
        return self.out

    def heading(self, text: str, level: int) -> None:
        text = " ".join(text.split()).rstrip("¶").rstrip()
        if text:
            self.emit(Block("heading", text, level))
            self.item_indents = []

    def chunk(self, lines: list[_Line], index: int) -> None:
        if index == 0 and self.is_title(lines):
            self.heading(lines[0].body, 1)
            return
        if self.is_code(lines, index):
            self.code(lines, index)
            return
        if self.is_centred(lines):
            self.heading(lines[0].body, 1 if not self.out and not self.code_lines else 2)
            if len(lines) > 1:
                self.paragraph(lines[1:])
            return
        level = self.standalone_heading_level(lines, index)
        if level:
            self.heading(lines[0].body, level)
            return
        if self.is_shouting_block(lines, index):
            self.heading(" ".join(line.body for line in lines), 2)
            return
        if self.table(lines):
            return
        kept = [line for line in lines if not _is_table_rule(line.text)]
        if len(kept) < len(lines):
            self.dropped["rule"] += len(lines) - len(kept)
        if kept:
            self.text(kept)

    def table(self, lines: list[_Line]) -> bool:
        """Rows with cells between "|": each body row becomes "Header: cell; Header: cell"."""
        rows = [line for line in lines if not _is_table_rule(line.text)]
        if len(rows) < 2 or not all("|" in row.text for row in rows):
            return False
        cells = [[cell.strip() for cell in row.body.removeprefix("|").removesuffix("|").split("|")] for row in rows]
        width = len(cells[0])
        if width < 2 or not all(2 <= len(row) <= width for row in cells):
            return False
        cells = [row + [""] * (width - len(row)) for row in cells]
        has_header = len(lines) > 2 and _is_table_rule(lines[1].text)
        header = cells.pop(0) if has_header else []
        for text in table_paragraphs(header, cells):
            self.paragraph([_line(text)])
        return True

    def code(self, lines: list[_Line], index: int) -> None:
        """A code block; code split by blank lines (a function's body) is kept as one block."""
        if self.code_lines and self.code_chunk == index - 1:
            gap = [_Line("", 0, n) for n in range(self.code_lines[-1].number + 1, lines[0].number)]
            self.code_lines.extend(gap + lines)
        else:
            self.flush_code()
            self.code_lines = list(lines)
        self.code_chunk = index
        self.code_chunks.add(id(self.chunks[index]))
        self.item_indents = []

    def flush_code(self) -> None:
        if self.code_lines:
            self.out.append(Block("code", _code_text(self.code_lines)))
            self.code_lines = []

    def emit(self, block: Block) -> None:
        self.flush_code()
        self.out.append(block)

    def is_title(self, lines: list[_Line]) -> bool:
        """The first line of a file, alone and short, names it (as the old loader read it)."""
        title = lines[0].body
        return (len(lines) == 1 and len(self.chunks) > 1 and len(title) <= 120
                and not title.endswith((".", ":", "?", "!")) and not _marker(lines[0])
                and not _looks_like_code(lines))

    def local_base(self, index: int) -> int:
        """The indentation of the text around a chunk: the nearest chunk before it that is not code."""
        for chunk in reversed(self.chunks[max(0, index - 20):index]):
            if isinstance(chunk, list) and id(chunk) not in self.code_chunks:
                return min(line.indent for line in chunk)
        return self.base

    def is_code(self, lines: list[_Line], index: int) -> bool:
        """Indented 4+ columns under the text and shaped like code or commands, not like prose;
        indented 2+ when every line is code; not indented when it opens with a shell or Python prompt."""
        if _marker(lines[0]):
            return False
        relative = min(line.indent for line in lines) - self.local_base(index)
        if relative >= 4:
            return _looks_like_code(lines)
        if relative >= 2:
            return _looks_like_code(lines, every_line=True)
        return lines[0].body.startswith(("$ ", ">>> ")) and _looks_like_code(lines)

    def is_centred(self, lines: list[_Line]) -> bool:
        """A short block far to the right of the text: a centred title (a licence's name, "Preamble")."""
        first = lines[0].body
        return (len(lines) <= 3 and all(line.indent >= self.base + 10 and len(line.body) <= 70 for line in lines)
                and len(first) <= 60 and not first.endswith(_SENTENCE_END) and not _NOT_A_TITLE.search(first)
                and sum(c.isalpha() for c in first) >= 3 and not _looks_like_code(lines))

    def standalone_heading_level(self, lines: list[_Line], index: int) -> int:
        """A short line alone between blank lines, followed by text: numbered, ALL CAPS or title-like."""
        following = self.chunks[index + 1] if index + 1 < len(self.chunks) else None
        if len(lines) != 1 or lines[0].indent > self.base + 3 or following is None:
            return 0
        title = lines[0].body.rstrip("¶").rstrip()
        words = title.split()
        numbered = _NUMBERED_HEADING.match(title)
        if lines[0].body.endswith("¶") and title:  # a permalink mark: text saved from a Sphinx page
            return min(2 + numbered.group(1).count("."), 6) if numbered and numbered.group(1) else 2
        if not (2 <= len(title) <= 80 and len(words) <= 10) or _NOT_A_TITLE.search(title) \
                or re.search(r"\S\s{3,}\S", title):  # columns: a table's header row
            return 0
        item = _marker(lines[0])
        if item and isinstance(following, list) and _marker(following[0]):
            return 0  # one item of a list spaced out with blank lines
        if numbered:
            rest = title[numbered.end() - 1:]
            if title.endswith((",", ";", ":", "?", "!")) or not (rest[0].isupper() or rest[0] in "\"'“‘"):
                return 0
            return min(2 + numbered.group(1).count("."), 6) if numbered.group(1) else 2
        if item or title.endswith(_SENTENCE_END):
            return 0
        leads_into_code = isinstance(following, list) and min(line.indent for line in following) > lines[0].indent \
            and _looks_like_code(following)  # "To compile, type" over an indented command
        if _shouting(title) or (title[0].isupper() and words[-1].lower() not in _RUN_ON_WORDS
                                and not leads_into_code):
            return min(self.deepest_underline + 1, 6) if self.deepest_underline else 2
        return 0

    def is_shouting_block(self, lines: list[_Line], index: int) -> bool:
        """Two or three short ALL-CAPS lines before more text: one title set on several lines."""
        return (1 < len(lines) <= 3 and index + 1 < len(self.chunks)
                and all(len(line.body) <= 80 and _shouting(line.body) and not line.body.endswith(_SENTENCE_END)
                        and not _NOT_A_TITLE.search(line.body) for line in lines))

    def text(self, lines: list[_Line]) -> None:
        """Paragraph lines, then list items where lines start with a bullet or an enumerator."""
        markers = [_marker(line) for line in lines]
        starts = _item_starts(markers)
        start = 0
        for i in range(1, len(lines)):
            if starts[i]:
                self.flush_run(lines[start:i], markers[start])
                start = i
        self.flush_run(lines[start:], markers[start])

    def flush_run(self, lines: list[_Line], marker: _Marker | None) -> None:
        if marker is None:
            self.paragraph(lines)
            return
        while self.item_indents and self.item_indents[-1] > marker.indent:
            self.item_indents.pop()
        if not self.item_indents or self.item_indents[-1] < marker.indent:
            self.item_indents.append(marker.indent)
        words = " ".join([lines[0].text[marker.end:], *(line.text for line in lines[1:])])
        self.emit(Block("item", " ".join(words.split()), len(self.item_indents) - 1))

    def paragraph(self, lines: list[_Line]) -> None:
        text = " ".join(" ".join(line.text for line in lines).split())
        if text:
            self.emit(Block("paragraph", text))
            self.item_indents = []


@dataclass(frozen=True)
class _Marker:
    """A list item's bullet or enumerator: "-", "1.", "(b)", "iv)"."""

    end: int  # where the item's words start in the line
    indent: int
    bullet: str  # the bullet character; "" for an enumerator
    form: str = ""  # an enumerator's punctuation: "1.", "1)", "(1)"
    values: frozenset[tuple[str, int]] = frozenset()  # ("digit", 3); "i" is both ("letter", 9) and ("roman", 1)


_BULLET = re.compile(r"^(\s*)([-*+•‣◦▪●·–])\s+(?=\S)")
_ENUMERATOR = re.compile(r"^(\s*)(\()?(\d{1,3}|[a-zA-Z]|[ivx]{2,4})([.)])\s+(?=\S)")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10,
          "xi": 11, "xii": 12}


def _marker(line: _Line) -> _Marker | None:
    bullet = _BULLET.match(line.text)
    if bullet:
        return _Marker(bullet.end(), line.indent, bullet.group(2))
    enum = _ENUMERATOR.match(line.text)
    if not enum:
        return None
    opening, label, closing = enum.group(2) or "", enum.group(3), enum.group(4)
    if opening and closing != ")":
        return None
    # "a. The", but not "A. Yes" (an answer) nor "e. g."
    if label.isalpha() and len(label) == 1 and closing == "." and not opening \
            and (label.isupper() or not line.text[enum.end():][:1].isupper()):
        return None
    values: set[tuple[str, int]] = set()
    if label.isdigit():
        values.add(("digit", int(label)))
    else:
        if len(label) == 1:
            values.add(("upper" if label.isupper() else "letter", ord(label.lower()) - ord("a") + 1))
        if label in _ROMAN:
            values.add(("roman", _ROMAN[label]))
        if not values:
            return None
    return _Marker(enum.end(), line.indent, "", f"{opening}1{closing}", frozenset(values))


def _item_starts(markers: list[_Marker | None]) -> list[bool]:
    """Which lines start an item: a bullet always; an enumerator inside a block only when its
    neighbour in sequence is there too, so a wrapped line that happens to begin with "(1)" or "7."
    stays in its sentence."""
    present = {(marker.form, kind, value) for marker in markers if marker and not marker.bullet
               for kind, value in marker.values}
    return [marker is not None and (bool(marker.bullet) or any(
        (marker.form, kind, value + step) in present for kind, value in marker.values for step in (-1, 1)))
        for marker in markers]


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 3 and all(c.isupper() for c in letters)


def _line(text: str, number: int = 0) -> _Line:
    text = text.rstrip()
    expanded = text.expandtabs(8)
    return _Line(text, len(expanded) - len(expanded.lstrip()), number)


def _base_indent(chunks: list[list[_Line] | _Heading]) -> int:
    """The indentation most prose lines share (first lines of paragraphs are often indented more)."""
    counts: Counter[int] = Counter()
    for chunk in chunks:
        if isinstance(chunk, list):
            counts.update(line.indent for line in chunk[1:] if len(line.body) > 40)
    if not counts:
        counts.update(chunk[0].indent for chunk in chunks if isinstance(chunk, list))
    return min(counts.most_common(1)[0][0], 8) if counts else 0


def _looks_like_code(lines: list[_Line], *, every_line: bool = False) -> bool:
    """More lines shaped like code or commands than like sentences (or every line, if asked)."""
    code = prose = 0
    for line in lines:
        body = line.body
        tokens = body.split()
        words = sum(1 for token in tokens if _is_word(token.strip(_CLINGING)))
        if words >= 5 and words >= 0.7 * len(tokens):
            prose += 1
        elif _CODE_LINE.search(body):
            code += 1
    return code == len(lines) if every_line else code > 0 and code >= prose


def _is_word(token: str) -> bool:
    return _WORD.fullmatch(token) is not None and any(c.isalpha() for c in token)


def _is_table_rule(text: str) -> bool:
    """A table's rule: "------+------", "|---|:--|"."""
    stripped = text.strip()
    return bool(stripped) and not set(stripped) - set("-=+|: ") and ("---" in stripped or "===" in stripped)


def _code_text(lines: list[_Line]) -> str:
    return textwrap.dedent("\n".join(line.text for line in lines)).strip("\n")

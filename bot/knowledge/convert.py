"""Write a parsed document back out as a Markdown knowledge file.

Any format can be converted once and then kept as Markdown: the file reads back
(bot.knowledge.formats.markdown) as the same blocks, words and pages, because every character
that Markdown would take for markup is escaped, and PDF pages travel as ``<!-- page N -->``.
"""

from __future__ import annotations

import re

import yaml

from bot.knowledge.blocks import Block, ParsedDocument

META_ORDER = ("title", "subtitle", "author", "publication", "published", "url")

# Characters that may start markup anywhere in a line; "_" and "~" are handled by context.
_INLINE_SPECIAL = frozenset("\\`*[]<")
# "&amp;" and "&#35;" are entities to a Markdown reader; a bare "&" is not.
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# At the start of a line: headings, quotes, bullets, rules, setext lines, fences.
_LINE_START_SPECIAL = frozenset("#>-+=~")
_ORDERED_MARKER = re.compile(r"^(\d+)([.)])")
_MYST_TARGET = re.compile(r"\(.*\)=")  # a MyST target line, "(label)=", is not text to a reader


def to_markdown(parsed: ParsedDocument, meta: dict[str, str]) -> str:
    """The knowledge file: YAML front matter with the metadata given, then the blocks as CommonMark."""
    body = blocks_to_markdown(parsed.blocks)
    front = front_matter(meta)
    return f"{front}\n{body}" if front else body


def front_matter(meta: dict[str, str]) -> str:
    """``---``-fenced YAML, the usual keys first; empty values left out; "" when nothing is left."""
    keys = [key for key in META_ORDER if key in meta] + [key for key in meta if key not in META_ORDER]
    values = {key: str(meta[key]).strip() for key in keys if meta[key] is not None and str(meta[key]).strip()}
    if not values:
        return ""
    dumped = yaml.safe_dump(values, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1_000_000)
    return f"---\n{dumped}---\n"


def blocks_to_markdown(blocks: list[Block]) -> str:
    """Blocks as Markdown, separated by blank lines; consecutive list items stay one list."""
    out: list[str] = []
    page: int | None = None
    previous_item = -1  # the level of the list item just written, -1 when the last block was not one
    for block in blocks:
        if not block.text.strip():
            continue
        level = min(max(block.level, 0), 8) if block.kind == "item" else 0
        if block.page is not None and block.page != page:
            # Inside a list the marker is indented into the parent item, so the list goes on after it.
            indent = "  " * min(level, previous_item + 1)
            out.append(f"\n{indent}<!-- page {block.page} -->\n")
            page = block.page
            previous_item = min(previous_item, level - 1)
        if block.kind == "item":
            out.append(_item(block.text, level, previous_item))
            previous_item = level
            continue
        previous_item = -1
        if block.kind == "heading":
            out.append(f"\n{'#' * min(max(block.level, 1), 6)} {_escape_heading(block.text)}\n")
        elif block.kind == "code":
            out.append(f"\n{_fenced(block.text, block.language)}\n")
        else:
            out.append(f"\n{escape_text(block.text)}\n")
    return "".join(out).lstrip("\n")


def _item(text: str, level: int, previous_item: int) -> str:
    """A bullet line indented by its level; a level with no parent item gets empty parents above it."""
    lines = []
    if level > previous_item + 1:  # empty parents, after a blank line so none becomes a setext underline
        lines.append("")
        lines.extend("  " * parent + "-" for parent in range(previous_item + 1, level))
    elif previous_item < 0:
        lines.append("")
    lines.append(f"{'  ' * level}- {escape_text(text)}")
    return "\n".join(lines) + "\n"


def escape_text(text: str) -> str:
    """One line of text that a CommonMark reader gives back word for word, markup characters escaped."""
    text = " ".join(text.split())
    out: list[str] = []
    last = len(text) - 1
    for i, char in enumerate(text):
        if char in _INLINE_SPECIAL:
            out.append("\\" + char)
        elif char == "_":  # an underscore inside a word never starts emphasis
            inside_word = 0 < i < last and text[i - 1].isalnum() and text[i + 1].isalnum()
            out.append(char if inside_word else "\\_")
        elif char == "~":  # "~~" is strikethrough
            doubled = (i > 0 and text[i - 1] == "~") or (i < last and text[i + 1] == "~")
            out.append("\\~" if doubled else char)
        elif char == "&" and _ENTITY.match(text, i):
            out.append("\\&")
        else:
            out.append(char)
    escaped = "".join(out)
    if escaped[:1] in _LINE_START_SPECIAL or _MYST_TARGET.fullmatch(escaped):
        return "\\" + escaped
    return _ORDERED_MARKER.sub(r"\1\\\2", escaped, count=1)


def _escape_heading(text: str) -> str:
    escaped = escape_text(text)
    # A trailing "#" would be read as the heading's closing sequence.
    return escaped[:-1] + "\\#" if escaped.endswith("#") and not escaped.endswith("\\#") else escaped


def _fenced(code: str, language: str) -> str:
    """A fence longer than any run of its character inside the code; ~~~ when the language has a backtick."""
    fence_char = "~" if "`" in language else "`"
    longest = max((len(run) for run in re.findall(re.escape(fence_char) + "+", code)), default=0)
    fence = fence_char * max(3, longest + 1)
    info = language.replace("\\", "\\\\").replace("&", "\\&")
    if info.startswith("{"):  # {name} would be read as a MyST directive
        info = "\\" + info
    return f"{fence}{info}\n{code}\n{fence}"

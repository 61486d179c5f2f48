"""Discord's text limits, and text made to fit them: trimmed at a sentence or word boundary, escaped.

Text from users and articles is escaped before it is formatted, so an asterisk in a
question or an article cannot break the bold highlights, and a mention in it cannot ping.
Anything too long is trimmed at a sentence or word boundary and ends with "…": Discord
rejects an oversized message outright, which the user would see as a failure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import discord

from bot.excerpts import Span
from bot.knowledge.models import Document

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
FIELDS_PER_EMBED = 25
EMBED_TOTAL_LIMIT = 6000  # across every embed of one message
EMBEDS_PER_MESSAGE = 10
CONTENT_LIMIT = 2000
CHOICE_LIMIT = 100  # autocomplete choice names and values

ELLIPSIS = "…"

NEUTRAL_COLOUR = discord.Colour.light_grey()


_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)")
_ESCAPED = re.compile(r"([\\*_~`|\[\]])")
_LINE_START = re.compile(r"(?m)^(\s*)([#>+\-]|\d+\.)")
_MENTION = re.compile(r"@(everyone|here|[!&]?[0-9]{17,20})")
_ESCAPED_MENTION = re.compile("@\u200b(everyone|here|[!&]?[0-9]{17,20})")
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _last_space(text: str, end: int) -> int:
    return max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))


def _cut(text: str, limit: int) -> tuple[int, str]:
    """Where to cut ``text`` to fit ``limit`` with its ellipsis: (characters kept, suffix)."""
    if len(text) <= limit:
        return len(text), ""
    if limit < 2:
        return 0, ELLIPSIS[:limit]
    room = limit - 2  # the kept text, then " …" or "…"
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(text, 0, room + 1) if m.end() <= room]
    if sentence_ends and sentence_ends[-1] >= limit // 2:  # keep at least half: a short first sentence is too little
        return sentence_ends[-1], " " + ELLIPSIS
    kept = _last_space(text, limit)
    while kept > 0 and text[kept - 1] in " ,;:—–-(/":  # no dangling comma or dash before the ellipsis
        kept -= 1
    if kept >= limit // 2:
        return kept, ELLIPSIS
    return limit - 1, ELLIPSIS  # one very long word: cut it


def trim(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` characters at a sentence or word boundary, ending with "…"."""
    kept, suffix = _cut(text, limit)
    return text[:kept].rstrip() + suffix if suffix else text


def escape(text: str) -> str:
    """User or article text made inert: markdown shown as typed, mentions that cannot ping or render.

    Every backslash is escaped too, so :func:`unescape` gives the exact text back.
    """
    text = _ESCAPED.sub(r"\\\1", text)
    text = _LINE_START.sub(_escape_line_start, text)
    return _MENTION.sub("@\u200b\\1", text)


def _escape_line_start(match: re.Match[str]) -> str:
    marker = match[2]
    return match[1] + (marker[:-1] + "\\." if marker.endswith(".") else "\\" + marker)


def unescape(text: str) -> str:
    """The exact text :func:`escape` was given."""
    return _UNESCAPE.sub(r"\1", _ESCAPED_MENTION.sub(r"@\1", text))


def defuse_mentions(text: str) -> str:
    """``text`` with @everyone, @here and user or role mentions made unable to ping or render."""
    return _MENTION.sub("@\u200b\\1", text)


def _highlight(text: str, spans: Sequence[Span]) -> str:
    out, last = [], 0
    for span in spans:
        if span.start < last or span.end > len(text) or span.start >= span.end:
            continue
        out += [escape(text[last:span.start]), "**", escape(text[span.start:span.end]), "**"]
        last = span.end
    out.append(escape(text[last:]))
    return "".join(out)


def fit(text: str, limit: int, spans: Sequence[Span] = ()) -> str:
    """``text`` escaped (``spans`` in bold) in at most ``limit`` characters, trimming the text itself.

    Trimming happens before formatting, so a cut never falls inside ``**`` or an escape.
    """
    budget = limit
    while True:
        kept, suffix = _cut(text, budget)
        plain = text[:kept].rstrip() if suffix else text
        rendered = _highlight(plain, spans) + suffix
        if len(rendered) <= limit:
            return rendered
        budget -= max(1, len(rendered) - limit)


def join_within(lines: Sequence[str], limit: int, more: str = "… and {n} more", separator: str = "\n",
                total: int | None = None) -> str:
    """As many whole lines as fit in ``limit`` characters, then a note of how many were left out.

    ``total`` counts all the lines when only the first ones were rendered (a large knowledge base).
    """
    total = len(lines) if total is None else total
    out: list[str] = []
    used = 0
    for n, line in enumerate(lines):
        cost = len(line) + (len(separator) if out else 0)
        rest = total - n - 1
        reserve = len(separator) + len(more.format(n=rest)) if rest else 0  # room for the note, if one is needed
        if used + cost + reserve > limit:
            break
        out.append(line)
        used += cost
    left = total - len(out)
    if left:
        note = more.format(n=left)
        out.append(note if out else trim(note, limit))
    return separator.join(out)


# No more lines than this fit in one description (4,096 characters, at least 10 a line): render no more.
MAX_LINES = DESCRIPTION_LIMIT // 10


def shares(lengths: Sequence[int], total: int) -> list[int]:
    """Split ``total`` characters fairly: short items keep their length, long ones share the rest."""
    budgets = [0] * len(lengths)
    left = total
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    for rank, i in enumerate(order):
        fair = left // (len(lengths) - rank)
        budgets[i] = min(lengths[i], fair)
        left -= budgets[i]
    return budgets


def link(title: str, url: str | None, limit: int = 200) -> str:
    """A masked link to the article, or its title in italics when it has no web address."""
    text = fit(title, limit)
    web = web_url(url)
    if web:
        return f"[{text}]({web.replace(')', '%29')})"
    return f"*{text}*" if text else ""


def count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def code(text: str, limit: int = 300) -> str:
    """Text shown as code: nothing inside is formatted, so it is trimmed but not escaped."""
    return "`" + trim(text.replace("`", "'"), limit - 2) + "`"


def citation_details(doc: Document) -> str:
    return ", ".join(p for p in (doc.author, doc.publication, doc.published_text) if p)


def fit_message(embeds: list[discord.Embed], left_out: str, total: int | None = None) -> list[discord.Embed]:
    """Keep whole embeds while the message stays within 10 embeds and 6,000 characters; then say what is left.

    ``total`` counts all the embeds there would be when only the first ones were built.
    """
    total = len(embeds) if total is None else total
    kept: list[discord.Embed] = []
    used = 0
    for n, embed in enumerate(embeds):
        rest = total - n - 1
        reserve = len(left_out.format(n=rest)) if rest else 0
        if len(kept) >= EMBEDS_PER_MESSAGE - (1 if rest else 0) or used + len(embed) + reserve > EMBED_TOTAL_LIMIT:
            break
        kept.append(embed)
        used += len(embed)
    if total > len(kept):
        kept.append(discord.Embed(description=left_out.format(n=total - len(kept)), colour=NEUTRAL_COLOUR))
    return kept


def web_url(url: str | None) -> str | None:
    """An address Discord accepts as an embed link, or None."""
    return url if url and url.startswith(("http://", "https://")) and " " not in url else None

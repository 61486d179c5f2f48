"""Answers, recommendations, sources and reload reports as Discord embeds, always within Discord's limits.

Text from users and articles is escaped before it is formatted, so an asterisk in a
question or an article cannot break the bold highlights, and a mention in it cannot ping.
Anything too long is trimmed at a sentence or word boundary and ends with "…": Discord
rejects an oversized message outright, which the user would see as a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import discord

from bot.answers import Answer, Excerpt
from bot.excerpts import Span
from bot.knowledge.models import Document, KnowledgeBase, Passage, Problem
from bot.recommendations import Recommendations
from bot.reloads import ReloadRecord, ReloadReport
from bot.store import EVERYWHERE, GuildSettings, Stats, StoreHealth

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

ANSWER_COLOUR = discord.Colour.blurple()
NEUTRAL_COLOUR = discord.Colour.light_grey()
OK_COLOUR = discord.Colour.green()
FAILED_COLOUR = discord.Colour.red()

SUGGESTIONS = ("Try `/recommendations` for what the articles recommend, or `/sources` to see what the "
               "knowledge base holds.")

_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)")
_ESCAPED = re.compile(r"([\\*_~`|\[\]])")
_LINE_START = re.compile(r"(?m)^(\s*)([#>+\-]|\d+\.)")
_MENTION = re.compile(r"@(everyone|here|[!&]?[0-9]{17,20})")
_ESCAPED_MENTION = re.compile("@\u200b(everyone|here|[!&]?[0-9]{17,20})")
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


# --------------------------------------------------------------------------- text within limits


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


def _shares(lengths: Sequence[int], total: int) -> list[int]:
    """Split ``total`` characters fairly: short items keep their length, long ones share the rest."""
    budgets = [0] * len(lengths)
    left = total
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    for rank, i in enumerate(order):
        fair = left // (len(lengths) - rank)
        budgets[i] = min(lengths[i], fair)
        left -= budgets[i]
    return budgets


def _link(title: str, url: str | None, limit: int = 200) -> str:
    """A masked link to the article, or its title in italics when it has no web address."""
    text = fit(title, limit)
    web = _web(url)
    if web:
        return f"[{text}]({web.replace(')', '%29')})"
    return f"*{text}*" if text else ""


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def _code(text: str, limit: int = 300) -> str:
    """Text shown as code: nothing inside is formatted, so it is trimmed but not escaped."""
    return "`" + trim(text.replace("`", "'"), limit - 2) + "`"


def _citation_details(doc: Document) -> str:
    return ", ".join(p for p in (doc.author, doc.publication, doc.published_text) if p)


# --------------------------------------------------------------------------- the question in the title


def question_title(question: str) -> str:
    """The question as the embed's title (escaped, trimmed)."""
    return fit(question, TITLE_LIMIT)


def question_from_title(title: str | None) -> str:
    """The question an answer embed was made for (part of it when the title had to be trimmed)."""
    return unescape(title or "")


def keeps_question(question: str) -> bool:
    """Whether the answer's title holds the whole question, so a button can ask it again."""
    return question_from_title(question_title(question)) == question


# --------------------------------------------------------------------------- answers


MAX_CODE_CHARS = 500  # of a code block shown under its quote: a taste, "Full paragraph" has the rest


def code_block(code: Passage, limit: int = MAX_CODE_CHARS) -> str:
    """A knowledge base's code as a Discord code block, whole lines within ``limit`` characters."""
    fence_free = code.text.replace("```", "`\u200b``")
    language = re.sub(r"[^\w+#-]", "", code.language)[:20]
    room = max(0, limit - len(language) - 9)
    lines, used = [], 0
    for line in fence_free.splitlines():
        if used + len(line) + 1 > room:
            lines.append("…")
            break
        lines.append(line)
        used += len(line) + 1
    return f"```{language}\n" + "\n".join(lines or ["…"]) + "\n```"


def _quote_block(excerpt: Excerpt, budget: int) -> str:
    code = ""
    if excerpt.code is not None and budget > 200:
        code = "\n" + code_block(excerpt.code, min(MAX_CODE_CHARS, budget // 2))
        budget -= len(code)
    return _quote_only(excerpt, budget) + code


def _quote_only(excerpt: Excerpt, budget: int) -> str:
    number = f"**[{excerpt.citation.number}]** “"
    before = "… " if excerpt.trimmed_start else ""
    after = " …" if excerpt.trimmed_end else ""
    room = max(1, budget - len(number) - len(before) - len(after) - 1)
    quote = fit(excerpt.quote, room, excerpt.highlights)
    if quote.endswith(ELLIPSIS):
        after = ""
    return f"{number}{before}{quote}{after}”"


def _sources(excerpts: Sequence[Excerpt]) -> str:
    """One line per document: the excerpt numbers with their paragraphs, then the linked citation."""
    by_document: dict[str, list[Excerpt]] = {}
    for excerpt in excerpts:
        by_document.setdefault(excerpt.citation.document_id, []).append(excerpt)
    lines = []
    for group in by_document.values():
        first = group[0].citation
        where = ", ".join(f"**[{e.citation.number}]** {e.citation.location}" for e in group)
        details = ", ".join(p for p in (first.author, first.publication, first.published) if p)
        line = f"{where} — {_link(first.title, first.url)}" + (f", {fit(details, 200)}" if details else "")
        lines.append(line)
    return join_within(lines, FIELD_VALUE_LIMIT, "… and {n} more sources")


def answer_embed(answer: Answer) -> discord.Embed:
    """An answer: the question as title, numbered quotes with the asked words in bold, the sources."""
    title = question_title(answer.question) if answer.question else "Your question"
    if not answer.answered:
        text = "\n\n".join(p for p in (answer.message, answer.hint) if p)
        return discord.Embed(title=title, colour=NEUTRAL_COLOUR, description=(
            fit(text, DESCRIPTION_LIMIT - len(SUGGESTIONS) - 2) + "\n\n" + SUGGESTIONS))
    separator = "\n\n"
    room = DESCRIPTION_LIMIT - len(separator) * (len(answer.excerpts) - 1)
    full = [len(_quote_block(e, DESCRIPTION_LIMIT)) for e in answer.excerpts]
    blocks = [_quote_block(e, budget) for e, budget in zip(answer.excerpts, _shares(full, room), strict=True)]
    embed = discord.Embed(title=title, description=separator.join(blocks), colour=ANSWER_COLOUR)
    embed.add_field(name="Sources", value=_sources(answer.excerpts), inline=False)
    numbers = [e.citation.number for e in answer.excerpts]
    footer = f"Excerpt {numbers[0]}" if len(numbers) == 1 else f"Excerpts {numbers[0]}–{numbers[-1]}"
    if answer.corrections:
        footer += " · searched " + ", ".join(f"“{k}” as “{v}”" for k, v in answer.corrections.items())
    embed.set_footer(text=trim(_MENTION.sub("@\u200b\\1", footer), FOOTER_LIMIT))
    return embed


def paragraph_embed(document: Document, passage: Passage, number: int | None = None) -> discord.Embed:
    """The whole paragraph a cited excerpt comes from, with its citation."""
    label = f"[{number}] " if number else ""
    embed = discord.Embed(title=label + fit(f"{document.title}, {passage.location}", TITLE_LIMIT - len(label)),
                          url=_web(document.url),
                          description=fit(passage.text, DESCRIPTION_LIMIT), colour=ANSWER_COLOUR)
    code = document.code_after(passage)
    if code is not None:
        embed.add_field(name="Code", value=code_block(code, FIELD_VALUE_LIMIT), inline=False)
    embed.set_footer(text=trim(", ".join(p for p in (_citation_details(document), passage.location) if p),
                               FOOTER_LIMIT))
    return embed


def message_embed(title: str, text: str, colour: discord.Colour = NEUTRAL_COLOUR) -> discord.Embed:
    """A short notice (nothing found, a refusal) as an embed, with ``text`` already formatted."""
    return discord.Embed(title=trim(title, TITLE_LIMIT), description=trim(text, DESCRIPTION_LIMIT), colour=colour)


# --------------------------------------------------------------------------- recommendations and sources


def _fit_message(embeds: list[discord.Embed], left_out: str, total: int | None = None) -> list[discord.Embed]:
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


def _web(url: str | None) -> str | None:
    """An address Discord accepts as an embed link, or None."""
    return url if url and url.startswith(("http://", "https://")) and " " not in url else None


def recommendations_embeds(recs: Recommendations) -> list[discord.Embed]:
    """The articles' recommendation lists (numbered as in the article) and recommending sentences, cited."""
    embeds: list[discord.Embed] = []
    budget = EMBED_TOTAL_LIMIT - 200  # the note about what was left out, and the sentences' title
    share = min(DESCRIPTION_LIMIT, max(600, budget // (len(recs.lists) + bool(recs.sentences))))
    for rec in recs.lists[:EMBEDS_PER_MESSAGE]:  # more would not fit in one message
        doc = rec.document
        lines = [f"“{fit(rec.intro, 1000)}”", ""] if rec.intro else []
        lines += [f"**{item.item}.** {fit(item.text, 900)} ({item.location})" for item in rec.items[:MAX_LINES]]
        embed = discord.Embed(title=fit(doc.title, TITLE_LIMIT), url=_web(doc.url), colour=ANSWER_COLOUR,
                              description=join_within(lines, share, "… and {n} more items",
                                                      total=len(lines) - len(rec.items[:MAX_LINES]) + len(rec.items)))
        location = rec.items[0].location.split(",")[0]
        embed.set_footer(text=trim(", ".join(p for p in (_citation_details(doc), location) if p), FOOTER_LIMIT))
        embeds.append(embed)
    total = len(recs.lists) + bool(recs.sentences)
    if recs.sentences and len(recs.lists) < EMBEDS_PER_MESSAGE:
        used = sum(len(e) for e in embeds)
        room = min(DESCRIPTION_LIMIT, max(300, EMBED_TOTAL_LIMIT - used - 200))
        lines = [f"**{n}.** “{fit(s.text, 700)}” — {_link(s.document.title, s.document.url, 100)}, "
                 f"{s.passage.location}" for n, s in enumerate(recs.sentences[:MAX_LINES], 1)]
        embeds.append(discord.Embed(title="Also recommended in the text", colour=ANSWER_COLOUR, description=(
            join_within(lines, room, "… and {n} more (narrow it with `topic:` or `document:`)",
                        total=len(recs.sentences)))))
    return _fit_message(embeds, "… and {n} more: narrow the recommendations with `topic:` or `document:`.", total)


def no_recommendations_embed(topic: str | None, document: str | None, documents: Sequence[Document]) -> discord.Embed:
    """Nothing matched the filters: say which, and what can be asked instead."""
    wanted = " and ".join(p for p in (f"about “{fit(topic, 100)}”" if topic else "",
                                      f"in “{fit(document, 100)}”" if document else "") if p)
    lines = [f"I found no recommendations {wanted}." if wanted else "The knowledge base holds no recommendations."]
    if document and not any(_matches(doc, document) for doc in documents):
        lines.append("No document matches that name. Documents: " +
                     "; ".join(f"“{fit(d.title, 100)}”" for d in documents[:10]) + ".")
    lines.append("Try another topic, leave the filters out, or ask a question with `/ask`.")
    return message_embed("No recommendations found", "\n\n".join(lines))


def _matches(doc: Document, wanted: str) -> bool:
    """Whether the ``document:`` filter names this document (as the engine's filter reads it)."""
    wanted = wanted.strip().lower()
    return wanted in (doc.id.lower(), doc.path.name.lower()) or wanted in doc.title.lower()


def _document_field(doc: Document) -> tuple[str, str]:
    lines = [fit(doc.subtitle, 200)] if doc.subtitle else []
    details = _citation_details(doc)
    if details:
        lines.append(fit(details, 300))
    if _web(doc.url):
        lines.append(_link("Read the article", doc.url))
    lines.append(f"id {_code(doc.id, 100)} · {_count(len(doc.passages), 'passage')}")
    return fit(doc.title, FIELD_NAME_LIMIT), join_within(lines, FIELD_VALUE_LIMIT)


def sources_embeds(kb: KnowledgeBase) -> list[discord.Embed]:
    """The documents in the knowledge base with their metadata: as many as one message holds."""
    left_out = "… and {n} more documents: `python -m bot sources` lists them all."
    documents = kb.documents
    embeds = [discord.Embed(title=f"Sources: {_count(len(documents), 'document')}, "
                                  f"{_count(len(kb.passages), 'passage')}", colour=ANSWER_COLOUR)]
    used = len(embeds[0])
    shown = 0
    for n, doc in enumerate(documents):
        name, value = _document_field(doc)
        rest = len(documents) - n - 1
        reserve = len(left_out.format(n=rest)) if rest else 0
        full = len(embeds[-1].fields) == FIELDS_PER_EMBED
        if used + len(name) + len(value) + reserve > EMBED_TOTAL_LIMIT or (full and len(embeds) == EMBEDS_PER_MESSAGE):
            break
        if full:
            embeds.append(discord.Embed(colour=ANSWER_COLOUR))
        embeds[-1].add_field(name=name, value=value, inline=False)
        used += len(name) + len(value)
        shown += 1
    if shown < len(documents):
        embeds[-1].description = left_out.format(n=len(documents) - shown)
    return embeds


# --------------------------------------------------------------------------- knowledge administration


def _problem_line(problem: Problem, directory: Path) -> str:
    try:
        path = problem.path.relative_to(directory)
    except ValueError:
        path = problem.path
    return f"{_code(str(path), 200)}: {fit(problem.reason, 300)}"


def _problems(problems: Sequence[Problem], directory: Path) -> str:
    return join_within([_problem_line(p, directory) for p in problems[:MAX_LINES]], FIELD_VALUE_LIMIT,
                       "… and {n} more files", total=len(problems))


def _ids(ids: Sequence[str]) -> str:
    return join_within([_code(i, 100) for i in ids[:MAX_LINES]], FIELD_VALUE_LIMIT, "… and {n} more", ", ",
                       total=len(ids))


def _changes(report: ReloadReport) -> str:
    documents = (f"documents: {len(report.documents_added)} added, {len(report.documents_changed)} changed, "
                 f"{len(report.documents_removed)} removed")
    passages = (f"passages: {report.passages_added} added, {report.passages_changed} changed, "
                f"{report.passages_removed} removed")
    return f"{documents}; {passages}"


def reload_embed(report: ReloadReport, directory: Path, waited: bool = False) -> discord.Embed:
    """What a reload changed, or why it failed and that the previous knowledge base still serves."""
    serving = f"{_count(report.documents, 'document')}, {_count(report.passages, 'passage')}"
    if report.ok:
        embed = discord.Embed(title="Knowledge base reloaded", colour=OK_COLOUR,
                              description=f"Now serving {serving}.\nChanges: {_changes(report)}.")
        for label, ids in (("Documents added", report.documents_added),
                           ("Documents changed", report.documents_changed),
                           ("Documents removed", report.documents_removed)):
            if ids:
                embed.add_field(name=label, value=_ids(ids), inline=False)
    else:
        embed = discord.Embed(title="Reload failed: still serving the previous knowledge base", colour=FAILED_COLOUR,
                              description=f"{fit(report.error or 'unknown error', 1500)}\n"
                                          f"Still serving {serving}.")
    if report.problems:
        embed.add_field(name=f"Files skipped ({len(report.problems)})", value=_problems(report.problems, directory),
                        inline=False)
    if waited:
        embed.set_footer(text="This reload waited for the one that was already running.")
    return embed


def file_change_embed(summary: str, report: ReloadReport, directory: Path, waited: bool = False) -> discord.Embed:
    """``/kb add`` and ``/kb remove``: what happened to the file, then the reload's report."""
    embed = reload_embed(report, directory, waited)
    embed.description = trim(f"{summary}\n{embed.description}", DESCRIPTION_LIMIT)
    return embed


def status_embed(kb: KnowledgeBase, loaded_at: datetime, ranking: str, last: ReloadRecord | None) -> discord.Embed:
    """The knowledge base being served, how answers are ranked, and the last reload."""
    embed = discord.Embed(title="Knowledge base", colour=ANSWER_COLOUR, description=(
        f"{_count(len(kb.documents), 'document')}, {_count(len(kb.passages), 'passage')}, "
        f"{_count(len(kb.aliases), 'alias', 'aliases')}\n"
        f"Directory: {_code(str(kb.directory))}\n"
        f"Ranking: {fit(ranking, 200)}\n"
        f"Serving since {discord.utils.format_dt(loaded_at, 'f')}"))
    embed.add_field(name="Documents", value=join_within(
        [f"{_code(d.id, 100)}: {fit(d.title, 150)} ({_count(len(d.passages), 'passage')})"
         for d in kb.documents[:MAX_LINES]], FIELD_VALUE_LIMIT, "… and {n} more", total=len(kb.documents)),
        inline=False)
    if last is None:
        embed.add_field(name="Last reload", value="None recorded yet.", inline=False)
    else:
        outcome = f"failed, the previous knowledge base was kept: {fit(last.report.error or '', 300)}" \
            if not last.report.ok else _changes(last.report)
        skipped = f"; {_count(len(last.report.problems), 'file')} skipped" if last.report.problems else ""
        embed.add_field(name="Last reload", value=trim(
            f"{discord.utils.format_dt(last.at, 'f')} ({discord.utils.format_dt(last.at, 'R')}) by "
            f"{fit(last.by_name, 100)}; {outcome}{skipped}", FIELD_VALUE_LIMIT), inline=False)
    if kb.problems:
        embed.add_field(name=f"Files skipped ({len(kb.problems)})", value=_problems(kb.problems, kb.directory),
                        inline=False)
    return embed


def collection_status_embed(server_name: str, documents: Sequence[Document], problems: Sequence[Problem],
                            usage: tuple[int, int] | None, limits: tuple[int, int], last: ReloadRecord | None,
                            shared: KnowledgeBase) -> discord.Embed:
    """``/kb status`` outside the home servers: this server's own collection, then the shared base in short."""
    passages = sum(len(d.passages) for d in documents)
    used = "" if usage is None else (f"\nUsing {_count(usage[0], 'document')} of {limits[0]} and "
                                     f"{usage[1]:,} of {limits[1]:,} bytes")
    embed = discord.Embed(title=f"{trim(server_name, 150)}: this server's collection", colour=ANSWER_COLOUR,
                          description=(f"{_count(len(documents), 'document')}, {_count(passages, 'passage')}{used}\n"
                                       "Questions here are answered from this collection and the shared knowledge "
                                       "base together. Add documents with `/kb add`, remove them with `/kb remove`."))
    if documents:
        embed.add_field(name="Documents", value=join_within(
            [f"{_code(d.id, 100)}: {fit(d.title, 150)} ({_count(len(d.passages), 'passage')})"
             for d in documents[:MAX_LINES]], FIELD_VALUE_LIMIT, "… and {n} more", total=len(documents)),
            inline=False)
    if problems:
        embed.add_field(name=f"Documents skipped ({len(problems)})",
                        value=_problems(problems, Path(".")), inline=False)
    embed.add_field(name="Last change", value="None recorded yet." if last is None else trim(
        f"{discord.utils.format_dt(last.at, 'f')} ({discord.utils.format_dt(last.at, 'R')}) by "
        f"{fit(last.by_name, 100)}; {_changes(last.report)}", FIELD_VALUE_LIMIT), inline=False)
    embed.add_field(name="Shared knowledge base", value=(
        f"{_count(len(shared.documents), 'document')}, {_count(len(shared.passages), 'passage')}, managed by the "
        "bot's operators (see `/sources` for everything answers here can quote)."), inline=False)
    return embed


# --------------------------------------------------------------------------- memory: server settings and stats


def _channel_list(ids: Sequence[int], note: str = "") -> list[str]:
    return [f"<#{channel_id}>{note}" for channel_id in sorted(ids)]


def memory_line(health: StoreHealth) -> str:
    """For /kb status: where the bot's memory is and whether it is saving."""
    if health.fault is None:
        return f"{_code(health.where)}: saving normally."
    return (f"{_code(health.where)}: ⚠️ not saving right now ({fit(health.fault, 300)}); "
            f"{_count(health.pending, 'record')} kept and retried. Answers go on meanwhile.")


def settings_embed(server_name: str, server: GuildSettings, *, env_channels: frozenset[int], reads_messages: bool,
                   questions: int, default_cooldown: float, changes: Sequence[str] = (),
                   notes: Sequence[str] = ()) -> discord.Embed:
    """``/kb settings``: a server's answer channels, public or private answers, and cooldown.

    ``changes`` say what this command changed, ``notes`` what it could not or need not change.
    """
    own = server.answer_channel_ids or frozenset()
    lines = []
    if changes:
        lines.append("Changed: " + "; ".join(changes) + ".")
    lines += list(notes)
    if not lines:
        lines.append("Change them with this command's options: `add_channel`, `remove_channel`, `answers`, "
                     "`cooldown`, `reset`.")
    description = "\n".join(lines)
    embed = discord.Embed(title=f"Settings for {fit(server_name, 200)}", colour=ANSWER_COLOUR,
                          description=trim(description, DESCRIPTION_LIMIT))
    lines = _channel_list(tuple(own)) + _channel_list(tuple(env_channels - own),
                                                      " (`ASK_CHANNEL_IDS`, set by the bot's operator)")
    embed.add_field(name="Answer channels", value=join_within(lines, FIELD_VALUE_LIMIT) if lines else (
        "None: members @mention the bot or use `/ask`. In an answer channel, every message that looks like a "
        "question is answered without a mention."), inline=False)
    if lines and not reads_messages:
        embed.add_field(name="⚠️ The bot cannot read messages in these channels", value=(
            "Discord's Message Content intent is off, so the bot only sees messages that mention it. The bot's "
            "operator must set `MESSAGE_CONTENT=on`, switch the intent on in the Developer Portal (Bot → "
            "Privileged Gateway Intents) and restart the bot. Until then, @mention the bot or use `/ask`."),
            inline=False)
    embed.add_field(name="Answers", value=(
        "Public by default: everyone in the channel sees a `/ask` answer (`private: True` keeps one private)."
        if server.public_answers else
        "Private by default: only the asker sees a `/ask` answer (`private: False` shares one).")
        + " Replies to @mentions and in answer channels are always public.", inline=False)
    seconds = default_cooldown if server.cooldown_seconds is None else server.cooldown_seconds
    whose = "the bot's default, `COOLDOWN_SECONDS`" if server.cooldown_seconds is None else "this server's setting"
    limit = "one question" if questions == 1 else f"{questions} questions"
    embed.add_field(name="Cooldown", value=(
        f"Off ({whose})." if seconds <= 0 else f"Each member may ask {limit} every {seconds:g} seconds ({whose})."),
        inline=False)
    return embed


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share:.0%}"


def stats_embed(stats: Stats, find_passage: Callable[[str], tuple[Document, Passage] | None]) -> discord.Embed:
    """``/kb stats``: questions, answer rate, topics, the unanswered questions, feedback, excerpts voted down.

    ``find_passage`` gives the document and passage of a passage id, to name the excerpts voted down.
    """

    def excerpt(passage_id: str) -> str:
        found = find_passage(passage_id)
        if found is None:
            return f"{_code(passage_id, 100)} (no longer in the knowledge base)"
        document, passage = found
        return f"“{fit(document.title, 150)}”, {passage.location}: “{fit(passage.text, 120)}”"

    where = "everywhere" if stats.scope is EVERYWHERE else "in direct messages" if stats.scope is None \
        else "in this server"
    embed = discord.Embed(title=f"Questions {where}: the last {stats.days:g} days", colour=ANSWER_COLOUR)
    if not stats.questions:
        embed.description = "No questions were asked in this period."
        return embed
    embed.description = (f"**{stats.questions}** {'question' if stats.questions == 1 else 'questions'} asked, "
                         f"**{stats.answered}** answered ({_percent(stats.answer_rate)}).")
    if stats.unanswered:
        lines = [f"{u.count}× {fit(u.text, 200)} ({discord.utils.format_dt(u.last_asked, 'R')})"
                 for u in stats.unanswered]
        embed.add_field(name="Unanswered questions: what to add to the knowledge base next",
                        value=join_within(lines, FIELD_VALUE_LIMIT), inline=False)
    if stats.topics:
        embed.add_field(name="Busiest topics", value=join_within(
            [f"{fit(c.label, 60)} ({c.count})" for c in stats.topics], 500, separator=", "), inline=False)
    if stats.documents:
        embed.add_field(name="Most cited documents", value=join_within(
            [f"{_code(c.label, 100)} ({c.count})" for c in stats.documents], 600, separator=", "), inline=False)
    votes = stats.votes_up + stats.votes_down
    embed.add_field(name="Feedback", value=(
        f"{stats.votes_up} 👍, {stats.votes_down} 👎: {_percent(stats.approval)} found the answers helpful."
        if votes else "No votes yet."), inline=False)
    if stats.voted_down:
        lines = [f"{p.down} 👎 {p.up} 👍 — {excerpt(p.passage_id)}" for p in stats.voted_down]
        embed.add_field(name="Excerpts most often voted down", value=join_within(lines, FIELD_VALUE_LIMIT),
                        inline=False)
    return embed

"""What people asked for, as Discord embeds within Discord's limits: answers, full paragraphs,
recommendations and sources."""

from __future__ import annotations

import re
from collections.abc import Sequence

import discord

from bot.answers import Answer, Excerpt
from bot.knowledge.models import Document, KnowledgeBase, Passage
from bot.recommendations import Recommendations
from bot.render.discord_text import (
    DESCRIPTION_LIMIT,
    ELLIPSIS,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_NAME_LIMIT,
    FIELD_VALUE_LIMIT,
    FIELDS_PER_EMBED,
    FOOTER_LIMIT,
    MAX_LINES,
    NEUTRAL_COLOUR,
    TITLE_LIMIT,
    citation_details,
    code,
    count,
    defuse_mentions,
    fit,
    fit_message,
    join_within,
    link,
    shares,
    trim,
    web_url,
)
from bot.render.titles import question_title

ANSWER_COLOUR = discord.Colour.blurple()

SUGGESTIONS = ("Try `/recommendations` for what the documents recommend, or `/sources` to see what the "
               "knowledge base holds.")

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
        line = f"{where} — {link(first.title, first.url)}" + (f", {fit(details, 200)}" if details else "")
        lines.append(line)
    return join_within(lines, FIELD_VALUE_LIMIT, "… and {n} more sources")


def answer_embed(answer: Answer) -> discord.Embed:
    """An answer: the question as title, numbered quotes with the asked words in bold, the sources."""
    title = question_title(answer.question) if answer.question else "Your question"
    if not answer.answered:
        text = "\n\n".join(p for p in (answer.message, searched_note(answer), answer.hint) if p)
        return discord.Embed(title=title, colour=NEUTRAL_COLOUR, description=(
            fit(text, DESCRIPTION_LIMIT - len(SUGGESTIONS) - 2) + "\n\n" + SUGGESTIONS))
    separator = "\n\n"
    room = DESCRIPTION_LIMIT - len(separator) * (len(answer.excerpts) - 1)
    full = [len(_quote_block(e, DESCRIPTION_LIMIT)) for e in answer.excerpts]
    blocks = [_quote_block(e, budget) for e, budget in zip(answer.excerpts, shares(full, room), strict=True)]
    embed = discord.Embed(title=title, description=separator.join(blocks), colour=ANSWER_COLOUR)
    embed.add_field(name="Sources", value=_sources(answer.excerpts), inline=False)
    numbers = [e.citation.number for e in answer.excerpts]
    footer = f"Excerpt {numbers[0]}" if len(numbers) == 1 else f"Excerpts {numbers[0]}–{numbers[-1]}"
    if answer.corrections:
        footer += " · searched " + ", ".join(f"“{k}” as “{v}”" for k, v in answer.corrections.items())
    if answer.searched:
        footer += " · " + searched_note(answer)
    embed.set_footer(text=trim(defuse_mentions(footer), FOOTER_LIMIT))
    return embed


def searched_note(answer: Answer) -> str:
    """What a follow-up was understood as ("Searched: Russia, Syria, Iran"), empty for a question read alone."""
    return ("Searched: " + ", ".join(answer.searched)) if answer.searched else ""


def paragraph_embed(document: Document, passage: Passage, number: int | None = None) -> discord.Embed:
    """The whole paragraph a cited excerpt comes from, with its citation."""
    label = f"[{number}] " if number else ""
    embed = discord.Embed(title=label + fit(f"{document.title}, {passage.location}", TITLE_LIMIT - len(label)),
                          url=web_url(document.url),
                          description=fit(passage.text, DESCRIPTION_LIMIT), colour=ANSWER_COLOUR)
    code = document.code_after(passage)
    if code is not None:
        embed.add_field(name="Code", value=code_block(code, FIELD_VALUE_LIMIT), inline=False)
    embed.set_footer(text=trim(", ".join(p for p in (citation_details(document), passage.location) if p),
                               FOOTER_LIMIT))
    return embed


def message_embed(title: str, text: str, colour: discord.Colour = NEUTRAL_COLOUR) -> discord.Embed:
    """A short notice (nothing found, a refusal) as an embed, with ``text`` already formatted."""
    return discord.Embed(title=trim(title, TITLE_LIMIT), description=trim(text, DESCRIPTION_LIMIT), colour=colour)


def recommendations_embeds(recs: Recommendations) -> list[discord.Embed]:
    """The articles' recommendation lists (numbered as in the article) and recommending sentences, cited."""
    embeds: list[discord.Embed] = []
    budget = EMBED_TOTAL_LIMIT - 200  # the note about what was left out, and the sentences' title
    share = min(DESCRIPTION_LIMIT, max(600, budget // (len(recs.lists) + bool(recs.sentences))))
    for rec in recs.lists[:EMBEDS_PER_MESSAGE]:  # more would not fit in one message
        doc = rec.document
        lines = [f"“{fit(rec.intro, 1000)}”", ""] if rec.intro else []
        lines += [f"**{item.item}.** {fit(item.text, 900)} ({item.location})" for item in rec.items[:MAX_LINES]]
        embed = discord.Embed(title=fit(doc.title, TITLE_LIMIT), url=web_url(doc.url), colour=ANSWER_COLOUR,
                              description=join_within(lines, share, "… and {n} more items",
                                                      total=len(lines) - len(rec.items[:MAX_LINES]) + len(rec.items)))
        location = rec.items[0].location.split(",")[0]
        embed.set_footer(text=trim(", ".join(p for p in (citation_details(doc), location) if p), FOOTER_LIMIT))
        embeds.append(embed)
    total = len(recs.lists) + bool(recs.sentences)
    if recs.sentences and len(recs.lists) < EMBEDS_PER_MESSAGE:
        used = sum(len(e) for e in embeds)
        room = min(DESCRIPTION_LIMIT, max(300, EMBED_TOTAL_LIMIT - used - 200))
        lines = [f"**{n}.** “{fit(s.text, 700)}” — {link(s.document.title, s.document.url, 100)}, "
                 f"{s.passage.location}" for n, s in enumerate(recs.sentences[:MAX_LINES], 1)]
        embeds.append(discord.Embed(title="Also recommended in the text", colour=ANSWER_COLOUR, description=(
            join_within(lines, room, "… and {n} more (narrow it with `topic:` or `document:`)",
                        total=len(recs.sentences)))))
    return fit_message(embeds, "… and {n} more: narrow the recommendations with `topic:` or `document:`.", total)


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
    details = citation_details(doc)
    if details:
        lines.append(fit(details, 300))
    if web_url(doc.url):
        lines.append(link("Read the article", doc.url))
    lines.append(f"id {code(doc.id, 100)} · {count(len(doc.passages), 'passage')}")
    return fit(doc.title, FIELD_NAME_LIMIT), join_within(lines, FIELD_VALUE_LIMIT)


def sources_embeds(kb: KnowledgeBase) -> list[discord.Embed]:
    """The documents in the knowledge base with their metadata: as many as one message holds."""
    left_out = "… and {n} more documents: `python -m bot sources` lists them all."
    documents = kb.documents
    embeds = [discord.Embed(title=f"Sources: {count(len(documents), 'document')}, "
                                  f"{count(len(kb.passages), 'passage')}", colour=ANSWER_COLOUR)]
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

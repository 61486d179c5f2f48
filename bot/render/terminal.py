"""Answers and recommendations as terminal text: quotes, highlights, citations."""

from __future__ import annotations

import textwrap

from bot.answers import Answer, Excerpt
from bot.engine import ReloadReport
from bot.knowledge.models import Document, KnowledgeBase
from bot.recommendations import Recommendations

BOLD, RESET = "\033[1m", "\033[0m"


def highlight(excerpt: Excerpt, color: bool) -> str:
    """The quote with matched words in bold (ANSI in a terminal, **markdown** otherwise)."""
    start, end = (BOLD, RESET) if color else ("**", "**")
    quote, out, last = excerpt.quote, [], 0
    for span in excerpt.highlights:
        out += [quote[last:span.start], start, quote[span.start:span.end], end]
        last = span.end
    out.append(quote[last:])
    text = "".join(out)
    return f"{'… ' if excerpt.trimmed_start else ''}{text}{' …' if excerpt.trimmed_end else ''}"


def _wrap(text: str, indent: str, width: int) -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def render_answer(answer: Answer, color: bool = False, width: int = 88) -> str:
    lines = [f"Q: {answer.question}" if answer.question else "Q: (empty)"]
    if answer.corrections:
        fixed = ", ".join(f"{k} → {v}" for k, v in answer.corrections.items())
        lines.append(f"   (searched with corrected spelling: {fixed})")
    if not answer.answered:
        lines.append(answer.message)
        if answer.hint:
            lines.append(f"{answer.hint} The articles' recommendations are listed by the recommendations command.")
        return "\n".join(lines)
    for excerpt in answer.excerpts:
        lines.append("")
        lines.append(_wrap(f"[{excerpt.citation.number}] “{highlight(excerpt, color)}”", "", width))
        lines.append(_wrap(excerpt.citation.text, "    ", width))
    if answer.has_more:
        lines.append("")
        lines.append("(more excerpts: type 'more')")
    return "\n".join(lines)


def render_recommendations(recs: Recommendations, width: int = 88) -> str:
    if not recs:
        return "No recommendations found."
    lines: list[str] = []
    for rec in recs.lists:
        doc = rec.document
        lines.append(f"{doc.title}" + (f" — {doc.author}" if doc.author else ""))
        if rec.intro:
            lines.append(_wrap(f"“{rec.intro}”", "  ", width))
        for item in rec.items:
            lines.append(_wrap(f"{item.item}. {item.text}", "   ", width))
        location = rec.items[0].location.split(",")[0]
        lines.append(f"    ({doc.title}, {location}{', ' + doc.url if doc.url else ''})")
        lines.append("")
    if recs.sentences:
        lines.append("Also recommended in the text:")
        for n, sentence in enumerate(recs.sentences, 1):
            lines.append(_wrap(f"{n}. “{sentence.text}” ({sentence.document.title}, {sentence.passage.location})",
                               "   ", width))
    return "\n".join(lines).rstrip()


def render_document(doc: Document) -> str:
    parts = [p for p in (doc.author, doc.publication, doc.published_text) if p]
    head = doc.title + (f": {doc.subtitle}" if doc.subtitle else "")
    return f"{head}\n    {', '.join(parts)}" + (f"\n    {doc.url}" if doc.url else "") + \
        f"\n    id {doc.id}, {len(doc.body)} passages, {doc.path}"


def render_sources(kb: KnowledgeBase) -> str:
    return "\n".join(render_document(d) for d in kb.documents)


def render_check(kb: KnowledgeBase) -> str:
    lines = [f"Knowledge directory: {kb.directory}"]
    lines += [render_document(d) for d in kb.documents]
    lines.append(f"{len(kb.documents)} document(s), {len(kb.passages)} passage(s), "
                 f"{len(kb.aliases)} alias(es), {len(kb.problems)} problem(s)")
    lines += [f"problem: {p}" for p in kb.problems]
    return "\n".join(lines)


def render_reload(report: ReloadReport) -> str:
    if not report.ok:
        return f"Reload failed, still serving the previous knowledge base: {report.error}"
    lines = [f"{report.documents} document(s), {report.passages} passage(s)."]
    for label, ids in (("added", report.documents_added), ("changed", report.documents_changed),
                       ("removed", report.documents_removed)):
        if ids:
            lines.append(f"Documents {label}: {', '.join(ids)}")
    lines.append(f"Passages: {report.passages_added} added, {report.passages_changed} changed, "
                 f"{report.passages_removed} removed.")
    lines += [f"Skipped {p}" for p in report.problems]
    return "\n".join(lines)

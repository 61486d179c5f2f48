"""Answers and recommendations as terminal text: quotes, highlights, citations."""

from __future__ import annotations

import textwrap

from bot.answers import Answer, Excerpt
from bot.knowledge.models import Document, KnowledgeBase
from bot.knowledge.sources import RefreshReport
from bot.recommendations import Recommendations
from bot.reloads import ReloadReport

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
        if excerpt.code is not None:
            lines.append(render_code(excerpt.code.text))
        lines.append(_wrap(excerpt.citation.text, "    ", width))
    if answer.has_more:
        lines.append("")
        lines.append("(more excerpts: type 'more')")
    return "\n".join(lines)


MAX_CODE_LINES = 12


def render_code(code: str, indent: str = "    │ ") -> str:
    """A code block as it is written (never re-wrapped), marked off by a bar; long ones cut by lines."""
    lines = code.splitlines()
    shown = lines[:MAX_CODE_LINES] + ([f"… ({len(lines) - MAX_CODE_LINES} more lines)"]
                                       if len(lines) > MAX_CODE_LINES else [])
    return "\n".join(f"{indent}{line}".rstrip() for line in shown)


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
    details = f"\n    {', '.join(parts)}" if parts else ""
    return f"{head}{details}" + (f"\n    {doc.url}" if doc.url else "") + \
        f"\n    id {doc.id}, {len(doc.body)} passages, {doc.path}"


def render_sources(kb: KnowledgeBase) -> str:
    return "\n".join(render_document(d) for d in kb.documents)


MAX_CHECK_SECTIONS = 8


def render_check_document(doc: Document) -> str:
    """What `check` says of one document: its format, title, sections, passages and dropped markup."""
    code = sum(1 for p in doc.passages if p.kind == "code")
    pages = {p.page for p in doc.passages if p.page is not None}
    counts = [f"{len(doc.body)} passages", f"{len(doc.sections)} sections"]
    counts += [f"{code} code blocks"] if code else []
    counts += [f"{len(pages)} pages"] if pages else []
    lines = [f"{doc.path}  [{doc.format}]", f"    title: {doc.title}", f"    id {doc.id}: {', '.join(counts)}"]
    if doc.sections:
        shown = [s.rsplit(" › ", 1)[-1] for s in doc.sections[:MAX_CHECK_SECTIONS]]
        more = f" … (+{len(doc.sections) - MAX_CHECK_SECTIONS})" if len(doc.sections) > MAX_CHECK_SECTIONS else ""
        lines.append(f"    sections: {'; '.join(shown)}{more}")
    if doc.dropped:
        lines.append("    dropped as markup: " + ", ".join(f"{kind} ×{n}" for kind, n in doc.dropped))
    return "\n".join(lines)


def render_check(kb: KnowledgeBase) -> str:
    lines = [f"Knowledge directory: {kb.directory}"]
    lines += [render_check_document(d) for d in kb.documents]
    lines.append(f"{len(kb.documents)} document(s), {len(kb.passages)} passage(s), "
                 f"{len(kb.aliases)} alias(es), {len(kb.problems)} problem(s)")
    lines += [f"problem: {p}" for p in kb.problems]
    return "\n".join(lines)


def render_refresh(report: RefreshReport) -> str:
    if not (report.changed or report.unchanged or report.failed):
        return "No document here was added by URL: nothing to refresh."
    lines = [f"Refreshed {len(report.changed) + len(report.unchanged)} document(s) fetched by URL: "
             f"{len(report.changed)} changed, {len(report.unchanged)} unchanged, {len(report.failed)} failed."]
    lines += [f"changed: {name}" for name in report.changed]
    lines += [f"failed: {name}: {reason} (the previous copy is kept)" for name, reason in report.failed]
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

"""Everything the terminal prints: answers, recommendations, sources, check, stats, as text (or JSON)."""

from __future__ import annotations

import re
import shutil

from bot.answers import Answer, Excerpt
from bot.knowledge.models import Document, KnowledgeBase, Passage
from bot.knowledge.sources import RefreshReport
from bot.recommendations import Recommendations
from bot.store import EVERYWHERE, ForgottenGuild, Scope, Stats

BOLD, RESET = "\033[1m", "\033[0m"
ANSI = re.compile(r"\033\[[0-9;]*m")
WIDTH = 88  # the widest a line gets, even in a wider terminal: easier to read


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


def terminal_width() -> int:
    """WIDTH, or less in a narrower terminal (which would otherwise split words itself)."""
    return max(20, min(WIDTH, shutil.get_terminal_size((WIDTH + 1, 24)).columns - 1))


def visible_length(text: str) -> int:
    """Characters the terminal shows: colour codes take no room."""
    return len(ANSI.sub("", text))


def wrap(text: str, indent: str = "", width: int = WIDTH) -> str:
    """Greedy wrapping at spaces only, measured without colour codes; a word longer than a line stays whole."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else indent + word
        if line and visible_length(candidate) > width:
            lines.append(line)
            candidate = indent + word
        line = candidate
    return "\n".join([*lines, line] if line else lines)


def render_answer(answer: Answer, color: bool = False, width: int = WIDTH, more: str = "type 'more'") -> str:
    """An answer as the terminal shows it; ``more`` says how to get the next excerpts where there are some."""
    lines = [f"Q: {answer.question}" if answer.question else "Q: (empty)"]
    if answer.corrections:
        fixed = ", ".join(f"{k} → {v}" for k, v in answer.corrections.items())
        lines.append(f"   (searched with corrected spelling: {fixed})")
    if answer.searched:  # a follow-up, read with the conversation's earlier questions
        lines.append(f"   (searched: {', '.join(answer.searched)})")
    if not answer.answered:
        lines.append(answer.message)
        if answer.hint:
            lines.append(f"{answer.hint} What the documents recommend is listed by the recommendations command.")
        return "\n".join(lines)
    for excerpt in answer.excerpts:
        lines.append("")
        lines.append(wrap(f"[{excerpt.citation.number}] “{highlight(excerpt, color)}”", "", width))
        if excerpt.code is not None:
            lines.append(render_code(excerpt.code.text))
        lines.append(wrap(excerpt.citation.text, "    ", width))
    if answer.has_more:
        lines.append("")
        lines.append(f"(more excerpts: {more})")
    return "\n".join(lines)


MAX_CODE_LINES = 12


def render_code(code: str, indent: str = "    │ ") -> str:
    """A code block as it is written (never re-wrapped), marked off by a bar; long ones cut by lines."""
    lines = code.splitlines()
    shown = lines[:MAX_CODE_LINES] + ([f"… ({len(lines) - MAX_CODE_LINES} more lines)"]
                                       if len(lines) > MAX_CODE_LINES else [])
    return "\n".join(f"{indent}{line}".rstrip() for line in shown)


def render_recommendations(recs: Recommendations, width: int = WIDTH) -> str:
    if not recs:
        return "No recommendations found."
    lines: list[str] = []
    for rec in recs.lists:
        doc = rec.document
        lines.append(f"{doc.title}" + (f" — {doc.author}" if doc.author else ""))
        if rec.intro:
            lines.append(wrap(f"“{rec.intro}”", "  ", width))
        for item in rec.items:
            lines.append(wrap(f"{item.item}. {item.text}", "   ", width))
        location = rec.items[0].location.split(",")[0]
        lines.append(f"    ({doc.title}, {location}{', ' + doc.url if doc.url else ''})")
        lines.append("")
    if recs.sentences:
        lines.append("Also recommended in the text:")
        for n, sentence in enumerate(recs.sentences, 1):
            lines.append(wrap(f"{n}. “{sentence.text}” ({sentence.document.title}, {sentence.passage.location})",
                               "   ", width))
    return "\n".join(lines).rstrip()


def count_passages(doc: Document) -> str:
    """Passages as every command counts them (all of a document's passages), and what kinds they are."""
    kinds = {"paragraph": 0, "list_item": 0, "code": 0, "metadata": 0}
    for passage in doc.passages:
        kinds[passage.kind] += 1
    parts = [f"{kinds['paragraph'] + kinds['list_item']} searched"]
    parts += [_plural(kinds["code"], "code block")] if kinds["code"] else []
    parts += [_plural(kinds["metadata"], "document detail")] if kinds["metadata"] else []
    return f"{_plural(len(doc.passages), 'passage')} ({', '.join(parts)})"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def render_document(doc: Document) -> str:
    parts = [p for p in (doc.author, doc.publication, doc.published_text) if p]
    head = doc.title + (f": {doc.subtitle}" if doc.subtitle else "")
    details = f"\n    {', '.join(parts)}" if parts else ""
    return f"{head}{details}" + (f"\n    {doc.url}" if doc.url else "") + \
        f"\n    id {doc.id}, {count_passages(doc)}, {doc.path}"


def render_sources(kb: KnowledgeBase) -> str:
    return "\n".join(render_document(d) for d in kb.documents)


MAX_CHECK_SECTIONS = 8


def render_check_document(doc: Document) -> str:
    """What `check` says of one document: its format, title, sections, passages and dropped markup."""
    pages = {p.page for p in doc.passages if p.page is not None}
    counts = [count_passages(doc), f"{len(doc.sections)} sections"]
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


def recommendations_json(recs: Recommendations) -> dict:
    """`recommendations --json`: lists and sentences, each item with its citation."""
    def cite(doc: Document, passage: Passage) -> dict:
        return {"document": doc.id, "title": doc.title, "paragraph": passage.paragraph, "item": passage.item,
                "location": passage.location, "url": doc.url}

    return {
        "lists": [{"intro": r.intro, "document": r.document.id,
                   "items": [{"number": i.item, "text": i.text, "citation": cite(r.document, i)} for i in r.items]}
                  for r in recs.lists],
        "sentences": [{"text": s.text, "citation": cite(s.document, s.passage)} for s in recs.sentences],
    }


def _scope_text(scope: Scope) -> str:
    if scope is EVERYWHERE:
        return "all servers and direct messages"
    return "direct messages" if scope is None else f"server {scope}"


def render_stats(stats: Stats) -> str:
    """The terminal's /kb stats."""
    period = f"Last {stats.days:g} day(s), {_scope_text(stats.scope)}"
    if not stats.questions:
        return f"{period}: no questions."
    lines = [f"{period}: {stats.questions} question(s), {stats.answered} answered ({stats.answer_rate:.0%})."]
    if stats.topics:
        lines.append("Busiest topics: " + ", ".join(f"{c.label} ({c.count})" for c in stats.topics))
    if stats.documents:
        lines.append("Most cited documents: " + ", ".join(f"{c.label} ({c.count})" for c in stats.documents))
    if stats.unanswered:
        lines.append("Unanswered questions (most asked first):")
        lines += [f"  {u.count:>3}x  {u.text}  (last {u.last_asked:%Y-%m-%d %H:%M} UTC)" for u in stats.unanswered]
    votes = stats.votes_up + stats.votes_down
    lines.append(f"Feedback: {stats.votes_up} up, {stats.votes_down} down ({stats.approval:.0%} up)." if votes
                 else "Feedback: no votes.")
    if stats.voted_down:
        lines.append("Excerpts most often voted down:")
        lines += [f"  {p.down:>3} down {p.up:>3} up  {p.passage_id}" for p in stats.voted_down]
    return "\n".join(lines)


def render_forgotten(forgotten: ForgottenGuild) -> str:
    """What `forget-server` deleted."""
    counts = {"document(s) of its collection": forgotten.documents, "question(s)": forgotten.questions,
              "vote(s)": forgotten.votes, "reload record(s)": forgotten.reloads, "settings": forgotten.settings}
    if not any(counts.values()):
        return f"Server {forgotten.guild_id}: nothing was kept about it, nothing deleted."
    return f"Forgot server {forgotten.guild_id}: deleted " + ", ".join(
        f"{count} {what}" if what != "settings" else "its settings" for what, count in counts.items() if count) + "."

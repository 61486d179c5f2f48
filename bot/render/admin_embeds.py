"""Knowledge administration as Discord embeds: reloads and file changes, status, server settings, stats."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import discord

from bot.knowledge.models import Document, KnowledgeBase, Passage, Problem
from bot.reloads import ReloadRecord, ReloadReport
from bot.render.answer_embeds import ANSWER_COLOUR
from bot.render.discord_text import (
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    MAX_LINES,
    code,
    count,
    fit,
    join_within,
    trim,
)
from bot.store import EVERYWHERE, GuildSettings, Stats, StoreHealth, UnansweredPost

OK_COLOUR = discord.Colour.green()
FAILED_COLOUR = discord.Colour.red()


def _problem_line(problem: Problem, directory: Path) -> str:
    try:
        path = problem.path.relative_to(directory)
    except ValueError:
        path = problem.path
    return f"{code(str(path), 200)}: {fit(problem.reason, 300)}"


def _problems(problems: Sequence[Problem], directory: Path) -> str:
    return join_within([_problem_line(p, directory) for p in problems[:MAX_LINES]], FIELD_VALUE_LIMIT,
                       "… and {n} more files", total=len(problems))


def _ids(ids: Sequence[str]) -> str:
    return join_within([code(i, 100) for i in ids[:MAX_LINES]], FIELD_VALUE_LIMIT, "… and {n} more", ", ",
                       total=len(ids))


def _changes(report: ReloadReport) -> str:
    documents = (f"documents: {len(report.documents_added)} added, {len(report.documents_changed)} changed, "
                 f"{len(report.documents_removed)} removed")
    passages = (f"passages: {report.passages_added} added, {report.passages_changed} changed, "
                f"{report.passages_removed} removed")
    return f"{documents}; {passages}"


def reload_embed(report: ReloadReport, directory: Path, waited: bool = False) -> discord.Embed:
    """What a reload changed, or why it failed and that the previous knowledge base still serves."""
    serving = f"{count(report.documents, 'document')}, {count(report.passages, 'passage')}"
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
        f"{count(len(kb.documents), 'document')}, {count(len(kb.passages), 'passage')}, "
        f"{count(len(kb.aliases), 'alias', 'aliases')}\n"
        f"Directory: {code(str(kb.directory))}\n"
        f"Ranking: {fit(ranking, 200)}\n"
        f"Serving since {discord.utils.format_dt(loaded_at, 'f')}"))
    embed.add_field(name="Documents", value=join_within(
        [f"{code(d.id, 100)}: {fit(d.title, 150)} ({count(len(d.passages), 'passage')})"
         for d in kb.documents[:MAX_LINES]], FIELD_VALUE_LIMIT, "… and {n} more", total=len(kb.documents)),
        inline=False)
    if last is None:
        embed.add_field(name="Last reload", value="None recorded yet.", inline=False)
    else:
        outcome = f"failed, the previous knowledge base was kept: {fit(last.report.error or '', 300)}" \
            if not last.report.ok else _changes(last.report)
        skipped = f"; {count(len(last.report.problems), 'file')} skipped" if last.report.problems else ""
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
    used = "" if usage is None else (f"\nUsing {count(usage[0], 'document')} of {limits[0]} and "
                                     f"{usage[1]:,} of {limits[1]:,} bytes")
    embed = discord.Embed(title=f"{trim(server_name, 150)}: this server's collection", colour=ANSWER_COLOUR,
                          description=(f"{count(len(documents), 'document')}, {count(passages, 'passage')}{used}\n"
                                       "Questions here are answered from this collection and the shared knowledge "
                                       "base together. Add documents with `/kb add`, remove them with `/kb remove`."))
    if documents:
        embed.add_field(name="Documents", value=join_within(
            [f"{code(d.id, 100)}: {fit(d.title, 150)} ({count(len(d.passages), 'passage')})"
             for d in documents[:MAX_LINES]], FIELD_VALUE_LIMIT, "… and {n} more", total=len(documents)),
            inline=False)
    if problems:
        embed.add_field(name=f"Documents skipped ({len(problems)})",
                        value=_problems(problems, Path(".")), inline=False)
    embed.add_field(name="Last change", value="None recorded yet." if last is None else trim(
        f"{discord.utils.format_dt(last.at, 'f')} ({discord.utils.format_dt(last.at, 'R')}) by "
        f"{fit(last.by_name, 100)}; {_changes(last.report)}", FIELD_VALUE_LIMIT), inline=False)
    embed.add_field(name="Shared knowledge base", value=(
        f"{count(len(shared.documents), 'document')}, {count(len(shared.passages), 'passage')}, managed by the "
        "bot's operators (see `/sources` for everything answers here can quote)."), inline=False)
    return embed


def _channel_list(ids: Sequence[int], note: str = "") -> list[str]:
    return [f"<#{channel_id}>{note}" for channel_id in sorted(ids)]


def memory_line(health: StoreHealth) -> str:
    """For /kb status: where the bot's memory is and whether it is saving."""
    if health.fault is None:
        return f"{code(health.where)}: saving normally."
    return (f"{code(health.where)}: ⚠️ not saving right now ({fit(health.fault, 300)}); "
            f"{count(health.pending, 'record')} kept and retried. Answers go on meanwhile.")


def settings_embed(server_name: str, server: GuildSettings, *, env_channels: frozenset[int], reads_messages: bool,
                   questions: int, default_cooldown: float, changes: Sequence[str] = (),
                   notes: Sequence[str] = ()) -> discord.Embed:
    """``/kb settings``: a server's answer channels, help forums, answer threads, public or private answers, and
    cooldown.

    ``changes`` say what this command changed, ``notes`` what it could not or need not change.
    """
    own = server.answer_channel_ids or frozenset()
    lines = []
    if changes:
        lines.append("Changed: " + "; ".join(changes) + ".")
    lines += list(notes)
    if not lines:
        lines.append("Change them with this command's options: `add_channel`, `remove_channel`, `forum`, "
                     "`remove_forum`, `threads`, `remove_threads`, `answers`, `cooldown`, `reset`.")
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
    if server.forum_channel_ids:
        forums = _channel_list(tuple(server.forum_channel_ids))
        embed.add_field(name="Help forums", value=join_within(forums, FIELD_VALUE_LIMIT - 300) + (
            "\nEach new post is answered once, in its thread, from its title and first message (posts made while the "
            "bot was offline: when it starts again); its author or an admin can mark it solved. Posts the bot could "
            "not answer are listed in `/kb stats`."), inline=False)
        if not reads_messages:
            embed.add_field(name="⚠️ The bot reads only the titles of forum posts", value=(
                "Discord's Message Content intent is off, so each post is answered from its title alone. The bot's "
                "operator can set `MESSAGE_CONTENT=on`, switch the intent on in the Developer Portal and restart "
                "the bot."), inline=False)
    if server.thread_channel_ids:
        threads = _channel_list(tuple(server.thread_channel_ids))
        how = ("every message there is a follow-up question" if reads_messages else
               "follow-up questions there mention the bot (Discord's Message Content intent is off)")
        embed.add_field(name="Answers in threads", value=join_within(threads, FIELD_VALUE_LIMIT - 300) + (
            "\nEach public answer there (to an @mention, in an answer channel, or a public `/ask`) is given in a new "
            f"thread started from the question: {how}."), inline=False)
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


def stats_embed(stats: Stats, find_passage: Callable[[str], tuple[Document, Passage] | None],
                posts: Sequence[UnansweredPost] = ()) -> discord.Embed:
    """``/kb stats``: questions, answer rate, topics, the unanswered questions and forum posts, feedback,
    excerpts voted down.

    ``find_passage`` gives the document and passage of a passage id, to name the excerpts voted down;
    ``posts`` are the help forums' posts the bot declined and nobody has marked solved.
    """

    def excerpt(passage_id: str) -> str:
        found = find_passage(passage_id)
        if found is None:
            return f"{code(passage_id, 100)} (no longer in the knowledge base)"
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
    if posts:
        lines = [f"<#{p.post_id}> {fit(p.question, 150)} ({discord.utils.format_dt(p.asked_at, 'R')})" for p in posts]
        embed.add_field(name="Unanswered forum posts: waiting for someone to answer them",
                        value=join_within(lines, FIELD_VALUE_LIMIT), inline=False)
    if stats.topics:
        embed.add_field(name="Busiest topics", value=join_within(
            [f"{fit(c.label, 60)} ({c.count})" for c in stats.topics], 500, separator=", "), inline=False)
    if stats.documents:
        embed.add_field(name="Most cited documents", value=join_within(
            [f"{code(c.label, 100)} ({c.count})" for c in stats.documents], 600, separator=", "), inline=False)
    votes = stats.votes_up + stats.votes_down
    embed.add_field(name="Feedback", value=(
        f"{stats.votes_up} 👍, {stats.votes_down} 👎: {_percent(stats.approval)} found the answers helpful."
        if votes else "No votes yet."), inline=False)
    if stats.voted_down:
        lines = [f"{p.down} 👎 {p.up} 👍 — {excerpt(p.passage_id)}" for p in stats.voted_down]
        embed.add_field(name="Excerpts most often voted down", value=join_within(lines, FIELD_VALUE_LIMIT),
                        inline=False)
    return embed

"""What the bot remembers, read back from a real SQLite file: every question with where, who (as a
salted hash) and what it cited; the reload history, which /kb status shows after a restart."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

import simcord

from bot import create_bot
from bot.store import EVERYWHERE
from tests.conftest import write
from tests.discord.conftest import SYRIA, arrange_world, buttons, flushed

UNANSWERABLE = "How do I bake sourdough bread?"
ASKED = (SYRIA, "Who wrote the article?", "Is Russia arming the Taliban?", UNANSWERABLE,
         "What weapons does Russia sell to Iran?")
SOLAR = "---\ntitle: Solar Power Now\nauthor: Sam Sun\n---\n\nSolar panels got cheaper than coal in 2020.\n"


def cited(bot, question: str, limit: int = 3) -> tuple[str, ...]:
    """The passages the engine quotes for ``question``, in the answer's order."""
    return tuple(excerpt.passage.id for excerpt in bot.engine.ask(question, limit).excerpts)


async def test_every_question_is_logged_with_where_who_and_what_it_cited(bot_env, monkeypatch):
    monkeypatch.setenv("MESSAGE_CONTENT", "on")  # to read questions in an answer channel
    async with simcord.run(create_bot()) as env:
        world = arrange_world(env)
        bot = env.bot
        questions = world.guild.create_text_channel("questions")
        await world.admin.slash(world.channel, "kb settings", add_channel=questions)
        start = env.now()

        await world.member.slash(world.channel, "ask", question=SYRIA)
        await world.member.send(world.channel, f"{bot.user.mention} Who wrote the article?")
        await env.advance_time(10)
        await world.member.send(questions, "Is Russia arming the Taliban?")
        await world.admin.slash(world.channel, "ask", question=f"  {UNANSWERABLE} ", private=True)
        reader = env.create_user("dora")
        await reader.send_dm("What weapons does Russia sell to Iran?")

        store = await flushed(bot.store)
        log = [entry.question for entry in await store.question_log(EVERYWHERE)]

    member, admin = store.hash_user(world.member.id), store.hash_user(world.admin.id)
    log.sort(key=lambda q: (q.asked_at, ASKED.index(q.question)))  # questions asked at the same instant: by text
    assert [(q.question, q.guild_id, q.channel_id, q.asker_hash, q.answered) for q in log] == [
        (SYRIA, world.guild.id, world.channel.id, member, True),  # /ask
        ("Who wrote the article?", world.guild.id, world.channel.id, member, True),  # @mention
        ("Is Russia arming the Taliban?", world.guild.id, questions.id, member, True),  # answer channel
        (UNANSWERABLE, world.guild.id, world.channel.id, admin, False),  # private, and not found
        ("What weapons does Russia sell to Iran?", None, None, store.hash_user(reader.id), True),  # DM
    ]
    assert [q.passage_ids for q in log] == [cited(bot, q) if q != UNANSWERABLE else () for q in ASKED]
    assert all(q.passage_ids for q in log if q.answered)
    assert [q.asked_at for q in log] == [start, start, *[start + timedelta(seconds=10)] * 3]  # the bot's clock
    assert all(isinstance(q.latency_ms, int) and 0 <= q.latency_ms < 10_000 for q in log)
    assert len({q.id for q in log}) == 5

async def test_no_raw_user_id_is_kept_in_the_database(world, database_path):
    await world.member.slash(world.channel, "ask", question=SYRIA)
    await world.member.click((await world.admin.slash(world.channel, "ask", question=SYRIA)).response,
                             label="Helpful")
    await world.admin.slash(world.channel, "kb reload")
    await flushed(world.env.bot.store)

    files = [database_path, database_path.with_name(database_path.name + "-wal")]
    stored = b"".join(path.read_bytes() for path in files if path.exists())
    assert SYRIA.encode() in stored  # the question is there…
    for user in (world.member, world.admin):
        assert str(user.id).encode() not in stored  # …the people who asked, voted and reloaded are not
    with sqlite3.connect(database_path) as db:
        hashes = {row[0] for row in db.execute("SELECT asker_hash FROM questions")}
    assert hashes == {world.env.bot.store.hash_user(world.member.id), world.env.bot.store.hash_user(world.admin.id)}


async def test_a_question_the_log_cannot_take_is_still_answered(world, monkeypatch, caplog):
    def refuse(**fields):
        raise RuntimeError("the log is gone")

    monkeypatch.setattr(world.env.bot.store, "record_question", refuse)
    with caplog.at_level(logging.ERROR):
        result = await world.member.slash(world.channel, "ask", question=SYRIA)

    assert result.response.embeds[0].title == SYRIA
    assert "Full paragraph [1]" in buttons(result.response) and "Helpful" not in buttons(result.response)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("bot.")] == [
        "Could not log a question (the answer is sent anyway)"]
    assert world.env.errors == []


async def test_reload_history_is_kept_and_shown_by_kb_status_after_a_restart(world, knowledge_dir):
    write(knowledge_dir, "solar.md", SOLAR)
    await world.env.advance_time(60)
    reloaded_at = world.env.now()
    await world.admin.slash(world.channel, "kb reload")
    store = await flushed(world.env.bot.store)
    [entry] = await store.reload_history()
    assert (entry.by_name, entry.by_hash, entry.report.documents_added) == (
        "ada", store.hash_user(world.admin.id), ("solar",))

    await world.env.restart_bot(create_bot())  # a new process: the last reload is known only to the store
    await world.env.advance_time(3600)
    status = await world.admin.slash(world.channel, "kb status")

    fields = {field.name: field.value for field in status.response.embeds[0].fields}
    assert fields["Last reload"] == (f"<t:{int(reloaded_at.timestamp())}:f> (<t:{int(reloaded_at.timestamp())}:R>) "
                                     "by ada; documents: 1 added, 0 changed, 0 removed; "
                                     "passages: 3 added, 0 changed, 0 removed")
    assert fields["Memory"].endswith(": saving normally.")


async def test_skipped_files_are_part_of_the_reload_history(world, knowledge_dir):
    write(knowledge_dir, "notes.md", "")
    await world.admin.slash(world.channel, "kb reload")
    store = await flushed(world.env.bot.store)
    [entry] = await store.reload_history()
    assert [(p.path.name, p.reason) for p in entry.report.problems] == [("notes.md", "empty file")]
    status = await world.admin.slash(world.channel, "kb status")
    last = {f.name: f.value for f in status.response.embeds[0].fields}["Last reload"]
    assert last.endswith("passages: 0 added, 0 changed, 0 removed; 1 file skipped")

"""/kb stats: what was asked in this server, what went unanswered, the feedback, the excerpts voted
down; from the real question log, scoped to the server it is asked in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import simcord

from bot.render.admin_embeds import stats_embed
from bot.store import Count, PassageVotes, Stats, UnansweredQuestion
from tests.discord.conftest import SYRIA, arrange_world, embed_text

BREAD = "How do I bake sourdough bread?"
AUSTRALIA = "What is the capital of Australia?"
JUPITER = "How many moons does Jupiter have?"


def fields(embed) -> dict[str, str]:
    return {field.name: field.value for field in embed.fields}


async def ask(actor, channel, question: str, env: simcord.Env) -> simcord.InteractionResult:
    await env.advance_time(10)  # stay clear of the cooldown
    return await actor.slash(channel, "ask", question=question)


async def test_kb_stats_shows_this_servers_questions_gaps_and_feedback(world):
    env = world.env
    elsewhere = arrange_world(env, "Elsewhere", "eve", "dan", home=False)
    answer = (await ask(world.member, world.channel, SYRIA, env)).response
    await ask(world.admin, world.channel, "Is Russia arming the Taliban?", env)
    await world.member.send(world.channel, f"{env.bot.user.mention} Who wrote the article?")
    await ask(world.member, world.channel, BREAD, env)
    first_bread = env.now()
    await ask(world.admin, world.channel, "how do I bake SOURDOUGH bread", env)  # the same gap, asked again
    last_bread = env.now()
    await ask(world.member, world.channel, AUSTRALIA, env)
    australia = env.now()
    await world.member.click(answer, label="Not helpful")
    await world.admin.click(answer, label="Helpful")
    for n in range(4):  # another server's questions never show here
        await ask(elsewhere.member, elsewhere.channel, f"{JUPITER} {n}", env)

    result = await world.admin.slash(world.channel, "kb stats")

    assert result.ephemeral
    [embed] = result.response.embeds
    assert len(embed) <= 6000
    assert embed.title == "Questions in this server: the last 30 days"
    assert embed.description == "**6** questions asked, **3** answered (50%)."
    shown = fields(embed)
    assert shown["Unanswered questions: what to add to the knowledge base next"] == (
        f"2× how do I bake SOURDOUGH bread (<t:{int(last_bread.timestamp())}:R>)\n"
        f"1× {AUSTRALIA} (<t:{int(australia.timestamp())}:R>)")
    assert last_bread > first_bread
    assert shown["Busiest topics"] == ("bake (2), bread (2), russia (2), sourdough (2), arming (1), australia (1), "
                                       "capital (1), syria (1), taliban (1)")
    assert shown["Most cited documents"] == "`why-talking-to-putin-wont-work` (3)"
    assert shown["Feedback"] == "1 👍, 1 👎: 50% found the answers helpful."
    voted_down = shown["Excerpts most often voted down"].splitlines()
    prefix = "1 👎 1 👍 — “Why Talking to Putin Won’t Work”, ¶"
    assert all(line.startswith(prefix) for line in voted_down)
    assert sorted(line.removeprefix(prefix).split(":")[0] for line in voted_down) == ["11", "4", "6"]  # its excerpts
    assert "Jupiter" not in embed_text(embed) and "moons" not in embed_text(embed)

    theirs = (await elsewhere.admin.slash(elsewhere.channel, "kb stats")).response.embeds[0]
    assert theirs.description == "**4** questions asked, **0** answered (0%)."
    assert "Syria" not in embed_text(theirs) and "sourdough" not in embed_text(theirs)
    assert fields(theirs)["Feedback"] == "No votes yet."


async def test_kb_stats_covers_the_days_asked_for(world):
    env = world.env
    await ask(world.member, world.channel, BREAD, env)
    await env.advance_time(timedelta(days=3).total_seconds())
    await ask(world.member, world.channel, SYRIA, env)

    week = (await world.admin.slash(world.channel, "kb stats", days=7)).response.embeds[0]
    assert week.title == "Questions in this server: the last 7 days"
    assert week.description == "**2** questions asked, **1** answered (50%)."
    today = (await world.admin.slash(world.channel, "kb stats", days=1)).response.embeds[0]
    assert today.description == "**1** question asked, **1** answered (100%)."
    assert "Unanswered questions: what to add to the knowledge base next" not in fields(today)


async def test_kb_stats_of_a_quiet_server(world):
    [embed] = (await world.admin.slash(world.channel, "kb stats")).response.embeds
    assert embed.description == "No questions were asked in this period."
    assert embed.fields == []


async def test_long_unanswered_questions_keep_the_embed_within_discords_limits(world):
    env = world.env
    for n in range(12):
        await ask(world.member if n % 2 else world.admin, world.channel,
                  f"Question {n} about nothing in the knowledge base " + "and more words " * 120, env)
    [embed] = (await world.admin.slash(world.channel, "kb stats")).response.embeds
    assert len(embed) <= 6000
    unanswered = fields(embed)["Unanswered questions: what to add to the knowledge base next"]
    assert len(unanswered) <= 1024 and unanswered.endswith("more")


@pytest.mark.parametrize("command", ["kb stats", "kb settings"])
async def test_members_granted_the_command_are_still_refused(world, command):
    [kb] = [c for c in await world.env.bot.tree.fetch_commands() if c.name == "kb"]
    world.guild.set_command_permissions(kb, {world.member: True})
    result = await world.member.slash(world.channel, command)
    assert result.ephemeral and result.response.content.startswith("Sorry, only server admins")


def test_the_fullest_stats_fit_in_one_embed():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    long = "word " * 1200
    stats = Stats(
        scope=1, since=now - timedelta(days=30), until=now, questions=10**6, answered=1,
        topics=tuple(Count("x" * 200 + str(n), 10**5) for n in range(10)),
        documents=tuple(Count("d" * 200 + str(n), 10**5) for n in range(10)),
        unanswered=tuple(UnansweredQuestion(long + str(n), 10**5, now) for n in range(10)),
        votes_up=10**6, votes_down=10**6,
        voted_down=tuple(PassageVotes(f"{'p' * 300}#{n}", 10**5, 10**5) for n in range(10)))

    embed = stats_embed(stats, lambda passage_id: None)
    assert len(embed) <= 6000 and len(embed.fields) <= 25
    assert all(len(field.value) <= 1024 and len(field.name) <= 256 for field in embed.fields)
    assert embed.description == "**1000000** questions asked, **1** answered (0%)."

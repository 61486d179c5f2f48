"""👍 / 👎 under every answer: one vote per person per answer, changeable, acknowledged privately,
kept in the real database, and working after a restart."""

from __future__ import annotations

import re

from bot import create_bot
from bot.discord_app.buttons import FeedbackButton
from bot.store import DOWN, UP
from tests.conftest import write
from tests.discord.conftest import SYRIA, buttons, flushed


def question_id(message) -> str:
    """The logged question an answer's feedback buttons are about (from their custom id)."""
    custom_id = buttons(message)["Helpful"]
    match = re.fullmatch(r"kb:vote:([0-9a-f]{32}):up", custom_id)
    assert match, custom_id
    return match[1]


async def votes(world, message) -> dict[str, int]:
    """Who voted what on this answer, by name, as the database has it."""
    store = await flushed(world.env.bot.store)
    by_hash = {store.hash_user(actor.id): actor.name for actor in (world.admin, world.member)}
    return {by_hash[v.voter_hash]: v.vote for v in await store.votes(question_id(message))}


async def test_every_answer_has_feedback_buttons_that_fit_discords_limits(world):
    env = world.env
    question = "What should the United States do about Russia?"  # six excerpts
    answer = (await world.member.slash(world.channel, "ask", question=question, excerpts=10)).response
    await world.member.send(world.channel, f"{env.bot.user.mention} Who wrote the article?")
    reply = world.channel.last_message
    reader = env.create_user("dora")
    await reader.send_dm("Is Russia arming the Taliban?")
    direct = reader.dm_channel.last_message

    for message in (answer, reply, direct):
        found = buttons(message)
        assert {"Helpful", "Not helpful"} <= set(found)
        assert all(len(custom_id) <= 100 for custom_id in found.values())
        assert found["Not helpful"] == found["Helpful"].removesuffix(":up") + ":down"
    # all six excerpts: six "Full paragraph" buttons in two rows (five a row at most), the votes on their own row
    rows = [[button["label"] for button in row["components"]] for row in answer.components]
    assert rows == [[f"Full paragraph [{n}]" for n in range(1, 6)], ["Full paragraph [6]"],
                    ["Helpful", "Not helpful", "Continue in a thread"]]
    assert [b.emoji.name for row in reply.components for b in row.children if b.label.endswith("elpful")] == ["👍",
                                                                                                             "👎"]
    # each answer is its own logged question
    assert len({question_id(m) for m in (answer, reply, direct)}) == 3


async def test_no_feedback_buttons_when_nothing_was_found(world):
    result = await world.member.slash(world.channel, "ask", question="How do I bake sourdough bread?")
    assert buttons(result.response) == {}


async def test_one_vote_per_person_per_answer_changeable_and_acknowledged_privately(world):
    answer = (await world.member.slash(world.channel, "ask", question=SYRIA)).response

    first = await world.member.click(answer, label="Helpful")
    assert first.ephemeral and first.response.content == "Thanks — your 👍 is noted."
    assert await votes(world, answer) == {"bob": UP}

    again = await world.member.click(answer, label="Helpful")
    assert again.ephemeral and again.response.content == "Your 👍 is already noted: one vote per person per answer."
    assert await votes(world, answer) == {"bob": UP}

    changed = await world.member.click(answer, label="Not helpful")
    assert changed.ephemeral and changed.response.content == "Thanks — your vote is changed to 👎."
    assert await votes(world, answer) == {"bob": DOWN}

    other = await world.admin.click(answer, label="Not helpful")  # two people: two votes
    assert other.response.content == "Thanks — your 👎 is noted."
    assert await votes(world, answer) == {"bob": DOWN, "ada": DOWN}
    carol = world.guild.add_member(world.env.create_user("carol"))
    assert [m.content for m in world.channel.history(viewer=carol) if m.content] == []  # nothing public


async def test_votes_on_a_private_answer_and_a_mention_reply(world):
    private = (await world.member.slash(world.channel, "ask", question=SYRIA, private=True)).response
    assert (await world.member.click(private, label="Not helpful")).response.content == \
        "Thanks — your 👎 is noted."
    await world.env.advance_time(10)
    await world.admin.send(world.channel, f"{world.env.bot.user.mention} Who wrote the article?")
    reply = world.channel.last_message
    assert (await world.member.click(reply, label="Helpful")).ephemeral
    assert await votes(world, private) == {"bob": DOWN}
    assert await votes(world, reply) == {"bob": UP}


async def test_feedback_buttons_work_after_a_restart_and_remember_earlier_votes(world):
    answer = (await world.member.slash(world.channel, "ask", question=SYRIA)).response
    await world.member.click(answer, label="Helpful")
    await flushed(world.env.bot.store)  # what close() does when the process stops

    await world.env.restart_bot(create_bot())  # a new process: the vote is known only to the database

    changed = await world.member.click(answer, label="Not helpful")
    assert changed.response.content == "Thanks — your vote is changed to 👎."
    assert (await world.admin.click(answer, label="Helpful")).response.content == "Thanks — your 👍 is noted."
    assert await votes(world, answer) == {"bob": DOWN, "ada": UP}
    assert world.env.errors == []


def test_the_custom_id_holds_the_question_and_the_vote():
    button = FeedbackButton("0123456789abcdef0123456789abcdef", DOWN)
    assert button.custom_id == "kb:vote:0123456789abcdef0123456789abcdef:down"
    assert FeedbackButton.__discord_ui_compiled_template__.fullmatch(button.custom_id)


async def test_the_most_buttons_an_answer_can_have_fit_in_five_rows(world, knowledge_dir):
    paragraphs = "\n\n".join(f"The zeppelin number {n} flew over the northern sea in year {1900 + n}."
                             for n in range(40))
    write(knowledge_dir, "zeppelins.md", f"---\ntitle: Zeppelins\n---\n\n{paragraphs}\n")
    await world.admin.slash(world.channel, "kb reload")

    answer = (await world.member.slash(world.channel, "ask", question="Which zeppelin flew over the northern sea?",
                                       excerpts=10)).response

    rows = [[button["label"] for button in row["components"]] for row in answer.components]
    assert len(rows) <= 5 and all(len(row) <= 5 for row in rows)
    assert sum(len(row) for row in rows) == 14  # More excerpts, ten Full paragraph, 👍, 👎 and the thread
    assert rows[-1] == ["Helpful", "Not helpful", "Continue in a thread"]

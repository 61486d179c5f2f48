"""Buttons under an answer: more excerpts, the full paragraph; their state is in the custom id."""

from __future__ import annotations

from bot import create_bot
from tests.discord.conftest import SYRIA, buttons


async def test_more_excerpts_shows_the_next_page_to_whoever_clicks(world):
    answer = (await world.member.slash(world.channel, "ask", question=SYRIA, excerpts=2)).response

    more = await world.admin.click(answer, label="More excerpts")

    assert more.ephemeral  # the shared answer stays as it was
    [embed] = more.response.embeds
    assert embed.title == SYRIA and embed.footer.text == "Excerpts 3–4"
    assert embed.description.startswith("**[3]** “") and "**[4]**" in embed.description
    assert "Full paragraph [3]" in buttons(more.response)
    assert answer.embeds[0].footer.text == "Excerpts 1–2"
    assert all(custom_id.startswith("kb:") and len(custom_id) <= 100 for custom_id in buttons(answer).values())


async def test_the_last_page_has_no_more_button(world):
    answer = (await world.member.slash(world.channel, "ask", question=SYRIA, excerpts=10)).response
    assert answer.embeds[0].footer.text == "Excerpts 1–4"  # all there is
    assert "More excerpts" not in buttons(answer)  # no button that leads nowhere


async def test_full_paragraph_shows_the_passage_of_the_cited_excerpt(world):
    answer = (await world.member.slash(world.channel, "ask", question=SYRIA)).response

    full = await world.admin.click(answer, label="Full paragraph [1]")

    assert full.ephemeral
    [embed] = full.response.embeds
    assert embed.title == "[1] Why Talking to Putin Won’t Work, ¶4"
    assert embed.url == "http://havel.fiu.edu/news/2017/why-talking-to-putin-wont-work/"
    assert embed.description.startswith("“Wouldn’t it be nice if we got along with Russia?")
    assert embed.description.endswith("increasingly looking as if it’s on its last legs.")
    assert embed.footer.text == "David Kramer, The American Interest, July 6, 2017, ¶4"


async def test_buttons_keep_working_after_the_bot_restarts(world):
    answer = (await world.member.slash(world.channel, "ask", question=SYRIA, excerpts=2)).response
    custom_ids = buttons(answer)
    syncs = sum(1 for r in world.env.http_requests if r.method == "PUT")

    await world.env.restart_bot(create_bot())  # a new process: nothing survives but the custom ids

    more = await world.admin.click(answer, custom_id=custom_ids["More excerpts"])
    assert more.response.embeds[0].footer.text == "Excerpts 3–4"
    full = await world.admin.click(answer, custom_id=custom_ids["Full paragraph [2]"])
    assert full.response.embeds[0].title == "[2] Why Talking to Putin Won’t Work, ¶6"
    # the page shown after the restart pages on too
    assert "More excerpts" not in buttons(more.response)  # the last page
    assert sum(1 for r in world.env.http_requests if r.method == "PUT") == syncs  # unchanged commands: no sync


async def test_buttons_on_a_mention_reply_and_a_private_answer(world):
    await world.member.send(world.channel, f"{world.env.bot.user.mention} {SYRIA}")
    reply = world.channel.last_message
    assert (await world.admin.click(reply, label="More excerpts")).response.embeds[0].footer.text == "Excerpt 4"

    private = (await world.admin.slash(world.channel, "ask", question=SYRIA, private=True)).response
    full = await world.admin.click(private, label="Full paragraph [3]")
    assert full.ephemeral and full.response.embeds[0].title.startswith("[3]")


async def test_a_paragraph_removed_by_a_reload_is_explained(world, knowledge_dir):
    answer = (await world.member.slash(world.channel, "ask", question="Is Russia arming the Taliban?")).response
    article = knowledge_dir / "why-talking-to-putin-wont-work.md"
    article.write_text(article.read_text(encoding="utf-8").replace("Need more evidence", "\n\nNeed more evidence")
                       .split("\n\n\n\nNeed more evidence")[0] + "\n", encoding="utf-8")
    await world.admin.slash(world.channel, "kb reload")

    full = await world.member.click(answer, label="Full paragraph [1]")

    assert full.ephemeral
    assert full.response.content.startswith("That passage is not available here")

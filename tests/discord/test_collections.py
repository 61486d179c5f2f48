"""Whose knowledge: the shared knowledge base is the operators', every other server builds a collection
of its own on top of it, and nothing of one server's collection reaches another server or a DM."""

from __future__ import annotations

import discord
import pytest
import simcord

from bot import create_bot
from bot.discord_app.buttons import FeedbackButton, FullParagraphButton, MoreExcerptsButton, question_digest
from bot.library import passage_ref
from bot.render.titles import question_title
from bot.store import UP
from tests.discord.conftest import SYRIA, arrange_world, buttons, embed_text, flushed

SOLAR = "---\ntitle: Solar Power Now\nauthor: Sam Sun\n---\n\nSolar panels got cheaper than coal in 2020.\n"
SOLAR_QUESTION = "When did solar panels get cheaper than coal?"
NOT_FOUND = "I couldn't find that in the knowledge base."
SHARED_AUTHOR = "David Kramer"  # of the one document in the shared base


@pytest.fixture
def simcord_bot(bot_env, monkeypatch):
    monkeypatch.setenv("COOLDOWN_SECONDS", "0")
    monkeypatch.setenv("COLLECTION_POLL_SECONDS", "5")
    return create_bot()


@pytest.fixture
def elsewhere(world):
    """A second server, not a home server: its admin eve can only build its own collection."""
    return arrange_world(world.env, "Elsewhere", "eve", "dan", home=False)


async def add(world, name: str, text: str) -> simcord.InteractionResult:
    return await world.admin.slash(world.channel, "kb add", file=(name, text.encode()))


async def ask(world, question: str) -> discord.Embed:
    return (await world.member.slash(world.channel, "ask", question=question)).response.embeds[0]


def quoted(embed: discord.Embed) -> str:
    """What an answer quotes and cites (not its title, which repeats the question), without the highlighting."""
    return "\n".join([embed.description or ""] + [f"{f.name}\n{f.value}" for f in embed.fields]).replace("**", "")


def found(embed: discord.Embed) -> bool:
    return not (embed.description or "").startswith(NOT_FOUND)


async def test_a_home_server_admin_reloads_and_edits_the_shared_base(world, knowledge_dir):
    reload = await world.admin.slash(world.channel, "kb reload")
    assert reload.ephemeral and reload.response.embeds[0].title == "Knowledge base reloaded"

    added = await add(world, "solar.md", SOLAR)

    assert added.response.embeds[0].title == "Knowledge base reloaded"
    assert (knowledge_dir / "solar.md").read_text(encoding="utf-8") == SOLAR  # the shared base, on disk
    assert found(await ask(world, SOLAR_QUESTION))


async def test_another_server_admin_is_refused_for_the_shared_base(world, elsewhere, knowledge_dir):
    before = sorted(p.name for p in knowledge_dir.iterdir())
    loaded_at = world.env.bot.engine.state.loaded_at

    refused = await elsewhere.admin.slash(elsewhere.channel, "kb reload")

    assert refused.ephemeral
    text = refused.response.content
    assert "The shared knowledge base is managed by the bot's operators" in text.replace("the shared", "The shared")
    assert "`OWNER_IDS`" in text and "a private bot lists its server in `HOME_GUILD_IDS`" in text
    assert "this server's own collection" in text
    assert world.env.bot.engine.state.loaded_at == loaded_at
    assert sorted(p.name for p in knowledge_dir.iterdir()) == before


async def test_another_server_builds_a_collection_of_its_own(world, elsewhere, knowledge_dir):
    before = sorted(p.name for p in knowledge_dir.iterdir())

    added = await add(elsewhere, "solar.md", SOLAR)

    assert added.ephemeral
    [embed] = added.response.embeds
    assert "Added `solar.md` in this server's collection: “Solar Power Now”, document `solar`." in embed.description
    assert sorted(p.name for p in knowledge_dir.iterdir()) == before  # nothing written to the shared base
    stored = await elsewhere.env.bot.store.documents(elsewhere.guild.id)
    assert [(d.document_id, d.filename, d.text) for d in stored] == [("solar", "solar.md", SOLAR)]
    # Quoted there, and ranked with the shared base on one scale: each question gets its best passage first.
    solar = await ask(elsewhere, SOLAR_QUESTION)
    assert found(solar) and quoted(solar).startswith("[1] “Solar panels got cheaper than coal in 2020.”")
    assert "Solar Power Now" in quoted(solar) and "Sam Sun" in quoted(solar)
    syria = await ask(elsewhere, SYRIA)
    assert found(syria) and SHARED_AUTHOR in quoted(syria) and "Solar panels" not in quoted(syria)
    # Not in the home server, which is answered from the shared base alone.
    assert not found(await ask(world, SOLAR_QUESTION))

    status = await elsewhere.admin.slash(elsewhere.channel, "kb status")
    text = embed_text(status.response.embeds[0])
    assert status.response.embeds[0].title == "Elsewhere: this server's collection"
    assert "1 document, 3 passages\nUsing 1 document of 25 and 92 of 2,000,000 bytes" in text
    assert "`solar`: Solar Power Now" in text
    assert "Shared knowledge base\n1 document" in text and "by eve" in text

    removal = await elsewhere.admin.slash(elsewhere.channel, "kb remove", document="solar")
    assert "from this server's collection?" in removal.response.content
    removed = await elsewhere.admin.click(removal.response, label="Remove")
    assert "Removed `solar.md` from this server's collection" in removed.response.embeds[0].description
    assert await elsewhere.env.bot.store.documents(elsewhere.guild.id) == []
    assert not found(await ask(elsewhere, SOLAR_QUESTION))


async def bot_message(env: simcord.Env, channel: simcord.ChannelHandle, *items: discord.ui.Item,
                      title: str | None = None) -> discord.Message:
    """A message of the bot's in ``channel`` carrying ``items`` (a button copied from another server)."""
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    sent = await env.bot.get_channel(channel.id).send(embed=discord.Embed(title=title) if title else None, view=view)
    return sent


async def test_nothing_of_one_server_reaches_another(world, elsewhere):
    env = world.env
    await add(elsewhere, "solar.md", SOLAR)
    answer = await elsewhere.member.slash(elsewhere.channel, "ask", question=SOLAR_QUESTION)
    solar_passage = next(p for p in env.bot.engine_for(elsewhere.guild.id).knowledge.passages
                         if "Solar panels" in p.text)
    assert buttons(answer.response)["Full paragraph [1]"] == f"kb:full:1:{passage_ref(solar_passage.id)}"

    # Answers, and the corrections offered when nothing is found.
    home = await ask(world, SOLAR_QUESTION)
    assert not found(home) and "solar" not in quoted(home).lower()
    typo = await ask(world, "solarr panells")
    assert "solar" not in quoted(typo).lower()
    assert "solar" in quoted(await ask(elsewhere, "solarr panells")).lower()  # there it is known
    # Mentions too.
    reply = await world.member.send(world.channel, f"{env.bot.user.mention} {SOLAR_QUESTION}")
    await env.settle()
    mention_reply = world.channel.last_message
    assert mention_reply.reference.message_id == reply.id and "Solar panels" not in quoted(mention_reply.embeds[0])

    # Buttons: a Full paragraph button carrying the other server's passage, More excerpts, a vote.
    copied = await bot_message(env, world.channel, FullParagraphButton(1, passage_ref(solar_passage.id)))
    full = await world.member.click(copied, label="Full paragraph [1]")
    assert full.ephemeral and full.response.content.startswith("That passage is not available here")
    there = await elsewhere.member.click(answer.response, label="Full paragraph [1]")
    assert there.response.embeds[0].title.startswith("[1]")
    more = await bot_message(env, world.channel, MoreExcerptsButton(0, 3, question_digest(SOLAR_QUESTION)),
                             title=question_title(SOLAR_QUESTION))
    paged = await world.member.click(more, label="More excerpts")
    assert "Solar panels" not in quoted(paged.response.embeds[0])
    question_id = buttons(answer.response)["Helpful"].split(":")[2]
    vote = await bot_message(env, world.channel, FeedbackButton(question_id, UP))
    voted = await world.member.click(vote, label="Helpful")
    assert voted.ephemeral and voted.response.content.startswith("That answer is not available here")
    assert await env.bot.store.votes(question_id) == ()

    # /recommendations, its autocomplete, /sources.
    recs = await world.member.slash(world.channel, "recommendations", document="solar")
    assert all("Solar" not in embed_text(e) for e in recs.response.embeds)
    assert await world.member.autocomplete(world.channel, "recommendations", "document", "sol") == []
    assert await elsewhere.member.autocomplete(elsewhere.channel, "recommendations", "document", "sol") == [
        {"name": "Solar Power Now", "value": "solar"}]
    sources = await world.member.slash(world.channel, "sources")
    assert all("Solar" not in embed_text(e) for e in sources.response.embeds)
    theirs = await elsewhere.member.slash(elsewhere.channel, "sources")
    assert any("Solar Power Now" in embed_text(e) for e in theirs.response.embeds)

    # The admin views: /kb status, /kb remove's suggestions, /kb stats.
    status = await world.admin.slash(world.channel, "kb status")
    assert "solar" not in embed_text(status.response.embeds[0]).lower()
    assert await world.admin.autocomplete(world.channel, "kb remove", "document", "sol") == []
    assert await elsewhere.admin.autocomplete(elsewhere.channel, "kb remove", "document", "") == [
        {"name": "Solar Power Now", "value": "solar"}]
    await flushed(env.bot.store)
    stats = embed_text((await world.admin.slash(world.channel, "kb stats")).response.embeds[0])
    assert "**3** questions asked, **0** answered" in stats  # its own three, none of the other server's
    assert "Solar Power Now" not in stats
    theirs = embed_text((await elsewhere.admin.slash(elsewhere.channel, "kb stats")).response.embeds[0])
    assert "**2** questions asked, **2** answered" in theirs


async def test_direct_messages_see_the_shared_base_only(world, elsewhere):
    await add(elsewhere, "solar.md", SOLAR)
    dora = world.env.create_user("dora")

    answer = (await dora.slash("ask", question=SOLAR_QUESTION)).response.embeds[0]
    assert not found(answer)
    syria = (await dora.slash("ask", question=SYRIA)).response.embeds[0]
    assert found(syria) and SHARED_AUTHOR in quoted(syria)
    sources = await dora.slash("sources")
    assert all("Solar" not in embed_text(e) for e in sources.response.embeds)
    await dora.send_dm(SOLAR_QUESTION)
    await world.env.settle()
    reply = dora.dm_channel.history()[-1]
    assert reply.author.id == world.env.bot.user.id and reply.embeds
    assert "Solar panels" not in quoted(reply.embeds[0])


async def test_a_full_collection_says_so(world, monkeypatch, bot_env):
    monkeypatch.setenv("MAX_SERVER_DOCUMENTS", "1")
    monkeypatch.setenv("MAX_SERVER_BYTES", "300")
    await world.env.restart_bot(create_bot())
    elsewhere = arrange_world(world.env, "Elsewhere", "eve", "dan", home=False)
    assert (await add(elsewhere, "solar.md", SOLAR)).response.embeds

    second = await add(elsewhere, "wind.md", "---\ntitle: Wind\n---\n\nWind turbines turn.\n")
    assert second.ephemeral
    assert second.response.content.startswith("Not added, this server's collection is full: this server's "
                                               "collection would hold 2 document(s); the limit is 1.")
    assert "`MAX_SERVER_DOCUMENTS`, `MAX_SERVER_BYTES`" in second.response.content

    big = await add(elsewhere, "solar.md", SOLAR + "More about the sun. " * 20)
    assert "would hold" in big.response.content and "bytes; the limit is 300" in big.response.content
    assert [d.text for d in await world.env.bot.store.documents(elsewhere.guild.id)] == [SOLAR]


async def test_a_collection_survives_a_restart(world, elsewhere):
    await add(elsewhere, "solar.md", SOLAR)

    await world.env.restart_bot(create_bot())

    assert elsewhere.guild.id in world.env.bot.library.servers()
    assert found(await ask(elsewhere, SOLAR_QUESTION))
    assert not found(await ask(world, SOLAR_QUESTION))


async def test_a_collection_is_served_after_a_restart_with_no_poll(world, elsewhere, monkeypatch):
    """The embedded store and no poll: only start-up itself can load the collection. A restart announces
    the servers before the bot is ready and, with guild_ready_timeout 0 (as SimCord sets it), sends no
    guild_available for them: the bot loads every server's collection once it is ready."""
    await add(elsewhere, "solar.md", SOLAR)
    monkeypatch.delenv("COLLECTION_POLL_SECONDS")

    await world.env.restart_bot(create_bot())

    bot = world.env.bot
    assert bot.settings.collection_poll_seconds is None and bot.settings.database_url is None
    assert not bot.collections.poll.is_running()
    assert elsewhere.guild.id in bot.library.servers()
    assert found(await ask(elsewhere, SOLAR_QUESTION))
    assert not found(await ask(world, SOLAR_QUESTION))


async def test_a_change_made_by_another_process_is_picked_up_by_the_poll(world, elsewhere):
    """Another process (here: the store written directly) changes the collection; the poll rebuilds it."""
    env = world.env
    await env.bot.store.put_document(elsewhere.guild.id, "solar", "solar.md", SOLAR, None)
    assert not found(await ask(elsewhere, SOLAR_QUESTION))  # not polled yet

    await env.advance_time(env.bot.settings.collection_poll_seconds + 1)

    assert found(await ask(elsewhere, SOLAR_QUESTION))
    await env.bot.store.delete_document(elsewhere.guild.id, "solar")
    await env.advance_time(env.bot.settings.collection_poll_seconds + 1)
    assert not found(await ask(elsewhere, SOLAR_QUESTION))
    assert env.bot.library.collection(elsewhere.guild.id) == ()


async def test_a_shared_change_reaches_the_servers_with_collections(world, elsewhere):
    await add(elsewhere, "solar.md", SOLAR)
    wind = "---\ntitle: Wind Power\n---\n\nWind turbines now power many homes across the plains.\n"

    await add(world, "wind.md", wind)  # the home server's admin edits the shared base

    answer = await ask(elsewhere, "What do wind turbines power?")
    assert found(answer) and "Wind Power" in quoted(answer)
    assert found(await ask(elsewhere, SOLAR_QUESTION))  # and the server keeps its own

"""/kb reload and /kb status: admins only, reloads off the event loop, old knowledge kept on failure."""

from __future__ import annotations

import asyncio
import threading

import discord
import pytest
import simcord
from simcord import SetupError

from bot import create_bot
from tests.conftest import write
from tests.discord.conftest import HOME_GUILD, SYRIA

ARTICLE = "why-talking-to-putin-wont-work.md"
SOLAR = "---\ntitle: Solar Power Now\nauthor: Sam Sun\n---\n\nSolar panels got cheaper than coal in 2020.\n"
SOLAR_QUESTION = "When did solar panels get cheaper than coal?"
NOT_FOUND = "I couldn't find that in the knowledge base."


async def ask(world, question: str) -> discord.Embed:
    await world.env.advance_time(10)  # these tests ask many questions: stay clear of the cooldown
    result = await world.member.slash(world.channel, "ask", question=question)
    [embed] = result.response.embeds
    return embed


async def test_kb_is_visible_only_to_admins(world):
    assert {"kb reload", "kb status"} <= set(world.admin.available_commands(world.channel))
    assert not {"kb reload", "kb status"} & set(world.member.available_commands(world.channel))
    with pytest.raises(SetupError, match="default-member-permissions"):
        await world.member.slash(world.channel, "kb reload")


async def test_administrators_and_the_owner_are_admins(simcord_env):
    owner = simcord_env.create_user("olga")
    guild = simcord_env.create_guild("Owned", owner=owner, id=HOME_GUILD)
    channel = guild.create_text_channel("general")
    root = guild.add_member(simcord_env.create_user("root"), roles=[
        guild.create_role("Root", permissions=discord.Permissions(administrator=True))])
    for admin in (root, simcord.MemberActor(simcord_env, guild, owner)):
        result = await admin.slash(channel, "kb status")
        assert result.response.embeds[0].title == "Knowledge base"


async def test_a_member_granted_the_command_is_still_refused(world):
    [kb] = [c for c in await world.env.bot.tree.fetch_commands() if c.name == "kb"]
    world.guild.set_command_permissions(kb, {world.member: True})  # as a server admin could

    for command in ("kb reload", "kb status"):
        result = await world.member.slash(world.channel, command)
        assert result.ephemeral
        assert result.response.content == ("Sorry, only server admins can manage the knowledge base: "
                                           "it needs the Manage Server permission.")


async def test_admin_role_ids_add_roles(bot_env, monkeypatch):
    def arrange(env):
        guild = env.create_guild("Readers", id=HOME_GUILD)
        librarians = guild.create_role("Librarians")  # no Manage Server
        return guild, guild.create_text_channel("general"), librarians, \
            guild.add_member(env.create_user("lee"), roles=[librarians])

    async with simcord.run(create_bot()) as env:  # snowflakes are deterministic: learn the role's id
        role_id = arrange(env)[2].id
    monkeypatch.setenv("ADMIN_ROLE_IDS", str(role_id))

    async with simcord.run(create_bot()) as env:
        guild, channel, librarians, lee = arrange(env)
        [kb] = [c for c in await env.bot.tree.fetch_commands() if c.name == "kb"]
        guild.set_command_permissions(kb, {librarians: True})  # the README's step for ADMIN_ROLE_IDS
        result = await lee.slash(channel, "kb reload")
        assert result.response.embeds[0].title == "Knowledge base reloaded"


async def test_reload_reports_what_changed_and_serves_the_new_knowledge(world, knowledge_dir):
    assert (await ask(world, SOLAR_QUESTION)).description.startswith(NOT_FOUND)
    write(knowledge_dir, "solar.md", SOLAR)
    article = knowledge_dir / ARTICLE
    article.write_text(article.read_text(encoding="utf-8").replace("a wholly untrustworthy", "an untrustworthy"),
                       encoding="utf-8")

    result = await world.admin.slash(world.channel, "kb reload")

    assert result.ephemeral
    [embed] = result.response.embeds
    assert embed.title == "Knowledge base reloaded"
    assert embed.description == ("Now serving 2 documents, 26 passages.\n"
                                 "Changes: documents: 1 added, 1 changed, 0 removed; "
                                 "passages: 3 added, 1 changed, 0 removed.")
    assert [(f.name, f.value) for f in embed.fields] == [("Documents added", "`solar`"),
                                                         ("Documents changed", "`why-talking-to-putin-wont-work`")]
    assert "**cheaper** than **coal**" in (await ask(world, SOLAR_QUESTION)).description


async def test_a_reload_without_any_usable_document_keeps_the_old_one_and_says_why(world, knowledge_dir):
    article = knowledge_dir / ARTICLE
    original = article.read_bytes()
    article.write_bytes(b"\xff\xfe broken \x00")

    failed = await world.admin.slash(world.channel, "kb reload")

    [embed] = failed.response.embeds
    assert embed.title == "Reload failed: still serving the previous knowledge base"
    assert embed.description.startswith("no usable document found")
    assert embed.description.endswith("Still serving 1 document, 23 passages.")
    assert [(f.name, f.value) for f in embed.fields] == [
        ("Files skipped (1)", f"`{ARTICLE}`: binary file (contains NUL bytes), expected UTF-8 text")]
    assert "**Syria**" in (await ask(world, SYRIA)).description  # the old knowledge still answers

    article.write_bytes(original)
    restored = await world.admin.slash(world.channel, "kb reload")
    assert restored.response.embeds[0].title == "Knowledge base reloaded"


async def test_files_skipped_by_a_successful_reload_are_listed(world, knowledge_dir):
    write(knowledge_dir, "notes.md", "")
    write(knowledge_dir, "scan.txt", b"\x89PNG\x00\x00")
    result = await world.admin.slash(world.channel, "kb reload")
    [embed] = result.response.embeds
    assert embed.title == "Knowledge base reloaded"
    assert embed.fields[-1].name == "Files skipped (2)"
    assert embed.fields[-1].value == ("`notes.md`: empty file\n"
                                      "`scan.txt`: binary file (contains NUL bytes), expected UTF-8 text")


async def test_questions_during_a_slow_reload_are_answered_from_the_old_then_the_new_knowledge(
        world, knowledge_dir, monkeypatch):
    """Change, break and restore files while a reload is under way and questions keep coming."""
    env, bot = world.env, world.env.bot
    disk = asyncio.get_running_loop().create_future()
    reload_engine = bot.reload_engine

    async def slow_reload_engine():
        await env.external_wait(disk, reason="a slow disk")  # the reload is parked here until the test goes on
        return await reload_engine()

    monkeypatch.setattr(bot, "reload_engine", slow_reload_engine)
    write(knowledge_dir, "solar.md", SOLAR)

    reload = await world.admin.slash(world.channel, "kb reload")
    assert reload.deferred and reload.ephemeral  # acknowledged at once, while the work goes on
    assert (await ask(world, SOLAR_QUESTION)).description.startswith(NOT_FOUND)  # still the old knowledge
    assert "**Syria**" in (await ask(world, SYRIA)).description

    disk.set_result(None)
    await env.settle()
    assert reload.response.embeds[0].fields[0].value == "`solar`"
    assert "**coal**" in (await ask(world, SOLAR_QUESTION)).description  # now the new knowledge

    # break every document: the reload fails, both documents keep answering
    monkeypatch.setattr(bot, "reload_engine", reload_engine)
    article = knowledge_dir / ARTICLE
    original = article.read_bytes()
    article.write_bytes(b"\x00")
    (knowledge_dir / "solar.md").write_bytes(b"\x00")
    broken = await world.admin.slash(world.channel, "kb reload")
    assert broken.response.embeds[0].title.startswith("Reload failed")
    assert "**coal**" in (await ask(world, SOLAR_QUESTION)).description
    assert "**Syria**" in (await ask(world, SYRIA)).description

    # restore: the article is back, the solar file is gone
    article.write_bytes(original)
    (knowledge_dir / "solar.md").unlink()
    restored = await world.admin.slash(world.channel, "kb reload")
    [embed] = restored.response.embeds
    assert ("Documents removed", "`solar`") in [(f.name, f.value) for f in embed.fields]
    assert (await ask(world, SOLAR_QUESTION)).description.startswith(NOT_FOUND)
    assert world.env.errors == []


async def test_two_reloads_at_once_run_one_after_the_other(world, knowledge_dir):
    bot = world.env.bot
    engine_reload = bot.engine.reload
    running, most = 0, 0
    lock = threading.Lock()

    def counting_reload(*args):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return engine_reload(*args)
        finally:
            with lock:
                running -= 1

    bot.engine.reload = counting_reload
    write(knowledge_dir, "solar.md", SOLAR)

    (first, waited_first), (second, waited_second) = await asyncio.gather(
        bot.reload_knowledge(by="ada"), bot.reload_knowledge(by="lee"))

    assert most == 1  # never two rebuilds at the same time
    assert (waited_first, waited_second) == (False, True)
    assert first.documents_added == ("solar",) and second.documents_added == ()  # the second saw the first's work
    assert bot.last_reload.by_name == "lee"


async def test_kb_status_shows_the_knowledge_base_and_the_last_reload(world, knowledge_dir):
    before = await world.admin.slash(world.channel, "kb status")
    assert before.ephemeral
    [embed] = before.response.embeds
    assert embed.title == "Knowledge base"
    assert embed.description.startswith("1 document, 23 passages, ")
    assert f"Directory: `{knowledge_dir}`" in embed.description and "Ranking: lexical" in embed.description
    assert embed.fields[0].value == "`why-talking-to-putin-wont-work`: Why Talking to Putin Won’t Work (23 passages)"
    assert embed.fields[1].value == "None recorded yet."

    write(knowledge_dir, "solar.md", SOLAR)
    await world.env.advance_time(60)
    await world.admin.slash(world.channel, "kb reload")
    after = await world.admin.slash(world.channel, "kb status")
    [embed] = after.response.embeds
    last = embed.fields[1].value
    assert last.startswith(f"<t:{int(world.env.now().timestamp())}:f>")
    assert "by ada; documents: 1 added, 0 changed, 0 removed" in last

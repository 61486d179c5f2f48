"""Who owns the shared knowledge base: the application's owner or team, OWNER_IDS, and the admins
(Manage Server or ADMIN_ROLE_IDS) of the HOME_GUILD_IDS servers; nobody else, anywhere."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import discord
import pytest

from bot import create_bot
from tests.discord.conftest import arrange_world

RELOADED = "Knowledge base reloaded"
REFUSED = "Sorry, the shared knowledge base is managed by the bot's operators"


@pytest.fixture
def elsewhere(world):
    return arrange_world(world.env, "Elsewhere", "eve", "dan", home=False)


async def reload_title(actor, channel) -> str:
    result = await actor.slash(channel, "kb reload")
    assert result.ephemeral
    return result.response.embeds[0].title if result.response.embeds else result.response.content


async def test_home_server_admins_are_operators_other_admins_are_not(world, elsewhere):
    assert await reload_title(world.admin, world.channel) == RELOADED
    assert (await reload_title(elsewhere.admin, elsewhere.channel)).startswith(REFUSED)


async def test_owner_ids_are_operators_in_any_server(world, elsewhere):
    bot = world.env.bot
    bot.settings = replace(bot.settings, owner_ids=frozenset({elsewhere.admin.id}))
    assert await reload_title(elsewhere.admin, elsewhere.channel) == RELOADED


async def test_the_application_team_are_operators(world, elsewhere, monkeypatch):
    bot = world.env.bot
    assert (await reload_title(elsewhere.admin, elsewhere.channel)).startswith(REFUSED)  # SimCord: the bot owns it
    team = SimpleNamespace(members=[SimpleNamespace(id=elsewhere.admin.id)])

    async def application_info():
        return SimpleNamespace(team=team, owner=None)

    monkeypatch.setattr(bot, "application_info", application_info)
    bot._app_owners = None  # asked again (it is remembered once known)
    assert await reload_title(elsewhere.admin, elsewhere.channel) == RELOADED


async def test_admin_roles_of_a_home_server_are_operators(world):
    helper_role = world.guild.create_role("Librarians")
    helper = world.guild.add_member(world.env.create_user("lib"), roles=[helper_role])
    [kb] = [c for c in await world.env.bot.tree.fetch_commands() if c.name == "kb"]
    world.guild.set_command_permissions(kb, {helper: True})
    assert (await reload_title(helper, world.channel)).startswith("Sorry, only server admins")

    world.env.bot.settings = replace(world.env.bot.settings, admin_role_ids=frozenset({helper_role.id}))
    assert await reload_title(helper, world.channel) == RELOADED


async def test_a_private_bot_without_home_servers_refuses_every_server_admin(world, monkeypatch, bot_env):
    monkeypatch.delenv("HOME_GUILD_IDS")
    await world.env.restart_bot(create_bot())
    assert (await reload_title(world.admin, world.channel)).startswith(REFUSED)
    added = await world.admin.slash(world.channel, "kb add", file=("solar.md", b"Solar panels got cheaper.\n"))
    assert "in this server's collection" in added.response.embeds[0].description  # its own collection, then


async def test_the_refusal_in_another_server_says_what_it_can_do(elsewhere):
    result = await elsewhere.admin.slash(elsewhere.channel, "kb reload")
    text = result.response.content
    assert text.startswith(REFUSED) and "`OWNER_IDS`" in text and "`HOME_GUILD_IDS`" in text
    assert "In this server, `/kb add`, `/kb remove` and `/kb status` manage this server's own collection" in text
    assert discord.utils.escape_markdown(text)  # plain text, shown as is

"""The app installed by a user: /ask, /recommendations and /sources in DMs and in servers that did not install
it, answered from the shared base only (never a server's collection), with buttons that still work."""

from __future__ import annotations

from typing import Any

import pytest
import simcord
import simcord.interactions

from bot import create_bot
from tests.discord.conftest import SYRIA, arrange_world, buttons, embed_text, flushed

SOLAR = "---\ntitle: Solar Power Now\n---\n\nSolar panels got cheaper than coal in 2020.\n"
SOLAR_QUESTION = "When did solar panels get cheaper than coal?"
NOT_FOUND = "I couldn't find that in the knowledge base."
ANYWHERE = ("ask", "recommendations", "sources")


@pytest.fixture
def simcord_bot(bot_env, monkeypatch):
    monkeypatch.setenv("COOLDOWN_SECONDS", "0")
    return create_bot()


@pytest.fixture
def user_installed(monkeypatch: pytest.MonkeyPatch):
    """Interactions in the servers added to the returned set arrive as Discord sends them where only the user
    installed the app: authorized by the user's install, not the server's. (SimCord 3.2 models server installs
    only: every interaction carries empty ``authorizing_integration_owners``.)"""
    servers: set[int] = set()
    base_payload = simcord.interactions.base_payload

    def payload(backend: Any, **fields: Any) -> tuple[Any, dict[str, Any]]:
        record, built = base_payload(backend, **fields)
        if fields["guild_id"] in servers:
            built["authorizing_integration_owners"] = {"1": str(fields["user_id"])}  # USER_INSTALL only
        return record, built

    monkeypatch.setattr(simcord.interactions, "base_payload", payload)
    return servers


@pytest.fixture
async def elsewhere(world):
    """A server with a collection of its own (a solar article), as its own admins built it."""
    other = arrange_world(world.env, "Elsewhere", "eve", "dan", home=False)
    added = await other.admin.slash(other.channel, "kb add", file=("solar.md", SOLAR.encode()))
    assert "Solar" in embed_text(added.response.embeds[0])
    return other


def test_the_commands_can_be_installed_by_users_and_used_anywhere(world):
    tree = world.env.bot.tree
    for name in ANYWHERE:
        payload = tree.get_command(name).to_dict(tree)
        assert payload["integration_types"] == [0, 1]  # server install and user install
        assert payload["contexts"] == [0, 1, 2]  # servers, DMs with the bot, other DMs and group DMs
    assert tree.get_command("kb").to_dict(tree).get("integration_types") in (None, [0])  # servers only


async def test_a_user_installed_ask_in_a_server_without_the_app_sees_the_shared_base_only(world, elsewhere,
                                                                                         user_installed):
    user_installed.add(elsewhere.guild.id)
    solar = await elsewhere.member.slash(elsewhere.channel, "ask", question=SOLAR_QUESTION)
    syria = await elsewhere.member.slash(elsewhere.channel, "ask", question=SYRIA)

    assert NOT_FOUND in embed_text(solar.response.embeds[0])  # the server's own collection is not reached
    assert "Assad regime" in embed_text(syria.response.embeds[0])
    found = buttons(syria.response)
    assert "Continue in a thread" not in found  # the bot has no presence there to start one
    full = await elsewhere.member.click(syria.response, label="Full paragraph [1]")
    assert full.ephemeral and "Assad regime" in full.response.embeds[0].description
    vote = await elsewhere.member.click(syria.response, label="Helpful")
    assert vote.response.content == "Thanks — your 👍 is noted."
    more = await elsewhere.member.click(syria.response, label="More excerpts")
    assert more.response.embeds[0].footer.text.startswith("Excerpt")

    store = await flushed(world.env.bot.store)
    question_id = found["Helpful"].split(":")[2]
    assert [v.vote for v in await store.votes(question_id)] == [1]

    user_installed.clear()  # the same server, as its own install answers it: its collection applies
    installed = await elsewhere.member.slash(elsewhere.channel, "ask", question=SOLAR_QUESTION)
    assert "2020" in embed_text(installed.response.embeds[0])


async def test_sources_and_recommendations_there_show_the_shared_base(world, elsewhere, user_installed):
    user_installed.add(elsewhere.guild.id)
    sources = await elsewhere.member.slash(elsewhere.channel, "sources")
    recommendations = await elsewhere.member.slash(elsewhere.channel, "recommendations")

    assert sources.response.embeds[0].title.startswith("Sources: 1 document")
    assert "Solar" not in "".join(embed_text(e) for e in sources.response.embeds)
    assert "sanctions" in "".join(embed_text(e) for e in recommendations.response.embeds)


async def test_the_commands_work_in_a_dm_and_survive_a_restart(world):
    reader = world.env.create_user("reader")
    answer = await reader.slash("ask", question=SYRIA)
    assert "Assad regime" in embed_text(answer.response.embeds[0])
    assert "Continue in a thread" not in buttons(answer.response)

    await world.env.restart_bot(create_bot())
    full = await reader.click(answer.response, label="Full paragraph [1]")
    assert "Assad regime" in full.response.embeds[0].description
    sources = await reader.slash("sources")
    assert sources.response.embeds[0].title.startswith("Sources: 1 document")


async def test_a_user_installed_ask_keeps_the_cooldown_and_never_pings(world, elsewhere, user_installed, monkeypatch):
    monkeypatch.setenv("COOLDOWN_SECONDS", "60")
    monkeypatch.setenv("COOLDOWN_QUESTIONS", "1")
    await world.env.restart_bot(create_bot())
    user_installed.add(elsewhere.guild.id)
    first = await elsewhere.member.slash(elsewhere.channel, "ask", question=f"@everyone <@{world.admin.id}> {SYRIA}")
    second = await elsewhere.member.slash(elsewhere.channel, "ask", question=SYRIA)

    message = first.response.message
    assert not message.mention_everyone and message.mentions == []
    assert second.ephemeral and "One moment" in second.response.content

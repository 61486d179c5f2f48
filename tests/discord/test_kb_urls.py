"""/kb add url: and /kb refresh: web pages fetched into the knowledge base, with the same permissions and
limits as files, and no way to make the bot fetch from its own network."""

from __future__ import annotations

import pytest

from bot import create_bot
from tests.discord.conftest import arrange_world, embed_text
from tests.pages import article_page

BODY = ("<p>The city council approved a new cycling network on Tuesday, adding forty kilometres of "
        "protected lanes by 2026.</p><p>Critics said the plan ignores parking for local shops.</p>")
QUESTION = "how many kilometres of protected lanes will the cycling network add?"


@pytest.fixture
def simcord_bot(bot_env, monkeypatch):
    monkeypatch.setenv("FETCH_PRIVATE_ADDRESSES", "on")  # the test's own server on 127.0.0.1
    return create_bot()


async def test_kb_add_url_fetches_the_page_and_answers_from_it_with_its_title_and_url(world, knowledge_dir,
                                                                                     page_server):
    url = page_server.put("/news/cycling", article_page("Council Backs Cycling Network", BODY))
    result = await world.admin.slash(world.channel, "kb add", url=url)
    text = embed_text(result.response.embeds[0])
    assert "Added `council-backs-cycling-network.md` (fetched from" in text
    saved = (knowledge_dir / "council-backs-cycling-network.md").read_text(encoding="utf-8")
    assert f"fetched_from: {url}" in saved and "Subscribe to our newsletter" not in saved
    await world.env.advance_time(10)
    answer = await world.member.slash(world.channel, "ask", question=QUESTION)
    embed = answer.response.embeds[0]
    assert "forty kilometres of protected lanes" in embed.description.replace("**", "")
    sources = embed_text(embed)
    assert "Council Backs Cycling Network" in sources and url in sources


async def test_kb_refresh_updates_a_changed_page_and_keeps_one_that_fails(world, knowledge_dir, page_server):
    url = page_server.put("/news/cycling", article_page("Council Backs Cycling Network", BODY))
    await world.admin.slash(world.channel, "kb add", url=url)
    page_server.put("/news/cycling", article_page("Council Backs Cycling Network", BODY.replace("forty", "fifty")))
    result = await world.admin.slash(world.channel, "kb refresh")
    assert "1 changed, 0 unchanged" in embed_text(result.response.embeds[0])
    await world.env.advance_time(10)
    answer = await world.member.slash(world.channel, "ask", question=QUESTION)
    assert "fifty kilometres" in answer.response.embeds[0].description.replace("**", "")
    del page_server.pages["/news/cycling"]
    failed = await world.admin.slash(world.channel, "kb refresh")
    assert "could not be fetched: HTTP 404" in embed_text(failed.response.embeds[0])
    assert "fifty kilometres" in (knowledge_dir / "council-backs-cycling-network.md").read_text(encoding="utf-8")


async def test_kb_add_url_in_another_server_goes_to_its_collection_only(simcord_env, page_server):
    home = arrange_world(simcord_env)
    other = arrange_world(simcord_env, "Cyclists", "cleo", "dan", home=False)
    url = page_server.put("/news/cycling", article_page("Council Backs Cycling Network", BODY))
    result = await other.admin.slash(other.channel, "kb add", url=url)
    assert "in this server's collection" in embed_text(result.response.embeds[0])
    answer = await other.member.slash(other.channel, "ask", question=QUESTION)
    assert "forty kilometres" in answer.response.embeds[0].description.replace("**", "")
    elsewhere = await home.member.slash(home.channel, "ask", question=QUESTION)
    assert "forty kilometres" not in (elsewhere.response.embeds[0].description or "")


async def test_kb_add_needs_a_file_or_a_url_and_only_admins_may_use_it(world):
    neither = await world.admin.slash(world.channel, "kb add")
    assert neither.response.content == "Send either a `file:` or a `url:` to add (one of the two)."


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/admin", "http://localhost/", "http://169.254.169.254/latest/",
                                 "http://10.0.0.5/", "http://[::1]/", "file:///etc/passwd"])
async def test_kb_add_url_never_fetches_from_the_bot_s_own_network(bot_env, simcord_env, url):
    world = arrange_world(simcord_env)  # FETCH_PRIVATE_ADDRESSES is off: the default
    result = await world.admin.slash(world.channel, "kb add", url=url)
    content = result.response.content or ""
    assert content.startswith("Not added: <") and "cannot be used" in content

"""/recommendations (with and without filters, document autocomplete) and /sources."""

from __future__ import annotations

from tests.conftest import write

TITLE = "Why Talking to Putin Won’t Work"
URL = "http://havel.fiu.edu/news/2017/why-talking-to-putin-wont-work/"


async def test_recommendations_are_numbered_and_cited(world):
    result = await world.member.slash(world.channel, "recommendations")

    assert not result.ephemeral
    lists, sentences = result.response.embeds
    assert lists.title == TITLE and lists.url == URL
    assert lists.description.startswith("“President Trump would do well to pick up where his predecessor left off:”")
    assert "**1.** Ramp up, not simply maintain, existing sanctions. (¶8, item 1)" in lists.description
    assert "**5.** Support diversification of energy supplies" in lists.description
    assert lists.footer.text == "David Kramer, The American Interest, July 6, 2017, ¶8"
    assert sentences.title == "Also recommended in the text"
    assert f"**3.** “Trump should avoid personalizing relations with the Russian leader or appearing over-eager " \
           f"for improved ties with Moscow.” — [{TITLE}]({URL}), ¶9" in sentences.description


async def test_recommendations_about_a_topic(world):
    result = await world.member.slash(world.channel, "recommendations", topic="energy")

    [embed] = result.response.embeds
    assert "**5.** Support diversification of energy supplies in Europe" in embed.description
    assert "**1.**" not in embed.description  # only the items about energy, with their own numbers


async def test_recommendations_of_one_document(world, knowledge_dir):
    write(knowledge_dir, "solar.md", "---\ntitle: Solar Power Now\n---\n\nCities should install solar panels "
                                     "on every school roof.\n")
    await world.admin.slash(world.channel, "kb reload")

    everything = await world.member.slash(world.channel, "recommendations")
    assert "solar panels" in " ".join(e.description or "" for e in everything.response.embeds)

    solar = await world.member.slash(world.channel, "recommendations", document="solar")
    [embed] = solar.response.embeds
    assert "“Cities should install solar panels on every school roof.” — *Solar Power Now*, ¶1" in embed.description
    assert TITLE not in embed.description


async def test_no_recommendations_is_a_friendly_reply(world):
    result = await world.member.slash(world.channel, "recommendations", topic="sourdough bread")
    [embed] = result.response.embeds
    assert embed.title == "No recommendations found"
    assert embed.description.startswith("I found no recommendations about “sourdough bread”.")

    result = await world.member.slash(world.channel, "recommendations", document="Gardening Weekly")
    [embed] = result.response.embeds
    assert f"No document matches that name. Documents: “{TITLE}”." in embed.description


async def test_document_autocomplete_suggests_titles(world, knowledge_dir):
    write(knowledge_dir, "solar.md", "---\ntitle: Solar Power Now\nid: solar\n---\n\nSolar is cheap.\n")
    await world.admin.slash(world.channel, "kb reload")

    assert await world.member.autocomplete(world.channel, "recommendations", "document", "") == [
        {"name": "Solar Power Now", "value": "solar"}, {"name": TITLE, "value": "why-talking-to-putin-wont-work"}]
    assert await world.member.autocomplete(world.channel, "recommendations", "document", "PUTIN") == [
        {"name": TITLE, "value": "why-talking-to-putin-wont-work"}]
    assert await world.member.autocomplete(world.channel, "recommendations", "document", "zebra") == []


async def test_sources_lists_the_documents_with_their_details(world):
    result = await world.member.slash(world.channel, "sources")

    [embed] = result.response.embeds
    assert embed.title == "Sources: 1 document, 23 passages"
    [field] = embed.fields
    assert field.name == TITLE
    assert field.value == ("The Eternal Return\nDavid Kramer, The American Interest, July 6, 2017\n"
                           f"[Read the article]({URL})\nid `why-talking-to-putin-wont-work` · 23 passages")


async def test_sources_of_a_large_knowledge_base_fit_one_message(world, knowledge_dir):
    for n in range(60):
        write(knowledge_dir, f"doc-{n:02}.md", f"---\ntitle: {'A rather long title ' * 10}{n}\nauthor: Someone\n"
                                              f"url: https://example.org/{n}\n---\n\nText number {n}.\n")
    await world.admin.slash(world.channel, "kb reload")

    result = await world.member.slash(world.channel, "sources")  # SimCord enforces Discord's limits

    embeds = result.response.embeds
    assert embeds[0].title.startswith("Sources: 61 documents, ")
    assert sum(len(e) for e in embeds) <= 6000
    assert embeds[-1].description.endswith("more documents: `python -m bot sources` lists them all.")

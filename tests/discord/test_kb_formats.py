"""/kb add with documents in every format: PDF and Word files in the shared base and in a server's collection."""

from __future__ import annotations

from tests.discord.conftest import arrange_world
from tests.knowledge.test_formats_in_a_knowledge_base import pdf_report, word_document


async def test_kb_add_reads_pdf_and_word_files_and_cites_their_pages_and_sections(simcord_env):
    home = arrange_world(simcord_env)
    other = arrange_world(simcord_env, "Accounts", "cleo", "dan", home=False)
    # The shared base keeps the PDF itself, a collection the Markdown made of it (pages and sections kept).
    for world, name in ((home, "report"), (other, "accounts")):
        result = await world.admin.slash(world.channel, "kb add", file=(f"{name}.pdf", pdf_report()))
        assert f"“Annual Report 2023”, document `{name}`" in result.response.embeds[0].description
        answer = await world.member.slash(world.channel, "ask", question="how much did revenue grow?")
        sources = answer.response.embeds[0].fields[0].value
        assert "§ Finances, p. 2, ¶1" in sources
    handbook = await other.admin.slash(other.channel, "kb add", file=("Handbook.docx", word_document()))
    assert "Added `handbook.md` (sent as “Handbook.docx”) in this server's collection" in \
        handbook.response.embeds[0].description
    await simcord_env.advance_time(10)
    answer = await other.member.slash(other.channel, "ask", question="how many days of paid holiday?")
    assert "Staff Handbook" in answer.response.embeds[0].fields[0].value
    assert "§ Holidays, ¶1" in answer.response.embeds[0].fields[0].value

"""/kb add and /kb remove: knowledge files from Discord, checked before anything is written, written
atomically inside the knowledge directory only, then reloaded and reported; removal asks first."""

from __future__ import annotations

import os
from pathlib import Path

import discord
import pytest
import simcord
from simcord import SetupError

from bot import create_bot
from bot.discord_app.admin.files import REMOVE_TIMEOUT
from bot.knowledge.loader import load_knowledge_dir
from bot.store import EVERYWHERE
from tests.discord.conftest import buttons, flushed

LIMIT = 4000  # MAX_UPLOAD_BYTES in these tests
ARTICLE = "why-talking-to-putin-wont-work.md"
SOLAR = "---\ntitle: Solar Power Now\nauthor: Sam Sun\n---\n\nSolar panels got cheaper than coal in 2020.\n"
SOLAR_QUESTION = "When did solar panels get cheaper than coal?"
NOT_FOUND = "I couldn't find that in the knowledge base."


@pytest.fixture
def simcord_bot(bot_env, monkeypatch):
    monkeypatch.setenv("MAX_UPLOAD_BYTES", str(LIMIT))
    return create_bot()


def files_under(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes, except the bot's own state and database."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] not in ("state", "memory")}


async def add(world, name: str, data: bytes | str) -> simcord.InteractionResult:
    return await world.admin.slash(world.channel, "kb add",
                                   file=(name, data.encode() if isinstance(data, str) else data))


async def answers(world, question: str) -> bool:
    await world.env.advance_time(10)  # stay clear of the cooldown
    result = await world.member.slash(world.channel, "ask", question=question)
    return not result.response.embeds[0].description.startswith(NOT_FOUND)


async def test_kb_add_writes_the_file_reloads_and_reports(world, knowledge_dir):
    assert not await answers(world, SOLAR_QUESTION)
    before = sorted(p.name for p in knowledge_dir.iterdir())

    result = await add(world, "solar.md", SOLAR)

    assert result.ephemeral
    [embed] = result.response.embeds
    assert embed.title == "Knowledge base reloaded"
    assert embed.description == ("Added `solar.md`: “Solar Power Now”, document `solar`.\n"
                                 "Now serving 2 documents, 26 passages.\n"
                                 "Changes: documents: 1 added, 0 changed, 0 removed; "
                                 "passages: 3 added, 0 changed, 0 removed.")
    assert [(f.name, f.value) for f in embed.fields] == [("Documents added", "`solar`")]
    assert (knowledge_dir / "solar.md").read_text(encoding="utf-8") == SOLAR
    assert sorted(p.name for p in knowledge_dir.iterdir()) == sorted([*before, "solar.md"])  # no temporary file
    assert await answers(world, SOLAR_QUESTION)
    [entry] = await (await flushed(world.env.bot.store)).reload_history()
    assert (entry.by_name, entry.report.documents_added) == ("ada", ("solar",))


async def test_kb_add_says_when_it_replaces_a_document(world, knowledge_dir):
    await add(world, "solar.md", SOLAR)
    result = await add(world, "solar.md", SOLAR.replace("2020", "2019"))
    [embed] = result.response.embeds
    assert embed.description.startswith("Replaced the existing `solar.md`: “Solar Power Now”, document `solar`.\n")
    assert [(f.name, f.value) for f in embed.fields] == [("Documents changed", "`solar`")]
    assert "2019" in (knowledge_dir / "solar.md").read_text(encoding="utf-8")


async def test_kb_add_names_the_file_safely(world, knowledge_dir):
    result = await add(world, "Énergie Solaire (2024).MD", SOLAR)
    assert result.response.embeds[0].description.startswith(
        "Added `energie-solaire-2024.md` (sent as “Énergie Solaire (2024).MD”): “Solar Power Now”")
    assert (knowledge_dir / "energie-solaire-2024.md").read_text(encoding="utf-8") == SOLAR


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("solar.md", SOLAR + "x" * LIMIT,
     f"the file is too big ({len(SOLAR) + LIMIT:,} bytes); the limit is {LIMIT:,} bytes (`MAX_UPLOAD_BYTES`)"),
    ("scan.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "that is a binary file (it contains NUL bytes)"),
    ("notes.txt", "Caf\xe9 au lait, cr\xe8me br\xfbl\xe9e.".encode("latin-1"),
     "the file is not UTF-8 text (invalid byte at offset 3)"),
    ("broken.md", "---\ntitle: [unclosed\n---\n\nSome text.\n", "the file cannot be used: "),
    ("empty-body.md", "---\ntitle: Nothing here\n---\n", "the file cannot be used: no text after the front matter"),
    ("blank.md", "  \n\n", "the file is empty"),
    ("report.pdf", b"%PDF-1.7", "the file cannot be used: the PDF is damaged or truncated"),
    ("letter.doc", b"\xd0\xcf\x11\xe0", "“letter.doc” is not a document the bot reads"),
    ("twin.md", "---\nid: why-talking-to-putin-wont-work\ntitle: Twin\n---\n\nText.\n",
     "`twin.md` would be the document `why-talking-to-putin-wont-work`, which "
     f"`{ARTICLE}` already is"),
])
async def test_kb_add_refuses_bad_files_and_writes_nothing(world, tmp_path, name, data, reason):
    before = files_under(tmp_path)
    result = await add(world, name, data)
    assert result.ephemeral and result.response.embeds == []
    assert result.response.content.startswith(f"Not added: {reason}"), result.response.content
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("name", ["../x.md", "../../x.md", "/etc/x.md", "a/b.md", ".hidden.md", "..\\x.md",
                                  "a\\b.md", "C:x.md", "x..md", "..."])
async def test_kb_add_never_writes_outside_the_knowledge_directory(world, tmp_path, name):
    assert not Path("/etc/x.md").exists()
    before = files_under(tmp_path)
    result = await add(world, name, SOLAR)
    assert result.response.content.startswith("Not added: "), result.response.content
    assert files_under(tmp_path) == before
    assert not Path("/etc/x.md").exists() and not (tmp_path.parent / "x.md").exists()


async def test_a_file_too_big_or_badly_named_is_refused_before_it_is_downloaded(world, monkeypatch):
    downloads = []
    real_read = discord.Attachment.read

    async def read(self, **options):
        downloads.append(self.filename)
        return await real_read(self, **options)

    monkeypatch.setattr(discord.Attachment, "read", read)
    assert (await add(world, "big.md", "x" * (LIMIT + 1))).response.content.startswith("Not added: the file is too big")
    assert (await add(world, "../x.md", SOLAR)).response.content.startswith("Not added: “../x.md” is a path")
    assert downloads == []
    await add(world, "solar.md", SOLAR)
    assert downloads == ["solar.md"]


async def test_kb_add_writes_atomically_the_loader_never_sees_a_partial_file(world, knowledge_dir, monkeypatch):
    """While the new file is being put in place, a reload sees the old knowledge (the temporary file is
    hidden); if putting it in place fails, nothing is left behind."""
    real_replace = os.replace
    seen = []
    before = sorted(p.name for p in knowledge_dir.iterdir())

    def observed_replace(source, target):
        if Path(target).parent == knowledge_dir:
            seen.append((Path(source).name, [d.id for d in load_knowledge_dir(knowledge_dir).documents]))
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", observed_replace)
    await add(world, "solar.md", SOLAR)
    [(temporary, loaded)] = seen
    assert temporary.startswith(".solar.md.") and loaded == ["why-talking-to-putin-wont-work"]

    def failing_replace(source, target):
        if Path(target).parent == knowledge_dir:
            raise OSError(28, "No space left on device")
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    result = await add(world, "wind.md", SOLAR.replace("Solar", "Wind"))
    assert result.response.content == ("Not added: `wind.md` cannot be written in the knowledge directory "
                                       "(No space left on device).")
    assert sorted(p.name for p in knowledge_dir.iterdir()) == sorted([*before, "solar.md"])


async def test_kb_remove_asks_then_removes_and_reloads(world, knowledge_dir):
    await add(world, "solar.md", SOLAR)
    assert await answers(world, SOLAR_QUESTION)

    asked = await world.admin.slash(world.channel, "kb remove", document="solar")
    assert asked.ephemeral
    assert asked.response.content == ("Remove “Solar Power Now” (`solar.md`, 1 passage) from the knowledge base? "
                                      "Its file is deleted and the bot reloads. The buttons wait 60 seconds.")
    assert list(buttons(asked.response)) == ["Remove", "Cancel"]
    with pytest.raises(SetupError, match="not visible"):  # only the admin who asked sees (and can answer) it
        await world.member.click(asked.response, label="Remove")

    done = await world.admin.click(asked.response, label="Remove")

    [embed] = done.response.embeds
    assert embed.description.startswith("Removed `solar.md`: “Solar Power Now”.\nNow serving 1 document, 23 passages.")
    assert [(f.name, f.value) for f in embed.fields] == [("Documents removed", "`solar`")]
    assert buttons(done.response) == {}
    assert not (knowledge_dir / "solar.md").exists()
    assert not await answers(world, SOLAR_QUESTION)
    await world.env.advance_time(REMOVE_TIMEOUT + 1)  # nothing left to expire
    assert asked.response.embeds[0].description.startswith("Removed `solar.md`")
    assert world.env.errors == []


async def test_kb_remove_can_be_cancelled(world, knowledge_dir):
    await add(world, "solar.md", SOLAR)
    asked = await world.admin.slash(world.channel, "kb remove", document="solar.md")  # the file name works too
    cancelled = await world.admin.click(asked.response, label="Cancel")
    assert cancelled.response.content == "Cancelled: “Solar Power Now” stays in the knowledge base."
    assert buttons(cancelled.response) == {}
    assert (knowledge_dir / "solar.md").read_text(encoding="utf-8") == SOLAR


async def test_kb_remove_expires_cleanly(world, knowledge_dir):
    await add(world, "solar.md", SOLAR)
    asked = await world.admin.slash(world.channel, "kb remove", document="solar")

    await world.env.advance_time(REMOVE_TIMEOUT + 1)

    assert asked.response.content == ("No answer within 60 seconds: nothing was removed. Run `/kb remove` again to "
                                      "remove it.")
    assert buttons(asked.response) == {}
    with pytest.raises(SetupError, match="No matching component"):
        await world.admin.click(asked.response, label="Remove")
    assert (knowledge_dir / "solar.md").exists()
    assert world.env.errors == []


async def test_kb_remove_suggests_documents_and_refuses_what_it_cannot_remove(world, knowledge_dir):
    await add(world, "solar.md", SOLAR)
    choices = await world.admin.autocomplete(world.channel, "kb remove", "document", "sol")
    assert choices == [{"name": "Solar Power Now", "value": "solar"}]

    unknown = await world.admin.slash(world.channel, "kb remove", document="nonexistent")
    assert unknown.response.content == "No document matches “nonexistent”: pick one from the suggestions as you type."

    (knowledge_dir / "solar.md").unlink()
    await world.admin.slash(world.channel, "kb reload")
    last = await world.admin.slash(world.channel, "kb remove", document="why-talking-to-putin-wont-work")
    assert last.response.content.startswith("That is the only document, and the bot needs at least one to answer")
    assert (knowledge_dir / ARTICLE).exists()


@pytest.mark.parametrize("command", ["kb add", "kb remove"])
async def test_members_cannot_add_or_remove(world, knowledge_dir, command):
    with pytest.raises(SetupError, match="default-member-permissions"):  # not even shown to them
        await world.member.slash(world.channel, "kb reload")
    [kb] = [c for c in await world.env.bot.tree.fetch_commands() if c.name == "kb"]
    world.guild.set_command_permissions(kb, {world.member: True})  # as a server admin could
    options = {"file": ("solar.md", SOLAR.encode())} if command == "kb add" else {"document": "solar"}
    before = files_under(knowledge_dir)

    result = await world.member.slash(world.channel, command, **options)

    assert result.ephemeral and result.response.content.startswith("Sorry, only server admins")
    assert files_under(knowledge_dir) == before
    assert await (await flushed(world.env.bot.store)).question_log(EVERYWHERE) == []


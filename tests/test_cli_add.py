"""`python -m bot add` and `refresh`: files and web pages into the knowledge directory, from the terminal."""

from __future__ import annotations

import asyncio

from bot.cli import main
from bot.engine import Engine
from tests.conftest import BUNDLED, write
from tests.pages import article_page

BODY = "<p>Night buses will run every twenty minutes on the river line from June.</p>"


async def add(*args: str) -> int:
    """The command as a user runs it, in its own thread (it runs its own event loop, as from a shell)."""
    return await asyncio.to_thread(main, ["add", *args])


async def test_add_url_saves_the_page_as_markdown_and_the_bot_answers_from_it(knowledge_dir, page_server, capsys):
    # The terminal is the operator's: a page on this machine or its network may be added (Discord may not).
    url = page_server.put("/transport/night-buses", article_page("Night Buses Return", BODY,
                                                                 canonical="https://news.example/night-buses"))
    assert await add(url, "--knowledge", str(knowledge_dir)) == 0
    assert "Added" in capsys.readouterr().out
    saved = (knowledge_dir / "night-buses-return.md").read_text(encoding="utf-8")
    assert saved.startswith("---\ntitle: Night Buses Return\n")
    assert f"fetched_from: {url}\n" in saved and "Sport" not in saved
    top = Engine.from_directory(knowledge_dir).ask("how often will night buses run?").excerpts[0]
    assert top.quote == "Night buses will run every twenty minutes on the river line from June."
    assert top.citation.text == ("Night Buses Return — Ana Lopez, Daily Planet, May 2, 2024, ¶1. "
                                 "https://news.example/night-buses")


async def test_refresh_rewrites_only_pages_that_changed(knowledge_dir, page_server, capsys):
    url = page_server.put("/buses", article_page("Night Buses Return", BODY))
    await add(url, "--knowledge", str(knowledge_dir))
    saved = knowledge_dir / "night-buses-return.md"
    before = saved.read_text(encoding="utf-8")
    assert await asyncio.to_thread(main, ["refresh", "--knowledge", str(knowledge_dir)]) == 0
    assert "0 changed, 1 unchanged, 0 failed" in capsys.readouterr().out
    page_server.put("/buses", article_page("Night Buses Return", BODY.replace("twenty", "fifteen")))
    assert await asyncio.to_thread(main, ["refresh", "--knowledge", str(knowledge_dir)]) == 0
    assert "1 changed" in capsys.readouterr().out
    assert "fifteen minutes" in saved.read_text(encoding="utf-8") != before
    page_server.pages.clear()
    assert await asyncio.to_thread(main, ["refresh", "--knowledge", str(knowledge_dir)]) == 1
    assert "failed: night-buses-return.md: HTTP 404" in capsys.readouterr().out
    assert "fifteen minutes" in saved.read_text(encoding="utf-8")  # the previous copy is kept


async def test_add_refuses_what_is_not_a_document_and_writes_nothing(knowledge_dir, page_server, capsys):
    url = page_server.put("/logo.png", b"\x89PNG\r\n", "image/png")
    assert await add(url, "--knowledge", str(knowledge_dir)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {url}: content type image/png is not a document")
    assert await add("ftp://example.org/notes.md", "--knowledge", str(knowledge_dir)) == 2
    err = capsys.readouterr().err
    assert err == "error: ftp://example.org/notes.md: only http:// and https:// addresses can be fetched\n"
    assert sorted(p.name for p in knowledge_dir.iterdir()) == sorted(p.name for p in BUNDLED.iterdir())


def test_add_file_copies_it_under_a_safe_name_once_the_loader_has_read_it(knowledge_dir, tmp_path, capsys):
    source = write(tmp_path / "incoming", "Harbour Notes (v2).md", "# Harbour Notes\n\nThe quay opens at six.\n")
    assert main(["add", str(source), "--knowledge", str(knowledge_dir)]) == 0
    assert (knowledge_dir / "harbour-notes-v2.md").read_bytes() == source.read_bytes()
    assert "“Harbour Notes”" in capsys.readouterr().out
    broken = write(tmp_path / "incoming", "scan.pdf", b"%PDF-1.5 broken")
    assert main(["add", str(broken), "--knowledge", str(knowledge_dir)]) == 1
    assert capsys.readouterr().err == f"error: {broken}: the PDF is damaged or truncated\n"
    assert not (knowledge_dir / "scan.pdf").exists()

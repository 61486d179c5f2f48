"""Parsed files kept on disk: a restart parses only what changed, and a damaged entry is parsed again."""

from bot.engine import Engine
from bot.knowledge import loader
from bot.knowledge.parse_cache import ParseCache
from tests.conftest import write

GUIDE = """Packaging Guide
===============

Installing
----------

Use pip to install a package::

   pip install requests
"""


def parses(monkeypatch) -> list[str]:
    """Count the files the loader really parses (a fresh process: nothing in memory)."""
    calls: list[str] = []
    real = loader.parse_file

    def counting(path, data, **kwargs):
        calls.append(path.name)
        return real(path, data, **kwargs)

    monkeypatch.setattr(loader, "parse_file", counting)
    monkeypatch.setattr(loader, "_parsed", {})
    return calls


def test_a_restart_reads_parsed_files_from_disk_and_parses_only_what_changed(tmp_path, monkeypatch):
    knowledge, cache = tmp_path / "knowledge", ParseCache(tmp_path / "state" / "parsed")
    write(knowledge, "guide.rst", GUIDE)
    write(knowledge, "notes.md", "# Notes\n\nThe quay opens at six.\n")
    calls = parses(monkeypatch)
    first = Engine.from_directory(knowledge, parse_cache=cache)
    assert sorted(calls) == ["guide.rst", "notes.md"]

    calls = parses(monkeypatch)  # a new process
    write(knowledge, "notes.md", "# Notes\n\nThe quay opens at seven.\n")
    second = Engine.from_directory(knowledge, parse_cache=cache)
    assert calls == ["notes.md"]
    assert second.knowledge.document("guide").passages == first.knowledge.document("guide").passages
    assert second.ask("how do I install a package?").excerpts[0].code.text == "pip install requests"


def test_a_damaged_entry_is_parsed_again(tmp_path, monkeypatch):
    knowledge, cache = tmp_path / "knowledge", ParseCache(tmp_path / "parsed")
    write(knowledge, "guide.rst", GUIDE)
    Engine.from_directory(knowledge, parse_cache=cache)
    for entry in (tmp_path / "parsed").rglob("*.json"):
        entry.write_text("{not json", encoding="utf-8")
    calls = parses(monkeypatch)
    engine = Engine.from_directory(knowledge, parse_cache=cache)
    assert calls == ["guide.rst"]
    assert engine.knowledge.document("guide").title == "Packaging Guide"

"""Shared fixtures: temp knowledge directories built from the bundled article or from scratch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.engine import Engine

BUNDLED = Path(__file__).resolve().parent.parent / "knowledge"
ARTICLE = "why-talking-to-putin-wont-work.md"


@pytest.fixture(autouse=True)
def lexical_by_default(monkeypatch, tmp_path):
    """Tests run lexically and keep no state in the working tree unless they ask otherwise
    (tests/test_semantic.py turns the semantic stage on)."""
    monkeypatch.setenv("SEMANTIC", "off")
    monkeypatch.setenv("EMBEDDING_CACHE", str(tmp_path / "embeddings.sqlite3"))
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    """A writable copy of the bundled knowledge directory."""
    target = tmp_path / "knowledge"
    shutil.copytree(BUNDLED, target)
    return target


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.from_directory(BUNDLED)


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path

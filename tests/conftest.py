"""Shared fixtures: temp knowledge directories built from the bundled article or from scratch."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.engine import Engine
from tests.store.postgres_server import PostgresServer

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


_postgres_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the session (started from the pgserver wheel only if a test needs it),
    on a Unix socket in a temp folder, deleted at the end. tests/store/conftest.py has its own for the store tests."""
    server = PostgresServer()
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
def postgres_tests_database(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database("bot_tests")


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer, postgres_tests_database: str) -> str:
    """A DATABASE_URL for one test: a fresh, empty schema of its own (``search_path=`` in the URL) in the
    session's database, so any number of stores and bots in the test share it and no other test sees it.

    The schemas are not dropped (a bot's store may still be open when this fixture ends): the whole
    server is deleted at the end of the session.
    """
    schema = f"test_{next(_postgres_schemas)}"
    admin = await postgres_server.admin(postgres_tests_database)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await admin.close()
    return f"{postgres_server.dsn(postgres_tests_database)}&search_path={schema}"


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


from tests.pages import page_server  # noqa: E402, F401  (a fixture: pages on 127.0.0.1 for documents added by URL)

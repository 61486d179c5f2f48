"""Two bot processes on one PostgreSQL database, each in a simulated Discord of its own.

Each bot runs in its own thread with its own event loop and SimCord environment (SimCord allows one
per loop); both simulate the same server (the same guild id). Threading events order the steps,
and both bots stay alive until the last check is done.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
import simcord

from bot import create_bot
from bot.settings import Settings
from tests.discord.conftest import SYRIA, arrange_world, embed_text, flushed

SERVER = 1_400_000_000_000_000_777  # the same server, seen by both bots (not a home server)
SOLAR = "---\ntitle: Solar Power Now\n---\n\nSolar panels got cheaper than coal in 2020.\n"
SOLAR_QUESTION = "When did solar panels get cheaper than coal?"
NOT_FOUND = "I couldn't find that in the knowledge base."
STEP = 60.0  # seconds a bot waits for the other one: a guard against a hung test only
POLL = 5


@pytest.fixture
def close_stores():
    """Each bot closes its own store on its own loop (overrides the conftest's, which runs on another loop)."""
    return []


@pytest.fixture
def database_url(postgres_server, postgres_tests_database) -> str:
    schema = "two_bots"

    async def create() -> None:
        admin = await asyncpg.connect(postgres_server.dsn(postgres_tests_database))
        try:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
        finally:
            await admin.close()

    asyncio.run(create())
    return f"{postgres_server.dsn(postgres_tests_database)}&search_path={schema}"


def run_bot(name: str, state_dir: Path, script: Callable[[simcord.Env], Awaitable[None]],
            errors: list) -> threading.Thread:
    async def main() -> None:
        bot = create_bot(Settings.from_env(state_dir=state_dir))
        try:
            async with simcord.run(bot) as env:
                await script(env)
        finally:
            if bot.store is not None:
                await bot.store.close()

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by the test
            errors.append((name, exc))
            failed.set()

    failed = threading.Event()
    thread = threading.Thread(target=target, name=f"bot-{name}", daemon=True)
    thread.failed = failed  # type: ignore[attr-defined]
    return thread


async def wait_for(env: simcord.Env, event: threading.Event, what: str) -> None:
    """Wait (in the test's code, not the bot's) for a step of the other bot; this bot's loop keeps running."""
    if not await asyncio.to_thread(event.wait, STEP):
        raise TimeoutError(f"the other bot never got to: {what}")


def test_two_bots_share_one_postgresql_database(bot_env, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("HASH_SALT", "shared-by-both-processes")
    monkeypatch.setenv("COOLDOWN_SECONDS", "0")
    monkeypatch.setenv("COLLECTION_POLL_SECONDS", str(POLL))
    b_ready, a_done, b_done = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, str] = {}
    errors: list = []

    async def bot_a(env: simcord.Env) -> None:
        world = arrange_world(env, "Shared", "ada", "bob", id=SERVER)
        await wait_for(env, b_ready, "B is in the server")
        answer = await world.member.slash(world.channel, "ask", question=SYRIA)
        assert not answer.response.embeds[0].description.startswith(NOT_FOUND)
        added = await world.admin.slash(world.channel, "kb add", file=("solar.md", SOLAR.encode()))
        assert "in this server's collection" in added.response.embeds[0].description
        await flushed(env.bot.store)
        a_done.set()
        await wait_for(env, b_done, "B checked")  # A stays alive until B is done

    async def bot_b(env: simcord.Env) -> None:
        world = arrange_world(env, "Shared", "ada", "bob", id=SERVER)
        await env.settle()
        b_ready.set()
        await wait_for(env, a_done, "A answered and added a document")
        stats = await world.admin.slash(world.channel, "kb stats")
        seen["stats"] = embed_text(stats.response.embeds[0])
        before = await world.member.slash(world.channel, "ask", question=SOLAR_QUESTION)
        seen["before poll"] = before.response.embeds[0].description
        await env.advance_time(POLL + 1)
        after = await world.member.slash(world.channel, "ask", question=SOLAR_QUESTION)
        seen["after poll"] = after.response.embeds[0].description.replace("**", "")
        b_done.set()

    threads = [run_bot("A", tmp_path / "state-a", bot_a, errors), run_bot("B", tmp_path / "state-b", bot_b, errors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(STEP * 3)
    if errors:
        raise ExceptionGroup("a bot failed", [exc for _, exc in errors if isinstance(exc, Exception)] or
                             [RuntimeError(repr(errors))])
    assert not any(thread.is_alive() for thread in threads)

    # A question answered by A appears in /kb stats asked through B.
    assert "**1** question asked, **1** answered" in seen["stats"]
    # A document added through A is quoted by B once B has polled (a few seconds).
    assert seen["before poll"].startswith(NOT_FOUND)
    assert seen["after poll"].startswith("[1] “Solar panels got cheaper than coal in 2020.”")

"""Server collections in the store (both backends): documents that belong to one server, their limits,
the version other processes poll, and forgetting a server altogether."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from bot.engine import ReloadReport
from bot.store import EVERYWHERE, UP, CollectionFull, ForgottenGuild, GuildSettings, StoredDocument
from tests.store.conftest import ask, flushed

GUILD, OTHER = 11, 22
ADMIN = 424242424242424242
NOTES = "---\ntitle: Club notes\n---\n# Club notes\n\nThe club meets on Tuesdays at the café.\n"


async def test_a_document_is_stored_whole_and_read_back(open_store, clock):
    store = await open_store()
    stored = await store.put_document(GUILD, "club-notes", "club-notes.md", NOTES, ADMIN)
    data = NOTES.encode("utf-8")
    assert stored == StoredDocument(GUILD, "club-notes", "club-notes.md", NOTES, hashlib.sha256(data).hexdigest(),
                                    len(data), clock.now, store.hash_user(ADMIN))
    assert stored.size_bytes == len(NOTES) + 1  # "é" is two bytes in UTF-8
    assert await store.documents(GUILD) == [stored]  # written at once: no flush needed
    assert await store.collection_usage(GUILD) == (1, len(data))


async def test_documents_survive_reopening_the_store(open_store):
    store = await open_store()
    await store.put_document(GUILD, "b", "b.md", "# B", ADMIN)
    await store.put_document(GUILD, "a", "a.txt", "A", None)  # not added by a Discord user (the terminal)
    await store.close()
    reopened = await open_store()
    assert [(d.document_id, d.filename, d.text, d.added_by) for d in await reopened.documents(GUILD)] == [
        ("a", "a.txt", "A", None), ("b", "b.md", "# B", reopened.hash_user(ADMIN))]


async def test_putting_a_document_again_replaces_it(open_store, clock):
    store = await open_store()
    await store.put_document(GUILD, "notes", "notes.md", "first version", ADMIN)
    clock.now = clock.now.replace(hour=13)
    await store.put_document(GUILD, "notes", "notes-v2.md", "second, longer version", 7)
    [document] = await store.documents(GUILD)
    assert (document.filename, document.text, document.added_at, document.added_by) == (
        "notes-v2.md", "second, longer version", clock.now, store.hash_user(7))
    assert await store.collection_usage(GUILD) == (1, len("second, longer version"))


async def test_deleting_a_document(open_store):
    store = await open_store()
    await store.put_document(GUILD, "keep", "keep.md", "keep", ADMIN)
    await store.put_document(GUILD, "drop", "drop.md", "drop", ADMIN)
    assert await store.delete_document(GUILD, "drop") is True
    assert await store.delete_document(GUILD, "drop") is False
    assert await store.delete_document(OTHER, "keep") is False  # another server cannot remove it
    assert [d.document_id for d in await store.documents(GUILD)] == ["keep"]
    assert await store.collection_usage(GUILD) == (1, 4)


async def test_collections_belong_to_their_server(open_store):
    store = await open_store()
    await store.put_document(GUILD, "notes", "notes.md", "ours", ADMIN)
    await store.put_document(OTHER, "notes", "notes.md", "theirs, same id", ADMIN)
    await store.put_document(OTHER, "extra", "extra.md", "more", ADMIN)
    assert [d.text for d in await store.documents(GUILD)] == ["ours"]
    assert [d.text for d in await store.documents(OTHER)] == ["more", "theirs, same id"]
    assert await store.collection_usage(GUILD) == (1, 4)
    assert await store.collection_usage(OTHER) == (2, 19)
    assert await store.documents(33) == [] and await store.collection_usage(33) == (0, 0)


async def test_the_version_changes_with_every_change_and_only_for_that_server(open_store):
    store = await open_store()
    assert await store.collections_version(GUILD) == 0  # no collection yet
    seen = [0]
    await store.put_document(GUILD, "a", "a.md", "A", ADMIN)
    seen.append(await store.collections_version(GUILD))
    other_before = await store.collections_version(OTHER)
    await store.put_document(GUILD, "a", "a.md", "A again", ADMIN)
    seen.append(await store.collections_version(GUILD))
    await store.delete_document(GUILD, "a")
    seen.append(await store.collections_version(GUILD))
    assert len(set(seen)) == 4, seen
    assert await store.collections_version(OTHER) == other_before == 0

    assert await store.delete_document(GUILD, "a") is False
    assert await store.collections_version(GUILD) == seen[-1]  # nothing changed, nothing to reload
    await store.put_document(OTHER, "b", "b.md", "B", ADMIN)
    assert await store.collections_versions([GUILD, OTHER, 33]) == {
        GUILD: seen[-1], OTHER: await store.collections_version(OTHER), 33: 0}
    assert await store.collections_versions([]) == {}


async def test_limits_are_checked_when_the_document_is_put(open_store):
    store = await open_store()
    await store.put_document(GUILD, "a", "a.md", "x" * 40, ADMIN, max_documents=2, max_bytes=100)
    await store.put_document(GUILD, "b", "b.md", "x" * 40, ADMIN, max_documents=2, max_bytes=100)
    version = await store.collections_version(GUILD)

    with pytest.raises(CollectionFull) as full:
        await store.put_document(GUILD, "c", "c.md", "x", ADMIN, max_documents=2, max_bytes=100)
    assert (full.value.limit, full.value.allowed, full.value.needed) == ("documents", 2, 3)
    assert str(full.value) == "this server's collection would hold 3 document(s); the limit is 2"
    with pytest.raises(CollectionFull, match="would hold 120 bytes; the limit is 100"):
        await store.put_document(GUILD, "b", "b.md", "x" * 80, ADMIN, max_documents=2, max_bytes=100)
    assert await store.collection_usage(GUILD) == (2, 80)
    assert await store.collections_version(GUILD) == version  # a refused put changes nothing

    # replacing a document counts its new size, not both; other servers have limits of their own
    await store.put_document(GUILD, "b", "b.md", "x" * 60, ADMIN, max_documents=2, max_bytes=100)
    await store.put_document(OTHER, "c", "c.md", "x" * 100, ADMIN, max_documents=2, max_bytes=100)
    assert await store.collection_usage(GUILD) == (2, 100)


async def test_two_puts_at_once_cannot_both_slip_past_a_limit(open_store):
    first, second = await open_store(), await open_store()
    results = await asyncio.gather(
        first.put_document(GUILD, "one", "one.md", "1", ADMIN, max_documents=1),
        second.put_document(GUILD, "two", "two.md", "2", ADMIN, max_documents=1), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["CollectionFull", "StoredDocument"]
    assert (await first.collection_usage(GUILD))[0] == 1


async def test_what_no_database_should_keep_is_refused(open_store):
    store = await open_store()
    with pytest.raises(ValueError, match="NUL"):
        await store.put_document(GUILD, "bin", "bin.md", "a\x00b", ADMIN)
    with pytest.raises(ValueError, match="an id and a file name"):
        await store.put_document(GUILD, "", "x.md", "text", ADMIN)
    assert await store.documents(GUILD) == []


async def test_forgetting_a_server_deletes_its_collection_and_every_record(open_store, db):
    store = await open_store()
    for guild in (GUILD, OTHER):
        asked = ask(store, f"asked in {guild}", guild_id=guild)
        ask(store, f"also asked in {guild}", guild_id=guild, passage_ids=())
        store.record_feedback(asked, 1, UP)
        store.record_feedback(asked, 2, UP)
        store.set_guild_settings(GuildSettings(guild, public_answers=False))
        store.record_reload(ReloadReport(documents=1, passages=1), by_name="Ada", guild_id=guild)
        await store.put_document(guild, "notes", "notes.md", f"notes of {guild}", ADMIN)
    ask(store, "in a direct message", guild_id=None)
    store.record_reload(ReloadReport(documents=5, passages=50), by_name="Operator")  # the shared base
    await flushed(store)
    version = await store.collections_version(GUILD)

    assert await store.forget_guild(GUILD) == ForgottenGuild(GUILD, documents=1, questions=2, votes=2, reloads=1,
                                                             settings=1)
    assert await store.documents(GUILD) == [] and await store.collections_version(GUILD) == 0
    assert (await store.stats(GUILD, days=1)).questions == 0
    assert await store.question_log(GUILD) == []
    assert await store.latest_reload(GUILD) is None
    assert await store.get_guild_settings(GUILD) == GuildSettings(GUILD)
    text = await db.dump()
    assert f"asked in {GUILD}" not in text and f"notes of {GUILD}" not in text

    # the other server, direct messages and the shared base keep everything
    assert (await store.stats(OTHER, days=1)).questions == 2 and (await store.stats(OTHER, days=1)).votes_up == 2
    assert (await store.stats(None, days=1)).questions == 1
    assert (await store.stats(EVERYWHERE, days=1)).questions == 3
    assert not (await store.get_guild_settings(OTHER)).public_answers
    assert (await store.latest_reload()).by_name == "Operator"
    assert [d.text for d in await store.documents(OTHER)] == [f"notes of {OTHER}"]
    assert await db.count("question_passages") == 2 + 2  # the other server's answer and the direct message's

    # a collection built again never repeats a version another process may still hold
    await store.put_document(GUILD, "notes", "notes.md", "new notes", ADMIN)
    assert await store.collections_version(GUILD) not in (0, version)


async def test_forgetting_a_server_drops_its_writes_still_queued(open_store, db):
    store = await open_store()
    ask(store, "queued in the forgotten server", guild_id=GUILD)
    store.set_guild_settings(GuildSettings(GUILD, cooldown_seconds=1.0))
    ask(store, "queued in another", guild_id=OTHER)
    await store.forget_guild(GUILD)
    await flushed(store)
    assert await db.questions() == ["queued in another"]
    assert await db.count("guild_settings") == 0
    assert await store.forget_guild(GUILD) == ForgottenGuild(GUILD, 0, 0, 0, 0, 0)


async def test_a_read_only_store_does_not_write_collections(open_store, db):
    await (await open_store()).close()
    reader = await open_store(read_only=True, hasher=None)
    assert await reader.documents(GUILD) == []
    with pytest.raises(RuntimeError, match="read-only"):
        await reader.put_document(GUILD, "a", "a.md", "A", None)
    with pytest.raises(RuntimeError, match="read-only"):
        await reader.forget_guild(GUILD)

"""What ``/kb add``, ``remove``, ``refresh`` and ``status`` act on here: the shared knowledge base (in a home
server, for operators) or this server's own collection (anywhere else, for its admins).

Both are a ``KnowledgeTarget``: each knows how to add a document, find and remove one, fetch its
documents added by URL again, and describe itself, so the commands never ask which one they have.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import discord

from bot.discord_app.interactions import reply, respond_in_time
from bot.discord_app.store_reads import bounded_read
from bot.discord_app.uploads import UploadError, check_upload, find_document, inside
from bot.knowledge.models import Document
from bot.knowledge.sources import RefreshReport, refresh_directory, refresh_texts, write_atomically
from bot.library import collection_path
from bot.reloads import ReloadRecord, ReloadReport
from bot.render.admin_embeds import collection_status_embed, file_change_embed, memory_line, status_embed
from bot.render.discord_text import fit
from bot.store import CollectionFull, StoreError

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """What /kb add was given, as a file name and bytes: an attachment, or a fetched page (``url``)."""

    name: str
    data: bytes
    url: str | None = None

    def sent_as(self, saved_as: str) -> str:
        """How the reply names where the file came from, when that is not plain from its name."""
        if self.url:
            return f" (fetched from <{fit(self.url, 300)}>)"
        return f" (sent as “{fit(self.name, 100)}”)" if self.name != saved_as else ""


class KnowledgeTarget(Protocol):
    """The shared base or a server's collection, as the ``/kb`` file commands see it."""

    shared: bool

    def documents(self) -> tuple[Document, ...]: ...

    async def describe(self, interaction: discord.Interaction) -> None:
        """``/kb status``: what it holds, and its last change."""

    async def add(self, interaction: discord.Interaction, received: Received) -> None:
        """Check, keep and serve the document; the reply says what changed (the interaction is deferred)."""

    def removal(self, wanted: str) -> tuple[Document | None, str]:
        """The document ``wanted`` names and the question that confirms its removal, or None and why not."""

    async def remove(self, interaction: discord.Interaction, document: Document) -> None:
        """Remove the confirmed document (the admin clicked Remove) and edit the prompt into the outcome."""

    async def refetch(self, interaction: discord.Interaction) -> tuple[RefreshReport, Path] | None:
        """Fetch the documents added by URL again and keep those that changed; None once a refusal is sent."""

    async def refreshed(self, interaction: discord.Interaction, summary: str, where: Path) -> discord.Embed:
        """After ``refetch``: serve what changed and report it."""


def passages(document: Document) -> str:
    return f"{len(document.body)} passage{'' if len(document.body) == 1 else 's'}"


class SharedBase:
    """The knowledge directory every server is answered from; changing it reloads the bot."""

    shared = True

    def __init__(self, bot: KnowledgeBot):
        self.bot = bot

    @property
    def directory(self) -> Path:
        return self.bot.engine.knowledge.directory

    def documents(self) -> tuple[Document, ...]:
        return self.bot.engine.knowledge.documents

    def relative(self, document: Document) -> str:
        try:
            return str(document.path.resolve().relative_to(self.directory.resolve()))
        except ValueError:
            return str(document.path)

    async def describe(self, interaction: discord.Interaction) -> None:
        last = await respond_in_time(interaction, self.bot.latest_reload(), ephemeral=True)
        engine = self.bot.engine
        state = engine.state
        embed = status_embed(state.knowledge, state.loaded_at, engine.mode, last)
        if self.bot.store is not None:
            embed.add_field(name="Memory", value=memory_line(self.bot.store.health()), inline=False)
        await reply(interaction, ephemeral=True, embed=embed)

    async def add(self, interaction: discord.Interaction, received: Received) -> None:
        directory = self.directory
        try:
            checked = await asyncio.to_thread(check_upload, directory, received.name, received.data,
                                              limit=self.bot.settings.max_upload_bytes, documents=self.documents())
        except UploadError as exc:
            await reply(interaction, ephemeral=True, content=f"Not added: {exc}.")
            return
        try:
            await asyncio.to_thread(write_atomically, checked.path, checked.data)
        except OSError as exc:
            log.warning("/kb add could not write %s: %s", checked.path, exc)
            await reply(interaction, ephemeral=True, content=(
                f"Not added: `{checked.name}` cannot be written in the knowledge directory ({exc.strerror or exc})."))
            return
        report, waited = await self.bot.reload_knowledge(interaction.user.display_name, interaction.user.id)
        document = checked.document
        verb = "Replaced the existing" if checked.replaces else "Added"
        summary = (f"{verb} `{checked.name}`{received.sent_as(checked.name)}: “{fit(document.title, 200)}”, "
                   f"document `{document.id}`.")
        await reply(interaction, ephemeral=True, embed=file_change_embed(summary, report, directory, waited))

    def removal(self, wanted: str) -> tuple[Document | None, str]:
        documents = self.documents()
        found = find_document(documents, wanted)
        if found is None:
            return None, f"No document matches “{fit(wanted, 200)}”: pick one from the suggestions as you type."
        if len(documents) == 1:
            return None, ("That is the only document, and the bot needs at least one to answer: add another "
                          "with `/kb add` first.")
        if not inside(self.directory, found.path):
            return None, "That document's file is outside the knowledge directory: remove it by hand."
        return found, (f"Remove “{fit(found.title, 200)}” (`{self.relative(found)}`, {passages(found)}) from the "
                       "knowledge base? Its file is deleted and the bot reloads.")

    async def remove(self, interaction: discord.Interaction, document: Document) -> None:
        directory = self.directory
        name = self.relative(document)
        await interaction.response.edit_message(content=f"Removing `{name}`…", view=None)
        try:
            if not inside(directory, document.path):
                raise OSError(f"{document.path} is outside the knowledge directory")
            await asyncio.to_thread(document.path.unlink)
            summary = f"Removed `{name}`: “{fit(document.title, 200)}”."
        except FileNotFoundError:
            summary = f"`{name}` was already gone."
        except OSError as exc:
            log.warning("/kb remove could not delete %s: %s", document.path, exc)
            await interaction.edit_original_response(content=f"Not removed: `{name}` cannot be deleted "
                                                             f"({exc.strerror or exc}).")
            return
        report, waited = await self.bot.reload_knowledge(interaction.user.display_name, interaction.user.id)
        await interaction.edit_original_response(content=None,
                                                 embed=file_change_embed(summary, report, directory, waited))

    async def refetch(self, interaction: discord.Interaction) -> tuple[RefreshReport, Path] | None:
        return await refresh_directory(self.directory, **fetch_limits(self.bot)), self.directory

    async def refreshed(self, interaction: discord.Interaction, summary: str, where: Path) -> discord.Embed:
        report, waited = await self.bot.reload_knowledge(interaction.user.display_name, interaction.user.id)
        return file_change_embed(summary, report, where, waited)


class ServerCollection:
    """A server's own documents, kept in the store and answered together with the shared base there."""

    shared = False

    def __init__(self, bot: KnowledgeBot, guild_id: int):
        self.bot, self.guild_id = bot, guild_id
        self.where = collection_path(guild_id, "x").parent

    def documents(self) -> tuple[Document, ...]:
        library = self.bot.library
        return library.collection(self.guild_id) if library is not None else ()

    def limits_note(self) -> str:
        settings = self.bot.settings
        return (f"Each server's collection holds at most {settings.max_server_documents} documents and "
                f"{settings.max_server_bytes:,} bytes (`MAX_SERVER_DOCUMENTS`, `MAX_SERVER_BYTES`, set by the bot's "
                "operators)")

    async def describe(self, interaction: discord.Interaction) -> None:
        library, store, guild = self.bot.library, self.bot.store, interaction.guild
        usage: tuple[int, int] | None = None
        last: ReloadRecord | None = None
        if store is not None:
            async def read() -> tuple[tuple[int, int] | None, ReloadRecord | None]:
                try:
                    used = await bounded_read(store.collection_usage(self.guild_id))
                    entry = await bounded_read(store.latest_reload(self.guild_id))
                except (StoreError, TimeoutError) as exc:
                    log.info("Collection of server %s: usage unavailable: %s", self.guild_id, exc)
                    return None, None
                return used, entry
            usage, last = await respond_in_time(interaction, read(), ephemeral=True)
        problems = library.problems(self.guild_id) if library is not None else ()
        settings = self.bot.settings
        embed = collection_status_embed(guild.name if guild else str(self.guild_id), self.documents(), problems,
                                        usage, (settings.max_server_documents, settings.max_server_bytes), last,
                                        self.bot.engine.knowledge)
        if store is not None:
            embed.add_field(name="Memory", value=memory_line(store.health()), inline=False)
        await reply(interaction, ephemeral=True, embed=embed)

    async def add(self, interaction: discord.Interaction, received: Received) -> None:
        store, library = self.bot.store, self.bot.library
        if store is None or library is None:
            await reply(interaction, ephemeral=True, content="Not added: this bot keeps no store, so servers cannot "
                        "have collections of their own.")
            return
        guild_id = self.guild_id
        try:
            checked = await asyncio.to_thread(check_upload, self.where, received.name, received.data,
                                              limit=self.bot.settings.max_upload_bytes,
                                              documents=self.bot.engine_for(guild_id).knowledge.documents,
                                              as_text=True)
        except UploadError as exc:
            await reply(interaction, ephemeral=True, content=f"Not added: {exc}.")
            return
        text = checked.data.decode("utf-8").removeprefix("\ufeff")
        document = checked.document
        before = self.documents()
        replaces = any(d.id == document.id or d.path.name == checked.name for d in before)
        settings = self.bot.settings
        try:
            await store.put_document(guild_id, document.id, checked.name, text, interaction.user.id,
                                     max_documents=settings.max_server_documents, max_bytes=settings.max_server_bytes)
            for old in before:  # the same file sent again with another id replaces it
                if old.path.name == checked.name and old.id != document.id:
                    await store.delete_document(guild_id, old.id)
        except CollectionFull as exc:
            await reply(interaction, ephemeral=True, content=(
                f"Not added, this server's collection is full: {exc}. {self.limits_note()}. Remove a document with "
                "`/kb remove` to make room."))
            return
        except StoreError as exc:
            await reply(interaction, ephemeral=True, content=(
                f"Not added: this server's collection cannot be saved right now ({fit(exc.reason, 300)}). "
                "Try again later."))
            return
        report = await self.changed(interaction)
        verb = "Replaced" if replaces else "Added"
        summary = (f"{verb} `{checked.name}`{received.sent_as(checked.name)} in this server's collection: "
                   f"“{fit(document.title, 200)}”, document `{document.id}`. Questions asked in this server now "
                   "quote it.")
        await reply(interaction, ephemeral=True, embed=file_change_embed(summary, report, self.where))

    async def changed(self, interaction: discord.Interaction) -> ReloadReport:
        """Rebuild this server's engine from the store at once, and note the change in the reload history."""
        report = await self.bot.collections.load(self.guild_id, force=True)
        if report is None:  # the store could not be read back: the next poll picks the change up
            kb = self.bot.engine_for(self.guild_id).knowledge
            report = ReloadReport((), (), (), 0, 0, 0, (), len(kb.documents), len(kb.passages))
        elif self.bot.store is not None:
            try:
                self.bot.store.record_reload(report, by_name=interaction.user.display_name,
                                             by_user_id=interaction.user.id, guild_id=self.guild_id)
            except Exception:
                log.exception("Could not record the collection change in the history")
        return report

    def removal(self, wanted: str) -> tuple[Document | None, str]:
        collection = self.documents()
        found = find_document(collection, wanted)
        if found is None:
            extra = "" if collection else " This server's collection is empty; the shared knowledge base is " \
                "managed by the bot's operators."
            return None, (f"No document of this server's collection matches “{fit(wanted, 200)}”: pick one from "
                          f"the suggestions as you type.{extra}")
        return found, (f"Remove “{fit(found.title, 200)}” (`{found.path.name}`, {passages(found)}) from this "
                       "server's collection?")

    async def remove(self, interaction: discord.Interaction, document: Document) -> None:
        name = document.path.name
        await interaction.response.edit_message(content=f"Removing `{name}`…", view=None)
        store = self.bot.store
        try:
            removed = await store.delete_document(self.guild_id, document.id) if store is not None else False
        except StoreError as exc:
            await interaction.edit_original_response(content=(
                f"Not removed: this server's collection cannot be changed right now ({fit(exc.reason, 300)})."))
            return
        report = await self.changed(interaction)
        summary = f"Removed `{name}` from this server's collection: “{fit(document.title, 200)}”." if removed \
            else f"`{name}` was already gone."
        await interaction.edit_original_response(content=None, embed=file_change_embed(summary, report, self.where))

    async def refetch(self, interaction: discord.Interaction) -> tuple[RefreshReport, Path] | None:
        settings = self.bot.settings
        files = self.bot.library.files(self.guild_id) if self.bot.library is not None else ()
        refreshed, changed = await refresh_texts({f.filename: f.text for f in files}, **fetch_limits(self.bot))
        try:
            for name, data in changed.items():
                document = next(d for d in self.documents() if d.path.name == name)
                await self.bot.store.put_document(
                    self.guild_id, document.id, name, data.decode("utf-8"), interaction.user.id,
                    max_documents=settings.max_server_documents, max_bytes=settings.max_server_bytes)
        except (StoreError, CollectionFull) as exc:
            await reply(interaction, ephemeral=True, content=(
                f"Not refreshed: this server's collection cannot be saved right now ({fit(str(exc), 300)})."))
            return None
        return refreshed, self.where

    async def refreshed(self, interaction: discord.Interaction, summary: str, where: Path) -> discord.Embed:
        return file_change_embed(summary, await self.changed(interaction), where)


def fetch_limits(bot: KnowledgeBot) -> dict[str, object]:
    settings = bot.settings
    return {"max_bytes": settings.max_upload_bytes, "allow_private": settings.fetch_private_addresses,
            "timeout": settings.fetch_timeout}


async def refuse(bot: KnowledgeBot, interaction: discord.Interaction) -> None:
    roles = " or one of the bot's admin roles" if bot.settings.admin_role_ids else ""
    await reply(interaction, ephemeral=True, content=(
        f"Sorry, only server admins can manage the knowledge base: it needs the Manage Server permission{roles}."))


async def refuse_shared(bot: KnowledgeBot, interaction: discord.Interaction) -> None:
    """The shared knowledge base is the operators': say who they are, and what this server can do."""
    home = bot.access.in_home_server(interaction.guild_id)
    if home and not bot.access.is_admin(interaction):
        await refuse(bot, interaction)  # a home server's members: its admins are operators
        return
    here = "" if home else (
        " In this server, `/kb add`, `/kb remove` and `/kb status` manage this server's own collection, "
        "which answers here quote together with the shared base.")
    await reply(interaction, ephemeral=True, content=(
        "Sorry, the shared knowledge base is managed by the bot's operators: the owner (or team) of the bot's "
        "Discord application, the users listed in `OWNER_IDS`, and members with the Manage Server permission "
        "in the bot's home servers (`HOME_GUILD_IDS`); a private bot lists its server in `HOME_GUILD_IDS`." + here))


def target_here(bot: KnowledgeBot, guild_id: int | None) -> KnowledgeTarget | None:
    """The shared base in a home server, this server's collection elsewhere; None outside any server."""
    if bot.access.in_home_server(guild_id):
        return SharedBase(bot)
    return ServerCollection(bot, guild_id) if guild_id is not None else None


async def target_for(bot: KnowledgeBot, interaction: discord.Interaction) -> KnowledgeTarget | None:
    """What /kb add, remove and refresh act on here, if this user may change it; None once a refusal is sent:
    the shared base for operators in a home server, this server's collection for its admins elsewhere."""
    target = target_here(bot, interaction.guild_id)
    if target is None or not target.shared:
        if target is None or not bot.access.is_admin(interaction):
            await refuse(bot, interaction)
            return None
        return target
    if not await bot.access.is_operator(interaction):
        await refuse_shared(bot, interaction)
        return None
    return target

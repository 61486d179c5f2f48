"""Knowledge administration for server admins: ``/kb reload``, ``status``, ``settings``, ``stats``,
``add`` and ``remove``.

Whose knowledge: the shared knowledge base (the knowledge directory) belongs to the bot's operators
(``KnowledgeBot.is_operator``), who reload it anywhere and edit it with ``/kb add`` / ``/kb remove``
in a home server (HOME_GUILD_IDS). In any other server, ``/kb add``, ``remove`` and ``status`` act on
that server's own collection, kept in the store.

Only members with Manage Server see the group (its default permissions); because a server can
grant the commands to anyone in its Integrations settings, every callback checks again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.autocomplete import document_choices
from bot.discord_app.bot import REQUIRED_PERMISSIONS
from bot.discord_app.uploads import (
    UploadError,
    check_size,
    check_upload,
    find_document,
    inside,
    safe_file_name,
)
from bot.engine import ReloadReport
from bot.knowledge.models import Document, KnowledgeError
from bot.knowledge.sources import fetch_document, refresh_directory, refresh_texts, write_atomically
from bot.library import collection_path
from bot.render.embeds import (
    ReloadRecord,
    collection_status_embed,
    file_change_embed,
    fit,
    memory_line,
    reload_embed,
    settings_embed,
    stats_embed,
    status_embed,
)
from bot.store import CollectionFull, GuildSettings, Stats, Store, StoreError

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot

log = logging.getLogger(__name__)

REMOVE_TIMEOUT = 60.0  # seconds the Remove / Cancel buttons wait for the admin


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


def _relative(document: Document, directory: Path) -> str:
    try:
        return str(document.path.resolve().relative_to(directory.resolve()))
    except ValueError:
        return str(document.path)


class ConfirmRemoval(discord.ui.View):
    """Remove / Cancel under ``/kb remove``: only the admin who asked can answer; it expires cleanly."""

    def __init__(self, cog: KnowledgeAdmin, asked: discord.Interaction, document: Document):
        super().__init__(timeout=REMOVE_TIMEOUT)
        self.cog, self.asked, self.document = cog, asked, document
        self.answered = False

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.asked.user.id and not self.answered:
            return True
        try:
            await interaction.response.send_message(
                "This removal was already answered." if self.answered else
                "Only the admin who asked for this removal can confirm or cancel it.", ephemeral=True)
        except discord.HTTPException:
            log.warning("Could not answer a click on someone else's removal", exc_info=True)
        return False

    @discord.ui.button(label="Remove", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.answered = True
        self.stop()
        async with self.cog.bot.guard(interaction, "/kb remove"):
            await self.cog.remove_confirmed(interaction, self.document)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.answered = True
        self.stop()
        async with self.cog.bot.guard(interaction, "/kb remove"):
            await interaction.response.edit_message(
                content=f"Cancelled: “{fit(self.document.title, 200)}” stays in the knowledge base.", view=None)

    async def on_timeout(self) -> None:
        self.answered = True
        try:
            await self.asked.edit_original_response(
                content=f"No answer within {REMOVE_TIMEOUT:g} seconds: nothing was removed. Run `/kb remove` again "
                        "to remove it.", view=None)
        except discord.HTTPException:
            log.warning("Could not mark the removal of %s as expired", self.document.id, exc_info=True)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class KnowledgeAdmin(commands.GroupCog, group_name="kb", group_description="Knowledge base administration"):
    """Manage the knowledge directory and this server's settings while the bot keeps answering."""

    def __init__(self, bot: KnowledgeBot):
        self.bot = bot
        super().__init__()

    async def refuse(self, interaction: discord.Interaction) -> None:
        roles = " or one of the bot's admin roles" if self.bot.settings.admin_role_ids else ""
        await self.bot.reply(interaction, ephemeral=True, content=(
            f"Sorry, only server admins can manage the knowledge base: it needs the Manage Server permission{roles}."))

    async def refuse_shared(self, interaction: discord.Interaction) -> None:
        """The shared knowledge base is the operators': say who they are, and what this server can do."""
        if self.bot.in_home_server(interaction.guild_id) and not self.bot.is_admin(interaction):
            await self.refuse(interaction)  # a home server's members: its admins are operators
            return
        here = "" if self.bot.in_home_server(interaction.guild_id) else (
            " In this server, `/kb add`, `/kb remove` and `/kb status` manage this server's own collection, "
            "which answers here quote together with the shared base.")
        await self.bot.reply(interaction, ephemeral=True, content=(
            "Sorry, the shared knowledge base is managed by the bot's operators: the owner (or team) of the bot's "
            "Discord application, the users listed in `OWNER_IDS`, and members with the Manage Server permission "
            "in the bot's home servers (`HOME_GUILD_IDS`); a private bot lists its server in `HOME_GUILD_IDS`."
            + here))

    @property
    def directory(self) -> Path:
        return self.bot.engine.knowledge.directory

    def shared_here(self, interaction: discord.Interaction) -> bool:
        """Whether ``/kb add``/``remove``/``status`` here act on the shared base (a home server) or the server's own."""
        return self.bot.in_home_server(interaction.guild_id)

    # ------------------------------------------------------------------ reload and status

    @app_commands.command(name="reload", description="Re-read the knowledge directory and report what changed")
    async def reload(self, interaction: discord.Interaction) -> None:
        async with self.bot.guard(interaction, "/kb reload"):
            if not await self.bot.is_operator(interaction):
                await self.refuse_shared(interaction)
                return
            await interaction.response.defer(thinking=True, ephemeral=True)
            report, waited = await self.bot.reload_knowledge(interaction.user.display_name, interaction.user.id)
            await self.bot.reply(interaction, ephemeral=True, embed=reload_embed(report, self.directory, waited))

    @app_commands.command(name="status", description="The knowledge base being served and the last reload")
    async def status(self, interaction: discord.Interaction) -> None:
        async with self.bot.guard(interaction, "/kb status"):
            if not self.bot.is_admin(interaction):
                await self.refuse(interaction)
                return
            if not self.shared_here(interaction) and interaction.guild is not None:
                await self.collection_status(interaction, interaction.guild)
                return
            last = await self.bot.respond_in_time(interaction, self.bot.latest_reload(), ephemeral=True)
            engine = self.bot.engine
            state = engine.state
            embed = status_embed(state.knowledge, state.loaded_at, engine.mode, last)
            if self.bot.store is not None:
                embed.add_field(name="Memory", value=memory_line(self.bot.store.health()), inline=False)
            await self.bot.reply(interaction, ephemeral=True, embed=embed)

    async def collection_status(self, interaction: discord.Interaction, guild: discord.Guild) -> None:
        library, store = self.bot.library, self.bot.store
        usage: tuple[int, int] | None = None
        last: ReloadRecord | None = None
        if store is not None:
            async def read() -> tuple[tuple[int, int] | None, ReloadRecord | None]:
                try:
                    used = await self.bot._bounded(store.collection_usage(guild.id))
                    entry = await self.bot._bounded(store.latest_reload(guild.id))
                except (StoreError, TimeoutError) as exc:
                    log.info("Collection of server %s: usage unavailable: %s", guild.id, exc)
                    return None, None
                return used, ReloadRecord(entry.at, entry.by_name, entry.report) if entry else None
            usage, last = await self.bot.respond_in_time(interaction, read(), ephemeral=True)
        documents = library.collection(guild.id) if library is not None else ()
        problems = library.problems(guild.id) if library is not None else ()
        settings = self.bot.settings
        embed = collection_status_embed(guild.name, documents, problems, usage,
                                        (settings.max_server_documents, settings.max_server_bytes), last,
                                        self.bot.engine.knowledge)
        if store is not None:
            embed.add_field(name="Memory", value=memory_line(store.health()), inline=False)
        await self.bot.reply(interaction, ephemeral=True, embed=embed)

    # ------------------------------------------------------------------ this server's settings

    @app_commands.command(name="settings",
                          description="This server's answer channels, public or private answers, and cooldown")
    @app_commands.describe(add_channel="Answer question-like messages in this channel without a mention",
                           remove_channel="Stop answering there without a mention",
                           answers="Whether /ask answers are public or private unless the asker chooses",
                           cooldown="Seconds in which each member may ask COOLDOWN_QUESTIONS questions (0: off)",
                           reset="Go back to the bot's defaults")
    @app_commands.choices(
        answers=[app_commands.Choice(name="public: everyone in the channel sees them", value="public"),
                 app_commands.Choice(name="private: only the asker sees them", value="private")],
        reset=[app_commands.Choice(name="answer channels", value="channels"),
               app_commands.Choice(name="public or private answers", value="answers"),
               app_commands.Choice(name="cooldown", value="cooldown"),
               app_commands.Choice(name="everything", value="everything")])
    async def settings(self, interaction: discord.Interaction,
                       add_channel: discord.TextChannel | discord.ForumChannel | None = None,
                       remove_channel: discord.TextChannel | discord.ForumChannel | None = None,
                       answers: str | None = None, cooldown: app_commands.Range[float, 0, 86400] | None = None,
                       reset: str | None = None) -> None:
        async with self.bot.guard(interaction, "/kb settings"):
            if not self.bot.is_admin(interaction) or interaction.guild is None:
                await self.refuse(interaction)
                return
            guild = interaction.guild
            current = await self.bot.server_settings(guild.id) or GuildSettings(guild.id)
            new, changes, notes = self.changed_settings(current, guild, add_channel, remove_channel, answers,
                                                        cooldown, reset)
            if new != current:
                self.bot.set_server_settings(replace(new, updated_at=None))
            await self.bot.reply(interaction, ephemeral=True, embed=settings_embed(
                guild.name, new, env_channels=self.bot.settings.ask_channel_ids,
                reads_messages=self.bot.intents.message_content, questions=self.bot.settings.cooldown_questions,
                default_cooldown=self.bot.settings.cooldown_seconds, changes=changes, notes=notes))

    def changed_settings(self, server: GuildSettings, guild: discord.Guild,
                         add_channel: discord.abc.GuildChannel | None, remove_channel: discord.abc.GuildChannel | None,
                         answers: str | None, cooldown: float | None,
                         reset: str | None) -> tuple[GuildSettings, list[str], list[str]]:
        """The settings after this command, what it changed, and what it could not or need not change."""
        changes: list[str] = []
        notes: list[str] = []
        env_channels = self.bot.settings.ask_channel_ids
        if reset in ("channels", "everything") and server.answer_channel_ids:
            server = replace(server, answer_channel_ids=None)
            changes.append("answer channels back to the bot's defaults")
        if reset in ("answers", "everything") and not server.public_answers:
            server = replace(server, public_answers=True)
            changes.append("answers public again by default")
        if reset in ("cooldown", "everything") and server.cooldown_seconds is not None:
            server = replace(server, cooldown_seconds=None)
            changes.append(f"cooldown back to the bot's default ({self.bot.settings.cooldown_seconds:g} seconds)")
        own = set(server.answer_channel_ids or ())
        if add_channel is not None:
            if add_channel.id in own or add_channel.id in env_channels:
                notes.append(f"{add_channel.mention} is already an answer channel.")
            else:
                own.add(add_channel.id)
                changes.append(f"questions in {add_channel.mention} are answered without a mention")
                missing = self.missing_permissions(guild, add_channel)
                if missing:
                    notes.append(f"⚠️ The bot cannot answer in {add_channel.mention} yet: it needs {missing} there.")
        if remove_channel is not None:
            if remove_channel.id in own:
                own.discard(remove_channel.id)
                changes.append(f"{remove_channel.mention} is no longer an answer channel")
            elif remove_channel.id in env_channels:
                notes.append(f"{remove_channel.mention} comes from `ASK_CHANNEL_IDS`: only the bot's operator can "
                             "remove it.")
            else:
                notes.append(f"{remove_channel.mention} was not an answer channel.")
        server = replace(server, answer_channel_ids=frozenset(own) or None)
        if answers is not None and server.public_answers != (answers == "public"):
            server = replace(server, public_answers=answers == "public")
            changes.append(f"`/ask` answers are {answers} by default")
        if cooldown is not None and server.cooldown_seconds != cooldown:
            server = replace(server, cooldown_seconds=cooldown)
            changes.append("no cooldown" if cooldown <= 0 else f"cooldown {cooldown:g} seconds")
        return server, changes, notes

    @staticmethod
    def missing_permissions(guild: discord.Guild, channel: discord.abc.GuildChannel) -> str:
        have = channel.permissions_for(guild.me)
        names = {"view_channel": "View Channel", "send_messages": "Send Messages", "embed_links": "Embed Links",
                 "read_message_history": "Read Message History"}
        return ", ".join(label for flag, label in names.items()
                         if getattr(REQUIRED_PERMISSIONS, flag) and not getattr(have, flag))

    # ------------------------------------------------------------------ what was asked here

    @app_commands.command(name="stats", description="Questions asked in this server, what went unanswered, feedback")
    @app_commands.describe(days="How many days back to look (default 30)")
    async def stats(self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = 30) -> None:
        async with self.bot.guard(interaction, "/kb stats"):
            if not self.bot.is_admin(interaction) or interaction.guild_id is None:
                await self.refuse(interaction)
                return
            store = self.bot.store
            if store is None:
                await self.bot.reply(interaction, ephemeral=True, content="The bot keeps no question log here.")
                return
            try:  # this server's records only: the scope is its id, never EVERYWHERE
                stats = await self.bot.respond_in_time(interaction, self.read_stats(store, interaction.guild_id, days),
                                                       ephemeral=True)
            except StoreError as exc:
                await self.bot.reply(interaction, ephemeral=True, content=(
                    f"The question log cannot be read right now ({fit(exc.reason, 500)}). Questions are still "
                    "answered and logged as soon as it is back; try again later."))
                return
            passage = self.bot.engine_for(interaction.guild_id).passage  # this server's documents only
            await self.bot.reply(interaction, ephemeral=True, embed=stats_embed(stats, passage))

    async def read_stats(self, store: Store, guild_id: int, days: int) -> Stats:
        await self.bot.saved()  # the questions asked a moment ago count too
        return await store.stats(guild_id, days=days)

    # ------------------------------------------------------------------ knowledge files

    async def file_target(self, interaction: discord.Interaction) -> str | None:
        """What /kb add and /kb remove act on here: "shared" (a home server, operators only),
        "collection" (any other server, its admins), or None once a refusal has been sent."""
        if not self.shared_here(interaction):
            if not self.bot.is_admin(interaction) or interaction.guild_id is None:
                await self.refuse(interaction)
                return None
            return "collection"
        if not await self.bot.is_operator(interaction):
            await self.refuse_shared(interaction)
            return None
        return "shared"

    @app_commands.command(name="add", description="Add or replace a document (a file or a web address), then reload")
    @app_commands.describe(file="A Markdown, reStructuredText, text, HTML, PDF or Word (.docx) file",
                           url="An http(s) address of a web page or document: fetched, and kept as Markdown")
    async def add(self, interaction: discord.Interaction, file: discord.Attachment | None = None,
                  url: app_commands.Range[str, 1, 2000] | None = None) -> None:
        async with self.bot.guard(interaction, "/kb add"):
            if (file is None) == (url is None):
                await self.bot.reply(interaction, ephemeral=True, content=(
                    "Send either a `file:` or a `url:` to add (one of the two)."))
                return
            target = await self.file_target(interaction)
            if target is None:
                return
            await interaction.response.defer(thinking=True, ephemeral=True)
            received = await self.receive(interaction, file, url)
            if received is None:
                return
            if target == "collection":
                await self.add_to_collection(interaction, interaction.guild_id, received)
                return
            limit = self.bot.settings.max_upload_bytes
            directory = self.directory
            try:
                checked = await asyncio.to_thread(check_upload, directory, received.name, received.data, limit=limit,
                                                  documents=self.bot.engine.knowledge.documents)
            except UploadError as exc:
                await self.bot.reply(interaction, ephemeral=True, content=f"Not added: {exc}.")
                return
            try:
                await asyncio.to_thread(write_atomically, checked.path, checked.data)
            except OSError as exc:
                log.warning("/kb add could not write %s: %s", checked.path, exc)
                await self.bot.reply(interaction, ephemeral=True, content=(
                    f"Not added: `{checked.name}` cannot be written in the knowledge directory "
                    f"({exc.strerror or exc})."))
                return
            report, waited = await self.bot.reload_knowledge(interaction.user.display_name, interaction.user.id)
            document = checked.document
            verb = "Replaced the existing" if checked.replaces else "Added"
            summary = (f"{verb} `{checked.name}`{received.sent_as(checked.name)}: “{fit(document.title, 200)}”, "
                       f"document `{document.id}`.")
            await self.bot.reply(interaction, ephemeral=True,
                                 embed=file_change_embed(summary, report, directory, waited))

    @app_commands.command(name="refresh", description="Fetch the documents added by URL again and update those "
                                                     "that changed")
    async def refresh(self, interaction: discord.Interaction) -> None:
        async with self.bot.guard(interaction, "/kb refresh"):
            target = await self.file_target(interaction)
            if target is None:
                return
            await interaction.response.defer(thinking=True, ephemeral=True)
            settings = self.bot.settings
            limits = {"max_bytes": settings.max_upload_bytes, "allow_private": settings.fetch_private_addresses,
                      "timeout": settings.fetch_timeout}
            if target == "shared":
                refreshed = await refresh_directory(self.directory, **limits)
                where = self.directory
            else:
                guild_id = interaction.guild_id
                files = self.bot.library.files(guild_id) if self.bot.library is not None else ()
                refreshed, changed = await refresh_texts({f.filename: f.text for f in files}, **limits)
                where = collection_path(guild_id, "x").parent
                try:
                    for name, data in changed.items():
                        document = next(d for d in self.bot.library.collection(guild_id) if d.path.name == name)
                        await self.bot.store.put_document(
                            guild_id, document.id, name, data.decode("utf-8"), interaction.user.id,
                            max_documents=settings.max_server_documents, max_bytes=settings.max_server_bytes)
                except (StoreError, CollectionFull) as exc:
                    await self.bot.reply(interaction, ephemeral=True, content=(
                        f"Not refreshed: this server's collection cannot be saved right now ({fit(str(exc), 300)})."))
                    return
            if not (refreshed.changed or refreshed.unchanged or refreshed.failed):
                await self.bot.reply(interaction, ephemeral=True, content=(
                    "No document here was added by URL (`/kb add url:`): nothing to refresh."))
                return
            summary = (f"Fetched {len(refreshed.changed) + len(refreshed.unchanged) + len(refreshed.failed)} "
                       f"document(s) again: {len(refreshed.changed)} changed, {len(refreshed.unchanged)} unchanged"
                       + "".join(f"\n`{fit(name, 100)}` could not be fetched: {fit(reason, 200)} (the previous copy "
                                 "is kept)" for name, reason in refreshed.failed[:5]))
            if target == "shared":
                report, waited = await self.bot.reload_knowledge(interaction.user.display_name, interaction.user.id)
                embed = file_change_embed(summary, report, where, waited)
            else:
                embed = file_change_embed(summary, await self.collection_changed(interaction, interaction.guild_id),
                                          where)
            await self.bot.reply(interaction, ephemeral=True, embed=embed)

    async def receive(self, interaction: discord.Interaction, file: discord.Attachment | None,
                      url: str | None) -> Received | None:
        """The document /kb add was given: the attachment downloaded, or the page fetched and made a
        Markdown knowledge file. None once the reason it cannot be had has been sent."""
        settings = self.bot.settings
        try:
            if file is not None:
                safe_file_name(file.filename)  # a bad name or a file too big is refused before downloading it
                check_size(file.size, settings.max_upload_bytes, file.filename)
                return Received(file.filename, await file.read())
            new = await fetch_document(url.strip(), max_bytes=settings.max_upload_bytes,
                                       allow_private=settings.fetch_private_addresses, timeout=settings.fetch_timeout)
            return Received(new.name, new.data, url=url.strip())
        except UploadError as exc:
            reason = str(exc)
        except KnowledgeError as exc:
            reason = f"<{fit(url or '', 300)}> cannot be used: {exc.reason}"
        except discord.HTTPException as exc:
            log.warning("Could not download %s for /kb add: %s", file.filename if file else url, exc)
            reason = "the file could not be downloaded from Discord. Try again"
        await self.bot.reply(interaction, ephemeral=True, content=f"Not added: {reason}.")
        return None

    @app_commands.command(name="remove", description="Remove a document from the knowledge directory (asks first)")
    @app_commands.describe(document="The document to remove (suggested as you type)")
    async def remove(self, interaction: discord.Interaction, document: app_commands.Range[str, 1, 200]) -> None:
        async with self.bot.guard(interaction, "/kb remove"):
            target = await self.file_target(interaction)
            if target == "collection":
                await self.ask_collection_removal(interaction, interaction.guild_id, document)
            if target != "shared":
                return
            kb = self.bot.engine.knowledge
            found = find_document(kb.documents, document)
            if found is None:
                reply = f"No document matches “{fit(document, 200)}”: pick one from the suggestions as you type."
            elif len(kb.documents) == 1:
                reply = ("That is the only document, and the bot needs at least one to answer: add another "
                         "with `/kb add` first.")
            elif not inside(kb.directory, found.path):
                reply = "That document's file is outside the knowledge directory: remove it by hand."
            else:
                reply = None
            if reply is not None:
                await self.bot.reply(interaction, ephemeral=True, content=reply)
                return
            assert found is not None
            view = ConfirmRemoval(self, interaction, found)
            await interaction.response.send_message(
                f"Remove “{fit(found.title, 200)}” (`{_relative(found, kb.directory)}`, "
                f"{len(found.body)} passage{'' if len(found.body) == 1 else 's'}) "
                f"from the knowledge base? Its file is deleted and the bot reloads. The buttons wait "
                f"{REMOVE_TIMEOUT:g} seconds.", view=view, ephemeral=True)

    @remove.autocomplete("document")
    async def document_autocomplete(self, interaction: discord.Interaction,
                                    current: str) -> list[app_commands.Choice[str]]:
        try:
            if self.shared_here(interaction) or interaction.guild_id is None or self.bot.library is None:
                documents = self.bot.engine.knowledge.documents
            else:  # outside the home servers only this server's own documents can be removed
                documents = self.bot.library.collection(interaction.guild_id)
            return document_choices(documents, current)
        except Exception:  # a failing autocomplete only loses the suggestions
            log.exception("Document autocomplete failed")
            return []

    async def remove_confirmed(self, interaction: discord.Interaction, document: Document) -> None:
        """Delete the document's file and reload (the admin clicked Remove)."""
        if not self.bot.is_admin(interaction) and not (self.shared_here(interaction)
                                                       and await self.bot.is_operator(interaction)):
            await interaction.response.edit_message(content="Not removed: you are no longer a server admin.",
                                                    view=None)
            return
        if not self.shared_here(interaction) and interaction.guild_id is not None:
            await self.remove_from_collection(interaction, interaction.guild_id, document)
            return
        directory = self.directory
        name = _relative(document, directory)
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

    # ------------------------------------------------------------------ a server's own collection

    def limits_note(self) -> str:
        settings = self.bot.settings
        return (f"Each server's collection holds at most {settings.max_server_documents} documents and "
                f"{settings.max_server_bytes:,} bytes (`MAX_SERVER_DOCUMENTS`, `MAX_SERVER_BYTES`, set by the bot's "
                "operators)")

    async def add_to_collection(self, interaction: discord.Interaction, guild_id: int, received: Received) -> None:
        """``/kb add`` outside the home servers: store the document in this server's collection and rebuild."""
        store, library = self.bot.store, self.bot.library
        if store is None or library is None:
            await self.bot.reply(interaction, ephemeral=True, content="Not added: this bot keeps no store, so "
                                 "servers cannot have collections of their own.")
            return
        limit = self.bot.settings.max_upload_bytes
        directory = collection_path(guild_id, "x").parent
        try:
            checked = await asyncio.to_thread(check_upload, directory, received.name, received.data, limit=limit,
                                              documents=self.bot.engine_for(guild_id).knowledge.documents,
                                              as_text=True)
        except UploadError as exc:
            await self.bot.reply(interaction, ephemeral=True, content=f"Not added: {exc}.")
            return
        text = checked.data.decode("utf-8").removeprefix("\ufeff")
        document = checked.document
        before = library.collection(guild_id)
        replaces = any(d.id == document.id or d.path.name == checked.name for d in before)
        settings = self.bot.settings
        try:
            await store.put_document(guild_id, document.id, checked.name, text, interaction.user.id,
                                     max_documents=settings.max_server_documents, max_bytes=settings.max_server_bytes)
            for old in before:  # the same file sent again with another id replaces it
                if old.path.name == checked.name and old.id != document.id:
                    await store.delete_document(guild_id, old.id)
        except CollectionFull as exc:
            await self.bot.reply(interaction, ephemeral=True, content=(
                f"Not added, this server's collection is full: {exc}. {self.limits_note()}. Remove a document with "
                "`/kb remove` to make room."))
            return
        except StoreError as exc:
            await self.bot.reply(interaction, ephemeral=True, content=(
                f"Not added: this server's collection cannot be saved right now ({fit(exc.reason, 300)}). "
                "Try again later."))
            return
        report = await self.collection_changed(interaction, guild_id)
        verb = "Replaced" if replaces else "Added"
        summary = (f"{verb} `{checked.name}`{received.sent_as(checked.name)} in this server's collection: "
                   f"“{fit(document.title, 200)}”, document `{document.id}`. Questions asked in this server now "
                   "quote it.")
        await self.bot.reply(interaction, ephemeral=True, embed=file_change_embed(summary, report, directory))

    async def collection_changed(self, interaction: discord.Interaction, guild_id: int) -> ReloadReport:
        """Rebuild this server's engine from the store at once, and note the change in the reload history."""
        report = await self.bot.load_collection(guild_id, force=True)
        if report is None:  # the store could not be read back: the next poll picks the change up
            kb = self.bot.engine_for(guild_id).knowledge
            report = ReloadReport((), (), (), 0, 0, 0, (), len(kb.documents), len(kb.passages))
        elif self.bot.store is not None:
            try:
                self.bot.store.record_reload(report, by_name=interaction.user.display_name,
                                             by_user_id=interaction.user.id, guild_id=guild_id)
            except Exception:
                log.exception("Could not record the collection change in the history")
        return report

    async def ask_collection_removal(self, interaction: discord.Interaction, guild_id: int, wanted: str) -> None:
        collection = self.bot.library.collection(guild_id) if self.bot.library is not None else ()
        found = find_document(collection, wanted)
        if found is None:
            extra = "" if collection else " This server's collection is empty; the shared knowledge base is " \
                "managed by the bot's operators."
            await self.bot.reply(interaction, ephemeral=True, content=(
                f"No document of this server's collection matches “{fit(wanted, 200)}”: pick one from the "
                f"suggestions as you type.{extra}"))
            return
        view = ConfirmRemoval(self, interaction, found)
        await interaction.response.send_message(
            f"Remove “{fit(found.title, 200)}” (`{found.path.name}`, "
            f"{len(found.body)} passage{'' if len(found.body) == 1 else 's'}) from this server's collection? "
            f"The buttons wait {REMOVE_TIMEOUT:g} seconds.", view=view, ephemeral=True)

    async def remove_from_collection(self, interaction: discord.Interaction, guild_id: int,
                                     document: Document) -> None:
        name = document.path.name
        await interaction.response.edit_message(content=f"Removing `{name}`…", view=None)
        store = self.bot.store
        try:
            removed = await store.delete_document(guild_id, document.id) if store is not None else False
        except StoreError as exc:
            await interaction.edit_original_response(content=(
                f"Not removed: this server's collection cannot be changed right now ({fit(exc.reason, 300)})."))
            return
        report = await self.collection_changed(interaction, guild_id)
        summary = f"Removed `{name}` from this server's collection: “{fit(document.title, 200)}”." if removed \
            else f"`{name}` was already gone."
        await interaction.edit_original_response(content=None, embed=file_change_embed(
            summary, report, collection_path(guild_id, name).parent))


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(KnowledgeAdmin(bot))

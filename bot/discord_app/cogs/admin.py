"""Knowledge administration for server admins: ``/kb reload``, ``status``, ``settings``, ``stats``,
``add`` and ``remove``.

Only members with Manage Server see the group (its default permissions); because a server can
grant the commands to anyone in its Integrations settings, every callback checks again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.bot import REQUIRED_PERMISSIONS
from bot.discord_app.cogs.library import document_choices
from bot.discord_app.uploads import (
    UploadError,
    check_size,
    check_upload,
    find_document,
    inside,
    safe_file_name,
    write_atomically,
)
from bot.knowledge.models import Document
from bot.render.embeds import (
    file_change_embed,
    fit,
    memory_line,
    reload_embed,
    settings_embed,
    stats_embed,
    status_embed,
)
from bot.store import GuildSettings, Stats, Store, StoreError

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot

log = logging.getLogger(__name__)

REMOVE_TIMEOUT = 60.0  # seconds the Remove / Cancel buttons wait for the admin


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

    @property
    def directory(self) -> Path:
        return self.bot.engine.knowledge.directory

    # ------------------------------------------------------------------ reload and status

    @app_commands.command(name="reload", description="Re-read the knowledge directory and report what changed")
    async def reload(self, interaction: discord.Interaction) -> None:
        async with self.bot.guard(interaction, "/kb reload"):
            if not self.bot.is_admin(interaction):
                await self.refuse(interaction)
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
            last = await self.bot.respond_in_time(interaction, self.bot.latest_reload(), ephemeral=True)
            engine = self.bot.engine
            state = engine.state
            embed = status_embed(state.knowledge, state.loaded_at, engine.mode, last)
            if self.bot.store is not None:
                embed.add_field(name="Memory", value=memory_line(self.bot.store.health()), inline=False)
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
            await self.bot.reply(interaction, ephemeral=True, embed=stats_embed(stats, self.bot.engine.passage))

    async def read_stats(self, store: Store, guild_id: int, days: int) -> Stats:
        await self.bot.saved()  # the questions asked a moment ago count too
        return await store.stats(guild_id, days=days)

    # ------------------------------------------------------------------ knowledge files

    @app_commands.command(name="add", description="Add (or replace) a Markdown or text document, then reload")
    @app_commands.describe(file="A .md, .markdown or .txt file in UTF-8, with optional front matter (title, author…)")
    async def add(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        async with self.bot.guard(interaction, "/kb add"):
            if not self.bot.is_admin(interaction):
                await self.refuse(interaction)
                return
            await interaction.response.defer(thinking=True, ephemeral=True)
            limit = self.bot.settings.max_upload_bytes
            directory = self.directory
            try:
                safe_file_name(file.filename)  # a bad name or a file too big is refused before downloading it
                check_size(file.size, limit)
                data = await file.read()
                checked = await asyncio.to_thread(check_upload, directory, file.filename, data, limit=limit,
                                                  documents=self.bot.engine.knowledge.documents)
            except UploadError as exc:
                await self.bot.reply(interaction, ephemeral=True, content=f"Not added: {exc}.")
                return
            except discord.HTTPException as exc:
                log.warning("Could not download %s for /kb add: %s", file.filename, exc)
                await self.bot.reply(interaction, ephemeral=True,
                                     content="Not added: the file could not be downloaded from Discord. Try again.")
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
            sent_as = f" (sent as “{fit(file.filename, 100)}”)" if file.filename != checked.name else ""
            summary = f"{verb} `{checked.name}`{sent_as}: “{fit(document.title, 200)}”, document `{document.id}`."
            await self.bot.reply(interaction, ephemeral=True,
                                 embed=file_change_embed(summary, report, directory, waited))

    @app_commands.command(name="remove", description="Remove a document from the knowledge directory (asks first)")
    @app_commands.describe(document="The document to remove (suggested as you type)")
    async def remove(self, interaction: discord.Interaction, document: app_commands.Range[str, 1, 200]) -> None:
        async with self.bot.guard(interaction, "/kb remove"):
            if not self.bot.is_admin(interaction):
                await self.refuse(interaction)
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
            return document_choices(self.bot.engine.knowledge.documents, current)
        except Exception:  # a failing autocomplete only loses the suggestions
            log.exception("Document autocomplete failed")
            return []

    async def remove_confirmed(self, interaction: discord.Interaction, document: Document) -> None:
        """Delete the document's file and reload (the admin clicked Remove)."""
        if not self.bot.is_admin(interaction):
            await interaction.response.edit_message(content="Not removed: you are no longer a server admin.",
                                                    view=None)
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


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(KnowledgeAdmin(bot))

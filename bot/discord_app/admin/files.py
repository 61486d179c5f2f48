"""``/kb add``, ``/kb remove`` and ``/kb refresh``: documents in what this server's knowledge commands act on
(``targets.target_for``: the shared base in a home server, the server's own collection elsewhere)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.admin.targets import KnowledgeTarget, Received, target_for, target_here
from bot.discord_app.autocomplete import document_choices
from bot.discord_app.interactions import guard, reply
from bot.discord_app.uploads import UploadError, check_size, safe_file_name
from bot.knowledge.models import Document, KnowledgeError
from bot.knowledge.sources import fetch_document
from bot.render.discord_text import fit

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot

log = logging.getLogger(__name__)

REMOVE_TIMEOUT = 60.0  # seconds the Remove / Cancel buttons wait for the admin


class ConfirmRemoval(discord.ui.View):
    """Remove / Cancel under ``/kb remove``: only the admin who asked can answer; it expires cleanly."""

    def __init__(self, bot: KnowledgeBot, target: KnowledgeTarget, asked: discord.Interaction, document: Document):
        super().__init__(timeout=REMOVE_TIMEOUT)
        self.bot, self.target, self.asked, self.document = bot, target, asked, document
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
        async with guard(interaction, "/kb remove"):
            access = self.bot.access
            if not access.is_admin(interaction) and not (self.target.shared and await access.is_operator(interaction)):
                await interaction.response.edit_message(content="Not removed: you are no longer a server admin.",
                                                        view=None)
                return
            await self.target.remove(interaction, self.document)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.answered = True
        self.stop()
        async with guard(interaction, "/kb remove"):
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


class FileCommands:
    bot: KnowledgeBot

    @app_commands.command(name="add", description="Add or replace a document (a file or a web address), then reload")
    @app_commands.describe(file="A Markdown, reStructuredText, text, HTML, PDF or Word (.docx) file",
                           url="An http(s) address of a web page or document: fetched, and kept as Markdown")
    async def add(self, interaction: discord.Interaction, file: discord.Attachment | None = None,
                  url: app_commands.Range[str, 1, 2000] | None = None) -> None:
        async with guard(interaction, "/kb add"):
            if (file is None) == (url is None):
                await reply(interaction, ephemeral=True, content=(
                    "Send either a `file:` or a `url:` to add (one of the two)."))
                return
            target = await target_for(self.bot, interaction)
            if target is None:
                return
            await interaction.response.defer(thinking=True, ephemeral=True)
            received = await self.receive(interaction, file, url)
            if received is not None:
                await target.add(interaction, received)

    @app_commands.command(name="refresh", description="Fetch the documents added by URL again and update those "
                                                     "that changed")
    async def refresh(self, interaction: discord.Interaction) -> None:
        async with guard(interaction, "/kb refresh"):
            target = await target_for(self.bot, interaction)
            if target is None:
                return
            await interaction.response.defer(thinking=True, ephemeral=True)
            fetched = await target.refetch(interaction)
            if fetched is None:
                return
            refreshed, where = fetched
            if not (refreshed.changed or refreshed.unchanged or refreshed.failed):
                await reply(interaction, ephemeral=True, content=(
                    "No document here was added by URL (`/kb add url:`): nothing to refresh."))
                return
            summary = (f"Fetched {len(refreshed.changed) + len(refreshed.unchanged) + len(refreshed.failed)} "
                       f"document(s) again: {len(refreshed.changed)} changed, {len(refreshed.unchanged)} unchanged"
                       + "".join(f"\n`{fit(name, 100)}` could not be fetched: {fit(reason, 200)} (the previous copy "
                                 "is kept)" for name, reason in refreshed.failed[:5]))
            await reply(interaction, ephemeral=True, embed=await target.refreshed(interaction, summary, where))

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
            assert url is not None
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
        await reply(interaction, ephemeral=True, content=f"Not added: {reason}.")
        return None

    @app_commands.command(name="remove", description="Remove a document from the knowledge directory (asks first)")
    @app_commands.describe(document="The document to remove (suggested as you type)")
    async def remove(self, interaction: discord.Interaction, document: app_commands.Range[str, 1, 200]) -> None:
        async with guard(interaction, "/kb remove"):
            target = await target_for(self.bot, interaction)
            if target is None:
                return
            found, question = target.removal(document)
            if found is None:
                await reply(interaction, ephemeral=True, content=question)
                return
            await interaction.response.send_message(f"{question} The buttons wait {REMOVE_TIMEOUT:g} seconds.",
                                                    view=ConfirmRemoval(self.bot, target, interaction, found),
                                                    ephemeral=True)

    @remove.autocomplete("document")
    async def document_autocomplete(self, interaction: discord.Interaction,
                                    current: str) -> list[app_commands.Choice[str]]:
        try:  # outside the home servers only this server's own documents can be removed
            target = target_here(self.bot, interaction.guild_id)
            if target is None or self.bot.library is None:
                return document_choices(self.bot.engine.knowledge.documents, current)
            return document_choices(target.documents(), current)
        except Exception:  # a failing autocomplete only loses the suggestions
            log.exception("Document autocomplete failed")
            return []

"""``/kb settings``: this server's answer channels, public or private answers, and cooldown."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.access import REQUIRED_PERMISSIONS
from bot.discord_app.admin.targets import refuse
from bot.discord_app.interactions import guard, reply
from bot.render.admin_embeds import settings_embed
from bot.store import GuildSettings

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot


class SettingsCommands:
    bot: KnowledgeBot

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
        async with guard(interaction, "/kb settings"):
            if not self.bot.access.is_admin(interaction) or interaction.guild is None:
                await refuse(self.bot, interaction)
                return
            guild = interaction.guild
            current = await self.bot.server_settings.get(guild.id) or GuildSettings(guild.id)
            new, changes, notes = self.changed_settings(current, guild, add_channel, remove_channel, answers,
                                                        cooldown, reset)
            if new != current:
                self.bot.server_settings.set(replace(new, updated_at=None))
            await reply(interaction, ephemeral=True, embed=settings_embed(
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

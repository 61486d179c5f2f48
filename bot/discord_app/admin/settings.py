"""``/kb settings``: this server's answer channels, help forums, answer threads, public or private answers, and
cooldown."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord_app.access import REQUIRED_PERMISSIONS
from bot.discord_app.admin.targets import refuse
from bot.discord_app.forum_buttons import solved_tag
from bot.discord_app.interactions import guard, reply
from bot.render.admin_embeds import settings_embed
from bot.store import GuildSettings

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot


class SettingsCommands:
    bot: KnowledgeBot

    @app_commands.command(name="settings", description="This server's answer channels, help forums, public or "
                                                       "private answers, and cooldown")
    @app_commands.describe(add_channel="Answer question-like messages in this channel without a mention",
                           remove_channel="Stop answering there without a mention",
                           forum="A help forum: each new post there is answered once, in its thread",
                           remove_forum="Stop answering new posts in this forum",
                           threads="Each public answer in this channel starts a thread, where follow-ups are answered",
                           remove_threads="Answers in this channel are plain replies again",
                           answers="Whether /ask answers are public or private unless the asker chooses",
                           cooldown="Seconds in which each member may ask COOLDOWN_QUESTIONS questions (0: off)",
                           reset="Go back to the bot's defaults")
    @app_commands.choices(
        answers=[app_commands.Choice(name="public: everyone in the channel sees them", value="public"),
                 app_commands.Choice(name="private: only the asker sees them", value="private")],
        reset=[app_commands.Choice(name="answer channels", value="channels"),
               app_commands.Choice(name="help forums", value="forums"),
               app_commands.Choice(name="answer threads", value="threads"),
               app_commands.Choice(name="public or private answers", value="answers"),
               app_commands.Choice(name="cooldown", value="cooldown"),
               app_commands.Choice(name="everything", value="everything")])
    async def settings(self, interaction: discord.Interaction,
                       add_channel: discord.TextChannel | discord.ForumChannel | None = None,
                       remove_channel: discord.TextChannel | discord.ForumChannel | None = None,
                       forum: discord.ForumChannel | None = None, remove_forum: discord.ForumChannel | None = None,
                       threads: discord.TextChannel | None = None, remove_threads: discord.TextChannel | None = None,
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
            new = self.changed_forums(new, guild, forum, remove_forum, reset, changes, notes)
            new = self.changed_threads(new, guild, threads, remove_threads, reset, changes, notes)
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

    def changed_forums(self, server: GuildSettings, guild: discord.Guild, forum: discord.ForumChannel | None,
                       remove_forum: discord.ForumChannel | None, reset: str | None, changes: list[str],
                       notes: list[str]) -> GuildSettings:
        """The settings with this command's help forums; what it did goes in ``changes`` and ``notes``.

        A help forum is no answer channel as well: its posts would be answered twice."""
        forums = set(server.forum_channel_ids)
        if reset in ("forums", "everything") and forums:
            forums.clear()
            changes.append("no help forums")
        if forum is not None:
            if forum.id in forums:
                notes.append(f"{forum.mention} is already a help forum.")
            else:
                forums.add(forum.id)
                changes.append(f"new posts in {forum.mention} are answered")
                notes += self.forum_notes(guild, forum)
            channels = server.answer_channel_ids or frozenset()
            if forum.id in channels:
                server = replace(server, answer_channel_ids=frozenset(channels - {forum.id}) or None)
                changes.append(f"{forum.mention} is no longer an answer channel (its posts are answered once)")
            elif forum.id in self.bot.settings.ask_channel_ids:
                notes.append(f"⚠️ {forum.mention} is also in `ASK_CHANNEL_IDS`: the bot's operator should remove it "
                             "there, or posts that look like questions are answered twice.")
        if remove_forum is not None:
            if remove_forum.id in forums:
                forums.discard(remove_forum.id)
                changes.append(f"new posts in {remove_forum.mention} are no longer answered")
            else:
                notes.append(f"{remove_forum.mention} was not a help forum.")
        channels = server.answer_channel_ids or frozenset()
        for both in sorted(channels & forums):  # made an answer channel by this very command
            server = replace(server, answer_channel_ids=frozenset(channels - forums) or None)
            notes.append(f"<#{both}> is a help forum, so it is no answer channel too: its posts are answered once.")
            changes[:] = [c for c in changes if not (f"<#{both}>" in c and "answered without a mention" in c)]
        # When each was named: a restarted bot answers the posts it missed since then, never older ones.
        now = discord.utils.utcnow()
        named_at = {forum_id: server.forums_named_at.get(forum_id, now) for forum_id in forums}
        return replace(server, forum_channel_ids=frozenset(forums), forums_named_at=named_at)

    @staticmethod
    def changed_threads(server: GuildSettings, guild: discord.Guild, threads: discord.TextChannel | None,
                        remove_threads: discord.TextChannel | None, reset: str | None, changes: list[str],
                        notes: list[str]) -> GuildSettings:
        """The settings with this command's answer threads; what it did goes in ``changes`` and ``notes``."""
        channels = set(server.thread_channel_ids)
        if reset in ("threads", "everything") and channels:
            channels.clear()
            changes.append("no answer threads")
        if threads is not None:
            if threads.id in channels:
                notes.append(f"Answers in {threads.mention} already start threads.")
            else:
                channels.add(threads.id)
                changes.append(f"each public answer in {threads.mention} starts a thread for its follow-ups")
            have = threads.permissions_for(guild.me)
            if not (have.create_public_threads and have.send_messages_in_threads):
                notes.append(f"⚠️ Answers in {threads.mention} stay plain replies until the bot has Create Public "
                             "Threads and Send Messages in Threads there.")
        if remove_threads is not None:
            if remove_threads.id in channels:
                channels.discard(remove_threads.id)
                changes.append(f"answers in {remove_threads.mention} are plain replies again")
            else:
                notes.append(f"Answers in {remove_threads.mention} did not start threads.")
        return replace(server, thread_channel_ids=frozenset(channels))

    @staticmethod
    def forum_notes(guild: discord.Guild, forum: discord.ForumChannel) -> list[str]:
        """What keeps the bot from answering in a forum, and what "Solved" does there."""
        have = forum.permissions_for(guild.me)
        names = {"view_channel": "View Channel", "send_messages_in_threads": "Send Messages in Threads",
                 "embed_links": "Embed Links", "read_message_history": "Read Message History"}
        missing = ", ".join(label for flag, label in names.items() if not getattr(have, flag))
        notes = [f"⚠️ The bot cannot answer in {forum.mention} yet: it needs {missing} there."] if missing else []
        tag = solved_tag(forum)
        if tag is None:
            notes.append(f"{forum.mention} has no tag named Solved or Resolved: the Solved button notes a post as "
                         "solved without tagging it.")
        elif not have.manage_threads:
            notes.append(f"⚠️ To apply the {tag.name} tag when a post is solved, the bot needs Manage Threads in "
                         f"{forum.mention}.")
        return notes

    @staticmethod
    def missing_permissions(guild: discord.Guild, channel: discord.abc.GuildChannel) -> str:
        have = channel.permissions_for(guild.me)
        names = {"view_channel": "View Channel", "send_messages": "Send Messages", "embed_links": "Embed Links",
                 "read_message_history": "Read Message History"}
        return ", ".join(label for flag, label in names.items()
                         if getattr(REQUIRED_PERMISSIONS, flag) and not getattr(have, flag))

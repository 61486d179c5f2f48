"""Help forums (``/kb settings forum:``): each new post is a question, answered once in its thread.

The question is the post's title and its first message together (the title alone when the bot may
not read message content). The answer carries the usual buttons and "Solved"; a post the knowledge
base cannot answer gets the polite decline, once, and stays in ``/kb stats`` until someone marks it
solved. Every post's question is logged with the post, and the log is read before answering: a
restarted bot, or an event that comes twice, never answers a post twice.

A post's first message is recognised as Discord makes it: its id is the post's (the thread's) id.
A thread announced as newly created in a help forum also takes its owner's first message, whether it
came before the announcement (to a channel not known yet) or after, so a post whose starter message
came some other way is still answered.

Posts made while the bot was away are answered when it starts (``on_ready``, or when a server becomes
available): each help forum's active posts made since it was named that the question log does not have,
oldest first, at most CATCH_UP_POSTS per forum per start. A forum named before the bot kept that time
gets it at start-up, so only later posts are ever caught up. Without a database nothing is caught up:
the log is what tells a missed post from an answered one.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.answers import Answer
from bot.discord_app.cooldown import QuestionCooldown
from bot.discord_app.forum_buttons import SolvedButton, forum_answer_view
from bot.discord_app.interactions import APOLOGY
from bot.discord_app.store_reads import bounded_read
from bot.render.answer_embeds import answer_embed
from bot.store import GuildSettings

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 6000  # as /ask's option: a post longer than that is asked by its beginning
REMEMBERED_POSTS = 10_000  # posts this process has seen, to drop a second event for one without a database read
CATCH_UP_POSTS = 20  # missed posts answered per forum per start: a long outage does not flood a forum at once
STARTER_SEARCH = 5  # a post's first messages read for its owner's, when its starter has an id of its own


def post_question(title: str, text: str) -> str:
    """The question a post asks: its title, then its first message, on one line."""
    title, text = " ".join(title.split()), " ".join(text.split())
    if title and text and title[-1] not in ".?!:":
        title += ":"
    return " ".join(part for part in (title, text) if part)[:MAX_QUESTION_CHARS]


def starts_help_forum_post(message: discord.Message, server: GuildSettings | None) -> bool:
    """Whether ``message`` is the first message of a post in one of its server's help forums: this cog answers
    it, so other ways of asking (an @mention in it) should leave it alone."""
    channel = message.channel
    return isinstance(channel, discord.Thread) and server is not None and message.id == channel.id \
        and channel.parent_id in server.forum_channel_ids


class Forums(commands.Cog):
    """Answers new posts in the forums each server named as help forums."""

    def __init__(self, bot: KnowledgeBot):
        self.bot = bot
        self._own_cooldown = QuestionCooldown(bot.settings.cooldown_questions, bot.settings.cooldown_seconds)
        self._announced: OrderedDict[int, None] = OrderedDict()  # new posts whose starter is still to come
        self._taken: OrderedDict[int, None] = OrderedDict()  # posts this process answers or has answered
        self._catching_up: set[int] = set()  # servers whose missed posts are being answered now

    @property
    def cooldown(self) -> QuestionCooldown:
        """The asking cog's cooldown, so a post and a ``/ask`` count against the same limit (this cog's own
        when there is no asking cog)."""
        asking = getattr(self.bot.get_cog("Ask"), "cooldown", None)
        return asking if isinstance(asking, QuestionCooldown) else self._own_cooldown

    async def help_forum(self, channel: object) -> discord.Thread | None:
        """``channel`` if it is a post in one of its server's help forums."""
        if not isinstance(channel, discord.Thread) or channel.guild is None:
            return None
        server = await self.bot.server_settings.get(channel.guild.id)  # never raises: defaults when unreadable
        forums = server.forum_channel_ids if server is not None else frozenset()
        return channel if channel.parent_id in forums else None

    @commands.Cog.listener()
    async def on_thread_create(self, thread: discord.Thread) -> None:
        if await self.help_forum(thread) is None:
            return
        _remember(self._announced, thread.id)
        starter = thread.starter_message or self.owners_message(thread)  # came first, to a channel not yet known
        if starter is not None:
            await self.answer_post(thread, starter)

    def owners_message(self, thread: discord.Thread) -> discord.Message | None:
        """The thread owner's earliest message in it that this process has seen, if any."""
        mine = [m for m in self.bot.cached_messages if m.channel.id == thread.id and m.author.id == thread.owner_id]
        return min(mine, key=lambda m: m.id, default=None)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None:
            return
        thread = await self.help_forum(message.channel)
        if thread is None:
            return
        first = message.id == thread.id or (thread.id in self._announced and message.author.id == thread.owner_id)
        if first:
            await self.answer_post(thread, message)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        for guild in list(self.bot.guilds):
            await self.catch_up(guild)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self.catch_up(guild)

    async def catch_up(self, guild: discord.Guild) -> None:
        """Answer the posts made in the server's help forums while the bot was away (see the module's notes)."""
        if self.bot.store is None or guild.id in self._catching_up:
            return
        self._catching_up.add(guild.id)
        try:
            server = await self.bot.server_settings.get(guild.id)  # never raises: defaults (no forums) if unreadable
            if server is None or not server.forum_channel_ids:
                return
            unknown = server.forum_channel_ids - server.forums_named_at.keys()
            if unknown:  # named by a bot that did not keep the time: from now on
                now = discord.utils.utcnow()
                server = replace(server, updated_at=None,
                                 forums_named_at={**server.forums_named_at, **dict.fromkeys(unknown, now)})
                self.bot.server_settings.set(server)
            for forum_id in sorted(server.forum_channel_ids):
                forum = guild.get_channel(forum_id)
                if isinstance(forum, discord.ForumChannel) and forum_id not in unknown:
                    await self.catch_up_forum(forum, server.forums_named_at[forum_id])
        except Exception:
            log.exception("Answering the posts missed in server %s failed", guild.id)
        finally:
            self._catching_up.discard(guild.id)

    async def catch_up_forum(self, forum: discord.ForumChannel, named_at: datetime) -> None:
        """Answer the forum's open posts made since ``named_at`` that the question log does not have, oldest first,
        at most CATCH_UP_POSTS."""
        me, store = self.bot.user, self.bot.store
        posts = sorted((thread for thread in forum.threads if thread.id not in self._taken
                        and not thread.archived and not thread.locked
                        and discord.utils.snowflake_time(thread.id) >= named_at
                        and (me is None or thread.owner_id != me.id)), key=lambda thread: thread.id)
        if not posts or store is None:
            return
        try:
            logged = await bounded_read(store.logged_posts([thread.id for thread in posts]))
        except Exception as exc:  # StoreError, TimeoutError: a post answered twice would be worse here
            log.warning("Cannot tell which posts in forum %s were answered; leaving them for now: %s", forum.id, exc)
            return
        missed = [thread for thread in posts if thread.id not in logged][:CATCH_UP_POSTS]
        if missed:
            log.info("Answering %d post(s) made in forum %s while the bot was away", len(missed), forum.id)
        for thread in missed:
            starter = await self.starter_of(thread)
            if starter is not None:
                await self.answer_post(thread, starter, missed=True)

    async def starter_of(self, thread: discord.Thread) -> discord.Message | None:
        """A post's first message, read from Discord: the one with the post's id, or else its owner's first."""
        try:
            return thread.starter_message or await thread.fetch_message(thread.id)
        except discord.NotFound:
            pass
        except discord.HTTPException as exc:
            log.info("Cannot read the first message of post %s: %s", thread.id, exc)
            return None
        try:
            return await anext((m async for m in thread.history(limit=STARTER_SEARCH, oldest_first=True)
                                if m.author.id == thread.owner_id), None)
        except discord.HTTPException as exc:
            log.info("Cannot read the first messages of post %s: %s", thread.id, exc)
            return None

    async def answer_post(self, thread: discord.Thread, starter: discord.Message, *, missed: bool = False) -> None:
        """Answer the post once: not if this process took it already, nor if the question log has it.

        ``missed``: made while the bot was away; its author asked once, so no cooldown applies."""
        me = self.bot.user
        if thread.id in self._taken or starter.author.bot or (me is not None and starter.author.id == me.id):
            return
        _remember(self._taken, thread.id)
        self._announced.pop(thread.id, None)
        if await self.answered_before(thread.id):
            return
        try:
            await self.answer(thread, starter, missed=missed)
        except Exception:
            log.exception("Answering forum post %s failed", thread.id)
            try:
                await thread.send(APOLOGY)
            except discord.HTTPException:
                log.warning("Could not send the apology either", exc_info=True)

    async def answered_before(self, post_id: int) -> bool:
        """Whether the question log has this post (answered by an earlier run); False when it cannot say."""
        store = self.bot.store
        if store is None:
            return False
        try:
            return await bounded_read(store.post_question(post_id)) is not None
        except Exception as exc:  # StoreError, TimeoutError: a post left unanswered would be worse
            log.info("Cannot tell whether post %s was answered before; answering it: %s", post_id, exc)
            return False

    async def answer(self, thread: discord.Thread, starter: discord.Message, *, missed: bool = False) -> None:
        started = time.perf_counter()
        guild_id = thread.guild.id
        author = starter.author
        server = await self.bot.server_settings.get(guild_id)
        seconds = self.bot.server_settings.cooldown_seconds(server)
        wait = 0.0 if missed else self.cooldown.wait_time((guild_id, author.id), discord.utils.utcnow(), seconds)
        if wait:
            await thread.send(self.cooldown.message(wait, seconds) + " Mention me here to ask again.")
            return
        question = post_question(thread.name, starter.content)
        limit = self.bot.settings.excerpts
        answer = await self.bot.ask(question, limit, guild_id=guild_id)  # this server's knowledge only
        question_id = self.record(thread.id, question, answer, started, guild_id, author.id)
        await thread.send(embed=answer_embed(answer),
                          view=forum_answer_view(answer, limit, question_id, thread.id, author.id))

    def record(self, post_id: int, question: str, answer: Answer, started: float, guild_id: int,
               user_id: int) -> str | None:
        """Log the post's question (queued); its id for the vote buttons, None if it was not logged."""
        store = self.bot.store
        if store is None:
            return None
        try:
            return store.record_post_question(
                post_id=post_id, question=question, answered=answer.answered,
                passage_ids=[e.passage.id for e in answer.excerpts],
                latency_ms=(time.perf_counter() - started) * 1000, guild_id=guild_id, user_id=user_id)
        except Exception:
            log.exception("Could not log forum post %s (the answer is sent anyway)", post_id)
            return None


def _remember(seen: OrderedDict[int, None], post_id: int) -> None:
    seen[post_id] = None
    seen.move_to_end(post_id)
    while len(seen) > REMEMBERED_POSTS:
        seen.popitem(last=False)


async def setup(bot: KnowledgeBot) -> None:
    await bot.add_cog(Forums(bot))
    bot.add_dynamic_items(SolvedButton)  # "Solved" answered after a restart too

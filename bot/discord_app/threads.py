"""Threads as conversations: which threads the bot answers every message in, what it says when it starts
one, where it starts one for every public answer (``/kb settings threads:``), and the earlier questions a
follow-up is read with (bot/followups.py decides what they mean).

Nothing is stored: a thread the bot started is one it owns (``owner_id``), and its earlier questions
are the titles of the bot's answers in it, read back from the thread's history, so both survive a restart.
"""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import discord

from bot.followups import MAX_EARLIER
from bot.render.discord_text import trim
from bot.render.titles import question_from_title

log = logging.getLogger(__name__)

THREAD_NAME_LIMIT = 100  # Discord's limit on a thread's name
AUTO_ARCHIVE_MINUTES = 1440  # a day without messages: Discord hides the thread from the channel's list
HISTORY_MESSAGES = 50  # read back for earlier questions: a follow-up needs the last few, not the whole thread
HISTORY_WAIT = 5.0  # seconds; past that the question is answered on its own


def can_start_thread(channel: object) -> bool:
    """Whether an answer in ``channel`` can be continued in a thread (a server's text or news channel)."""
    return isinstance(channel, discord.TextChannel)


def may_start_thread(channel: object) -> bool:
    """Whether the bot may start a thread in ``channel`` and write in it: without those permissions an answer
    is a plain reply instead."""
    if not can_start_thread(channel):
        return False
    text_channel = cast(discord.TextChannel, channel)
    have = text_channel.permissions_for(text_channel.guild.me)
    return have.create_public_threads and have.send_messages_in_threads


def thread_name(question: str) -> str:
    """A thread's name from the question it continues, within Discord's limit."""
    return trim(" ".join(question.split()), THREAD_NAME_LIMIT) or "Follow-up questions"


def started_by(thread: discord.Thread, me: discord.abc.Snowflake | None) -> bool:
    """Whether the bot started ``thread``: there, every message is a question for it."""
    return me is not None and thread.owner_id == me.id


def welcome(me: discord.ClientUser, reads_every_message: bool) -> str:
    """The bot's first message in a thread it started: how to go on."""
    how = ("Ask your follow-up questions here: I answer every message in this thread"
           if reads_every_message else f"Ask your follow-up questions here, mentioning me ({me.mention}) in each")
    return (f"{how}, and read each one with the questions before it, so “why?” or “and what about …?” "
            "work. A question about something else starts afresh.")


async def earlier_questions(thread: discord.Thread, before: discord.Message,
                            me: discord.abc.Snowflake) -> list[str]:
    """The questions asked in ``thread`` before ``before``, oldest first: the thread's name when the bot started
    it from an answer or a question (unless its first answer there already says that question), then the
    questions its answers there were for. Empty when the history cannot be read."""

    async def read() -> list[str]:
        titles = [message.embeds[0].title async for message in thread.history(limit=HISTORY_MESSAGES, before=before)
                  if message.author.id == me.id and message.embeds and message.embeds[0].title]
        return [question_from_title(title) for title in reversed(titles)]

    try:
        questions = await asyncio.wait_for(read(), HISTORY_WAIT)
    except (discord.HTTPException, TimeoutError) as exc:
        log.info("Answering without the thread's earlier questions (%s): %s", thread.id, exc)
        questions = []
    if started_by(thread, me) and thread.name and not (questions and thread_name(questions[0]) == thread.name):
        questions.insert(0, thread.name)
    return questions[-MAX_EARLIER:]

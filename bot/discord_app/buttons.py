"""Buttons under an answer; their whole state is in the custom id, so they work after a restart.

- "More excerpts" (``kb:more:<offset>:<limit>:<digest>``) asks the question again for the next page.
  The question is read back from the answer's title; the digest proves the title still holds all of it.
- "Full paragraph [n]" (``kb:full:<n>:<ref>``) shows the passage an excerpt was quoted from; ``ref``
  is a short hash of the passage id, whose length has no bound while a custom id must fit in 100 characters.
- 👍 / 👎 (``kb:vote:<question id>:up|down``) record the clicker's vote on the answer in the question log:
  one vote per person per answer; clicking the other one changes it.
- "Continue in a thread" (``kb:thread``) starts a thread on a public answer, named after its question, where
  follow-up questions are answered (cogs/threads.py).
- "Post publicly" (``kb:share:<message id>``) posts a private answer from the message menu (cogs/context_menu.py)
  as a reply to the message it answers, with the same buttons, naming who shared it.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import TYPE_CHECKING, cast

import discord

from bot.answers import Answer
from bot.discord_app.installs import answering_guild
from bot.discord_app.interactions import guard, reply, respond_in_time
from bot.discord_app.threads import AUTO_ARCHIVE_MINUTES, can_start_thread, thread_name, welcome
from bot.library import passage_ref
from bot.render.answer_embeds import answer_embed, paragraph_embed
from bot.render.titles import keeps_question, question_from_title
from bot.store import DOWN, UP

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot
    from bot.knowledge.models import Document, Passage


def question_digest(question: str) -> str:
    return hashlib.sha256(question.encode()).hexdigest()[:10]


class MoreExcerptsButton(discord.ui.DynamicItem[discord.ui.Button],
                         template=r"kb:more:(?P<offset>\d{1,3}):(?P<limit>\d{1,2}):(?P<digest>[0-9a-f]{10})"):
    """The next page of excerpts for the question in the answer's title, shown to whoever clicks."""

    def __init__(self, offset: int, limit: int, digest: str):
        super().__init__(discord.ui.Button(label="More excerpts", style=discord.ButtonStyle.primary,
                                           custom_id=f"kb:more:{offset}:{limit}:{digest}"))
        self.offset, self.limit, self.digest = offset, limit, digest

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> MoreExcerptsButton:
        return cls(int(match["offset"]), int(match["limit"]), match["digest"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("KnowledgeBot", interaction.client)
        async with guard(interaction, "More excerpts"):
            embeds = interaction.message.embeds if interaction.message else []
            question = question_from_title(embeds[0].title if embeds else None)
            if question_digest(question) != self.digest:
                await interaction.response.send_message(
                    "I can no longer tell which question this answer was for: please ask it again with `/ask`.",
                    ephemeral=True)
                return
            asking = bot.ask(question, self.limit, self.offset, guild_id=answering_guild(interaction))
            answer = await respond_in_time(interaction, asking, ephemeral=True)
            await reply_answer(interaction, answer, self.limit, ephemeral=True)


class FullParagraphButton(discord.ui.DynamicItem[discord.ui.Button],
                          template=r"kb:full:(?P<number>\d{1,2}):(?P<ref>[0-9a-f]{12})"):
    """The whole paragraph behind excerpt ``number``, shown privately to whoever clicks."""

    def __init__(self, number: int, ref: str):
        super().__init__(discord.ui.Button(label=f"Full paragraph [{number}]", style=discord.ButtonStyle.secondary,
                                           custom_id=f"kb:full:{number}:{ref}"))
        self.number, self.ref = number, ref

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> FullParagraphButton:
        return cls(int(match["number"]), match["ref"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("KnowledgeBot", interaction.client)
        async with guard(interaction, "Full paragraph"):
            guild_id = answering_guild(interaction)
            found = await self.find_passage(bot, guild_id)
            if found is None:
                await interaction.response.send_message(
                    "That passage is not available here: it is not in the knowledge base this "
                    f"{'server' if guild_id else 'conversation'} is answered from (it may have changed "
                    "since this answer). Please ask again.", ephemeral=True)
                return
            document, passage = found
            await interaction.response.send_message(embed=paragraph_embed(document, passage, self.number),
                                                    ephemeral=True)

    async def find_passage(self, bot: KnowledgeBot, guild_id: int | None) -> tuple[Document, Passage] | None:
        """The passage this button refers to, in what the server ``guild_id`` is answered from."""
        if bot.library is None:
            return None
        return await asyncio.to_thread(bot.library.find_passage, guild_id, self.ref)


VOTES = {"up": UP, "down": DOWN}
THUMBS = {UP: "👍", DOWN: "👎"}


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button],
                     template=r"kb:vote:(?P<question>[0-9a-f]{32}):(?P<vote>up|down)"):
    """👍 or 👎 on one answer, acknowledged only to whoever clicks."""

    def __init__(self, question_id: str, vote: int, row: int | None = None):
        name = "up" if vote == UP else "down"
        super().__init__(discord.ui.Button(
            emoji=THUMBS[vote], label="Helpful" if vote == UP else "Not helpful", style=discord.ButtonStyle.secondary,
            custom_id=f"kb:vote:{question_id}:{name}", row=row))
        self.question_id, self.vote = question_id, vote

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> FeedbackButton:
        return cls(match["question"], VOTES[match["vote"]])

    async def callback(self, interaction: discord.Interaction) -> None:
        votes = cast("KnowledgeBot", interaction.client).votes
        async with guard(interaction, "Feedback"):
            asked_elsewhere = votes.asked_elsewhere(self.question_id, answering_guild(interaction))
            if await respond_in_time(interaction, asked_elsewhere, ephemeral=True):
                await reply(interaction, ephemeral=True, content=(
                    "That answer is not available here: it was given elsewhere, so a vote on it is not counted."))
                return
            previous = await respond_in_time(
                interaction, votes.record(self.question_id, interaction.user.id, self.vote), ephemeral=True)
            thumb = THUMBS[self.vote]
            if previous == self.vote:
                text = f"Your {thumb} is already noted: one vote per person per answer."
            elif previous is not None:
                text = f"Thanks — your vote is changed to {thumb}."
            else:
                text = f"Thanks — your {thumb} is noted."
            await reply(interaction, ephemeral=True, content=text)


class ContinueInThreadButton(discord.ui.DynamicItem[discord.ui.Button], template=r"kb:thread"):
    """Starts a thread on the answer it is under, where each message is a follow-up question."""

    def __init__(self, row: int | None = None):
        super().__init__(discord.ui.Button(label="Continue in a thread", emoji="🧵", row=row,
                                           style=discord.ButtonStyle.secondary, custom_id="kb:thread"))

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> ContinueInThreadButton:
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("KnowledgeBot", interaction.client)
        async with guard(interaction, "Continue in a thread"):
            message, channel = interaction.message, interaction.channel
            if message is None or not can_start_thread(channel) or bot.user is None:
                await reply(interaction, ephemeral=True, content="A thread can only start from an answer in a "
                                                                 "server's text channel.")
                return
            existing = cast("discord.TextChannel", channel).get_thread(message.id)
            if existing is not None:
                await reply(interaction, ephemeral=True, content=f"The conversation goes on in {existing.mention}.")
                return
            question = question_from_title(message.embeds[0].title if message.embeds else None)
            try:
                thread = await respond_in_time(interaction, message.create_thread(
                    name=thread_name(question), auto_archive_duration=AUTO_ARCHIVE_MINUTES), ephemeral=True)
                await thread.send(welcome(bot.user, bot.intents.message_content))
            except discord.Forbidden:
                await reply(interaction, ephemeral=True, content=(
                    "I may not start threads in this channel: a server admin can give me the Create Public "
                    "Threads permission here. Meanwhile, mention me with your follow-up question."))
                return
            await reply(interaction, ephemeral=True, content=f"Started {thread.mention}: ask your follow-up "
                                                             "questions there.")


class PostPubliclyButton(discord.ui.DynamicItem[discord.ui.Button], template=r"kb:share:(?P<message>\d{1,20})"):
    """Posts the private answer it is under as a reply to the message it answers; the button then goes away."""

    def __init__(self, message_id: int, row: int | None = None):
        super().__init__(discord.ui.Button(label="Post publicly", emoji="📣", style=discord.ButtonStyle.primary,
                                           custom_id=f"kb:share:{message_id}", row=row))
        self.message_id = message_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> PostPubliclyButton:
        return cls(int(match["message"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        async with guard(interaction, "Post publicly"):
            channel, private = interaction.channel, interaction.message
            if private is None or not private.embeds or not isinstance(channel, discord.abc.Messageable):
                await reply(interaction, ephemeral=True, content="This answer can no longer be posted: ask again.")
                return
            if not interaction.permissions.send_messages:
                await reply(interaction, ephemeral=True, content="You cannot post in this channel.")
                return
            shared = shared_view(private.components, exclude=self.custom_id)
            reference = discord.MessageReference(message_id=self.message_id, channel_id=channel.id,
                                                 fail_if_not_exists=False)
            posting = channel.send(f"Shared by {sharer(interaction.user)}", embed=private.embeds[0],
                                   reference=reference, mention_author=False, **({"view": shared} if shared else {}))
            try:
                posted = await respond_in_time(interaction, posting, ephemeral=True)
            except discord.Forbidden:
                await reply(interaction, ephemeral=True, content="I may not post in this channel.")
                return
            if interaction.response.is_done():  # slow: "thinking…" was shown, the private answer stays as it was
                await reply(interaction, ephemeral=True, content=f"Posted: {posted.jump_url}")
                return
            await interaction.response.edit_message(content=f"Posted: {posted.jump_url}",
                                                    view=shared_view(private.components, exclude=self.custom_id))
            interaction.extras["answered"] = True


def sharer(user: discord.abc.User) -> str:
    """Who shared an answer, named without a mention: a mention in a message lists the user even when it pings
    no one."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(user.display_name))


def shared_view(rows: list[discord.components.ActionRow], exclude: str) -> discord.ui.View | None:
    """The buttons of a message again (their state is in their custom ids), without the one ``exclude`` names."""
    view = discord.ui.View(timeout=None)
    for number, row in enumerate(rows):
        for child in row.children:
            if isinstance(child, discord.components.Button) and child.custom_id and child.custom_id != exclude:
                view.add_item(discord.ui.Button(label=child.label, emoji=child.emoji, style=child.style,
                                                custom_id=child.custom_id, row=number))
    return view if view.children else None


BUTTONS_PER_ROW = 5
DYNAMIC_ITEMS = (MoreExcerptsButton, FullParagraphButton, FeedbackButton, ContinueInThreadButton,
                 PostPubliclyButton)  # for bot.add_dynamic_items


def answer_view(answer: Answer, limit: int, question_id: str | None = None, *,
                thread: bool = False, shared_from: int | None = None) -> discord.ui.View | None:
    """The buttons under an answer: more excerpts when there are more, full paragraph per excerpt, and,
    on their own row below, 👍 / 👎 when the question was logged (``question_id``) and "Continue in a
    thread" when the answer can be (``thread``: public, in a server's text channel), or "Post publicly"
    for a private answer to the message ``shared_from``.

    A follow-up's answer (read with earlier questions) offers no "More excerpts": its title alone would
    be asked again without them."""
    if not answer.answered:
        return None
    view = discord.ui.View(timeout=None)
    if answer.has_more and keeps_question(answer.question) and not answer.searched:
        view.add_item(MoreExcerptsButton(answer.offset + len(answer.excerpts), limit,
                                         question_digest(answer.question)))
    for excerpt in answer.excerpts:
        view.add_item(FullParagraphButton(excerpt.citation.number, passage_ref(excerpt.passage.id)))
    # At most 1 + 10 buttons above (MAX_EXCERPTS): three rows; Discord allows five.
    row = -(-len(view.children) // BUTTONS_PER_ROW)
    if question_id is not None:
        view.add_item(FeedbackButton(question_id, UP, row))
        view.add_item(FeedbackButton(question_id, DOWN, row))
    if thread:
        view.add_item(ContinueInThreadButton(row))
    if shared_from is not None:
        view.add_item(PostPubliclyButton(shared_from, row))
    return view


async def reply_answer(interaction: discord.Interaction, answer: Answer, limit: int, *, ephemeral: bool = False,
                       question_id: str | None = None, thread: bool = False, shared_from: int | None = None) -> None:
    """The answer as an embed, with its buttons."""
    await reply(interaction, ephemeral=ephemeral, embed=answer_embed(answer),
                view=answer_view(answer, limit, question_id, thread=thread, shared_from=shared_from))

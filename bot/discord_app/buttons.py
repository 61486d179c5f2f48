"""Buttons under an answer; their whole state is in the custom id, so they work after a restart.

- "More excerpts" (``kb:more:<offset>:<limit>:<digest>``) asks the question again for the next page.
  The question is read back from the answer's title; the digest proves the title still holds all of it.
- "Full paragraph [n]" (``kb:full:<n>:<ref>``) shows the passage an excerpt was quoted from; ``ref``
  is a short hash of the passage id, whose length has no bound while a custom id must fit in 100 characters.
- 👍 / 👎 (``kb:vote:<question id>:up|down``) record the clicker's vote on the answer in the question log:
  one vote per person per answer; clicking the other one changes it.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, cast

import discord

from bot.answers import Answer
from bot.render.embeds import keeps_question, paragraph_embed, question_from_title
from bot.store import DOWN, UP

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot


def question_digest(question: str) -> str:
    return hashlib.sha256(question.encode()).hexdigest()[:10]


def passage_ref(passage_id: str) -> str:
    return hashlib.sha256(passage_id.encode()).hexdigest()[:12]


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
        async with bot.guard(interaction, "More excerpts"):
            embeds = interaction.message.embeds if interaction.message else []
            question = question_from_title(embeds[0].title if embeds else None)
            if question_digest(question) != self.digest:
                await interaction.response.send_message(
                    "I can no longer tell which question this answer was for: please ask it again with `/ask`.",
                    ephemeral=True)
                return
            asking = bot.ask(question, self.limit, self.offset, guild_id=interaction.guild_id)
            answer = await bot.respond_in_time(interaction, asking, ephemeral=True)
            await bot.reply_answer(interaction, answer, self.limit, ephemeral=True)


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
        async with bot.guard(interaction, "Full paragraph"):
            found = await bot.find_passage(self.ref, interaction.guild_id)
            if found is None:
                await interaction.response.send_message(
                    "That passage is not available here: it is not in the knowledge base this "
                    f"{'server' if interaction.guild_id else 'conversation'} is answered from (it may have changed "
                    "since this answer). Please ask again.", ephemeral=True)
                return
            document, passage = found
            await interaction.response.send_message(embed=paragraph_embed(document, passage, self.number),
                                                    ephemeral=True)


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
        bot = cast("KnowledgeBot", interaction.client)
        async with bot.guard(interaction, "Feedback"):
            if await bot.respond_in_time(interaction, bot.asked_elsewhere(self.question_id, interaction.guild_id),
                                         ephemeral=True):
                await bot.reply(interaction, ephemeral=True, content=(
                    "That answer is not available here: it was given elsewhere, so a vote on it is not counted."))
                return
            previous = await bot.respond_in_time(
                interaction, bot.record_vote(self.question_id, interaction.user.id, self.vote), ephemeral=True)
            thumb = THUMBS[self.vote]
            if previous == self.vote:
                text = f"Your {thumb} is already noted: one vote per person per answer."
            elif previous is not None:
                text = f"Thanks — your vote is changed to {thumb}."
            else:
                text = f"Thanks — your {thumb} is noted."
            await bot.reply(interaction, ephemeral=True, content=text)


BUTTONS_PER_ROW = 5


def answer_view(answer: Answer, limit: int, question_id: str | None = None) -> discord.ui.View | None:
    """The buttons under an answer: more excerpts when there are more, full paragraph per excerpt, and,
    on their own row below, 👍 / 👎 when the question was logged (``question_id``)."""
    if not answer.answered:
        return None
    view = discord.ui.View(timeout=None)
    if answer.has_more and keeps_question(answer.question):
        view.add_item(MoreExcerptsButton(answer.offset + len(answer.excerpts), limit,
                                         question_digest(answer.question)))
    for excerpt in answer.excerpts:
        view.add_item(FullParagraphButton(excerpt.citation.number, passage_ref(excerpt.passage.id)))
    if question_id is not None:
        # At most 1 + 10 buttons above (MAX_EXCERPTS): three rows; Discord allows five.
        row = -(-len(view.children) // BUTTONS_PER_ROW)
        view.add_item(FeedbackButton(question_id, UP, row))
        view.add_item(FeedbackButton(question_id, DOWN, row))
    return view

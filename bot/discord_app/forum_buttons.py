"""The buttons under a help forum's answer: the answer's own (more excerpts, full paragraphs, 👍 / 👎) and "Solved".

"Solved" keeps the post and its author in its ``custom_id`` (a ``DynamicItem``), so it works after a restart
without reading anything: only the post's author or a server admin may press it. It applies the forum's
"solved" tag when the forum has one, notes the post as solved in the store (it leaves ``/kb stats``'s
unanswered posts), and locks, archives or closes nothing.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, cast

import discord

from bot.answers import Answer
from bot.discord_app.buttons import answer_view
from bot.discord_app.interactions import guard, reply, respond_in_time
from bot.render.discord_text import fit

if TYPE_CHECKING:
    from bot.discord_app.bot import KnowledgeBot

log = logging.getLogger(__name__)

# A tag that says a post is solved: "Solved", "✅ Resolved", "SOLVED!" (not "Unsolved": a word must start there).
_SOLVED_TAG = re.compile(r"(?<![a-z])(?:re)?solved(?![a-z])", re.IGNORECASE)


def solved_tag(forum: discord.ForumChannel | None) -> discord.ForumTag | None:
    """The forum's tag for a solved post, if it has one."""
    if forum is None:
        return None
    return next((tag for tag in forum.available_tags if _SOLVED_TAG.search(tag.name)), None)


class SolvedButton(discord.ui.DynamicItem[discord.ui.Button],
                   template=r"kb:solved:(?P<post>\d{1,20}):(?P<author>\d{1,20})"):
    """Marks a help forum post solved; only its author or a server admin may."""

    def __init__(self, post_id: int, author_id: int, row: int | None = None):
        super().__init__(discord.ui.Button(label="Solved", emoji="✅", style=discord.ButtonStyle.success,
                                           custom_id=f"kb:solved:{post_id}:{author_id}", row=row))
        self.post_id, self.author_id = post_id, author_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> SolvedButton:
        return cls(int(match["post"]), int(match["author"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("KnowledgeBot", interaction.client)
        async with guard(interaction, "Solved"):
            thread = interaction.channel
            if not isinstance(thread, discord.Thread) or thread.id != self.post_id or interaction.guild_id is None:
                await reply(interaction, ephemeral=True, content="This button belongs to another forum post.")
                return
            if interaction.user.id != self.author_id and not bot.access.is_admin(interaction):
                await reply(interaction, ephemeral=True, content=(
                    "Only the post's author or a server admin can mark it solved."))
                return
            tag = solved_tag(thread.parent if isinstance(thread.parent, discord.ForumChannel) else None)
            if tag is not None and tag in thread.applied_tags:
                await reply(interaction, ephemeral=True, content=f"This post is already tagged {tag.name}.")
                return
            tagged = await respond_in_time(interaction, self.apply_tag(thread, tag))
            if bot.store is not None:
                try:
                    bot.store.mark_post_solved(thread.id, interaction.guild_id)
                except Exception:
                    log.exception("Could not note post %s as solved", thread.id)
            who = fit(interaction.user.display_name, 100)  # escaped: a name never pings or renders
            note = ""
            if tag is not None and not tagged:
                note = f" (I could not apply the {tag.name} tag: I need Manage Threads in this forum.)"
            await reply(interaction, content=f"✅ {who} marked this post as solved.{note}")

    @staticmethod
    async def apply_tag(thread: discord.Thread, tag: discord.ForumTag | None) -> bool:
        """Add the solved tag (a post holds at most five); False when the bot may not."""
        if tag is None:
            return False
        tags = [*thread.applied_tags[:4], tag]  # not applied yet: the caller checked
        try:
            await thread.edit(applied_tags=tags, reason="Marked solved")
        except discord.Forbidden:
            log.info("No permission to tag post %s as solved", thread.id)
            return False
        return True


def forum_answer_view(answer: Answer, limit: int, question_id: str | None, post_id: int,
                      author_id: int) -> discord.ui.View:
    """An answer's own buttons, and "Solved" beside 👍 / 👎 (alone when the post was declined)."""
    view = answer_view(answer, limit, question_id) or discord.ui.View(timeout=None)
    rows = [child.row for child in view.children if child.row is not None]
    view.add_item(SolvedButton(post_id, author_id, row=max(rows) if rows else None))
    return view

"""Help forums in SimCord: a forum with tags, and a member's new post in it.

SimCord's members cannot create forum posts through its public actors (only a bot may, through
``ForumChannel.create_thread``), so a member's post is made here from SimCord's backend, in the
shape Discord gives it: a public thread owned by the member, announced as newly created, and its
starter message, whose id is the thread's. ``starter_is_post=False`` gives the starter an id of its
own; ``message_first`` announces the message before the thread (Discord does not promise an order).
"""

from __future__ import annotations

from collections.abc import Sequence

import discord
import simcord

from tests.discord.conftest import buttons


async def help_forum(env: simcord.Env, guild: simcord.GuildHandle, name: str = "help",
                     tags: Sequence[str] = ()) -> simcord.ChannelHandle:
    """A forum channel with these tags available."""
    forum = guild.create_forum_channel(name)
    if tags:
        backend = env.backend
        backend.edit_channel(forum.id, {"available_tags": [
            {"id": str(backend.snowflake()), "name": tag, "moderated": False, "emoji_id": None, "emoji_name": None}
            for tag in tags]})
        await env.settle()
    return forum


def tag_id(env: simcord.Env, forum: simcord.ChannelHandle, name: str) -> int:
    return next(int(t["id"]) for t in env.backend.get_channel(forum.id).available_tags if t["name"] == name)


async def post(env: simcord.Env, forum: simcord.ChannelHandle, author: simcord.MemberActor | simcord.UserHandle,
               title: str, text: str, *, tags: Sequence[int] = (), starter_is_post: bool = True,
               message_first: bool = False) -> simcord.ChannelHandle:
    """A new post in ``forum`` by ``author``: its thread, once the bot has handled it."""
    backend = env.backend
    thread = backend.create_thread(forum.id, title, author.id, applied_tags=list(tags), broadcast=False)
    starter = backend.prepare_message(thread.id, author.id, text)
    if starter_is_post:
        starter.id = thread.id
    backend.commit_message(starter, broadcast=False)
    if message_first:
        backend.announce_message_create(starter)
        backend.announce_thread_create(thread)
    else:
        backend.announce_thread_create(thread)
        backend.announce_message_create(starter)
    await env.settle()
    return simcord.ChannelHandle(env, forum.guild, thread)


async def redeliver_starter(env: simcord.Env, thread: simcord.ChannelHandle) -> None:
    """The post's starter message arrives again (a gateway that replays events)."""
    backend = env.backend
    starter = min(backend.messages[thread.id].values(), key=lambda m: m.id)
    backend.announce_message_create(starter)
    await env.settle()


def bot_messages(env: simcord.Env, thread: simcord.ChannelHandle) -> list[discord.Message]:
    return [m for m in thread.history() if m.author.id == env.bot.user.id]


def answer_in(env: simcord.Env, thread: simcord.ChannelHandle) -> discord.Message:
    """The bot's one message in the post's thread."""
    [answer] = bot_messages(env, thread)
    return answer


def labels(message: discord.Message) -> list[str]:
    return list(buttons(message))


def applied_tags(env: simcord.Env, thread: simcord.ChannelHandle) -> list[int]:
    return list(env.backend.get_channel(thread.id).applied_tags)

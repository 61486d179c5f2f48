"""Speed at scale: 500 questions from 50 members across 5 servers, all at once, against the real bot.

Every question is answered, none twice, in the right channel; the per-user cooldown holds under
the burst (first come, first served: each member's first COOLDOWN_QUESTIONS questions are answered,
the rest politely refused) and lifts exactly when its window ends; nothing is logged at ERROR level;
every question the bot answered is in its store, once (a refused one is not a question it took).

The same test runs on both stores: SQLite (a file in a temp folder, the default) and PostgreSQL
(DATABASE_URL to a fresh schema on a real server the tests start from the pgserver wheel). It
prints the burst's wall time on each: ``.venv/bin/python -m pytest -s tests/discord/test_load.py``.

How the burst is fired. A SimCord verb (``slash``, ``send``) delivers its gateway event and then
*settles* (runs the bot until it is idle) before returning, and SimCord refuses overlapping verbs.
``concurrent_burst`` therefore holds each question at a door: the bot's first step for any question
(reading the server's settings) waits until the door opens, a wait declared to SimCord with its
public ``env.external_wait``, so each verb returns once the bot has taken its event. When all 500
are held (the test counts them, and checks from SimCord's transcript that the bot sent nothing
yet), the door opens and one ``env.settle()`` joins all the bot's work: 500 questions in flight at once.

Time. Every question is let in at one simulated instant, read from ``env.now()``: the cooldown's
expectations are counted from it. Answering moves SimCord's clock as real time passes (a search
that outlasts the 1.5-second defer threshold on a busy machine fires that timer, and the answer
then follows a "thinking…"): the test accepts either form of reply and takes every later instant
from ``env.now()`` too, so nothing depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import discord
import pytest
import simcord

from bot import create_bot
from bot.answers import NOT_FOUND
from bot.store import EVERYWHERE, GuildSettings, Store
from tests.discord.conftest import flushed

GUILDS, MEMBERS_PER_GUILD, QUESTIONS_EACH = 5, 10, 10
ANSWERED = discord.InteractionResponseType.channel_message.value
DEFERRED = discord.InteractionResponseType.deferred_channel_message.value
COOLDOWN_QUESTIONS, COOLDOWN_SECONDS = 4, 60  # each member asks 10 at once: 4 answered, 6 refused

ANSWERABLE = {  # question -> words its answer must quote (markdown bold stripped)
    "What did Russia do in Syria?": "intervened militarily in Syria",
    "Is Russia arming the Taliban?": "arming the Taliban",
    "Who wrote the article?": "David Kramer",
    "Did Russia help with the Iran nuclear deal?": "facilitating the 2015 nuclear deal",
    "What weapons does Russia sell to Iran?": "advanced missile defense systems",
    "Which treaty did Russia violate by testing missiles?": "INF treaty",
    "Has Russia complied with the Minsk ceasefire deals?": "two Minsk ceasefire deals",
    "Who told reporters there was no specific agenda for the meeting?": "McMaster",
    "Can Putin help with North Korea?": "help with North Korea",
    "What ferry link opened between North Korea and Russia?": "ferry link",
    "What did General John Nicholson testify to the Senate?": "John Nicholson testified",
    "Is Putin a trustworthy interlocutor?": "untrustworthy interlocutor",
    "What is the Budapest memorandum of 1994?": "Budapest memorandum of 1994",
    "what about Crimea and the annexation in 2014": "annexation of Crimea",
    "how much help will russia be in the fight against isis": "ISIS",
}
UNANSWERABLE = (
    "How do I bake sourdough bread?",
    "What is the capital of Australia?",
    "Who won the 2018 football World Cup?",
    "How many moons does Jupiter have?",
    "How do I reset my router password?",
    "Which programming language is fastest for games?",
    "Who painted the Mona Lisa?",
    "Can dogs eat chocolate?",
    "What time does the bakery open on Sunday?",
    "How do penguins keep their eggs warm?",
    "Is Venezuela an oil exporter?",
    "Recommend a good science fiction novel",
    "how long should I boil an egg",
    "What is the speed of light in a vacuum?",
)


def refusal(seconds: int) -> str:
    unit = "second" if seconds == 1 else "seconds"
    return (f"One moment, please: you can ask {COOLDOWN_QUESTIONS} questions every {COOLDOWN_SECONDS} seconds. "
            f"Try again in {seconds} {unit}.")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, bot_env, monkeypatch: pytest.MonkeyPatch) -> str:
    """The store the bot runs on: the SQLite file at DATABASE_PATH, or PostgreSQL through DATABASE_URL
    (DATABASE_PATH stays set, to show the bot leaves it alone)."""
    if request.param == "postgres":
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("postgres_url"))
    return request.param


@pytest.fixture
def simcord_bot(backend):
    """The real bot on the test's store, with the cooldown this test is about set through the environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COOLDOWN_QUESTIONS", str(COOLDOWN_QUESTIONS))
        patch.setenv("COOLDOWN_SECONDS", str(COOLDOWN_SECONDS))
        # The collections poll is a timer every COLLECTION_POLL_SECONDS (5): one falling due while SimCord
        # settles keeps the burst from settling until settle_timeout. This test is not about collections.
        patch.setenv("COLLECTION_POLL_SECONDS", "3600")
        bot = create_bot()
    assert (bot.settings.cooldown_questions, bot.settings.cooldown_seconds) == (COOLDOWN_QUESTIONS, COOLDOWN_SECONDS)
    assert (bot.settings.database_url is not None) == (backend == "postgres")
    return bot


@dataclass(frozen=True)
class Question:
    member: simcord.MemberActor
    channel: simcord.ChannelHandle
    text: str
    via: str  # "slash" or "mention"
    private: bool = False
    excerpts: int | None = None


@dataclass(frozen=True)
class Asked:
    question: Question
    result: simcord.InteractionResult | None = None  # a /ask
    message: discord.Message | None = None  # an @mention


@dataclass(frozen=True)
class Reply:
    """What the member got back: the message, and whether it was an answer or the cooldown refusal."""

    message: discord.Message
    ephemeral: bool

    @property
    def answered(self) -> bool:
        return bool(self.message.embeds)


class Door:
    """Holds every question the bot takes at its first step, reading the server's settings, until opened."""

    def __init__(self, env: simcord.Env):
        self.env = env
        self.opened = asyncio.Event()
        self.held = 0

    async def hold(self, read, guild_id: int | None) -> GuildSettings | None:
        self.held += 1
        await self.env.external_wait(self.opened.wait(), reason="the burst: held until every question is in")
        return await read(guild_id)


async def ask(env: simcord.Env, question: Question) -> Asked:
    if question.via == "slash":
        options: dict[str, object] = {"question": question.text}
        if question.private:
            options["private"] = True
        if question.excerpts:
            options["excerpts"] = question.excerpts
        return Asked(question, result=await question.member.slash(question.channel, "ask", **options))
    content = f"{env.bot.user.mention} {question.text}"
    return Asked(question, message=await question.member.send(question.channel, content))


async def concurrent_burst(env: simcord.Env, questions: Sequence[Question]) -> tuple[list[Asked], datetime, float]:
    """Deliver every question, held at the door, then let them all in at once and wait for the bot; returns
    them, the simulated instant they were let in, and the wall time the bot took to answer."""
    first_event = len(env.transcript().splitlines())
    door = Door(env)
    settings = env.bot.server_settings
    read = settings.get
    settings.get = lambda guild_id: door.hold(read, guild_id)
    try:
        asked = [await ask(env, q) for q in questions]
        # Concurrency, not a queue: the bot holds every question, and has sent nothing yet.
        assert door.held == len(questions)
        lines = env.transcript().splitlines()[first_event:]
        assert not [line for line in lines if line.startswith("HTTP")]
        received = [line for line in lines
                    if line.split()[:2] in (["GATEWAY", "INTERACTION_CREATE"], ["GATEWAY", "MESSAGE_CREATE"])]
        assert len(received) == len(questions)
        let_in = env.now()
        started = time.perf_counter()
        door.opened.set()
        await env.settle()
    finally:
        del settings.get
    return asked, let_in, time.perf_counter() - started


def replies_by_question(env: simcord.Env, asked: Sequence[Asked], channels: Sequence[simcord.ChannelHandle]
                        ) -> list[Reply]:
    """Each question's one reply, checking that none is missing, doubled, or in the wrong place."""
    bot_id = env.bot.user.id
    posted = {channel.id: [m for m in channel.history() if m.author.id == bot_id] for channel in channels}
    replies_to = Counter(m.reference.message_id for messages in posted.values() for m in messages if m.reference)
    acknowledgements = [(*re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", r.path).groups(), r.json["type"])
                        for r in env.http_requests if r.method == "POST" and r.path.startswith("/interactions/")]
    callbacks = Counter(interaction_id for interaction_id, _, _ in acknowledgements)
    assert set(callbacks.values()) <= {1}, "an interaction was acknowledged twice"
    # An answer slower than the defer threshold follows a "thinking…": one followup completes it. Anything
    # else is answered directly, with no followup and no edit.
    assert {kind for _, _, kind in acknowledgements} <= {ANSWERED, DEFERRED}
    deferred = {token for _, token, kind in acknowledgements if kind == DEFERRED}
    webhooks = Counter((r.method, r.path.split("/")[3]) for r in env.http_requests if r.path.startswith("/webhooks/"))
    assert webhooks == Counter({("POST", token): 1 for token in deferred}), "one followup for each deferred answer"

    replies: list[Reply] = []
    expected_in_channel: dict[int, set[int]] = {channel.id: set() for channel in channels}
    for item in asked:
        q = item.question
        if item.result is not None:
            result = item.result
            assert result.acknowledged and not result.deferred and result.followups == []  # "thinking…" replaced
            response = result.response
            assert response is not None and response.channel_id == q.channel.id
            message = response.message
            assert message.author.id == bot_id and message.guild.id == q.member.guild.id
            assert callbacks[str(message.interaction_metadata.id)] == 1
            replies.append(Reply(message, response.ephemeral))
            if not response.ephemeral:
                expected_in_channel[q.channel.id].add(message.id)
        else:
            assert item.message is not None
            [reply] = [m for m in posted[q.channel.id] if m.reference and m.reference.message_id == item.message.id]
            assert replies_to[item.message.id] == 1  # exactly one reply, and none in another channel
            replies.append(Reply(reply, ephemeral=False))
            expected_in_channel[q.channel.id].add(reply.id)
    # Nothing else from the bot anywhere: every public message it posted is one of those replies.
    assert {cid: {m.id for m in messages} for cid, messages in posted.items()} == expected_in_channel
    assert sum(callbacks.values()) == sum(1 for item in asked if item.result is not None)
    return replies


def check_answer(question: Question, reply: Reply) -> None:
    [embed] = reply.message.embeds
    assert embed.title == question.text, "an answer to another question"
    assert reply.ephemeral == question.private
    text = embed.description.replace("**", "")
    if question.text in ANSWERABLE:
        assert not text.startswith(NOT_FOUND) and ANSWERABLE[question.text] in text
        if question.excerpts == 1:
            assert embed.footer.text == "Excerpt 1" and "[2]" not in text
    else:
        assert text.startswith(NOT_FOUND)


def check_refusal(question: Question, reply: Reply, seconds: int) -> None:
    """The cooldown refusal, saying to wait ``seconds``."""
    assert reply.message.content == refusal(seconds) and not reply.message.embeds
    assert reply.ephemeral == (question.via == "slash")  # a refused /ask is private, a refused mention a reply


def seconds_since(env: simcord.Env, instant: datetime) -> float:
    return (env.now() - instant).total_seconds()


def questions_for(member: simcord.MemberActor, channels: Sequence[simcord.ChannelHandle], count: int,
                  rng: random.Random) -> list[Question]:
    """Half /ask, half @mentions, half answerable, in a shuffled order, across the server's channels."""
    ways = ["slash", "mention"] * (count // 2) + ["slash"] * (count % 2)
    kinds = [True, False] * (count // 2) + [True] * (count % 2)
    rng.shuffle(ways)
    rng.shuffle(kinds)
    out = []
    for n, (via, answerable) in enumerate(zip(ways, kinds, strict=True)):
        text = rng.choice(list(ANSWERABLE) if answerable else UNANSWERABLE)
        private = via == "slash" and rng.random() < 0.25
        excerpts = rng.choice((None, None, 1, 5)) if via == "slash" else None
        out.append(Question(member, channels[n % len(channels)], text, via, private, excerpts))
    return out


async def check_recorded(store: Store, asked: Sequence[Asked], replies: Sequence[Reply]) -> None:
    """The store holds every question the bot answered, once each, as asked (where, by whom, what, found or
    not), and none it refused."""
    expected = Counter((item.question.member.guild.id, item.question.channel.id,
                        store.hash_user(item.question.member.id), item.question.text,
                        not reply.message.embeds[0].description.startswith(NOT_FOUND))
                       for item, reply in zip(asked, replies, strict=True) if reply.answered)
    logged = await store.question_log(EVERYWHERE)
    recorded = Counter((q.question.guild_id, q.question.channel_id, q.question.asker_hash, q.question.question,
                        q.question.answered) for q in logged)
    assert len(logged) == sum(expected.values()) == GUILDS * MEMBERS_PER_GUILD * (COOLDOWN_QUESTIONS + 1)
    assert recorded == expected
    assert len({q.question.id for q in logged}) == len(logged)


@pytest.mark.simcord(settle_timeout=120)  # a bound on the wall time of each burst, not a sleep
async def test_500_concurrent_questions_from_50_members_in_5_servers(simcord_env, caplog, backend, close_stores,
                                                                      database_path):
    env = simcord_env
    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.WARNING, logger="bot")
    rng = random.Random(500)
    roster = []  # (member, the channels of their server)
    for g in range(GUILDS):
        guild = env.create_guild(f"Server {g + 1}")
        server_channels = (guild.create_text_channel("general"), guild.create_text_channel("questions"))
        roster += [(guild.add_member(env.create_user(f"reader-{g + 1}-{m + 1}")), server_channels)
                   for m in range(MEMBERS_PER_GUILD)]
    channels = list(dict.fromkeys(channel for _, server_channels in roster for channel in server_channels))
    members = [member for member, _ in roster]
    await env.settle()  # the bot has seen its servers (and read their settings) before the questions, as at start-up

    burst = [q for member, server_channels in roster for q in questions_for(member, server_channels,
                                                                             QUESTIONS_EACH, rng)]
    rng.shuffle(burst)  # the members' questions interleaved, as they would arrive
    assert len(burst) == 500 and len(channels) == 10 and len({q.member.id for q in burst}) == 50
    assert Counter(q.via for q in burst) == {"slash": 250, "mention": 250}

    asked, let_in, elapsed = await concurrent_burst(env, burst)
    spread = (env.now() - let_in).total_seconds()
    print(f"\n500 concurrent questions (50 members, 5 servers), {backend} store: answered in {elapsed:.2f} s "
          f"wall time ({500 / elapsed:.0f} questions/s), {spread:.1f} s of simulated time")

    # Each member's window opened when the burst was let in. A second before it ends (or when the clock
    # already stands there, whenever the next questions are let in), each member asks once more.
    await env.advance_time(max(0.0, COOLDOWN_SECONDS - 1 - seconds_since(env, let_in)))
    still_early, let_in_again, _ = await concurrent_burst(env, [
        Question(member, server_channels[n % 2], rng.choice(list(ANSWERABLE)), ("slash", "mention")[n % 2])
        for n, (member, server_channels) in enumerate(roster)])
    window_left = (let_in + timedelta(seconds=COOLDOWN_SECONDS) - let_in_again).total_seconds()
    # Once the window has passed, every member may ask again.
    await env.advance_time(max(0.0, COOLDOWN_SECONDS - seconds_since(env, let_in)))
    later, _, _ = await concurrent_burst(env, [
        Question(member, server_channels[(n + 1) % 2], rng.choice([*ANSWERABLE, *UNANSWERABLE]),
                 ("mention", "slash")[n % 2]) for n, (member, server_channels) in enumerate(roster)])

    replies = replies_by_question(env, asked + still_early + later, channels)
    answered_in_order = defaultdict(list)  # member -> answered or refused, in the order the questions were sent
    for item, reply in zip(asked, replies[:len(asked)], strict=True):
        answered_in_order[item.question.member.id].append(reply.answered)
        if reply.answered:
            check_answer(item.question, reply)
        else:
            check_refusal(item.question, reply, COOLDOWN_SECONDS)
    for member in members:  # the cooldown holds under the burst, first come first served, for every member
        assert answered_in_order[member.id] == \
            [True] * COOLDOWN_QUESTIONS + [False] * (QUESTIONS_EACH - COOLDOWN_QUESTIONS), member
    for item, reply in zip(still_early, replies[len(asked):len(asked) + len(still_early)], strict=True):
        if window_left > 0:  # as on any machine that answered the first burst within the minute
            check_refusal(item.question, reply, math.ceil(window_left))
        else:
            assert reply.answered, item.question
            check_answer(item.question, reply)
    for item, reply in zip(later, replies[len(asked) + len(still_early):], strict=True):
        assert reply.answered, item.question
        check_answer(item.question, reply)

    # Every answered question is in the store, on either backend (and PostgreSQL left the SQLite path alone).
    await check_recorded(await flushed(close_stores[-1]), asked + still_early + later, replies)
    assert database_path.exists() == (backend == "sqlite")

    assert env.errors == []
    logged = [f"{r.name}: {r.getMessage()}" for r in caplog.records
              if r.levelno >= logging.ERROR or (r.name.startswith("bot") and r.levelno >= logging.WARNING)]
    assert logged == []

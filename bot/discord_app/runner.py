"""Running the bot from the terminal (`python -m bot run` and `python -m bot sync`).

Whatever stops it at start-up (no token, a rejected token, no route to Discord) becomes one line
on stderr and an exit code, never a traceback; the token is never printed or logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Literal

import aiohttp
import discord

from bot.discord_app.bot import KnowledgeBot
from bot.knowledge.models import KnowledgeError
from bot.settings import Settings
from bot.store import StoreError

log = logging.getLogger(__name__)

# Exit codes, as in the terminal commands: 1 a knowledge or other problem, 2 bad settings, 3 no connection.
FAILED, BAD_SETTINGS, UNREACHABLE = 1, 2, 3


class RedactSecret(logging.Filter):
    """Replace a secret (the token) wherever it would appear in a log line or traceback."""

    def __init__(self, secret: str):
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "[token]"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self.secret, "[token]")
        return True


def configure_logging(settings: Settings) -> None:
    """discord.py's logging set-up (colour in a terminal) at LOG_LEVEL, with the token redacted."""
    handler = logging.StreamHandler()
    if settings.discord_token:
        handler.addFilter(RedactSecret(settings.discord_token))
    discord.utils.setup_logging(handler=handler, level=getattr(logging, settings.log_level), root=True)


def startup_failure(exc: BaseException, settings: Settings) -> tuple[int, str] | None:
    """The one line (and exit code) for what stops the bot from starting; None when unexpected."""
    if isinstance(exc, discord.LoginFailure):
        return BAD_SETTINGS, ("Discord rejected DISCORD_TOKEN (wrong or reset token): copy the bot's token from "
                              "the Developer Portal (Bot → Reset Token) into .env")
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        if settings.message_content == "on":
            return BAD_SETTINGS, ("MESSAGE_CONTENT=on needs the Message Content intent: enable it in the Developer "
                                  "Portal (Bot → Privileged Gateway Intents) or set MESSAGE_CONTENT=auto")
        return BAD_SETTINGS, ("ASK_CHANNEL_IDS needs the Message Content intent: enable it in the Developer Portal "
                              "(Bot → Privileged Gateway Intents) or leave ASK_CHANNEL_IDS empty")
    if isinstance(exc, discord.Forbidden) and settings.guild_id:
        return BAD_SETTINGS, (f"Discord refused to register the commands in server {settings.guild_id} "
                              "(DISCORD_GUILD_ID): is the bot in that server, invited with the "
                              "applications.commands scope?")
    if isinstance(exc, KnowledgeError):
        return FAILED, str(exc)
    if isinstance(exc, StoreError):
        return FAILED, database_failure(exc)
    if isinstance(exc, discord.HTTPException):
        return FAILED, f"Discord refused a request: {exc.status} {exc.text or exc}"
    if isinstance(exc, (aiohttp.ClientError, discord.GatewayNotFound, discord.ConnectionClosed, OSError)):
        reason = str(exc) or type(exc).__name__
        return UNREACHABLE, f"cannot reach Discord ({reason}): check the network connection and try again"
    return None


def database_failure(exc: StoreError) -> str:
    """A database the bot refuses to touch (damaged, not SQLite, from a newer bot): which file, and what to do."""
    reason = " ".join(exc.reason.split())  # SQLite's own report of the damage can span lines
    line = f"the database {exc.where} cannot be used: {reason}"
    if "newer bot" in reason or "move it away" in reason or "://" in exc.where or exc.where == "DATABASE_URL":
        return line  # the reason already says what to do, or there is no file to move (PostgreSQL)
    return (f"{line}. Move the file aside (e.g. mv {exc.where} {exc.where}.damaged) or set DATABASE_PATH to "
            "another file, then start again: the bot begins a new memory there")


async def _start(settings: Settings, mode: Literal["serve", "sync"]) -> None:
    assert settings.discord_token is not None
    async with KnowledgeBot(settings, mode=mode) as bot:
        with contextlib.suppress(NotImplementedError, RuntimeError):  # a service manager's stop: close cleanly
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(bot.close()))
        if mode == "sync":
            await bot.login(settings.discord_token)  # setup_hook syncs the commands
        else:
            await bot.start(settings.discord_token)


def run_bot(settings: Settings, mode: Literal["serve", "sync"] = "serve") -> int:
    """Run until stopped (``serve``) or register the slash commands and exit (``sync``); returns the exit code."""
    if not settings.discord_token:
        print("error: DISCORD_TOKEN is not set: put the bot's token in .env or the environment "
              "(README.md: Discord set-up)", file=sys.stderr)
        return BAD_SETTINGS
    configure_logging(settings)
    try:
        asyncio.run(_start(settings, mode))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        failure = startup_failure(exc, settings)
        if failure is None:
            log.error("The bot stopped", exc_info=exc)
            failure = FAILED, f"the bot stopped: {type(exc).__name__}: {exc}"
        code, line = failure
        print(f"error: {line.replace(settings.discord_token, '[token]')}", file=sys.stderr)
        return code
    if mode == "sync":
        print("Slash commands registered " + (f"in server {settings.guild_id}." if settings.guild_id
                                                else "globally (Discord may take a while to show them)."))
    return 0

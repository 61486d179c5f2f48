"""The commands over what the bot remembers: stats, export, forget-server."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import json
import os
import sys
from pathlib import Path

from bot.cli.common import CliError
from bot.render import terminal
from bot.settings import Settings
from bot.store import ForgottenGuild, Scope, Stats, open_store


def scope_argument(value: str) -> Scope:
    """--guild: a server id, or "dm" for direct messages."""
    if value.strip().lower() in ("dm", "dms"):
        return None
    if not value.strip().isdigit():
        raise argparse.ArgumentTypeError("must be a server id or dm")
    return int(value)


def cmd_stats(args: argparse.Namespace) -> int:
    async def read() -> Stats:
        store = await open_store(Settings.from_env(), read_only=True)
        try:
            return await store.stats(args.guild, days=args.days)
        finally:
            await store.close()

    stats = asyncio.run(read())
    print(json.dumps(stats.to_json(), ensure_ascii=False) if args.json else terminal.render_stats(stats))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    async def export(out: io.StringIO) -> int:
        store = await open_store(Settings.from_env(), read_only=True)
        try:
            return await store.export(out, args.format, args.guild, days=args.days)
        finally:
            await store.close()

    out = io.StringIO()  # the whole export first: a database error leaves no file behind
    count = asyncio.run(export(out))
    if not args.output or args.output == "-":
        sys.stdout.write(out.getvalue())
        return 0
    target = Path(args.output)
    partial = target.with_name(f".{target.name}.partial")  # renamed when complete: never half a file
    try:
        partial.write_text(out.getvalue(), encoding="utf-8")
        os.replace(partial, target)
    except OSError as exc:
        if partial.exists():
            partial.unlink()
        raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"Wrote {count} question(s) to {args.output}")
    return 0


def server_id_argument(value: str) -> int:
    """forget-server's ID: a Discord server id (a positive whole number)."""
    value = value.strip()
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"must be a Discord server id (a whole number), not {value!r}")
    return int(value)


def cmd_forget_server(args: argparse.Namespace) -> int:
    settings = Settings.from_env()

    async def forget() -> ForgottenGuild:
        # First a read-only look: a database that is missing, damaged, unreachable or of another schema
        # version is one line, and nothing is created or changed.
        check = await open_store(settings, read_only=True)
        await check.close()
        # Forgetting hashes no user id: a placeholder salt, so no salt file is read or made.
        store = await open_store(dataclasses.replace(settings, hash_salt="forget-server"))
        try:
            return await store.forget_guild(args.server)
        finally:
            await store.close()

    print(terminal.render_forgotten(asyncio.run(forget())))
    return 0

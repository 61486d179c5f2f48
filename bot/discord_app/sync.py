"""Slash-command syncing: only when the command set changed, because Discord rate-limits syncs.

The fingerprint of the last sync (application, scope, and a hash of the command payload) is kept
in a small JSON file in the state directory.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

log = logging.getLogger(__name__)

STATE_FILE = "commands.json"


def command_payload(tree: app_commands.CommandTree, guild: discord.abc.Snowflake | None) -> list[dict[str, Any]]:
    """What a sync would send to Discord for this scope."""
    return [command.to_dict(tree) for command in tree.get_commands(guild=guild)]


def fingerprint(payload: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class SyncRecord:
    """The last sync, read from and written to ``state_dir/commands.json``."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / STATE_FILE

    def load(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable %s (%s); commands will be synced", self.path, exc)
            return None

    def save(self, record: dict[str, Any]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(record, indent=2), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError as exc:  # the sync itself worked: the next start merely syncs again
            log.warning("Cannot write %s (%s); commands will be synced again on the next start", self.path, exc)


async def sync_commands(tree: app_commands.CommandTree, application_id: int | None, guild_id: int | None,
                        record: SyncRecord, *, force: bool = False) -> bool:
    """Sync to ``guild_id`` (instant, for development) or globally; skip it when nothing changed.

    "Unchanged" means the same application, scope and payload as the last sync recorded here, and
    Discord still lists every command (someone may have removed them meanwhile). Returns whether it synced.
    """
    guild = discord.Object(guild_id) if guild_id else None
    if guild is not None:
        tree.copy_global_to(guild=guild)
    payload = command_payload(tree, guild)
    scope = f"guild {guild_id}" if guild_id else "global"
    current = {"application_id": application_id, "scope": scope, "fingerprint": fingerprint(payload)}
    if not force and record.load() == current:
        registered = {command.name for command in await tree.fetch_commands(guild=guild)}
        if registered == {command["name"] for command in payload}:
            log.info("Slash commands unchanged (%s): not syncing", scope)
            return False
    synced = await tree.sync(guild=guild)
    record.save(current)
    log.info("Synced %d slash commands (%s)", len(synced), scope)
    return True

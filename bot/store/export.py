"""The question log as CSV or JSON for analysis (``python -m bot export``), the same for every backend.

Pseudonyms only: askers appear as their salted hash, which still lets an analyst count people
without knowing who they are. Discord ids are written as strings (they exceed JavaScript's 2^53).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from bot.store.base import ExportFormat, LoggedQuestion

COLUMNS = ("id", "asked_at", "guild_id", "channel_id", "asker_hash", "question", "answered", "passage_ids",
           "latency_ms", "votes_up", "votes_down")


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def export_row(entry: LoggedQuestion) -> dict:
    q = entry.question
    return {"id": q.id, "asked_at": q.asked_at.isoformat(), "guild_id": _id(q.guild_id),
            "channel_id": _id(q.channel_id), "asker_hash": q.asker_hash, "question": q.question,
            "answered": q.answered, "passage_ids": list(q.passage_ids), "latency_ms": q.latency_ms,
            "votes_up": entry.votes_up, "votes_down": entry.votes_down}


def write_export(entries: Iterable[LoggedQuestion], out: TextIO, format: ExportFormat) -> int:
    """Write the entries, oldest first as given; returns how many.

    CSV: one row per question, ``passage_ids`` space-separated, ``answered`` as true/false, empty
    cells for missing ids. JSON: an array of objects with the same keys, ``passage_ids`` a list.
    """
    if format not in ("csv", "json"):
        raise ValueError(f"unknown export format {format!r}: csv or json")
    count = 0
    if format == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for entry in entries:
            row = export_row(entry)
            row["passage_ids"] = " ".join(row["passage_ids"])
            row["answered"] = "true" if row["answered"] else "false"
            writer.writerow(row)
            count += 1
        return count
    out.write("[")
    for entry in entries:
        out.write(("," if count else "") + "\n  " + json.dumps(export_row(entry), ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count

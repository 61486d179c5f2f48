"""What slash-command options suggest as you type.

Kept out of the cogs: an extension module is re-executed by ``load_extension``, so importing a
helper from one extension into another can meet it half-initialised when two bots start at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from discord import app_commands

from bot.knowledge.models import Document
from bot.render.discord_text import CHOICE_LIMIT, trim


def document_choices(documents: Sequence[Document], typed: str) -> list[app_commands.Choice[str]]:
    """Up to 25 documents whose title or id contains what was typed; the value is what the filter matches."""
    typed = typed.strip().lower()
    choices = []
    for doc in documents:
        if typed and typed not in doc.title.lower() and typed not in doc.id.lower():
            continue
        value = doc.id if len(doc.id) <= CHOICE_LIMIT else doc.title[:CHOICE_LIMIT]
        choices.append(app_commands.Choice(name=trim(doc.title, CHOICE_LIMIT), value=value))
        if len(choices) == 25:
            break
    return choices

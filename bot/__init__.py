"""A question-answering bot over a knowledge base of articles.

The engine (knowledge, search, answers) is Discord-free; ``create_bot`` builds
the Discord bot on top of it.
"""

from bot.answers import Answer, Citation, Excerpt
from bot.engine import Engine, ReloadReport
from bot.knowledge import Document, KnowledgeBase, KnowledgeError, Passage, load_knowledge_dir
from bot.settings import Settings

__all__ = ["Answer", "Citation", "Document", "Engine", "Excerpt", "KnowledgeBase", "KnowledgeError", "Passage",
           "ReloadReport", "Settings", "create_bot", "load_knowledge_dir"]


def __getattr__(name: str):
    # discord.py is imported only when the Discord bot is wanted, not by the terminal commands.
    if name == "create_bot":
        from bot.discord_app import create_bot

        return create_bot
    raise AttributeError(f"module 'bot' has no attribute {name!r}")

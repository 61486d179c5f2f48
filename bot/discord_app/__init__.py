"""The Discord layer: a thin discord.py bot over the engine (``create_bot`` builds it from the environment)."""

from bot.discord_app.bot import KnowledgeBot, create_bot

__all__ = ["KnowledgeBot", "create_bot"]

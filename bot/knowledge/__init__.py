"""Knowledge files -> Documents and Passages."""

from bot.knowledge.loader import load_knowledge_dir, parse_document
from bot.knowledge.models import Document, KnowledgeBase, KnowledgeError, Passage, Problem

__all__ = ["Document", "KnowledgeBase", "KnowledgeError", "Passage", "Problem", "load_knowledge_dir",
           "parse_document"]

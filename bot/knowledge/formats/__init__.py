"""One parser per format, each turning a file into a ParsedDocument (bot.knowledge.blocks)."""

"""One cog per feature area, loaded as extensions by ``KnowledgeBot.setup_hook``."""

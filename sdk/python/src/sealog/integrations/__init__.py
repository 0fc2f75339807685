"""Optional integrations, imported lazily: ``sealog.integrations.langchain``,
``sealog.integrations.openai``, ``sealog.integrations.anthropic``."""

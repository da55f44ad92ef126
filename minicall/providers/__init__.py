"""One thin module per provider: ``from minicall.providers import openai``.

Each module is imported only when used, so ``import minicall`` loads none of them.
"""

__all__ = [
    "anthropic",
    "azure",
    "bedrock",
    "cohere",
    "google",
    "groq",
    "litellm",
    "mistral",
    "openai",
    "vertex",
    "xai",
]

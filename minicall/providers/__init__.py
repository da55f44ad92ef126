"""One thin module per provider: ``from minicall.providers import openai``.

Each module is imported only when used, so ``import minicall`` loads none of them.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers only: at run time each module loads when imported
    from . import anthropic, azure, bedrock, cohere, google, groq, litellm, mistral, openai, vertex, xai

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

"""The table of providers: where each lives, loaded only when first used."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["ALIASES", "PROVIDERS", "canonical", "check_provider", "provider_module"]

# provider name -> client class name in ``minicall.providers.<name>``
PROVIDERS: dict[str, str] = {
    "openai": "OpenAIClient",
    "anthropic": "AnthropicClient",
    "google": "GoogleClient",
    "groq": "GroqClient",
    "xai": "XAIClient",
    "mistral": "MistralClient",
    "cohere": "CohereClient",
    "litellm": "LiteLLMClient",
    "azure": "AzureClient",
    "bedrock": "BedrockClient",
}

# Mirascope's other names for Google: alias -> (the provider that answers, the module
# whose client class serves the alias by default). "vertex" defaults to Vertex AI.
ALIASES: dict[str, tuple[str, str]] = {
    "gemini": ("google", "google"),
    "vertex": ("google", "vertex"),
}


def check_provider(provider: str) -> str:
    """``provider`` if known; otherwise ``ValueError`` naming the known ones."""
    if provider not in PROVIDERS and provider not in ALIASES:
        known = ", ".join([*PROVIDERS, *ALIASES])
        from .._model.errors import ConfigurationError  # a ValueError, as API.md promises

        raise ConfigurationError(f"unknown provider {provider!r}; known providers: {known}")
    return provider


def provider_module(provider: str) -> ModuleType:
    """Import ``minicall.providers.<provider>`` on first use (an alias's own module)."""
    name = check_provider(provider)
    alias = ALIASES.get(name)
    return importlib.import_module(f"..providers.{alias[1] if alias else name}", __package__)


def canonical(provider: str) -> str:
    """The provider that answers for ``provider`` (``"google"`` for its aliases)."""
    alias = ALIASES.get(provider)
    return alias[0] if alias else provider

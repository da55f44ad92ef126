"""The table of providers: where each lives, loaded only when first used."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["PROVIDERS", "check_provider", "provider_module"]

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


def check_provider(provider: str) -> str:
    """``provider`` if known; otherwise ``ValueError`` naming the known ones."""
    if provider not in PROVIDERS:
        known = ", ".join(PROVIDERS)
        from .._model.errors import ConfigurationError  # a ValueError, as API.md promises

        raise ConfigurationError(f"unknown provider {provider!r}; known providers: {known}")
    return provider


def provider_module(provider: str) -> ModuleType:
    """Import ``minicall.providers.<provider>`` on first use."""
    return importlib.import_module(f"minicall.providers.{check_provider(provider)}")

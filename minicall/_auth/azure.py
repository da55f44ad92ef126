"""Azure credentials: an API key, or a Microsoft Entra ID bearer token (given, from a
function called per request, or from ``AZURE_OPENAI_AD_TOKEN``).

Resolved as the openai SDK's ``AzureOpenAI`` resolves them: a credential passed in picks
the principal, and only when none is passed is the environment read, where an Entra
token wins over a key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ._env import env_first

__all__ = ["AD_TOKEN_ENV", "AzureCredential"]

AD_TOKEN_ENV = "AZURE_OPENAI_AD_TOKEN"


class AzureCredential:
    """What an Azure client authenticates with; the key itself stays with the client."""

    __slots__ = ("_ad_token", "_token_provider", "key")

    def __init__(
        self,
        api_key: str | None,
        azure_ad_token: str | None,
        azure_ad_token_provider: Callable[[], str] | None,
        key_env: Sequence[str],
    ) -> None:
        if api_key is None and azure_ad_token is None and azure_ad_token_provider is None:
            self._ad_token = env_first(AD_TOKEN_ENV)
            self.key = None if self._ad_token else env_first(*key_env)
        else:
            self._ad_token = azure_ad_token
            self.key = api_key
        self._token_provider = azure_ad_token_provider

    @property
    def found(self) -> bool:
        """Whether there is a key or a token at all."""
        return self.key is not None or self._ad_token is not None or self._token_provider is not None

    def headers(self, api_key: str | None, key_headers: Sequence[str]) -> dict[str, str]:
        """The auth headers: the Entra token as a bearer, else ``api_key`` in each of
        ``key_headers`` (``api-key`` and/or ``Authorization``, as the style's SDK sends it)."""
        token = self._token_provider() if self._token_provider is not None else self._ad_token
        if token:
            return {"Authorization": f"Bearer {token}"}
        if not api_key:
            return {}
        forms = {"api-key": api_key, "Authorization": f"Bearer {api_key}"}
        return {name: forms[name] for name in key_headers}

    def __repr__(self) -> str:
        return "AzureCredential([redacted])"

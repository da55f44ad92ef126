"""Azure: AI Model Inference and Azure OpenAI, classic and v1 (PROVIDERS.md sections 1a, 9).

One :class:`AzureClient` serves the three URL shapes (see its docstring). Environment:
``AZURE_AI_API_KEY``, ``AZURE_AI_ENDPOINT``, ``AZURE_AI_API_VERSION`` (default
``2024-05-01-preview``) for AI Model Inference (Mirascope's ``AZURE_INFERENCE_CREDENTIAL``
and ``AZURE_INFERENCE_ENDPOINT`` also work); ``AZURE_OPENAI_API_KEY``,
``AZURE_OPENAI_ENDPOINT``, ``OPENAI_API_VERSION`` (default ``2024-10-21``) and
``AZURE_OPENAI_AD_TOKEN`` for Azure OpenAI, as the openai SDK's ``AzureOpenAI`` reads
them; the v1 API reads the same key, token and endpoint but no API version. Inference
sends the key as both ``api-key`` and ``Authorization: Bearer`` (as the
azure-ai-inference SDK does); classic Azure OpenAI sends ``api-key``; the v1 API gets
``Authorization: Bearer <key>``, as the openai SDK's plain ``OpenAI`` client sends it
there (Microsoft's documented client for v1). A blocked prompt or reply shows as
finish reason ``content_filter``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, NamedTuple, TypedDict

from .._call.sdk_clients import OpenAISDKClient, AzureInferenceSDKClient
from .._auth.azure import AD_TOKEN_ENV, AzureCredential
from .._call.client import env_first
from .._call.decorate import ProviderCall
from .._call.response import BaseCallResponse, BaseCallResponseChunk
from .._call.settings import Flavor
from .._call.stream import BaseAsyncStream, BaseStream
from .._call.tools import BaseTool, ToolConfig
from .._codecs.openai.codec import AZURE, AZURE_OPENAI, AZURE_OPENAI_V1, Dialect
from .._codecs.openai.types import (
    AssistantMessageParam,
    MessageParam,
    SystemMessageParam,
    ToolMessageParam,
    UserMessageParam,
)
from .._model.errors import *
from .._model.errors import ConfigurationError
from .._model import errors as _errors
from .._model.http import AsyncTransport, Transport, split_url
from .._model.spec import Codec, Endpoint
from ._compat import CompatClient, codec_for
from .openai import OpenAICallParams

__all__ = [
    "call",
    "azure_call",
    "AzureClient",
    "AzureCallResponse",
    "AzureCallResponseChunk",
    "AzureStream",
    "AzureAsyncStream",
    "AzureDynamicConfig",
    "AsyncAzureDynamicConfig",
    "AzureCallParams",
    "AzureTool",
    "AzureToolConfig",
    "AzureMessageParam",
    "AzureSystemMessageParam",
    "AzureUserMessageParam",
    "AzureAssistantMessageParam",
    "AzureToolMessageParam",
]
__all__ += _errors.__all__  # the error classes, as Mirascope's provider modules have them

CLIENT_CLASS = "AzureClient"

AzureMessageParam = MessageParam
AzureSystemMessageParam = SystemMessageParam
AzureUserMessageParam = UserMessageParam
AzureAssistantMessageParam = AssistantMessageParam
AzureToolMessageParam = ToolMessageParam


class AzureCallParams(OpenAICallParams, total=False):
    """The Chat Completions parameters; Azure OpenAI takes all of OpenAI's, AI Model
    Inference the common ones (``max_tokens``, ``seed``, ``stop``, penalties, ...)."""


class _Style(NamedTuple):
    """One of Azure's URL shapes: where its settings live and how it authenticates."""

    key_env: tuple[str, ...]
    endpoint_env: tuple[str, ...]
    version_env: tuple[str, ...]
    version: str | None  # None: no api-version unless one is passed explicitly
    dialect: Dialect
    key_headers: tuple[str, ...]  # the headers that carry an API key, as its SDK sends it


_STYLES: dict[str, _Style] = {
    # Mirascope v1 reads AZURE_INFERENCE_*: accepted after minicall's own names.
    "inference": _Style(
        ("AZURE_AI_API_KEY", "AZURE_INFERENCE_CREDENTIAL"),
        ("AZURE_AI_ENDPOINT", "AZURE_INFERENCE_ENDPOINT"),
        ("AZURE_AI_API_VERSION",),
        "2024-05-01-preview",
        AZURE,
        ("api-key", "Authorization"),
    ),
    "openai": _Style(
        ("AZURE_OPENAI_API_KEY",),
        ("AZURE_OPENAI_ENDPOINT",),
        ("OPENAI_API_VERSION",),
        "2024-10-21",
        AZURE_OPENAI,
        ("api-key",),
    ),
    # The v1 API is dateless: OPENAI_API_VERSION (a classic setting, often still in the
    # environment) is not read; an explicit api_version (e.g. "preview") is still sent.
    "v1": _Style(
        ("AZURE_OPENAI_API_KEY",),
        ("AZURE_OPENAI_ENDPOINT",),
        (),
        None,
        AZURE_OPENAI_V1,
        ("Authorization",),
    ),
}
# A base URL ending so is the v1 API's, as given to the openai SDK's ``OpenAI`` client.
_V1_SUFFIX = "/openai/v1"


class AzureClient(CompatClient):
    """Connection settings for Azure: AI Model Inference or Azure OpenAI.

    ``deployment_style`` is ``"inference"`` (``{endpoint}/chat/completions``, the body's
    ``model`` picks the deployment), ``"openai"``
    (``{endpoint}/openai/deployments/{model}/chat/completions?api-version=...``) or
    ``"v1"`` (``{endpoint}/openai/v1/chat/completions``, the body's ``model`` names the
    deployment, no api-version). Unset, it is ``"v1"`` for an endpoint ending in
    ``/openai/v1`` (the ``base_url`` the openai SDK's ``OpenAI`` client takes for it),
    ``"openai"`` for another endpoint from ``AZURE_OPENAI_ENDPOINT`` or on a
    ``*.openai.azure.com`` host, else ``"inference"``. In the v1 style ``base_url`` may
    be the endpoint or end in ``/openai/v1``; :attr:`base_url` keeps the endpoint.
    ``azure_ad_token`` (or ``azure_ad_token_provider``, called per request) is an Entra
    ID bearer token and wins over the key, as in the openai SDK.
    """

    provider: ClassVar[str] = "azure"
    dialect = AZURE
    api_key_env: ClassVar[tuple[str, ...]] = ("AZURE_AI_API_KEY", "AZURE_INFERENCE_CREDENTIAL", "AZURE_OPENAI_API_KEY")
    base_url_env: ClassVar[tuple[str, ...]] = ("AZURE_AI_ENDPOINT", "AZURE_INFERENCE_ENDPOINT", "AZURE_OPENAI_ENDPOINT")

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int = 2,
        headers: Mapping[str, str] | None = None,
        transport: Transport | AsyncTransport | None = None,
        ca_file: str | None = None,
        verify: bool = True,
        api_version: str | None = None,
        deployment_style: Literal["inference", "openai", "v1"] | None = None,
        azure_ad_token: str | None = None,
        azure_ad_token_provider: Callable[[], str] | None = None,
    ) -> None:
        if deployment_style is not None and deployment_style not in _STYLES:
            raise ConfigurationError(
                f"deployment_style must be one of {sorted(_STYLES)}, got {deployment_style!r}"
            )
        url, style_name = _endpoint_and_style(base_url, deployment_style)
        style = _STYLES[style_name]
        if style_name == "v1":
            url = _without_v1_suffix(url)
        self.deployment_style = style_name
        self._credential = AzureCredential(api_key, azure_ad_token, azure_ad_token_provider, style.key_env)
        if not self._credential.found:
            names = " or ".join((*style.key_env, AD_TOKEN_ENV))
            raise ConfigurationError(
                f"no API key for azure ({style_name}): pass api_key= to AzureClient or set {names}"
            )
        super().__init__(
            api_key=self._credential.key or "",
            base_url=url,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            headers=headers,
            transport=transport,
            ca_file=ca_file,
            verify=verify,
        )
        self.api_version = api_version or env_first(*style.version_env) or style.version

    @classmethod
    def environment(cls) -> dict[str, tuple[str, ...]]:
        """Every style's variables: key, endpoint, API version and the Entra token."""
        return {
            "api key": cls.api_key_env,
            "endpoint": cls.base_url_env,
            "api version": ("AZURE_AI_API_VERSION", "OPENAI_API_VERSION"),
            "entra token": (AD_TOKEN_ENV,),
        }

    @classmethod
    def is_configured(cls) -> bool:
        """Whether an endpoint and a key (or token) are in the environment."""
        return any(
            env_first(*s.endpoint_env) and env_first(*s.key_env, AD_TOKEN_ENV)
            for s in _STYLES.values()
        )

    @property
    def codec(self) -> Codec:
        return codec_for(_STYLES[self.deployment_style].dialect)

    def _build_endpoint(self) -> Endpoint:
        return Endpoint(
            base_url=self.base_url,
            headers=self.headers,
            options={"api_version": self.api_version} if self.api_version else {},
            timeout=self.timeout,
        )

    def auth_headers(self) -> dict[str, str]:
        return self._credential.headers(self._api_key, _STYLES[self.deployment_style].key_headers)


def _endpoint_and_style(base_url: str | None, style: str | None) -> tuple[str, str]:
    """The endpoint and the URL shape: explicit, else by the endpoint's path, else by
    where the endpoint came from."""
    if base_url is not None:
        return base_url, style or _style_of_url(base_url)
    order = [style] if style is not None else list(_STYLES)
    for name in order:
        url = env_first(*_STYLES[name].endpoint_env)
        if url is not None:
            # AZURE_OPENAI_ENDPOINT means Azure OpenAI whatever its host.
            return url, style or _style_of_url(url, "openai" if name != "inference" else None)
    names = " or ".join(dict.fromkeys(n for s in order for n in _STYLES[s].endpoint_env))
    raise ConfigurationError(f"no endpoint for azure: pass base_url= to AzureClient or set {names}")


def _style_of_url(url: str, default: str | None = None) -> str:
    parts = split_url(url)
    if parts.path.rstrip("/").endswith(_V1_SUFFIX):
        return "v1"
    if default is not None:
        return default
    return "openai" if (parts.hostname or "").endswith(".openai.azure.com") else "inference"


def _without_v1_suffix(url: str) -> str:
    """The endpoint of a v1 base URL: the v1 dialect's path adds ``/openai/v1`` back."""
    url = url.rstrip("/")
    return url.removesuffix(_V1_SUFFIX)


class AzureToolConfig(ToolConfig, total=False):
    """``tool_config`` keys Azure reads: ``strict=True`` sends a strict function, as
    ``OpenAIToolConfig`` does."""

    strict: bool


class AzureTool(BaseTool):
    """A tool for Azure calls (any ``BaseTool`` works)."""


class AzureCallResponse(BaseCallResponse[AzureMessageParam]):
    """A Azure chat completion: native message dicts and Azure's finish reasons."""

    _codec = codec_for(AZURE)  # both deployment styles write tool results alike


class AzureCallResponseChunk(BaseCallResponseChunk):
    """One streamed chat completion chunk."""


class AzureStream(BaseStream[AzureCallResponse, AzureCallResponseChunk]):
    """A streamed Azure reply."""


class AzureAsyncStream(BaseAsyncStream[AzureCallResponse, AzureCallResponseChunk]):
    """A streamed Azure reply, async."""


class AzureDynamicConfig(TypedDict, total=False):
    """What a Azure prompt function may return."""

    messages: Sequence[AzureMessageParam | Any]
    call_params: AzureCallParams
    metadata: Mapping[str, Any]
    client: AzureClient | OpenAISDKClient | AzureInferenceSDKClient
    tools: Sequence[Any]
    computed_fields: Mapping[str, Any]


AsyncAzureDynamicConfig = AzureDynamicConfig
"""Mirascope's name for the config of ``async def`` prompts: the same dict, since one client serves both."""


call = ProviderCall[
    AzureCallResponse,
    AzureStream,
    AzureAsyncStream,
    AzureCallParams,
    AzureClient | OpenAISDKClient | AzureInferenceSDKClient,
](
    "azure", Flavor(AzureCallResponse, AzureStream, AzureAsyncStream, AzureCallResponseChunk)
)
"""``@azure.call("gpt-4o-mini")``: see :func:`minicall.llm.call`."""

azure_call = call
"""Mirascope's other name for :data:`call`."""

"""Anthropic Messages API.

Environment: ``ANTHROPIC_API_KEY`` (sent as ``x-api-key``) or ``ANTHROPIC_AUTH_TOKEN``
(sent as ``Authorization: Bearer``), ``ANTHROPIC_BASE_URL`` (the host root, without
``/v1``, as for the official SDK). Client options: ``version`` (the
``anthropic-version`` header, default ``2023-06-01``) and ``betas`` (the
``anthropic-beta`` features). ``max_tokens`` defaults to 1024.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypedDict

from .._call.sdk_clients import AnthropicSDKClient
from .._call.client import BaseClient, env_first
from .._call.decorate import ProviderCall
from .._call.response import BaseCallResponse, BaseCallResponseChunk
from .._call.settings import Flavor
from .._call.stream import BaseAsyncStream, BaseStream
from .._call.tools import BaseTool, ToolConfig
from .._codecs.anthropic.codec import ANTHROPIC, DEFAULT_VERSION
from .._model.errors import *
from .._model.errors import ConfigurationError
from .._model import errors as _errors
from .._model.http import AsyncTransport, Transport
from .._model.spec import Codec, Endpoint

__all__ = [
    "call",
    "anthropic_call",
    "AnthropicClient",
    "AnthropicCallResponse",
    "AnthropicCallResponseChunk",
    "AnthropicStream",
    "AnthropicAsyncStream",
    "AnthropicDynamicConfig",
    "AsyncAnthropicDynamicConfig",
    "AnthropicCallParams",
    "AnthropicTool",
    "AnthropicToolConfig",
    "CacheControl",
    "AnthropicMessageParam",
    "MessageParam",
    "TextBlockParam",
    "ImageBlockParam",
    "DocumentBlockParam",
    "ToolUseBlockParam",
    "ToolResultBlockParam",
    "ContentBlockParam",
]
__all__ += _errors.__all__  # the error classes, as Mirascope's provider modules have them

CLIENT_CLASS = "AnthropicClient"


# -- native message dicts -------------------------------------------------------------


class _TextBlockBase(TypedDict):
    type: Literal["text"]
    text: str


class TextBlockParam(_TextBlockBase, total=False):
    """``{"type": "text", "text": ...}``, optionally cached."""

    cache_control: dict[str, Any]
    citations: list[dict[str, Any]]


class ImageBlockParam(TypedDict):
    """``{"type": "image", "source": {"type": "base64", media_type, data} | {"type": "url", url}}``"""

    type: Literal["image"]
    source: dict[str, Any]


class DocumentBlockParam(TypedDict):
    """``{"type": "document", "source": {...}}`` (PDF as base64 or URL, or plain text)."""

    type: Literal["document"]
    source: dict[str, Any]


class ToolUseBlockParam(TypedDict):
    """A tool call in an assistant turn."""

    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class _ToolResultBase(TypedDict):
    type: Literal["tool_result"]
    tool_use_id: str


class ToolResultBlockParam(_ToolResultBase, total=False):
    """A tool result in a user turn."""

    content: str | list[dict[str, Any]]
    is_error: bool


ContentBlockParam = (
    TextBlockParam
    | ImageBlockParam
    | DocumentBlockParam
    | ToolUseBlockParam
    | ToolResultBlockParam
    | dict[str, Any]
)


class MessageParam(TypedDict):
    """A turn: ``role`` user or assistant, ``content`` text or blocks.

    A ``{"role": "system"}`` dict in a prompt is lifted into the request's ``system``.
    """

    role: Literal["user", "assistant", "system"]
    content: str | list[ContentBlockParam]


AnthropicMessageParam = MessageParam


class AnthropicCallParams(TypedDict, total=False):
    """The documented Messages API parameters (``stop`` maps to ``stop_sequences``)."""

    extra_headers: dict[str, str]
    extra_query: dict[str, Any]
    extra_body: dict[str, Any]
    timeout: float
    max_tokens: int
    metadata: dict[str, str]
    stop_sequences: list[str]
    system: str | list[TextBlockParam]
    temperature: float
    thinking: dict[str, Any]
    tool_choice: dict[str, Any]
    top_k: int
    top_p: float
    service_tier: Literal["auto", "standard_only"]
    container: str
    mcp_servers: list[dict[str, Any]]


# -- the client -------------------------------------------------------------------------


class AnthropicClient(BaseClient):
    """Connection settings for Anthropic: an API key or a bearer token, version, betas."""

    provider: ClassVar[str] = "anthropic"
    api_key_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_KEY",)
    auth_token_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_AUTH_TOKEN",)
    base_url_env: ClassVar[tuple[str, ...]] = ("ANTHROPIC_BASE_URL",)
    default_base_url: ClassVar[str] = "https://api.anthropic.com"
    requires_api_key: ClassVar[bool] = False

    def __init__(
        self,
        *,
        api_key: str | None = None,
        auth_token: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int = 2,
        headers: Mapping[str, str] | None = None,
        transport: Transport | AsyncTransport | None = None,
        ca_file: str | None = None,
        verify: bool = True,
        version: str = DEFAULT_VERSION,
        betas: Sequence[str] = (),
    ) -> None:
        if auth_token is not None and api_key is None:
            api_key = ""  # an explicit token outranks a key in the environment, as in the SDK
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            headers=headers,
            transport=transport,
            ca_file=ca_file,
            verify=verify,
        )
        # A key (explicit or from the environment) outranks ANTHROPIC_AUTH_TOKEN.
        self._auth_token = (
            auth_token
            if auth_token is not None or self._api_key
            else env_first(*self.auth_token_env)
        )
        if not self._api_key and not self._auth_token:
            raise ConfigurationError(
                "no API key for anthropic: pass api_key= (or auth_token=) to AnthropicClient"
                " or set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)"
            )
        if isinstance(betas, str):
            betas = [betas]
        self.version = version
        self.betas = tuple(betas)

    @classmethod
    def environment(cls) -> dict[str, tuple[str, ...]]:
        return {
            "api key": cls.api_key_env,
            "auth token": cls.auth_token_env,
            "base url": cls.base_url_env,
        }

    @classmethod
    def is_configured(cls) -> bool:
        return env_first(*cls.api_key_env, *cls.auth_token_env) is not None

    def auth_headers(self) -> dict[str, str]:
        if self._api_key:
            return {"x-api-key": self._api_key}
        return {"Authorization": f"Bearer {self._auth_token}"}

    def _build_endpoint(self) -> Endpoint:
        options = {"version": self.version}
        if self.betas:
            options["betas"] = ",".join(self.betas)
        return Endpoint(
            base_url=self.base_url, headers=self.headers, options=options, timeout=self.timeout
        )

    @property
    def codec(self) -> Codec:
        return ANTHROPIC


# -- typed responses ----------------------------------------------------------------------


class _CacheControlBase(TypedDict):
    type: str


class CacheControl(_CacheControlBase, total=False):
    """``{"type": "ephemeral"}``, optionally with a ``ttl`` (``"5m"``, ``"1h"``)."""

    ttl: str


class AnthropicToolConfig(ToolConfig, total=False):
    """``tool_config`` keys Anthropic reads: ``cache_control={"type": "ephemeral"}`` puts
    a prompt-cache breakpoint after this tool's definition (the tools before it and it
    are cached)."""

    cache_control: CacheControl


class AnthropicTool(BaseTool):
    """A tool for Anthropic calls (any ``BaseTool`` works; this name mirrors Mirascope)."""


class AnthropicCallResponse(BaseCallResponse[MessageParam]):
    """A Messages API response: native message dicts and ``stop_reason`` values."""

    _codec = ANTHROPIC


class AnthropicCallResponseChunk(BaseCallResponseChunk):
    """One stream event (``message_start``, ``content_block_delta``, ...)."""


class AnthropicStream(BaseStream[AnthropicCallResponse, AnthropicCallResponseChunk]):
    """A streamed Messages API reply."""


class AnthropicAsyncStream(BaseAsyncStream[AnthropicCallResponse, AnthropicCallResponseChunk]):
    """A streamed Messages API reply, async."""


class AnthropicDynamicConfig(TypedDict, total=False):
    """What an Anthropic prompt function may return."""

    messages: Sequence[MessageParam | Any]
    call_params: AnthropicCallParams
    metadata: Mapping[str, Any]
    client: AnthropicClient | AnthropicSDKClient
    tools: Sequence[Any]
    computed_fields: Mapping[str, Any]


AsyncAnthropicDynamicConfig = AnthropicDynamicConfig
"""Mirascope's name for the config of ``async def`` prompts: the same dict, since one client serves both."""


call = ProviderCall[
    AnthropicCallResponse,
    AnthropicStream,
    AnthropicAsyncStream,
    AnthropicCallParams,
    AnthropicClient | AnthropicSDKClient,
](
    "anthropic",
    Flavor(
        AnthropicCallResponse, AnthropicStream, AnthropicAsyncStream, AnthropicCallResponseChunk
    ),
)
"""``@anthropic.call("claude-3-5-sonnet-latest")``: see :func:`minicall.llm.call`."""

anthropic_call = call
"""Mirascope's other name for :data:`call`."""

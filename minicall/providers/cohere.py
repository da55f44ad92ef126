"""Cohere v2 Chat.

Environment: ``CO_API_KEY`` (``COHERE_API_KEY`` is accepted too, as the official SDK
does), ``CO_API_URL`` (the host root, e.g. ``https://api.cohere.com``). Cohere reports
no model, so a response's ``model`` is the one requested.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypedDict

from .._call.sdk_clients import CohereSDKClient
from .._call.client import BaseClient
from .._call.decorate import ProviderCall
from .._call.response import BaseCallResponse, BaseCallResponseChunk
from .._call.settings import Flavor
from .._call.stream import BaseAsyncStream, BaseStream
from .._call.tools import BaseTool
from .._codecs.cohere import CODEC
from .._codecs.openai.types import ImageContentPart as ImageUrlContent
from .._codecs.openai.types import TextContentPart as TextContent
from .._model.errors import *
from .._model import errors as _errors
from .._model.http import AsyncTransport, Transport
from .._model.spec import Codec

__all__ = [
    "call",
    "cohere_call",
    "CohereClient",
    "CohereCallResponse",
    "CohereCallResponseChunk",
    "CohereStream",
    "CohereAsyncStream",
    "CohereDynamicConfig",
    "AsyncCohereDynamicConfig",
    "CohereCallParams",
    "CohereTool",
    "CohereMessageParam",
    "SystemChatMessageV2",
    "UserChatMessageV2",
    "AssistantChatMessageV2",
    "ToolChatMessageV2",
]
__all__ += _errors.__all__  # the error classes, as Mirascope's provider modules have them

CLIENT_CLASS = "CohereClient"


class ToolCallFunction(TypedDict):
    """A tool name and its arguments as JSON text."""

    name: str
    arguments: str


class ToolCallV2(TypedDict):
    """A tool call in an assistant message."""

    id: str
    type: Literal["function"]
    function: ToolCallFunction


class SystemChatMessageV2(TypedDict):
    """A system message."""

    role: Literal["system"]
    content: str | list[TextContent]


class UserChatMessageV2(TypedDict):
    """A user message: text, or text and image parts."""

    role: Literal["user"]
    content: str | list[TextContent | ImageUrlContent]


class _AssistantBase(TypedDict):
    role: Literal["assistant"]


class AssistantChatMessageV2(_AssistantBase, total=False):
    """An assistant message: text, and/or tool calls with the plan that led to them."""

    content: str | list[TextContent]
    tool_calls: list[ToolCallV2]
    tool_plan: str


class ToolChatMessageV2(TypedDict):
    """The result of one tool call."""

    role: Literal["tool"]
    tool_call_id: str
    content: str | list[dict[str, Any]]


CohereMessageParam = SystemChatMessageV2 | UserChatMessageV2 | AssistantChatMessageV2 | ToolChatMessageV2


class CohereCallParams(TypedDict, total=False):
    """The documented v2 Chat parameters (``top_p``/``stop`` are renamed to ``p``/``stop_sequences``)."""

    extra_headers: dict[str, str]
    extra_query: dict[str, Any]
    extra_body: dict[str, Any]
    timeout: float
    max_tokens: int
    temperature: float
    p: float
    k: int
    seed: int
    stop_sequences: list[str]
    frequency_penalty: float
    presence_penalty: float
    logprobs: bool
    safety_mode: Literal["CONTEXTUAL", "STRICT", "OFF"]
    documents: list[str | dict[str, Any]]
    citation_options: dict[str, Any]
    response_format: dict[str, Any]
    strict_tools: bool
    tool_choice: Literal["REQUIRED", "NONE"]
    thinking: dict[str, Any]
    priority: int


def _fix_base_url(url: str) -> str:
    # The SDK drops a ``/v1`` left over from v1-era base URLs on Cohere's own hosts.
    if "cohere.com" in url or "cohere.ai" in url:
        return url.replace("/v1", "")
    return url


class CohereClient(BaseClient):
    """Connection settings for Cohere; ``client_name`` is sent as ``X-Client-Name``."""

    provider: ClassVar[str] = "cohere"
    api_key_env: ClassVar[tuple[str, ...]] = ("CO_API_KEY", "COHERE_API_KEY")
    base_url_env: ClassVar[tuple[str, ...]] = ("CO_API_URL",)
    default_base_url: ClassVar[str] = "https://api.cohere.com"

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
        client_name: str | None = None,
    ) -> None:
        extra = dict(headers or {})
        if client_name is not None:
            extra["X-Client-Name"] = client_name
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            deadline=deadline,
            max_retries=max_retries,
            headers=extra,
            transport=transport,
            ca_file=ca_file,
            verify=verify,
        )
        self.base_url = _fix_base_url(self.base_url)
        self.client_name = client_name

    @property
    def codec(self) -> Codec:
        return CODEC


class CohereTool(BaseTool):
    """A tool for Cohere calls (any ``BaseTool`` works; this name mirrors Mirascope)."""


class CohereCallResponse(BaseCallResponse[CohereMessageParam]):
    """A v2 Chat response: native message dicts and Cohere's finish reasons."""

    _codec = CODEC


class CohereCallResponseChunk(BaseCallResponseChunk):
    """One v2 Chat stream event."""


class CohereStream(BaseStream[CohereCallResponse, CohereCallResponseChunk]):
    """A streamed v2 Chat reply."""


class CohereAsyncStream(BaseAsyncStream[CohereCallResponse, CohereCallResponseChunk]):
    """A streamed v2 Chat reply, async."""


class CohereDynamicConfig(TypedDict, total=False):
    """What a Cohere prompt function may return."""

    messages: Sequence[CohereMessageParam | Any]
    call_params: CohereCallParams
    metadata: Mapping[str, Any]
    client: CohereClient | CohereSDKClient
    tools: Sequence[Any]
    computed_fields: Mapping[str, Any]


AsyncCohereDynamicConfig = CohereDynamicConfig
"""Mirascope's name for the config of ``async def`` prompts: the same dict, since one client serves both."""


call = ProviderCall[
    CohereCallResponse,
    CohereStream,
    CohereAsyncStream,
    CohereCallParams,
    CohereClient | CohereSDKClient,
]("cohere", Flavor(CohereCallResponse, CohereStream, CohereAsyncStream, CohereCallResponseChunk))
"""``@cohere.call("command-r-plus")``: see :func:`minicall.llm.call`."""

cohere_call = call
"""Mirascope's other name for :data:`call`."""

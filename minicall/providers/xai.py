"""xAI (Grok) Chat Completions (OpenAI-compatible; PROVIDERS.md section 5).

Environment: ``XAI_API_KEY`` (required), ``XAI_BASE_URL`` (includes ``/v1``, as for the
openai SDK pointed at xAI). xAI reports the cost of each call in
``usage.cost_in_usd_ticks`` (1e10 ticks per USD): ``response.cost`` uses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypedDict

from .._call.sdk_clients import OpenAISDKClient
from .._call.decorate import ProviderCall
from .._call.response import BaseCallResponse, BaseCallResponseChunk
from .._call.settings import Flavor
from .._call.stream import BaseAsyncStream, BaseStream
from .._call.tools import BaseTool
from .._codecs.openai.codec import XAI
from .._codecs.openai.types import (
    AssistantMessageParam,
    MessageParam,
    SystemMessageParam,
    ToolMessageParam,
    UserMessageParam,
)
from .._model.errors import *
from .._model import errors as _errors
from ._compat import ChatParams, CompatClient, codec_for

__all__ = [
    "call",
    "xai_call",
    "XAIClient",
    "XAICallResponse",
    "XAICallResponseChunk",
    "XAIStream",
    "XAIAsyncStream",
    "XAIDynamicConfig",
    "AsyncXAIDynamicConfig",
    "XAICallParams",
    "XAITool",
    "XAIMessageParam",
    "XAISystemMessageParam",
    "XAIUserMessageParam",
    "XAIAssistantMessageParam",
    "XAIToolMessageParam",
]
__all__ += _errors.__all__  # the error classes, as Mirascope's provider modules have them

CLIENT_CLASS = "XAIClient"

XAIMessageParam = MessageParam
XAISystemMessageParam = SystemMessageParam
XAIUserMessageParam = UserMessageParam
XAIAssistantMessageParam = AssistantMessageParam
XAIToolMessageParam = ToolMessageParam


class XAICallParams(ChatParams, total=False):
    """xAI's documented Chat Completions parameters."""

    logprobs: bool
    top_logprobs: int
    logit_bias: dict[str, int]
    max_completion_tokens: int
    reasoning_effort: Literal["low", "high"]
    search_parameters: dict[str, Any]
    seed: int
    stream_options: dict[str, Any]
    user: str


class XAIClient(CompatClient):
    """Connection settings for xAI (``base_url`` includes ``/v1``)."""

    provider: ClassVar[str] = "xai"
    dialect = XAI
    api_key_env: ClassVar[tuple[str, ...]] = ("XAI_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("XAI_BASE_URL",)
    default_base_url: ClassVar[str] = "https://api.x.ai/v1"


class XAITool(BaseTool):
    """A tool for xAI calls (any ``BaseTool`` works)."""


class XAICallResponse(BaseCallResponse[XAIMessageParam]):
    """A xAI chat completion: native message dicts and xAI's finish reasons."""

    _codec = codec_for(XAI)
    _dump_extra = ("audio", "audio_transcript")  # Mirascope's OpenAICallResponse has them


class XAICallResponseChunk(BaseCallResponseChunk):
    """One streamed chat completion chunk."""


class XAIStream(BaseStream[XAICallResponse, XAICallResponseChunk]):
    """A streamed xAI reply."""


class XAIAsyncStream(BaseAsyncStream[XAICallResponse, XAICallResponseChunk]):
    """A streamed xAI reply, async."""


class XAIDynamicConfig(TypedDict, total=False):
    """What a xAI prompt function may return."""

    messages: Sequence[XAIMessageParam | Any]
    call_params: XAICallParams
    metadata: Mapping[str, Any]
    client: XAIClient | OpenAISDKClient
    tools: Sequence[Any]
    computed_fields: Mapping[str, Any]


AsyncXAIDynamicConfig = XAIDynamicConfig
"""Mirascope's name for the config of ``async def`` prompts: the same dict, since one client serves both."""


call = ProviderCall[
    XAICallResponse,
    XAIStream,
    XAIAsyncStream,
    XAICallParams,
    XAIClient | OpenAISDKClient,
](
    "xai", Flavor(XAICallResponse, XAIStream, XAIAsyncStream, XAICallResponseChunk)
)
"""``@xai.call("grok-3-mini")``: see :func:`minicall.llm.call`."""

xai_call = call
"""Mirascope's other name for :data:`call`."""

"""Groq Chat Completions (OpenAI-compatible; PROVIDERS.md section 4).

Environment: ``GROQ_API_KEY`` (required), ``GROQ_BASE_URL`` (the host root, as the
groq SDK takes it; the path ``/openai/v1/chat/completions`` follows). Stream usage
arrives in the last chunk's ``x_groq.usage``. ``logprobs``, ``top_logprobs`` and
``logit_bias`` are not supported by Groq's models and are left out of requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypedDict

from .._call.sdk_clients import GroqSDKClient
from .._call.decorate import ProviderCall
from .._call.response import BaseCallResponse, BaseCallResponseChunk
from .._call.settings import Flavor
from .._call.stream import BaseAsyncStream, BaseStream
from .._call.tools import BaseTool
from .._codecs.openai.codec import GROQ
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
    "groq_call",
    "GroqClient",
    "GroqCallResponse",
    "GroqCallResponseChunk",
    "GroqStream",
    "GroqAsyncStream",
    "GroqDynamicConfig",
    "AsyncGroqDynamicConfig",
    "GroqCallParams",
    "GroqTool",
    "GroqMessageParam",
    "GroqSystemMessageParam",
    "GroqUserMessageParam",
    "GroqAssistantMessageParam",
    "GroqToolMessageParam",
]
__all__ += _errors.__all__  # the error classes, as Mirascope's provider modules have them

CLIENT_CLASS = "GroqClient"

GroqMessageParam = MessageParam
GroqSystemMessageParam = SystemMessageParam
GroqUserMessageParam = UserMessageParam
GroqAssistantMessageParam = AssistantMessageParam
GroqToolMessageParam = ToolMessageParam


class GroqCallParams(ChatParams, total=False):
    """Groq's documented Chat Completions parameters."""

    max_completion_tokens: int
    seed: int
    reasoning_format: Literal["hidden", "raw", "parsed"]
    reasoning_effort: Literal["none", "default", "low", "medium", "high"]
    include_reasoning: bool
    service_tier: Literal["auto", "on_demand", "flex", "performance"]
    search_settings: dict[str, Any]
    user: str


class GroqClient(CompatClient):
    """Connection settings for Groq (``base_url`` is the host root)."""

    provider: ClassVar[str] = "groq"
    dialect = GROQ
    api_key_env: ClassVar[tuple[str, ...]] = ("GROQ_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("GROQ_BASE_URL",)
    default_base_url: ClassVar[str] = "https://api.groq.com"


class GroqTool(BaseTool):
    """A tool for Groq calls (any ``BaseTool`` works)."""


class GroqCallResponse(BaseCallResponse[GroqMessageParam]):
    """A Groq chat completion: native message dicts and Groq's finish reasons."""

    _codec = codec_for(GROQ)


class GroqCallResponseChunk(BaseCallResponseChunk):
    """One streamed chat completion chunk."""


class GroqStream(BaseStream[GroqCallResponse, GroqCallResponseChunk]):
    """A streamed Groq reply."""


class GroqAsyncStream(BaseAsyncStream[GroqCallResponse, GroqCallResponseChunk]):
    """A streamed Groq reply, async."""


class GroqDynamicConfig(TypedDict, total=False):
    """What a Groq prompt function may return."""

    messages: Sequence[GroqMessageParam | Any]
    call_params: GroqCallParams
    metadata: Mapping[str, Any]
    client: GroqClient | GroqSDKClient
    tools: Sequence[Any]
    computed_fields: Mapping[str, Any]


AsyncGroqDynamicConfig = GroqDynamicConfig
"""Mirascope's name for the config of ``async def`` prompts: the same dict, since one client serves both."""


call = ProviderCall[
    GroqCallResponse,
    GroqStream,
    GroqAsyncStream,
    GroqCallParams,
    GroqClient | GroqSDKClient,
](
    "groq", Flavor(GroqCallResponse, GroqStream, GroqAsyncStream, GroqCallResponseChunk)
)
"""``@groq.call("llama-3.3-70b-versatile")``: see :func:`minicall.llm.call`."""

groq_call = call
"""Mirascope's other name for :data:`call`."""

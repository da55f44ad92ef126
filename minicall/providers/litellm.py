"""A LiteLLM proxy server (OpenAI-compatible gateway; PROVIDERS.md section 8).

Environment: ``LITELLM_PROXY_API_KEY`` (or ``LITELLM_API_KEY``), ``LITELLM_PROXY_API_BASE``
(the proxy root, default ``http://localhost:4000``; requests go to
``{root}/chat/completions``). ``model`` is the proxy's model-group name. The proxy
reports each call's cost in the ``x-litellm-response-cost`` header: ``response.cost``
uses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypedDict

from .._call.sdk_clients import OpenAISDKClient
from .._call.decorate import ProviderCall
from .._call.response import BaseCallResponse, BaseCallResponseChunk
from .._call.settings import Flavor
from .._call.stream import BaseAsyncStream, BaseStream
from .._call.tools import BaseTool
from .._codecs.openai.codec import LITELLM
from .._codecs.openai.types import (
    AssistantMessageParam,
    MessageParam,
    SystemMessageParam,
    ToolMessageParam,
    UserMessageParam,
)
from .._model.errors import *
from .._model import errors as _errors
from ._compat import CompatClient, codec_for
from .openai import OpenAICallParams

__all__ = [
    "call",
    "litellm_call",
    "LiteLLMClient",
    "LiteLLMCallResponse",
    "LiteLLMCallResponseChunk",
    "LiteLLMStream",
    "LiteLLMAsyncStream",
    "LiteLLMDynamicConfig",
    "AsyncLiteLLMDynamicConfig",
    "LiteLLMCallParams",
    "LiteLLMTool",
    "LiteLLMMessageParam",
    "LiteLLMSystemMessageParam",
    "LiteLLMUserMessageParam",
    "LiteLLMAssistantMessageParam",
    "LiteLLMToolMessageParam",
]
__all__ += _errors.__all__  # the error classes, as Mirascope's provider modules have them

CLIENT_CLASS = "LiteLLMClient"

LiteLLMMessageParam = MessageParam
LiteLLMSystemMessageParam = SystemMessageParam
LiteLLMUserMessageParam = UserMessageParam
LiteLLMAssistantMessageParam = AssistantMessageParam
LiteLLMToolMessageParam = ToolMessageParam


class LiteLLMCallParams(OpenAICallParams, total=False):
    """OpenAI's Chat Completions parameters; the proxy maps them to its backend."""


class LiteLLMClient(CompatClient):
    """Connection settings for a LiteLLM proxy (``base_url`` is the proxy root).

    A proxy running without a master key takes ``api_key=""``: no credential is sent.
    """

    provider: ClassVar[str] = "litellm"
    dialect = LITELLM
    api_key_env: ClassVar[tuple[str, ...]] = ("LITELLM_PROXY_API_KEY", "LITELLM_API_KEY")
    base_url_env: ClassVar[tuple[str, ...]] = ("LITELLM_PROXY_API_BASE",)
    default_base_url: ClassVar[str] = "http://localhost:4000"


class LiteLLMTool(BaseTool):
    """A tool for LiteLLM calls (any ``BaseTool`` works)."""


class LiteLLMCallResponse(BaseCallResponse[LiteLLMMessageParam]):
    """A LiteLLM chat completion: native message dicts and LiteLLM's finish reasons."""

    _codec = codec_for(LITELLM)
    _dump_extra = ("audio", "audio_transcript")  # Mirascope's OpenAICallResponse has them


class LiteLLMCallResponseChunk(BaseCallResponseChunk):
    """One streamed chat completion chunk."""


class LiteLLMStream(BaseStream[LiteLLMCallResponse, LiteLLMCallResponseChunk]):
    """A streamed LiteLLM reply."""


class LiteLLMAsyncStream(BaseAsyncStream[LiteLLMCallResponse, LiteLLMCallResponseChunk]):
    """A streamed LiteLLM reply, async."""


class LiteLLMDynamicConfig(TypedDict, total=False):
    """What a LiteLLM prompt function may return."""

    messages: Sequence[LiteLLMMessageParam | Any]
    call_params: LiteLLMCallParams
    metadata: Mapping[str, Any]
    client: LiteLLMClient | OpenAISDKClient
    tools: Sequence[Any]
    computed_fields: Mapping[str, Any]


AsyncLiteLLMDynamicConfig = LiteLLMDynamicConfig
"""Mirascope's name for the config of ``async def`` prompts: the same dict, since one client serves both."""


call = ProviderCall[
    LiteLLMCallResponse,
    LiteLLMStream,
    LiteLLMAsyncStream,
    LiteLLMCallParams,
    LiteLLMClient | OpenAISDKClient,
](
    "litellm",
    Flavor(LiteLLMCallResponse, LiteLLMStream, LiteLLMAsyncStream, LiteLLMCallResponseChunk),
)
"""``@litellm.call("gpt-4o-mini")``: see :func:`minicall.llm.call`."""

litellm_call = call
"""Mirascope's other name for :data:`call`."""

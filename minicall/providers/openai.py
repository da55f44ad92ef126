"""OpenAI Chat Completions.

Environment: ``OPENAI_API_KEY`` (required), ``OPENAI_BASE_URL`` (includes ``/v1``),
``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID``. Works against any OpenAI-compatible server
(vLLM, llama.cpp, Ollama) through ``base_url``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypedDict

from .._call.sdk_clients import OpenAISDKClient
from .._call.client import BaseClient, env_first
from .._call.decorate import ProviderCall
from .._call.response import BaseCallResponse, BaseCallResponseChunk
from .._call.settings import Flavor
from .._call.stream import BaseAsyncStream, BaseStream
from .._call.tools import BaseTool, ToolConfig
from .._codecs.openai.codec import OPENAI, OpenAICompatCodec
from .._codecs.openai.types import (
    AssistantMessageParam,
    DeveloperMessageParam,
    MessageParam,
    SystemMessageParam,
    ToolMessageParam,
    UserMessageParam,
)
from .._model.errors import *
from .._model import errors as _errors
from .._model.http import AsyncTransport, Transport
from .._model.spec import Codec

__all__ = [
    "call",
    "openai_call",
    "OpenAIClient",
    "OpenAICallResponse",
    "OpenAICallResponseChunk",
    "OpenAIStream",
    "OpenAIAsyncStream",
    "OpenAIDynamicConfig",
    "AsyncOpenAIDynamicConfig",
    "OpenAICallParams",
    "OpenAITool",
    "OpenAIToolConfig",
    "OpenAIMessageParam",
    "ChatCompletionSystemMessageParam",
    "ChatCompletionDeveloperMessageParam",
    "ChatCompletionUserMessageParam",
    "ChatCompletionAssistantMessageParam",
    "ChatCompletionToolMessageParam",
]
__all__ += _errors.__all__  # the error classes, as Mirascope's provider modules have them

CLIENT_CLASS = "OpenAIClient"

OpenAIMessageParam = MessageParam
ChatCompletionSystemMessageParam = SystemMessageParam
ChatCompletionDeveloperMessageParam = DeveloperMessageParam
ChatCompletionUserMessageParam = UserMessageParam
ChatCompletionAssistantMessageParam = AssistantMessageParam
ChatCompletionToolMessageParam = ToolMessageParam

_CODEC = OpenAICompatCodec(OPENAI)


class OpenAICallParams(TypedDict, total=False):
    """The documented Chat Completions parameters."""

    extra_headers: dict[str, str]
    extra_query: dict[str, Any]
    extra_body: dict[str, Any]
    timeout: float
    audio: dict[str, Any]
    modalities: list[Literal["text", "audio"]]
    frequency_penalty: float
    logit_bias: dict[str, int]
    logprobs: bool
    top_logprobs: int
    max_completion_tokens: int
    max_tokens: int
    metadata: dict[str, str]
    n: int
    parallel_tool_calls: bool
    prediction: dict[str, Any]
    presence_penalty: float
    prompt_cache_key: str
    prompt_cache_retention: Literal["in_memory", "24h"]
    reasoning_effort: Literal["minimal", "low", "medium", "high"]
    response_format: dict[str, Any]
    seed: int
    service_tier: str
    stop: str | list[str]
    store: bool
    stream_options: dict[str, Any]
    temperature: float
    tool_choice: str | dict[str, Any]
    top_p: float
    user: str
    web_search_options: dict[str, Any]


class OpenAIClient(BaseClient):
    """Connection settings for OpenAI (or any OpenAI-compatible server)."""

    provider: ClassVar[str] = "openai"
    api_key_env: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("OPENAI_BASE_URL",)
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"

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
        organization: str | None = None,
        project: str | None = None,
        ca_file: str | None = None,
        verify: bool = True,
    ) -> None:
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
        self.organization = organization or env_first("OPENAI_ORG_ID")
        self.project = project or env_first("OPENAI_PROJECT_ID")
        if self.organization:
            self.headers["OpenAI-Organization"] = self.organization
        if self.project:
            self.headers["OpenAI-Project"] = self.project

    @classmethod
    def environment(cls) -> dict[str, tuple[str, ...]]:
        return {
            "api key": cls.api_key_env,
            "base url": cls.base_url_env,
            "organization": ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID"),
        }

    @property
    def codec(self) -> Codec:
        return _CODEC


class OpenAIToolConfig(ToolConfig, total=False):
    """``tool_config`` keys OpenAI-style providers read: ``strict=True`` sends the tool as
    a strict function (``"strict": true``, every object closed and every property
    required, optional ones nullable)."""

    strict: bool


class OpenAITool(BaseTool):
    """A tool for OpenAI calls (any ``BaseTool`` works; this name mirrors Mirascope)."""


class OpenAICallResponse(BaseCallResponse[OpenAIMessageParam]):
    """A Chat Completions response: native message dicts and finish reasons."""

    _codec = _CODEC
    _dump_extra = ("audio", "audio_transcript")  # Mirascope's OpenAICallResponse has them


class OpenAICallResponseChunk(BaseCallResponseChunk):
    """One ``chat.completion.chunk``."""


class OpenAIStream(BaseStream[OpenAICallResponse, OpenAICallResponseChunk]):
    """A streamed Chat Completions reply."""


class OpenAIAsyncStream(BaseAsyncStream[OpenAICallResponse, OpenAICallResponseChunk]):
    """A streamed Chat Completions reply, async."""


class OpenAIDynamicConfig(TypedDict, total=False):
    """What an OpenAI prompt function may return."""

    messages: Sequence[OpenAIMessageParam | Any]
    call_params: OpenAICallParams
    metadata: Mapping[str, Any]
    client: OpenAIClient | OpenAISDKClient
    tools: Sequence[Any]
    computed_fields: Mapping[str, Any]


AsyncOpenAIDynamicConfig = OpenAIDynamicConfig
"""Mirascope's name for the config of ``async def`` prompts: the same dict, since one client serves both."""


call = ProviderCall[
    OpenAICallResponse,
    OpenAIStream,
    OpenAIAsyncStream,
    OpenAICallParams,
    OpenAIClient | OpenAISDKClient,
]("openai", Flavor(OpenAICallResponse, OpenAIStream, OpenAIAsyncStream, OpenAICallResponseChunk))
"""``@openai.call("gpt-4o-mini")``: see :func:`minicall.llm.call`."""

openai_call = call
"""Mirascope's other name for :data:`call`."""

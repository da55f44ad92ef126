"""Mistral Chat Completions (OpenAI-like; PROVIDERS.md section 6).

Environment: ``MISTRAL_API_KEY`` (required); ``base_url`` is the host root, as the
mistralai SDK's ``server_url`` (``MISTRAL_BASE_URL`` is read too, a minicall
convenience: the SDK reads none). Differences from OpenAI, all in the codec's
dialect: ``seed`` is sent as ``random_seed``, ``max_completion_tokens`` as
``max_tokens``, a forced tool as ``tool_choice: "any"``; audio is the bare base64
``input_audio`` string and a PDF ``DocumentPart`` a ``document_url`` chunk with a
``data:application/pdf;base64`` URL (other document types raise ``PromptError``
before any I/O); usage arrives on the last stream chunk without ``stream_options``;
finish reasons include ``model_length`` and ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, TypedDict

from .._call.sdk_clients import MistralSDKClient
from .._call.decorate import ProviderCall
from .._call.response import BaseCallResponse, BaseCallResponseChunk
from .._call.settings import Flavor
from .._call.stream import BaseAsyncStream, BaseStream
from .._call.tools import BaseTool
from .._codecs.openai.codec import MISTRAL
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
    "mistral_call",
    "MistralClient",
    "MistralCallResponse",
    "MistralCallResponseChunk",
    "MistralStream",
    "MistralAsyncStream",
    "MistralDynamicConfig",
    "AsyncMistralDynamicConfig",
    "MistralCallParams",
    "MistralTool",
    "MistralMessageParam",
    "MistralSystemMessageParam",
    "MistralUserMessageParam",
    "MistralAssistantMessageParam",
    "MistralToolMessageParam",
]
__all__ += _errors.__all__  # the error classes, as Mirascope's provider modules have them

CLIENT_CLASS = "MistralClient"

MistralMessageParam = MessageParam
MistralSystemMessageParam = SystemMessageParam
MistralUserMessageParam = UserMessageParam
MistralAssistantMessageParam = AssistantMessageParam
MistralToolMessageParam = ToolMessageParam


class MistralCallParams(ChatParams, total=False):
    """Mistral's documented chat parameters."""

    random_seed: int
    safe_prompt: bool
    prediction: dict[str, Any]
    prompt_mode: Literal["reasoning"]
    reasoning_effort: str
    metadata: dict[str, Any]


class MistralClient(CompatClient):
    """Connection settings for Mistral (``base_url`` is the host root)."""

    provider: ClassVar[str] = "mistral"
    dialect = MISTRAL
    api_key_env: ClassVar[tuple[str, ...]] = ("MISTRAL_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("MISTRAL_BASE_URL",)
    default_base_url: ClassVar[str] = "https://api.mistral.ai"


class MistralTool(BaseTool):
    """A tool for Mistral calls (any ``BaseTool`` works)."""


class MistralCallResponse(BaseCallResponse[MistralMessageParam]):
    """A Mistral chat completion: native message dicts and Mistral's finish reasons."""

    _codec = codec_for(MISTRAL)


class MistralCallResponseChunk(BaseCallResponseChunk):
    """One streamed chat completion chunk."""


class MistralStream(BaseStream[MistralCallResponse, MistralCallResponseChunk]):
    """A streamed Mistral reply."""


class MistralAsyncStream(BaseAsyncStream[MistralCallResponse, MistralCallResponseChunk]):
    """A streamed Mistral reply, async."""


class MistralDynamicConfig(TypedDict, total=False):
    """What a Mistral prompt function may return."""

    messages: Sequence[MistralMessageParam | Any]
    call_params: MistralCallParams
    metadata: Mapping[str, Any]
    client: MistralClient | MistralSDKClient
    tools: Sequence[Any]
    computed_fields: Mapping[str, Any]


AsyncMistralDynamicConfig = MistralDynamicConfig
"""Mirascope's name for the config of ``async def`` prompts: the same dict, since one client serves both."""


call = ProviderCall[
    MistralCallResponse,
    MistralStream,
    MistralAsyncStream,
    MistralCallParams,
    MistralClient | MistralSDKClient,
](
    "mistral",
    Flavor(MistralCallResponse, MistralStream, MistralAsyncStream, MistralCallResponseChunk),
)
"""``@mistral.call("mistral-large-latest")``: see :func:`minicall.llm.call`."""

mistral_call = call
"""Mirascope's other name for :data:`call`."""

"""Provider-agnostic calls: ``llm.call``, ``llm.override`` and the neutral response types.

Example::

    from minicall import llm

    @llm.call(provider="openai", model="gpt-4o-mini")
    def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    response: llm.CallResponse = recommend_book("fantasy")
    print(response.content)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Literal, TypedDict, TypeVar, cast, overload

from ._call.context import context as _context
from ._call.settings import Flavor, Settings, StreamConfig, read_stream
from ._call.pipeline import override as _override
from ._call.client import BaseClient
from ._call.sdk_clients import SDKClient
from ._call.decorate import CallDecorator, ParsedDecorator, Partial, ToolsArg, make_decorator
from ._call.structured import AsyncStructuredStream, StructuredStream
from ._call.response import BaseCallResponse, BaseCallResponseChunk
from ._call.stream import BaseAsyncStream, BaseStream
from ._model.messages import Message

__all__ = [
    "AsyncStream",
    "AsyncStructuredStream",
    "CallResponse",
    "CallResponseChunk",
    "CommonCallParams",
    "Message",
    "Partial",
    "Provider",
    "Stream",
    "StructuredStream",
    "call",
    "context",
    "override",
]

Provider = Literal[
    "openai", "anthropic", "google", "groq", "xai", "mistral", "cohere", "litellm", "azure", "bedrock",
    "gemini", "vertex",
]
"""The provider names ``llm.call`` takes; ``gemini`` and ``vertex`` are Mirascope's aliases of
Google (``vertex`` defaults to a Vertex AI client)."""


class CommonCallParams(TypedDict, total=False):
    """Parameters every provider understands; each codec renames them to its own."""

    extra_headers: dict[str, str]
    extra_query: dict[str, Any]
    extra_body: dict[str, Any]
    timeout: float
    temperature: float
    max_tokens: int
    top_p: float
    frequency_penalty: float
    presence_penalty: float
    seed: int
    stop: str | list[str]


class CallResponse(BaseCallResponse[Message]):
    """A response in neutral terms: ``Message`` s and normalized finish reasons."""

    _native: ClassVar[bool] = False


class CallResponseChunk(BaseCallResponseChunk):
    """A stream chunk with normalized finish reasons."""

    _native: ClassVar[bool] = False


class Stream(BaseStream[CallResponse, CallResponseChunk]):
    """A neutral stream: ``for chunk, tool in stream``."""


class AsyncStream(BaseAsyncStream[CallResponse, CallResponseChunk]):
    """A neutral async stream: ``async for chunk, tool in stream``."""


NEUTRAL = Flavor(CallResponse, Stream, AsyncStream, CallResponseChunk)

T = TypeVar("T")
O = TypeVar("O")
F = TypeVar("F", bound=Callable[..., Any])


@overload
def call(
    provider: Provider,
    model: str,
    *,
    stream: Literal[False] = False,
    tools: ToolsArg | None = None,
    response_model: None = None,
    output_parser: None = None,
    json_mode: bool = False,
    client: BaseClient | SDKClient | None = None,
    call_params: CommonCallParams | None = None,
) -> CallDecorator[CallResponse, CallResponse]: ...


@overload
def call(
    provider: Provider,
    model: str,
    *,
    stream: Literal[False] = False,
    tools: ToolsArg | None = None,
    response_model: None = None,
    output_parser: Callable[[CallResponse], O],
    json_mode: bool = False,
    client: BaseClient | SDKClient | None = None,
    call_params: CommonCallParams | None = None,
) -> ParsedDecorator[O]: ...


@overload
def call(
    provider: Provider,
    model: str,
    *,
    stream: Literal[True] | StreamConfig,
    tools: ToolsArg | None = None,
    response_model: None = None,
    output_parser: None = None,
    json_mode: bool = False,
    client: BaseClient | SDKClient | None = None,
    call_params: CommonCallParams | None = None,
) -> CallDecorator[Stream, AsyncStream]: ...


@overload
def call(
    provider: Provider,
    model: str,
    *,
    stream: Literal[False] = False,
    tools: ToolsArg | None = None,
    response_model: type[T],
    output_parser: None = None,
    json_mode: bool = False,
    client: BaseClient | SDKClient | None = None,
    call_params: CommonCallParams | None = None,
) -> CallDecorator[T, T]: ...


@overload
def call(
    provider: Provider,
    model: str,
    *,
    stream: Literal[True] | StreamConfig,
    tools: ToolsArg | None = None,
    response_model: type[T],
    output_parser: None = None,
    json_mode: bool = False,
    client: BaseClient | SDKClient | None = None,
    call_params: CommonCallParams | None = None,
) -> CallDecorator[StructuredStream[T], AsyncStructuredStream[T]]: ...


# Response models no ``type[T]`` can say (Literal, Optional, Union, Annotated): Any.
@overload
def call(
    provider: Provider,
    model: str,
    *,
    stream: bool | StreamConfig = False,
    tools: ToolsArg | None = None,
    response_model: object,
    output_parser: None = None,
    json_mode: bool = False,
    client: BaseClient | SDKClient | None = None,
    call_params: CommonCallParams | None = None,
) -> CallDecorator[Any, Any]: ...


def call(
    provider: Provider,
    model: str,
    *,
    stream: bool | StreamConfig = False,
    tools: ToolsArg | None = None,
    response_model: object = None,
    output_parser: Callable[[Any], Any] | None = None,
    json_mode: bool = False,
    client: BaseClient | SDKClient | None = None,
    call_params: CommonCallParams | None = None,
) -> Any:
    """Decorate a prompt function so that calling it calls ``model`` at ``provider``.

    An unknown provider raises ``ValueError`` here, at decoration time.
    """
    streams, partial_tools = read_stream(stream)
    return make_decorator(
        Settings(
            provider=provider,
            model=model,
            flavor=NEUTRAL,
            stream=streams,
            partial_tools=partial_tools,
            tools=tools,
            response_model=response_model,
            output_parser=output_parser,
            json_mode=json_mode,
            client=client,
            call_params=call_params,
        )
    )


def override(
    fn: F,
    *,
    provider: Provider | None = None,
    model: str | None = None,
    call_params: CommonCallParams | Mapping[str, Any] | None = None,
    client: BaseClient | SDKClient | None = None,
) -> F:
    """A new callable like ``fn`` (same signature) with provider, model, params or client replaced.

    ``call_params`` merge over the decorator's key by key. A provider without a model
    raises ``ValueError``.
    """
    return cast(
        F,
        _override(fn, provider=provider, model=model, call_params=call_params, client=client, neutral=NEUTRAL),
    )


def context(
    *,
    provider: Provider | None = None,
    model: str | None = None,
    call_params: CommonCallParams | Mapping[str, Any] | None = None,
    client: Any = None,
) -> AbstractContextManager[None]:
    """Within ``with llm.context(...):``, every decorated call uses these settings, as
    :func:`override` would (Mirascope's ``llm.context``): also calls made deep inside other
    functions, such as a retry decorator's. A provider without a model raises ``ValueError``.

    Example::

        with llm.context(provider="anthropic", model="claude-3-5-sonnet-latest"):
            response = recommend_book("fantasy")
    """
    return _context(provider=provider, model=model, call_params=call_params, client=client, neutral=NEUTRAL)

"""Streams: lazy iterables of ``(chunk, tool)`` that remember what arrived.

:class:`StreamState` folds neutral :class:`Chunk` s into the text, tool calls, usage
and finish reasons so far; the sync and async stream classes share it and differ
only in how they pull bytes. Nothing is sent until iteration starts. An error that
breaks the stream carries the text received so far as ``error.partial``, and the
stream's ``content`` keeps it.
"""
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast, get_args

from .._model.wire import Reader
from .._model.clock import Deadline
from .._model.http import AsyncHttpResponse, HttpResponse
from .._model.errors import ConfigurationError, MinicallError, ResponseFormatError
from .._model.messages import ContentPart, Message, TextPart, ToolCallPart
from .._model.spec import Chunk, Completion, ToolDelta, Usage
from .._schema.partial_json import parse_partial
from .response import BaseCallResponse, BaseCallResponseChunk, CallContext, CallFacts, build_tools
from .telemetry import request_id_of

if TYPE_CHECKING:
    from .tools import BaseTool

__all__ = ["BaseAsyncStream", "BaseStream", "StreamState"]

# Covariant, so that ``AnthropicStream`` is a stream of ``BaseCallResponse[MessageParam]``
# and ``tool_message_params`` on it types as ``list[MessageParam]``.
ResponseT_co = TypeVar("ResponseT_co", bound=BaseCallResponse[Any], covariant=True)
ChunkT = TypeVar("ChunkT", bound=BaseCallResponseChunk)
MessageT = TypeVar("MessageT")


class _ToolBuffer:
    __slots__ = ("args", "done", "id", "name", "signature")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.args: list[str] = []
        self.done = False
        self.signature: str | None = None


class StreamState:
    """What a stream has delivered so far, in neutral terms."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.texts: list[str] = []
        self._tools: dict[int, _ToolBuffer] = {}
        self.calls: list[ToolCallPart] = []
        self.usage: Usage | None = None
        self.finish_reasons: tuple[str, ...] | None = None
        self.model: str | None = None
        self.id: str | None = None
        self.audio = bytearray()
        self.transcript: list[str] = []
        self.audio_id: str | None = None
        self.reported_cost: float | None = None
        self.last_raw: Any = {}
        self.blocks: list[Mapping[str, Any]] = []
        """The provider's own content blocks so far, for providers that stream them (Anthropic)."""
        self._text_mark = 0  # len(texts) when the last block ended: later text is the next block's

    @property
    def content(self) -> str:
        """The text so far."""
        return "".join(self.texts)

    def first_tool_arguments(self) -> str:
        """The argument JSON text of the first tool call so far (for partial models)."""
        if not self._tools:
            return ""
        return "".join(self._tools[min(self._tools)].args)

    def absorb(self, chunk: Chunk) -> list[ToolCallPart]:
        """Fold ``chunk`` in; return the tool calls it completed."""
        if chunk.content:
            self.texts.append(chunk.content)
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.finish_reasons is not None:
            self.finish_reasons = chunk.finish_reasons
        self.model = chunk.model or self.model
        self.id = chunk.id or self.id
        if chunk.audio:
            self.audio += chunk.audio
        if chunk.audio_transcript:
            self.transcript.append(chunk.audio_transcript)
        self.audio_id = chunk.audio_id or self.audio_id
        if chunk.reported_cost is not None:
            self.reported_cost = chunk.reported_cost
        if chunk.block is not None:
            self._end_block(chunk.block)
        self.last_raw = chunk.raw
        completed: list[ToolCallPart] = []
        if chunk.tool_deltas:
            completed = [call for d in chunk.tool_deltas for call in self._tool_delta(d)]
        if chunk.finish_reasons is not None:
            completed.extend(self.finish())
        return completed

    def _end_block(self, block: Mapping[str, Any]) -> None:
        # Blocks arrive one after another, so a text block's text is exactly what the
        # state took in since the block before it ended (see ``Chunk.block``).
        if block.get("type") == "text":
            block = {**block, "text": "".join(self.texts[self._text_mark :])}
        self._text_mark = len(self.texts)
        self.blocks.append(block)

    def native_content(self) -> list[Mapping[str, Any]] | None:
        """The turn so far as the provider's own content blocks, in the order they came
        (text after the last finished block as one more text block); ``None`` when the
        stream delivered none, and the codec builds the native turn from :meth:`message`."""
        if not self.blocks:
            return None
        rest = "".join(self.texts[self._text_mark :])
        return [*self.blocks, {"type": "text", "text": rest}] if rest else list(self.blocks)

    def _tool_delta(self, delta: ToolDelta) -> list[ToolCallPart]:
        buf = self._tools.get(delta.index)
        completed: list[ToolCallPart] = []
        if buf is None:
            # Calls stream one after another, so one that starts ends those before it
            # (the Chat Completions family says no more): each is yielded once whole,
            # before the next one's pieces, as Mirascope does.
            for index in sorted(i for i in self._tools if i < delta.index):
                call = self._complete(index, self._tools[index])
                if call is not None:
                    completed.append(call)
            buf = self._tools[delta.index] = _ToolBuffer()
        if delta.id:
            buf.id = delta.id
        if delta.name:
            buf.name = delta.name
        if delta.arguments:
            buf.args.append(delta.arguments)
        if delta.signature:
            buf.signature = delta.signature
        if delta.done:
            call = self._complete(delta.index, buf)
            if call is not None:
                completed.append(call)
        return completed

    def open_call(self, index: int) -> tuple[str, str, str] | None:
        """``(id, name, arguments so far)`` of the tool call at ``index`` while it is
        still open; ``None`` once it is complete or when there is none."""
        buf = self._tools.get(index)
        if buf is None or buf.done:
            return None
        return buf.id or f"call_{index}", buf.name, "".join(buf.args)

    def _complete(self, index: int, buf: _ToolBuffer) -> ToolCallPart | None:
        if buf.done:
            return None
        buf.done = True
        path = f"tool_calls[{index}].arguments"
        args, unparsed = Reader(self.provider).args_or_text("".join(buf.args), path)
        call = ToolCallPart(buf.id or f"call_{index}", buf.name, args, signature=buf.signature, unparsed=unparsed)
        self.calls.append(call)
        return call

    def finish(self) -> list[ToolCallPart]:
        """Complete every tool call still open (end of stream or finish reason)."""
        out: list[ToolCallPart] = []
        for index in sorted(self._tools):
            call = self._complete(index, self._tools[index])
            if call is not None:
                out.append(call)
        return out

    def message(self) -> Message:
        """The assistant turn so far as a neutral message."""
        parts: list[ContentPart] = [TextPart(self.content)] if self.texts else []
        parts.extend(self.calls)
        return Message("assistant", parts)

    def completion(self, native: dict[str, Any]) -> Completion:
        """Everything so far as a :class:`Completion` (what a non-streamed call gives)."""
        if self.audio_id is not None:
            native = {**native, "audio": {"id": self.audio_id}}
        blocks = self.native_content()
        if blocks is not None:
            native = {**native, "content": blocks}
        return Completion(
            content=self.content,
            message=self.message(),
            native_message=native,
            raw=self.last_raw,
            finish_reasons=self.finish_reasons,
            model=self.model,
            id=self.id,
            usage=self.usage,
            audio=bytes(self.audio) if self.audio else None,
            audio_transcript="".join(self.transcript) or None,
            reported_cost=self.reported_cost,
        )


class _StreamBase(CallFacts, Generic[ResponseT_co, ChunkT]):
    """What sync and async streams share: state, properties, the final response."""

    response_type: type[ResponseT_co]
    chunk_type: type[ChunkT]
    _response_class: ClassVar[type[BaseCallResponse[Any]] | None] = None
    """The response class the stream class names in its base
    (``BaseStream[AnthropicCallResponse, ...]``), for class-level use without an instance."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # ``class AnthropicStream(BaseStream[AnthropicCallResponse, ...])``: the first type
        # argument of the class's own generic base; subclasses without one inherit it.
        for base in cls.__dict__.get("__orig_bases__", ()):
            named = next(iter(get_args(base)), None)
            if isinstance(named, type) and issubclass(named, BaseCallResponse):
                cls._response_class = named

    def __init__(
        self,
        context: CallContext,
        response_type: type[ResponseT_co],
        chunk_type: type[ChunkT],
    ) -> None:
        self._context = context
        self.response_type = response_type
        self.chunk_type = chunk_type
        self._state = StreamState(context.provider)
        self._decoder = context.codec.stream_decoder(context.spec)
        self._tool_types: Sequence[type[BaseTool]] = context.tool_types
        self.end_time: float = 0.0
        self._events = 0
        self._head = b""
        self._deadline: Deadline | None = None
        self._request_id: str | None = None

    def _opened(self, headers: Mapping[str, str], deadline: Deadline | None) -> None:
        # Until the first event the call's deadline holds; from each event on, the
        # next must come within ``timeout`` (bytes without an event do not count).
        self._deadline = deadline
        self._request_id = request_id_of(headers, self._context.codec.request_id_headers)
        # Some facts of a stream travel in its response headers (Bedrock's request id,
        # LiteLLM's cost); a decoder that wants them has a ``headers`` method.
        read_headers = getattr(self._decoder, "headers", None)
        if read_headers is not None:
            for chunk in read_headers(headers):
                self._state.absorb(chunk)

    def _feed(self, piece: bytes) -> list[tuple[ChunkT, BaseTool | None]]:
        if len(self._head) < 200:
            self._head += piece[: 200 - len(self._head)]
        return self._pairs(self._decoder.feed(piece))

    def _resumed(self) -> None:
        """Events were handed to the caller, who now asks for more: the next event has
        ``timeout`` from now (time the caller spent on the last ones does not count)."""
        if self._deadline is not None:
            self._deadline.event(self._context.request.timeout)

    def _pairs(self, chunks: list[Chunk]) -> list[tuple[ChunkT, BaseTool | None]]:
        if self._context.partial_tools:
            return self._partial_pairs(chunks)
        return self._whole_pairs(chunks)

    def _whole_pairs(self, chunks: list[Chunk]) -> list[tuple[ChunkT, BaseTool | None]]:
        self._events += len(chunks)
        out: list[tuple[ChunkT, BaseTool | None]] = []
        chunk_type, codec, state = self.chunk_type, self._context.codec, self._state
        for chunk in chunks:
            wrapped = chunk_type(chunk, codec)
            completed = state.absorb(chunk)
            tools = build_tools(self._tool_types, completed, (), self._context.provider, codec) if completed else []
            if not tools:
                out.append((wrapped, None))
            for i, tool in enumerate(tools):
                out.append((wrapped if i == 0 else self.chunk_type(Chunk(), self._context.codec), tool))
        return out

    def _partial_pairs(self, chunks: list[Chunk]) -> list[tuple[ChunkT, BaseTool | None]]:
        """As :meth:`_whole_pairs`, and each piece of an open tool call's arguments comes
        with that tool so far (``stream={"partial_tools": True}``), after any tool the
        chunk completed; a chunk that completed none comes with its first partial tool."""
        out: list[tuple[ChunkT, BaseTool | None]] = []
        for chunk in chunks:
            pairs = self._whole_pairs([chunk])
            partials = self._partial_tools(chunk.tool_deltas) if chunk.tool_deltas else []
            if partials and pairs[0][1] is None:
                pairs = [(pairs[0][0], partials.pop(0))]
            out.extend(pairs)
            out.extend((self.chunk_type(Chunk(), self._context.codec), tool) for tool in partials)
        return out

    def _partial_tools(self, deltas: Sequence[ToolDelta]) -> list[BaseTool]:
        from .tool_call import native_call
        from .tools import partial_tool

        by_name = {t._name(): t for t in self._tool_types}
        tools: list[BaseTool] = []
        for delta in deltas:
            found = self._state.open_call(delta.index) if delta.arguments else None
            tool_type = None if found is None else by_name.get(found[1])
            if found is None or tool_type is None:
                continue
            id_, name, arguments = found
            value = parse_partial(arguments)
            args = cast("dict[str, Any]", value) if isinstance(value, dict) else {}
            raw = native_call(self._context.codec, self._context.provider, ToolCallPart(id_, name, args))
            tools.append(partial_tool(tool_type, id_, args, delta.arguments, raw))
        return tools

    def _finish(self) -> list[tuple[ChunkT, BaseTool | None]]:
        out = self._pairs(self._decoder.close())
        if not self._events and self._head:
            # Bytes arrived but not one event: an error page labelled as a stream.
            raise ResponseFormatError(
                self._context.provider, "", "the reply held no stream events", self._head.decode("utf-8", "replace")
            )
        tools = build_tools(self._tool_types, self._state.finish(), (), self._context.provider, self._context.codec)
        out.extend((self.chunk_type(Chunk(), self._context.codec), t) for t in tools)
        self.end_time = time.time() * 1000
        return out

    def _broken(self, error: MinicallError) -> MinicallError:
        error.partial = self._state.content
        if error.url is None:  # broke after the send loop let it go: name the request here
            from .hints import describe

            request = self._context.request
            describe(error, None, request.method, request.url)
            if isinstance(error, ResponseFormatError) and self._context.trace is not None:
                error.attempts = self._context.trace.attempts
        if error.request_id is None:
            error.request_id = self._request_id
        self._traced_failure(error)
        return error

    def _traced_failure(self, error: BaseException) -> None:
        trace = self._context.trace
        if trace is not None and not isinstance(error, GeneratorExit):
            trace.stream_failed(error)

    def _traced_end(self) -> None:
        # Ended well, or closed early by its consumer; a failure was traced already.
        trace = self._context.trace
        if trace is not None:
            trace.stream_ended(self._events, self._state, complete=self.end_time > 0)

    # -- what a stream knows --------------------------------------------------------

    @property
    def content(self) -> str:
        """The text received so far."""
        return self._state.content

    @property
    def usage(self) -> Usage | None:
        """Usage, once the provider sent it."""
        return self._state.usage

    @property
    def input_tokens(self) -> int | None:
        """Prompt tokens, once known."""
        return None if self._state.usage is None else self._state.usage.input_tokens

    @property
    def output_tokens(self) -> int | None:
        """Generated tokens, once known."""
        return None if self._state.usage is None else self._state.usage.output_tokens

    @property
    def finish_reasons(self) -> list[str] | None:
        """Finish reasons, once received."""
        return self.construct_call_response().finish_reasons

    @property
    def model(self) -> str | None:
        """The model, as reported in the stream."""
        return self._state.model or self._context.model

    @property
    def id(self) -> str | None:
        """The response id, as reported in the stream."""
        return self._state.id

    @property
    def cost(self) -> float | None:
        """USD for what was streamed (priced exactly as the equivalent response)."""
        return self.construct_call_response().cost

    @property
    def cached_tokens(self) -> int | None:
        """Prompt tokens served from the provider's cache, once known."""
        return None if self._state.usage is None else self._state.usage.cached_tokens

    @property
    def start_time(self) -> float:
        """Milliseconds since the epoch when the call started."""
        return self._context.start_time

    def _speaks_native(self) -> bool:
        return self.response_type._native

    @property
    def message_param(self) -> Any:
        """The assistant turn streamed so far, as the same reply non-streamed gives it
        (Anthropic's thinking blocks and signatures included), ready for a history."""
        return self.construct_call_response().message_param

    @classmethod
    def tool_message_params(
        cls: type[_StreamBase[BaseCallResponse[MessageT], Any]],
        tools_and_outputs: Sequence[tuple[BaseTool, Any]],
    ) -> list[MessageT]:
        """The messages that carry tool results back to the model: those of the stream's
        response class, so ``stream.tool_message_params(...)``,
        ``AnthropicStream.tool_message_params(...)`` and
        ``AnthropicCallResponse.tool_message_params(...)`` are the same messages.

        A classmethod, as on Mirascope's ``llm.Stream`` (its provider streams have it as
        an instance method, which this also serves). Outputs that are not strings are
        sent as JSON.
        """
        response_class = cls._response_class
        if response_class is None:
            raise ConfigurationError(
                f"{cls.__name__} names no response class "
                "(subclass BaseStream[SomeCallResponse, SomeCallResponseChunk])"
            )
        return response_class.tool_message_params(tools_and_outputs)

    def construct_call_response(self) -> ResponseT_co:
        """The response a non-streamed call would have given for what was streamed."""
        native = self._context.codec.native_assistant(self._state.message())
        return self.response_type(
            self._state.completion(native), self._context, self.end_time or time.time() * 1000
        )


class BaseStream(_StreamBase[ResponseT_co, ChunkT]):
    """A lazy stream: ``for chunk, tool in stream:``."""

    def __init__(
        self,
        context: CallContext,
        response_type: type[ResponseT_co],
        chunk_type: type[ChunkT],
        open_: Callable[[], HttpResponse],
    ) -> None:
        super().__init__(context, response_type, chunk_type)
        self._open = open_
        self._started = False

    def __iter__(self) -> Iterator[tuple[ChunkT, BaseTool | None]]:
        if self._started:
            raise RuntimeError("a stream can be iterated only once")
        self._started = True
        response: HttpResponse | None = None
        try:
            response = self._open()
            self._opened(response.headers, response.deadline)
            for piece in response.iter_bytes():
                pairs = self._feed(piece)
                if pairs:
                    yield from pairs
                    self._resumed()
            yield from self._finish()
        except MinicallError as error:
            self._broken(error)
            raise
        except BaseException as error:
            self._traced_failure(error)
            raise
        finally:
            self._traced_end()
            if response is not None:
                response.close()


class BaseAsyncStream(_StreamBase[ResponseT_co, ChunkT]):
    """A lazy async stream: ``async for chunk, tool in stream:``."""

    def __init__(
        self,
        context: CallContext,
        response_type: type[ResponseT_co],
        chunk_type: type[ChunkT],
        open_: Callable[[], Awaitable[AsyncHttpResponse]],
    ) -> None:
        super().__init__(context, response_type, chunk_type)
        self._open = open_
        self._started = False

    def __aiter__(self) -> AsyncIterator[tuple[ChunkT, BaseTool | None]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[tuple[ChunkT, BaseTool | None]]:
        if self._started:
            raise RuntimeError("a stream can be iterated only once")
        self._started = True
        response: AsyncHttpResponse | None = None
        try:
            response = await self._open()
            self._opened(response.headers, response.deadline)
            async for piece in response.aiter_bytes():
                pairs = self._feed(piece)
                if pairs:
                    for pair in pairs:
                        yield pair
                    self._resumed()
            for pair in self._finish():
                yield pair
        except MinicallError as error:
            self._broken(error)
            raise
        except BaseException as error:
            self._traced_failure(error)
            raise
        finally:
            self._traced_end()
            if response is not None:
                await response.aclose()

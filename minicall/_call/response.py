"""Call responses and stream chunks (API.md section 2).

One class serves every provider: a provider module's response speaks the provider's
native message dicts, ``llm.CallResponse`` speaks neutral :class:`Message` s and
normalized finish reasons. Which one is a class variable, not a copy of the code.
"""
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from .._model.errors import ConfigurationError, ResponseFormatError
from .._model.http import HttpRequest
from .._model.messages import Message, ToolCallPart, ToolResultPart
from .dump import PydanticFace, plain, tool_type_name
from .pricing import cost as _cost
from .tool_call import native_call, view
from .pricing import usd as _usd
from .._model.spec import CallSpec, Chunk, Codec, Completion, Usage

if TYPE_CHECKING:
    from .telemetry import CallTrace
    from .tools import BaseTool

__all__ = ["BaseCallResponse", "BaseCallResponseChunk", "CallContext", "CallFacts", "build_tools"]

MessageT = TypeVar("MessageT")


@dataclass(slots=True)
class CallContext:
    """What the call machinery knew when it sent the request."""

    provider: str
    model: str
    spec: CallSpec
    codec: Codec
    request: HttpRequest
    fn_args: dict[str, Any] = field(default_factory=dict[str, Any])
    prompt_template: str | None = None
    dynamic_config: dict[str, Any] | None = None
    tool_types: tuple[type[BaseTool], ...] = ()
    start_time: float = 0.0
    batch: bool = False
    """Run by the provider's batch engine: priced at the batch price."""
    trace: CallTrace | None = None
    """The call's log lines and span, from its first attempt on."""
    partial_tools: bool = False
    """A stream that also yields each tool call as its arguments arrive (``StreamConfig``)."""


def build_tools(
    tool_types: Sequence[type[BaseTool]],
    calls: Sequence[ToolCallPart],
    raws: Sequence[Any],
    provider: str = "",
    codec: Codec | None = None,
) -> list[BaseTool]:
    """Tool instances for the calls whose name matches one of ``tool_types``.

    Each tool's ``tool_call`` is its raw call (``raws[i]``) as a :class:`ToolCallView`;
    without one (a streamed call), the call as ``codec`` writes it in a history.
    """
    by_name = {t._name(): t for t in tool_types}
    tools: list[BaseTool] = []
    for i, call in enumerate(calls):
        tool_type = by_name.get(call.name)
        if tool_type is not None:
            if call.unparsed is not None:
                raise ResponseFormatError(
                    provider, f"tool call {call.name}", "arguments are not a JSON object", call.unparsed
                )
            if i < len(raws):
                raw = view(raws[i])
            else:
                raw = call if codec is None else native_call(codec, provider, call)
            tools.append(tool_type.from_call(call.id, call.args, raw))
    return tools


def _normalize(codec: Codec, reasons: Sequence[str] | None) -> list[str] | None:
    if reasons is None:
        return None
    return [codec.finish_map.get(r, r) for r in reasons]


class CallFacts:
    """What a call sent, as responses and streams alike report it (API.md section 2).

    The host class provides ``_context`` (a :class:`CallContext`) and says, through
    :meth:`_speaks_native`, whether messages are the provider's dicts or neutral ones.
    """

    _context: CallContext

    def _speaks_native(self) -> bool:
        raise NotImplementedError

    @property
    def provider(self) -> str:
        """The provider that answered."""
        return self._context.provider

    @property
    def prompt_template(self) -> str | None:
        """The template used, if any."""
        return self._context.prompt_template

    @property
    def fn_args(self) -> dict[str, Any]:
        """The decorated function's bound arguments."""
        return self._context.fn_args

    @property
    def dynamic_config(self) -> dict[str, Any] | None:
        """What the function returned, when it returned a config."""
        return self._context.dynamic_config

    @property
    def metadata(self) -> dict[str, Any]:
        """The config's ``metadata`` (``{}`` when none)."""
        config = self._context.dynamic_config or {}
        return dict(config.get("metadata") or {})

    @property
    def messages(self) -> list[Any]:
        """The messages sent (native dicts for a provider module's response)."""
        if self._speaks_native():
            return self._context.codec.to_native(self._context.spec.messages)
        return list(self._context.spec.messages)

    @property
    def user_message_param(self) -> Any:
        """The last user message sent, or ``None``."""
        for message in reversed(self.messages):
            role = message.role if isinstance(message, Message) else message.get("role")
            if role == "user":
                return message
        return None

    @property
    def call_params(self) -> dict[str, Any]:
        """The merged call params used."""
        return dict(self._context.spec.call_params)

    @property
    def call_kwargs(self) -> dict[str, Any]:
        """The final request arguments: the JSON body sent (credentials travel in headers)."""
        try:
            body = json.loads(self._context.request.body or b"{}")
        except ValueError:
            return {}
        return cast("dict[str, Any]", body) if isinstance(body, dict) else {}

    @property
    def tool_types(self) -> list[type[BaseTool]]:
        """The tool types offered in this call."""
        return list(self._context.tool_types)


class BaseCallResponse(CallFacts, PydanticFace, Generic[MessageT]):
    """The result of one call; see API.md section 2 for every property."""

    _native: ClassVar[bool] = True
    """True: provider-native messages and finish reasons; False: neutral ones."""
    _codec: ClassVar[Codec | None] = None
    """The codec whose native messages a provider's response class speaks, for
    :meth:`tool_message_params` called on the class (no instance, so no call context)."""
    _dump_extra: ClassVar[tuple[str, ...]] = ()
    """Properties a provider's Mirascope response adds to its ``model_dump()`` after
    ``message_param`` (OpenAI's, and xAI's and LiteLLM's built on it: the audio)."""

    def _speaks_native(self) -> bool:
        return self._native

    def __init__(self, completion: Completion, context: CallContext, end_time: float) -> None:
        self._completion = completion
        self._context = context
        self.start_time: float = context.start_time
        """Milliseconds since the epoch when the call started."""
        self.end_time: float = end_time
        """Milliseconds since the epoch when the reply was decoded."""
        self._tools: list[BaseTool] | None = None

    # -- the reply ----------------------------------------------------------------

    @property
    def content(self) -> str:
        """The main text of the reply (``""`` when none)."""
        return self._completion.content

    @property
    def finish_reasons(self) -> list[str] | None:
        """Why generation stopped, per choice."""
        reasons = self._completion.finish_reasons
        if self._native:
            return None if reasons is None else list(reasons)
        return _normalize(self._context.codec, reasons)

    @property
    def model(self) -> str | None:
        """The model as the provider reports it (the requested one where it reports none)."""
        return self._completion.model or self._context.model

    @property
    def id(self) -> str | None:
        """The provider's id for this response."""
        return self._completion.id

    @property
    def usage(self) -> Usage | None:
        """Token counts, when the provider sent them."""
        return self._completion.usage

    @property
    def input_tokens(self) -> int | None:
        """Prompt tokens, cached ones included."""
        return None if self.usage is None else self.usage.input_tokens

    @property
    def cached_tokens(self) -> int | None:
        """Prompt tokens served from the provider's cache."""
        return None if self.usage is None else self.usage.cached_tokens

    @property
    def output_tokens(self) -> int | None:
        """Generated tokens."""
        return None if self.usage is None else self.usage.output_tokens

    @property
    def cost(self) -> float | None:
        """USD: the provider's own figure when it reports one, else from the price table."""
        if self._completion.reported_cost is not None:
            return _usd(self._completion.reported_cost)
        batch = self._context.batch
        return _cost(self.provider, self._context.model, self.usage, batch=batch) or _cost(
            self.provider, self._completion.model, self.usage, batch=batch
        )

    @property
    def response(self) -> Mapping[str, Any]:
        """The provider's raw decoded response."""
        return self._completion.raw

    @property
    def audio(self) -> bytes | None:
        """Audio output (OpenAI audio models), decoded."""
        return self._completion.audio

    @property
    def audio_transcript(self) -> str | None:
        """The transcript of :attr:`audio`."""
        return self._completion.audio_transcript

    @property
    def message_param(self) -> MessageT:
        """The assistant turn, ready to append to a history."""
        if self._native:
            value: Any = dict(self._completion.native_message)
        else:
            value = self._completion.message
        result: MessageT = value
        return result

    # -- tools --------------------------------------------------------------------

    @property
    def tools(self) -> list[BaseTool] | None:
        """The tool calls as tool instances (``None`` when there were none)."""
        if self._tools is None:
            calls = [p for p in self._completion.message.parts if isinstance(p, ToolCallPart)]
            self._tools = build_tools(
                self._context.tool_types, calls, self._completion.raw_tool_calls, self._context.provider
            )
        return self._tools or None

    @property
    def tool(self) -> BaseTool | None:
        """The first tool call, or ``None``."""
        tools = self.tools
        return tools[0] if tools else None

    @classmethod
    def tool_message_params(cls, tools_and_outputs: Sequence[tuple[BaseTool, Any]]) -> list[MessageT]:
        """The messages that carry tool results back to the model.

        A classmethod, as in Mirascope: ``OpenAICallResponse.tool_message_params(...)``
        and ``response.tool_message_params(...)`` give the same messages. Outputs that
        are not strings are sent as JSON.
        """
        results = [
            ToolResultPart(tool.id or "", tool._name(), output if isinstance(output, str) else _jsonish(output))
            for tool, output in tools_and_outputs
        ]
        if not results:
            return []
        message = Message("tool", results)
        if not cls._native:
            neutral: list[Any] = [message]
            return neutral
        if cls._codec is None:
            raise ConfigurationError(f"{cls.__name__} names no codec (_codec) to write tool messages with")
        out: list[Any] = cls._codec.to_native([message])
        return out

    def _dump(self) -> dict[str, Any]:
        """The keys of Mirascope's call-response ``model_dump()``, with plain values."""
        usage = self.usage
        facts: dict[str, Any] = {
            "metadata": self.metadata,
            "response": self.response,
            "tool_types": [tool_type_name(t) for t in self.tool_types],
            "prompt_template": self.prompt_template,
            "fn_args": self.fn_args,
            "dynamic_config": self.dynamic_config,
            "messages": self.messages,
            "call_params": self.call_params,
            "call_kwargs": self.call_kwargs,
            "user_message_param": self.user_message_param,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "content": self.content,
            "finish_reasons": self.finish_reasons,
            "model": self.model,
            "id": self.id,
            "input_tokens": self.input_tokens,
            "cached_tokens": self.cached_tokens,
            "output_tokens": self.output_tokens,
            "cost_metadata": {
                "input_tokens": None if usage is None else usage.input_tokens,
                "output_tokens": None if usage is None else usage.output_tokens,
                "cached_tokens": None if usage is None else usage.cached_tokens,
            },
            "cost": self.cost,
            "message_param": self.message_param,
        }
        for name in self._dump_extra:
            facts[name] = getattr(self, name)
        return {k: plain(v) for k, v in facts.items()}

    def __str__(self) -> str:
        return self.content

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider!r}, model={self.model!r}, "
            f"content={self.content[:60]!r}, finish_reasons={self.finish_reasons!r})"
        )


def _jsonish(value: Any) -> str:
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


class BaseCallResponseChunk(PydanticFace):
    """One piece of a streamed reply."""

    _native: ClassVar[bool] = True

    def __init__(self, chunk: Chunk, codec: Codec) -> None:
        self._chunk = chunk
        self._codec = codec

    @property
    def content(self) -> str:
        """The text this chunk adds."""
        return self._chunk.content

    @property
    def finish_reasons(self) -> list[str] | None:
        """Finish reasons, on the chunk that carries them."""
        reasons = self._chunk.finish_reasons
        if self._native:
            return None if reasons is None else list(reasons)
        return _normalize(self._codec, reasons)

    @property
    def usage(self) -> Usage | None:
        """Usage so far, on the chunks that carry it."""
        return self._chunk.usage

    @property
    def input_tokens(self) -> int | None:
        """Prompt tokens, when this chunk carries usage."""
        return None if self._chunk.usage is None else self._chunk.usage.input_tokens

    @property
    def output_tokens(self) -> int | None:
        """Generated tokens so far, when this chunk carries usage."""
        return None if self._chunk.usage is None else self._chunk.usage.output_tokens

    @property
    def model(self) -> str | None:
        """The model, when this chunk names it."""
        return self._chunk.model

    @property
    def id(self) -> str | None:
        """The response id, when this chunk carries it."""
        return self._chunk.id

    @property
    def audio(self) -> bytes:
        """Audio bytes this chunk adds."""
        return self._chunk.audio

    @property
    def audio_transcript(self) -> str:
        """Transcript text this chunk adds."""
        return self._chunk.audio_transcript

    @property
    def chunk(self) -> Mapping[str, Any]:
        """The provider's raw chunk."""
        return self._chunk.raw

    def _dump(self) -> dict[str, Any]:
        """Mirascope's chunk ``model_dump()``: ``{"chunk": <the provider's raw chunk>}``."""
        return {"chunk": plain(self.chunk)}

    def __str__(self) -> str:
        return self.content

    def __repr__(self) -> str:
        return f"{type(self).__name__}(content={self.content!r})"

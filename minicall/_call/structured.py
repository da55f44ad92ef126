"""Structured output: a response (or stream) in, a validated ``response_model`` value out.

Without ``json_mode`` the value comes from the forced tool call's arguments; with it,
from the JSON text of the reply. Streamed, partial values are built as the JSON
arrives and only the last one is validated.
"""
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from .._model.errors import ValidationError

if TYPE_CHECKING:
    from .response import BaseCallResponse
    from .stream import BaseAsyncStream, BaseStream

__all__ = [
    "AsyncStructuredStream",
    "Partial",
    "StructuredStream",
    "extract",
    "json_text",
    "partial_models",
    "partial_models_async",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Partial(Protocol[T_co]):
    """A partial ``T`` from a streamed ``response_model``: any field may still be missing.

    At run time it is a ``T`` whose fields not yet streamed are ``None`` (the last one is
    complete and validated); to the type checker every attribute is ``Any | None``, so
    ``2026 - partial.year`` is an error until ``partial.year`` is checked.
    """

    def __getattr__(self, name: str) -> Any | None: ...


def json_text(text: str) -> Any:
    """The JSON in ``text``: all of it, or else the first object or array (models wrap JSON
    in prose or fences)."""
    try:
        return json.loads(text)  # the whole reply is JSON (bare scalars included)
    except ValueError:
        pass
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "{[":
            try:
                value, _ = decoder.raw_decode(text, i)
            except ValueError:
                continue
            return value
    raise ValueError("no JSON object in the reply")


def _attach(value: Any, response: Any) -> Any:
    # Mirascope hangs the response on the model as ``_response``; where the type has no
    # room for it (builtins, slots) the value is returned as is.
    if isinstance(value, Enum):
        return value  # a member is shared by every call: it cannot carry one call's response
    try:
        object.__setattr__(value, "_response", response)
    except (AttributeError, TypeError):
        pass
    return value


def _name(model: Any) -> str:
    return getattr(model, "__name__", None) or repr(model)


def _value(model: Any, response: BaseCallResponse[Any], json_mode: bool) -> Any:
    from .._model.messages import ToolCallPart
    from .tools import is_strict, response_model_tool, unwrap
    from .._schema.dialects import strict_nulls_dropped
    from .._schema.validate import validate

    tool_type = response_model_tool(model)
    if json_mode:
        try:
            raw = json_text(response.content)
        except ValueError:
            raise ValidationError([f"<reply>: expected JSON, got {response.content[:80]!r}"], None, _name(model)) from None
        if getattr(tool_type, "__minicall_wrapped__", False) and not (isinstance(raw, dict) and "value" in raw):
            return validate(model, raw)  # a bare value where {"value": ...} was asked for
        fmt = response._context.spec.response_format
        if fmt is not None and fmt.strict_schema is not None:
            raw = strict_nulls_dropped(tool_type._parameters_schema(), raw)
        return unwrap(tool_type, _with_call_args(model, raw, response.fn_args))
    for part in response._completion.message.parts:
        if isinstance(part, ToolCallPart) and part.name == tool_type._name():
            if part.unparsed is not None:
                problem = f"<reply>: the tool arguments are not a JSON object: {part.unparsed[:80]!r}"
                raise ValidationError([problem], None, _name(model))
            args: Any = part.args
            if is_strict(tool_type):
                args = strict_nulls_dropped(tool_type._parameters_schema(), args)
            return unwrap(tool_type, _with_call_args(model, args, response.fn_args))
    raise ValidationError(["<reply>: the model did not call the structured-output tool"], None, _name(model))


def _with_call_args(model: Any, args: Any, fn_args: Mapping[str, Any]) -> Any:
    """``args`` plus the fields ``model`` marks ``FromCallArgs``, from the call's arguments."""
    from .._schema.call_args import call_arg_values

    extra = call_arg_values(model, fn_args)
    return {**cast("Mapping[str, Any]", args), **extra} if extra and isinstance(args, Mapping) else args


def extract(model: Any, response: BaseCallResponse[Any], *, json_mode: bool) -> Any:
    """The validated ``model`` value in ``response``; ``ValidationError`` carries the response."""
    try:
        value = _value(model, response, json_mode)
    except ValidationError as exc:
        exc.response = response
        raise
    return _attach(value, response)


def _partial(model: Any, stream: Any, json_mode: bool) -> Any:
    from .._schema.partial_json import parse_partial
    from .tools import response_model_tool, unwrap_partial

    text = stream.content if json_mode else stream._state.first_tool_arguments()
    partial = _with_call_args(model, parse_partial(text), stream.fn_args)
    return unwrap_partial(response_model_tool(model), partial)


def _source(stream: Any, json_mode: bool) -> str:
    if json_mode:
        return str(stream.content)
    return str(stream._state.first_tool_arguments())


def partial_models(model: Any, stream: BaseStream[Any, Any], *, json_mode: bool) -> Generator[Any, None, None]:
    """Partial ``model`` values as the stream's JSON grows; the last one validated."""
    seen = ""
    for _chunk, _tool in stream:
        text = _source(stream, json_mode)
        if text != seen and text.strip():
            seen = text
            yield _partial(model, stream, json_mode)
    yield extract(model, stream.construct_call_response(), json_mode=json_mode)


async def partial_models_async(
    model: Any, stream: BaseAsyncStream[Any, Any], *, json_mode: bool
) -> AsyncGenerator[Any, None]:
    """The async twin of :func:`partial_models`."""
    seen = ""
    async for _chunk, _tool in stream:
        text = _source(stream, json_mode)
        if text != seen and text.strip():
            seen = text
            yield _partial(model, stream, json_mode)
    yield extract(model, stream.construct_call_response(), json_mode=json_mode)


class _Structured(Generic[T]):
    """What both structured streams hold; see :class:`StructuredStream`."""

    def __init__(self, model: Any, stream: Any) -> None:
        self.stream = stream
        """The stream of chunks the values come from, with its usage, cost, messages, ..."""
        self.response_model: Any = model
        """The ``response_model`` asked for."""
        self._done = False
        self._closed = False  # closed early: the last value is a partial one, not the whole
        self._last: Any = None

    @property
    def constructed_response_model(self) -> T:
        """The complete, validated value, once the stream has been iterated to its end."""
        if not self._done:
            raise AttributeError(
                "constructed_response_model is set once the stream has been iterated to its end"
            )
        return cast("T", self._last)


class StructuredStream(_Structured[T]):
    """A streamed ``response_model``, as Mirascope's structured stream: iterate it for
    partial values as the JSON arrives (the last one complete and validated); then
    :attr:`constructed_response_model` is that last value and :attr:`stream` the
    underlying stream. It can be iterated once."""

    def __init__(self, model: Any, stream: BaseStream[Any, Any], *, json_mode: bool) -> None:
        super().__init__(model, stream)
        self._values = partial_models(model, stream, json_mode=json_mode)

    def __iter__(self) -> StructuredStream[T]:
        return self

    def __next__(self) -> Partial[T]:
        try:
            value = next(self._values)
        except StopIteration:
            self._done = not self._closed
            raise
        self._last = value
        return cast("Partial[T]", value)

    def close(self) -> None:
        """Stop early, as a generator's ``close()``; no whole value is made."""
        self._closed = True
        self._values.close()


class AsyncStructuredStream(_Structured[T]):
    """The async twin of :class:`StructuredStream`: ``async for partial in ...``."""

    def __init__(self, model: Any, stream: BaseAsyncStream[Any, Any], *, json_mode: bool) -> None:
        super().__init__(model, stream)
        self._values = partial_models_async(model, stream, json_mode=json_mode)

    def __aiter__(self) -> AsyncStructuredStream[T]:
        return self

    async def __anext__(self) -> Partial[T]:
        try:
            value = await self._values.__anext__()
        except StopAsyncIteration:
            self._done = not self._closed
            raise
        self._last = value
        return cast("Partial[T]", value)

    async def aclose(self) -> None:
        """Stop early, as an async generator's ``aclose()``; no whole value is made."""
        self._closed = True
        await self._values.aclose()

"""Structured output: a response (or stream) in, a validated ``response_model`` value out.

Without ``json_mode`` the value comes from the forced tool call's arguments; with it,
from the JSON text of the reply. Streamed, partial values are built as the JSON
arrives and only the last one is validated.
"""
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

from .._model.errors import ValidationError

if TYPE_CHECKING:
    from .response import BaseCallResponse
    from .stream import BaseAsyncStream, BaseStream

__all__ = ["extract", "json_text", "partial_models", "partial_models_async"]


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


def partial_models(model: Any, stream: BaseStream[Any, Any], *, json_mode: bool) -> Iterator[Any]:
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
) -> AsyncIterator[Any]:
    """The async twin of :func:`partial_models`."""
    seen = ""
    async for _chunk, _tool in stream:
        text = _source(stream, json_mode)
        if text != seen and text.strip():
            seen = text
            yield _partial(model, stream, json_mode)
    yield extract(model, stream.construct_call_response(), json_mode=json_mode)

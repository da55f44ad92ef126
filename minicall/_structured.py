"""Structured output: a response (or stream) in, a validated ``response_model`` value out.

Without ``json_mode`` the value comes from the forced tool call's arguments; with it,
from the JSON text of the reply. Streamed, partial values are built as the JSON
arrives and only the last one is validated.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from ._errors import ValidationError

if TYPE_CHECKING:
    from ._response import BaseCallResponse
    from ._stream import BaseAsyncStream, BaseStream

__all__ = ["extract", "json_text", "partial_models", "partial_models_async"]


def json_text(text: str) -> Any:
    """The first JSON object or array in ``text`` (models wrap JSON in prose or fences)."""
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
    try:
        object.__setattr__(value, "_response", response)
    except (AttributeError, TypeError):
        pass
    return value


def _name(model: Any) -> str:
    return getattr(model, "__name__", None) or repr(model)


def _value(model: Any, response: BaseCallResponse[Any], json_mode: bool) -> Any:
    from ._messages import ToolCallPart
    from ._tools import response_model_tool, unwrap
    from ._validate import validate

    if json_mode:
        try:
            raw = json_text(response.content)
        except ValueError:
            raise ValidationError([f"<reply>: expected JSON, got {response.content[:80]!r}"], None, _name(model)) from None
        return validate(model, raw)
    tool_type = response_model_tool(model)
    for part in response._completion.message.parts:
        if isinstance(part, ToolCallPart) and part.name == tool_type._name():
            return unwrap(tool_type, part.args)
    raise ValidationError(["<reply>: the model did not call the structured-output tool"], None, _name(model))


def extract(model: Any, response: BaseCallResponse[Any], *, json_mode: bool) -> Any:
    """The validated ``model`` value in ``response``; ``ValidationError`` carries the response."""
    try:
        value = _value(model, response, json_mode)
    except ValidationError as exc:
        exc.response = response
        raise
    return _attach(value, response)


def _partial(model: Any, stream: Any, json_mode: bool) -> Any:
    from ._partial_json import parse_partial, partial_value
    from ._tools import response_model_tool, unwrap_partial

    if json_mode:
        return partial_value(model, parse_partial(stream.content))
    return unwrap_partial(response_model_tool(model), parse_partial(stream._state.first_tool_arguments()))


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

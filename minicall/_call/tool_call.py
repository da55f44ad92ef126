"""``tool.tool_call``: the provider's raw call, readable as the official SDK's object too.

Mirascope hands out the SDK's object (``tool.tool_call.function.name`` for OpenAI,
``tool.tool_call.input`` for Anthropic, ``tool.tool_call.args`` for Gemini). minicall has
no SDK objects, so the raw JSON of the call is wrapped in :class:`ToolCallView`: a dict
(``tool.tool_call["function"]["name"]`` and ``json.dumps`` keep working) whose keys are
attributes as well, nested dicts included, with the SDK's snake_case names reaching
camelCase keys (``tool_use_id`` reads Bedrock's ``toolUseId``). It is read-only.

A streamed call has no raw JSON of its own (it arrived in pieces), so its view is the
call as the provider writes it in an assistant turn: the same shape a non-streamed
reply carries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, cast

from .._model.messages import Message, ToolCallPart
from .._model.spec import Codec

__all__ = ["ToolCallView", "native_call", "view"]

_CAMEL = re.compile(r"_([a-z0-9])")

# Where one tool call sits in the native assistant turn that holds only that call.
_PATHS: dict[str, tuple[str | int, ...]] = {
    "anthropic": ("content", 0),
    "google": ("parts", 0, "functionCall"),
    "bedrock": ("content", 0, "toolUse"),
}
_DEFAULT_PATH: tuple[str | int, ...] = ("tool_calls", 0)  # the Chat Completions family, Cohere


def _wrap(value: Any) -> Any:
    if isinstance(value, Mapping) and not isinstance(value, ToolCallView):
        return ToolCallView(cast("Mapping[str, Any]", value))
    if isinstance(value, list):
        return [_wrap(v) for v in cast("Sequence[Any]", value)]
    return value


def _read_only() -> NoReturn:
    raise TypeError("a tool call view is read-only; copy it with dict(...) to change it")


class ToolCallView(dict[str, Any]):
    """A read-only dict of a raw tool call whose keys read as attributes too."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        super().__init__({k: _wrap(v) for k, v in raw.items()})

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_"):
            if name in self:
                return self[name]
            camel = _CAMEL.sub(lambda m: m.group(1).upper(), name)
            if camel in self:
                return self[camel]
        raise AttributeError(f"this tool call has no {name!r} (it has {', '.join(map(repr, self)) or 'no keys'})")

    # Each mutator refuses: the view is what the provider sent, shared by whoever reads it.
    def __setitem__(self, *args: Any, **kwargs: Any) -> NoReturn:
        _read_only()

    def __delitem__(self, *args: Any, **kwargs: Any) -> NoReturn:
        _read_only()

    def __setattr__(self, *args: Any, **kwargs: Any) -> NoReturn:
        _read_only()

    def __delattr__(self, *args: Any, **kwargs: Any) -> NoReturn:
        _read_only()

    def clear(self, *args: Any, **kwargs: Any) -> NoReturn:
        _read_only()

    def pop(self, *args: Any, **kwargs: Any) -> NoReturn:
        _read_only()

    def popitem(self, *args: Any, **kwargs: Any) -> NoReturn:
        _read_only()

    def setdefault(self, *args: Any, **kwargs: Any) -> NoReturn:
        _read_only()

    def update(self, *args: Any, **kwargs: Any) -> NoReturn:
        _read_only()

    def __reduce__(self) -> tuple[Any, ...]:
        return (ToolCallView, (dict(self),))


def view(raw: Any) -> Any:
    """``raw`` as a :class:`ToolCallView` when it is a mapping, else as it is."""
    return ToolCallView(cast("Mapping[str, Any]", raw)) if isinstance(raw, Mapping) else raw


def native_call(codec: Codec, provider: str, call: ToolCallPart) -> Any:
    """The raw JSON of ``call`` as ``provider`` writes it (for streamed calls), or the
    call itself when the native turn does not have the expected shape."""
    value: Any = codec.native_assistant(Message("assistant", [call]))
    for step in _PATHS.get(provider, _DEFAULT_PATH):
        if isinstance(step, int):
            if not isinstance(value, list) or len(cast("Sequence[Any]", value)) <= step:
                return call
            value = cast("Sequence[Any]", value)[step]
        elif not isinstance(value, Mapping) or step not in value:
            return call
        else:
            value = cast("Mapping[str, Any]", value)[step]
    return view(value)

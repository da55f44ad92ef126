"""``model_dump()`` for responses and chunks: Mirascope's keys, as plain JSON-able data.

Mirascope's responses are pydantic models, and code (and its docs) print or store
``response.model_dump()``. minicall's are plain classes; :func:`dump_response` gives the
same keys, made of dicts, lists, strings, numbers, booleans and ``None`` only, so that
``json.dumps`` takes the result as it is. How values become plain data (:func:`plain`):

- messages and parts (dataclasses) become dicts of their fields; bytes become base64
  text (images, audio, documents);
- tool types become ``{"type": "function", "name": ...}``, as Mirascope serializes them;
- pydantic models become their ``model_dump(mode="json")``; enums their value;
- functions and classes become their qualified name; anything else its ``repr`` (a
  minicall client's repr holds no credential).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast


__all__ = ["RESPONSE_KEYS", "PydanticFace", "plain", "tool_type_name"]

RESPONSE_KEYS = (
    "metadata", "response", "tool_types", "prompt_template", "fn_args", "dynamic_config",
    "messages", "call_params", "call_kwargs", "user_message_param", "start_time", "end_time",
    "content", "finish_reasons", "model", "id", "input_tokens", "cached_tokens", "output_tokens",
    "cost_metadata", "cost", "message_param",
)
"""The keys of a Mirascope v1 call response's ``model_dump()``, in its order."""

_SCALARS = (str, int, float, bool, type(None))


def plain(value: Any, _depth: int = 0) -> Any:
    """``value`` as JSON-able data (see the module docstring for the rules)."""
    if isinstance(value, _SCALARS):
        return value
    if _depth > 64:  # a self-referencing structure: stop instead of recursing forever
        return "..."
    deeper = _depth + 1
    if isinstance(value, Mapping):
        items = cast("Mapping[object, Any]", value).items()
        return {k if isinstance(k, str) else str(k): plain(v, deeper) for k, v in items}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v, deeper) for v in cast("Iterable[Any]", value)]
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, enum.Enum):
        return plain(value.value, deeper)
    if isinstance(value, type):
        return tool_type_name(value) if callable(getattr(value, "_name", None)) else value.__qualname__
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name), deeper) for f in dataclasses.fields(value)}
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # a pydantic model, or a minicall response inside a response
        try:
            return plain(dump(mode="json"), deeper)
        except TypeError:
            return plain(dump(), deeper)
    if callable(value) and hasattr(value, "__qualname__"):
        return str(value.__qualname__)
    return repr(value)


def tool_type_name(tool: type) -> dict[str, str]:
    """How a tool type shows in a dump: its kind and its name."""
    name: Callable[[], str] = getattr(tool, "_name")
    return {"type": "function", "name": name()}


def _select(data: dict[str, Any], include: Iterable[str] | None, exclude: Iterable[str] | None,
            exclude_none: bool) -> dict[str, Any]:
    keep = None if include is None else set(include)
    drop = set(exclude or ())
    return {
        k: v for k, v in data.items()
        if (keep is None or k in keep) and k not in drop and not (exclude_none and v is None)
    }


class PydanticFace:
    """``model_dump()`` and ``model_dump_json()``, as on Mirascope's pydantic responses;
    the host class says what its dump holds through ``_dump``."""

    def _dump(self) -> dict[str, Any]:
        raise NotImplementedError

    def model_dump(
        self,
        *,
        mode: str = "python",
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        exclude_none: bool = False,
    ) -> dict[str, Any]:
        """Mirascope's keys as plain JSON-able data; ``mode`` is taken for pydantic's
        signature, and either mode gives the same."""
        return _select(self._dump(), include, exclude, exclude_none)

    def model_dump_json(
        self,
        *,
        indent: int | None = None,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        exclude_none: bool = False,
    ) -> str:
        """:meth:`model_dump` as JSON text, compact like pydantic's unless ``indent`` is given."""
        data = self.model_dump(include=include, exclude=exclude, exclude_none=exclude_none)
        if indent is None:
            return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        return json.dumps(data, indent=indent, ensure_ascii=False)

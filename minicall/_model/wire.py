"""Two-layer decoding helpers: loose JSON in, checked values out.

Codecs parse a body with :func:`loads`, then narrow each value they use with a
:class:`Reader`; any value of the wrong shape raises ``ResponseFormatError`` naming
the provider, the path and a snippet, never a bare ``KeyError`` or ``TypeError``.
"""

from __future__ import annotations

import builtins
import json
import logging
import math
from collections.abc import Mapping
from typing import Any, TypeGuard, Union, cast

from .errors import ResponseFormatError

__all__ = ["JSON", "JSONObject", "MAX_TOKENS", "Reader", "dumps", "is_list", "loads", "snippet"]

_log = logging.getLogger("minicall")

MAX_TOKENS = 2**53
"""The largest token count taken as one: beyond it a float no longer holds every integer."""

JSON = Union[None, bool, int, float, str, list["JSON"], dict[str, "JSON"]]
JSONObject = dict[str, Any]


def snippet(body: bytes | str, limit: int = 200) -> str:
    """The start of a body as printable text, for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text[:limit]


_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, as the official SDKs send it."""
    return _COMPACT.encode(value).encode("utf-8")


_DECODER = json.JSONDecoder()


def loads(body: bytes | str, provider: str, path: str = "") -> Any:
    """Parse JSON or raise ``ResponseFormatError`` with a snippet of what arrived."""
    try:
        text: str | None = None
        if isinstance(body, str):
            text = body
        elif body[:1] == b"{" and body[1:2] != b"\x00":
            # What json.detect_encoding reads as UTF-8 (no BOM, no NUL in the first
            # bytes), decoded as json.loads decodes it.
            text = body.decode("utf-8", "surrogatepass")
        if text is not None and text[:1] == "{":
            # A reply or stream event is an object from its first character: the public
            # ``raw_decode`` parses it without json.loads' two whitespace scans (a third
            # of its cost on a small event). Anything after the object, even
            # whitespace, takes json.loads, which accepts or refuses it.
            value, end = _DECODER.raw_decode(text)
            if end == len(text):
                return value
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ResponseFormatError(provider, path, f"not JSON ({exc})", snippet(body)) from None


class Reader:
    """Narrowing helpers bound to one provider, for error messages."""

    __slots__ = ("provider",)

    def __init__(self, provider: builtins.str) -> None:
        self.provider = provider

    def fail(self, path: builtins.str, problem: builtins.str, value: Any = None) -> ResponseFormatError:
        """The error for a value at ``path`` that is not what it should be."""
        try:
            shown = json.dumps(value)[:200]
        except (TypeError, ValueError):
            shown = repr(value)[:200]
        return ResponseFormatError(self.provider, path, problem, shown)

    def obj(self, value: Any, path: builtins.str) -> JSONObject:
        """``value`` as a JSON object."""
        if not isinstance(value, dict):
            raise self.fail(path, f"expected an object, got {_kind(value)}", value)
        return cast("JSONObject", value)

    def arr(self, value: Any, path: builtins.str) -> list[Any]:
        """``value`` as a JSON array."""
        if not is_list(value):
            raise self.fail(path, f"expected an array, got {_kind(value)}", value)
        return value

    def opt_arr(self, value: Any, path: builtins.str) -> list[Any]:
        """``value`` as an array; ``None`` as an empty one."""
        return [] if value is None else self.arr(value, path)

    def str(self, value: Any, path: builtins.str) -> builtins.str:
        """``value`` as a string."""
        if not isinstance(value, builtins.str):
            raise self.fail(path, f"expected a string, got {_kind(value)}", value)
        return value

    def opt_str(self, value: Any, path: builtins.str) -> builtins.str | None:
        """``value`` as a string or ``None``."""
        return None if value is None else self.str(value, path)

    def int(self, value: Any, path: builtins.str) -> builtins.int:
        """``value`` as an integer (a whole float is accepted)."""
        # Positive isinstance checks only: they narrow ``value`` for every mypy version.
        if isinstance(value, builtins.int) and not isinstance(value, bool):
            return value
        if isinstance(value, float):
            if not value.is_integer():
                raise self.fail(path, "expected an integer, got a fraction", value)
            return builtins.int(value)
        raise self.fail(path, f"expected an integer, got {_kind(value)}", value)

    def opt_int(self, value: Any, path: builtins.str) -> builtins.int | None:
        """``value`` as an integer or ``None``."""
        return None if value is None else self.int(value, path)

    def tokens(self, value: Any, path: builtins.str, key: builtins.str = "") -> builtins.int | None:
        """``value`` as a token count: a non-negative integer of at most ``2**53`` (a
        whole float is accepted). ``None`` stays ``None``; anything else (negative,
        huge, NaN, infinite, fractional, not a number) is logged and read as ``None``,
        so that a bad count never costs the caller the reply it came with.

        The warning names ``path.key`` (``key`` given apart so that the path is joined
        only for that warning: counts are read on every reply and many stream events)."""
        if value is None:
            return None
        if type(value) is builtins.int and 0 <= value <= MAX_TOKENS:
            return value
        if type(value) is float and math.isfinite(value) and value.is_integer() and 0 <= value <= MAX_TOKENS:
            return builtins.int(value)
        try:
            shown = json.dumps(value)[:40]
        except (TypeError, ValueError):
            shown = type(value).__name__
        where = f"{path}.{key}" if key else path
        _log.warning("%s: %s is not a token count (%s); it reads as None", self.provider, where, shown)
        return None

    def num(self, value: Any, path: builtins.str) -> float:
        """``value`` as a number."""
        if isinstance(value, bool) or not isinstance(value, (builtins.int, float)):
            raise self.fail(path, f"expected a number, got {_kind(value)}", value)
        return float(value)

    def opt_num(self, value: Any, path: builtins.str) -> float | None:
        """``value`` as a number or ``None``."""
        return None if value is None else self.num(value, path)

    def opt_obj(self, value: Any, path: builtins.str) -> JSONObject | None:
        """``value`` as an object or ``None``."""
        return None if value is None else self.obj(value, path)

    def args_or_text(self, text: builtins.str, path: builtins.str) -> tuple[dict[builtins.str, Any], builtins.str | None]:
        """:meth:`args`, or ``({}, text)`` when ``text`` is not a JSON object."""
        try:
            return self.args(text, path), None
        except ResponseFormatError:
            return {}, text

    def args(self, text: builtins.str, path: builtins.str) -> dict[builtins.str, Any]:
        """Tool-call arguments given as JSON text: an object (empty text means ``{}``)."""
        if not text.strip():
            return {}
        value = loads(text, self.provider, path)
        return self.obj(value, path)


def is_list(value: object) -> TypeGuard[list[Any]]:
    """``isinstance(value, list)``, narrowing to ``list[Any]`` for every type checker
    (pyright reads a plain isinstance on ``Any`` as ``list[Unknown]``)."""
    return isinstance(value, list)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    kinds: dict[type[Any], str] = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }
    kind = type(cast(object, value))
    return kinds.get(kind, kind.__name__)


def get(obj: Mapping[str, Any], key: str) -> Any:
    """``obj[key]`` or ``None``: the loose layer, before narrowing."""
    return obj.get(key)

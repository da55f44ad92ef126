"""Best-effort values from a JSON prefix, for streamed structured output.

A streamed response model arrives as JSON text in pieces; after each piece the
caller wants "what we know so far". :func:`parse_partial` reads any prefix of a JSON
document and closes what is open: strings keep the characters received, arrays and
objects keep their finished members. What could still change meaning is dropped
instead of guessed: an object key whose string or colon has not arrived, a number
at the very end of a nested value (``12`` may become ``123``), a half escape
sequence. A partial ``true``/``false``/``null`` can only become one thing, so it is
completed. The result of a prefix is therefore always a *sub-value* of the final
document (same keys or fewer, list prefixes, string prefixes, equal scalars), except
a top-level number, which is returned as read.

Input that stops being JSON is treated like the end of the text: the value read so
far is returned. Nothing here raises.

:func:`partial_value` turns such a value into a partial instance of the response
model: fields not seen yet are ``None``, nothing is validated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from .generate import classify, record_fields, record_kind, unwrap_annotated
from .validate import check

__all__ = ["parse_partial", "partial_value"]

_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_NUMBER_CHARS = frozenset("0123456789+-.eE")
_WORDS = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}
# An escape cut short at the end of a string: a lone backslash or ``\u`` + < 4 hex digits.
_CUT_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*(\\(?:u[0-9a-fA-F]{0,3})?)$")


class _Nothing:
    """No value could be read at this position."""


_NOTHING: Any = _Nothing()


class _Reader:
    """Recursive descent over a prefix; each step returns ``(value, complete)``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def peek(self) -> str:
        while self.i < len(self.text) and self.text[self.i] in " \t\r\n":
            self.i += 1
        return self.text[self.i] if self.i < len(self.text) else ""

    def value(self) -> tuple[Any, bool]:
        c = self.peek()
        if c == "{":
            return self.container(self.member, "}", {})
        if c == "[":
            return self.container(self.item, "]", [])
        if c == '"':
            return self.string()
        if c in _WORDS:
            return self.word(*_WORDS[c])
        if c and c in "-0123456789":
            return self.number()
        return _NOTHING, False

    def container(self, step: Callable[[Any], bool], close: str, out: Any) -> tuple[Any, bool]:
        self.i += 1
        while True:
            c = self.peek()
            if c == close:
                self.i += 1
                return out, True
            if c == ",":
                self.i += 1
            elif not step(out):
                return out, False

    def item(self, out: list[Any]) -> bool:
        value, complete = self.value()
        if value is not _NOTHING and (complete or not self.is_number(value)):
            out.append(value)
        return complete

    def member(self, out: dict[str, Any]) -> bool:
        if self.peek() != '"':
            return False
        key, complete = self.string()
        if not complete or self.peek() != ":":
            return False
        self.i += 1
        value, complete = self.value()
        if value is not _NOTHING and (complete or not self.is_number(value)):
            out[key] = value
        return complete

    @staticmethod
    def is_number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def string(self) -> tuple[Any, bool]:
        start = self.i
        j = start + 1
        while j < len(self.text):
            c = self.text[j]
            if c == "\\":
                j += 2
                continue
            if c == '"':
                self.i = j + 1
                return self.decode(self.text[start + 1:j]), True
            j += 1
        self.i = len(self.text)
        body = self.text[start + 1:]
        cut = _CUT_ESCAPE.search(body)
        if cut:
            body = body[:cut.start(1)]
        decoded = self.decode(body)
        if decoded and "\ud800" <= decoded[-1] <= "\udbff":
            decoded = decoded[:-1]  # half a surrogate pair; the other half is coming
        return decoded, False

    @staticmethod
    def decode(body: str) -> str:
        try:
            decoded: str = json.loads(f'"{body}"', strict=False)
        except ValueError:
            return ""
        return decoded

    def word(self, spelling: str, value: Any) -> tuple[Any, bool]:
        got = self.text[self.i:self.i + len(spelling)]
        if got == spelling:
            self.i += len(spelling)
            return value, True
        if spelling.startswith(got) and self.i + len(got) == len(self.text):
            self.i = len(self.text)
            return value, False
        return _NOTHING, False

    def number(self) -> tuple[Any, bool]:
        match = _NUMBER.match(self.text, self.i)
        end = match.end() if match else self.i
        rest = self.text[end:]
        # More number characters running to the end of the text: still being written.
        complete = bool(rest) and not all(c in _NUMBER_CHARS for c in rest)
        self.i = len(self.text) if not complete else end
        if not match:
            return _NOTHING, False
        digits = match.group()
        value = float(digits) if any(c in digits for c in ".eE") else int(digits)
        return value, complete


def parse_partial(text: str) -> Any:
    """The best-effort value of a JSON prefix; ``None`` when nothing is readable yet."""
    value, _ = _Reader(text).value()
    return None if value is _NOTHING else value


def _record(tp: Any, value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    value = cast("dict[str, Any]", value)  # isinstance leaves dict[Unknown, Unknown]
    fields = record_fields(tp)
    if record_kind(tp) == "typeddict":
        return {f.name: partial_value(f.type, value[f.name]) for f in fields if f.name in value}
    values = {f.name: partial_value(f.type, value.get(f.name)) for f in fields}
    if callable(getattr(tp, "model_construct", None)):
        return tp.model_construct(**values)
    if record_kind(tp) == "namedtuple":
        return tp(**values)
    obj = object.__new__(tp)
    for name, field_value in values.items():
        object.__setattr__(obj, name, field_value)  # frozen dataclasses too
    return obj


def _pydantic(tp: Any, value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    fields = getattr(tp, "model_fields", {})
    return tp.model_construct(**{
        name: partial_value(getattr(info, "annotation", Any), value[name])
        if name in value else None for name, info in fields.items()})


def _sequence(tp: Any, value: Any) -> Any:
    if not isinstance(value, list):
        return None
    value = cast("Sequence[Any]", value)
    args = getattr(tp, "__args__", None) or (Any,)
    kind = classify(tp)
    fixed = kind == "tuple" and Ellipsis not in args and args != ((),)
    types_ = list(args) if fixed else [args[0]] * len(value)
    items = [partial_value(t, v) for t, v in zip(types_, value)]
    if kind == "tuple":
        return tuple(items)
    if kind == "set":
        try:
            return set(items)
        except TypeError:
            return items
    return items


def _mapping(tp: Any, value: Any) -> Any:
    if not isinstance(value, dict):
        return None
    args = getattr(tp, "__args__", (Any, Any))
    return {k: partial_value(args[1], v) for k, v in cast("Mapping[Any, Any]", value).items()}


def _union(tp: Any, value: Any) -> Any:
    for member in tp.__args__:
        result = partial_value(member, value)
        if result is not None:
            return result
    return None


_PARTIALS: dict[str, Callable[[Any, Any], Any]] = {
    "record": _record,
    "pydantic": _pydantic,
    "list": _sequence,
    "tuple": _sequence,
    "set": _sequence,
    "dict": _mapping,
    "union": _union,
}


def partial_value(tp: Any, value: Any) -> Any:
    """``value`` (from :func:`parse_partial`) as a partial ``tp``, unvalidated.

    A value that already validates is returned validated. Otherwise records are
    built without their constructor (pydantic: ``model_construct``), with ``None``
    for fields not seen yet (a ``TypedDict`` just lacks them); scalars that do not
    fit yet (a half-written enum value) are ``None``.
    """
    if value is None:
        return None
    result, errors = check(tp, value)
    if not errors:
        return result
    tp, _ = unwrap_annotated(tp)
    handler = _PARTIALS.get(classify(tp))
    return handler(tp, value) if handler else None

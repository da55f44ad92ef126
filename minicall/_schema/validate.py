"""Decoded JSON -> typed values, every problem reported with its path.

:func:`validate` walks the type and the value together and collects each mismatch as
``"books[2].year: expected int, got \\"1999\\""`` instead of stopping at the first, so
one :class:`~minicall.ValidationError` tells the whole story. :func:`dump` goes the
other way (typed value -> JSON-ready data).

Rules, chosen to match what a model's JSON can honestly mean: an ``int`` is accepted
for ``float`` (``1`` and ``1.0`` are the same JSON number to most writers); ``bool`` is
never an ``int``; strings are never coerced to numbers; unknown object keys are
ignored. ``strict=True`` additionally rejects unknown keys and ints for floats.
``Union`` members are tried in order, an exact type match first.

A type that involves pydantic (a model, its validators or constraints) is validated by
pydantic instead, so that every validator runs: see :mod:`.through_pydantic`.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast, overload

from .._model.errors import ConfigurationError, ValidationError
from .generate import (
    classify,
    field_path,
    record_fields,
    record_kind,
    show_value,
    type_label,
    unwrap_annotated,
)

__all__ = ["check", "dump", "validate"]

T = TypeVar("T")


class _Invalid:
    """Returned by a checker that has recorded an error."""


_INVALID: Any = _Invalid()


class _Checker:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.errors: list[str] = []

    def fail(self, path: str, problem: str) -> Any:
        self.errors.append(f"{path or '(root)'}: {problem}")
        return _INVALID

    def expected(self, path: str, label: str, value: Any) -> Any:
        return self.fail(path, f"expected {label}, got {show_value(value)}")

    def check(self, tp: Any, value: Any, path: str) -> Any:
        tp, _ = unwrap_annotated(tp)
        return _CHECKERS[classify(tp)](self, tp, value, path)


def _none(c: _Checker, tp: Any, value: Any, path: str) -> Any:
    return None if value is None else c.expected(path, "null", value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _scalar(c: _Checker, tp: Any, value: Any, path: str) -> Any:
    if tp is float and _is_int(value) and not c.strict:
        return float(value)
    ok = _is_int(value) if tp is int else isinstance(value, tp)
    return value if ok else c.expected(path, tp.__name__, value)


def _same(a: Any, b: Any) -> bool:
    """JSON equality where ``True`` is not ``1``."""
    return isinstance(a, bool) == isinstance(b, bool) and bool(a == b)


def _choice(c: _Checker, options: list[tuple[Any, Any]], value: Any, path: str) -> Any:
    for json_value, result in options:
        if _same(value, json_value):
            return result
    listed = ", ".join(show_value(j) for j, _ in options)
    return c.fail(path, f"expected one of {listed}, got {show_value(value)}")


def _literal(c: _Checker, tp: Any, value: Any, path: str) -> Any:
    args = typing.get_args(tp)
    return _choice(c, [(a.value if isinstance(a, enum.Enum) else a, a) for a in args], value, path)


def _enum(c: _Checker, tp: Any, value: Any, path: str) -> Any:
    return _choice(c, [(m.value, m) for m in tp], value, path)


def _items(c: _Checker, item_tp: Any, value: Any, path: str, label: str) -> list[Any] | None:
    if not isinstance(value, (list, tuple)):
        c.expected(path, label, value)
        return None
    items = cast("Sequence[Any]", value)  # isinstance leaves list[Unknown]
    return [c.check(item_tp, item, f"{path}[{i}]") for i, item in enumerate(items)]


def _list(c: _Checker, tp: Any, value: Any, path: str) -> Any:
    args = typing.get_args(tp)
    items = _items(c, args[0] if args else Any, value, path, "list")
    return _INVALID if items is None else items


def _tuple(c: _Checker, tp: Any, value: Any, path: str) -> Any:
    args = typing.get_args(tp)
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        items = _items(c, args[0] if args else Any, value, path, "list")
        return _INVALID if items is None else tuple(items)
    fixed: list[Any] = [] if args == ((),) else list(args)
    if not isinstance(value, (list, tuple)):
        return c.expected(path, "list", value)
    given = cast("Sequence[Any]", value)
    if len(given) != len(fixed):
        return c.fail(path, f"expected {len(fixed)} items, got {len(given)}")
    return tuple(c.check(t, v, f"{path}[{i}]") for i, (t, v) in enumerate(zip(fixed, given)))


def _set(c: _Checker, tp: Any, value: Any, path: str) -> Any:
    args = typing.get_args(tp)
    items = _items(c, args[0] if args else Any, value, path, "list")
    if items is None:
        return _INVALID
    try:
        if (typing.get_origin(tp) or tp) is frozenset:
            return frozenset(items)
        return set(items)
    except TypeError:
        return c.fail(path, "items of a set must be hashable")


def _dict(c: _Checker, tp: Any, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        return c.expected(path, "object", value)
    given = cast("Mapping[Any, Any]", value)
    key_tp, value_tp = typing.get_args(tp) or (Any, Any)
    return {c.check(key_tp, k, field_path(path, str(k))): c.check(value_tp, v, field_path(path, str(k)))
            for k, v in given.items()}


def _union(c: _Checker, tp: Any, value: Any, path: str) -> Any:
    members = typing.get_args(tp)
    # Exact matches first (``int | float`` keeps an int an int), then with int->float.
    for strict in (True, c.strict):
        for member in members:
            trial = _Checker(strict)
            result = trial.check(member, value, path)
            if not trial.errors:
                return result
    present = [m for m in members if unwrap_annotated(m)[0] not in (None, type(None))]
    if len(present) == 1 and value is not None:
        return c.check(present[0], value, path)  # Optional[X]: the X errors are the story
    return c.expected(path, " | ".join(type_label(m) for m in members), value)


def _record(c: _Checker, tp: Any, value: Any, path: str) -> Any:
    fields = record_fields(tp)
    kind = record_kind(tp)
    if kind == "namedtuple" and isinstance(value, (list, tuple)):
        row = cast("Sequence[Any]", value)
        if len(row) == len(fields):
            value = {f.name: v for f, v in zip(fields, row)}
    if not isinstance(value, dict):
        return c.expected(path, f"object ({tp.__name__})", value)
    value = cast("dict[str, Any]", value)
    before = len(c.errors)
    kwargs: dict[str, Any] = {}
    for f in fields:
        if f.name in value:
            kwargs[f.name] = c.check(f.type, value[f.name], field_path(path, f.name))
        elif f.required:
            c.fail(field_path(path, f.name), "missing required field")
    if c.strict:
        for name in value.keys() - {f.name for f in fields}:
            c.fail(field_path(path, str(name)), "unexpected field")
    if len(c.errors) > before:
        return _INVALID
    if kind == "typeddict":
        return kwargs
    try:
        return tp(**kwargs)
    except Exception as exc:  # a __post_init__ or __init__ that refuses the values
        return c.fail(path, f"{tp.__name__} refused the values: {exc}")


def _pydantic(c: _Checker, tp: Any, value: Any, path: str) -> Any:
    try:
        return tp.model_validate(value)
    except Exception as exc:
        details: Any = getattr(exc, "errors", None)  # pydantic's, duck-typed
        if not callable(details):
            return c.fail(path, str(exc))
        from .through_pydantic import error_lines

        c.errors.extend(error_lines(cast("list[Any]", details()), path))
        return _INVALID


_CHECKERS: dict[str, Callable[[_Checker, Any, Any, str], Any]] = {
    "any": lambda c, tp, value, path: value,
    "none": _none,
    "scalar": _scalar,
    "literal": _literal,
    "enum": _enum,
    "list": _list,
    "tuple": _tuple,
    "set": _set,
    "dict": _dict,
    "union": _union,
    "record": _record,
    "pydantic": _pydantic,
}


def check(tp: Any, value: Any, *, strict: bool = False) -> tuple[Any, list[str]]:
    """``(typed value, [])`` or ``(None, errors)``; never raises for bad values."""
    checker = _Checker(strict)
    result = checker.check(tp, value, "")
    return (None, checker.errors) if checker.errors else (result, [])


@overload
def validate(tp: type[T], value: Any, *, strict: bool = False) -> T: ...
@overload
def validate(tp: Any, value: Any, *, strict: bool = False) -> Any: ...
def validate(tp: Any, value: Any, *, strict: bool = False) -> Any:
    """``value`` (decoded JSON) as an instance of ``tp``.

    Raises ``ValidationError`` listing every problem as ``path: what was wrong``, and
    ``ConfigurationError`` if ``tp`` is not a supported type. Where ``tp`` involves pydantic
    (a model, validators, constraints) pydantic validates it, and the error is pydantic's
    ``ValidationError`` too (see :mod:`.through_pydantic`).
    """
    from . import through_pydantic  # loaded on first validation, not at import

    done, result = through_pydantic.validate(tp, value, strict=strict, type_name=type_label(tp))
    if done:
        return result
    result, errors = check(tp, value, strict=strict)
    if errors:
        raise ValidationError(errors, None, type_label(tp))
    return result


def dump(value: Any) -> Any:
    """A typed value as JSON-ready data (the inverse of :func:`validate`)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, enum.Enum):
        return dump(value.value)
    if callable(getattr(value, "model_dump", None)):
        return value.model_dump(mode="json")
    if record_kind(type(value)) in ("custom", "dataclass"):
        return {f.name: dump(getattr(value, f.name)) for f in record_fields(type(value))}
    as_dict: Any = getattr(value, "_asdict", None)  # read before isinstance narrows value
    if isinstance(value, tuple) and callable(as_dict):
        fields = cast("dict[str, Any]", as_dict())  # a NamedTuple
        return {k: dump(v) for k, v in fields.items()}
    if isinstance(value, dict):
        return {str(dump(k)): dump(v) for k, v in cast("Mapping[Any, Any]", value).items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [dump(v) for v in cast("Iterable[Any]", value)]
    raise ConfigurationError(f"cannot encode a {type(value).__name__} as JSON")

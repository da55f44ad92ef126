"""``FromCallArgs``: response-model fields that come from the call's arguments.

A field annotated ``Annotated[T, FromCallArgs()]`` is left out of the schema the model
is asked to fill and is set, before validation, from the decorated function's argument
of the same name (as Mirascope's ``FromCallArgs``), so validators that compare it with
what the model wrote see both.
"""

from __future__ import annotations

import typing
import weakref
from collections.abc import Mapping
from typing import Any, cast

from .._model.errors import ConfigurationError

__all__ = ["FromCallArgs", "call_arg_fields", "call_arg_values"]


class FromCallArgs:
    """Marks a response-model field as filled from the call's arguments, not the model's output.

    Example::

        @dataclass
        class Books:
            texts: Annotated[list[str], FromCallArgs()]
            books: list[Book]

        @llm.call(provider="openai", model="gpt-4o-mini", response_model=Books)
        def extract_books(texts: list[str]) -> str: ...
    """

    def __repr__(self) -> str:
        return "FromCallArgs()"


def _marked(tp: Any) -> bool:
    if typing.get_origin(tp) is not typing.Annotated:
        return False
    return any(isinstance(item, FromCallArgs) for item in typing.get_args(tp)[1:])


_FIELDS: weakref.WeakKeyDictionary[type, tuple[str, ...]] = weakref.WeakKeyDictionary()


def _find(tp: type) -> tuple[str, ...]:
    fields = getattr(tp, "model_fields", None)
    if isinstance(fields, Mapping):  # pydantic keeps Annotated metadata on each FieldInfo
        return tuple(
            name for name, info in cast("Mapping[str, Any]", fields).items()
            if any(isinstance(m, FromCallArgs) for m in getattr(info, "metadata", ()) or ())
        )
    try:
        hints = typing.get_type_hints(tp, include_extras=True)
    except Exception:  # the schema generator reports unreadable hints in its own words
        return ()
    return tuple(name for name, hint in hints.items() if _marked(hint))


def call_arg_fields(tp: Any) -> tuple[str, ...]:
    """The names of ``tp``'s fields marked ``FromCallArgs`` (``()`` for other types)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if not isinstance(tp, type):
        return ()
    try:
        cached = _FIELDS.get(tp)
    except TypeError:
        cached = None
    if cached is None:
        cached = _find(tp)
        try:
            _FIELDS[tp] = cached
        except TypeError:
            pass
    return cached


def call_arg_values(tp: Any, fn_args: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``tp``'s ``FromCallArgs`` fields taken from ``fn_args``.

    Raises ``ConfigurationError`` naming the fields the function has no argument for.
    """
    names = call_arg_fields(tp)
    if not names:
        return {}
    missing = [name for name in names if name not in fn_args]
    if missing:
        label = getattr(tp, "__name__", repr(tp))
        raise ConfigurationError(
            f"{label}: fields marked FromCallArgs need arguments of the same name; "
            f"the function has none for {', '.join(missing)}"
        )
    return {name: fn_args[name] for name in names}

"""Validation through pydantic itself, where a pydantic model or validator is involved.

minicall's own checker (:mod:`.validate`) knows types, not validators: it cannot run a
``@field_validator``, an ``AfterValidator`` in ``Annotated[...]`` or a ``Field(max_length=3)``
constraint. So where a type involves pydantic (a pydantic model or dataclass anywhere in
it, pydantic or ``annotated_types`` metadata in an ``Annotated``, a pydantic ``Field(...)``
default, or pydantic validator methods on a tool) and pydantic can be imported, the value
is validated by pydantic (``model_validate``, a ``TypeAdapter``, or for a tool a pydantic
model made from its fields and validators), as Mirascope does. Everything else takes the
minicall path, unchanged; pydantic is imported only for a type that already uses it.

A failure is raised as :func:`error_class`: one class that is both pydantic's
``ValidationError`` and :class:`~minicall.ValidationError`, so code catching either keeps
working. pydantic lets its error be subclassed from 2.10 on; before that (or when the
error cannot be rebuilt) the failure is a plain :class:`~minicall.ValidationError` whose
``__cause__`` is pydantic's error.
"""

from __future__ import annotations

import importlib
import typing
from collections.abc import Callable, Mapping
from typing import Any, cast

from .._model.errors import ConfigurationError, ValidationError
from .generate import MISSING, field_path, is_pydantic, record_fields, record_kind, show_value

__all__ = ["ErrorLines", "error_class", "error_lines", "involves_pydantic", "validate"]

# Metadata and defaults from these distributions are pydantic's to honour (annotated_types
# is pydantic's constraint vocabulary: ``Gt``, ``MaxLen``...).
_PYDANTIC_MODULES = frozenset({"pydantic", "pydantic_core", "annotated_types"})


def _from_pydantic(obj: Any) -> bool:
    return type(obj).__module__.partition(".")[0] in _PYDANTIC_MODULES


def _validators(tp: Any) -> dict[str, Any]:
    """The pydantic validator methods (``@field_validator``, ``@model_validator``...) a
    class declares, by name, the subclass's winning; duck-typed by their decorator info."""
    found: dict[str, Any] = {}
    for klass in reversed(getattr(tp, "__mro__", ())):
        for name, value in vars(klass).items():
            if _from_pydantic(value) and hasattr(value, "decorator_info"):
                found[name] = value
    return found


def involves_pydantic(tp: Any) -> bool:
    """Whether validating ``tp`` needs pydantic to run every rule in it (never imports it)."""
    return _involves(tp, set())


def _involves(tp: Any, seen: set[int]) -> bool:
    if typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        return any(_from_pydantic(m) for m in meta) or _involves(base, seen)
    if is_pydantic(tp) or (isinstance(tp, type) and hasattr(tp, "__pydantic_validator__")):
        return True
    if id(tp) in seen:  # a recursive type: its other branches are being looked at
        return False
    seen.add(id(tp))
    if any(_involves(arg, seen) for arg in typing.get_args(tp)):
        return True
    if record_kind(tp) is None:
        return False
    if _validators(tp):
        return True
    try:
        fields = record_fields(tp)
    except ConfigurationError:
        return False  # minicall reports it on its own path
    return any(_involves(f.type, seen) or _from_pydantic(f.default)
               or _from_pydantic(getattr(tp, f.name, None)) for f in fields)


def _tool_validator(pydantic: Any, tp: Any) -> Callable[[Any, bool], Any]:
    """For a tool class (minicall's ``BaseTool`` is not a pydantic model): a pydantic model
    with the tool's fields, ``Field(...)`` and validators, whose values build the tool."""
    fields: dict[str, Any] = {}
    for f in record_fields(tp):
        declared = getattr(tp, f.name, MISSING)  # a pydantic Field(...) keeps its constraints
        if _from_pydantic(declared) and hasattr(declared, "default"):
            fields[f.name] = (f.type, declared)
        elif f.default_factory is not None:
            fields[f.name] = (f.type, pydantic.Field(default_factory=f.default_factory))
        else:
            fields[f.name] = (f.type, ... if f.required else f.default)
    model: Any = pydantic.create_model(
        tp.__name__, __validators__=_validators(tp),
        __config__=pydantic.ConfigDict(protected_namespaces=()), **fields)

    def run(value: Any, strict: bool) -> Any:
        checked = model.model_validate(value, strict=strict or None)
        return tp(**{name: getattr(checked, name) for name in fields})

    return run


def _build(tp: Any) -> Callable[[Any, bool], Any] | None:
    if not involves_pydantic(tp):
        return None
    try:
        pydantic: Any = importlib.import_module("pydantic")
    except ImportError:
        return None  # metadata from annotated_types alone: minicall validates
    try:
        if is_pydantic(tp):
            model: Any = tp
            return lambda value, strict: model.model_validate(value, strict=strict or None)
        if record_kind(tp) == "custom":
            return _tool_validator(pydantic, tp)
        adapter: Any = pydantic.TypeAdapter(tp)
        return lambda value, strict: adapter.validate_python(value, strict=strict or None)
    except Exception:
        # pydantic cannot describe this type (a minicall tool inside a list, a typing.TypedDict
        # before Python 3.12): minicall validates it as it would without pydantic, and any
        # pydantic model inside still validates itself.
        return None


_VALIDATORS: dict[Any, Callable[[Any, bool], Any] | None] = {}


def _validator(tp: Any) -> Callable[[Any, bool], Any] | None:
    try:
        return _VALIDATORS[tp]
    except KeyError:
        built = _VALIDATORS[tp] = _build(tp)
        return built
    except TypeError:  # unhashable metadata in an Annotated: build each time
        return _build(tp)


class ErrorLines(list[str]):
    """minicall's ``path: problem`` lines that, called, answer as pydantic's ``errors()``.

    One error is both minicall's (``error.errors`` is a list of lines) and pydantic's
    (``error.errors()`` is pydantic's list of dicts, keyword arguments included).
    """

    def __init__(self, lines: list[str], details: Callable[..., Any]) -> None:
        super().__init__(lines)
        self._details = details

    def __call__(self, **kwargs: Any) -> Any:
        """pydantic's ``ValidationError.errors(**kwargs)``."""
        return self._details(**kwargs)


def error_lines(errors: list[Any], path: str = "") -> list[str]:
    """pydantic's ``errors()`` as minicall's ``path: problem, got value`` lines."""
    lines: list[str] = []
    for err in errors:
        where = path
        for part in err.get("loc", ()):
            where = f"{where}[{part}]" if isinstance(part, int) else field_path(where, str(part))
        shown = f", got {show_value(err['input'])}" if "input" in err else ""
        lines.append(f"{where or '(root)'}: {err.get('msg', 'invalid')}{shown}")
    return lines


_ERROR_CLASSES: list[type[ValidationError]] = []


def error_class() -> type[ValidationError]:
    """``PydanticValidationError``: a subclass of both pydantic's ``ValidationError`` and
    minicall's. Without pydantic, or before pydantic 2.10 (whose error cannot be
    subclassed), minicall's ``ValidationError`` itself."""
    if _ERROR_CLASSES:
        return _ERROR_CLASSES[0]
    try:
        base: Any = importlib.import_module("pydantic").ValidationError
        made = type("PydanticValidationError", (base, ValidationError), {
            "__doc__": "A validation failure that is pydantic's ValidationError and minicall's.",
            "__module__": __name__,
        })
        cls = cast("type[ValidationError]", made)
    except (ImportError, AttributeError, TypeError):  # absent, or too old to subclass
        cls = ValidationError
    _ERROR_CLASSES.append(cls)
    return cls


def _rebuilt(cls: Any, exc: Any) -> Any:
    """``exc``'s failures raised as a ``cls``: the same error types where pydantic knows
    them, else as custom errors with the same type names and messages."""
    details = cast("list[Mapping[str, Any]]", exc.errors())
    try:
        return cls.from_exception_data(exc.title, details)
    except (KeyError, TypeError, ValueError):  # a validator's PydanticCustomError type
        custom = importlib.import_module("pydantic_core").PydanticCustomError
        return cls.from_exception_data(exc.title, [
            {"type": custom(str(d.get("type", "value_error")), str(d.get("msg", "invalid"))),
             "loc": tuple(d.get("loc", ())), "input": d.get("input")} for d in details])


def _converted(exc: Any, type_name: str) -> ValidationError:
    lines = error_lines(cast("list[Any]", exc.errors()))
    cls = error_class()
    if cls is not ValidationError:
        try:
            error = _rebuilt(cls, exc)
        except Exception:
            error = None  # pydantic refused to rebuild it: minicall's error, with the cause
        if isinstance(error, ValidationError):
            error.errors = ErrorLines(lines, exc.errors)
            error.response = None
            return error
    return ValidationError(lines, None, type_name)


def validate(tp: Any, value: Any, *, strict: bool, type_name: str) -> tuple[bool, Any]:
    """``(True, value)`` validated by pydantic, or ``(False, None)`` when ``tp`` is minicall's
    to validate. A failure raises :func:`error_class` (pydantic's error as its cause)."""
    run = _validator(tp)
    if run is None:
        return False, None
    try:
        return True, run(value, strict)
    except Exception as exc:
        if not isinstance(exc, importlib.import_module("pydantic").ValidationError):
            raise  # not a validation failure: a validator's own bug shows as it is
        raise _converted(exc, type_name) from exc

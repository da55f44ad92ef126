"""Type hints -> JSON Schema (draft 2020-12).

:func:`json_schema` is the one generator; ``_schema_dialects`` rewrites its output for
OpenAI strict mode and Gemini's OpenAPI subset. Named classes (dataclasses, ``TypedDict``, ``NamedTuple``, ``Enum``, tools,
pydantic models) go to ``$defs`` so that recursive types work; the root is inlined.

:func:`classify` and :func:`record_fields` are shared with validation and partial
parsing, so the three agree on what a type means. ``NamedTuple`` is described as an
object with named properties (clearer to a model than positional arrays).
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import enum
import json
import keyword
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, cast

from .call_args import call_arg_fields
from .docstrings import parse_docstring
from .._model.errors import ConfigurationError

__all__ = [
    "MISSING",
    "Field",
    "class_summary",
    "classify",
    "field_path",
    "json_schema",
    "record_fields",
    "record_kind",
    "show_value",
    "type_label",
    "unwrap_annotated",
]



class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""A field without a (static) default."""

_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_ORIGIN_KINDS: dict[Any, str] = {
    list: "list", cabc.Sequence: "list", cabc.MutableSequence: "list", cabc.Iterable: "list",
    tuple: "tuple",
    set: "set", frozenset: "set", cabc.Set: "set", cabc.MutableSet: "set",
    dict: "dict", cabc.Mapping: "dict", cabc.MutableMapping: "dict",
    Literal: "literal", Union: "union", types.UnionType: "union",
}


@dataclass(frozen=True)
class Field:
    """One named field of a record type (dataclass, TypedDict, NamedTuple, tool).

    ``default_factory``, when set, makes a fresh default for each instance (tools; a
    dataclass calls its own); ``default`` is then ``MISSING``, so no schema shows it.
    """

    name: str
    type: Any
    required: bool = True
    default: Any = MISSING
    description: str | None = None
    default_factory: Callable[[], Any] | None = None


def unwrap_annotated(tp: Any) -> tuple[Any, str | None]:
    """``tp`` without ``Annotated``, and the description its metadata gives, if any."""
    description: str | None = None
    while typing.get_origin(tp) is typing.Annotated:
        base, *meta = typing.get_args(tp)
        for item in meta:
            text = item if isinstance(item, str) else getattr(item, "description", None)
            if isinstance(text, str):
                description = text
        tp = base
    return tp, description


def is_pydantic(tp: Any) -> bool:
    """Duck-typed: a class with ``model_json_schema`` and ``model_validate``."""
    return isinstance(tp, type) and hasattr(tp, "model_json_schema") and hasattr(
        tp, "model_validate")


def classify(tp: Any) -> str:
    """The kind of ``tp`` (without ``Annotated``); ``ConfigurationError`` if unsupported."""
    if tp is Any or tp is object:
        return "any"
    if tp is None or tp is type(None):
        return "none"
    if tp in _SCALARS:
        return "scalar"
    kind = _ORIGIN_KINDS.get(typing.get_origin(tp) or tp)
    if kind is not None:
        return kind
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "enum"
    if is_pydantic(tp):
        return "pydantic"
    if record_kind(tp) is not None:
        return "record"
    raise ConfigurationError(f"minicall cannot describe the type {tp!r} as JSON Schema")


def record_kind(tp: Any) -> str | None:
    """``custom`` (tools), ``dataclass``, ``typeddict``, ``namedtuple``, or ``None``."""
    if not isinstance(tp, type):
        return None
    tp = cast("type[Any]", tp)  # isinstance leaves type[Unknown]
    if callable(getattr(tp, "__minicall_fields__", None)):
        return "custom"
    if dataclasses.is_dataclass(tp):
        return "dataclass"
    if hasattr(tp, "__required_keys__") and issubclass(tp, dict):
        return "typeddict"
    if hasattr(tp, "_fields") and issubclass(tp, tuple):
        return "namedtuple"
    return None


def _hints(tp: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(tp, include_extras=True)
    except Exception as exc:  # unresolved forward references, bad annotations
        raise ConfigurationError(f"cannot read the type hints of {tp!r}: {exc}") from exc


def _dataclass_fields(tp: Any, hints: dict[str, Any], docs: dict[str, str]) -> list[Field]:
    out: list[Field] = []
    for f in dataclasses.fields(tp):
        if not f.init:
            continue
        has_default = not (f.default is f.default_factory is dataclasses.MISSING)
        described = f.metadata.get("description")
        default = MISSING if f.default is dataclasses.MISSING else f.default
        out.append(Field(f.name, hints.get(f.name, Any), not has_default, default,
                         described if isinstance(described, str) else docs.get(f.name)))
    return out


def _typeddict_fields(tp: Any, hints: dict[str, Any], docs: dict[str, str]) -> list[Field]:
    required = tp.__required_keys__
    return [Field(n, t, n in required, MISSING, docs.get(n)) for n, t in hints.items()]


def _namedtuple_fields(tp: Any, hints: dict[str, Any], docs: dict[str, str]) -> list[Field]:
    defaults = tp._field_defaults
    return [Field(n, hints.get(n, Any), n not in defaults, defaults.get(n, MISSING), docs.get(n))
            for n in tp._fields]


_FIELD_READERS: dict[str, Callable[[Any, dict[str, Any], dict[str, str]], list[Field]]] = {
    "dataclass": _dataclass_fields,
    "typeddict": _typeddict_fields,
    "namedtuple": _namedtuple_fields,
}


def record_fields(tp: Any) -> list[Field]:
    """The fields of a record type, descriptions from metadata or the class docstring."""
    kind = record_kind(tp)
    if kind is None:
        raise ConfigurationError(f"{tp!r} is not a record type")
    if kind == "custom":
        return list(tp.__minicall_fields__())
    docs = parse_docstring(_own_doc(tp)).params
    return _FIELD_READERS[kind](tp, _hints(tp), docs)


def _own_doc(tp: Any) -> str | None:
    doc = tp.__dict__.get("__doc__")
    if not isinstance(doc, str):
        return None
    # dataclass and NamedTuple invent ``Name(a, b)`` docstrings; enum invents a sentence.
    if doc.startswith(tp.__name__ + "(") and "\n" not in doc:
        return None
    return None if doc == "An enumeration." else doc


def class_summary(tp: Any) -> str:
    """The prose of a class's own docstring, without parameter sections."""
    return parse_docstring(_own_doc(tp)).summary if isinstance(tp, type) else ""


def type_label(tp: Any) -> str:
    """A short human name for ``tp``: ``int``, ``list[Book]``, ``Book | null``."""
    tp, _ = unwrap_annotated(tp)
    if tp is type(None) or tp is None:
        return "null"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return " | ".join(type_label(a) for a in args)
    if origin is Literal:
        return f"Literal[{', '.join(repr(a) for a in args)}]"
    name = getattr(origin or tp, "__name__", None) or repr(tp)
    if not args:
        return str(name)
    return f"{name}[{', '.join('...' if a is Ellipsis else type_label(a) for a in args)}]"


def field_path(path: str, name: str) -> str:
    """``path`` extended by the key ``name``: ``books.title``, or ``books["a b"]``."""
    if name.isidentifier() and not keyword.iskeyword(name):
        return f"{path}.{name}" if path else name
    return f"{path}[{json.dumps(name)}]"


def show_value(value: Any) -> str:
    """``value`` as JSON (else its repr) for an error message, cut to 60 characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_default(value: Any) -> tuple[bool, Any]:
    """(True, JSON form) for simple defaults worth showing; (False, None) otherwise."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True, value
    if isinstance(value, enum.Enum):
        return _json_default(value.value)
    if isinstance(value, (list, tuple)):
        items = [_json_default(v) for v in cast("Sequence[Any]", value)]
        return all(ok for ok, _ in items), [v for _, v in items]
    return False, None


class _Builder:
    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self.names: dict[Any, str] = {}

    def schema(self, tp: Any) -> dict[str, Any]:
        tp, description = unwrap_annotated(tp)
        out = _BUILDERS[classify(tp)](self, tp)
        return {**out, "description": description} if description else out

    def ref(self, tp: Any, build: Callable[[_Builder, Any], dict[str, Any]]) -> dict[str, Any]:
        name = self.names.get(tp)
        if name is None:
            name, n = tp.__name__, 2
            while name in self.defs:
                name, n = f"{tp.__name__}{n}", n + 1
            self.names[tp] = name
            self.defs[name] = {}  # claimed before building, so recursion finds it
            self.defs[name] = build(self, tp)
        return {"$ref": f"#/$defs/{name}"}


def _items(b: _Builder, tp: Any) -> dict[str, Any]:
    args = typing.get_args(tp)
    return {"type": "array", "items": b.schema(args[0])} if args else {"type": "array"}


def _tuple(b: _Builder, tp: Any) -> dict[str, Any]:
    args = typing.get_args(tp)
    if not args:
        return {"type": "array"}
    if len(args) == 2 and args[1] is Ellipsis:
        return {"type": "array", "items": b.schema(args[0])}
    fixed = [] if args == ((),) else list(args)
    return {"type": "array", "prefixItems": [b.schema(a) for a in fixed],
            "minItems": len(fixed), "maxItems": len(fixed)}


def _set(b: _Builder, tp: Any) -> dict[str, Any]:
    return {**_items(b, tp), "uniqueItems": True}


def _dict(b: _Builder, tp: Any) -> dict[str, Any]:
    args = typing.get_args(tp)
    if not args:
        return {"type": "object"}
    key, _ = unwrap_annotated(args[0])
    key_schema = b.schema(key)
    if key_schema.get("type") != "string" and key is not Any:
        raise ConfigurationError(f"JSON object keys are strings; {type_label(tp)} has other keys")
    out: dict[str, Any] = {"type": "object", "additionalProperties": b.schema(args[1])}
    if key is not str and key is not Any:
        out["propertyNames"] = key_schema
    return out


def _enum_values(values: list[Any]) -> dict[str, Any]:
    values = [v.value if isinstance(v, enum.Enum) else v for v in values]
    kinds = {_SCALARS.get(type(v), "null" if v is None else "") for v in values}
    return {"type": kinds.pop(), "enum": values} if len(kinds) == 1 else {"enum": values}


def _literal(b: _Builder, tp: Any) -> dict[str, Any]:
    return _enum_values(list(typing.get_args(tp)))


def _enum(b: _Builder, tp: Any) -> dict[str, Any]:
    def build(_: _Builder, cls: Any) -> dict[str, Any]:
        summary = class_summary(cls)
        body = _enum_values([m.value for m in cls])
        return {"description": summary, **body} if summary else body

    return b.ref(tp, build)


def _union(b: _Builder, tp: Any) -> dict[str, Any]:
    return {"anyOf": [b.schema(a) for a in typing.get_args(tp)]}


def _record(b: _Builder, tp: Any) -> dict[str, Any]:
    def build(b: _Builder, cls: Any) -> dict[str, Any]:
        props: dict[str, Any] = {}
        required: list[str] = []
        skipped = call_arg_fields(cls)  # filled from the call's arguments, not asked for
        for f in record_fields(cls):
            if f.name in skipped:
                continue
            prop = b.schema(f.type)
            if f.description and "description" not in prop:
                prop = {**prop, "description": f.description}
            ok, default = _json_default(f.default) if f.default is not MISSING else (False, None)
            if ok and not f.required:
                prop = {**prop, "default": default}
            props[f.name] = prop
            if f.required:
                required.append(f.name)
        summary = class_summary(cls)
        out: dict[str, Any] = {"description": summary} if summary else {}
        out.update(type="object", properties=props)
        return {**out, "required": required} if required else out

    return b.ref(tp, build)


def _pydantic(b: _Builder, tp: Any) -> dict[str, Any]:
    def build(b: _Builder, cls: Any) -> dict[str, Any]:
        body = dict(cls.model_json_schema())
        for name, sub in body.pop("$defs", {}).items():
            b.defs.setdefault(name, sub)
        ref = body.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target: dict[str, Any] = b.defs.get(ref[8:], {})
            return target  # pydantic put a recursive root in its own $defs
        body.pop("title", None)
        return _without(body, call_arg_fields(cls))

    return b.ref(tp, build)


def _without(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    if not names:
        return body
    props = {k: v for k, v in body.get("properties", {}).items() if k not in names}
    required = [r for r in body.get("required", []) if r not in names]
    out = {**body, "properties": props, "required": required}
    return out if required else {k: v for k, v in out.items() if k != "required"}


_BUILDERS: dict[str, Callable[[_Builder, Any], dict[str, Any]]] = {
    "any": lambda b, tp: {},
    "none": lambda b, tp: {"type": "null"},
    "scalar": lambda b, tp: {"type": _SCALARS[tp]},
    "literal": _literal,
    "enum": _enum,
    "list": _items,
    "tuple": _tuple,
    "set": _set,
    "dict": _dict,
    "union": _union,
    "record": _record,
    "pydantic": _pydantic,
}


def _mentions(schema: Any, ref: str) -> bool:
    if isinstance(schema, dict):
        node = cast("dict[str, Any]", schema)
        return node.get("$ref") == ref or any(_mentions(v, ref) for v in node.values())
    if isinstance(schema, list):
        return any(_mentions(v, ref) for v in cast("Sequence[Any]", schema))
    return False


def json_schema(tp: Any) -> dict[str, Any]:
    """The JSON Schema of ``tp``; named classes under ``$defs``, the root inlined.

    Raises ``ConfigurationError`` for types it cannot describe.
    """
    b = _Builder()
    root = b.schema(tp)
    ref = root.get("$ref")
    if isinstance(ref, str):
        name = ref[len("#/$defs/"):]
        body = b.defs[name]
        if not _mentions(b.defs, ref):  # not recursive: nothing else needs the def
            del b.defs[name]
        extra = {k: v for k, v in root.items() if k != "$ref"}
        root = {**body, **extra}
    if b.defs:
        root["$defs"] = b.defs
    return root

"""Tools: ``BaseTool`` classes, tools made from functions, and their specs.

A tool is a class whose annotated attributes are its arguments and whose docstring
describes it (the summary to the model, an ``Args:``/``Attributes:`` section per
argument), with a ``call()`` method, sync or async. Plain typed functions become
such classes through :func:`tool_from_function`. The call machinery offers
:func:`tool_spec` of each to a codec and turns the model's calls back into instances
with :meth:`BaseTool.from_call`, which validates the arguments.

Structured output by a forced tool call uses :func:`response_model_tool`: a tool
named after the response type whose arguments are that type's fields. Types that are
not JSON objects (``list[Book]``, ``int``, ``Literal[...]``) cannot be a tool's
argument object, so they are wrapped as ``{"value": ...}`` (said in the tool's
description); :func:`unwrap` gives back the typed value either way.
"""
# Arguments are checked at run time too (callers may be untyped):
# pyright: reportUnnecessaryIsInstance=false
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import inspect
import re
import typing
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypedDict, TypeVar, cast

from .._schema.call_args import call_arg_fields
from .._schema.docstrings import parse_docstring
from .._model.errors import ConfigurationError, ValidationError
from .._schema.partial_json import partial_value
from .._schema.generate import (
    MISSING,
    Field,
    class_summary,
    classify,
    json_schema,
    record_fields,
    record_kind,
    type_label,
    unwrap_annotated,
)
from .._model.spec import ToolSpec
from .._schema.validate import validate

__all__ = [
    "DEFAULT_TOOL_DESCRIPTION",
    "BaseTool",
    "ResponseModelConfigDict",
    "ToolConfig",
    "convert_tools",
    "partial_tool",
    "response_model_tool",
    "tool_from_function",
    "tool_spec",
    "unwrap",
    "unwrap_partial",
]

DEFAULT_TOOL_DESCRIPTION = (
    "Typed arguments taken from the conversation. Give every required argument; give "
    "optional ones only when the conversation states them."
)
# Attribute names a tool instance uses itself; a field cannot take them.
_RESERVED = frozenset({"id", "tool_call", "args", "call", "delta", "from_call", "model_construct"})

# Class-level settings, never arguments, even when annotated without ClassVar.
_CONFIG_NAMES = frozenset({"tool_config", "model_config"})

_ToolT = TypeVar("_ToolT", bound="BaseTool")
_FIELDS: weakref.WeakKeyDictionary[type, list[Field]] = weakref.WeakKeyDictionary()


# The type names of pydantic's "no default given" sentinel (v2 ``PydanticUndefined``, v1
# ``Undefined``), recognised by name so that pydantic is never imported.
_UNDEFINED_TYPES = frozenset({"PydanticUndefinedType", "UndefinedType"})


def _read_field(name: str, hint: Any, value: Any, description: str | None) -> Field:
    """A tool field from its class attribute, reading a pydantic ``Field(...)`` by duck typing.

    Mirascope tools are pydantic models, so they declare ``city: str = Field(...,
    description="...")``, ``Field(default=3)`` or ``Field(default_factory=list)``. Any
    object with ``default`` and ``description`` attributes (and maybe ``default_factory``)
    counts as such a field: its description wins over the docstring's; ``...`` or
    pydantic's undefined sentinel as the default means required; a factory is kept, to be
    called for each instance, never here.
    """
    if isinstance(value, type) or not (hasattr(value, "default") and hasattr(value, "description")):
        return Field(name, hint, value is MISSING, value, description)
    described = value.description
    if isinstance(described, str) and described:
        description = described
    factory = getattr(value, "default_factory", None)
    if callable(factory):
        return Field(name, hint, False, MISSING, description, factory)
    default = value.default
    if default is Ellipsis or type(default).__name__ in _UNDEFINED_TYPES:
        return Field(name, hint, True, MISSING, description)
    return Field(name, hint, False, default, description)


class ToolConfig(TypedDict, total=False):
    """A tool's provider features, as a class variable ``tool_config`` of the tool
    (Mirascope's ``ToolConfig``); each provider module has its own keys
    (``OpenAIToolConfig(strict=True)``, ``AnthropicToolConfig(cache_control=...)``).
    A provider ignores the keys it has no use for."""


def ResponseModelConfigDict(**config: Any) -> Any:  # noqa: N802 - Mirascope's name
    """``model_config = ResponseModelConfigDict(strict=True)`` on a response model asks
    for OpenAI-style strict structured outputs, as in Mirascope (on a pydantic model it
    is pydantic's ``ConfigDict``, whose ``strict`` also makes pydantic validate strictly,
    so it is typed to fit there, whatever pydantic version is installed). Returns the
    config as a dict."""
    return dict(config)


class BaseTool:
    """Base class of tools: annotated fields, a docstring, and a ``call()`` method.

    ``args`` are the field values; ``id`` and ``tool_call`` are the provider's call id
    and raw call (``None`` for a tool built by hand). ``tool_config`` holds the tool's
    provider features (see :class:`ToolConfig`). ``delta`` is ``None`` except on a
    partial tool from a ``stream={"partial_tools": True}`` stream, where it is the piece
    of the arguments' JSON text that just arrived.
    """

    # Typed ``Any``: a subclass declares ``ClassVar[OpenAIToolConfig]`` (or another
    # provider's config), which a ``ClassVar[ToolConfig]`` here would forbid, class
    # variables being invariant to type checkers.
    tool_config: ClassVar[Any] = ToolConfig()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        clash = _RESERVED & set(cls.__dict__.get("__annotations__", {}))
        if clash:
            raise ConfigurationError(
                f"tool {cls.__name__} cannot have a field named {', '.join(sorted(clash))}: "
                f"tools reserve {', '.join(sorted(_RESERVED))}")

    def __init__(self, **kwargs: Any) -> None:
        fields = type(self).__minicall_fields__()
        names = {f.name for f in fields}
        unknown = set(kwargs) - names
        missing = [f.name for f in fields if f.required and f.name not in kwargs]
        if unknown or missing:
            raise TypeError(f"{type(self).__name__}: unexpected {sorted(unknown)}, "
                            f"missing {missing}")
        self._set({f.name: kwargs[f.name] if f.name in kwargs
                   else f.default_factory() if f.default_factory is not None
                   else f.default for f in fields})

    def _set(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            setattr(self, name, value)
        self._names = list(values)
        self.id: str | None = None
        self.tool_call: Any = None
        self.delta: str | None = None

    @classmethod
    def model_construct(cls: type[_ToolT], **values: Any) -> _ToolT:
        """An instance with these field values, unvalidated (for partial streams)."""
        tool = cls.__new__(cls)
        tool._set(values)
        return tool

    @classmethod
    def __minicall_fields__(cls) -> list[Field]:
        """The tool's fields, in declaration order (bases first)."""
        cached = _FIELDS.get(cls)
        if cached is not None:
            return cached
        try:
            hints = typing.get_type_hints(cls, include_extras=True)
        except Exception as exc:
            raise ConfigurationError(f"cannot read the fields of tool {cls.__name__}: {exc}")
        docs = parse_docstring(cls.__dict__.get("__doc__")).params
        fields: list[Field] = []
        for klass in reversed(cls.__mro__):
            if not (isinstance(klass, type) and issubclass(klass, BaseTool)):
                continue
            for name in klass.__dict__.get("__annotations__", {}):
                hint = hints.get(name, Any)
                if name.startswith("_") or name in _CONFIG_NAMES or typing.get_origin(hint) is ClassVar:
                    continue
                fields.append(_read_field(name, hint, getattr(cls, name, MISSING), docs.get(name)))
        _FIELDS[cls] = fields
        return fields

    @property
    def args(self) -> dict[str, Any]:
        """The field values by name."""
        return {name: getattr(self, name) for name in self._names}

    @classmethod
    def _name(cls) -> str:
        """The tool's name as the model sees it: the class name."""
        return cls.__name__

    @classmethod
    def _description(cls) -> str:
        """The docstring's prose (parameter sections stripped), or a default."""
        return class_summary(cls) or DEFAULT_TOOL_DESCRIPTION

    @classmethod
    def _parameters_schema(cls) -> dict[str, Any]:
        """The JSON Schema of the arguments object (its description is the tool's)."""
        schema = json_schema(cls)
        schema.pop("description", None)
        return schema

    @classmethod
    def from_call(cls: type[_ToolT], id: str | None, args: Mapping[str, Any],
                  raw: Any = None) -> _ToolT:
        """The tool for a model's call; ``ValidationError`` when the arguments do not fit."""
        if isinstance(args, Mapping) and is_strict(cls):
            from .._schema.dialects import strict_nulls_dropped  # strict tools only

            args = strict_nulls_dropped(cls._parameters_schema(), dict(args))
        tool: _ToolT = validate(cls, dict(args) if isinstance(args, Mapping) else args)
        tool.id, tool.tool_call = id, raw
        return tool

    def call(self) -> Any:
        """Run the tool (subclasses define it; it may be ``async``)."""
        raise NotImplementedError(f"tool {self._name()} does not define call()")

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        return (type(other) is type(self) and isinstance(other, BaseTool)
                and (self.args, self.id) == (other.args, other.id))


def partial_tool(tool_type: type[_ToolT], id: str | None, args: Mapping[str, Any], delta: str, raw: Any = None) -> _ToolT:
    """``tool_type`` as far as its streamed arguments go: ``args`` is what
    :func:`parse_partial` read from the JSON text so far.

    Fields are not validated; a field not streamed yet is ``None``, whatever its default
    (as Mirascope's partial tools). ``delta`` is the piece of text that just arrived.
    """
    fields = tool_type.__minicall_fields__()
    tool = tool_type.model_construct(**{f.name: partial_value(f.type, args.get(f.name)) for f in fields})
    tool.id, tool.tool_call, tool.delta = id, raw, delta
    return tool


def _call_function(self: BaseTool) -> Any:
    owner = type(self)
    fn: Callable[..., Any] = getattr(owner, "__minicall_function__")
    args = self.args
    positional = [args.pop(name) for name in getattr(owner, "__minicall_positional__")]
    return fn(*positional, **args)


def tool_from_function(fn: Callable[..., Any]) -> type[BaseTool]:
    """A ``BaseTool`` subclass named after ``fn``; ``call()`` returns ``fn(**args)``.

    Parameters need type annotations; defaults are kept; the docstring's summary
    and ``Args:`` section describe the tool and its parameters.
    """
    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise ConfigurationError(f"cannot read the signature of tool {fn!r}: {exc}") from exc
    name = getattr(fn, "__name__", type(fn).__name__)
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    positional: list[str] = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigurationError(f"tool {name}: *args/**kwargs cannot be tool arguments")
        if param.name not in hints:
            raise ConfigurationError(f"tool {name}: parameter {param.name!r} needs a type")
        annotations[param.name] = hints[param.name]
        if param.default is not param.empty:
            namespace[param.name] = param.default
        if param.kind is param.POSITIONAL_ONLY:
            positional.append(param.name)
    namespace.update(
        __annotations__=annotations, __doc__=inspect.getdoc(fn),
        __module__=getattr(fn, "__module__", __name__), __qualname__=name,
        __minicall_function__=staticmethod(fn), __minicall_positional__=tuple(positional),
        call=_call_function,
    )
    tool: type[BaseTool] = type(name, (BaseTool,), namespace)
    return tool


_CONVERTED: weakref.WeakKeyDictionary[Any, type[BaseTool]] = weakref.WeakKeyDictionary()


def convert_tools(tools: Sequence[Callable[..., Any] | type[BaseTool]]
                  ) -> tuple[type[BaseTool], ...]:
    """Each tool as a ``BaseTool`` subclass; functions are converted once and cached."""
    out: list[type[BaseTool]] = []
    for given in tools:
        if isinstance(given, type) and issubclass(given, BaseTool):
            out.append(given)
            continue
        tool = cast("Callable[..., Any]", given)  # the narrowing above leaves type[Unknown] in
        if not callable(tool):
            raise ConfigurationError(f"a tool must be a function or a BaseTool, not {tool!r}")
        try:
            converted = _CONVERTED.get(tool)
        except TypeError:  # not weak-referenceable: convert every time
            converted = None
        if converted is None:
            converted = tool_from_function(tool)
            try:
                _CONVERTED[tool] = converted
            except TypeError:
                pass
        out.append(converted)
    return tuple(out)


def tool_config(tool_type: type[BaseTool]) -> Mapping[str, Any]:
    """The tool's ``tool_config``, checked: a dict whose ``strict`` is a bool and whose
    ``cache_control`` is a dict with a ``type``; ``ConfigurationError`` otherwise."""
    config: Any = getattr(tool_type, "tool_config", None)
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise ConfigurationError(
            f"tool {tool_type.__name__}: tool_config must be a dict (a ToolConfig), got {type(config).__name__}")
    checked = cast("Mapping[str, Any]", config)
    if not isinstance(checked.get("strict", False), bool):
        raise ConfigurationError(f"tool {tool_type.__name__}: tool_config strict must be True or False")
    control: Any = checked.get("cache_control")
    if control is not None and not (isinstance(control, Mapping)
                                    and isinstance(cast("Mapping[str, Any]", control).get("type"), str)):
        raise ConfigurationError(
            f"tool {tool_type.__name__}: tool_config cache_control must be a dict like "
            f"{{'type': 'ephemeral'}}, got {control!r}")
    return checked


def is_strict(tool_type: type[BaseTool]) -> bool:
    """Whether the tool asks for strict function calling (``tool_config`` ``strict``)."""
    return bool(tool_config(tool_type).get("strict", False))


def tool_spec(tool_type: type[BaseTool]) -> ToolSpec:
    """The provider-blind description of a tool: name, description, argument schema,
    and the strict form of that schema when its ``tool_config`` asks for strict mode
    (``ConfigurationError`` when the schema has none)."""
    parameters = tool_type._parameters_schema()
    control: Mapping[str, Any] | None = tool_config(tool_type).get("cache_control")
    if not is_strict(tool_type):
        return ToolSpec(tool_type._name(), tool_type._description(), parameters, cache_control=control)
    from .._schema.dialects import strict_openai  # strict tools only

    strict = strict_openai(parameters)
    if strict is None:
        raise ConfigurationError(
            f"tool {tool_type._name()} asks for strict mode, which its arguments cannot have: "
            "strict schemas need an object with at least one property and no free-form values "
            "(Any, dict[str, X]) or fixed-length tuples")
    return ToolSpec(tool_type._name(), tool_type._description(), parameters,
                    strict=True, strict_parameters=strict, cache_control=control)


class _ResponseModelTool(BaseTool):
    """The forced tool behind ``response_model``; see :func:`response_model_tool`."""

    __minicall_model__: ClassVar[Any] = None
    __minicall_wrapped__: ClassVar[bool] = False

    @classmethod
    def __minicall_fields__(cls) -> list[Field]:
        model = cls.__minicall_model__
        if cls.__minicall_wrapped__:
            return [Field("value", model)]
        if record_kind(model) is not None:
            return record_fields(model)
        return [Field(name, getattr(info, "annotation", Any)) for name, info in
                getattr(model, "model_fields", {}).items()]

    @classmethod
    def _parameters_schema(cls) -> dict[str, Any]:
        if cls.__minicall_wrapped__:
            return super()._parameters_schema()
        schema = json_schema(cls.__minicall_model__)
        schema.pop("description", None)
        return schema

    @classmethod
    def from_call(cls: type[_ToolT], id: str | None, args: Mapping[str, Any],
                  raw: Any = None) -> _ToolT:
        if call_arg_fields(getattr(cls, "__minicall_model__", None)) and isinstance(args, Mapping):
            # Fields filled from the call's arguments are not in the model's arguments:
            # the value is validated where it is extracted, with them filled in.
            tool = cls.model_construct(**args)
        else:
            try:
                tool = cls.model_construct(**_field_values(cls, unwrap(cls, args)))
            except ValidationError:
                # Kept as they came: the value is validated again where it is extracted,
                # and that error carries the response (a stream builds this tool while it
                # is still iterating, with no response to attach yet).
                tool = cls.model_construct(**args)
        tool.id, tool.tool_call = id, raw
        return tool

    def call(self) -> Any:
        """The typed response value (``value`` for a wrapped type)."""
        return unwrap(type(self), {"value": self.args["value"]} if self.__minicall_wrapped__
                      else self.args)


def _field_values(cls: Any, value: Any) -> dict[str, Any]:
    if cls.__minicall_wrapped__:
        return {"value": value}
    if isinstance(value, dict):
        return dict(cast("dict[str, Any]", value))
    return {f.name: getattr(value, f.name) for f in cls.__minicall_fields__()}


_MODEL_TOOLS: dict[Any, type[BaseTool]] = {}


def response_model_tool(tp: Any) -> type[BaseTool]:
    """The tool a model is forced to call to answer with a ``tp``.

    Named after the type (``Book``; ``list`` for ``list[Book]``, ``int`` for ``int``);
    object types give their fields as arguments, other types are wrapped as
    ``{"value": ...}``. Raises ``ConfigurationError`` for unsupported types.
    """
    cached = _MODEL_TOOLS.get(tp)
    if cached is not None:
        return cached
    model, description = unwrap_annotated(tp)
    wrapped = classify(model) not in ("record", "pydantic")
    json_schema(tp)  # fail now, at decoration, for types we cannot describe
    name = re.sub(r"[^A-Za-z0-9_-]", "_", getattr(model, "__name__", "") or "value")
    summary = description or (class_summary(model) if not wrapped else "")
    doc = summary or DEFAULT_TOOL_DESCRIPTION
    if wrapped:
        doc += f" The answer, a {type_label(model)}, goes in the `value` argument."
    tool: type[BaseTool] = type(name, (_ResponseModelTool,), {
        "__doc__": doc, "__module__": getattr(model, "__module__", __name__),
        "__minicall_model__": tp if wrapped else model, "__minicall_wrapped__": wrapped,
        "tool_config": {"strict": True} if wants_strict(model) else {},
    })
    _MODEL_TOOLS[tp] = tool
    return tool


def wants_strict(model: Any) -> bool:
    """Whether a response model's ``model_config`` (a ``ResponseModelConfigDict`` or
    pydantic's ``ConfigDict``) says ``strict=True``."""
    config: Any = getattr(model, "model_config", None)
    return isinstance(config, Mapping) and cast("Mapping[str, Any]", config).get("strict") is True


def _model_of(tool_type: type[BaseTool]) -> tuple[Any, bool]:
    if not issubclass(tool_type, _ResponseModelTool):
        raise ConfigurationError(f"{tool_type.__name__} is not a response_model tool")
    return tool_type.__minicall_model__, tool_type.__minicall_wrapped__


def unwrap(tool_type: type[BaseTool], args: Any) -> Any:
    """The typed response value in a response-model tool's arguments (validated).

    Raises ``ValidationError`` with the path of each problem, relative to the type.
    """
    model, wrapped = _model_of(tool_type)
    if wrapped:
        if not isinstance(args, Mapping) or "value" not in args:
            raise ValidationError(["value: missing required field"], None, type_label(model))
        return validate(model, args["value"])
    return validate(model, dict(cast("Mapping[str, Any]", args)) if isinstance(args, Mapping) else args)


def unwrap_partial(tool_type: type[BaseTool], args: Any) -> Any:
    """Like :func:`unwrap` for partial arguments (from ``parse_partial``), unvalidated."""
    model, wrapped = _model_of(tool_type)
    if wrapped:
        return partial_value(model, cast("Mapping[str, Any]", args).get("value") if isinstance(args, Mapping) else None)
    return partial_value(model, args)

"""Toolkits: tools made from the methods of an object that holds their shared state.

As Mirascope's ``BaseToolKit``: a subclass declares fields (annotated class attributes)
and methods marked ``@toolkit_tool``; ``toolkit.create_tools()`` gives one tool class
per method, named ``<namespace>_<method>`` when the class sets ``__namespace__``, whose
``call()`` runs the method on that toolkit. A method's docstring is its description and
may name the toolkit's state as ``{self.field}``: it is filled in by ``create_tools``.
"""

from __future__ import annotations

import inspect
import string
import typing
import weakref
from abc import ABC
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, cast

from .._model.errors import ConfigurationError
from .tools import BaseTool, tool_from_function

__all__ = ["BaseToolKit", "toolkit_tool"]

_MARK = "__minicall_toolkit_tool__"
_NAMESPACES: weakref.WeakValueDictionary[str, type] = weakref.WeakValueDictionary()

_Tool = TypeVar("_Tool", bound=Callable[..., Any])


def toolkit_tool(method: _Tool) -> _Tool:
    """Mark a ``BaseToolKit`` method (or a ``BaseTool`` class in one) as a tool of the kit."""
    setattr(method, _MARK, True)
    return method


def _template_fields(template: str) -> list[str]:
    try:
        return [field for _, field, _, _ in string.Formatter().parse(template) if field]
    except ValueError as exc:
        raise ConfigurationError(f"toolkit tool docstring is not a valid template: {exc}") from None


class BaseToolKit:
    """Base class of toolkits: fields as annotated attributes, ``@toolkit_tool`` methods.

    Example::

        class BookTools(BaseToolKit):
            __namespace__ = "book_tools"
            reading_level: str

            @toolkit_tool
            def suggest_author(self, author: str) -> str:
                '''Suggests an author for a {self.reading_level} reader.'''
                return f"I would suggest you read some books by {author}"

        tools = BookTools(reading_level="beginner").create_tools()
    """

    __namespace__: ClassVar[str | None] = None
    _toolkit_methods: ClassVar[list[tuple[str, Any, str]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        namespace = cls.__dict__.get("__namespace__")
        if namespace:
            owner = _NAMESPACES.get(namespace)
            if owner is not None and (owner.__module__, owner.__qualname__) != (cls.__module__, cls.__qualname__):
                raise ConfigurationError(f"the toolkit namespace {namespace!r} is already used by {owner.__qualname__}")
            _NAMESPACES[namespace] = cls
        methods: list[tuple[str, Any, str]] = []
        for name in dir(cls):
            attr = getattr(cls, name, None)
            if not getattr(attr, _MARK, False):
                continue
            doc = attr.__doc__
            if not doc:
                raise ConfigurationError(f"toolkit tool {cls.__name__}.{name} needs a docstring")
            template = inspect.cleandoc(doc)
            for field in _template_fields(template):
                head = field.split(".")[1].split("[")[0] if field.startswith("self.") else None
                if head is not None and not (head in cls._fields() or hasattr(cls, head)):
                    raise ConfigurationError(
                        f"toolkit tool {cls.__name__}.{name}: {{{field}}} names no field of {cls.__name__}"
                    )
            methods.append((getattr(attr, "__name__", name), attr, template))
        cls._toolkit_methods = methods
        if not methods and ABC not in cls.__bases__:
            raise ConfigurationError(f"toolkit {cls.__name__} has no @toolkit_tool method")

    @classmethod
    def _fields(cls) -> dict[str, Any]:
        """Annotated attributes (bases first) and their defaults (``inspect.Parameter.empty`` if none)."""
        fields: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            for name, hint in klass.__dict__.get("__annotations__", {}).items():
                if name.startswith("_") or "ClassVar" in str(hint):
                    continue
                fields[name] = klass.__dict__.get(name, inspect.Parameter.empty)
        return fields

    def __init__(self, **kwargs: Any) -> None:
        fields = type(self)._fields()
        unknown = sorted(set(kwargs) - set(fields))
        missing = [n for n, d in fields.items() if d is inspect.Parameter.empty and n not in kwargs]
        if unknown or missing:
            raise TypeError(f"{type(self).__name__}: unexpected {unknown}, missing {missing}")
        for name, default in fields.items():
            setattr(self, name, kwargs.get(name, default))

    def create_tools(self) -> list[type[BaseTool]]:
        """One tool class per ``@toolkit_tool`` method, bound to this toolkit."""
        return [self._tool(name, method, template) for name, method, template in self._toolkit_methods]

    def _tool(self, name: str, method: Any, template: str) -> type[BaseTool]:
        # Placeholders other than {self...} stay placeholders, for a template downstream.
        escaped = template
        for field in _template_fields(template):
            if not field.startswith("self."):
                escaped = escaped.replace(f"{{{field}}}", f"{{{{{field}}}}}")
        try:
            doc = escaped.format(self=self)
        except (AttributeError, KeyError, IndexError) as exc:
            raise ConfigurationError(f"toolkit tool {name}: cannot fill its docstring: {exc!r}") from None
        namespace = type(self).__namespace__
        tool_name = f"{namespace}_{name}" if namespace else name
        if isinstance(method, type) and issubclass(method, BaseTool):
            body = {"__doc__": doc, "__module__": method.__module__, "__qualname__": tool_name}
            subclass: type[BaseTool] = type(tool_name, (method,), body)
            return subclass
        return tool_from_function(_bound(self, cast("Callable[..., Any]", method), tool_name, doc))

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in type(self)._fields())
        return f"{type(self).__name__}({shown})"


def _bound(toolkit: BaseToolKit, method: Callable[..., Any], name: str, doc: str) -> Callable[..., Any]:
    """``method`` with ``self`` bound to ``toolkit``, its hints resolved where it was written."""
    try:
        hints = typing.get_type_hints(method, include_extras=True)
    except Exception as exc:
        raise ConfigurationError(f"cannot read the signature of toolkit tool {name}: {exc}") from exc
    signature = inspect.signature(method)
    params = list(signature.parameters.values())[1:]  # without self

    if inspect.iscoroutinefunction(method):

        async def run_async(*args: Any, **kwargs: Any) -> Any:
            return await method(toolkit, *args, **kwargs)

        bound: Callable[..., Any] = run_async
    else:

        def run(*args: Any, **kwargs: Any) -> Any:
            return method(toolkit, *args, **kwargs)

        bound = run
    setattr(bound, "__signature__", signature.replace(parameters=params))
    bound.__annotations__ = {k: v for k, v in hints.items() if k not in ("self", "return")}
    bound.__name__ = bound.__qualname__ = name
    bound.__module__ = getattr(method, "__module__", __name__)
    bound.__doc__ = doc
    return bound

"""The typed faces of ``call``: what a type checker sees a decorated function return.

A decorator keeps the function's parameters (ParamSpec) and, by overload, returns a
response, a stream, a ``response_model`` value, partial values, or an output parser's
result; ``async def`` functions return coroutines of the same (so ``asyncio.run`` and
``create_task`` take them). One generic class serves every provider module, so the
provider overloads are written once.
"""
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Generic, Literal, ParamSpec, Protocol, TypeVar, overload

from .pipeline import decorate
from .prompt import PromptResult
from .structured import AsyncStructuredStream, Partial, StructuredStream
from .settings import Flavor, Settings, StreamConfig, read_stream

__all__ = ["CallDecorator", "ParsedDecorator", "Partial", "PromptResult", "ProviderCall", "ToolsArg"]

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)
AR_co = TypeVar("AR_co", covariant=True)
T = TypeVar("T")
O_co = TypeVar("O_co", covariant=True)
O = TypeVar("O")
ResponseT = TypeVar("ResponseT")
StreamT = TypeVar("StreamT")
AsyncStreamT = TypeVar("AsyncStreamT")
ParamsT = TypeVar("ParamsT", bound=Mapping[str, Any])
ClientT = TypeVar("ClientT")

ToolsArg = Sequence[Callable[..., Any] | type]
"""Tools: plain typed functions or ``BaseTool`` subclasses."""



class CallDecorator(Protocol[R_co, AR_co]):
    """Turns a prompt function into a call: sync functions return ``R``, ``async def``
    ones a coroutine of ``AR``."""

    # Sync first, matched by what a prompt returns: a return type inferred as Any (no
    # annotation) is then a sync function, not a coroutine one. Results are
    # Coroutine[object, None, R], not Coroutine[Any, Any, R]: with an explicit Any in
    # them, mypy gives up on asyncio.gather of differently typed calls (its result: Any).
    @overload
    def __call__(self, fn: Callable[P, PromptResult]) -> Callable[P, R_co]: ...

    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, PromptResult]]
    ) -> Callable[P, Coroutine[object, None, AR_co]]: ...


class ParsedDecorator(Generic[O_co]):
    """A decorator with an output parser returning ``O``: as ``CallDecorator[O, O]``, except
    that for ``async def`` functions an ``async def`` parser's result is awaited too."""

    # Restricting ``self`` picks the coroutine's result out of O, which no TypeVar
    # expression in one signature can. O is covariant so that the CoroutineType an
    # ``async def`` parser returns matches the Coroutine of the restriction.
    @overload
    def __call__(self, fn: Callable[P, PromptResult]) -> Callable[P, O_co]: ...

    @overload
    def __call__(
        self: ParsedDecorator[Coroutine[Any, Any, T]], fn: Callable[P, Coroutine[Any, Any, PromptResult]]
    ) -> Callable[P, Coroutine[object, None, T]]: ...

    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, PromptResult]]
    ) -> Callable[P, Coroutine[object, None, O_co]]: ...

    def __call__(self, fn: Callable[..., Any]) -> Any:
        raise NotImplementedError("a type only: make_decorator() builds the decorator")


class _Decorator:
    """The runtime object behind :class:`CallDecorator` and :class:`ParsedDecorator`."""

    __slots__ = ("_settings",)

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        return decorate(fn, self._settings)


def make_decorator(settings: Settings) -> Any:
    """A decorator for ``settings``; settings are checked now, at decoration time."""
    from .pipeline import _check_settings

    return _Decorator(_check_settings(settings))


class ProviderCall(Generic[ResponseT, StreamT, AsyncStreamT, ParamsT, ClientT]):
    """``<provider>.call(model, ...)``: the decorator factory of one provider module."""

    def __init__(self, provider: str, flavor: Flavor) -> None:
        self._provider = provider
        self._flavor = flavor

    @overload
    def __call__(
        self,
        model: str,
        *,
        stream: Literal[False] = False,
        tools: ToolsArg | None = None,
        response_model: None = None,
        output_parser: None = None,
        json_mode: bool = False,
        client: ClientT | None = None,
        call_params: ParamsT | None = None,
    ) -> CallDecorator[ResponseT, ResponseT]: ...

    @overload
    def __call__(
        self,
        model: str,
        *,
        stream: Literal[False] = False,
        tools: ToolsArg | None = None,
        response_model: None = None,
        output_parser: Callable[[ResponseT], O],
        json_mode: bool = False,
        client: ClientT | None = None,
        call_params: ParamsT | None = None,
    ) -> ParsedDecorator[O]: ...

    @overload
    def __call__(
        self,
        model: str,
        *,
        stream: Literal[True] | StreamConfig,
        tools: ToolsArg | None = None,
        response_model: None = None,
        output_parser: None = None,
        json_mode: bool = False,
        client: ClientT | None = None,
        call_params: ParamsT | None = None,
    ) -> CallDecorator[StreamT, AsyncStreamT]: ...

    @overload
    def __call__(
        self,
        model: str,
        *,
        stream: Literal[False] = False,
        tools: ToolsArg | None = None,
        response_model: type[T],
        output_parser: None = None,
        json_mode: bool = False,
        client: ClientT | None = None,
        call_params: ParamsT | None = None,
    ) -> CallDecorator[T, T]: ...

    @overload
    def __call__(
        self,
        model: str,
        *,
        stream: Literal[True] | StreamConfig,
        tools: ToolsArg | None = None,
        response_model: type[T],
        output_parser: None = None,
        json_mode: bool = False,
        client: ClientT | None = None,
        call_params: ParamsT | None = None,
    ) -> CallDecorator[StructuredStream[T], AsyncStructuredStream[T]]: ...

    # Response models no ``type[T]`` can say (Literal, Optional, Union, Annotated): Any.
    @overload
    def __call__(
        self,
        model: str,
        *,
        stream: bool | StreamConfig = False,
        tools: ToolsArg | None = None,
        response_model: object,
        output_parser: None = None,
        json_mode: bool = False,
        client: ClientT | None = None,
        call_params: ParamsT | None = None,
    ) -> CallDecorator[Any, Any]: ...

    def __call__(
        self,
        model: str,
        *,
        stream: bool | StreamConfig = False,
        tools: ToolsArg | None = None,
        response_model: object = None,
        output_parser: Callable[[Any], Any] | None = None,
        json_mode: bool = False,
        client: ClientT | None = None,
        call_params: ParamsT | None = None,
    ) -> Any:
        """Decorate a prompt function so that calling it calls ``model``.

        Example::

            @openai.call("gpt-4o-mini")
            def recommend_book(genre: str) -> str:
                return f"Recommend a {genre} book"
        """
        streams, partial_tools = read_stream(stream)
        return make_decorator(
            Settings(
                provider=self._provider,
                model=model,
                flavor=self._flavor,
                stream=streams,
                partial_tools=partial_tools,
                tools=tools,
                response_model=response_model,
                output_parser=output_parser,
                json_mode=json_mode,
                client=client,
                call_params=call_params,
            )
        )

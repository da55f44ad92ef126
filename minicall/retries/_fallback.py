"""``fallback``: when a call fails with given errors, try other providers in turn.

Each fallback runs the decorated function again inside ``llm.context(provider=...,
model=..., call_params=..., client=...)``, so it reaches a decorated call however deeply
it is wrapped (under a retry decorator, say). What each attempt raised, if it is that
attempt's ``catch``, is collected; a response from a fallback carries the list as
``_caught``; when the last fallback fails too, :class:`FallbackError` has them all.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypedDict, TypeVar, cast

from .._call.context import context
from .._model.errors import ConfigurationError, MinicallError

__all__ = ["Fallback", "FallbackError", "fallback"]

P = ParamSpec("P")
R = TypeVar("R")

Catch = type[BaseException] | tuple[type[BaseException], ...]


class _FallbackRequired(TypedDict):
    catch: Catch
    provider: str
    model: str


class Fallback(_FallbackRequired, total=False):
    """One fallback: the errors it gives up on, and the ``llm.override`` settings to try."""

    call_params: Mapping[str, Any]
    client: Any


class FallbackError(MinicallError):
    """Every fallback failed; ``errors`` holds what each attempt raised, in order."""

    def __init__(self, errors: Sequence[BaseException]) -> None:
        self.errors = list(errors)
        super().__init__(f"All fallbacks failed:\n{self.errors}")


def _checked(fallbacks: Sequence[Fallback]) -> list[Fallback]:
    out = list(fallbacks)
    for i, backup in enumerate(out):
        missing = [k for k in ("catch", "provider", "model") if k not in backup]
        if missing:
            raise ConfigurationError(f"fallback {i} needs {', '.join(missing)}")
    return out


def _neutral() -> Any:
    from ..llm import NEUTRAL  # a fallback answers as llm.call does when the provider changes

    return NEUTRAL


def _settings(backup: Fallback) -> dict[str, Any]:
    return {
        "provider": backup["provider"],
        "model": backup["model"],
        "call_params": backup.get("call_params"),
        "client": backup.get("client"),
        "neutral": _neutral(),
    }


def _mark(response: Any, caught: list[BaseException]) -> Any:
    try:
        object.__setattr__(response, "_caught", caught)
    except (AttributeError, TypeError):
        pass  # a builtin value (a str from an output parser) has no room for it
    return response


def fallback(catch: Catch, fallbacks: Sequence[Fallback]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Retry the decorated function with each fallback's provider while calls fail.

    ``catch`` is what the first call may fail with; each fallback's own ``catch`` is what
    that fallback may fail with before the next one is tried. Anything else propagates.

    Example::

        @fallback(openai.RateLimitError, [
            {"catch": anthropic.RateLimitError, "provider": "anthropic", "model": "claude-3-5-sonnet-latest"},
        ])
        @llm.call("openai", "gpt-4o-mini")
        def answer(question: str) -> str:
            return f"Answer this question: {question}"
    """
    backups = _checked(fallbacks)

    def decorator(fn: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def fallback_async(*args: Any, **kwargs: Any) -> Any:
                caught: list[BaseException] = []
                try:
                    return await fn(*args, **kwargs)
                except catch as error:
                    caught.append(error)
                for backup in backups:
                    try:
                        with context(**_settings(backup)):
                            return _mark(await fn(*args, **kwargs), caught)
                    except backup["catch"] as error:
                        caught.append(error)
                raise FallbackError(caught)

            wrapped: Callable[..., Any] = fallback_async
        else:

            @functools.wraps(fn)
            def fallback_sync(*args: Any, **kwargs: Any) -> Any:
                caught: list[BaseException] = []
                try:
                    return fn(*args, **kwargs)
                except catch as error:
                    caught.append(error)
                for backup in backups:
                    try:
                        with context(**_settings(backup)):
                            return _mark(fn(*args, **kwargs), caught)
                    except backup["catch"] as error:
                        caught.append(error)
                raise FallbackError(caught)

            wrapped = fallback_sync
        return cast("Callable[P, R]", wrapped)

    return decorator

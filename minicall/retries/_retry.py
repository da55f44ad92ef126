"""``retry``: a small retry decorator on the standard library, for those without tenacity.

It re-runs the decorated function when it raises one of the errors it catches, up to
``attempts`` times in all, waiting ``wait`` seconds before the second attempt and
``backoff`` times longer before each one after (never more than ``max_wait``). After each
failed attempt it calls ``after(state)`` with a :class:`RetryState`, so
:func:`collect_errors` works here as it does with tenacity. When the last attempt fails,
its error is raised as it is (tenacity would raise its ``RetryError``).
"""
# Arguments are checked at run time too (callers may be untyped):
# pyright: reportUnnecessaryIsInstance=false

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from .._model.errors import ConfigurationError
from ._collect import Outcome, RetryState

__all__ = ["retry"]

P = ParamSpec("P")
R = TypeVar("R")


def retry(
    catch: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    *,
    attempts: int = 3,
    wait: float = 0.0,
    backoff: float = 2.0,
    max_wait: float = 60.0,
    after: Callable[[RetryState], None] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Retry the decorated function (sync or ``async def``) on ``catch``.

    Example::

        @retry(ValidationError, attempts=3, after=collect_errors(ValidationError))
        @llm.call(provider="openai", model="gpt-4o-mini", response_model=Book)
        def extract(text: str, *, errors: list[ValidationError] | None = None) -> str: ...
    """
    if not isinstance(attempts, int) or attempts < 1:
        raise ConfigurationError(f"retry: attempts must be a positive int, got {attempts!r}")
    if wait < 0 or backoff < 1 or max_wait < 0:
        raise ConfigurationError("retry: wait and max_wait must be >= 0 and backoff >= 1")

    def delay(attempt: int) -> float:
        return float(min(max_wait, wait * backoff ** (attempt - 1)))

    def failed(attempt: int, error: BaseException, args: tuple[Any, ...], kwargs: dict[str, Any]) -> float:
        """After a failed attempt: raise if it was the last, else the hook and the pause."""
        if attempt >= attempts:
            raise error
        if after is not None:
            after(RetryState(attempt, Outcome(error), args, kwargs))
        return delay(attempt)

    def decorator(fn: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def retry_async(*args: Any, **kwargs: Any) -> Any:
                import asyncio  # only async callers pay for it

                for attempt in range(1, attempts + 1):
                    try:
                        return await fn(*args, **kwargs)
                    except catch as error:
                        pause = failed(attempt, error, args, kwargs)
                    if pause:
                        await asyncio.sleep(pause)
                raise AssertionError("unreachable: the last attempt returns or raises")

            wrapped: Callable[..., Any] = retry_async
        else:

            @functools.wraps(fn)
            def retry_sync(*args: Any, **kwargs: Any) -> Any:
                for attempt in range(1, attempts + 1):
                    try:
                        return fn(*args, **kwargs)
                    except catch as error:
                        pause = failed(attempt, error, args, kwargs)
                    if pause:
                        time.sleep(pause)
                raise AssertionError("unreachable: the last attempt returns or raises")

            wrapped = retry_sync
        return cast("Callable[P, R]", wrapped)

    return decorator

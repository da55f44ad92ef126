"""``collect_errors``: the errors of failed attempts, handed to the next attempt.

The hook reads what tenacity's ``RetryCallState`` and minicall's :class:`RetryState`
both have: ``outcome`` (with ``exception()``) and ``kwargs`` (the keyword arguments of
the next attempt). tenacity is never imported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Outcome", "RetryState", "collect_errors"]


class _Outcome(Protocol):
    def exception(self) -> BaseException | None: ...


class _State(Protocol):
    @property
    def outcome(self) -> _Outcome | None: ...

    @property
    def kwargs(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt ended: its error, or ``None`` when it returned."""

    error: BaseException | None = None

    def exception(self) -> BaseException | None:
        """The attempt's error (tenacity's ``outcome.exception()``)."""
        return self.error

    @property
    def failed(self) -> bool:
        """Whether the attempt raised."""
        return self.error is not None


@dataclass(slots=True)
class RetryState:
    """What :func:`~minicall.retries.retry` tells its ``after`` hook: the attempt just made."""

    attempt_number: int
    outcome: Outcome
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict[str, Any])
    """The keyword arguments of the next attempt: a hook may change them."""


def collect_errors(*types: type[BaseException]) -> Callable[[Any], None]:
    """An ``after=`` hook that adds an attempt's error, if one of ``types``, to the
    ``errors`` keyword argument of the next attempt (a list, oldest first).

    As Mirascope's ``collect_errors``, except that subclasses of ``types`` count too.

    Example::

        @retry(stop=stop_after_attempt(3), after=collect_errors(ValidationError))
        @llm.call(provider="openai", model="gpt-4o-mini", response_model=Book)
        def extract(text: str, *, errors: list[ValidationError] | None = None) -> str:
            return f"{text}\\nPrevious errors: {errors}" if errors else text
    """
    wanted = tuple(types)

    def hook(state: _State) -> None:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if error is not None and isinstance(error, wanted):
            state.kwargs["errors"] = [*(state.kwargs.get("errors") or []), error]

    return hook

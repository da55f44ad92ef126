"""The neutral shapes of a provider batch: its status and one item's outcome.

A batch codec (``minicall._codecs.batch``) maps each provider's batch object to a
:class:`BatchStatus` and each line of its results to an :class:`ItemResult`; the
batch machinery (``minicall._call.batch``) never sees a provider's own field names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import MinicallError

__all__ = ["BATCH_STATES", "DONE_STATES", "BatchResults", "BatchState", "BatchStatus", "ItemResult"]

BatchState = Literal["pending", "running", "ended", "expired", "cancelled", "failed"]

BATCH_STATES: tuple[BatchState, ...] = ("pending", "running", "ended", "expired", "cancelled", "failed")
DONE_STATES: frozenset[str] = frozenset({"ended", "expired", "cancelled", "failed"})
"""States after which a batch changes no more."""


_EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class BatchStatus:
    """A batch as its provider last reported it.

    ``state`` is one of :data:`BATCH_STATES` (each provider's own states mapped:
    OpenAI's ``validating`` is pending, ``finalizing`` and ``cancelling`` running;
    Anthropic's ``canceling`` running, its ``ended`` ended, cancelled or expired by
    what ended it). ``total`` is the number of requests (``None`` while the provider
    has not counted them), ``succeeded`` and ``failed`` those finished so far
    (expired and cancelled requests count as failed). ``error`` is the provider's
    reason when the whole batch failed (an invalid input file); ``raw`` is the
    provider's own object.
    """

    id: str
    state: BatchState
    total: int | None = None
    succeeded: int = 0
    failed: int = 0
    error: str | None = None
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False, compare=False)

    @property
    def done(self) -> bool:
        """Whether the batch has stopped changing (ended, expired, cancelled or failed)."""
        return self.state in DONE_STATES

    @property
    def finished(self) -> int:
        """Requests finished so far, successfully or not."""
        return self.succeeded + self.failed


@dataclass(frozen=True, slots=True)
class ItemResult:
    """One request's outcome in a batch's results, keyed by its ``custom_id``.

    ``status`` 200 with ``body`` the provider's usual reply object, or an error:
    ``status`` the HTTP status it had (``None`` where none applies: expired,
    cancelled), ``body`` the provider's error object and ``message`` its words.
    ``error``, when set, is the item's result as it stands: its line named the item
    but could not be read (a ``ResponseFormatError``).
    """

    custom_id: str
    status: int | None
    body: Any = None
    message: str | None = None
    request_id: str | None = None
    error: MinicallError | None = None


@dataclass(frozen=True, slots=True)
class BatchResults:
    """Every item result of a batch, and what of its results could not be read.

    ``unreadable`` counts the lines that named no item (not JSON, no ``custom_id``,
    longer than a line may be); ``problems`` describes the first few of them. An
    item without a result is then perhaps one of those.
    """

    items: list[ItemResult]
    unreadable: int = 0
    problems: tuple[str, ...] = ()

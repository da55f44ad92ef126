"""How long the next wait of a call may last: :class:`Deadline`.

A call has two limits (API.md section 6). ``timeout`` bounds connecting and each wait
for bytes; the transports apply it per wait. ``deadline`` bounds the whole call, every
attempt and back-off sleep included, and for a stream the time until its first event;
after each event a stream's limit becomes ``timeout`` from that event, so bytes that
carry no event (SSE comments, keep-alive pings) never push it back. One
:class:`Deadline` per call holds the limit in force; transports shorten every wait to
it, and the stream moves it on at each event.
"""

from __future__ import annotations

import time

from .errors import APITimeoutError

__all__ = ["Deadline", "timed_out"]


class Deadline:
    """The moment the current limit of a call passes (``None``: no limit) and its name."""

    __slots__ = ("at", "limit", "seconds", "since")

    def __init__(self, seconds: float | None) -> None:
        self.since = now = time.monotonic()
        self.seconds = seconds
        self.at = None if seconds is None else now + seconds
        self.limit = "deadline"

    def wait(self, timeout: float | None, where: str) -> float | None:
        """Seconds the next wait may last: ``timeout``, or less when the limit comes
        first; raises :class:`~minicall.APITimeoutError` once the limit has passed."""
        at = self.at
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            raise self.passed(where)
        return left if timeout is None or left < timeout else timeout

    def left(self) -> float | None:
        """Seconds until the limit (negative once passed), ``None`` without one."""
        return None if self.at is None else self.at - time.monotonic()

    def event(self, gap: float | None) -> None:
        """A stream event arrived: from now on the limit is ``gap`` seconds from it."""
        self.since = now = time.monotonic()
        self.seconds = gap
        self.at = None if gap is None else now + gap
        self.limit = "timeout between stream events"

    def passed(self, where: str) -> APITimeoutError:
        """The error for this limit having passed."""
        elapsed = time.monotonic() - self.since
        return APITimeoutError(
            f"timed out: {self.limit} of {self.seconds:g} s passed after {elapsed:.2f} s ({where})",
            limit=self.limit,
            seconds=self.seconds,
            elapsed=elapsed,
        )


def timed_out(deadline: Deadline | None, timeout: float | None, where: str) -> APITimeoutError:
    """The error for a wait that ran out: the deadline's when it had passed by then
    (the wait was cut short for it), else the per-wait ``timeout``'s."""
    if deadline is not None:
        left = deadline.left()
        if left is not None and left <= 0.01:
            return deadline.passed(where)
    return APITimeoutError(
        f"timed out: timeout of {timeout:g} s passed waiting for {where}"
        if timeout is not None
        else f"timed out ({where})",
        limit="timeout",
        seconds=timeout,
        elapsed=timeout,
    )

"""How long the next wait of a call may last: :class:`Deadline`.

A call has two limits (API.md section 6). ``timeout`` bounds connecting and each wait
for bytes; the transports apply it per wait. ``deadline`` bounds the whole call, every
attempt and back-off sleep included, and for a stream the time until its first event;
after each event a stream's limit becomes ``timeout`` from that event, so bytes that
carry no event (SSE comments, keep-alive pings) never push it back. One
:class:`Deadline` per call holds the limit in force; transports shorten every wait to
it, and the stream moves it on at each event.

Why a deadline is checked before each wait rather than once: a socket timeout bounds
a single wait, and a drip server (one byte just before every timeout) can keep each
wait short forever. Asking the deadline before every wait makes the sum of the waits,
not each one, bounded by the call's limit. The clock is ``time.monotonic``: the wall
clock can jump (NTP, a suspended laptop, an operator) and would make a deadline pass
at once or never.
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
        # What the limit is called in the error: the stream renames it at each event, so
        # a timeout says which of the two limits ran out.
        self.limit = "deadline"

    def wait(self, timeout: float | None, where: str) -> float | None:
        """Seconds the next wait may last: ``timeout``, or less when the limit comes
        first; raises :class:`~minicall.APITimeoutError` once the limit has passed."""
        at = self.at
        if at is None:
            return timeout
        left = at - time.monotonic()
        # Raised here, before the wait starts, rather than letting a wait of 0 s fail: a
        # socket with timeout 0 is non-blocking and would report EAGAIN, not a timeout.
        if left <= 0:
            raise self.passed(where)
        return left if timeout is None or left < timeout else timeout

    def left(self) -> float | None:
        """Seconds until the limit (negative once passed), ``None`` without one."""
        return None if self.at is None else self.at - time.monotonic()

    def event(self, gap: float | None) -> None:
        """A stream event arrived: from now on the limit is ``gap`` seconds from it."""
        # A new limit from now, not from the old one: a stream that keeps producing
        # events may run longer than the call's deadline, which bounds only the time to
        # the first event.
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
        # A wait cut short for the deadline ends at about the deadline, or slightly
        # before it (the event loop runs timers up to its clock resolution early):
        # within 10 ms of it, the deadline is what ended the wait.
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

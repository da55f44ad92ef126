"""When to retry a failed attempt, and how long to wait first.

Pure policy: no I/O, no sleeping, no clock unless one is passed in. The call pipeline
asks :func:`should_retry` about an error status and :func:`retry_delay` for the pause;
connection errors are the pipeline's own decision (they are always retryable before a
stream has delivered anything).

Provider-blind: an error body that says retrying cannot help (OpenAI's
``insufficient_quota`` 429) is the codec's to recognise (``Codec.never_retry``); the
pipeline retries only what both this policy and the codec allow, so the codec's "never"
beats any server hint. Order of the status decision, first match wins:

1. 400, 401, 403, 404 and 422 are never retried: the same request fails the same way,
   whatever a server hint says.
2. ``x-should-retry: true`` / ``false`` from the server decides (OpenAI and Anthropic
   send it when they know better than the status code).
3. 408, 409, 429 and every status >= 500 are retried; everything else is not.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from datetime import timezone
from email.utils import parsedate_to_datetime

__all__ = [
    "INITIAL_BACKOFF",
    "MAX_BACKOFF",
    "MAX_RETRY_AFTER",
    "NEVER_RETRY_STATUSES",
    "RETRYABLE_STATUSES",
    "retry_delay",
    "should_retry",
]

# The set the OpenAI and Anthropic SDKs retry: 408 Request Timeout and 429 Too Many
# Requests ask for a later try, 409 is what those SDKs call a lock timeout, and a 5xx
# is the server's own trouble.
RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 409, 429, *range(500, 600)})
"""Statuses retried when the server gives no ``x-should-retry`` hint."""

NEVER_RETRY_STATUSES: frozenset[int] = frozenset({400, 401, 403, 404, 422})
"""Statuses never retried, whatever the headers say."""

MAX_RETRY_AFTER = 60.0
"""The longest server-requested pause (seconds) we obey. A longer or non-positive
``Retry-After`` is treated as absent and the jittered backoff is used instead, so a
misbehaving server cannot park a call for hours."""

INITIAL_BACKOFF = 0.5
"""Backoff before the first retry, in seconds; it doubles with each attempt."""

MAX_BACKOFF = 8.0
"""Upper bound of the exponential backoff, in seconds (before jitter)."""

# Jitter multiplies the backoff by a factor in (1 - _JITTER, 1]: retries from many
# clients that failed together spread out instead of arriving together again.
_JITTER = 0.25

_SHOULD_RETRY_VALUES: dict[str, bool] = {"true": True, "false": False}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup: most callers pass lower-cased headers, not all."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, found in headers.items():
        if key.lower() == name:
            return found
    return None


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """Whether an attempt that got ``status`` is worth repeating (see the module docstring)."""
    # First, before any hint: a request the server called malformed, unauthorised or
    # unknown fails identically the next time, and a retry would only add latency and
    # cost.
    if status in NEVER_RETRY_STATUSES:
        return False
    hint = _header(headers, "x-should-retry")
    if hint is not None:
        verdict = _SHOULD_RETRY_VALUES.get(hint.strip().lower())
        if verdict is not None:
            return verdict
    return status in RETRYABLE_STATUSES


def _seconds(text: str) -> float | None:
    # float() also takes "nan", "inf" and "1e9"; retry_delay's range check turns all of
    # them into "no usable hint" (nan fails every comparison).
    try:
        return float(text)
    except ValueError:
        return None


def _server_hint(headers: Mapping[str, str], now: Callable[[], float]) -> float | None:
    """Seconds the server asked us to wait, or ``None`` when it did not say (clearly)."""
    # retry-after-ms is not standard but more precise; OpenAI's and Anthropic's SDKs
    # read it first. Retry-After is RFC 9110 §10.2.3: delay-seconds or an HTTP-date.
    millis = _header(headers, "retry-after-ms")
    if millis is not None:
        value = _seconds(millis.strip())
        if value is not None:
            return value / 1000.0
    after = _header(headers, "retry-after")
    if after is None:
        return None
    value = _seconds(after.strip())
    if value is not None:
        return value
    try:
        when = parsedate_to_datetime(after)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # A date without a zone ("-0000") comes back naive; HTTP dates are always GMT.
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    # An HTTP-date is absolute, so it is measured against the wall clock (now), not a
    # monotonic one; a date in the past gives a negative hint, which retry_delay
    # ignores.
    return when.timestamp() - now()


def retry_delay(
    attempt: int,
    headers: Mapping[str, str],
    *,
    rand: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
) -> float:
    """Seconds to wait before retry number ``attempt`` (0 for the first retry).

    A server hint (``retry-after-ms``, then ``retry-after`` as seconds or an HTTP date
    relative to ``now()``, epoch seconds) wins when it lies in (0, MAX_RETRY_AFTER].
    Otherwise: ``INITIAL_BACKOFF * 2**attempt`` capped at ``MAX_BACKOFF``, times a
    jitter factor in [0.75, 1.0] drawn from ``rand()`` (a float in [0, 1)).
    """
    hint = _server_hint(headers, now)
    if hint is not None and 0.0 < hint <= MAX_RETRY_AFTER:
        return hint
    # Clamp the exponent: 2**attempt for a huge attempt would overflow a float.
    exponent = min(max(attempt, 0), 32)
    backoff = min(INITIAL_BACKOFF * 2.0**exponent, MAX_BACKOFF)
    # The jitter only shortens the wait, so MAX_BACKOFF stays a true upper bound.
    factor = 1.0 - _JITTER * min(max(rand(), 0.0), 1.0)
    return backoff * factor

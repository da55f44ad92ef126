"""The ``minicall`` logger and the redaction every logged URL and header goes through.

Transports log one DEBUG line per request and per response. Nothing here may leak a
credential: header values are masked unless known harmless (:func:`loggable_headers`), and
URLs through :func:`~minicall._model.http.redact_url`, which masks credential-like query values (Gemini's
``?key=``, pre-signed ``X-Amz-Signature``, Azure SAS ``sig``) and URL passwords.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from .._model.http import REDACTED, redact_url

__all__ = ["log_request", "log_response", "log_retry", "loggable_headers", "logger"]

logger = logging.getLogger("minicall")

# Header fields whose values are logged as they are: framing, content, dates, request
# ids and rate limits. Any other value is masked, since a server may echo the request's
# headers (the API key among them) under a name of its choosing.
_LOGGED_HEADERS = frozenset(
    {
        "accept", "accept-encoding", "age", "anthropic-version", "cache-control", "cf-ray",
        "connection", "content-encoding", "content-length", "content-type", "date", "host",
        "request-id", "retry-after", "retry-after-ms", "server", "transfer-encoding",
        "user-agent", "vary", "via", "x-amzn-requestid", "x-request-id", "x-should-retry",
        "apim-request-id", "x-ms-request-id", "x-goog-request-id", "openai-processing-ms",
        "openai-version", "x-envoy-upstream-service-time",
    }
)
_LOGGED_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")


def loggable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` for a log line: values outside the known-harmless fields masked."""
    return {
        name: value
        if (low := name.lower()) in _LOGGED_HEADERS or low.startswith(_LOGGED_PREFIXES)
        else REDACTED
        for name, value in headers.items()
    }


def log_request(method: str, url: str, headers: Iterable[tuple[str, str]]) -> None:
    """Log an outgoing request's method, URL and header fields at DEBUG (redacted)."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "HTTP request: %s %s headers=%r", method, redact_url(url), loggable_headers(dict(headers))
        )


def log_response(method: str, url: str, status: int, headers: Mapping[str, str]) -> None:
    """Log a received response head at DEBUG (redacted)."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "HTTP response: %s %s -> %d headers=%r",
            method,
            redact_url(url),
            status,
            loggable_headers(headers),
        )


def log_retry(method: str, url: str, attempt: int, delay: float, reason: str) -> None:
    """Log at INFO that attempt ``attempt`` failed and the next starts in ``delay`` s.

    ``reason`` must be our own words or a status line, never a header or body.
    """
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "Retrying %s %s in %.2f s (attempt %d failed: %s)",
            method,
            redact_url(url),
            delay,
            attempt,
            reason,
        )

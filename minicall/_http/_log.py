"""The ``minicall`` logger and the redaction every logged URL and header goes through.

Transports log one DEBUG line per request and per response. Nothing here may leak a
credential: header values pass through :func:`~minicall._model.errors.redact_headers`, and
URLs through :func:`~minicall._model.http.redact_url`, which masks credential-like query values (Gemini's
``?key=``, pre-signed ``X-Amz-Signature``, Azure SAS ``sig``) and URL passwords.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from .._model.errors import redact_headers
from .._model.http import redact_url

__all__ = ["log_request", "log_response", "log_retry", "logger"]

logger = logging.getLogger("minicall")

def log_request(method: str, url: str, headers: Iterable[tuple[str, str]]) -> None:
    """Log an outgoing request's method, URL and header fields at DEBUG (redacted)."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "HTTP request: %s %s headers=%r", method, redact_url(url), redact_headers(dict(headers))
        )


def log_response(method: str, url: str, status: int, headers: Mapping[str, str]) -> None:
    """Log a received response head at DEBUG (redacted)."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "HTTP response: %s %s -> %d headers=%r",
            method,
            redact_url(url),
            status,
            redact_headers(headers),
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

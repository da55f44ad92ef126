"""The ``minicall`` logger and the redaction every logged URL and header goes through.

Transports log one DEBUG line per request and per response. Nothing here may leak a
credential: header values pass through :func:`~minicall._model.errors.redact_headers`, and
URLs through :func:`redact_url`, which masks credential-like query values (Gemini's
``?key=``, pre-signed ``X-Amz-Signature``, Azure SAS ``sig``) and URL passwords.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from .._model.errors import redact_headers

__all__ = ["REDACTED", "log_request", "log_response", "log_retry", "logger", "redact_url"]

logger = logging.getLogger("minicall")

REDACTED = "[redacted]"

_SECRET_PARAMS = frozenset(
    {"key", "api_key", "api-key", "apikey", "token", "access_token", "sig", "signature"}
)
# AWS pre-signed URLs carry the credential, signature and session token as X-Amz-*.
_SECRET_PREFIXES = ("x-amz-",)


def _is_secret_param(name: str) -> bool:
    lowered = unquote_plus(name).strip().lower()
    return lowered in _SECRET_PARAMS or lowered.startswith(_SECRET_PREFIXES)


def _redact_query(query: str) -> str:
    # Work on the raw text so everything but the masked values stays byte-for-byte.
    pieces = []
    for piece in query.split("&"):
        name, eq, _value = piece.partition("=")
        pieces.append(f"{name}={REDACTED}" if eq and _is_secret_param(name) else piece)
    return "&".join(pieces)


def redact_url(url: str) -> str:
    """``url`` with credential-like query values and any userinfo password masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "[unparsable url]"
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{REDACTED}@{hostport}" if colon else f"{user}@{hostport}"
    query = _redact_query(parts.query) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


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

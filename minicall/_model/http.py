"""Format-blind HTTP values and the one-method transport Protocols.

A transport turns an :class:`HttpRequest` into an :class:`HttpResponse`. With
``stream=False`` the body is read whole before ``send`` returns; with ``stream=True``
it is read as the caller iterates, and the caller must close the response. Status
codes are never raised here: mapping statuses to errors belongs to the call pipeline.
Transports raise only :class:`~minicall.APIConnectionError` and
:class:`~minicall.APITimeoutError`.
"""
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol
import urllib.parse
from urllib.parse import SplitResult, unquote_plus, urljoin, urlsplit, urlunsplit

from .clock import Deadline
from .errors import redact_headers

__all__ = [
    "join_url",
    "split_url",
    "AsyncHttpResponse",
    "AsyncTransport",
    "HttpRequest",
    "HttpResponse",
    "MockTransport",
    "Transport",
    "lower_headers",
    "redact_url",
]


def lower_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Fold header pairs into a dict with lower-case names; repeats joined by ``", "``."""
    out: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


REDACTED = "[redacted]"

_SECRET_PARAMS = frozenset(
    {
        "key", "api_key", "api-key", "apikey", "token", "access_token", "sig", "signature",
        "code", "password", "secret", "client_secret", "refresh_token", "assertion",
    }
)
# AWS pre-signed URLs carry the credential, signature and session token as X-Amz-*.
_SECRET_PREFIXES = ("x-amz-",)


def _is_secret_param(name: str) -> bool:
    lowered = unquote_plus(name).strip().lower()
    return lowered in _SECRET_PARAMS or lowered.startswith(_SECRET_PREFIXES)


# The standard library keeps the URLs it parses in a module-level cache (an lru_cache
# on urlsplit from 3.11, a dict before), and a URL may carry a credential: userinfo,
# a ``?key=``. No module-level cache may hold one, so minicall parses through these two.
_split_uncached = getattr(urlsplit, "__wrapped__", None)
# Not in typeshed, but in every urllib.parse from 3.10 on (it empties those caches).
_clear_cache: Callable[[], object] = getattr(urllib.parse, "clear_cache", lambda: None)


def _may_hold_secret(url: str) -> bool:
    return "@" in url or "?" in url


def split_url(url: str) -> SplitResult:
    """``urlsplit(url)``, leaving nothing of a URL that may hold a credential in the
    standard library's cache of parsed URLs."""
    if not _may_hold_secret(url):
        return urlsplit(url)  # nothing to keep out of the cache
    if _split_uncached is not None:
        parts: SplitResult = _split_uncached(url)
        return parts
    parts = urlsplit(url)
    _clear_cache()  # Python 3.10: its dict of parsed URLs cannot drop one entry
    return parts


def join_url(base: str, location: str) -> str:
    """``urljoin(base, location)``, with the same care as :func:`split_url`."""
    joined = urljoin(base, location)
    if _may_hold_secret(base) or _may_hold_secret(location):
        _clear_cache()  # urljoin parses both through the cached urlsplit
    return joined


def _redact_query(query: str) -> str:
    # Work on the raw text so everything but the masked values stays byte-for-byte.
    pieces: list[str] = []
    for piece in query.split("&"):
        name, eq, _value = piece.partition("=")
        pieces.append(f"{name}={REDACTED}" if eq and _is_secret_param(name) else piece)
    return "&".join(pieces)


def redact_url(url: str) -> str:
    """``url`` with any userinfo and credential-like query values masked.

    Userinfo is masked whole (a user name may be a token too), and so is everything
    before an ``@`` in text that does not parse as a URL (a mistyped scheme).
    """
    try:
        parts = split_url(url)
    except ValueError:
        return "[unparsable url]"
    if not parts.netloc and "@" in url:
        return f"{REDACTED}@{url.rpartition('@')[2]}"
    netloc = parts.netloc
    _userinfo, at, hostport = netloc.rpartition("@")
    if at:
        netloc = f"{REDACTED}@{hostport}"
    query = _redact_query(parts.query) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@dataclass(slots=True)
class HttpRequest:
    """One HTTP request: an absolute ``url`` once a client has prepared it.

    A plain slotted dataclass (treat it as immutable: copies are made with
    :meth:`with_headers` and :meth:`with_deadline`): a call makes three, and a frozen
    one costs several times as much to construct.

    ``timeout`` bounds connecting and each read; ``None`` waits forever. ``deadline``,
    set by the call pipeline, bounds every wait of the call as a whole (see
    :mod:`minicall._model.clock`); a transport of one's own may ignore it.
    ``max_body_bytes``, when set, caps this reply's decoded body in place of the
    transport's own cap (a batch's results file, read line by line, is larger than
    any reply); a transport of one's own may ignore it too.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict[str, str])
    body: bytes = b""
    timeout: float | None = None
    deadline: Deadline | None = None
    max_body_bytes: int | None = None

    def with_headers(self, headers: Mapping[str, str]) -> HttpRequest:
        """This request with ``headers`` in place of its own."""
        return self._with(headers, self.deadline)

    def with_deadline(self, deadline: Deadline | None) -> HttpRequest:
        """This request bound by ``deadline``."""
        return self._with(self.headers, deadline)

    def _with(self, headers: Mapping[str, str], deadline: Deadline | None) -> HttpRequest:
        # Every call makes two such copies: dataclasses.replace, which walks the fields'
        # metadata each time, costs several times this (a test keeps the two equal).
        return HttpRequest(
            method=self.method,
            url=self.url,
            headers=headers,
            body=self.body,
            timeout=self.timeout,
            deadline=deadline,
            max_body_bytes=self.max_body_bytes,
        )

    def __repr__(self) -> str:
        # query values such as Gemini's ?key= are credentials
        return (
            f"HttpRequest({self.method} {redact_url(self.url)}, headers={redact_headers(self.headers)}, "
            f"{len(self.body)} body bytes)"
        )


class HttpResponse:
    """A response whose body is either in memory or still arriving.

    ``headers`` has lower-case names. ``iter_bytes()`` yields the body once;
    ``read()`` returns it whole (reading the rest of a stream if needed).
    """

    __slots__ = ("_body", "_chunks", "_close", "deadline", "headers", "reason", "status")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        *,
        chunks: Iterator[bytes] | None = None,
        close: Callable[[], None] | None = None,
        reason: str = "",
    ) -> None:
        self.status = status
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self._body: bytes | None = None if chunks is not None else body
        self._chunks = chunks
        self._close = close
        self.reason = reason
        # The call's limits, for a stream to move on at each event (see _clock).
        self.deadline: Deadline | None = None

    @property
    def body(self) -> bytes:
        """The whole body (reads a streamed body to its end first)."""
        return self.read()

    def read(self) -> bytes:
        """Read the rest of the body and return all of it."""
        if self._body is None:
            assert self._chunks is not None
            try:
                self._body = b"".join(self._chunks)
            finally:
                self.close()
        return self._body

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield the body in pieces as they arrive."""
        if self._body is not None:
            if self._body:
                yield self._body
            return
        assert self._chunks is not None
        try:
            yield from self._chunks
        finally:
            self.close()

    def close(self) -> None:
        """Release the connection (idempotent)."""
        close, self._close = self._close, None
        if close is not None:
            close()

    def __repr__(self) -> str:
        return f"HttpResponse({self.status})"


class AsyncHttpResponse:
    """The asynchronous twin of :class:`HttpResponse`."""

    __slots__ = ("_body", "_chunks", "_close", "deadline", "headers", "reason", "status")

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        *,
        chunks: AsyncIterator[bytes] | None = None,
        close: Callable[[], Awaitable[None]] | None = None,
        reason: str = "",
    ) -> None:
        self.status = status
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self._body: bytes | None = None if chunks is not None else body
        self._chunks = chunks
        self._close = close
        self.reason = reason
        # The call's limits, for a stream to move on at each event (see _clock).
        self.deadline: Deadline | None = None

    async def read(self) -> bytes:
        """Read the rest of the body and return all of it."""
        if self._body is None:
            assert self._chunks is not None
            parts: list[bytes] = []
            try:
                async for part in self._chunks:
                    parts.append(part)
            finally:
                await self.aclose()
            self._body = b"".join(parts)
        return self._body

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """Yield the body in pieces as they arrive."""
        if self._body is not None:
            if self._body:
                yield self._body
            return
        assert self._chunks is not None
        try:
            async for part in self._chunks:
                yield part
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Release the connection (idempotent)."""
        close, self._close = self._close, None
        if close is not None:
            await close()

    def __repr__(self) -> str:
        return f"AsyncHttpResponse({self.status})"


class Transport(Protocol):
    """Sends one request; raises only connection and timeout errors."""

    def send(self, request: HttpRequest, *, stream: bool = False) -> HttpResponse: ...


class AsyncTransport(Protocol):
    """The asyncio twin of :class:`Transport`.

    The method has its own name so that one object can serve both (as
    :class:`MockTransport` and the default transport do).
    """

    async def send_async(self, request: HttpRequest, *, stream: bool = False) -> AsyncHttpResponse: ...


class MockTransport:
    """A transport that answers with a plain function, for tests and offline use.

    ``handler(request)`` returns an :class:`HttpResponse`; it serves sync and async
    calls alike (async calls get the same answer wrapped).
    """

    def __init__(self, handler: Callable[[HttpRequest], HttpResponse]) -> None:
        self.handler = handler

    def send(self, request: HttpRequest, *, stream: bool = False) -> HttpResponse:
        return self.handler(request)

    async def send_async(self, request: HttpRequest, *, stream: bool = False) -> AsyncHttpResponse:
        response = self.handler(request)
        chunks = response.iter_bytes()

        async def agen() -> AsyncIterator[bytes]:
            for piece in chunks:
                yield piece

        return AsyncHttpResponse(response.status, response.headers, chunks=agen())

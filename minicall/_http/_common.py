"""What the sync and async transports share: the I/O-free half of sending a request.

Both transports speak the same HTTP/1.1 (``_h1`` reads the reply); this module holds
the rules they must agree on, so they cannot drift apart:

- :func:`parse_url` validates a request URL once and keeps what the wire needs;
- :func:`checked_header_items` refuses header names and values that could split a request;
- :func:`frame_request` writes the request head and body as one ``bytes``;
- :func:`redirect` decides the next hop of a 3xx (the rule below);
- :func:`failure` turns a network exception into our error, naming only host:port.

Redirect rule (RFC 9110 §15.4 as requests and httpx apply it): a 303 turns any method
but ``HEAD`` into a body-less ``GET``, and so does a 302; a 301 turns ``POST`` into
``GET``; 307 and 308 keep the method and body. (RFC 9110 allows the 301/302 change only
for ``POST``, "for historical reasons", and so does the Fetch standard; requests and
httpx, whose behaviour SDK users already know, change a 302 of any method.) A hop to
another origin (scheme, host or port) drops every credential header and ``Host``: an API
key sent to ``api.example.com`` must not follow a redirect to whoever the ``Location``
names, nor to the same host over plain http.
"""
# Arguments are checked at run time too (callers may be untyped):
# pyright: reportUnnecessaryIsInstance=false

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .._model.errors import SECRET_HEADERS, APIConnectionError, APITimeoutError, ConfigurationError
from .._model.clock import Deadline, timed_out
from .._model.http import join_url, split_url
from ._proxy import Proxy

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "MAX_DRAIN",
    "READ_SIZE",
    "REDIRECT_STATUSES",
    "USER_AGENT",
    "HeaderItems",
    "Hop",
    "Route",
    "Url",
    "check_method",
    "checked_header_items",
    "declared_too_big",
    "failure",
    "frame_request",
    "parse_url",
    "redirect",
    "tunnel_refusal",
    "tunnel_request",
]

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_DRAIN = 65536
"""A redirect's body is read (so its connection can serve the next hop) up to this
many bytes; a longer one is dropped with its connection."""
USER_AGENT = "minicall/0.1"
READ_SIZE = 65536
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

_DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
# A space, CR or LF in the URL would end up in the request line, letting a crafted URL
# end it and add header lines of its own (CRLF injection); a URL needs none of them.
_BAD_URL = re.compile(r"[\x00-\x20\x7f]")
# Framing is ours to decide: a caller's value would desynchronise the connection.
_OWN_HEADERS = ("content-length", "transfer-encoding", "connection")
# What describes the body: dropped with the body when a redirect turns the request into
# a GET, or the GET would claim content it does not carry.
_BODY_HEADERS = frozenset({"content-length", "content-type", "transfer-encoding", "content-encoding"})
_CROSS_ORIGIN_DROP = SECRET_HEADERS | {"host"}
# RFC 9110 §8.6: send Content-Length when the method means to carry content, even when
# it is empty (some servers answer a POST without one with 411 Length Required); do not
# send it for a body-less GET.
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# (status, method) pairs whose redirect becomes a body-less GET; see the module docstring.
_TO_GET = {303: frozenset({"*"}), 302: frozenset({"*"}), 301: frozenset({"POST"})}


@dataclass(frozen=True, slots=True)
class Url:
    """A validated request URL: what the pool key and the request line need."""

    text: str
    scheme: str
    host: str
    port: int
    host_header: str
    target: str  # origin-form request target: path and query

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    @property
    def absolute(self) -> str:
        """Absolute-form target, for a plain-http request through a proxy."""
        return f"{self.scheme}://{self.host_header}{self.target}"


@dataclass(frozen=True, slots=True)
class Route:
    """Where a connection goes (origin and proxy): the key of a connection pool."""

    scheme: str
    host: str
    port: int
    proxy: Proxy | None

    @property
    def where(self) -> str:
        """``host:port`` (and the proxy's), for messages: never a path or credential."""
        via = f" via proxy {self.proxy.address}" if self.proxy else ""
        return f"{self.host}:{self.port}{via}"


def parse_url(url: str) -> Url:
    """Validate an absolute http(s) URL; raise ``ConfigurationError`` otherwise.

    Cached, but only for URLs with neither userinfo nor a query: those may hold a
    credential (``user:pass@``, Gemini's ``?key=``), and no module-level cache may.
    """
    # The test is for the characters, not for a parsed userinfo or query, so that
    # nothing that might be a credential ever reaches the cache.
    if "@" in url or "?" in url:
        return _parse_url(url)
    return _parse_plain_url(url)


def _parse_url(url: str) -> Url:
    # Never echo the URL: its query may hold a key (Gemini's ?key=).
    if _BAD_URL.search(url):
        raise ConfigurationError("request URL contains whitespace or control characters")
    try:
        parts = split_url(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError("request URL has an invalid host or port") from None
    scheme = parts.scheme.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default is None:
        raise ConfigurationError(f"URL scheme {scheme!r} is not supported; use http or https")
    host = parts.hostname
    if not host:
        raise ConfigurationError("request URL has no host")
    port = port or default
    # Host (RFC 9110 §7.2) is the URL's authority: IPv6 literals keep their brackets
    # and the default port is left out. The SigV4 signer builds its host
    # the same way, since a signed Host must match the one sent.
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == default else f"{shown}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Url(url, scheme, host, port, host_header, target)


_parse_plain_url = functools.lru_cache(maxsize=512)(_parse_url)


def check_method(method: str) -> str:
    """The method upper-cased; refuses anything that is not an HTTP token."""
    if not _TOKEN.match(method):
        raise ConfigurationError(f"invalid HTTP method {method[:20]!r}")
    return method.upper()


HeaderItems = tuple[tuple[str, str], ...]
"""Header fields as (lower-case name, value) pairs: what the transports pass around."""


# Header names already checked, and their lower-case form.
_CHECKED_NAMES: dict[str, str] = {}


def checked_header_items(headers: Mapping[str, str]) -> HeaderItems:
    """The headers as (lower-case name, value) pairs, with ``User-Agent`` and
    ``Accept-Encoding`` defaulted; refuses names and values that could split the request.
    Only the checked names are kept from call to call (a name is never a credential;
    the values, which may be, are checked every time)."""
    out: dict[str, str] = {}
    names = _CHECKED_NAMES
    for name, value in headers.items():
        lower = names.get(name) if type(name) is str else None
        if lower is None:
            # Name only in the message: the value may be a credential.
            if not isinstance(name, str) or not _TOKEN.match(name):
                raise ConfigurationError(f"invalid HTTP header name {str(name)[:40]!r}")
            lower = name.lower()
            if len(names) < 1024:  # the names a process sends are few; a flood stops here
                names[name] = lower
        if not isinstance(value, str):
            raise ConfigurationError(f"HTTP header {name!r} must be a str, got {type(value).__name__}")
        # CR or LF in a value would end the field and start a header line the caller
        # never wrote (header injection); RFC 9110 §5.5 calls all three "invalid and
        # dangerous", as implementations parse them differently.
        if _BAD_VALUE.search(value):
            raise ConfigurationError(f"HTTP header {name!r} contains CR, LF or NUL")
        # The head is written as Latin-1 (RFC 9110 §5.5: field values are historically
        # ISO-8859-1): a character beyond it would fail there as a bare
        # UnicodeEncodeError, so it is refused here, naming the header.
        if not value.isascii():
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                raise ConfigurationError(f"HTTP header {name!r} is not Latin-1 text") from None
        # Names differing only in case are one field: the last value given wins, rather
        # than sending both.
        out[lower] = value
    out.setdefault("user-agent", USER_AGENT)
    out.setdefault("accept-encoding", "gzip, deflate")
    return tuple(out.items())


def frame_request(
    method: str, url: Url, headers: Mapping[str, str] | HeaderItems, body: bytes, proxy: Proxy | None
) -> tuple[bytes, HeaderItems]:
    """The request as sent (head and body in one piece) and the header fields it carries.

    One write: one syscall, and no Nagle/delayed-ACK stall between two small segments.
    ``headers`` come from :func:`checked_header_items`.
    """
    with_length = bool(body) or method in _METHODS_WITH_BODY
    items = headers if isinstance(headers, tuple) else tuple(headers.items())
    head, wire = _head(method, url, items, proxy)
    if not with_length:
        return head + b"\r\n", wire
    length = str(len(body))
    payload = b"%scontent-length: %s\r\n\r\n%s" % (head, length.encode(), body)
    return payload, (*wire, ("content-length", length))


def _head(
    method: str, url: Url, headers: HeaderItems, proxy: Proxy | None
) -> tuple[bytes, HeaderItems]:
    # The head up to (not including) Content-Length and the blank line. Built on every
    # request: it holds the credential headers, so it is never cached.
    # A caller's Host wins over the URL's. The framing headers never come from the
    # caller: a Content-Length that disagrees with the body, or a Transfer-Encoding we
    # do not apply, would desynchronise the connection for every request after this one.
    wire = {"host": url.host_header, **dict(headers)}
    for name in _OWN_HEADERS:
        wire.pop(name, None)
    target = url.target
    # Plain http through a proxy: the absolute-form target (RFC 9112 §3.2.2) tells the
    # proxy where to go, and Proxy-Authorization rides on every request. For https the
    # proxy sees only the CONNECT (tunnel_request), so its credential is sent there and
    # never inside the tunnel to the origin.
    if proxy is not None and url.scheme == "http":
        target = url.absolute
        if proxy.authorization:
            wire["proxy-authorization"] = proxy.authorization
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in wire.items())
    return head.encode("latin-1"), tuple(wire.items())


def declared_too_big(headers: Mapping[str, str], limit: int) -> bool:
    """Whether an uncompressed body's ``Content-Length`` already exceeds ``limit``."""
    # Only without Content-Encoding: then Content-Length counts the bytes we would keep.
    # A compressed body's length says nothing about its decoded size, which BodyDecoder
    # caps as it goes.
    declared = headers.get("content-length", "")
    return (
        not headers.get("content-encoding")
        and declared.isascii()
        and declared.isdigit()
        and int(declared) > limit
    )


@dataclass(frozen=True, slots=True)
class Hop:
    """The request to send after a redirect."""

    method: str
    url: Url
    headers: dict[str, str]
    body: bytes


def redirect(
    status: int,
    location: str | None,
    method: str,
    url: Url,
    headers: Mapping[str, str] | HeaderItems,
    body: bytes,
) -> Hop | None:
    """The next hop for a 3xx reply, or ``None`` when it is not to be followed.

    ``None`` for a status that is no redirect, a missing ``Location``, or a target that
    is not http(s): the 3xx then goes back to the caller as it is.
    """
    if status not in REDIRECT_STATUSES or not location:
        return None
    try:
        # A relative Location is resolved against the URL that got the 3xx (RFC 9110
        # §10.2.2). A fragment is never sent in a request target, so it is dropped
        # before the URL is checked.
        target = parse_url(join_url(url.text, location.strip()).partition("#")[0])
    except (ConfigurationError, ValueError):  # urljoin refuses e.g. a broken IPv6 host
        return None
    methods = _TO_GET.get(status, frozenset())
    out = dict(headers)
    if method != "HEAD" and ("*" in methods or method in methods):
        method, body = "GET", b""
        out = {k: v for k, v in out.items() if k not in _BODY_HEADERS}
    if target.origin != url.origin:
        out = {k: v for k, v in out.items() if k not in _CROSS_ORIGIN_DROP}
    return Hop(method, target, out, body)


def tunnel_request(route: Route) -> bytes:
    """The ``CONNECT`` request that opens a tunnel to ``route`` through its proxy."""
    assert route.proxy is not None
    host, port = route.host, route.port
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if route.proxy.authorization:
        lines.append(f"Proxy-Authorization: {route.proxy.authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def tunnel_refusal(status: int, unused: bytes) -> APIConnectionError | None:
    """Why a proxy's answer to ``CONNECT`` opens no tunnel, or ``None`` when it does.

    The answer's head is read by the same bounded reader as any reply (``_h1``), so a
    proxy sending header lines forever fails at its size limit on both transports."""
    if not 200 <= status < 300:
        return APIConnectionError(f"proxy refused the tunnel with HTTP {status}")
    # In TLS the client speaks first. Bytes from the proxy after its 2xx and before our
    # ClientHello cannot belong to the TLS session, yet would be read by the handshake
    # as if the origin sent them: a broken proxy, reported as one rather than as a
    # puzzling TLS error.
    if unused:
        return APIConnectionError("proxy sent bytes before the TLS handshake")
    return None


# Looked up along the exception's MRO (most specific first), by class name, so this
# module needs neither ``ssl`` nor ``http.client`` to name their errors.
_PHRASES: dict[str, str] = {
    "SSLCertVerificationError": "TLS certificate verification failed",
    "SSLError": "TLS error",
    "RemoteDisconnected": "server closed the connection without a response",
    "ConnectionRefusedError": "connection refused",
    "ConnectionResetError": "connection reset by peer",
    "ConnectionAbortedError": "connection aborted",
    "BrokenPipeError": "connection closed while the request was being sent",
    "IncompleteRead": "connection closed before the body was complete",
    "IncompleteReadError": "connection closed before the body was complete",
    "gaierror": "could not resolve host",
    "HTTPException": "malformed HTTP response",
}


def failure(
    exc: BaseException, where: str, timeout: float | None, deadline: Deadline | None = None
) -> APIConnectionError:
    """Our error for a network exception: where and what, never headers or URLs.

    A wait that ran out names the limit that ended it (see :func:`timed_out`)."""
    if isinstance(exc, APIConnectionError):
        if isinstance(exc, APITimeoutError):
            return exc
        return APIConnectionError(f"{exc.message} ({where})")
    # By name too: on 3.10 asyncio's TimeoutError is not the builtin one.
    if isinstance(exc, TimeoutError) or type(exc).__name__ == "TimeoutError":
        return timed_out(deadline, timeout, where)
    phrase = next(
        (_PHRASES[k.__name__] for k in type(exc).__mro__ if k.__name__ in _PHRASES),
        "network error",
    )
    detail = str(exc)
    return APIConnectionError(f"{phrase} ({where})" + (f": {detail}" if detail else ""))

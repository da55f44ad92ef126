"""The blocking transport: :class:`SyncTransport`, on ``http.client`` with a keep-alive pool.

Loaded lazily by the call pipeline (``import minicall`` never imports ``http.client`` or
``ssl``). What it guarantees beyond the :class:`~minicall._http._types.Transport`
contract:

- Connections are pooled per (scheme, host, port, proxy); a connection serves one
  request at a time; at most ``max_idle_per_host`` idle ones are kept per key.
- A request that fails on a *reused* connection before any response byte arrives
  (the server closed it while idle) is sent once more on a fresh connection. A fresh
  connection that fails is never retried here: that is the retry policy's business.
- ``request.timeout`` bounds the connect and each socket read, not the whole exchange.
- gzip and deflate bodies are decoded, streamed ones piece by piece; a decoded body
  longer than ``max_body_bytes`` raises ``ResponseFormatError`` (streams too) after at
  most that many bytes were held.
- Redirects (301, 302, 303, 307, 308) are followed up to ``max_redirects``. Only 303
  turns the request into a body-less GET; 301 and 302 keep the method and body, as
  modern API clients do (a POST silently becoming a GET would hide the problem). A hop
  to another origin (scheme, host, port) drops every credential header. When the
  limit is reached the last 3xx response is returned, for the pipeline to report.
- Proxies: see :mod:`minicall._http._proxy`. https goes through a CONNECT tunnel.
"""

from __future__ import annotations

import http.client
import os
import re
import select
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import final
from urllib.parse import urljoin, urlsplit

from .._errors import (
    SECRET_HEADERS,
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    ResponseFormatError,
)
from ._h1 import BodyDecoder, Data, End, Event, ResponseParser
from ._log import log_request, log_response
from ._proxy import Proxy, parse_proxy, proxy_for
from ._types import HttpRequest, HttpResponse, lower_headers

__all__ = ["DEFAULT_MAX_BODY_BYTES", "USER_AGENT", "SyncTransport", "default_transport"]

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
USER_AGENT = "minicall/0.1"

_READ_SIZE = 65536
# A redirect's body is read (so the connection can be reused) only when this small.
_MAX_DRAIN = 65536
_DEFAULT_PORTS: dict[str, int] = {"http": 80, "https": 443}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CROSS_ORIGIN_DROP = SECRET_HEADERS | {"host"}
_BODY_HEADERS = frozenset(
    {"content-length", "content-type", "transfer-encoding", "content-encoding"}
)
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
_BAD_URL = re.compile(r"[\x00-\x20\x7f]")

# A reused connection failing this way before any response byte means the server had
# closed it while it sat idle; nothing reached the application, so resending is safe.
_STALE = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)

# First match wins, so subclasses come before their bases.
_FAILURES: tuple[tuple[type[BaseException], str], ...] = (
    (ssl.SSLCertVerificationError, "TLS certificate verification failed"),
    (ssl.SSLError, "TLS error"),
    (http.client.RemoteDisconnected, "server closed the connection without a response"),
    (ConnectionRefusedError, "connection refused"),
    (ConnectionResetError, "connection reset by peer"),
    (ConnectionAbortedError, "connection aborted"),
    (BrokenPipeError, "connection closed while the request was being sent"),
    (http.client.IncompleteRead, "connection closed before the body was complete"),
    (socket.gaierror, "could not resolve host"),
    (http.client.HTTPException, "malformed HTTP response"),
    (OSError, "network error"),
)
_NETWORK_ERRORS = (OSError, http.client.HTTPException)


@dataclass(frozen=True)
class _Url:
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


@dataclass(frozen=True)
class _Route:
    """What a pooled connection is bound to; the pool's key."""

    scheme: str
    host: str
    port: int
    proxy: Proxy | None

    @property
    def where(self) -> str:
        via = f" via proxy {self.proxy.address}" if self.proxy else ""
        return f"{self.host}:{self.port}{via}"


def _parse_url(url: str) -> _Url:
    # Never echo the URL: its query may hold a key (Gemini's ?key=).
    if _BAD_URL.search(url):
        raise ConfigurationError("request URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError("request URL has an invalid host or port") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ConfigurationError(f"URL scheme {scheme!r} is not supported; use http or https")
    host = parts.hostname
    if not host:
        raise ConfigurationError("request URL has no host")
    port = port or _DEFAULT_PORTS[scheme]
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Url(scheme, host, port, host_header, target)


def _checked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased copy; refuses names and values that could split the request."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        # Name only in the message: the value may be a credential.
        if not _TOKEN.match(name):
            raise ConfigurationError(f"invalid HTTP header name {name!r}")
        if _BAD_VALUE.search(value):
            raise ConfigurationError(f"HTTP header {name!r} contains CR, LF or NUL")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ConfigurationError(f"HTTP header {name!r} is not Latin-1 text") from None
        out[name.lower()] = value
    return out


def _failure(exc: BaseException, route: _Route, timeout: float | None) -> APIConnectionError:
    """Our error for a network exception: where and what, never headers or URLs."""
    if isinstance(exc, TimeoutError):
        return APITimeoutError(f"timed out after {timeout} s talking to {route.where}")
    phrase = next((p for kind, p in _FAILURES if isinstance(exc, kind)), "network error")
    detail = str(exc)
    return APIConnectionError(f"{phrase} ({route.where})" + (f": {detail}" if detail else ""))


def _is_dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle connection that is readable was closed by the server (or is confused)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


@final
class SyncTransport:
    """Blocking HTTP/1.1 transport with a thread-safe keep-alive pool.

    ``verify=False`` turns certificate checks off; ``ca_file``/``ca_dir`` add trusted
    CAs to the system ones (``SSL_CERT_FILE``/``SSL_CERT_DIR`` are honoured when the
    TLS context is built, on the first https request). ``proxy`` forces one proxy for
    every request; otherwise, with ``trust_env``, the proxy environment variables
    decide. ``Host``, ``User-Agent`` and ``Accept-Encoding`` are set when missing;
    ``Content-Length`` always comes from the body.
    """

    def __init__(
        self,
        *,
        verify: bool = True,
        ca_file: str | None = None,
        ca_dir: str | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_redirects: int = 5,
        max_idle_per_host: int = 10,
    ) -> None:
        for label, path in (("ca_file", ca_file), ("ca_dir", ca_dir)):
            if path is not None and not os.path.exists(path):
                raise ConfigurationError(f"{label} {path!r} does not exist")
        self._verify = verify
        self._ca_file = ca_file
        self._ca_dir = ca_dir
        self._proxy = parse_proxy(proxy) if proxy else None
        self._trust_env = trust_env
        self._max_body = max_body_bytes
        self._max_redirects = max_redirects
        self._max_idle = max_idle_per_host
        self._lock = threading.Lock()
        self._idle: dict[_Route, list[http.client.HTTPConnection]] = {}
        self._ssl: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        proxy = f", proxy={self._proxy.address}" if self._proxy else ""
        return f"SyncTransport(verify={self._verify}{proxy})"

    def __enter__(self) -> SyncTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every idle pooled connection (connections in use close when released)."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    # -- sending ----------------------------------------------------------------------

    def send(self, request: HttpRequest, *, stream: bool = False) -> HttpResponse:
        """Send ``request``; see the module docstring for what is guaranteed."""
        method = request.method.upper()
        if not _TOKEN.match(method):
            raise ConfigurationError(f"invalid HTTP method {request.method!r}")
        headers = _checked_headers(request.headers)
        headers.setdefault("user-agent", USER_AGENT)
        headers.setdefault("accept-encoding", "gzip, deflate")
        url, body = request.url, request.body
        current = _parse_url(url)
        for hop in range(self._max_redirects + 1):
            route = self._route(current)
            conn, parser, events = self._exchange(route, current, method, headers, body, request.timeout)
            head = parser.head
            assert head is not None
            folded = lower_headers(head.headers)
            location = folded.get("location")
            target = self._follow(url, location) if head.status in _REDIRECT_STATUSES else None
            response = _Body(self, route, conn, parser, events, folded, request.timeout)
            if target is None or hop == self._max_redirects:
                log_response(method, url, head.status, folded)
                if stream:
                    return HttpResponse(
                        head.status, folded, chunks=response.chunks(), close=response.close, reason=head.reason
                    )
                return HttpResponse(head.status, folded, response.read_all(), reason=head.reason)
            response.drain()
            next_url, parsed = target
            if head.status == 303 and method != "HEAD":
                method, body = "GET", b""
                headers = {k: v for k, v in headers.items() if k not in _BODY_HEADERS}
            if parsed.origin != current.origin:
                headers = {k: v for k, v in headers.items() if k not in _CROSS_ORIGIN_DROP}
            url, current = next_url, parsed
        raise AssertionError("unreachable: the last hop always returns")

    @staticmethod
    def _follow(url: str, location: str | None) -> tuple[str, _Url] | None:
        """The next hop of a redirect, or ``None`` when it cannot be followed."""
        if not location:
            return None
        next_url = urljoin(url, location.strip())
        try:
            return next_url, _parse_url(next_url)
        except ConfigurationError:
            return None  # e.g. a redirect to ftp:; the 3xx goes back to the caller

    def _route(self, url: _Url) -> _Route:
        proxy = self._proxy
        if proxy is None and self._trust_env:
            proxy = proxy_for(url.scheme, url.host, url.port)
        return _Route(url.scheme, url.host, url.port, proxy)

    def _exchange(
        self,
        route: _Route,
        url: _Url,
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        timeout: float | None,
    ) -> tuple[http.client.HTTPConnection, ResponseParser, list[Event]]:
        """Send one request and read the response head, resending once if stale."""
        wire = dict(headers)
        wire.setdefault("host", url.host_header)
        wire.pop("transfer-encoding", None)
        wire.pop("content-length", None)
        wire.pop("connection", None)
        if body or method in _METHODS_WITH_BODY:
            wire["content-length"] = str(len(body))
        target = url.target
        if route.proxy is not None and route.scheme == "http":
            target = url.absolute
            if route.proxy.authorization:
                wire["proxy-authorization"] = route.proxy.authorization
        log_request(method, f"{url.scheme}://{url.host_header}{url.target}", wire)
        # Head and body in one write: one syscall, and no Nagle/delayed-ACK stall
        # between two small segments. http.client's own framing would cost a second
        # send and an email.parser pass over the reply head on every call.
        lines = [f"{method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in wire.items()), "", ""]
        payload = "\r\n".join(lines).encode("latin-1") + body

        conn = self._checkout(route, timeout)
        reused = conn is not None
        if conn is None:
            conn = self._connect(route, timeout)
        while True:
            parser = ResponseParser(method)
            try:
                return conn, parser, _send_and_read_head(conn, parser, payload)
            except _ClosedBeforeReply as exc:
                conn.close()
                if not reused:
                    raise APIConnectionError(
                        f"server closed the connection without a response ({route.where})"
                    ) from exc.__cause__
            except APIConnectionError as exc:
                conn.close()
                raise APIConnectionError(f"{exc.message} ({route.where})") from None
            except _NETWORK_ERRORS as exc:
                conn.close()
                raise _failure(exc, route, timeout) from exc
            # A pooled connection the server had closed while idle: nothing reached
            # the application, so one resend on a fresh connection is safe.
            reused = False
            conn = self._connect(route, timeout)

    # -- connections ------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        # Built once: loading the system CA store costs milliseconds per call.
        if self._ssl is None:
            with self._lock:
                if self._ssl is None:
                    self._ssl = self._build_ssl_context()
        return self._ssl

    def _build_ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self._ca_file or self._ca_dir:
            try:
                context.load_verify_locations(cafile=self._ca_file, capath=self._ca_dir)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(f"could not load CA certificates: {exc}") from None
        if not self._verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["http/1.1"])
        return context

    def _connect(self, route: _Route, timeout: float | None) -> http.client.HTTPConnection:
        proxy = route.proxy
        conn: http.client.HTTPConnection
        if route.scheme == "https":
            context = self._ssl_context()
            if proxy is None:
                conn = http.client.HTTPSConnection(
                    route.host, route.port, timeout=timeout, context=context
                )
            else:
                conn = http.client.HTTPSConnection(
                    proxy.host, proxy.port, timeout=timeout, context=context
                )
                tunnel_headers = (
                    {"Proxy-Authorization": proxy.authorization} if proxy.authorization else None
                )
                conn.set_tunnel(route.host, route.port, headers=tunnel_headers)
        else:
            host, port = (proxy.host, proxy.port) if proxy else (route.host, route.port)
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.connect()
        except _NETWORK_ERRORS as exc:
            conn.close()
            raise _failure(exc, route, timeout) from exc
        return conn

    def _checkout(self, route: _Route, timeout: float | None) -> http.client.HTTPConnection | None:
        """An idle pooled connection for ``route`` that still looks alive, if any."""
        dead: list[http.client.HTTPConnection] = []
        found = None
        with self._lock:
            idle = self._idle.get(route, [])
            while idle and found is None:
                conn = idle.pop()
                if _is_dropped(conn):
                    dead.append(conn)
                else:
                    found = conn
        for conn in dead:
            conn.close()
        if found is not None and found.sock is not None:
            found.timeout = timeout
            found.sock.settimeout(timeout)
        return found

    def _release(self, route: _Route, conn: http.client.HTTPConnection, reuse: bool) -> None:
        """Pool a connection whose response was read to the end, if it may be reused."""
        if reuse and conn.sock is not None:
            with self._lock:
                idle = self._idle.setdefault(route, [])
                if len(idle) < self._max_idle:
                    idle.append(conn)
                    return
        conn.close()


class _ClosedBeforeReply(Exception):
    """The server closed or reset the connection before one byte of a reply."""


def _send_and_read_head(
    conn: http.client.HTTPConnection, parser: ResponseParser, payload: bytes
) -> list[Event]:
    sock = conn.sock
    if sock is None:
        raise _ClosedBeforeReply
    events: list[Event] = []
    try:
        sock.sendall(payload)
        while parser.head is None:
            data = sock.recv(_READ_SIZE)
            if not data and not parser.received_any:
                raise _ClosedBeforeReply
            events.extend(parser.feed(data) if data else parser.close())
    except _STALE as exc:
        if parser.received_any:
            raise
        raise _ClosedBeforeReply from exc
    return events[1:]  # events[0] is the head, kept on the parser


class _Body:
    """One response body being read; returns or discards its connection exactly once."""

    def __init__(
        self,
        transport: SyncTransport,
        route: _Route,
        conn: http.client.HTTPConnection,
        parser: ResponseParser,
        events: list[Event],
        headers: Mapping[str, str],
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._route = route
        self._conn = conn
        self._parser = parser
        self._events = events
        self._timeout = timeout
        self._limit = transport._max_body
        self._decoder = BodyDecoder(headers.get("content-encoding", ""), self._limit)
        self._settled = False
        declared = headers.get("content-length", "")
        if (
            not headers.get("content-encoding")
            and declared.isdigit()
            and int(declared) > self._limit
        ):
            self.close()
            raise ResponseFormatError("http", "", f"response body larger than {self._limit} bytes")

    def raw(self) -> Iterator[bytes]:
        """The body's pieces as they arrive, still content-encoded."""
        while True:
            events, self._events = self._events, []
            for event in events:
                if isinstance(event, Data):
                    yield event.data
                elif isinstance(event, End):
                    return
            self._events = self._read()

    def chunks(self) -> Iterator[bytes]:
        """Decoded pieces as they arrive; the connection is pooled after the last one."""
        decoder = self._decoder
        try:
            for data in self.raw():
                piece = decoder.decode(data)
                if piece:
                    yield piece
            tail = decoder.flush()
            if tail:
                yield tail
        except BaseException:
            self.close()
            raise
        self._finish()

    def read_all(self) -> bytes:
        """The whole decoded body."""
        return b"".join(self.chunks())

    def drain(self) -> None:
        """Finish a redirect's response: reuse the connection if its body is small."""
        try:
            read = 0
            for data in self.raw():
                read += len(data)
                if read > _MAX_DRAIN:
                    break
            else:
                self._finish()
                return
        except (APIConnectionError, ResponseFormatError):
            pass
        self.close()

    def close(self) -> None:
        """Give up on the body: the connection is half-read, so it is closed, not pooled."""
        if not self._settled:
            self._settled = True
            self._conn.close()

    def _read(self) -> list[Event]:
        sock = self._conn.sock
        if sock is None:
            raise APIConnectionError(f"connection closed before the body was complete ({self._route.where})")
        try:
            data = sock.recv(_READ_SIZE)
        except _NETWORK_ERRORS as exc:
            raise _failure(exc, self._route, self._timeout) from exc
        try:
            return self._parser.feed(data) if data else self._parser.close()
        except APIConnectionError as exc:
            problem = exc.message if data else "connection closed before the body was complete"
            raise APIConnectionError(f"{problem} ({self._route.where})") from None

    def _finish(self) -> None:
        if not self._settled:
            self._settled = True
            parser = self._parser
            self._transport._release(self._route, self._conn, parser.keep_alive and not parser.unused)


_DEFAULT: SyncTransport | None = None
_DEFAULT_LOCK = threading.Lock()


def default_transport() -> SyncTransport:
    """The process-wide shared :class:`SyncTransport`, created on first use."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _DEFAULT = SyncTransport()
    return _DEFAULT

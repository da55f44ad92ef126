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
- Redirects (301, 302, 303, 307, 308) are followed up to ``max_redirects``, by the
  rule both transports share (see :mod:`minicall._http._common`: 303 and 302 become a
  body-less GET, 301 turns POST into GET, 307/308 keep method and body; another
  origin drops every credential header). When the limit is reached the last 3xx
  response is returned, for the pipeline to report.
- Proxies: see :mod:`minicall._http._proxy`. https goes through a CONNECT tunnel.
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
from collections.abc import Iterator, Mapping
from typing import final

from .._model.errors import APIConnectionError, ResponseFormatError
from ._common import (
    DEFAULT_MAX_BODY_BYTES,
    READ_SIZE,
    USER_AGENT,
    HeaderItems,
    Route,
    Url,
    check_method,
    checked_header_items,
    declared_too_big,
    failure,
    frame_request,
    parse_url,
    redirect,
)
from ._default import check_ca_paths, tls_context
from ._h1 import BodyDecoder, Data, End, Event, ResponseParser
from ._log import log_request, log_response
from ._proxy import parse_proxy, proxy_for
from ._types import HttpRequest, HttpResponse, lower_headers

__all__ = ["DEFAULT_MAX_BODY_BYTES", "USER_AGENT", "SyncTransport", "default_transport"]

# A redirect's body is read (so the connection can be reused) only when this small.
_MAX_DRAIN = 65536

# A reused connection failing this way before any response byte means the server had
# closed it while it sat idle; nothing reached the application, so resending is safe.
_STALE = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
_NETWORK_ERRORS = (OSError, http.client.HTTPException)


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
        check_ca_paths(ca_file, ca_dir)
        self._verify = verify
        self._ca_file = ca_file
        self._ca_dir = ca_dir
        self._proxy = parse_proxy(proxy) if proxy else None
        self._trust_env = trust_env
        self._max_body = max_body_bytes
        self._max_redirects = max_redirects
        self._max_idle = max_idle_per_host
        self._lock = threading.Lock()
        self._idle: dict[Route, list[http.client.HTTPConnection]] = {}
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
        method = check_method(request.method)
        headers: Mapping[str, str] | HeaderItems = checked_header_items(request.headers)
        url, body = parse_url(request.url), request.body
        for hop in range(self._max_redirects + 1):
            route = self._route(url)
            conn, parser, events = self._exchange(route, url, method, headers, body, request.timeout)
            head = parser.head
            assert head is not None
            folded = lower_headers(head.headers)
            nxt = redirect(head.status, folded.get("location"), method, url, headers, body)
            response = _Body(self, route, conn, parser, events, folded, request.timeout)
            if nxt is None or hop == self._max_redirects:
                log_response(method, url.text, head.status, folded)
                if stream:
                    return HttpResponse(
                        head.status, folded, chunks=response.chunks(), close=response.close, reason=head.reason
                    )
                return HttpResponse(head.status, folded, response.read_all(), reason=head.reason)
            response.drain()
            method, url, headers, body = nxt.method, nxt.url, nxt.headers, nxt.body
        raise AssertionError("unreachable: the last hop always returns")

    def _route(self, url: Url) -> Route:
        proxy = self._proxy
        if proxy is None and self._trust_env:
            proxy = proxy_for(url.scheme, url.host, url.port)
        return Route(url.scheme, url.host, url.port, proxy)

    def _exchange(
        self,
        route: Route,
        url: Url,
        method: str,
        headers: Mapping[str, str] | HeaderItems,
        body: bytes,
        timeout: float | None,
    ) -> tuple[http.client.HTTPConnection, ResponseParser, list[Event]]:
        """Send one request and read the response head, resending once if stale."""
        payload, wire = frame_request(method, url, headers, body, route.proxy)
        log_request(method, url.text, wire)
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
            except (APIConnectionError, *_NETWORK_ERRORS) as exc:
                conn.close()
                raise failure(exc, route.where, timeout) from None
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
                    self._ssl = tls_context(self._verify, self._ca_file, self._ca_dir)
        return self._ssl

    def _connect(self, route: Route, timeout: float | None) -> http.client.HTTPConnection:
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
            raise failure(exc, route.where, timeout) from exc
        return conn

    def _checkout(self, route: Route, timeout: float | None) -> http.client.HTTPConnection | None:
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

    def _release(self, route: Route, conn: http.client.HTTPConnection, reuse: bool) -> None:
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
            data = sock.recv(READ_SIZE)
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
        route: Route,
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
        if declared_too_big(headers, self._limit):
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
            data = sock.recv(READ_SIZE)
        except _NETWORK_ERRORS as exc:
            raise failure(exc, self._route.where, self._timeout) from exc
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

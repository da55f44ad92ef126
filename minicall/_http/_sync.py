"""The blocking transport: :class:`SyncTransport`, on plain sockets with a keep-alive pool.

Loaded lazily by the call pipeline (``import minicall`` never imports ``http.client`` or
``ssl``). What it guarantees beyond the :class:`~minicall._model.http.Transport`
contract:

- Connections are pooled per (scheme, host, port, proxy); a connection serves one
  request at a time; at most ``max_idle_per_host`` idle ones are kept per key.
- A request that fails on a *reused* connection before any response byte arrives
  (the server closed it while idle) is sent once more on a fresh connection. A fresh
  connection that fails is never retried here: that is the retry policy's business.
- ``request.timeout`` bounds the connect and each socket read; ``request.deadline``
  shortens every wait (name resolution, connect, TLS handshake, each read) to the
  call's limit. Names are resolved in a worker thread, so that a hanging resolver
  is bounded too.
- Pools do not cross ``os.fork()``: a child process starts with empty pools.
- gzip and deflate bodies are decoded, streamed ones piece by piece; a decoded body
  longer than ``max_body_bytes`` (or the request's own ``max_body_bytes``) raises
  ``ResponseFormatError`` (streams too) after at most that many bytes were held.
- Redirects (301, 302, 303, 307, 308) are followed up to ``max_redirects``, by the
  rule both transports share (see :mod:`minicall._http._common`: 303 and 302 become a
  body-less GET, 301 turns POST into GET, 307/308 keep method and body; another
  origin drops every credential header). When the limit is reached the last 3xx
  response is returned, for the pipeline to report.
- Proxies: see :mod:`minicall._http._proxy`. https goes through a CONNECT tunnel,
  whose answer is read by the bounded reply reader both transports share.

How it works: ``send`` loops over hops. Each hop takes a connection (pooled or new),
writes the request in one piece and reads until the reply's head is parsed; the body
is then read by a :class:`_Body`, which owns the connection from that moment. Pool
invariants, between any two calls: a connection in ``_idle`` has no request in
flight and had no unread bytes when it was put back (bytes that come later make
:func:`_is_dropped` discard it); a connection is in ``_idle`` or owned by one caller
(the ``send`` setting it up, then its ``_Body``), never both; and only ``_Body`` puts
one back, after reading its reply to the end. Every wait (resolve, connect,
handshake, send, each ``recv``) first asks the call's deadline how long it may last,
so a server that drips a byte at a time cannot outlast the deadline (with only a
``timeout``, each wait is bounded but not their sum).
"""

from __future__ import annotations

import ipaddress
import select
import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from typing import final

from .._model.errors import APIConnectionError, ResponseFormatError
from .._model.clock import Deadline
from .._model.http import HttpRequest, HttpResponse, lower_headers
from ._common import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_DRAIN,
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
    tunnel_refusal,
    tunnel_request,
)
from ._tls import check_ca_paths, tls_context
from ._fork import forget_pools_after_fork
from ._h1 import BodyDecoder, Data, End, Event, ResponseParser
from ._log import log_request, log_response
from ._proxy import parse_proxy, proxy_for

__all__ = ["DEFAULT_MAX_BODY_BYTES", "USER_AGENT", "SyncTransport", "default_transport"]


# A reused connection failing this way before any response byte means the server had
# closed it while it sat idle (its keep-alive timeout won the race against our reuse).
# Servers close idle connections only between requests, so the request was almost
# surely not acted on: the "means to detect that the original request was never
# applied" under which RFC 9112 §9.3.1 lets a client resend even a POST.
_STALE = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
_NETWORK_ERRORS = (OSError,)


class _Conn:
    """One socket to a route (plain, TLS, or TLS inside a proxy tunnel)."""

    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket | None = sock

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


def _wait(deadline: Deadline | None, timeout: float | None, where: str) -> float | None:
    return timeout if deadline is None else deadline.wait(timeout, where)


def _bound(sock: socket.socket, deadline: Deadline | None, timeout: float | None, where: str) -> None:
    """Give the socket's next wait at most what the limits leave."""
    # Called before every blocking call rather than once per request: a socket timeout
    # bounds one wait, so without this a server sending a byte just before each timeout
    # could hold the call past its deadline.
    limit = timeout if deadline is None else deadline.wait(timeout, where)
    if sock.gettimeout() != limit:  # mostly unchanged: the deadline is far off
        sock.settimeout(limit)


_Address = tuple[int, int, int, tuple[object, ...]]  # family, type, proto, sockaddr


def _addresses(host: str, port: int) -> list[_Address]:
    return [(f, t, p, a) for f, t, p, _, a in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _resolve(host: str, port: int, limit: float | None) -> list[_Address]:
    """``getaddrinfo`` for ``host``, given at most ``limit`` seconds.

    The resolver has no timeout of its own, so a name (not an address) is resolved in
    a worker thread; one still stuck after ``limit`` is left to finish on its own."""
    try:
        ipaddress.ip_address(host)
        numeric = True
    except ValueError:
        numeric = False
    if numeric:
        return _addresses(host, port)
    box: list[list[_Address] | OSError] = []

    def look_up() -> None:
        try:
            box.append(_addresses(host, port))
        except OSError as exc:
            box.append(exc)

    # A daemon thread: a resolver stuck for minutes must not keep the interpreter from
    # exiting. The result box is a list so that a late answer lands in it harmlessly
    # after we gave up.
    worker = threading.Thread(target=look_up, name="minicall-resolve", daemon=True)
    worker.start()
    worker.join(limit)
    if not box:
        raise TimeoutError
    result = box[0]
    if isinstance(result, OSError):
        raise result
    return result


def _is_dropped(conn: _Conn) -> bool:
    """An idle connection that is readable was closed by the server (or is confused)."""
    # No request is in flight on an idle connection, so anything readable (EOF, an
    # RST, stray bytes) means it is unusable. Catching this before the write avoids
    # most stale-connection resends.
    sock = conn.sock
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):
            # poll, not select: select.select refuses a descriptor of 1024 or more, and a
            # busy process has those, which would make every idle connection look dropped.
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))  # readable, or POLLHUP/POLLERR: unusable either way
        readable, _, _ = select.select([sock], [], [], 0)  # Windows: no poll, no fd limit
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
        # Keyed by Route, proxy included: a connection through a proxy (or its tunnel)
        # is never handed to a request that should go direct, or through another proxy.
        self._idle: dict[Route, list[_Conn]] = {}
        self._ssl: ssl.SSLContext | None = None
        forget_pools_after_fork(self)

    @property
    def max_body_bytes(self) -> int:
        """The cap on each decoded body."""
        return self._max_body

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

    def reset_after_fork(self) -> None:
        # In the child: the pooled sockets are the parent's too, so two processes
        # would read each other's replies. The child's copies are closed (the
        # parent's stay open; close() is no shutdown(), see _fork) and the lock, maybe
        # held by a thread that is gone, is new.
        idle, self._idle = self._idle, {}
        self._lock = threading.Lock()
        for conns in idle.values():
            for conn in conns:
                conn.close()

    # -- sending ----------------------------------------------------------------------

    def send(self, request: HttpRequest, *, stream: bool = False) -> HttpResponse:
        """Send ``request``; see the module docstring for what is guaranteed."""
        method = check_method(request.method)
        headers: Mapping[str, str] | HeaderItems = checked_header_items(request.headers)
        url, body = parse_url(request.url), request.body
        timeout, deadline = request.timeout, request.deadline
        limit = self._max_body if request.max_body_bytes is None else request.max_body_bytes
        # The proxy is chosen per hop: a redirect to another host may fall under
        # NO_PROXY, or need the other scheme's proxy.
        for hop in range(self._max_redirects + 1):
            route = self._route(url)
            conn, parser, events = self._exchange(route, url, method, headers, body, timeout, deadline)
            head = parser.head
            assert head is not None
            folded = lower_headers(head.headers)
            log_response(method, url.text, head.status, folded)
            nxt = redirect(head.status, folded.get("location"), method, url, headers, body)
            response = _Body(self, route, conn, parser, events, folded, timeout, deadline, limit)
            # Checked only on the response handed back: a redirect's body is drained or
            # dropped, never kept, so its size does not matter.
            if nxt is None or hop == self._max_redirects:
                response.refuse_declared_too_big()
                if stream:
                    return HttpResponse(
                        head.status, folded, chunks=response.chunks(), close=response.close, reason=head.reason
                    )
                return HttpResponse(head.status, folded, response.read_all(), reason=head.reason)
            # Before the next hop, so that the connection can go back to the pool and
            # may serve that hop when it goes to the same origin.
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
        deadline: Deadline | None,
    ) -> tuple[_Conn, ResponseParser, list[Event]]:
        """Send one request and read the response head, resending once if stale."""
        payload, wire = frame_request(method, url, headers, body, route.proxy)
        log_request(method, url.text, wire)
        # Framed and logged once, before any connection: a resend after a stale
        # connection sends the very same bytes.
        conn = self._checkout(route, timeout)
        reused = conn is not None
        if conn is None:
            conn = self._connect(route, timeout, deadline)
        while True:
            parser = ResponseParser(method)
            try:
                return conn, parser, _send_and_read_head(conn, parser, payload, timeout, deadline, route.where)
            except _ClosedBeforeReply as exc:
                conn.close()
                if not reused:
                    raise APIConnectionError(
                        f"server closed the connection without a response ({route.where})"
                    ) from exc.__cause__
            except (APIConnectionError, *_NETWORK_ERRORS) as exc:
                conn.close()
                raise failure(exc, route.where, timeout, deadline) from None
            # A pooled connection the server had closed while idle (see _STALE): one
            # resend, on a fresh connection, never another pooled one; the other idle
            # ones are likely just as stale, and a fresh connection that fails the same
            # way is a real error (reused is False from here on).
            reused = False
            conn = self._connect(route, timeout, deadline)

    # -- connections ------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        # Built once: loading the system CA store costs milliseconds per call.
        if self._ssl is None:
            with self._lock:
                if self._ssl is None:
                    self._ssl = tls_context(self._verify, self._ca_file, self._ca_dir)
        return self._ssl

    def _connect(self, route: Route, timeout: float | None, deadline: Deadline | None) -> _Conn:
        proxy, where = route.proxy, route.where
        host, port = (proxy.host, proxy.port) if proxy else (route.host, route.port)
        sock: socket.socket | None = None
        try:
            sock = _open_socket(host, port, timeout, deadline, where)
            # https through a proxy: the TCP connection goes to the proxy, CONNECT turns
            # it into a tunnel, and TLS runs inside the tunnel with the origin, so the
            # proxy sees neither the request nor the key.
            if proxy is not None and route.scheme == "https":
                _tunnel(sock, route, timeout, deadline)
            if route.scheme == "https":
                # wrap_socket runs the handshake now; CPython counts the socket timeout
                # as one budget for the whole handshake, so one bound covers it.
                # server_hostname is the origin, never the proxy: it is the name the
                # certificate must match (and the SNI the origin expects).
                _bound(sock, deadline, timeout, where)
                sock = self._ssl_context().wrap_socket(sock, server_hostname=route.host)
        except (APIConnectionError, *_NETWORK_ERRORS) as exc:
            if sock is not None:
                sock.close()
            raise failure(exc, where, timeout, deadline) from None
        return _Conn(sock)

    def _checkout(self, route: Route, timeout: float | None) -> _Conn | None:
        """An idle pooled connection for ``route`` that still looks alive, if any."""
        dead: list[_Conn] = []
        found = None
        with self._lock:
            idle = self._idle.get(route, [])
            # Last in, first out: the most recently used connection is the least likely
            # to have hit the server's idle timeout, and the older ones age out instead.
            while idle and found is None:
                conn = idle.pop()
                if _is_dropped(conn):
                    dead.append(conn)
                else:
                    found = conn
        # Closed outside the lock: no thread waits on a syscall another thread makes.
        for conn in dead:
            conn.close()
        if found is not None and found.sock is not None:
            # The socket still has the timeout of the call that used it last.
            found.sock.settimeout(timeout)
        return found

    def release(self, route: Route, conn: _Conn, reuse: bool) -> None:
        """Pool a connection whose response was read to the end, if it may be reused."""
        # A full pool closes the extra connection rather than growing: the cap bounds
        # open sockets per host after a burst of parallel calls.
        if reuse and conn.sock is not None:
            with self._lock:
                idle = self._idle.setdefault(route, [])
                if len(idle) < self._max_idle:
                    idle.append(conn)
                    return
        conn.close()


def _open_socket(
    host: str, port: int, timeout: float | None, deadline: Deadline | None, where: str
) -> socket.socket:
    """A TCP connection to the first address of ``host`` that answers."""
    error: OSError | None = None
    for family, kind, proto, address in _resolve(host, port, _wait(deadline, timeout, where)):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(_wait(deadline, timeout, where))
            sock.connect(address)
        except BaseException as exc:
            sock.close()
            # A timeout ends the attempt instead of trying the next address: each
            # address would get the full timeout again, so a host that does not answer
            # would cost the caller a multiple of the limit set. Anything not an OSError
            # (KeyboardInterrupt) is not ours to swallow.
            if not isinstance(exc, OSError) or isinstance(exc, TimeoutError):
                raise
            error = exc
            continue
        # One write per request already; no Nagle delay on top of it.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise error or OSError(f"no address for {host}")


def _tunnel(sock: socket.socket, route: Route, timeout: float | None, deadline: Deadline | None) -> None:
    """Ask the proxy on ``sock`` for a CONNECT tunnel to ``route``."""
    where = route.where
    # The CONNECT reply is read with the same parser and caps as any reply: a proxy that
    # never ends its reply head hits MAX_HEAD_BYTES or the deadline, and a 2xx to
    # CONNECT is framed as having no body (RFC 9112 §6.3), so the parser stops right at
    # the tunnel's first byte.
    parser = ResponseParser("CONNECT")
    _bound(sock, deadline, timeout, where)
    sock.sendall(tunnel_request(route))
    while parser.head is None:
        _bound(sock, deadline, timeout, where)
        data = sock.recv(READ_SIZE)
        if not data and not parser.received_any:
            raise APIConnectionError("proxy closed the connection before answering CONNECT")
        parser.feed(data) if data else parser.close()
    # A refused tunnel is not read further: its socket is closed by the caller, so a
    # proxy's error page cannot make us wait.
    refusal = tunnel_refusal(parser.head.status, parser.unused)
    if refusal is not None:
        raise refusal


class _ClosedBeforeReply(Exception):
    """The server closed or reset the connection before one byte of a reply."""


def _send_and_read_head(
    conn: _Conn,
    parser: ResponseParser,
    payload: bytes,
    timeout: float | None,
    deadline: Deadline | None,
    where: str,
) -> list[Event]:
    sock = conn.sock
    if sock is None:
        raise _ClosedBeforeReply
    events: list[Event] = []
    try:
        _bound(sock, deadline, timeout, where)
        sock.sendall(payload)
        while parser.head is None:
            _bound(sock, deadline, timeout, where)
            data = sock.recv(READ_SIZE)
            # EOF with nothing received: the server had closed the connection (retried
            # when it was a reused one). EOF after some bytes is a cut-off reply, which
            # parser.close() reports.
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
        conn: _Conn,
        parser: ResponseParser,
        events: list[Event],
        headers: Mapping[str, str],
        timeout: float | None,
        deadline: Deadline | None,
        limit: int,
    ) -> None:
        self._transport = transport
        self._route = route
        self._conn = conn
        self._parser = parser
        self._events = events
        self._timeout = timeout
        self._deadline = deadline
        self._limit = limit
        self._headers = headers
        self._decoder = BodyDecoder(headers.get("content-encoding", ""), self._limit)
        self._settled = False

    def refuse_declared_too_big(self) -> None:
        """Refuse, before reading it, a body whose ``Content-Length`` is over the cap."""
        if declared_too_big(self._headers, self._limit):
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
            # BaseException on purpose: GeneratorExit (the caller stopped iterating a
            # stream early), KeyboardInterrupt and oversized bodies all leave the
            # reply half-read, so the connection is closed, not pooled.
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
            # Raw bytes, not decoded: a redirect's body is never looked at, so it is not
            # decompressed either.
            for data in self.raw():
                read += len(data)
                if read > MAX_DRAIN:
                    break
            else:
                self._finish()
                return
        # A redirect whose body fails to arrive costs us only its connection; the next
        # hop goes on.
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
        where = self._route.where
        if sock is None:
            raise APIConnectionError(f"connection closed before the body was complete ({where})")
        try:
            _bound(sock, self._deadline, self._timeout, where)
            data = sock.recv(READ_SIZE)
        except _NETWORK_ERRORS as exc:
            raise failure(exc, where, self._timeout, self._deadline) from exc
        try:
            return self._parser.feed(data) if data else self._parser.close()
        except APIConnectionError as exc:
            problem = exc.message if data else "connection closed before the body was complete"
            raise APIConnectionError(f"{problem} ({where})") from None

    def _finish(self) -> None:
        if not self._settled:
            self._settled = True
            parser = self._parser
            # Reusable only when the server allows it (RFC 9112 §9.3) and sent nothing
            # after the reply: such bytes would be read as the next request's reply.
            self._transport.release(self._route, self._conn, parser.keep_alive and not parser.unused)




_default: SyncTransport | None = None
_DEFAULT_LOCK = threading.Lock()


def default_transport() -> SyncTransport:
    """The process-wide shared :class:`SyncTransport`, created on first use."""
    global _default
    # Double-checked: the common path takes no lock, and two threads making the first
    # call still share one transport (and one pool).
    if _default is None:
        with _DEFAULT_LOCK:
            if _default is None:
                _default = SyncTransport()
    return _default

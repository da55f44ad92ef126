"""The asyncio HTTP/1.1 transport: an ``asyncio.Protocol`` feeding the sans-IO ``_h1`` reader.

No threads and no streams: every byte moves on the running event loop, and each
received piece goes straight from ``data_received`` into the reply's parser. A
request costs one write, one bare future per wait for more bytes and one timer per
such wait (no task per read, as ``asyncio.wait_for`` would create). What is shared
with the sync transport (URL and header checks, framing, redirects, error wording)
lives in :mod:`minicall._http._common`. The pieces:

- a keep-alive pool per :class:`~minicall._http._common.Route`, idle connections
  reused last-in first-out (the warmest socket is least likely to have been dropped);
- a semaphore per pool bounding requests in flight, hence open connections, since a
  new connection is only opened when no idle one is left;
- pools belong to one event loop (asyncio objects cannot cross loops), so a transport
  used under many ``asyncio.run()`` calls keeps one set of pools per loop and closes a
  loop's connections when that loop shuts down (see :func:`_closed_at_loop_shutdown`);
- whoever holds a connection owns it until the response is fully read: a body read to
  its end puts the connection back, anything else (error, timeout, cancellation, early
  ``aclose``) closes it, and the semaphore slot is always released;
- ``request.timeout`` bounds the connect and each wait for bytes, not the exchange.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import suppress

from .._errors import APIConnectionError, ConfigurationError, ResponseFormatError
from ._common import (
    DEFAULT_MAX_BODY_BYTES,
    READ_SIZE,
    Route,
    Url,
    check_method,
    checked_headers,
    declared_too_big,
    failure,
    frame_request,
    parse_url,
    redirect,
)
from ._default import check_ca_paths, tls_context
from ._h1 import BodyDecoder, Data, End, Event, Head, ResponseParser
from ._log import log_request, log_response
from ._proxy import parse_proxy, proxy_for
from ._types import AsyncHttpResponse, HttpRequest, lower_headers

__all__ = ["AsyncioTransport"]

# Reading pauses while this many received body bytes wait for a slow stream consumer.
_HIGH_WATER = 4 * READ_SIZE
_NETWORK_ERRORS = (OSError, EOFError, APIConnectionError, asyncio.TimeoutError)


class _ClosedBeforeReply(Exception):
    """The server closed or reset the connection before sending one byte of a reply."""


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class _Conn(asyncio.Protocol):
    """One connection; what arrives is parsed at once and queued as events.

    At most one coroutine waits on a connection (its owner), so one future suffices.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser: ResponseParser | None = None
        self.events: deque[Event] = deque()
        self.error: BaseException | None = None
        self.closed = False
        self.reused = False
        self._buffered = 0
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None

    @property
    def writer(self) -> asyncio.BaseTransport | None:
        """The socket's transport (``is_closing()`` tells whether it was closed)."""
        return self.transport

    # -- protocol callbacks -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.Transport):
            self.transport = transport

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None:
            self.closed = True  # bytes nobody asked for: this connection is done
            return
        try:
            events = parser.feed(data)
        except APIConnectionError as exc:
            self.error = exc
        else:
            for event in events:
                if isinstance(event, Data):
                    self._buffered += len(event.data)
            self.events.extend(events)
            if self._buffered > _HIGH_WATER and not self._paused and self.transport:
                self._paused = True
                self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self._ended(None)
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)

    def _ended(self, exc: Exception | None) -> None:
        if self.closed:
            self._wake()
            return
        self.closed = True
        parser = self.parser
        if parser is not None and self.error is None and not parser.done:
            if not parser.received_any and isinstance(exc, (type(None), ConnectionError)):
                self.error = _ClosedBeforeReply()
            elif exc is not None:
                self.error = exc
            else:
                try:
                    self.events.extend(parser.close())
                except APIConnectionError as error:
                    self.error = error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the owner's side ---------------------------------------------------------

    def begin(self, method: str, payload: bytes) -> None:
        """Send a request and get ready to read its reply."""
        self.parser = ResponseParser(method)
        self.events.clear()
        self._buffered = 0
        if self.transport is None or self.transport.is_closing():
            raise _ClosedBeforeReply
        self.transport.write(payload)

    def pop(self) -> Event | None:
        """The next event of the reply, ``None`` if more bytes are needed."""
        if self.events:
            event = self.events.popleft()
            if isinstance(event, Data):
                self._buffered -= len(event.data)
                if self._paused and self._buffered < _HIGH_WATER and self.transport:
                    self._paused = False
                    self.transport.resume_reading()
            return event
        if self.error is not None:
            raise self.error
        if self.closed:
            raise APIConnectionError("connection closed before the body was complete")
        return None

    async def wait(self, timeout: float | None) -> None:
        """Until something arrives (bytes, end or error); ``TimeoutError`` after ``timeout`` s."""
        waiter = self._waiter = self._loop.create_future()
        timer = None if timeout is None else self._loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    async def head(self, timeout: float | None) -> Head:
        """Wait for the reply's head; body events stay queued."""
        while True:
            event = self.pop()
            if event is None:
                await self.wait(timeout)
            elif isinstance(event, Head):
                return event

    def usable(self) -> bool:
        transport = self.transport
        return not (self.closed or self.error or transport is None or transport.is_closing())

    def reusable(self) -> bool:
        parser = self.parser
        return parser is not None and parser.keep_alive and not parser.unused and self.usable()

    def close(self) -> None:
        # abort, not close: a half-read response must not be flushed or waited for.
        self.closed = True
        if self.transport is not None:
            with suppress(RuntimeError):  # the loop is already closed
                self.transport.abort()


class _Pool:
    """Idle connections to one route, and the slots bounding requests to it."""

    def __init__(self, limit: int) -> None:
        self.idle: list[_Conn] = []
        self.slots = asyncio.Semaphore(limit)

    def take_idle(self) -> _Conn | None:
        while self.idle:
            conn = self.idle.pop()
            if conn.usable():
                conn.reused = True
                return conn
            conn.close()
        return None

    def close_idle(self) -> None:
        idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()


class _LoopPools:
    """Every pool of one event loop."""

    def __init__(self) -> None:
        self.pools: dict[Route, _Pool] = {}
        self._watch: AsyncGenerator[None, None] | None = None

    def close_all(self) -> None:
        for pool in self.pools.values():
            pool.close_idle()

    async def watch(self) -> None:
        self._watch = _closed_at_loop_shutdown(self)
        await self._watch.__anext__()

    def forget(self) -> None:
        """Close every idle connection now; the loop is gone or the transport closing."""
        self.close_all()
        watch, self._watch = self._watch, None
        if watch is not None:
            # Finish the watcher by hand: its cleanup is synchronous, so one step runs
            # it, and a finished generator never asks a (closed) loop to finalize it.
            step = watch.aclose()
            with suppress(StopIteration):
                step.send(None)


async def _closed_at_loop_shutdown(pools: _LoopPools) -> AsyncGenerator[None, None]:
    # asyncio has no "loop is closing" callback, but asyncio.run() finalizes every live
    # async generator (loop.shutdown_asyncgens) while the loop still runs: this one
    # stays suspended for the loop's life and closes the pools when finalized.
    try:
        yield
    finally:
        pools.close_all()


class _Body:
    """The body of one response, read off its connection as the caller asks.

    Owns the connection and the pool slot until released: the connection returns to
    the pool only when the body was read to its end and the server allows reuse.
    """

    def __init__(
        self, pool: _Pool, conn: _Conn, decoder: BodyDecoder, timeout: float | None, where: str
    ) -> None:
        self._pool = pool
        self._conn = conn
        self._decoder = decoder
        self._timeout = timeout
        self._where = where
        self._released = False

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        try:
            piece = await self._next_piece()
        except _NETWORK_ERRORS as exc:
            self._release(reuse=False)
            raise failure(exc, self._where, self._timeout) from None
        except BaseException:  # oversized bodies, cancellation
            self._release(reuse=False)
            raise
        if piece is None:
            raise StopAsyncIteration
        return piece

    async def read_all(self) -> bytes:
        return b"".join([piece async for piece in self])

    async def aclose(self) -> None:
        self._release(reuse=False)

    async def _next_piece(self) -> bytes | None:
        conn = self._conn
        while not self._released:
            event = conn.pop()
            if event is None:
                await conn.wait(self._timeout)
            elif isinstance(event, Data):
                out = self._decoder.decode(event.data)
                if out:
                    return out
            elif isinstance(event, End):
                tail = self._decoder.flush()
                self._release(reuse=conn.reusable())
                return tail or None
        return None

    def _release(self, *, reuse: bool) -> None:
        if self._released:
            return
        self._released = True
        if reuse:
            self._conn.parser = None
            self._pool.idle.append(self._conn)
        else:
            self._conn.close()
        self._pool.slots.release()

    def __del__(self) -> None:
        # A stream dropped unread must not hold its slot forever.
        if not self._released:
            with suppress(Exception):
                self._release(reuse=False)


class AsyncioTransport:
    """HTTP/1.1 on asyncio, with keep-alive pools, TLS, proxies and redirects.

    - ``verify``/``ca_file``/``ca_dir``: certificate checking (see
      :func:`~minicall._http._default.tls_context`; ``SSL_CERT_FILE`` and
      ``SSL_CERT_DIR`` are honoured).
    - ``proxy``: an ``http://[user:pass@]host:port`` proxy for every request; else, with
      ``trust_env``, ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` decide per request.
    - ``max_connections_per_host`` bounds requests in flight (and so open connections)
      per origin; ``max_body_bytes`` bounds each decoded body, streamed or not;
      ``max_redirects`` redirects are followed (the rule is in ``_common``), after
      which the redirect itself is returned.

    Raises only ``APIConnectionError``/``APITimeoutError`` for the network,
    ``ConfigurationError`` for a request that cannot be sent, and
    ``ResponseFormatError`` for an oversized body.
    """

    def __init__(
        self,
        *,
        verify: bool = True,
        ca_file: str | None = None,
        ca_dir: str | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        max_connections_per_host: int = 100,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_redirects: int = 5,
    ) -> None:
        if max_connections_per_host < 1:
            raise ConfigurationError("max_connections_per_host must be at least 1")
        check_ca_paths(ca_file, ca_dir)
        self._verify = verify
        self._ca_file = ca_file
        self._ca_dir = ca_dir
        self._proxy = parse_proxy(proxy) if proxy else None
        self._trust_env = trust_env
        self._limit = max_connections_per_host
        self._max_body = max_body_bytes
        self._max_redirects = max_redirects
        self._ssl: ssl.SSLContext | None = None
        self._loops: dict[asyncio.AbstractEventLoop, _LoopPools] = {}

    def __repr__(self) -> str:
        return f"AsyncioTransport(max_connections_per_host={self._limit})"

    async def send_async(self, request: HttpRequest, *, stream: bool = False) -> AsyncHttpResponse:
        """Send ``request``, following redirects; see :class:`AsyncTransport`."""
        method = check_method(request.method)
        url = parse_url(request.url)
        headers = checked_headers(request.headers)
        body = request.body
        for hop in range(self._max_redirects + 1):
            response = await self._send_once(method, url, headers, body, request.timeout, stream)
            location = response.headers.get("location")
            nxt = redirect(response.status, location, method, url, headers, body)
            if nxt is None or hop == self._max_redirects:
                return response
            await response.read()  # drain, so the connection can serve the next hop
            method, url, headers, body = nxt.method, nxt.url, nxt.headers, nxt.body
        raise AssertionError("unreachable: the last hop always returns")

    async def aclose(self) -> None:
        """Close every idle connection (of this loop, and of loops already closed)."""
        loop = asyncio.get_running_loop()
        for key in [k for k in self._loops if k is loop or k.is_closed()]:
            self._loops.pop(key).forget()

    # -- one exchange -------------------------------------------------------------

    async def _send_once(
        self,
        method: str,
        url: Url,
        headers: dict[str, str],
        body: bytes,
        timeout: float | None,
        stream: bool,
    ) -> AsyncHttpResponse:
        proxy = self._proxy
        if proxy is None and self._trust_env:
            proxy = proxy_for(url.scheme, url.host, url.port)
        route = Route(url.scheme, url.host, url.port, proxy)
        pools = self._loops.get(asyncio.get_running_loop()) or await self._new_loop_pools()
        pool = pools.pools.get(route)
        if pool is None:
            pool = pools.pools[route] = _Pool(self._limit)
        payload, wire = frame_request(method, url, headers, body, proxy)
        log_request(method, url.text, wire)
        await pool.slots.acquire()
        try:
            conn, head = await self._exchange_head(pool, route, method, payload, timeout)
        except BaseException:
            pool.slots.release()
            raise
        folded = lower_headers(head.headers)
        log_response(method, url.text, head.status, folded)
        if not stream and declared_too_big(folded, self._max_body):
            # Refuse before waiting for a body we would refuse anyway (as the sync twin does).
            conn.close()
            pool.slots.release()
            raise ResponseFormatError("http", "", f"response body larger than {self._max_body} bytes")
        decoder = BodyDecoder(folded.get("content-encoding", ""), self._max_body)
        reader = _Body(pool, conn, decoder, timeout, route.where)
        if stream:
            return AsyncHttpResponse(
                head.status, folded, chunks=reader, close=reader.aclose, reason=head.reason
            )
        return AsyncHttpResponse(head.status, folded, await reader.read_all(), reason=head.reason)

    async def _exchange_head(
        self, pool: _Pool, route: Route, method: str, payload: bytes, timeout: float | None
    ) -> tuple[_Conn, Head]:
        """Send the request and read the reply's head, retrying a stale idle connection once."""
        fresh = False
        while True:
            conn = None if fresh else pool.take_idle()
            if conn is None:
                conn = await self._connect(route, timeout)
            try:
                conn.begin(method, payload)
                return conn, await conn.head(timeout)
            except _ClosedBeforeReply:
                conn.close()
                if not conn.reused:
                    raise APIConnectionError(
                        f"server closed the connection without a response ({route.where})"
                    ) from None
                # A keep-alive connection the server dropped while idle: the request
                # never reached it, so one retry on a new connection is safe.
                fresh = True
            except _NETWORK_ERRORS as exc:
                conn.close()
                raise failure(exc, route.where, timeout) from None
            except BaseException:
                conn.close()
                raise

    async def _connect(self, route: Route, timeout: float | None) -> _Conn:
        loop = asyncio.get_running_loop()
        context = self._tls() if route.scheme == "https" else None
        proxy = route.proxy
        try:
            if proxy is None:
                opening = loop.create_connection(
                    _Conn, route.host, route.port, ssl=context,
                    server_hostname=route.host if context else None,
                )
                return (await asyncio.wait_for(opening, timeout))[1]
            conn = (await asyncio.wait_for(loop.create_connection(_Conn, proxy.host, proxy.port), timeout))[1]
            if context is None:
                return conn  # plain http: absolute-form requests to the proxy
            try:
                await _tunnel(conn, route, context, timeout)
            except BaseException:
                conn.close()
                raise
            return conn
        except _NETWORK_ERRORS as exc:
            raise failure(exc, route.where, timeout) from None

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = tls_context(self._verify, self._ca_file, self._ca_dir)
        return self._ssl

    async def _new_loop_pools(self) -> _LoopPools:
        loop = asyncio.get_running_loop()
        for stale in [k for k in self._loops if k.is_closed()]:
            self._loops.pop(stale).forget()
        pools = self._loops[loop] = _LoopPools()
        await pools.watch()
        return pools


async def _tunnel(conn: _Conn, route: Route, context: ssl.SSLContext, timeout: float | None) -> None:
    """Open a CONNECT tunnel through the route's proxy and start TLS inside it."""
    assert route.proxy is not None
    host, port = route.host, route.port
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if route.proxy.authorization:
        lines.append(f"Proxy-Authorization: {route.proxy.authorization}")
    try:
        conn.begin("CONNECT", ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = await conn.head(timeout)
    except _ClosedBeforeReply:
        raise APIConnectionError("proxy closed the connection before answering CONNECT") from None
    if not 200 <= head.status < 300:
        raise APIConnectionError(f"proxy refused the tunnel with HTTP {head.status}")
    if conn.parser is not None and conn.parser.unused:
        raise APIConnectionError("proxy sent bytes before the TLS handshake")
    conn.parser = None
    conn.events.clear()
    assert conn.transport is not None
    loop = asyncio.get_running_loop()
    starting = loop.start_tls(conn.transport, conn, context, server_hostname=host)
    tls = await asyncio.wait_for(starting, timeout)
    if tls is None:
        raise APIConnectionError("TLS could not start inside the proxy tunnel")
    conn.transport = tls

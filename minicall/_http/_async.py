"""The asyncio HTTP/1.1 transport: an ``asyncio.Protocol`` feeding the sans-IO ``_h1`` reader.

No threads and no streams: every byte moves on the running event loop, and each
received piece goes straight into the reply's parser (see
:mod:`minicall._http._async_conn`). A request costs one write, and one bare future
and one timer per wait for more bytes. What is shared with the sync transport (URL
and header checks, framing, redirects, error wording) lives in
:mod:`minicall._http._common`. The pieces:

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
- ``request.timeout`` bounds the connect and each wait for bytes; ``request.deadline``
  shortens every wait (connect and name resolution, TLS, each wait for bytes) to
  the call's limit;
- pools do not cross ``os.fork()``: a child process starts with no pools.

Pool invariants (between any two awaits): a connection is in ``Pool.idle`` or held
by exactly one request, never both; one held by a request counts against the pool's
semaphore, so idle plus held connections never exceed ``max_connections_per_host``
(a connection is opened only after a slot was won and no idle one was left); and an
idle connection has no parser, so bytes that arrive on it mark it closed (see
``Conn.data_received``) instead of being taken for the next reply.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Mapping
from contextlib import suppress

from .._model.errors import APIConnectionError, ConfigurationError, ResponseFormatError
from .._model.http import AsyncHttpResponse, HttpRequest, lower_headers
from ._async_conn import NETWORK_ERRORS, ClosedBeforeReply, Conn, LoopPools, Pool, tunnel
from .._model.clock import Deadline
from ._common import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_DRAIN,
    REDIRECT_STATUSES,
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
from ._tls import check_ca_paths, tls_context
from ._fork import forget_pools_after_fork
from ._h1 import BodyDecoder, Data, End
from ._log import log_request, log_response
from ._proxy import parse_proxy, proxy_for

__all__ = ["AsyncioTransport"]


# What _Body._step returns when the next piece has not arrived yet: empty bytes, which
# no piece is (only non-empty decoded pieces are returned).
_MORE = b""


class _Body:
    """The body of one response, read off its connection as the caller asks.

    Owns the connection and the pool slot until released: the connection returns to
    the pool only when the body was read to its end and the server allows reuse.
    """

    def __init__(
        self,
        pool: Pool,
        conn: Conn,
        decoder: BodyDecoder,
        timeout: float | None,
        deadline: Deadline | None,
        where: str,
    ) -> None:
        self._pool = pool
        self._conn = conn
        self._decoder = decoder
        self._timeout = timeout
        self._deadline = deadline
        self._where = where
        self._released = False

    def _wait(self) -> float | None:
        deadline = self._deadline
        return self._timeout if deadline is None else deadline.wait(self._timeout, self._where)

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        try:
            piece = await self._next_piece()
        except NETWORK_ERRORS as exc:
            raise self._network_failure(exc) from None
        except BaseException:  # oversized bodies, cancellation
            # A cancelled read leaves the reply half-read: the connection cannot be
            # pooled, but the slot must still be given back.
            self._release(reuse=False)
            raise
        if piece is None:
            raise StopAsyncIteration
        return piece

    def read_arrived(self, parts: list[bytes]) -> bool:
        """Append the pieces that have arrived to ``parts``; ``True`` once the body is
        complete (no coroutine: a small body usually arrives with its head)."""
        try:
            while (piece := self._step()) is not None:
                if not piece:
                    return False
                parts.append(piece)
            return True
        except NETWORK_ERRORS as exc:
            raise self._network_failure(exc) from None
        except BaseException:  # oversized bodies
            self._release(reuse=False)
            raise

    async def read_rest(self, parts: list[bytes]) -> None:
        """Append pieces to ``parts`` until the body is complete."""
        conn = self._conn
        try:
            while (piece := self._step()) is not None:
                if not piece:
                    await conn.arm(self._wait())
                else:
                    parts.append(piece)
        except NETWORK_ERRORS as exc:
            raise self._network_failure(exc) from None
        except BaseException:  # oversized bodies, cancellation
            self._release(reuse=False)
            raise

    def _network_failure(self, exc: BaseException) -> APIConnectionError:
        """Release the connection after a network error while reading; the error to raise."""
        self._release(reuse=False)
        return failure(exc, self._where, self._timeout, self._deadline)

    async def aclose(self) -> None:
        self._release(reuse=False)

    async def _next_piece(self) -> bytes | None:
        while (piece := self._step()) is not None and not piece:
            await self._conn.wait(self._wait())
        return piece

    def _step(self) -> bytes | None:
        """The next decoded piece from what has arrived; ``_MORE`` when bytes must be
        awaited first, ``None`` at the end of the body."""
        conn = self._conn
        while not self._released:
            event = conn.pop()
            if event is None:
                return _MORE
            if type(event) is Data:
                out = self._decoder.decode(event.data)
                if out:
                    return out
            elif type(event) is End:
                # Released as soon as the End is seen, before the caller asks for more:
                # the connection is free for the next request while the caller still
                # handles the last piece.
                tail = self._decoder.flush()
                self._release(reuse=conn.reusable())
                return tail or None
        return None

    def _release(self, *, reuse: bool) -> None:
        if self._released:
            return
        self._released = True
        # No parser marks the connection idle: see Conn.data_received. The slot is
        # released in every case, exactly once (``_released`` guards it), or the pool
        # would shrink by one for each lost release.
        if reuse:
            self._conn.parser = None
            self._pool.idle.append(self._conn)
        else:
            self._conn.close()
        self._pool.slots.release()

    def __del__(self) -> None:
        # A stream dropped unread must not hold its slot forever: with every slot held
        # by abandoned streams, the next request to the host would wait for ever.
        if not self._released:
            with suppress(Exception):
                self._release(reuse=False)


class AsyncioTransport:
    """HTTP/1.1 on asyncio, with keep-alive pools, TLS, proxies and redirects.

    - ``verify``/``ca_file``/``ca_dir``: certificate checking (see
      :func:`~minicall._http._tls.tls_context`; ``SSL_CERT_FILE`` and
      ``SSL_CERT_DIR`` are honoured).
    - ``proxy``: an ``http://[user:pass@]host:port`` proxy for every request; else, with
      ``trust_env``, ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` decide per request.
    - ``max_connections_per_host`` bounds requests in flight (and so open connections)
      per origin; ``max_body_bytes`` (or the request's own) bounds each decoded body, streamed or not;
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
        # Keyed by loop: a connection's transport and futures belong to the loop that
        # made them, and using them from another loop fails (or hangs). The dict holds
        # the loops strongly, which is why closed ones are swept out in _new_loop_pools
        # and aclose.
        self._loops: dict[asyncio.AbstractEventLoop, LoopPools] = {}
        # The default transport is shared by threads that each run their own loop.
        self._loops_lock = threading.Lock()
        forget_pools_after_fork(self)

    def reset_after_fork(self) -> None:
        # In the child: the pooled sockets are the parent's too. The pools are
        # forgotten, not closed: their loops are the parent's, and closing a transport
        # unregisters it from that loop's selector, which on Linux is the epoll
        # instance the parent still uses (see _fork). The lock, maybe held by a thread
        # that is gone, is new.
        self._loops = {}
        self._loops_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AsyncioTransport(max_connections_per_host={self._limit})"

    async def send_async(self, request: HttpRequest, *, stream: bool = False) -> AsyncHttpResponse:
        """Send ``request``, following redirects; see :class:`AsyncTransport`."""
        method = check_method(request.method)
        url = parse_url(request.url)
        headers: Mapping[str, str] | HeaderItems = checked_header_items(request.headers)
        body = request.body
        timeout, deadline = request.timeout, request.deadline
        limit = self._max_body if request.max_body_bytes is None else request.max_body_bytes
        for hop in range(self._max_redirects + 1):
            last = hop == self._max_redirects
            response = await self._send_once(method, url, headers, body, timeout, deadline, stream, last, limit)
            if last:
                return response
            location = response.headers.get("location")
            nxt = redirect(response.status, location, method, url, headers, body)
            if nxt is None:
                return response
            # Drained before the next hop so that the connection goes back to the pool
            # and may serve that hop; a large body is dropped with its connection
            # instead.
            await _drain(response)
            method, url, headers, body = nxt.method, nxt.url, nxt.headers, nxt.body
        raise AssertionError("unreachable: the last hop always returns")

    async def aclose(self) -> None:
        """Close every idle connection (of this loop, and of loops already closed)."""
        loop = asyncio.get_running_loop()
        with self._loops_lock:
            gone = [self._loops.pop(k) for k in list(self._loops) if k is loop or k.is_closed()]
        for pools in gone:
            pools.forget()

    # -- one exchange -------------------------------------------------------------

    async def _send_once(
        self,
        method: str,
        url: Url,
        headers: Mapping[str, str] | HeaderItems,
        body: bytes,
        timeout: float | None,
        deadline: Deadline | None,
        stream: bool,
        last: bool,
        limit: int,
    ) -> AsyncHttpResponse:
        proxy = self._proxy
        if proxy is None and self._trust_env:
            proxy = proxy_for(url.scheme, url.host, url.port)
        # Read without the lock: a dict lookup is atomic under the GIL, and the lock is
        # only needed to change the dict.
        pools = self._loops.get(asyncio.get_running_loop()) or await self._new_loop_pools()
        route, pool = pools.for_target(url, proxy, self._limit)
        payload, wire = frame_request(method, url, headers, body, proxy)
        log_request(method, url.text, wire)
        slots = pool.slots
        # The slot is taken before a connection: it is what bounds open connections per
        # host. From here on every path out either hands the slot to a _Body or releases
        # it.
        if deadline is not None and slots.locked():
            # Every slot is taken: waiting for one is part of the call, so its deadline
            # bounds that wait too (wait_for only then: it costs a task per call).
            try:
                await asyncio.wait_for(slots.acquire(), deadline.wait(None, route.where))
            except asyncio.TimeoutError:
                raise deadline.passed(f"a free connection to {route.where}") from None
        else:
            await slots.acquire()
        # Written out in one coroutine (send, wait for the head, read a body that has
        # arrived): each coroutine layer is resumed again whenever bytes arrive.
        try:
            fresh = False
            while True:
                conn = None if fresh else pool.take_idle()
                if conn is None:
                    conn = await self._connect(route, timeout, deadline)
                try:
                    conn.begin(method, payload)
                    while (head := conn.take_head()) is None:
                        await conn.arm(timeout if deadline is None else deadline.wait(timeout, route.where))
                    break
                except ClosedBeforeReply:
                    conn.close()
                    if not conn.reused:
                        raise APIConnectionError(
                            f"server closed the connection without a response ({route.where})"
                        ) from None
                    # A keep-alive connection the server dropped while idle: the request
                    # was almost surely not acted on (see _STALE in _sync), so one
                    # resend, on a new connection and never another idle one; a new
                    # connection that fails the same way is a real error.
                    fresh = True
                except NETWORK_ERRORS as exc:
                    conn.close()
                    raise failure(exc, route.where, timeout, deadline) from None
                except BaseException:
                    # Cancellation (or any other surprise) mid-exchange: the reply may
                    # still come, so the connection is dropped rather than left for the
                    # next request to read as its own.
                    conn.close()
                    raise
        except BaseException:
            slots.release()
            raise
        folded = lower_headers(head.headers)
        log_response(method, url.text, head.status, folded)
        redirected = not last and head.status in REDIRECT_STATUSES
        if not redirected and declared_too_big(folded, limit):
            # Refuse before waiting for a body we would refuse anyway, streamed or not.
            conn.close()
            slots.release()
            raise ResponseFormatError("http", "", f"response body larger than {limit} bytes")
        decoder = BodyDecoder(folded.get("content-encoding", ""), limit)
        reader = _Body(pool, conn, decoder, timeout, deadline, route.where)
        if stream or redirected:  # a redirect's body is drained by the caller, or dropped
            return AsyncHttpResponse(
                head.status, folded, chunks=reader, close=reader.aclose, reason=head.reason
            )
        # A small body usually came in the same read as the head: read_arrived takes it
        # without another await, and only a body still arriving costs the coroutine
        # round trips.
        parts: list[bytes] = []
        if not reader.read_arrived(parts):
            await reader.read_rest(parts)
        return AsyncHttpResponse(head.status, folded, b"".join(parts), reason=head.reason)

    async def _connect(self, route: Route, timeout: float | None, deadline: Deadline | None) -> Conn:
        loop = asyncio.get_running_loop()
        context = self._tls() if route.scheme == "https" else None
        proxy, where = route.proxy, route.where

        def wait() -> float | None:
            return timeout if deadline is None else deadline.wait(timeout, where)

        try:
            if proxy is None:
                # create_connection resolves the name in the loop's executor: the
                # wait bounds resolution too.
                limit = wait()
                opening = loop.create_connection(
                    Conn, route.host, route.port, ssl=context,
                    server_hostname=route.host if context else None,
                )
                return (await asyncio.wait_for(opening, limit))[1]
            limit = wait()
            # Through a proxy: TCP to the proxy first; for https, tunnel() sends CONNECT
            # and starts TLS inside the tunnel with the origin's name, so the proxy
            # never sees the request or its key.
            conn = (await asyncio.wait_for(loop.create_connection(Conn, proxy.host, proxy.port), limit))[1]
            if context is None:
                return conn  # plain http: absolute-form requests to the proxy
            try:
                await tunnel(conn, route, context, wait)
            except BaseException:
                conn.close()
                raise
            return conn
        except NETWORK_ERRORS as exc:
            raise failure(exc, where, timeout, deadline) from None

    def _tls(self) -> ssl.SSLContext:
        # Built once, under the lock: threads with loops of their own share a transport.
        if self._ssl is None:
            with self._loops_lock:
                if self._ssl is None:
                    self._ssl = tls_context(self._verify, self._ca_file, self._ca_dir)
        return self._ssl

    async def _new_loop_pools(self) -> LoopPools:
        loop = asyncio.get_running_loop()
        pools = LoopPools()
        with self._loops_lock:
            stale = [self._loops.pop(k) for k in list(self._loops) if k.is_closed()]
            self._loops[loop] = pools
        # Loops closed without asyncio.run() never finalised their watcher: their idle
        # connections are closed here, by the next loop to arrive.
        for old in stale:
            old.forget()
        await pools.watch()
        return pools


async def _drain(response: AsyncHttpResponse) -> None:
    """Finish a redirect's response: up to ``MAX_DRAIN`` bytes are read, so the
    connection can serve the next hop; a longer body is dropped with its connection."""
    read = 0
    try:
        async for piece in response.aiter_bytes():
            read += len(piece)
            if read > MAX_DRAIN:
                break
    except (APIConnectionError, ResponseFormatError):
        pass
    await response.aclose()

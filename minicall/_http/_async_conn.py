"""One asyncio HTTP/1.1 connection (:class:`Conn`), the pools that keep them, and tunnels.

A :class:`Conn` is an ``asyncio.Protocol``: each received piece goes straight from
``data_received`` into the reply's sans-IO parser (``_h1``), and the one coroutine
that owns the connection waits on a bare future with one timer per wait. No streams
and no task per read (``asyncio.wait_for`` creates one each time), which is where
the asyncio transport's time used to go.

How it works: the protocol callbacks (``data_received``, ``eof_received``,
``connection_lost``) run on the loop and never block or raise; they parse, queue
events or record an error, then wake the owner. The owner (the request holding the
connection) pops events with :meth:`Conn.pop`, which raises a recorded error only
after every event that came before it, so a body that arrived whole is not lost to
the reset that followed it. A connection's life: ``begin`` gives it a parser for one
request; the reply's ``End`` makes it reusable (if the server allows); back in the
pool its parser is ``None``, which is how an idle connection is told from a busy one.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncGenerator, Callable
from contextlib import suppress

from .._model.errors import APIConnectionError
from ._common import READ_SIZE, Route, Url, tunnel_refusal, tunnel_request
from ._h1 import Data, Event, Head, ResponseParser
from ._proxy import Proxy

__all__ = ["NETWORK_ERRORS", "ClosedBeforeReply", "Conn", "LoopPools", "Pool", "tunnel"]

# Raw body bytes queued but not yet taken by the owner, above which the socket stops
# being read. Without it a slow stream consumer would let a fast server fill memory,
# since data_received takes whatever the kernel has.
_HIGH_WATER = 4 * READ_SIZE
NETWORK_ERRORS = (OSError, EOFError, APIConnectionError, asyncio.TimeoutError)


class ClosedBeforeReply(Exception):
    """The server closed or reset the connection before sending one byte of a reply."""


class Conn(asyncio.Protocol):
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
        # One timer per connection, not one per wait: it is moved on only when it
        # fires before the current wait's deadline (see _check_deadline).
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None

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
            # Bytes on an idle connection answer no request of ours; whatever follows
            # them cannot be trusted to line up with the next reply.
            self.closed = True  # bytes nobody asked for: this connection is done
            return
        try:
            events = parser.feed(data)
        except APIConnectionError as exc:
            # Kept, not raised: an exception here would be logged by the transport as
            # a fatal error and never reach the request. The owner gets it from pop().
            self.error = exc
        else:
            for event in events:
                if isinstance(event, Data):
                    self._buffered += len(event.data)
            self.events.extend(events)
            # Resumed by pop() once the owner has taken the queue below the mark.
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
        self._stop_timer()
        # Closed by us (close() aborts, then connection_lost follows): the owner already
        # knows, and a late exc must not replace the error it is handling.
        if self.closed:
            self._wake()
            return
        self.closed = True
        parser = self.parser
        if parser is not None and self.error is None and not parser.done:
            # Closed or reset before one byte of the reply: on a reused connection, the
            # server's idle timeout raced our request, and the owner may resend it once.
            if not parser.received_any and isinstance(exc, (type(None), ConnectionError)):
                self.error = ClosedBeforeReply()
            elif exc is not None:
                self.error = exc
            else:
                # A clean EOF: a read-until-close body ends here, anything else was cut
                # short (parser.close() raises).
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
        # A fresh parser and queue per request: the previous reply was read to its End
        # (or the connection would not be in the pool), so nothing queued is this one's.
        self.parser = ResponseParser(method)
        self.events.clear()
        self._buffered = 0
        if self.transport is None or self.transport.is_closing():
            raise ClosedBeforeReply
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
        # Only when the queue is empty: events that arrived before an error are still
        # good and are handed out first.
        if self.error is not None:
            raise self.error
        if self.closed:
            raise APIConnectionError("connection closed before the body was complete")
        return None

    def arm(self, timeout: float | None) -> asyncio.Future[None]:
        """A future done when something arrives (bytes, end or error), failing with
        ``TimeoutError`` after ``timeout`` s: the owner awaits it directly."""
        waiter = self._waiter = self._loop.create_future()
        if timeout is not None:
            self._deadline = deadline = self._loop.time() + timeout
            # Waits come in quick succession (one per read), nearly always with a
            # later deadline than the last one. Keeping the pending timer and letting
            # _check_deadline push it on saves a cancel and a new TimerHandle per
            # wait. Invariant: a pending timer fires no later than the current wait's
            # deadline.
            timer = self._timer
            if timer is None or timer.when() > deadline:
                # No timer, or one set for a later deadline (an earlier, longer wait).
                if timer is not None:
                    timer.cancel()
                self._timer = self._loop.call_at(deadline, self._check_deadline)
        else:
            self._deadline = 0.0
        return waiter

    async def wait(self, timeout: float | None) -> None:
        """Until something arrives (bytes, end or error); ``TimeoutError`` after ``timeout`` s."""
        await self.arm(timeout)

    def _check_deadline(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done() or not self._deadline:
            return  # nobody waits with a deadline now: the next wait sets a new timer
        # The loop may run a timer up to its clock resolution early, and the deadline
        # may have moved on since the timer was set: compare with the current deadline,
        # and re-arm for it if it has not come yet.
        if self._loop.time() >= self._deadline:
            waiter.set_exception(TimeoutError())
        else:
            self._timer = self._loop.call_at(self._deadline, self._check_deadline)

    def _stop_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def take_head(self) -> Head | None:
        """The reply's head if it has arrived (body events stay queued), else ``None``."""
        while (event := self.pop()) is not None:
            if type(event) is Head:
                return event
        return None

    def usable(self) -> bool:
        # is_closing() is checked too: the transport may be closing for a reason the
        # protocol was not told of yet (connection_lost runs on a later loop step).
        transport = self.transport
        return not (self.closed or self.error or transport is None or transport.is_closing())

    def reusable(self) -> bool:
        parser = self.parser
        return parser is not None and parser.keep_alive and not parser.unused and self.usable()

    def close(self) -> None:
        # abort, not close: a half-read response must not be flushed or waited for.
        # close() would first write out pending data and, over TLS, run the
        # close_notify exchange with a peer we have stopped trusting to answer.
        self.closed = True
        self._stop_timer()
        if self.transport is not None:
            with suppress(RuntimeError):  # the loop is already closed
                self.transport.abort()


class Pool:
    """Idle connections to one route, and the slots bounding requests to it."""

    def __init__(self, limit: int) -> None:
        self.idle: list[Conn] = []
        self.slots = asyncio.Semaphore(limit)

    def take_idle(self) -> Conn | None:
        # Last in, first out: the warmest connection is the least likely to have hit the
        # server's idle timeout. Dead ones found on the way are closed, not kept.
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


class LoopPools:
    """Every pool of one event loop."""

    def __init__(self) -> None:
        self.pools: dict[Route, Pool] = {}
        # By URL text and proxy: a str key hashes once, a Route key on every lookup.
        self._targets: dict[tuple[str, Proxy | None], tuple[Route, Pool]] = {}
        self._watch: AsyncGenerator[None, None] | None = None

    def for_target(self, url: Url, proxy: Proxy | None, limit: int) -> tuple[Route, Pool]:
        """The route to ``url`` (through ``proxy``) and its pool, made on first use."""
        found = self._targets.get((url.text, proxy))
        if found is None:
            route = Route(url.scheme, url.host, url.port, proxy)
            pool = self.pools.get(route)
            if pool is None:
                pool = self.pools[route] = Pool(limit)
            found = (route, pool)
            # Not for URLs with userinfo or a query: they may hold a credential (as in
            # parse_url), and the default transport lives as long as the process.
            if "@" not in url.text and "?" not in url.text:
                if len(self._targets) >= 1024:
                    self._targets.clear()  # many distinct URLs: a cache, not a registry
                self._targets[(url.text, proxy)] = found
        return found

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
            step = watch.aclose().__await__()  # a generator for every typeshed's aclose()
            with suppress(StopIteration):
                step.send(None)


async def _closed_at_loop_shutdown(pools: LoopPools) -> AsyncGenerator[None, None]:
    # asyncio has no "loop is closing" callback, but asyncio.run() finalizes every live
    # async generator (loop.shutdown_asyncgens) while the loop still runs: this one
    # stays suspended for the loop's life and closes the pools when finalized.
    try:
        yield
    finally:
        pools.close_all()


async def tunnel(
    conn: Conn, route: Route, context: ssl.SSLContext, wait: Callable[[], float | None]
) -> None:
    """Open a CONNECT tunnel through the route's proxy and start TLS inside it;
    ``wait()`` is how long the next wait may last."""
    try:
        conn.begin("CONNECT", tunnel_request(route))
        while (head := conn.take_head()) is None:
            await conn.arm(wait())
    except ClosedBeforeReply:
        raise APIConnectionError("proxy closed the connection before answering CONNECT") from None
    refusal = tunnel_refusal(head.status, conn.parser.unused if conn.parser else b"")
    if refusal is not None:
        raise refusal
    # The tunnel's bytes belong to TLS from here on: start_tls swaps in an SSL protocol
    # between the socket and this Conn, which then sees only decrypted data.
    conn.parser = None
    conn.events.clear()
    assert conn.transport is not None
    loop = asyncio.get_running_loop()
    starting = loop.start_tls(conn.transport, conn, context, server_hostname=route.host)
    # The handshake is bounded as one wait, like the connect before it: a proxy or
    # origin that stalls mid-handshake cannot outlast the deadline.
    tls = await asyncio.wait_for(starting, wait())
    if tls is None:
        raise APIConnectionError("TLS could not start inside the proxy tunnel")
    conn.transport = tls

"""The asyncio HTTP/1.1 transport: asyncio streams plus the sans-IO reader of ``_h1``.

No threads: every byte moves on the running event loop. The pieces:

- a keep-alive pool per ``(scheme, host, port, proxy)``, idle connections reused last-in
  first-out (the warmest socket is least likely to have been dropped by the server);
- a semaphore per pool bounding requests in flight, hence open connections, since a new
  connection is only opened when no idle one is left;
- pools belong to one event loop (asyncio objects cannot cross loops), so a transport
  used under many ``asyncio.run()`` calls keeps one set of pools per loop and closes a
  loop's connections when that loop shuts down (see :func:`_closed_at_loop_shutdown`);
- whoever holds a connection owns it until the response is fully read: a body read to
  its end puts the connection back, anything else (error, timeout, cancellation, early
  ``aclose``) closes it, and the semaphore slot is always released.
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
from collections import deque
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urljoin, urlsplit

from .._errors import (
    SECRET_HEADERS,
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    ResponseFormatError,
)
from ._h1 import BodyDecoder, Data, End, Event, Head, ResponseParser
from ._proxy import Proxy, parse_proxy, proxy_for
from ._types import AsyncHttpResponse, HttpRequest, lower_headers

__all__ = ["AsyncioTransport"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_READ_SIZE = 64 * 1024
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")
_BAD_VALUE_CHARS = re.compile(r"[\r\n\x00]")
# Framing is ours to decide; a caller's value for these would desynchronise the stream.
_OWN_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_BODY_HEADERS = ("content-length", "content-type", "content-encoding", "transfer-encoding")
_DEFAULT_HEADERS = (("User-Agent", "minicall/0.1"), ("Accept-Encoding", "gzip, deflate"))

_PoolKey = tuple[str, str, int, "Proxy | None"]


class _ClosedBeforeReply(Exception):
    """The server closed or reset the connection before sending one byte of a reply."""


class _Conn:
    __slots__ = ("_carrier", "reader", "reused", "writer")

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        carrier: asyncio.StreamWriter | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.reused = False
        # A TLS-in-tunnel connection keeps the proxy connection's writer alive: on
        # 3.11+ a collected StreamWriter closes its transport, which carries our TLS.
        self._carrier = carrier

    def usable(self) -> bool:
        reader = self.reader
        return not (self.writer.is_closing() or reader.at_eof() or reader.exception())

    def close(self) -> None:
        # abort, not close: a half-read response must not be flushed or waited for.
        with suppress(RuntimeError):  # the loop is already closed
            self.writer.transport.abort()


class _Pool:
    """Idle connections to one origin, and the slots bounding requests to it."""

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
        self.pools: dict[_PoolKey, _Pool] = {}
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
        self,
        pool: _Pool,
        conn: _Conn,
        parser: ResponseParser,
        events: list[Event],
        decoder: BodyDecoder,
        timeout: float | None,
        where: str,
    ) -> None:
        self._pool = pool
        self._conn = conn
        self._parser = parser
        self._events: deque[Event] = deque(events)
        self._decoder = decoder
        self._timeout = timeout
        self._where = where
        self._released = False

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        try:
            piece = await self._next_piece()
        except BaseException:  # errors, timeouts and cancellation alike
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
        while not self._released:
            while self._events:
                event = self._events.popleft()
                if isinstance(event, Data):
                    out = self._decoder.decode(event.data)
                    if out:
                        return out
                elif isinstance(event, End):
                    tail = self._decoder.flush()
                    parser = self._parser
                    self._release(reuse=parser.keep_alive and not parser.unused)
                    return tail or None
            with _mapped_errors(self._where, self._timeout):
                data = await asyncio.wait_for(self._conn.reader.read(_READ_SIZE), self._timeout)
                self._events.extend(self._parser.feed(data) if data else self._parser.close())
        return None

    def _release(self, *, reuse: bool) -> None:
        if self._released:
            return
        self._released = True
        if reuse:
            self._pool.idle.append(self._conn)
        else:
            self._conn.close()
        self._pool.slots.release()

    def __del__(self) -> None:
        # A stream dropped unread must not hold its slot forever.
        if not self._released:
            with suppress(Exception):
                self._release(reuse=False)


@contextmanager
def _mapped_errors(where: str, timeout: float | None) -> Iterator[None]:
    """Turn I/O failures into the transport's two errors, naming host:port only."""
    try:
        yield
    except APITimeoutError:
        raise
    except APIConnectionError as exc:
        raise APIConnectionError(f"{where}: {exc.message}") from None
    except (asyncio.TimeoutError, TimeoutError):
        raise APITimeoutError(f"{where}: no reply within {timeout} s") from None
    except (OSError, EOFError) as exc:
        raise APIConnectionError(f"{where}: {exc or type(exc).__name__}") from None


def _check_request(request: HttpRequest) -> None:
    """Refuse what would corrupt the request on the wire, before any I/O."""
    parts = urlsplit(request.url)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise ConfigurationError(f"URL scheme {parts.scheme!r} is not supported (http or https)")
    try:
        _ = parts.port  # parsing happens on access
    except ValueError:
        raise ConfigurationError("URL has an invalid port") from None
    if not parts.hostname:
        raise ConfigurationError("URL has no host")
    if _BAD_URL_CHARS.search(request.url):
        raise ConfigurationError("URL contains whitespace or control characters")
    if not _TOKEN.fullmatch(request.method):
        raise ConfigurationError(f"invalid HTTP method {request.method[:20]!r}")
    for name, value in request.headers.items():
        if not _TOKEN.fullmatch(name):
            raise ConfigurationError(f"invalid header name {name[:40]!r}")
        if _BAD_VALUE_CHARS.search(value):
            # The value may be a credential: name the header, never show the value.
            raise ConfigurationError(f"header {name!r} contains CR, LF or NUL")


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def _encode_request(request: HttpRequest, absolute: bool, proxy: Proxy | None) -> bytes:
    parts = urlsplit(request.url)
    scheme, host, port = _origin(request.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if absolute:
        target = f"{scheme}://{parts.netloc.rpartition('@')[2]}{target}"
    authority = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[scheme]:
        authority = f"{authority}:{port}"
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _OWN_HEADERS}
    present = {k.lower() for k in headers}
    lines = [f"{request.method} {target} HTTP/1.1"]
    if "host" not in present:
        lines.append(f"Host: {authority}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"{n}: {v}" for n, v in _DEFAULT_HEADERS if n.lower() not in present]
    if request.body or request.method.upper() in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(request.body)}")
    if absolute and proxy is not None and proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body


def _redirected(request: HttpRequest, status: int, location: str) -> HttpRequest:
    """The request to send after a redirect (RFC 9110 15.4, as browsers do it)."""
    url = urljoin(request.url, location.strip()).partition("#")[0]
    if urlsplit(url).scheme.lower() not in _DEFAULT_PORTS:
        raise APIConnectionError(f"redirected to an unsupported URL scheme: {url[:20]!r}")
    method, body, headers = request.method, request.body, dict(request.headers)
    # 303 always, and 301/302 after POST (what every browser and SDK does), become GET.
    if (status == 303 and method.upper() != "HEAD") or (
        status in (301, 302) and method.upper() == "POST"
    ):
        method, body = "GET", b""
        headers = {k: v for k, v in headers.items() if k.lower() not in _BODY_HEADERS}
    if _origin(url) != _origin(request.url):
        headers = {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
    return HttpRequest(method, url, headers, body, request.timeout)


class AsyncioTransport:
    """HTTP/1.1 over asyncio streams, with keep-alive pools, TLS, proxies and redirects.

    - ``verify``/``ca_file``/``ca_dir``: certificate checking; ``SSL_CERT_FILE`` and
      ``SSL_CERT_DIR`` are honoured too.
    - ``proxy``: an ``http://[user:pass@]host:port`` proxy for every request; else, with
      ``trust_env``, ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` decide per request.
    - ``max_connections_per_host`` bounds requests in flight (and so open connections)
      per origin; ``max_body_bytes`` bounds each decoded body, streamed or not;
      ``max_redirects`` redirects are followed, after which the redirect itself is
      returned.

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
        max_body_bytes: int = 64 * 1024 * 1024,
        max_redirects: int = 5,
    ) -> None:
        if max_connections_per_host < 1:
            raise ConfigurationError("max_connections_per_host must be at least 1")
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
        _check_request(request)
        response = await self._send_once(request, stream)
        for _ in range(self._max_redirects):
            location = response.headers.get("location")
            if response.status not in _REDIRECT_STATUSES or location is None:
                break
            await response.read()  # drain, so the connection can serve the next hop
            request = _redirected(request, response.status, location)
            _check_request(request)
            response = await self._send_once(request, stream)
        return response

    async def aclose(self) -> None:
        """Close every idle connection (of this loop, and of loops already closed)."""
        loop = asyncio.get_running_loop()
        for key in [k for k in self._loops if k is loop or k.is_closed()]:
            self._loops.pop(key).forget()

    # -- one exchange -------------------------------------------------------------

    async def _send_once(self, request: HttpRequest, stream: bool) -> AsyncHttpResponse:
        scheme, host, port = _origin(request.url)
        proxy = self._proxy if self._proxy is not None else self._env_proxy(scheme, host, port)
        where = f"{host}:{port}" + (f" via proxy {proxy.address}" if proxy else "")
        pools = await self._loop_pools()
        pool = pools.pools.setdefault((scheme, host, port, proxy), _Pool(self._limit))
        payload = _encode_request(request, proxy is not None and scheme == "http", proxy)
        await pool.slots.acquire()
        try:
            conn, parser, events = await self._exchange_head(
                pool, request, payload, proxy, where
            )
        except BaseException:
            pool.slots.release()
            raise
        head = events[0]
        assert isinstance(head, Head)
        folded = lower_headers(head.headers)
        declared = folded.get("content-length", "")
        too_big = declared.isdigit() and int(declared) > self._max_body
        if not stream and too_big and not folded.get("content-encoding"):
            # Refuse before waiting for a body we would refuse anyway (the sync twin does too).
            conn.close()
            pool.slots.release()
            raise ResponseFormatError("http", "", f"response body larger than {self._max_body} bytes")
        decoder = BodyDecoder(folded.get("content-encoding", ""), self._max_body)
        body = _Body(pool, conn, parser, events[1:], decoder, request.timeout, where)
        if stream:
            return AsyncHttpResponse(
                head.status, folded, chunks=body, close=body.aclose, reason=head.reason
            )
        return AsyncHttpResponse(head.status, folded, await body.read_all(), reason=head.reason)

    async def _exchange_head(
        self,
        pool: _Pool,
        request: HttpRequest,
        payload: bytes,
        proxy: Proxy | None,
        where: str,
    ) -> tuple[_Conn, ResponseParser, list[Event]]:
        """Send the request and read the reply's head, retrying a stale idle connection once."""
        fresh = False
        while True:
            idle = None if fresh else pool.take_idle()
            conn = idle or await self._connect(request, proxy, where)
            parser = ResponseParser(request.method)
            try:
                with _mapped_errors(where, request.timeout):
                    events = await _write_and_read_head(conn, parser, payload, request.timeout)
                return conn, parser, events
            except _ClosedBeforeReply:
                conn.close()
                if not conn.reused:
                    raise APIConnectionError(
                        f"{where}: server closed the connection without replying"
                    ) from None
                # A keep-alive connection the server dropped while idle: the request
                # never reached it, so one retry on a new connection is safe.
                fresh = True
            except BaseException:
                conn.close()
                raise

    async def _connect(self, request: HttpRequest, proxy: Proxy | None, where: str) -> _Conn:
        scheme, host, port = _origin(request.url)
        context = self._ssl_context() if scheme == "https" else None
        timeout = request.timeout
        with _mapped_errors(where, timeout):
            if proxy is None:
                opening = asyncio.open_connection(
                    host, port, ssl=context, server_hostname=host if context else None
                )
                return _Conn(*await asyncio.wait_for(opening, timeout))
            opening = asyncio.open_connection(proxy.host, proxy.port)
            conn = _Conn(*await asyncio.wait_for(opening, timeout))
            if context is None:
                return conn  # plain http: absolute-form requests to the proxy
            try:
                tunnelling = _tunnel(conn, host, port, proxy, context)
                return await asyncio.wait_for(tunnelling, timeout)
            except BaseException:
                conn.close()
                raise

    def _env_proxy(self, scheme: str, host: str, port: int) -> Proxy | None:
        return proxy_for(scheme, host, port) if self._trust_env else None

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = ssl.create_default_context(cafile=self._ca_file, capath=self._ca_dir)
            # create_default_context skips the default paths when given a CA; the
            # variables still name trusted roots, so load them explicitly.
            env_file, env_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
            if env_file or env_dir:
                context.load_verify_locations(cafile=env_file or None, capath=env_dir or None)
            if not self._verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._ssl = context
        return self._ssl

    async def _loop_pools(self) -> _LoopPools:
        loop = asyncio.get_running_loop()
        pools = self._loops.get(loop)
        if pools is None:
            for stale in [k for k in self._loops if k.is_closed()]:
                self._loops.pop(stale).forget()
            pools = self._loops[loop] = _LoopPools()
            await pools.watch()
        return pools


async def _write_and_read_head(
    conn: _Conn, parser: ResponseParser, payload: bytes, timeout: float | None
) -> list[Event]:
    events: list[Event] = []
    try:
        conn.writer.write(payload)
        await asyncio.wait_for(conn.writer.drain(), timeout)
        while parser.head is None:
            data = await asyncio.wait_for(conn.reader.read(_READ_SIZE), timeout)
            if not data and not parser.received_any:
                raise _ClosedBeforeReply
            events.extend(parser.feed(data) if data else parser.close())
    except (ConnectionResetError, BrokenPipeError):
        if parser.received_any:
            raise
        raise _ClosedBeforeReply from None
    return events


async def _tunnel(
    conn: _Conn, host: str, port: int, proxy: Proxy, context: ssl.SSLContext
) -> _Conn:
    """Open a CONNECT tunnel through ``proxy`` and start TLS to ``host`` inside it."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    conn.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await conn.writer.drain()
    parser = ResponseParser("CONNECT")
    while parser.head is None:
        data = await conn.reader.read(_READ_SIZE)
        if not data:
            raise APIConnectionError("proxy closed the connection before answering CONNECT")
        parser.feed(data)
    if not 200 <= parser.head.status < 300:
        raise APIConnectionError(f"proxy refused the tunnel with HTTP {parser.head.status}")
    if parser.unused:
        raise APIConnectionError("proxy sent bytes before the TLS handshake")
    # StreamWriter.start_tls is 3.11+; on 3.10 the TLS transport gets fresh stream
    # objects, built from public API only.
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    tls = await loop.start_tls(conn.writer.transport, protocol, context, server_hostname=host)
    if tls is None:
        raise APIConnectionError("TLS could not start inside the proxy tunnel")
    protocol.connection_made(tls)
    return _Conn(reader, asyncio.StreamWriter(tls, protocol, reader, loop), conn.writer)

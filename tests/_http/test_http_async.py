"""The asyncio transport against real loopback servers started by each test: what only it
has (cancellation, event loops, pool bounds). What both transports do alike is in
test_http_contract.py."""

from __future__ import annotations

import asyncio
import http.server
import ssl
import threading
from dataclasses import dataclass, field

import pytest

from minicall._http._async import AsyncioTransport
from minicall._model.http import HttpRequest


@pytest.fixture(autouse=True)
def no_env_proxies(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


_OPEN_SERVERS: list[asyncio.AbstractServer] = []


def run(coro):
    """``asyncio.run``, closing the servers the coroutine started before the loop ends."""

    async def scoped():
        try:
            return await coro
        finally:
            while _OPEN_SERVERS:
                _OPEN_SERVERS.pop().close()

    return asyncio.run(scoped())


@dataclass
class Req:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def reply(body: bytes = b"ok", status: int = 200, headers: dict[str, str] | None = None) -> bytes:
    fields = {"Content-Length": str(len(body)), **(headers or {})}
    head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return head.encode() + b"\r\n" + body


@dataclass
class Loopback:
    """An asyncio HTTP/1.1 server: ``handle(req, writer)`` answers each request."""

    handle: object
    accepted: int = 0
    requests: list[Req] = field(default_factory=list)
    port: int = 0

    async def start(self) -> Loopback:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self.server.sockets[0].getsockname()[1]
        _OPEN_SERVERS.append(self.server)
        return self

    ssl: ssl.SSLContext | None = None

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.ssl else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _client(self, reader, writer):
        self.accepted += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                first, *lines = head.decode("latin-1").split("\r\n")[:-2]
                method, target, _ = first.split(" ")
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                req = Req(method, target, headers, body)
                self.requests.append(req)
                if await self.handle(req, writer) == "close":
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the test's loop is shutting down
        finally:
            writer.close()


def answer(body: bytes = b"ok", **kw):
    async def handle(req, writer):
        writer.write(reply(body, **kw))

    return handle


def body(response) -> bytes:
    """A non-streamed response's body: already in memory, so reading it does no I/O."""
    return asyncio.run(response.read())


async def fetch(transport: AsyncioTransport, request: HttpRequest) -> bytes:
    return await (await transport.send_async(request)).read()


async def serve(handle, **kw) -> Loopback:
    return await Loopback(handle, **kw).start()


def get(url: str, **kw) -> HttpRequest:
    return HttpRequest(kw.pop("method", "GET"), url, timeout=kw.pop("timeout", 5.0), **kw)


async def cancel_then_send(task, started, transport, server):
    """Cancel ``task`` once ``started`` is set, then send a request that must succeed."""
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return await asyncio.wait_for(transport.send_async(get(server.url("/ok"))), 5)


def test_cancellation_mid_request_frees_the_slot_and_closes_the_connection():
    async def main():
        arrived, never = asyncio.Event(), asyncio.Event()

        async def handle(req, writer):
            if req.target == "/hang":
                arrived.set()
                await never.wait()
            writer.write(reply(b"after"))

        server = await serve(handle)
        transport = AsyncioTransport(max_connections_per_host=1)
        task = asyncio.create_task(transport.send_async(get(server.url("/hang"))))
        return server, await cancel_then_send(task, arrived, transport, server)

    server, after = run(main())
    assert body(after) == b"after"
    assert server.accepted == 2  # the half-used connection was not pooled


def test_cancellation_mid_stream_frees_the_slot_and_closes_the_connection():
    async def main():
        never = asyncio.Event()

        async def handle(req, writer):
            if req.target == "/stream":
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n")
                await writer.drain()
                await never.wait()
            writer.write(reply(b"after"))

        server = await serve(handle)
        transport = AsyncioTransport(max_connections_per_host=1)
        got_first = asyncio.Event()

        async def consume():
            response = await transport.send_async(get(server.url("/stream")), stream=True)
            async for _ in response.aiter_bytes():
                got_first.set()

        task = asyncio.create_task(consume())
        return server, await cancel_then_send(task, got_first, transport, server)

    server, after = run(main())
    assert body(after) == b"after" and server.accepted == 2


def test_five_hundred_concurrent_requests_each_get_their_own_reply():
    async def main():
        inflight, peak = 0, 0

        async def handle(req, writer):
            nonlocal inflight, peak
            inflight += 1
            peak = max(peak, inflight)
            await asyncio.sleep(0)
            inflight -= 1
            writer.write(reply(req.target.encode()))

        server = await serve(handle)
        transport = AsyncioTransport()
        urls = [server.url(f"/id/{i}") for i in range(500)]
        responses = await asyncio.gather(*(transport.send_async(get(u)) for u in urls))
        return server, [await r.read() for r in responses], peak

    server, bodies, peak = run(main())
    assert bodies == [f"/id/{i}".encode() for i in range(500)]
    assert server.accepted <= 100 and peak <= 100


def test_pool_bound_limits_connections_and_requests_in_flight():
    async def main():
        inflight, peak = 0, 0

        async def handle(req, writer):
            nonlocal inflight, peak
            inflight += 1
            peak = max(peak, inflight)
            for _ in range(3):
                await asyncio.sleep(0)
            inflight -= 1
            writer.write(reply())

        server = await serve(handle)
        transport = AsyncioTransport(max_connections_per_host=3)
        await asyncio.gather(*(transport.send_async(get(server.url())) for _ in range(40)))
        return server, peak

    server, peak = run(main())
    assert 1 <= server.accepted <= 3 and peak <= 3
    assert len(server.requests) == 40


def test_one_transport_serves_many_event_loops():
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"hi")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    transport = AsyncioTransport()

    async def twice():
        return [await fetch(transport, get(url)) for _ in range(2)]

    try:
        first, second = run(twice()), run(twice())
    finally:
        server.shutdown()
        server.server_close()
    assert first == second == [b"hi", b"hi"]
    # Each loop's idle connection was closed when that loop shut down.
    for pools in transport._loops.values():
        assert all(c.writer.is_closing() for p in pools.pools.values() for c in p.idle)


def test_aclose_closes_idle_connections():
    async def main():
        closed = asyncio.Event()

        async def handle(req, writer):
            writer.write(reply())

        server = await serve(handle)
        original = server._client

        async def watched(reader, writer):
            await original(reader, writer)
            closed.set()

        server.server.close()
        server.server = await asyncio.start_server(watched, "127.0.0.1", 0)
        _OPEN_SERVERS.append(server.server)
        server.port = server.server.sockets[0].getsockname()[1]
        transport = AsyncioTransport()
        await transport.send_async(get(server.url()))
        assert not closed.is_set()
        await transport.aclose()
        await asyncio.wait_for(closed.wait(), 5)
        return closed.is_set()

    assert run(main())


def test_the_wait_for_a_free_connection_is_bounded_by_the_deadline():
    # One connection per host, held by a slow request: the next request waits for it,
    # and that wait is part of its call, so its deadline ends it (naming the deadline),
    # while the slow one still gets its answer.
    from minicall._model.clock import Deadline
    from minicall._model.errors import APITimeoutError

    async def main():
        async def handle(req, writer):
            if req.target == "/slow":
                await asyncio.sleep(1.5)
            writer.write(reply())

        server = await serve(handle)
        transport = AsyncioTransport(max_connections_per_host=1)
        slow = asyncio.ensure_future(fetch(transport, get(server.url("/slow"))))
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(APITimeoutError) as info:
            await fetch(transport, get(server.url("/fast"), deadline=Deadline(0.3)))
        waited = loop.time() - started
        return info.value, waited, await slow

    error, waited, slow_body = run(main())
    assert error.limit == "deadline" and "free connection" in error.message
    assert 0.25 <= waited < 1.0
    assert slow_body == b"ok"

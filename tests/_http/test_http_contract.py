"""One contract, two transports (STYLE.md principle 16).

Every test here runs against :class:`SyncTransport` and :class:`AsyncioTransport`
alike, through one small driver, over real loopback sockets served by threads:
framing, keep-alive, streams, failures, caps, redirects, logging, deadlines, TLS,
proxies (hostile ones too) and fork. What one
transport does, the other does the same way.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import os
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from loopback import WAIT, Handler, Request, Server, dead_port, keep_alive, read_request, response

import minicall
from minicall import llm
from minicall._http._async import AsyncioTransport
from minicall._model.clock import Deadline
from minicall._http._h1 import MAX_INTERIM
from minicall._http._sync import SyncTransport
from minicall._model.http import HttpRequest
from minicall._model.errors import APIConnectionError, APITimeoutError, ConfigurationError, ResponseFormatError
from minicall.providers.openai import OpenAIClient

@pytest.fixture(autouse=True)
def _no_env_proxy(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


# -- loopback servers (tests/loopback.py) -------------------------------------------------


ConnHandler = Callable[[socket.socket, Server], None]


def after_request(then: ConnHandler) -> Handler:
    """Read one request, then hand the socket to ``then``."""

    def handler(sock: socket.socket, server: Server, index: int) -> None:
        seen = read_request(sock.makefile("rb"))
        assert seen is not None
        server.requests.append(seen)
        then(sock, server)

    return handler


def raw(then: ConnHandler) -> Handler:
    """Hand the socket to ``then`` at once (it reads what it wants)."""
    return lambda sock, server, index: then(sock, server)


# -- one driver per transport ------------------------------------------------------------


@dataclass
class Got:
    status: int
    headers: dict[str, str]
    body: bytes


class Driver:
    """Sends through one transport; async requests run on a loop of the driver's own
    (one per process: a forked child makes its own), which keeps its pools between
    requests as a long-running service's loop does."""

    def __init__(self, kind: str, **options: object) -> None:
        self.kind = kind
        self.transport: SyncTransport | AsyncioTransport = (
            SyncTransport(**options) if kind == "sync" else AsyncioTransport(**options)  # type: ignore[arg-type]
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def _run(self, coro):
        if self._loop is None or self._pid != os.getpid():
            loop = asyncio.new_event_loop()
            self._loop, self._pid = loop, os.getpid()
            threading.Thread(target=_run_then_close, args=(loop,), daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def send(self, request: HttpRequest, *, stream: bool = False) -> Got:
        """The reply, its body read whole (through iteration when ``stream``)."""
        if isinstance(self.transport, SyncTransport):
            r = self.transport.send(request, stream=stream)
            return Got(r.status, r.headers, b"".join(r.iter_bytes()) if stream else r.body)
        transport = self.transport

        async def go() -> Got:
            r = await transport.send_async(request, stream=stream)
            body = b"".join([p async for p in r.aiter_bytes()]) if stream else await r.read()
            return Got(r.status, r.headers, body)

        return self._run(go())

    def open(self, request: HttpRequest) -> dict[str, str]:
        """Open a stream and close it unread; its headers."""
        if isinstance(self.transport, SyncTransport):
            r = self.transport.send(request, stream=True)
            r.close()
            return r.headers
        transport = self.transport

        async def go() -> dict[str, str]:
            r = await transport.send_async(request, stream=True)
            await r.aclose()
            return r.headers

        return self._run(go())

    def pieces(
        self, request: HttpRequest, on_piece: Callable[[bytes], object] = lambda piece: None, *, stop_after: int | None = None
    ) -> list[bytes]:
        """Stream ``request``, handing each piece to ``on_piece`` as it arrives; the stream
        is closed after ``stop_after`` pieces (read to its end without)."""
        got: list[bytes] = []
        if isinstance(self.transport, SyncTransport):
            r = self.transport.send(request, stream=True)
            try:
                for piece in r.iter_bytes():
                    got.append(piece)
                    on_piece(piece)
                    if len(got) == stop_after:
                        break
            finally:
                r.close()
            return got
        transport = self.transport

        async def go() -> list[bytes]:
            r = await transport.send_async(request, stream=True)
            try:
                async for piece in r.aiter_bytes():
                    got.append(piece)
                    on_piece(piece)
                    if len(got) == stop_after:
                        break
            finally:
                await r.aclose()
            return got

        return self._run(go())

    def close(self) -> None:
        loop = self._loop
        if loop is not None and self._pid == os.getpid():
            assert isinstance(self.transport, AsyncioTransport)
            self._run(self.transport.aclose())
            self._run(loop.shutdown_asyncgens())
            loop.call_soon_threadsafe(loop.stop)


def _run_then_close(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_forever()
    loop.close()


@pytest.fixture(params=["sync", "async"])
def kind(request) -> str:
    return request.param


@pytest.fixture
def driver(kind) -> Iterator[Driver]:
    made = Driver(kind)
    yield made
    made.close()


@pytest.fixture
def make_driver(kind) -> Iterator[Callable[..., Driver]]:
    made: list[Driver] = []

    def make(**options: object) -> Driver:
        made.append(Driver(kind, **options))
        return made[-1]

    yield make
    for d in made:
        d.close()


def get(url: str, *, timeout: float = WAIT, deadline: float | None = None, **kw) -> HttpRequest:
    clock = Deadline(deadline) if deadline is not None else None
    return HttpRequest(kw.pop("method", "GET"), url, kw.pop("headers", {}), kw.pop("body", b""), timeout, clock)


# -- framing ---------------------------------------------------------------------------------


def test_keep_alive_serves_many_requests_on_one_connection(serve, driver):
    server = serve(keep_alive(lambda seen: response(body=seen.target.encode())))
    bodies = [driver.send(get(server.url(f"/{i}"))).body for i in range(5)]
    assert bodies == [b"/0", b"/1", b"/2", b"/3", b"/4"]
    assert server.accepted == 1


def test_keep_alive_holds_for_a_connection_on_a_descriptor_above_1024(serve, driver):
    # A busy process has descriptors of 1024 and more, which select.select refuses: the
    # idle-connection check must not take that refusal for a dropped connection.
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("the descriptor limit is below 1200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    filler = []
    try:
        while not filler or filler[-1] < 1030:
            filler.append(os.open(os.devnull, os.O_RDONLY))
        server = serve(keep_alive(lambda seen: response(body=seen.target.encode())))
        bodies = [driver.send(get(server.url(f"/{i}"))).body for i in range(3)]
        assert bodies == [b"/0", b"/1", b"/2"]
        assert server.accepted == 1
    finally:
        for fd in filler:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_chunked_and_gzip_bodies_are_decoded_streamed_or_not(serve, driver):
    packed = gzip.compress(b"hello " * 1000)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(packed[i : i + 999]), packed[i : i + 999]) for i in range(0, len(packed), 999))
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n" + chunked + b"0\r\n\r\n"
    server = serve(keep_alive(lambda seen: raw))
    assert driver.send(get(server.url())).body == b"hello " * 1000
    assert driver.send(get(server.url()), stream=True).body == b"hello " * 1000
    assert server.accepted == 1
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_head_reply_has_no_body_and_keeps_the_connection(serve, driver):
    server = serve(keep_alive(lambda seen: response(body=b"" if seen.method == "HEAD" else b"x", headers={"Content-Length": "5"} if seen.method == "HEAD" else None)))
    assert driver.send(get(server.url(), method="HEAD")).body == b""
    assert driver.send(get(server.url())).body == b"x"
    assert server.accepted == 1


def test_a_few_interim_replies_are_skipped(serve, driver):
    server = serve(keep_alive(lambda seen: b"HTTP/1.1 100 Continue\r\n\r\n" * 3 + response(body=b"final")))
    got = driver.send(get(server.url(), method="POST", body=b"{}"))
    assert (got.status, got.body) == (200, b"final")


def test_endless_interim_replies_are_refused(serve, driver):
    def endless(sock: socket.socket, server: Server) -> None:
        while server.pause(0.001):
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    server = serve(after_request(endless))
    with pytest.raises(APIConnectionError, match=f"more than {MAX_INTERIM} interim"):
        driver.send(get(server.url()))


# -- failures --------------------------------------------------------------------------------


def _answer_then(raw: bytes, then: Callable[[socket.socket], object]) -> Handler:
    """Read one request, send ``raw``, then ``then(sock)``."""

    def handler(sock: socket.socket, server: Server, index: int) -> None:
        seen = read_request(sock.makefile("rb"))
        assert seen is not None
        server.requests.append(seen)
        sock.sendall(raw)
        then(sock)

    return handler


def _rst(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_refused_connection_names_host_and_port_and_no_header(driver):
    port = dead_port()
    request = get(f"http://127.0.0.1:{port}/", headers={"Authorization": "Bearer sk-secret-123"})
    with pytest.raises(APIConnectionError) as info:
        driver.send(request)
    assert not isinstance(info.value, APITimeoutError)
    assert f"127.0.0.1:{port}" in str(info.value) and "refused" in str(info.value)
    assert "sk-secret" not in str(info.value)


def test_a_server_that_never_accepts_is_cut_at_the_timeout(driver):
    # The kernel completes the handshake from the backlog; nobody ever answers.
    listener = socket.create_server(("127.0.0.1", 0), backlog=5)
    try:
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=f"127.0.0.1:{listener.getsockname()[1]}"):
            driver.send(get(f"http://127.0.0.1:{listener.getsockname()[1]}/", timeout=0.3))
        assert time.monotonic() - started < WAIT
    finally:
        listener.close()


def test_a_server_that_reads_the_request_and_never_answers_is_cut_at_the_timeout(serve, driver):
    server = serve(after_request(lambda sock, server: server.pause(WAIT)))
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match=f"127.0.0.1:{server.port}"):
        driver.send(get(server.url(), timeout=0.3))
    assert time.monotonic() - started < WAIT


@pytest.mark.parametrize("stream", [False, True])
def test_a_reset_mid_body_is_a_connection_error_and_the_next_request_works(serve, driver, stream):
    def handler(sock: socket.socket, server: Server, index: int) -> None:
        if index == 0:
            _answer_then(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", _rst)(sock, server, index)
        else:
            keep_alive(lambda seen: response(body=b"fine"))(sock, server, index)

    server = serve(handler)
    with pytest.raises(APIConnectionError) as info:
        driver.send(get(server.url()), stream=stream)
    assert not isinstance(info.value, APITimeoutError)
    assert driver.send(get(server.url())).body == b"fine"


@pytest.mark.parametrize("stream", [False, True])
def test_a_body_shorter_than_its_content_length_is_a_connection_error(serve, driver, stream):
    server = serve(_answer_then(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789", lambda sock: sock.shutdown(socket.SHUT_WR)))
    with pytest.raises(APIConnectionError, match="before the body was complete"):
        driver.send(get(server.url()), stream=stream)


def test_garbage_instead_of_http_is_a_connection_error(serve, driver):
    server = serve(_answer_then(b"SSH-2.0-OpenSSH\r\n\r\n", lambda sock: None))
    with pytest.raises(APIConnectionError, match="malformed"):
        driver.send(get(server.url()))


def test_a_fresh_connection_closed_without_a_reply_is_not_retried(serve, driver):
    server = serve(after_request(lambda sock, server: None))
    with pytest.raises(APIConnectionError, match="without a response"):
        driver.send(get(server.url(), method="POST", body=b"payload"))
    assert server.accepted == 1 and len(server.requests) == 1


def test_a_reused_connection_the_server_dropped_is_retried_once_on_a_fresh_one(serve, driver):
    def handler(sock: socket.socket, server: Server, index: int) -> None:
        rfile = sock.makefile("rb")
        server.requests.append(read_request(rfile))
        sock.sendall(response(body=b"first"))
        if index == 0:
            read_request(rfile)  # the next request arrives, then a hang-up: a stale keep-alive
            return
        server.serve_requests(sock, lambda seen: response(body=b"fresh"))

    server = serve(handler)
    assert driver.send(get(server.url())).body == b"first"
    assert driver.send(get(server.url(), method="POST", body=b"payload")).body == b"first"
    assert server.accepted == 2
    assert server.requests[-1].body == b"payload"


@pytest.mark.parametrize(
    "request_",
    [
        HttpRequest("GET", "http://127.0.0.1:9/", {"X-Evil": "a\r\nInjected: yes"}),
        HttpRequest("GET", "http://127.0.0.1:9/", {"X-Evil": "a\nb"}),
        HttpRequest("GET", "http://127.0.0.1:9/", {"Bad\r\nName": "v"}),
        HttpRequest("GET", "http://127.0.0.1:9/", {"X": "nul\0"}),
        HttpRequest("GET", "http://127.0.0.1:9/", {"Sp ace": "v"}),
        HttpRequest("GET", "http://127.0.0.1:9/", {"X-Uni": "caf\u00e9 \u2603"}),
        HttpRequest("GET", "http://127.0.0.1:9/", {"Authorization": "Bearer sk-SECRET\r\n"}),
        HttpRequest("GET /x HTTP/1.1\r\n", "http://127.0.0.1:9/"),
        HttpRequest("G T", "http://127.0.0.1:9/"),
        HttpRequest("GET", "ftp://127.0.0.1/x"),
        HttpRequest("GET", "file:///etc/passwd"),
        HttpRequest("GET", "127.0.0.1:80/x"),
        HttpRequest("GET", "http:///nohost"),
        HttpRequest("GET", "http://127.0.0.1/a b"),
        HttpRequest("GET", "http://127.0.0.1:99999/"),
    ],
)
def test_an_unsafe_request_is_refused_before_any_io_without_echoing_it(driver, request_):
    with pytest.raises(ConfigurationError) as info:
        driver.send(request_)
    shown = str(info.value)
    assert "Injected" not in shown and "\u2603" not in shown and "sk-SECRET" not in shown


# -- request framing and keep-alive ------------------------------------------------------------


def test_a_request_carries_host_user_agent_encodings_and_its_own_content_length(serve, driver):
    server = serve(keep_alive())
    driver.send(HttpRequest("POST", server.url("/v1/x?q=1"), {"Content-Length": "999"}, b"abc", WAIT))
    driver.send(get(server.url(), headers={"User-Agent": "mine/1"}))
    first, second = server.requests
    assert (first.method, first.target, first.body) == ("POST", "/v1/x?q=1", b"abc")
    assert first.headers["host"] == f"127.0.0.1:{server.port}"
    assert first.headers["user-agent"] == "minicall/0.1" and first.headers["accept-encoding"] == "gzip, deflate"
    assert first.headers["content-length"] == "3"  # the body's, whatever the caller said
    assert second.headers["user-agent"] == "mine/1"  # the caller's wins
    assert server.accepted == 1


def test_a_connection_the_server_means_to_close_is_not_reused(serve, driver):
    server = serve(keep_alive(lambda seen: response(headers={"Connection": "close"})))
    driver.send(get(server.url()))
    driver.send(get(server.url()))
    assert server.accepted == 2


def test_an_idle_connection_the_server_closed_is_replaced(serve, driver):
    closed = threading.Event()

    def handler(sock: socket.socket, server: Server, index: int) -> None:
        rfile = sock.makefile("rb")
        server.requests.append(read_request(rfile))
        sock.sendall(response())
        if index == 0:
            sock.close()
            closed.set()
            return
        server.serve_requests(sock, lambda seen: response(body=b"again"))

    server = serve(handler)
    driver.send(get(server.url()))
    assert closed.wait(WAIT)
    assert driver.send(get(server.url())).body == b"ok"
    assert server.accepted == 2


def test_a_short_timeout_on_a_connection_kept_from_a_long_one_still_fires(serve, driver):
    def answer(seen: Request) -> bytes:
        if seen.target == "/hang":
            server.pause(WAIT)
        return response(body=b"fine")

    server = serve(keep_alive(answer))
    assert driver.send(get(server.url("/ok"), timeout=600)).body == b"fine"
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        driver.send(get(server.url("/hang"), timeout=0.2))
    assert time.monotonic() - started < WAIT
    assert server.accepted == 1  # the kept-alive connection, whose wait was set for 600 s


# -- streams ------------------------------------------------------------------------------------


def test_a_stream_delivers_its_first_piece_before_the_server_sends_the_last(serve, driver):
    go_on = threading.Event()

    def handler(sock: socket.socket, server: Server, index: int) -> None:
        rfile = sock.makefile("rb")
        read_request(rfile)
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        if go_on.wait(WAIT):
            sock.sendall(b"4\r\nlast\r\n0\r\n\r\n")
        server.serve_requests(sock, lambda seen: response(body=b"pooled"))

    server = serve(handler)
    seen: list[tuple[bytes, bool]] = []
    driver.pieces(get(server.url()), lambda piece: (seen.append((piece, go_on.is_set())), go_on.set()))
    assert seen == [(b"first", False), (b"last", True)]
    assert driver.send(get(server.url())).body == b"pooled"  # read to its end: pooled
    assert server.accepted == 1


@pytest.mark.parametrize("read", [0, 1])
def test_a_stream_closed_before_its_end_does_not_return_its_connection(serve, driver, read):
    server = serve(keep_alive(lambda seen: response(body=b"x" * 200_000)))
    if read:
        assert len(driver.pieces(get(server.url()), stop_after=read)) == read
    else:
        driver.open(get(server.url()))
    assert driver.send(get(server.url())).body == b"x" * 200_000
    assert server.accepted == 2


def test_a_stream_cut_after_its_first_piece_is_a_connection_error(serve, driver):
    server = serve(_answer_then(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n", lambda sock: sock.shutdown(socket.SHUT_WR)))
    seen: list[bytes] = []
    with pytest.raises(APIConnectionError) as info:
        driver.pieces(get(server.url()), seen.append)
    assert seen == [b"first"] and not isinstance(info.value, APITimeoutError)


def test_a_stream_that_stalls_after_its_first_piece_is_cut_at_the_timeout(serve, driver):
    server = serve(_answer_then(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n", lambda sock: sock.recv(1)))
    seen: list[bytes] = []
    with pytest.raises(APITimeoutError):
        driver.pieces(get(server.url(), timeout=0.3), seen.append)
    assert seen == [b"first"]


def test_a_deflate_stream_is_decoded_piece_by_piece(serve, driver):
    payload = b"data: " + b"x" * 5000 + b"\n\n"
    packed = zlib.compress(payload)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(packed[i : i + 7]), packed[i : i + 7]) for i in range(0, len(packed), 7))
    raw = b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n"
    server = serve(_answer_then(raw, lambda sock: None))
    pieces = driver.pieces(get(server.url()))
    assert b"".join(pieces) == payload and len(pieces) > 1


# -- caps --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_declared_oversized_body_is_refused_at_send_before_reading_it(serve, make_driver, stream):
    # Only the head is sent: a transport that waited for the body would time out instead.
    server = serve(after_request(lambda sock, s: (sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"), s.pause(WAIT))))
    small = make_driver(max_body_bytes=1500)
    with pytest.raises(ResponseFormatError, match="larger than 1500 bytes"):
        if stream:
            small.open(get(server.url(), timeout=2.0))
        else:
            small.send(get(server.url(), timeout=2.0))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("shape", ["chunked", "gzip-bomb"])
def test_an_undeclared_oversized_body_is_refused_once_over_the_cap(serve, make_driver, stream, shape):
    if shape == "chunked":
        raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"3e8\r\n" + b"y" * 1000 + b"\r\n" + b"3e8\r\n" + b"y" * 1000 + b"\r\n0\r\n\r\n"
    else:
        raw = response(body=gzip.compress(b"\0" * 1_000_000), headers={"Content-Encoding": "gzip"})
    server = serve(keep_alive(lambda seen: raw))
    with pytest.raises(ResponseFormatError, match="larger than 1500 bytes"):
        make_driver(max_body_bytes=1500).send(get(server.url()), stream=stream)


# -- redirects -------------------------------------------------------------------------------

SECRETS = {"Authorization": "Bearer sk-1", "x-api-key": "k2", "api-key": "k3", "x-goog-api-key": "k4", "Cookie": "c=5"}


def test_redirect_to_another_origin_keeps_method_and_body_and_drops_credentials(serve, driver):
    target = serve(keep_alive(lambda seen: response(body=b"landed")))
    origin = serve(keep_alive(lambda seen: response(307, b"", {"Location": target.url("/there")})))
    got = driver.send(get(origin.url("/here"), method="POST", body=b"body", headers={**SECRETS, "X-Trace": "keep"}))
    assert got.body == b"landed"
    seen = target.requests[0]
    assert (seen.method, seen.target, seen.body) == ("POST", "/there", b"body")
    assert seen.headers["x-trace"] == "keep" and seen.headers["host"] == f"127.0.0.1:{target.port}"
    assert not {k.lower() for k in SECRETS} & set(seen.headers)
    assert origin.requests[0].headers["authorization"] == "Bearer sk-1"


def test_same_origin_303_becomes_a_get_keeps_credentials_and_reuses_the_connection(serve, driver):
    def answer(seen: Request) -> bytes:
        return response(303, b"moved", {"Location": "/next"}) if seen.target == "/start" else response(body=b"done")

    server = serve(keep_alive(answer))
    headers = {"Authorization": "Bearer a", "Content-Type": "application/json"}
    assert driver.send(get(server.url("/start"), method="POST", body=b"{}", headers=headers)).body == b"done"
    last = server.requests[-1]
    assert (last.method, last.target, last.body) == ("GET", "/next", b"")
    assert last.headers["authorization"] == "Bearer a" and "content-type" not in last.headers
    assert server.accepted == 1  # the small redirect body was read and the connection reused


def test_a_redirect_with_a_long_body_is_not_read_to_its_end(serve, driver):
    # 64 KiB of a redirect's body are read at most; then its connection is dropped.
    def answer(seen: Request) -> bytes:
        if seen.target == "/start":
            return response(302, b"z" * (1 << 20), {"Location": "/next"})
        return response(body=b"done")

    server = serve(keep_alive(answer))
    assert driver.send(get(server.url("/start"))).body == b"done"
    assert server.accepted == 2


def test_a_redirect_declaring_a_body_over_the_cap_is_still_followed(serve, make_driver):
    def answer(seen: Request) -> bytes:
        if seen.target == "/start":
            return response(302, b"z" * 3000, {"Location": "/next"})
        return response(body=b"done")

    server = serve(keep_alive(answer))
    assert make_driver(max_body_bytes=1500).send(get(server.url("/start"))).body == b"done"


def test_redirects_stop_at_the_limit_and_return_the_last_redirect(serve, make_driver):
    server = serve(keep_alive(lambda seen: response(301, b"again", {"Location": "/loop"})))
    got = make_driver(max_redirects=2).send(get(server.url("/loop")))
    assert (got.status, len(server.requests)) == (301, 3)


def test_a_redirect_to_an_unsupported_scheme_is_returned(serve, driver):
    server = serve(keep_alive(lambda seen: response(307, b"", {"Location": "ftp://example.invalid/f"})))
    assert driver.send(get(server.url())).status == 307


# -- logging -------------------------------------------------------------------------------------


def test_every_hop_is_logged_without_credentials(serve, driver, caplog):
    def answer(seen: Request) -> bytes:
        return response(307, b"", {"Location": "/b?key=sk-query"}) if seen.target == "/a" else response()

    server = serve(keep_alive(answer))
    with caplog.at_level(logging.DEBUG, logger="minicall"):
        driver.send(get(server.url("/a"), headers={"Authorization": "Bearer sk-header"}))
        driver.send(get(server.url("/v1?key=AIzaSECRET&alt=sse"), headers={"x-goog-api-key": "AIzaSECRET2"}))
    lines = [r.getMessage() for r in caplog.records]
    responses = [line for line in lines if line.startswith("HTTP response")]
    assert len(responses) == 3 and "-> 307" in responses[0] and "-> 200" in responses[1]
    assert len([line for line in lines if line.startswith("HTTP request")]) == 3
    assert not any("sk-header" in line or "AIzaSECRET" in line for line in lines)
    assert "/b?key=[redacted]" in responses[1] and "alt=sse" in responses[2]


# -- deadlines -----------------------------------------------------------------------------------


def drip(sock: socket.socket, server: Server) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    while server.pause(0.25):
        sock.sendall(b"x")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_dripping_body_is_cut_at_the_deadline(serve, driver, stream):
    # Each byte comes well within the 2 s timeout: only the deadline can end this.
    server = serve(after_request(drip))
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        driver.send(get(server.url(), timeout=2.0, deadline=1.0), stream=stream)
    assert caught.value.limit == "deadline" and caught.value.seconds == 1.0
    assert 1.0 <= caught.value.elapsed < 2.0
    assert time.monotonic() - started < 3.0
    assert "deadline of 1 s passed after" in str(caught.value)


def test_a_silent_server_is_cut_at_the_timeout_when_it_comes_first(serve, driver):
    server = serve(after_request(lambda sock, s: s.pause(WAIT)))
    with pytest.raises(APITimeoutError) as caught:
        driver.send(get(server.url(), timeout=0.3, deadline=4.0))
    assert caught.value.limit == "timeout" and caught.value.seconds == 0.3
    assert "timeout of 0.3 s" in str(caught.value)


def test_interim_replies_that_never_end_are_cut_at_the_deadline(serve, driver):
    # Slow enough that the count of interim replies is not reached first.
    def slow(sock: socket.socket, server: Server) -> None:
        while server.pause(0.3):
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    server = serve(after_request(slow))
    with pytest.raises(APITimeoutError) as caught:
        driver.send(get(server.url(), timeout=2.0, deadline=1.0))
    assert caught.value.limit == "deadline"


def test_a_deadline_already_passed_sends_nothing(serve, driver):
    server = serve(keep_alive(lambda seen: response()))
    request = get(server.url(), deadline=0.001)
    time.sleep(0.01)
    with pytest.raises(APITimeoutError, match="deadline"):
        driver.send(request)
    assert server.requests == []


# -- TLS and proxies ---------------------------------------------------------------------------


@pytest.fixture
def tls_server(serve, tls_context) -> Server:
    return serve(keep_alive(lambda seen: response(body=b"secure")), tls=tls_context)


def test_a_self_signed_certificate_is_refused_by_default_naming_where(tls_server, driver):
    with pytest.raises(APIConnectionError, match="certificate verification failed") as info:
        driver.send(get(tls_server.url()))
    assert f"127.0.0.1:{tls_server.port}" in str(info.value)


def test_a_ca_file_trusts_the_certificate_and_keeps_the_connection_alive(tls_server, cert, make_driver):
    driver = make_driver(ca_file=cert[0])
    assert [driver.send(get(tls_server.url())).body for _ in range(2)] == [b"secure", b"secure"]
    assert tls_server.accepted == 1


def test_verify_false_accepts_any_certificate(tls_server, make_driver):
    assert make_driver(verify=False).send(get(tls_server.url())).body == b"secure"


def test_a_missing_ca_file_is_a_configuration_error_when_the_transport_is_made(kind, tmp_path):
    with pytest.raises(ConfigurationError, match="ca_file"):
        Driver(kind, ca_file=str(tmp_path / "nope.pem"))


def test_https_goes_through_the_environment_proxy_with_connect_and_its_credentials(tls_server, cert, proxy, make_driver, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://user:p%40ss@"))
    driver = make_driver(ca_file=cert[0])
    assert [driver.send(get(tls_server.url("/tls"))).body for _ in range(2)] == [b"secure", b"secure"]
    assert proxy.connects == [f"127.0.0.1:{tls_server.port}"]  # one tunnel, kept alive
    assert proxy.auth == ["Basic " + base64.b64encode(b"user:p@ss").decode()]
    assert tls_server.requests[0].target == "/tls"


@pytest.mark.parametrize("why", ["no_proxy", "trust_env"])
def test_no_proxy_or_trust_env_false_sends_the_request_direct(tls_server, cert, proxy, make_driver, monkeypatch, why):
    monkeypatch.setenv("https_proxy", proxy.url)
    if why == "no_proxy":
        monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
    driver = make_driver(ca_file=cert[0], trust_env=why != "trust_env")
    assert driver.send(get(tls_server.url())).body == b"secure"
    assert proxy.connects == [] and proxy.server.accepted == 0


def test_plain_http_through_a_proxy_sends_the_absolute_url_and_its_credentials(proxy, driver, monkeypatch):
    monkeypatch.setenv("http_proxy", proxy.url.replace("http://", "http://u:pw@"))
    got = driver.send(get("http://upstream.invalid:8080/v1/models?limit=2"))
    assert got.body == b"proxied http://upstream.invalid:8080/v1/models?limit=2"
    assert proxy.plain[0].headers["host"] == "upstream.invalid:8080"
    assert proxy.auth == ["Basic " + base64.b64encode(b"u:pw").decode()]


def test_an_explicit_proxy_ignores_the_environment(proxy, make_driver, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "*")
    got = make_driver(proxy=proxy.url).send(get("http://example.invalid/x"))
    assert got.body == b"proxied http://example.invalid/x"


# -- hostile proxies ----------------------------------------------------------------------------


def endless_connect_answer(delay: float) -> Handler:
    """A proxy answering CONNECT with 200, then header lines forever."""

    def handler(sock: socket.socket, server: Server) -> None:
        sock.makefile("rb").readline()
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n")
        n = 0
        while server.pause(delay):
            sock.sendall(b"X-Filler-%d: %s\r\n" % (n, b"a" * 100))
            n += 1

    return raw(handler)


def test_a_proxy_sending_header_lines_forever_fails_at_the_head_limit(serve, make_driver):
    proxy = serve(endless_connect_answer(0.0))
    driver = make_driver(proxy=f"http://127.0.0.1:{proxy.port}")
    with pytest.raises(APIConnectionError, match="header section too large"):
        driver.send(get("https://127.0.0.1:9/", timeout=2.0, deadline=4.0))


def test_a_proxy_dripping_header_lines_is_cut_at_the_deadline(serve, make_driver):
    proxy = serve(endless_connect_answer(0.2))
    driver = make_driver(proxy=f"http://127.0.0.1:{proxy.port}")
    with pytest.raises(APITimeoutError) as caught:
        driver.send(get("https://127.0.0.1:9/", timeout=2.0, deadline=1.0))
    assert caught.value.limit == "deadline"


def test_a_refused_tunnel_is_a_connection_error_without_credentials(serve, make_driver):
    proxy = serve(raw(lambda sock, server: (sock.makefile("rb").readline(), sock.sendall(response(407, b"no")))))
    driver = make_driver(proxy=f"http://user:hunter2@127.0.0.1:{proxy.port}")
    with pytest.raises(APIConnectionError, match="refused the tunnel with HTTP 407") as caught:
        driver.send(get("https://127.0.0.1:9/"))
    message = str(caught.value)
    assert f"via proxy 127.0.0.1:{proxy.port}" in message
    assert "hunter2" not in message and "dXNlcjpodW50ZXIy" not in message  # nor its base64
    assert "hunter2" not in repr(driver.transport)


# -- fork -----------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_parent_and_child_calling_at_once_after_fork_each_get_their_own_replies(serve, driver):
    # The server answers with the request's own path, after a pause, so that the
    # parent's and child's requests overlap on the wire.
    def answer(seen: Request) -> bytes:
        time.sleep(0.002)
        return response(body=seen.target.encode())

    server = serve(keep_alive(answer))
    assert driver.send(get(server.url("/warm"))).body == b"/warm"  # one pooled connection now
    rounds = 40
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report mismatches through the pipe, never return to pytest
        status = 1
        try:
            wrong = sum(driver.send(get(server.url(f"/child-{i}"))).body != f"/child-{i}".encode() for i in range(rounds))
            os.write(write_end, str(wrong).encode())
            status = 0
        except BaseException as exc:  # noqa: BLE001 - anything goes back to the parent
            os.write(write_end, repr(exc).encode())
        finally:
            os._exit(status)
    os.close(write_end)
    wrong = sum(driver.send(get(server.url(f"/parent-{i}"))).body != f"/parent-{i}".encode() for i in range(rounds))
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as pipe:
        child_says = pipe.read().decode()
    assert status == 0, child_says
    assert (wrong, child_says) == (0, "0")
    targets = [seen.target for seen in server.requests]
    assert sum(t.startswith("/child-") for t in targets) == rounds
    assert sum(t.startswith("/parent-") for t in targets) == rounds


# -- deadlines through a call (sync and async calls, each on its own transport) -------------------


def sse(*events: dict) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


def delta(text: str) -> dict:
    return {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def stream_head(sock: socket.socket) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")


def call_stream(kind: str, client: OpenAIClient) -> tuple[list[str], BaseException]:
    """Stream a call to the end; the text pieces that arrived and the error that ended it."""

    @llm.call(provider="openai", model="m", client=client, stream=True)
    def tell() -> str:
        return "x"

    seen: list[str] = []
    if kind == "sync":
        with pytest.raises(minicall.MinicallError) as caught:
            for chunk, _ in tell():
                seen.append(chunk.content)
        return seen, caught.value

    @llm.call(provider="openai", model="m", client=client, stream=True)
    async def tell_async() -> str:
        return "x"

    async def go() -> None:
        async for chunk, _ in await tell_async():
            seen.append(chunk.content)

    with pytest.raises(minicall.MinicallError) as caught:
        asyncio.run(go())
    return seen, caught.value


def client_for(server: Server, kind: str, **kw) -> OpenAIClient:
    # A transport of the kind under test, so the sync and async halves are not shared.
    transport = SyncTransport() if kind == "sync" else AsyncioTransport()
    return OpenAIClient(api_key="sk-test", base_url=server.url("/v1"), transport=transport, **kw)


def pings_forever(before: bytes = b"") -> Handler:
    def handler(sock: socket.socket, server: Server) -> None:
        stream_head(sock)
        sock.sendall(before)
        while server.pause(0.2):
            sock.sendall(b": ping\n\n")

    return after_request(handler)


def test_a_stream_of_pings_before_any_event_is_cut_at_the_deadline(serve, kind):
    # Pings every 0.2 s keep every read well within the 2 s timeout.
    server = serve(pings_forever())
    seen, error = call_stream(kind, client_for(server, kind, timeout=2.0, deadline=1.0, max_retries=0))
    assert isinstance(error, minicall.APITimeoutError) and error.limit == "deadline"
    assert seen == [] and 1.0 <= error.elapsed < 2.0


def test_pings_after_an_event_do_not_reset_the_timeout_between_events(serve, kind):
    # The deadline (5 s) bounds only the wait for the first event; then each event must
    # follow the last within the 1 s timeout, and pings do not count.
    server = serve(pings_forever(sse(delta("Hello"))))
    seen, error = call_stream(kind, client_for(server, kind, timeout=1.0, deadline=5.0))
    assert isinstance(error, minicall.APITimeoutError)
    assert error.limit == "timeout between stream events" and 1.0 <= error.elapsed < 2.0
    assert seen == ["Hello"] and error.partial == "Hello"
    assert len(server.requests) == 1  # a stream that delivered is never retried


def test_a_stream_with_steady_events_outlives_its_deadline(serve, kind):
    # Events every 0.3 s for 2.4 s: past the 1.5 s deadline, which bounds the first only.
    # The gaps stay far below the 3 s timeout so a loaded machine cannot trip it.
    def handler(sock: socket.socket, server: Server) -> None:
        stream_head(sock)
        for i in range(8):
            sock.sendall(sse(delta(f"{i} ")))
            server.pause(0.3)
        sock.sendall(b"data: [DONE]\n\n")

    server = serve(after_request(handler))

    @llm.call(provider="openai", model="m", client=client_for(server, kind, timeout=3.0, deadline=1.5), stream=True)
    def tell() -> str:
        return "x"

    @llm.call(provider="openai", model="m", client=client_for(server, kind, timeout=3.0, deadline=1.5), stream=True)
    async def tell_async() -> str:
        return "x"

    async def text_async() -> str:
        return "".join([c.content async for c, _ in await tell_async()])

    text = "".join(c.content for c, _ in tell()) if kind == "sync" else asyncio.run(text_async())
    assert text == "0 1 2 3 4 5 6 7 "


def asker(kind: str, client: OpenAIClient) -> Callable[..., object]:
    """A plain call through ``client``: a sync function, or an ``async def`` one."""
    if kind == "sync":

        @llm.call(provider="openai", model="m", client=client)
        def ask() -> str:
            return "x"

        return ask

    @llm.call(provider="openai", model="m", client=client)
    async def ask_async() -> str:
        return "x"

    return ask_async


def run_call(kind: str, fn: Callable[..., object]) -> BaseException:
    """Make the call ``fn``; the error it ends with."""
    with pytest.raises(minicall.MinicallError) as caught:
        fn() if kind == "sync" else asyncio.run(fn())  # type: ignore[arg-type]
    return caught.value


def call_once(kind: str, client: OpenAIClient) -> BaseException:
    return run_call(kind, asker(kind, client))


def test_the_deadline_bounds_every_attempt_of_a_call(serve, kind):
    # Each attempt drips; retries would take far longer than the deadline.
    server = serve(after_request(drip))
    error = call_once(kind, client_for(server, kind, timeout=2.0, deadline=1.5, max_retries=5))
    assert isinstance(error, minicall.APITimeoutError) and error.limit == "deadline"
    assert 1.5 <= error.elapsed < 2.5


def test_no_back_off_is_slept_past_the_deadline(serve, kind):
    # A 503 asking for a 30 s pause: the deadline leaves no room, so the 503 is final.
    server = serve(keep_alive(lambda seen: response(503, b'{"error": {"message": "busy"}}', {"Retry-After": "30", "Content-Type": "application/json"})))
    started = time.monotonic()
    error = call_once(kind, client_for(server, kind, deadline=2.0, max_retries=3))
    assert isinstance(error, minicall.InternalServerError) and error.attempts == 1
    assert time.monotonic() - started < 2.0
    assert len(server.requests) == 1


def test_a_call_gets_another_deadline_through_override(serve, kind):
    server = serve(after_request(drip))
    patient = client_for(server, kind, timeout=2.0, deadline=60.0, max_retries=0)
    hurried = client_for(server, kind, timeout=2.0, deadline=0.5, max_retries=0)
    error = run_call(kind, llm.override(asker(kind, patient), client=hurried))
    assert isinstance(error, minicall.APITimeoutError)
    assert error.limit == "deadline" and error.seconds == 0.5


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "10", True])
def test_a_deadline_that_is_not_positive_seconds_is_a_configuration_error(bad):
    with pytest.raises(minicall.ConfigurationError, match="deadline must be positive seconds"):
        OpenAIClient(api_key="sk-test", deadline=bad)


def test_clients_have_a_finite_default_deadline():
    from minicall._call.client import DEFAULT_DEADLINE

    assert OpenAIClient(api_key="sk-test").deadline == DEFAULT_DEADLINE == 900.0


def test_time_the_caller_spends_on_an_event_does_not_count_against_the_next(serve, kind):
    # The server sends everything at once; the caller takes 0.6 s per event with a
    # 0.5 s timeout between events. Only waiting for the server counts.
    def handler(sock: socket.socket, server: Server) -> None:
        stream_head(sock)
        sock.sendall(sse(delta("a"), delta("b"), delta("c")) + b"data: [DONE]\n\n")

    server = serve(after_request(handler))
    client = client_for(server, kind, timeout=0.5, deadline=10.0)

    @llm.call(provider="openai", model="m", client=client, stream=True)
    def tell() -> str:
        return "x"

    @llm.call(provider="openai", model="m", client=client, stream=True)
    async def tell_async() -> str:
        return "x"

    def slowly(text: str) -> str:
        time.sleep(0.6)
        return text

    async def text_async() -> str:
        return "".join([slowly(c.content) async for c, _ in await tell_async()])

    text = "".join(slowly(c.content) for c, _ in tell()) if kind == "sync" else asyncio.run(text_async())
    assert text == "abc"


def test_a_call_gets_another_deadline_through_dynamic_config(serve, kind):
    server = serve(after_request(drip))
    hurried = client_for(server, kind, timeout=2.0, deadline=0.5, max_retries=0)
    patient = client_for(server, kind, timeout=2.0, deadline=60.0, max_retries=0)

    @llm.call(provider="openai", model="m", client=patient)
    def ask() -> minicall.BaseDynamicConfig:
        return {"messages": [minicall.Messages.User("x")], "client": hurried}

    @llm.call(provider="openai", model="m", client=patient)
    async def ask_async() -> minicall.BaseDynamicConfig:
        return {"messages": [minicall.Messages.User("x")], "client": hurried}

    error = run_call(kind, ask if kind == "sync" else ask_async)
    assert isinstance(error, minicall.APITimeoutError)
    assert error.limit == "deadline" and error.seconds == 0.5


def test_a_resolver_that_hangs_is_cut_at_the_deadline(make_driver, monkeypatch):
    # The stdlib resolver has no timeout: the sync transport resolves in a worker
    # thread, the async one in the loop's executor, and neither waits past the limits.
    release = threading.Event()
    real = socket.getaddrinfo

    def hanging(host, *args, **kwargs):
        if host == "hangs.invalid":
            release.wait(WAIT)
            raise socket.gaierror("released")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    try:
        with pytest.raises(APITimeoutError) as caught:
            make_driver().send(get("http://hangs.invalid/", timeout=2.0, deadline=0.5))
        assert caught.value.limit == "deadline" and caught.value.elapsed < 1.5
    finally:
        release.set()

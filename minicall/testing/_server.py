"""FakeServer: a loopback HTTP/1.1 server that speaks each provider's wire format.

Every request path begins with ``/<provider>``; the rest is handed to that provider's
format module (``_formats/<provider>.py``), which decides whether the path is its
endpoint and whether the client asked for a stream, and turns the next scripted
:class:`~minicall.testing.Reply` into bytes. The server owns everything about time and
sockets: delays, gates, chunked streaming with one flush per event, dropped and hung
connections. It binds 127.0.0.1 only.

Shutting down must never hang a test run: every wait inside a handler also watches the
server's stop event, and :meth:`FakeServer.stop` shuts down every open connection
(unblocking handlers parked on an idle keep-alive read) before joining the threads.
"""
# Arguments are checked at run time too (callers may be untyped):
# pyright: reportUnnecessaryIsInstance=false
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import json
import socket
import socketserver
import ssl
import threading
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, cast, overload
from urllib.parse import parse_qsl

from .._call.registry import PROVIDERS, provider_module
from ._environ import pointed_at
from .._model.http import lower_headers
from ._formats import WireFormat, available_formats, get_format, json_bytes
from ._reply import ErrorReply, Fault, RawReply, RecordedRequest, Reply, Scripted

if TYPE_CHECKING:
    from .._call.client import BaseClient
    from ..providers.anthropic import AnthropicClient
    from ..providers.azure import AzureClient
    from ..providers.bedrock import BedrockClient
    from ..providers.cohere import CohereClient
    from ..providers.google import GoogleClient
    from ..providers.groq import GroqClient
    from ..providers.litellm import LiteLLMClient
    from ..providers.mistral import MistralClient
    from ..providers.openai import OpenAIClient
    from ..providers.xai import XAIClient

__all__ = ["FakeServer"]

_HOST = "127.0.0.1"


class FakeServer:
    """A scripted loopback server for every provider (a context manager).

    ``tls=(certfile, keyfile)`` serves HTTPS with that certificate instead of HTTP.

    ``script(*replies, provider=None)`` queues replies, served first in, first out;
    a provider's own queue is served before the shared one, and with both empty the
    answer is ``Reply(text="echo: <last user text>")``. ``requests`` records every
    request received, ``last`` is the latest, ``connections_accepted`` counts TCP
    connections, ``errors`` collects exceptions raised while rendering a reply (leaving
    the ``with`` block raises if any is left, so a broken format cannot pass as a 500).
    """

    def __init__(self, *, tls: tuple[str, str] | None = None) -> None:
        self._tls = tls
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self._queues: dict[str | None, deque[Scripted]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._batches: Any = None

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> FakeServer:
        """Bind a free port on 127.0.0.1 and serve in a background thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((_HOST, 0), _Handler)
        httpd.fake = self
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self._tls)
            httpd.tls = context
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeServer"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release hung handlers, close connections, join all threads."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()  # joins the handler threads
        if thread is not None:
            thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc_type is None and self.errors:
            # A wire format that crashed answered 500, which a test of error handling
            # could mistake for the server error it scripted: fail loudly instead.
            raise AssertionError(f"FakeServer failed to render a reply: {self.errors[0]!r}") from self.errors[0]

    # -- addresses and clients ----------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https://`` when serving TLS)."""
        if self._httpd is None:
            raise RuntimeError("FakeServer is not running; use it as a context manager")
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{_HOST}:{self._httpd.server_address[1]}"

    def base_url(self, provider: str) -> str:
        """The base URL to give ``provider``'s client: ``/<provider>`` plus its SDK suffix."""
        return f"{self.url}/{provider}{_format_for(provider).base_suffix}"

    # One overload per provider: the client is the type that provider's ``call`` takes.
    @overload
    def client(self, provider: Literal["openai"], **kwargs: Any) -> OpenAIClient: ...

    @overload
    def client(self, provider: Literal["anthropic"], **kwargs: Any) -> AnthropicClient: ...

    @overload
    def client(self, provider: Literal["google"], **kwargs: Any) -> GoogleClient: ...

    @overload
    def client(self, provider: Literal["groq"], **kwargs: Any) -> GroqClient: ...

    @overload
    def client(self, provider: Literal["xai"], **kwargs: Any) -> XAIClient: ...

    @overload
    def client(self, provider: Literal["mistral"], **kwargs: Any) -> MistralClient: ...

    @overload
    def client(self, provider: Literal["cohere"], **kwargs: Any) -> CohereClient: ...

    @overload
    def client(self, provider: Literal["litellm"], **kwargs: Any) -> LiteLLMClient: ...

    @overload
    def client(self, provider: Literal["azure"], **kwargs: Any) -> AzureClient: ...

    @overload
    def client(self, provider: Literal["bedrock"], **kwargs: Any) -> BedrockClient: ...

    @overload
    def client(self, provider: str, **kwargs: Any) -> BaseClient: ...

    def client(self, provider: str, **kwargs: Any) -> BaseClient:
        """``provider``'s minicall client pointed at this server, with test credentials."""
        fmt = _format_for(provider)
        client_class = getattr(provider_module(provider), PROVIDERS[provider])
        return cast("BaseClient", client_class(**{"base_url": self.base_url(provider), **fmt.client_kwargs, **kwargs}))

    def environ(self, *providers: str) -> AbstractContextManager[dict[str, str]]:
        """For a ``with`` block, point each provider's environment variables (all of
        them, or those of ``providers``) at this server with test credentials, so code
        that builds its clients from the environment talks to the server. Variables the
        client reads besides (``AWS_PROFILE``, ``OPENAI_ORG_ID``, ...) are cleared;
        everything is restored on exit. The environment is the process's: do not use
        this from threads running side by side.
        """
        for provider in providers:
            _format_for(provider)
        return pointed_at(
            self.base_url, lambda p: _format_for(p).client_kwargs, tuple(providers)
        )

    # -- scripting and recording ------------------------------------------------------

    def script(self, *replies: Scripted, provider: str | None = None) -> None:
        """Queue replies for ``provider`` (or for any provider when ``None``)."""
        if provider is not None:
            _format_for(provider)
        for reply in replies:
            if not isinstance(reply, (Reply, ErrorReply, RawReply, Fault)):
                raise TypeError(f"cannot script {type(reply).__name__}: use Reply, ErrorReply, ...")
        with self._lock:
            self._queues.setdefault(provider, deque()).extend(replies)

    def script_batch(
        self, *, polls: int = 1, outcome: str = "ended", error: str | None = None, garbage: Sequence[str] = ()
    ) -> None:
        """Queue how the next batch created (any provider) behaves.

        It reports itself running for ``polls`` polls, then ends as ``outcome``:
        ``"ended"`` (each item answered by the scripted reply it took when the batch
        was created, an ``ErrorReply`` failing its item), ``"expired"`` (no item ran)
        or ``"failed"`` (the batch rejected as a whole, with ``error`` as the reason).
        Unscripted batches run for one poll and end. ``garbage`` lines are written at
        the start of a JSONL results file, to test a results file that is partly
        unreadable (the batch engines whose results come inline ignore them).
        """
        from ._batch import OUTCOMES, BatchPlan

        chosen = OUTCOMES.get(outcome)
        if chosen is None:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        if not isinstance(polls, int) or polls < 0:
            raise ValueError(f"polls must be an int >= 0, got {polls!r}")
        if isinstance(garbage, str) or not all(isinstance(line, str) and "\n" not in line for line in garbage):
            raise ValueError("garbage must be a list of lines (strings without a newline)")
        plan = BatchPlan(polls, chosen, error if error is not None else BatchPlan.error, tuple(garbage))
        with self._batch_state().lock:
            self._batch_state().plans.append(plan)

    def _batch_state(self) -> Any:
        with self._lock:
            if self._batches is None:
                from ._batch import Batches

                self._batches = Batches(self._next_reply, self.base_url)
            return self._batches

    @property
    def pending(self) -> int:
        """How many scripted replies have not been served yet."""
        with self._lock:
            return sum(len(queue) for queue in self._queues.values())

    @property
    def last(self) -> RecordedRequest:
        """The latest request received."""
        with self._lock:
            if not self.requests:
                raise LookupError("FakeServer has received no request yet")
            return self.requests[-1]

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since start."""
        return self._httpd.accepted if self._httpd is not None else 0

    def hang_up(self) -> None:
        """Close every open connection from the server's side, as a server dropping
        idle keep-alive connections does; the server keeps accepting new ones."""
        if self._httpd is not None:
            self._httpd.close_connections()

    def reset(self) -> None:
        """Forget recorded requests, errors and unserved replies."""
        with self._lock:
            self.requests.clear()
            self.errors.clear()
            self._queues.clear()
            self._batches = None

    # -- used by the handler ------------------------------------------------------------

    def _record(self, build: Callable[[int], RecordedRequest]) -> RecordedRequest:
        with self._lock:
            request = build(len(self.requests) + 1)
            self.requests.append(request)
            return request

    def _next_reply(self, provider: str) -> Scripted | None:
        with self._lock:
            for key in (provider, None):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            return None

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds``; ``False`` when the server is stopping instead."""
        return not self._stopping.wait(seconds) if seconds > 0 else not self._stopping.is_set()

    def _await_gate(self, gate: threading.Event) -> bool:
        while not gate.wait(0.05):
            if self._stopping.is_set():
                return False
        return True


def _format_for(provider: str) -> WireFormat:
    fmt = get_format(provider)
    if fmt is None:
        known = ", ".join(available_formats())
        raise ValueError(f"FakeServer has no wire format for {provider!r}; it has: {known}")
    return fmt


class _HTTPServer(ThreadingHTTPServer):
    """Tracks connections so ``stop`` can close them; joins handler threads on close."""

    daemon_threads = False
    block_on_close = True
    # socketserver's backlog of 5 resets connects beyond it; a client pool opens ~100 at once.
    request_queue_size = 256
    fake: FakeServer
    tls: ssl.SSLContext | None = None

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.accepted = 0
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall on a
        # machine without working DNS; a loopback server has no use for it.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = _HOST, self.server_address[1]

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            # The handshake happens in the handler thread (first read), so a client
            # that rejects the certificate cannot stall the accepting thread.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._open_lock:
            self.accepted += 1
            self._open.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            for sock in self._open:
                _hang_up(sock)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections cut by a client or by ``stop`` are normal here; stay quiet."""


def _echoed(reply: RawReply, request: RecordedRequest) -> RawReply:
    headers = json.dumps(dict(request.headers))
    body = reply.body.replace(b"{headers_text}", json.dumps(headers).encode())
    return replace(reply, body=body.replace(b"{headers}", headers.encode()), echo_headers=False)


def _hang_up(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Tests read ``FakeServer.requests``, not a log on stderr."""

    def do_POST(self) -> None:
        fake = cast(_HTTPServer, self.server).fake
        self._head_sent = False
        try:
            self._answer(fake, self._read_request(fake))
        except OSError:
            self.close_connection = True
        except Exception as exc:  # a format bug must reach the test, not kill the thread
            fake.errors.append(exc)
            if not self._head_sent:
                self._send_whole(
                    500, {"content-type": "text/plain"}, f"FakeServer: {exc!r}".encode()
                )
            self.close_connection = True

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    # -- reading ------------------------------------------------------------------------

    def _read_request(self, fake: FakeServer) -> RecordedRequest:
        body = self._read_body()
        route, _, query = self.path.partition("?")
        provider, _, rest = route.lstrip("/").partition("/")
        path = "/" + rest + (f"?{query}" if query else "")
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            parsed = None
        return fake._record(
            lambda index: RecordedRequest(
                method=self.command,
                path=path,
                raw_path=self.path,
                query=dict(parse_qsl(query, keep_blank_values=True)),
                headers=lower_headers(self.headers.items()),
                body=body,
                json=parsed,
                provider=provider,
                index=index,
            )
        )

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # -- answering ----------------------------------------------------------------------

    def _answer(self, fake: FakeServer, request: RecordedRequest) -> None:
        fmt = get_format(request.provider)
        if fmt is None:
            message = f"FakeServer: no wire format for the prefix /{request.provider}"
            body = json_bytes({"error": {"message": message}})
            self._send_whole(404, {"content-type": "application/json"}, body)
            return
        batch = fake._batch_state().answer(fmt, request)
        if batch is not None:
            self._send_rendered(batch)
            return
        if not fmt.matches(request):
            missing = ErrorReply(
                404, f"FakeServer: no {fmt.name} endpoint {request.method} {request.route}"
            )
            self._send_rendered(fmt.render_error(missing, request))
            return
        reply = fake._next_reply(request.provider)
        if reply is None:
            reply = Reply(text="echo: " + fmt.last_user_text(request))
        if isinstance(reply, Reply):
            self._send_reply(fake, fmt, reply, request)
        elif isinstance(reply, ErrorReply):
            if fake._pause(reply.delay):
                self._send_rendered(fmt.render_error(reply, request))
        elif isinstance(reply, RawReply):
            self._send_raw(fake, _echoed(reply, request) if reply.echo_headers else reply)
        else:
            _FAULTS[reply.kind](self, fake, reply)

    def _send_reply(
        self, fake: FakeServer, fmt: WireFormat, reply: Reply, request: RecordedRequest
    ) -> None:
        if not fmt.is_stream(request):
            rendered = fmt.render(reply, request)
            if fake._pause(reply.delay):
                self._send_rendered(rendered)
            return
        status, headers, events = fmt.render_stream(reply, request)
        if not fake._pause(reply.delay):
            return self._abort()
        self._send_head(status, {**headers, "transfer-encoding": "chunked"})
        for n, event in enumerate(events):
            if n == reply.drop_after_events:
                return self._abort()
            if n == reply.stream_error_after:
                self._write_chunk(fmt.render_stream_error(reply.stream_error_message, request))
                break
            if n > 0 and not fake._pause(reply.chunk_delay):
                return self._abort()
            if n == 1 and reply.gate is not None and not fake._await_gate(reply.gate):
                return self._abort()
            self._write_chunk(event)
        self.wfile.write(b"0\r\n\r\n")

    def _send_raw(self, fake: FakeServer, reply: RawReply) -> None:
        if not fake._pause(reply.delay):
            return self._abort()
        if reply.chunks is None:
            self._send_whole(reply.status, dict(reply.headers), reply.body)
            return
        self._send_head(reply.status, {"transfer-encoding": "chunked", **reply.headers})
        for n, chunk in enumerate(reply.chunks):
            if n > 0 and not fake._pause(reply.chunk_delay):
                return self._abort()
            self._write_chunk(chunk)
        self.wfile.write(b"0\r\n\r\n")

    # -- faults -------------------------------------------------------------------------

    def _fault_drop(self, fake: FakeServer, fault: Fault) -> None:
        self._abort()

    def _fault_hang(self, fake: FakeServer, fault: Fault) -> None:
        fake._stopping.wait()
        self._abort()

    def _fault_reset_mid_body(self, fake: FakeServer, fault: Fault) -> None:
        self._send_head(200, {**fault.headers, "content-length": str(len(fault.body))})
        self.wfile.write(fault.body[: len(fault.body) // 2])
        self._abort()

    def _fault_drip(self, fake: FakeServer, fault: Fault) -> None:
        self._send_head(200, {**fault.headers, "content-length": str(len(fault.body))})
        for n in range(len(fault.body)):
            if n > 0 and not fake._pause(fault.interval):
                return self._abort()
            self.wfile.write(fault.body[n : n + 1])

    def _fault_raw(self, fake: FakeServer, fault: Fault) -> None:
        self.wfile.write(fault.body)
        self._abort()

    # -- writing ------------------------------------------------------------------------

    def _send_head(self, status: int, headers: dict[str, str]) -> None:
        self._head_sent = True
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_whole(self, status: int, headers: dict[str, str], body: bytes) -> None:
        if not any(name.lower() == "content-length" for name in headers):
            headers = {**headers, "content-length": str(len(body))}
        self._send_head(status, headers)
        self.wfile.write(body)

    def _send_rendered(self, rendered: tuple[int, dict[str, str], bytes]) -> None:
        self._send_whole(*rendered)

    def _write_chunk(self, data: bytes) -> None:
        # An empty chunk would end the body early, so there is nothing to send.
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _abort(self) -> None:
        self.close_connection = True
        _hang_up(self.connection)


_FAULTS: dict[str, Callable[[_Handler, FakeServer, Fault], None]] = {
    "drop": _Handler._fault_drop,
    "hang": _Handler._fault_hang,
    "reset_mid_body": _Handler._fault_reset_mid_body,
    "drip": _Handler._fault_drip,
    "raw": _Handler._fault_raw,
}

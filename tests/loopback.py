"""Loopback stand-ins the transport and pipeline tests share: a raw threaded HTTP server,
a CONNECT proxy, and a self-signed certificate. Imported as ``from loopback import ...``;
the ``cert``, ``tls_context`` and ``connect_proxy`` fixtures in conftest.py wrap them.

Everything binds 127.0.0.1 and every blocking wait is bounded by ``WAIT``.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

WAIT = 5.0
"""Generous bound on any wait a test server does for the client."""


class Request:
    """One request as a loopback server read it."""

    def __init__(self, line: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.target, _ = line.split(" ", 2)
        self.headers = headers
        self.body = body


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def read_request(rfile) -> Request | None:
    """Read one HTTP/1.1 request (``Content-Length`` bodies only); None at end of stream."""
    line = rfile.readline()
    if not line:
        return None
    headers: dict[str, str] = {}
    while True:
        h = rfile.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = rfile.read(int(headers.get("content-length", "0")))
    return Request(line.decode("latin-1").strip(), headers, body)


def response(status: int = 200, body: bytes = b"ok", headers: dict[str, str] | None = None) -> bytes:
    """The bytes of one response with a ``Content-Length``."""
    head = {"Content-Length": str(len(body)), **(headers or {})}
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    return f"HTTP/1.1 {status} X\r\n{lines}\r\n".encode() + body


Handler = Callable[[socket.socket, "Server", int], None]


class Server:
    """Accepts on 127.0.0.1, runs ``handler(sock, server, index)`` per connection."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.requests: list[Request] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            index = self.accepted
            self.accepted += 1
            threading.Thread(target=self._serve, args=(sock, index), daemon=True).start()

    def _serve(self, sock: socket.socket, index: int) -> None:
        sock.settimeout(WAIT)
        try:
            if self.tls:
                sock = self.tls.wrap_socket(sock, server_side=True)
            self.handler(sock, self, index)
        except (OSError, ValueError):
            pass
        finally:
            sock.close()

    def serve_requests(self, sock: socket.socket, answer: Callable[[Request], bytes]) -> None:
        """Answer requests on one kept-alive connection until the client closes it."""
        rfile = sock.makefile("rb")
        while (req := read_request(rfile)) is not None:
            self.requests.append(req)
            sock.sendall(answer(req))

    def pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server is closed first: ``False`` once it is
        (a handler dripping bytes stops when its test is over)."""
        return not self._stopped.wait(seconds)

    def close(self) -> None:
        self._stopped.set()
        self.listener.close()


def keep_alive(answer: Callable[[Request], bytes] = lambda req: response()) -> Handler:
    """A handler answering every request on a connection with ``answer(request)``."""
    return lambda sock, server, index: server.serve_requests(sock, answer)


class ConnectProxy:
    """A threaded proxy: CONNECT opens a tunnel and pipes bytes both ways; a plain request
    gets ``proxied <target>`` back. It records what it was asked, and with ``require_auth``
    it refuses tunnels whose ``Proxy-Authorization`` differs with a 407."""

    def __init__(self, require_auth: str | None = None) -> None:
        self.connects: list[str] = []
        """The ``host:port`` of each tunnel asked for."""
        self.auth: list[str | None] = []
        """The ``Proxy-Authorization`` of each request (None when absent)."""
        self.plain: list[Request] = []
        """The non-CONNECT requests, sent in absolute form."""
        self.require_auth = require_auth
        self.server = Server(self._handle)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def _handle(self, sock: socket.socket, server: Server, index: int) -> None:
        req = read_request(sock.makefile("rb"))
        if req is None:
            return
        self.auth.append(req.headers.get("proxy-authorization"))
        if req.method != "CONNECT":
            self.plain.append(req)
            sock.sendall(response(body=f"proxied {req.target}".encode()))
            return
        self.connects.append(req.target)
        if self.require_auth is not None and req.headers.get("proxy-authorization") != self.require_auth:
            sock.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            return
        host, port = req.target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)), timeout=WAIT)
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pump = threading.Thread(target=self._pump, args=(upstream, sock), daemon=True)
        pump.start()
        self._pump(sock, upstream)
        pump.join(WAIT)
        upstream.close()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.server.close()


def make_certificate(folder: Path) -> tuple[str, str] | None:
    """A self-signed certificate for 127.0.0.1 and localhost, made by the openssl command
    line: ``(cert_file, key_file)``, or None when openssl is not installed."""
    if shutil.which("openssl") is None:
        return None
    cert_file, key_file = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key_file, "-out", cert_file],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert_file, key_file


def server_context(cert: tuple[str, str]) -> ssl.SSLContext:
    """A server-side TLS context presenting ``cert``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    return context

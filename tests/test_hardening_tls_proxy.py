"""Hardening, TLS and proxies: through the whole pipeline to an HTTPS FakeServer.

Certificates are made at test time with the openssl command line. Verification is on
by default; a private CA is trusted through ``SSL_CERT_FILE`` or the client's own
``ca_file``; HTTPS goes through a CONNECT proxy named by ``HTTPS_PROXY`` unless
``NO_PROXY`` says otherwise.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest
from test_hardening_faults import MODES, ask, run

from minicall import APIConnectionError, ConfigurationError
from minicall._http import _default
from minicall.testing import FakeServer


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not available")
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key_file, "-out", cert_file],
        check=True,
        capture_output=True,
    )
    return cert_file, key_file


@pytest.fixture()
def secure(cert) -> Iterator[FakeServer]:
    with FakeServer(tls=cert) as server:
        yield server


@pytest.fixture()
def fresh_default_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared transport builds its TLS context once; tests that change the
    environment's CA need one created after the change, as a new process would."""
    monkeypatch.setattr(_default, "_DEFAULT", None)


@pytest.mark.parametrize("mode", MODES)
def test_self_signed_server_is_rejected_by_default(secure, mode, fresh_default_transport):
    assert secure.url.startswith("https://")
    with pytest.raises(APIConnectionError) as info:
        run(ask(secure.client("openai", max_retries=0), mode), "hello")
    assert "certificate" in str(info.value).lower()
    assert secure.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_private_ca_through_ssl_cert_file_is_trusted(secure, cert, mode, monkeypatch, fresh_default_transport):
    monkeypatch.setenv("SSL_CERT_FILE", cert[0])
    response = run(ask(secure.client("openai", max_retries=0), mode), "hello")
    assert response.content == "echo: hello"
    assert secure.last.headers["authorization"] == "Bearer test-key"


@pytest.mark.parametrize("mode", MODES)
def test_private_ca_through_the_client_option_is_trusted_by_that_client_only(secure, cert, mode, fresh_default_transport):
    response = run(ask(secure.client("openai", max_retries=0, ca_file=cert[0]), mode), "hello")
    assert response.content == "echo: hello"
    with pytest.raises(APIConnectionError, match="(?i)certificate"):
        run(ask(secure.client("openai", max_retries=0), mode), "again")
    assert len(secure.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_verify_false_accepts_the_self_signed_server(secure, mode):
    response = run(ask(secure.client("openai", max_retries=0, verify=False), mode), "hello")
    assert response.content == "echo: hello"


def test_missing_ca_file_is_a_configuration_error_before_any_io(secure, tmp_path):
    with pytest.raises(ConfigurationError, match="ca_file"):
        secure.client("openai", ca_file=str(tmp_path / "nope.pem"))
    assert secure.connections_accepted == 0


# -- CONNECT proxy ---------------------------------------------------------------------------


class ConnectProxy:
    """A loopback CONNECT proxy that records each tunnel's target and pipes bytes."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        self._stopped = False
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._open.append(client)
            thread = threading.Thread(target=self._tunnel, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(4096)
            if not data:
                return client.close()
            head += data
        method, target = head.split(b"\r\n")[0].decode().split()[:2]
        self.targets.append(f"{method} {target}")
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            return client.close()
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        self._open.append(upstream)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pump = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
        pump.start()
        self._pump(client, upstream)
        pump.join(5)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._stopped = True
        self._listener.close()
        for sock in self._open:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in self._threads:
            thread.join(5)


@pytest.fixture()
def proxy() -> Iterator[ConnectProxy]:
    server = ConnectProxy()
    yield server
    server.close()


@pytest.mark.parametrize("mode", MODES)
def test_https_goes_through_the_connect_proxy_named_by_https_proxy(secure, cert, proxy, mode, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    response = run(ask(secure.client("openai", max_retries=0, ca_file=cert[0]), mode), "via proxy")
    assert response.content == "echo: via proxy"
    port = secure.url.rsplit(":", 1)[1]
    assert proxy.targets == [f"CONNECT 127.0.0.1:{port}"]
    # The proxy saw only the tunnel request; the credential travelled inside TLS.
    assert secure.last.headers["authorization"] == "Bearer test-key"


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*"])
@pytest.mark.parametrize("mode", MODES)
def test_no_proxy_sends_the_request_direct(secure, cert, proxy, mode, no_proxy, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    response = run(ask(secure.client("openai", max_retries=0, ca_file=cert[0]), mode), "direct")
    assert response.content == "echo: direct"
    assert proxy.targets == []


@pytest.mark.parametrize("mode", MODES)
def test_unreachable_proxy_is_a_connection_error(secure, cert, mode, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{dead}")
    with pytest.raises(APIConnectionError):
        run(ask(secure.client("openai", max_retries=0, ca_file=cert[0]), mode), "hello")
    assert secure.requests == []

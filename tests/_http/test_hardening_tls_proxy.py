"""Hardening, TLS and proxies: through the whole pipeline to an HTTPS FakeServer.

Certificates are made at test time with the openssl command line. Verification is on
by default; a private CA is trusted through ``SSL_CERT_FILE`` or the client's own
``ca_file``; HTTPS goes through a CONNECT proxy named by ``HTTPS_PROXY`` unless
``NO_PROXY`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from loopback import dead_port
from shared import MODES, ask, run

from minicall import APIConnectionError, ConfigurationError
from minicall._http import _default
from minicall.testing import FakeServer


@pytest.fixture()
def secure(cert) -> Iterator[FakeServer]:
    with FakeServer(tls=cert) as server:
        yield server


@pytest.fixture()
def fresh_default_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared transport builds its TLS context once; tests that change the
    environment's CA need one created after the change, as a new process would."""
    monkeypatch.setattr(_default, "_shared", None)


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


# -- CONNECT proxy (the ``proxy`` fixture, tests/loopback.py) --------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_https_goes_through_the_connect_proxy_named_by_https_proxy(secure, cert, proxy, mode, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    response = run(ask(secure.client("openai", max_retries=0, ca_file=cert[0]), mode), "via proxy")
    assert response.content == "echo: via proxy"
    port = secure.url.rsplit(":", 1)[1]
    assert proxy.connects == [f"127.0.0.1:{port}"] and proxy.plain == []
    # The proxy saw only the tunnel request; the credential travelled inside TLS.
    assert secure.last.headers["authorization"] == "Bearer test-key"


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*"])
@pytest.mark.parametrize("mode", MODES)
def test_no_proxy_sends_the_request_direct(secure, cert, proxy, mode, no_proxy, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    response = run(ask(secure.client("openai", max_retries=0, ca_file=cert[0]), mode), "direct")
    assert response.content == "echo: direct"
    assert proxy.connects == [] and proxy.server.accepted == 0


@pytest.mark.parametrize("mode", MODES)
def test_unreachable_proxy_is_a_connection_error(secure, cert, mode, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{dead_port()}")
    with pytest.raises(APIConnectionError):
        run(ask(secure.client("openai", max_retries=0, ca_file=cert[0]), mode), "hello")
    assert secure.requests == []


# -- hints: the error names the setting that fixes it ---------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_an_untrusted_certificate_names_ca_file_and_ssl_cert_file(secure, mode, fresh_default_transport):
    with pytest.raises(APIConnectionError) as info:
        run(ask(secure.client("openai", max_retries=0), mode), "hi")
    text = str(info.value)
    assert "ca_file=" in text and "SSL_CERT_FILE" in text
    assert f"POST {secure.url}/openai/v1/chat/completions" in text


@pytest.mark.parametrize("mode", MODES)
def test_a_dead_proxy_names_the_proxy_setting(secure, cert, mode, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{dead_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(APIConnectionError) as info:
        run(ask(secure.client("openai", max_retries=0, ca_file=cert[0]), mode), "hi")
    assert "HTTPS_PROXY" in str(info.value) and "NO_PROXY" in str(info.value)

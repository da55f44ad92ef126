"""SyncTransport against real loopback servers (raw sockets, TLS, a CONNECT proxy)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest
from loopback import WAIT, Server, keep_alive, response

from minicall._http._proxy import is_bypassed, parse_proxy, proxy_for
from minicall._http._sync import SyncTransport, default_transport
from minicall._model import errors as _errors
from minicall._model.errors import (
    ConfigurationError,
)
from minicall._model.http import HttpRequest, redact_url

PROXY_ENV = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture(autouse=True)
def _no_env_proxy(monkeypatch):
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)


# -- the loopback server (tests/loopback.py) ----------------------------------------------


@pytest.fixture
def transport() -> Iterator[SyncTransport]:
    t = SyncTransport()
    yield t
    t.close()


def get(url: str, **kw) -> HttpRequest:
    return HttpRequest("GET", url, timeout=kw.pop("timeout", WAIT), **kw)


# Framing, keep-alive, streams, failures, caps, redirects, logging, deadlines and fork are
# shared with the async transport: test_http_contract.py. Here: what only sync has.


# -- threads -------------------------------------------------------------------------------


def test_threads_share_the_pool_without_mixing_responses(serve, transport):
    server = serve(keep_alive(lambda req: response(body=req.target.encode())))
    results: dict[int, list[bytes]] = {}

    def worker(n: int) -> None:
        results[n] = [transport.send(get(server.url(f"/{n}/{i}"))).body for i in range(5)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert results == {n: [f"/{n}/{i}".encode() for i in range(5)] for n in range(6)}
    assert server.accepted <= 6  # connections were reused, one per thread at most


# -- TLS --------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(serve, tls_context) -> Server:
    return serve(keep_alive(lambda req: response(body=b"secure")), tls=tls_context)


def test_ssl_cert_file_environment_variable_is_honoured(tls_server, cert):
    script = textwrap.dedent(
        f"""
        from minicall._http._sync import SyncTransport
        from minicall._model.http import HttpRequest
        print(SyncTransport().send(HttpRequest("GET", {tls_server.url()!r}, timeout=5)).body.decode())
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in PROXY_ENV}
    env["SSL_CERT_FILE"] = cert[0]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.strip() == "secure", done.stderr


# -- proxies ----------------------------------------------------------------------------------


PROXY_CASES = [
    ({"HTTPS_PROXY": "http://p:3128"}, "api.openai.com", 443, "p:3128"),
    ({"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"}, "h", 443, "lower:1"),
    ({"HTTPS_PROXY": "p:3128", "NO_PROXY": "openai.com"}, "api.openai.com", 443, None),
    ({"HTTPS_PROXY": "p:3128", "no_proxy": ".openai.com"}, "api.openai.com", 443, None),
    ({"HTTPS_PROXY": "p:3128", "NO_PROXY": "*"}, "anything", 443, None),
    ({"HTTPS_PROXY": "p:3128", "NO_PROXY": "localhost:8443"}, "localhost", 8443, None),
    ({"HTTPS_PROXY": "p:3128", "NO_PROXY": "localhost:8443"}, "localhost", 9443, "p:3128"),
    ({"HTTPS_PROXY": "p:3128", "NO_PROXY": "notopenai.com"}, "openai.com", 443, "p:3128"),
    ({"HTTPS_PROXY": "p:3128"}, "127.0.0.1", 443, "p:3128"),  # loopback is not implied
    ({"HTTP_PROXY": "http://p:3128"}, "h", 443, None),  # http proxy is for http URLs
]


@pytest.mark.parametrize(("env", "host", "port", "expected"), PROXY_CASES)
def test_proxy_selection_from_environment(env, host, port, expected):
    proxy = proxy_for("https", host, port, env)
    assert (proxy.address if proxy else None) == expected


@pytest.mark.parametrize(("env", "host", "port", "expected"), PROXY_CASES)
def test_proxy_selection_from_the_process_environment_is_the_same(monkeypatch, env, host, port, expected):
    # os.environ is read in one pass and the decision cached per set of values.
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    proxy = proxy_for("https", host, port)
    assert (proxy.address if proxy else None) == expected


def test_a_proxy_variable_set_or_removed_at_run_time_counts_at_once(monkeypatch):
    assert proxy_for("http", "example.com", 80) is None
    monkeypatch.setenv("HTTP_PROXY", "http://p:3128")
    assert proxy_for("http", "example.com", 80).address == "p:3128"
    monkeypatch.setenv("no_proxy", "example.com")
    assert proxy_for("http", "example.com", 80) is None
    monkeypatch.delenv("no_proxy")
    monkeypatch.setenv("REQUEST_METHOD", "GET")  # CGI: HTTP_PROXY is not to be trusted
    assert proxy_for("http", "example.com", 80) is None
    monkeypatch.delenv("REQUEST_METHOD")
    monkeypatch.delenv("HTTP_PROXY")
    assert proxy_for("http", "example.com", 80) is None


def test_cgi_http_proxy_variable_is_ignored():
    assert (
        proxy_for("http", "h", 80, {"HTTP_PROXY": "http://evil:1", "REQUEST_METHOD": "GET"}) is None
    )


@pytest.mark.parametrize(
    "url", ["https://p:443", "socks5://p:1080", "http://:80", "http://p:notaport"]
)
def test_unsupported_proxy_urls_are_configuration_errors(url):
    with pytest.raises(ConfigurationError):
        parse_proxy(url)


def test_proxy_repr_hides_credentials():
    proxy = parse_proxy("http://user:hunter2@p:3128")
    assert "hunter2" not in repr(proxy) and proxy.authorization is not None


def test_ipv6_no_proxy_entry_matches():
    assert is_bypassed("::1", 443, "::1")


# -- logging ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "hidden"),
    [
        ("https://h/p?key=zz1&x=1", "zz1"),
        ("https://h/p?api-key=zz1", "zz1"),
        ("https://h/p?X-Amz-Signature=zz1&X-Amz-Credential=zz2", "zz"),
        ("https://h/p?sig=zz1", "zz1"),
        ("https://h/p?access_token=zz1", "zz1"),
        ("https://h/p?Token=zz1", "zz1"),
        ("http://user:zz1@proxy:3128", "zz1"),
    ],
)
def test_redact_url_masks_credential_values(url, hidden):
    assert hidden not in redact_url(url)
    assert "[redacted]" in redact_url(url)


def test_redact_url_keeps_ordinary_parts():
    assert redact_url("https://h:1/p?alt=sse&keyword=x#f") == "https://h:1/p?alt=sse&keyword=x#f"


# -- the shared instance ----------------------------------------------------------------------


def test_default_transport_is_one_shared_instance():
    seen: list[SyncTransport] = []
    threads = [threading.Thread(target=lambda: seen.append(default_transport())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(t) for t in seen}) == 1


def test_secret_headers_cover_what_redirects_must_drop():
    assert {
        "authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
    } <= _errors.SECRET_HEADERS

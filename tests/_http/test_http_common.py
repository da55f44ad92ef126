"""The rules both transports share (_http/_common): redirects, URL and header checks, errors."""

from __future__ import annotations

import asyncio
import http.server
import threading
from typing import ClassVar

import pytest

from minicall._http._async import AsyncioTransport
from minicall._http._common import checked_header_items, failure, frame_request, parse_url, redirect
from minicall._http._proxy import Proxy
from minicall._http._sync import SyncTransport
from minicall._model.errors import APIConnectionError, APITimeoutError, ConfigurationError
from minicall._model.http import HttpRequest

ORIGIN = parse_url("https://api.example.com/v1/chat?x=1")


@pytest.mark.parametrize(
    ("status", "method", "expected"),
    [
        (301, "POST", "GET"),
        (301, "PUT", "PUT"),
        (302, "POST", "GET"),
        (302, "PUT", "GET"),
        (303, "POST", "GET"),
        (303, "HEAD", "HEAD"),
        (302, "HEAD", "HEAD"),
        (307, "POST", "POST"),
        (308, "POST", "POST"),
    ],
)
def test_redirect_method_follows_the_browser_and_httpx_rule(status, method, expected):
    headers = {"content-type": "application/json", "content-length": "2", "x-trace": "t"}
    hop = redirect(status, "/next", method, ORIGIN, headers, b"{}")
    assert hop is not None and hop.method == expected
    if expected == method:
        assert hop.body == b"{}" and hop.headers["content-type"] == "application/json"
    else:
        assert hop.body == b"" and "content-type" not in hop.headers
    assert hop.headers["x-trace"] == "t"
    assert hop.url.text == "https://api.example.com/next"


def test_redirect_to_another_origin_drops_credentials_and_host():
    headers = {"authorization": "Bearer sk", "x-api-key": "k", "host": "api.example.com", "x-trace": "t"}
    hop = redirect(307, "https://api.example.com:8443/v1", "POST", ORIGIN, headers, b"{}")
    assert hop is not None and hop.headers == {"x-trace": "t"}
    same = redirect(307, "/v2", "POST", ORIGIN, headers, b"{}")
    assert same is not None and same.headers == headers


@pytest.mark.parametrize("location", [None, "", "ftp://example.com/file", "http://[::1"])
def test_redirect_that_cannot_be_followed_is_none(location):
    assert redirect(302, location, "GET", ORIGIN, {}, b"") is None


def test_non_redirect_status_is_none():
    assert redirect(200, "/next", "GET", ORIGIN, {}, b"") is None


@pytest.mark.parametrize(
    "url", ["ftp://h/x", "http:///x", "http://h:99999/", "http://h/a b", "http://h/\r\nX: y"]
)
def test_bad_urls_are_configuration_errors_that_never_echo_the_url(url):
    with pytest.raises(ConfigurationError) as info:
        parse_url(url)
    assert "/a b" not in str(info.value) and "X: y" not in str(info.value)


def test_header_checks_refuse_splitting_and_never_show_the_value():
    with pytest.raises(ConfigurationError) as info:
        checked_header_items({"Authorization": "Bearer sk-1\r\nX: y"})
    assert "sk-1" not in str(info.value)
    with pytest.raises(ConfigurationError):
        checked_header_items({"Bad Name": "v"})
    with pytest.raises(ConfigurationError):
        checked_header_items({"X-Name": "\u20ac"})


@pytest.mark.parametrize("value", [3, None, b"bytes", ["a", "list"]])
def test_a_header_value_that_is_not_text_is_a_configuration_error(value):
    # Hashable or not (the checks are cached per header set), the error is ours.
    with pytest.raises(ConfigurationError, match="must be a str"):
        checked_header_items({"X-Name": value})


def test_checked_headers_are_lower_case_immutable_pairs_with_defaults():
    first = checked_header_items({"X-A": "1"})
    assert checked_header_items({"X-A": "1"}) == first
    assert isinstance(first, tuple) and ("x-a", "1") in first
    assert dict(first)["user-agent"].startswith("minicall/")


def test_framing_owns_length_and_uses_absolute_form_through_a_plain_proxy():
    url = parse_url("http://example.com:8080/p?q=1")
    headers = checked_header_items({"Content-Length": "999", "Connection": "close"})
    payload, pairs = frame_request("POST", url, headers, b"{}", Proxy("proxy", 3128, "Basic x"))
    wire = dict(pairs)
    head = payload.split(b"\r\n\r\n")[0].decode()
    assert head.startswith("POST http://example.com:8080/p?q=1 HTTP/1.1\r\n")
    assert wire["content-length"] == "2" and "connection" not in wire
    assert wire["host"] == "example.com:8080" and wire["proxy-authorization"] == "Basic x"
    assert payload.endswith(b"\r\n\r\n{}")


def test_failures_name_the_place_and_kind_never_more():
    assert isinstance(failure(TimeoutError(), "h:1", 2.0), APITimeoutError)
    refused = failure(ConnectionRefusedError(111, "refused"), "h:1", None)
    assert type(refused) is APIConnectionError and "connection refused (h:1)" in str(refused)


# -- the two transports apply the same rule on the wire ------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, str, bytes]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.seen.append((self.command, self.path, body))
        if self.path.startswith("/redirect/"):
            self.send_response(int(self.path.rsplit("/", 1)[1]))
            self.send_header("Location", "/landing")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _send_sync(request: HttpRequest) -> bytes:
    with SyncTransport(trust_env=False) as transport:
        return transport.send(request).body


def _send_async(request: HttpRequest) -> bytes:
    async def main() -> bytes:
        transport = AsyncioTransport(trust_env=False)
        try:
            return await (await transport.send_async(request)).read()
        finally:
            await transport.aclose()

    return asyncio.run(main())


@pytest.mark.parametrize("send", [_send_sync, _send_async], ids=["sync", "async"])
@pytest.mark.parametrize(("status", "method"), [(301, "GET"), (302, "GET"), (303, "GET"), (307, "POST"), (308, "POST")])
def test_both_transports_redirect_a_post_the_same_way(server, send, status, method):
    _Handler.seen.clear()
    body = send(HttpRequest("POST", f"{server}/redirect/{status}", {"Content-Type": "application/json"}, b"{}", 5))
    assert body == b"ok"
    assert _Handler.seen[-1] == (method, "/landing", b"{}" if method == "POST" else b"")

"""Errors that say where and how to fix: each names its request and hints at the cure.

Every error that had a request names the method, the URL (credentials masked), the
attempts made and the request id; the common mistakes get a hint naming the setting
that fixes them. Each over loopback: a wrong base URL (404/405), a refused connection,
a timeout, an untrusted certificate, a proxy that is down or wants credentials.
"""

from __future__ import annotations

import base64
import logging
import socketserver
import threading

import pytest
from loopback import dead_port
from shared import MODES, ask, run

from minicall import APIConnectionError, APIError, APITimeoutError, AuthenticationError, NotFoundError, ResponseFormatError
from minicall._http._async import AsyncioTransport
from minicall._http._sync import SyncTransport
from minicall.testing import ErrorReply, Fault, RawReply, Reply


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [404, 405])
def test_not_found_names_the_request_and_the_path_minicall_appended(fake, mode, status):
    fake.script(RawReply(status=status, headers={"x-request-id": "req_404"}, body=b""))
    client = fake.client("openai", max_retries=0, base_url=fake.url + "/openai?key=SECRET-in-query-123")
    with pytest.raises(Exception) as info:
        run(ask(client, mode), "hi")
    error = info.value
    text = str(error)
    assert error.status_code == status and error.method == "POST"
    assert error.url == fake.url + "/openai/chat/completions?key=[redacted]"
    assert f"POST {error.url}" in text and "request id req_404" in text and "after 1 attempt" in text
    assert "'/chat/completions'" in error.hint and "base_url" in error.hint and "/v1" in error.hint
    assert "SECRET-in-query" not in text + repr(error) + repr(client)
    if status == 404:
        assert isinstance(error, NotFoundError)


@pytest.mark.parametrize("mode", MODES)
def test_a_refused_key_names_the_environment_variable(fake, mode):
    fake.script(ErrorReply(401))
    with pytest.raises(AuthenticationError) as info:
        run(ask(fake.client("openai", max_retries=0), mode), "hi")
    assert "OPENAI_API_KEY" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_refused_connection_says_how_many_attempts(mode, sleeps):
    from minicall.providers.openai import OpenAIClient

    port = dead_port()
    client = OpenAIClient(api_key="sk-test-0123456789", base_url=f"http://127.0.0.1:{port}/v1", max_retries=2)
    with pytest.raises(APIConnectionError) as info:
        run(ask(client, mode), "hi")
    error = info.value
    assert error.attempts == 3
    assert f"POST http://127.0.0.1:{port}/v1/chat/completions, 3 attempts" in str(error)
    assert "check base_url" in str(error)


@pytest.mark.parametrize("mode", MODES)
def test_a_timeout_says_how_many_attempts_and_names_timeout(fake, mode):
    fake.script(Fault("hang"))
    client = fake.client("openai", max_retries=0, timeout=0.2)
    with pytest.raises(APITimeoutError) as info:
        run(ask(client, mode), "hi")
    assert "1 attempt" in str(info.value) and "timeout=" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_deadline_names_deadline(fake, mode):
    fake.script(Fault("hang"))
    client = fake.client("openai", max_retries=0, timeout=30, deadline=0.3)
    with pytest.raises(APITimeoutError) as info:
        run(ask(client, mode), "hi")
    assert "deadline=" in info.value.hint and "1 attempt" in str(info.value)


class _EchoingProxy(socketserver.ThreadingTCPServer):
    """A loopback proxy that answers every request 407, echoing the request head back."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)

    @property
    def url(self) -> str:
        return f"http://user:SECRET-proxy-pw@127.0.0.1:{self.server_address[1]}"


class _EchoHandler(socketserver.StreamRequestHandler):
    timeout = 5

    def handle(self) -> None:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = self.rfile.readline(65536)
            if not line:
                return
            head += line
        echoed = [line for line in head.split(b"\r\n") if line.lower().startswith(b"proxy-authorization")]
        assert echoed, "the client sent its proxy credentials"
        self.wfile.write(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n"
            b"X-Echo: " + echoed[0] + b"\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(head), head)
        )


@pytest.mark.parametrize("mode", MODES)
def test_a_proxy_wanting_credentials_names_where_they_go_and_its_echo_leaks_nothing(fake, mode, caplog):
    # Plain http through a proxy: the proxy's 407 comes back as a response, echoing the
    # request (its Proxy-Authorization included) into the body and a header.
    with _EchoingProxy() as proxy:
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        try:
            transport = SyncTransport(proxy=proxy.url) if mode == "sync" else AsyncioTransport(proxy=proxy.url)
            client = fake.client("openai", max_retries=0, transport=transport)
            with caplog.at_level(logging.DEBUG, logger="minicall"), pytest.raises(APIError) as info:
                run(ask(client, mode), "hi")
        finally:
            proxy.shutdown()
            thread.join(5)
    error = info.value
    secret = base64.b64encode(b"user:SECRET-proxy-pw").decode()
    assert error.status_code == 407 and error.body is None
    assert "HTTPS_PROXY" in error.hint and "user:pass@" in error.hint
    everything = str(error) + repr(error) + repr(error.headers) + caplog.text
    assert secret not in everything and "SECRET-proxy-pw" not in everything


@pytest.mark.parametrize("mode", MODES)
def test_a_stream_broken_midway_names_its_request(fake, mode):
    fake.script(Reply(text="one two three four", stream_chunks=4, drop_after_events=1))
    with pytest.raises(APIConnectionError) as info:
        run(ask(fake.client("openai", max_retries=0), mode, stream=True), "hi")
    error = info.value
    assert error.method == "POST" and error.url == fake.base_url("openai") + "/chat/completions"
    assert f"(POST {error.url}, 1 attempt, request id {error.request_id})" in str(error)
    assert error.request_id is not None and error.request_id.startswith("req_")
    assert error.partial is not None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "stream, reply",
    [
        (False, RawReply(headers={"content-type": "text/html", "x-request-id": "req_html"}, body=b"<html>a proxy's page</html>")),
        (False, RawReply(headers={"content-type": "application/json", "x-request-id": "req_html"}, body=b'{"choices": 5}')),
        (True, RawReply(headers={"content-type": "text/event-stream", "x-request-id": "req_html"}, body=b"data: {not json}\n\n")),
    ],
)
def test_a_reply_minicall_cannot_read_names_its_request_attempts_and_request_id(fake, mode, stream, reply):
    fake.script(reply)
    client = fake.client("openai", max_retries=0, base_url=fake.url + "/openai/v1?key=SECRET-in-query-123")
    with pytest.raises(ResponseFormatError) as info:
        run(ask(client, mode, stream=stream), "hi")
    error = info.value
    assert error.method == "POST" and error.url == fake.url + "/openai/v1/chat/completions?key=[redacted]"
    assert error.request_id == "req_html"
    assert error.attempts == 1
    assert f"(POST {error.url}, 1 attempt, request id req_html)" in str(error)
    assert "SECRET-in-query" not in str(error) + repr(error)
    if b"<html>" in reply.body:
        assert error.hint is not None and "HTML page" in error.hint and "base_url" in error.hint
    else:
        assert error.hint is None


@pytest.mark.parametrize("mode", MODES)
def test_an_unreadable_reply_after_a_retry_says_how_many_attempts_were_made(fake, mode, sleeps, async_sleeps):
    fake.script(ErrorReply(503, message="busy"), RawReply(headers={"content-type": "text/html"}, body=b"<html>page</html>"))
    client = fake.client("openai", max_retries=2)
    with pytest.raises(ResponseFormatError) as info:
        run(ask(client, mode), "hi")
    assert info.value.attempts == 2 and ", 2 attempts" in str(info.value)

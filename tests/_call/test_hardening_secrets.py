"""Hardening, secrets: credentials never show, even when the server echoes them back.

For every provider: the client's repr, a response's call_kwargs, every log record of
the ``minicall`` logger at DEBUG, and every part of an error raised from a server that
echoes the request headers into its error body are free of the client's credentials.
Plus: no credential follows a redirect to another origin, plain http:// to a remote
host warns once, and the command line never prints a key.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

import pytest
from shared import MODES, OK_BODY, ask, run

from minicall import APIError, MinicallError
from minicall._call import client as client_module
from minicall._call.registry import PROVIDERS
from minicall._model.http import HttpResponse, MockTransport
from minicall.testing import FakeServer, RawReply, Reply
from minicall.testing._formats import get_format

SECRET_WORDS = ("key", "token", "secret")
MODELS = {"bedrock": "anthropic.claude-3-haiku-20240307-v1:0", "google": "gemini-1.5-flash", "cohere": "command-r"}
# An error body every provider's error reader understands, echoing the request headers.
ECHO = b'{"message": {headers_text}, "Message": {headers_text}, "error": {"message": {headers_text}, "headers": {headers}}}'


def secret_kwargs(provider: str) -> dict[str, str]:
    """Fresh, recognisable credentials for ``provider``'s client (an access key id is no secret)."""
    fmt = get_format(provider)
    assert fmt is not None, f"{provider}: no FakeServer wire format"
    out = {
        name: f"SECRET-{name}-{provider}-0123456789"
        for name in fmt.client_kwargs
        if any(w in name for w in SECRET_WORDS) and name != "access_key_id"
    }
    if provider == "bedrock":
        out["session_token"] = "SECRET-session-token-0123456789"
    return out


def make_client(fake: FakeServer, provider: str, **kwargs: Any) -> tuple[Any, list[str]]:
    secrets = secret_kwargs(provider)
    client = fake.client(provider, max_retries=0, **secrets, **kwargs)
    return client, list(secrets.values())


def assert_clean(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_client_repr_and_str_hold_no_secret(fake, provider):
    client, secrets = make_client(fake, provider)
    assert_clean(repr(client) + str(client), secrets)
    assert set(secrets) <= set(client.secrets())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_successful_call_logs_and_call_kwargs_hold_no_secret(fake, provider, mode, caplog):
    client, secrets = make_client(fake, provider)
    fake.script(Reply(text="fine"))
    with caplog.at_level(logging.DEBUG, logger="minicall"):
        response = run(ask(client, mode, provider=provider, model=MODELS.get(provider, "m")), "hello")
    assert response.content == "fine"
    assert caplog.records, "the pipeline logs each attempt at DEBUG"
    assert_clean(caplog.text, secrets)
    assert_clean(json.dumps(response.call_kwargs, default=repr), secrets)
    assert_clean(repr(response) + str(response) + json.dumps(response.response, default=repr), secrets)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_error_echoing_the_request_headers_holds_no_secret(fake, provider, mode, caplog):
    client, secrets = make_client(fake, provider)
    fake.script(RawReply(401, {"content-type": "application/json"}, ECHO, echo_headers=True))
    with caplog.at_level(logging.DEBUG, logger="minicall"), pytest.raises(APIError) as info:
        run(ask(client, mode, provider=provider, model=MODELS.get(provider, "m")), "hello")
    received = json.dumps(dict(fake.last.headers))
    assert any(secret in received for secret in secrets), "the server did get a credential to echo"
    error = info.value
    assert "[redacted]" in json.dumps(error.body) + error.message
    everything = " ".join(
        [str(error), repr(error), error.message, json.dumps(error.body, default=repr), repr(error.headers), caplog.text]
    )
    assert_clean(everything, secrets)


@pytest.mark.parametrize("mode", MODES)
def test_secret_echoed_into_a_stream_is_redacted_even_when_split_across_pieces(fake, mode):
    client, secrets = make_client(fake, "openai")
    key = secrets[0]
    event = 'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n'
    frames = (event % f"your key is {key}").encode()
    cut = frames.index(key.encode()) + 5
    stop = (event % "!").encode() + b"data: [DONE]\n\n"
    fake.script(RawReply(200, {"content-type": "text/event-stream"}, chunks=[frames[:cut], frames[cut:], stop]))
    stream = run(ask(client, mode, stream=True), "hello")
    assert stream.content == "your key is [redacted]!"


@pytest.mark.parametrize("mode", MODES)
def test_garbage_reply_echoing_the_key_is_redacted_in_the_snippet(fake, mode):
    client, secrets = make_client(fake, "openai")
    fake.script(RawReply(200, {"content-type": "text/html"}, b"<pre>{headers}</pre>", echo_headers=True))
    with pytest.raises(MinicallError) as info:
        run(ask(client, mode), "hello")
    assert "[redacted]" in str(info.value)
    assert_clean(str(info.value) + repr(info.value), secrets)


# -- redirects and plain http ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_credentials_are_not_forwarded_on_a_redirect_to_another_origin(fake, mode):
    with FakeServer() as elsewhere:
        target = elsewhere.base_url("openai") + "/chat/completions"
        fake.script(RawReply(307, {"location": target, "content-length": "0"}))
        client, secrets = make_client(fake, "openai")
        response = run(ask(client, mode), "hello")
        assert response.content == "echo: hello"
        assert "authorization" in fake.last.headers
        assert "authorization" not in elsewhere.last.headers
        assert_clean(json.dumps(dict(elsewhere.last.headers)), secrets)


def _remote_client(mode: str) -> Any:
    from minicall.providers.openai import OpenAIClient

    def answer(request: Any) -> HttpResponse:
        return HttpResponse(200, {"content-type": "application/json"}, OK_BODY)

    client = OpenAIClient(api_key="sk-remote-0123456789", base_url="http://llm.internal.example/v1", transport=MockTransport(answer))
    return ask(client, mode)


@pytest.mark.parametrize("mode", MODES)
def test_plain_http_to_a_remote_host_works_and_warns_once_without_the_key(mode, caplog, monkeypatch):
    monkeypatch.setattr(client_module, "_warned_hosts", set())
    fn = _remote_client(mode)
    with caplog.at_level(logging.WARNING, logger="minicall"):
        assert run(fn, "one").content == "hi"
        assert run(fn, "two").content == "hi"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "llm.internal.example" in warnings[0].getMessage()
    assert "sk-remote" not in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_plain_http_to_loopback_does_not_warn(fake, mode, caplog, monkeypatch):
    monkeypatch.setattr(client_module, "_warned_hosts", set())
    with caplog.at_level(logging.WARNING, logger="minicall"):
        run(ask(fake.client("openai"), mode), "hello")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# -- the command line --------------------------------------------------------------------

CLI_KEY = "sk-cli-SECRET-0123456789"


def run_cli(fake: FakeServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_PROXY", "_proxy"))}
    env.update(OPENAI_API_KEY=CLI_KEY, OPENAI_BASE_URL=fake.base_url("openai"), NO_PROXY="*")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "minicall", "call", "--provider", "openai", "--model", "gpt-4o-mini", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize("stream", [False, True])
def test_cli_never_prints_the_key_on_success(fake, stream):
    done = run_cli(fake, *(["--stream"] if stream else []), "hello there")
    assert done.returncode == 0, done.stderr
    assert "echo: hello there" in done.stdout
    assert fake.last.headers["authorization"] == f"Bearer {CLI_KEY}"
    assert CLI_KEY not in done.stdout + done.stderr


@pytest.mark.parametrize("stream", [False, True])
def test_cli_never_prints_the_key_when_the_server_echoes_it_in_an_error(fake, stream):
    fake.script(RawReply(401, {"content-type": "application/json"}, ECHO, echo_headers=True))
    done = run_cli(fake, *(["--stream"] if stream else []), "hello")
    assert done.returncode == 1
    assert "401" in done.stderr and "[redacted]" in done.stderr
    assert CLI_KEY not in done.stdout + done.stderr

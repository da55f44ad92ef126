"""Hardening, bad input: garbage from the server and mistakes from the user.

Server side: every malformed reply reaches the caller as a typed minicall error whose
text shows a snippet of what arrived, through the whole pipeline, sync and async.
User side: every mistake is reported before any byte goes on the wire (the FakeServer
accepts no connection).
"""

from __future__ import annotations

from typing import Any

import pytest
from shared import MODES, OK_BODY, ask, run

from minicall import (
    ConfigurationError,
    InternalServerError,
    MinicallError,
    PromptError,
    ResponseFormatError,
    llm,
    prompt_template,
)
from minicall._framing.eventstream import encode_message
from minicall.testing import FakeServer, RawReply

JSON = {"content-type": "application/json"}
SSE = {"content-type": "text/event-stream"}


# -- bad input from the server ----------------------------------------------------------

# name -> (reply, stream?, error type, text the error must show)
SERVER_GARBAGE: dict[str, tuple[RawReply, bool, type[MinicallError], str]] = {
    "truncated JSON": (RawReply(200, JSON, OK_BODY[:50]), False, ResponseFormatError, '"chat.completion"'),
    "HTML page with 200": (
        RawReply(200, {"content-type": "text/html"}, b"<html><body>Oops</body></html>"),
        False,
        ResponseFormatError,
        "<html><body>Oops",
    ),
    "HTML error page": (
        RawReply(502, {"content-type": "text/html"}, b"<html><h1>502 Bad Gateway</h1>nginx</html>"),
        False,
        InternalServerError,
        "502 Bad Gateway",
    ),
    "invalid UTF-8": (RawReply(200, JSON, b'{"choices": "\xff\xfe"}'), False, ResponseFormatError, "choices"),
    "wrong shape": (RawReply(200, JSON, b"[1, 2, 3]"), False, ResponseFormatError, "[1, 2, 3]"),
    "missing required fields": (RawReply(200, JSON, b'{"id": "x"}'), False, ResponseFormatError, "choices"),
    "number where a string belongs": (
        RawReply(200, JSON, OK_BODY.replace(b'"hi"', b"42")),
        False,
        ResponseFormatError,
        "42",
    ),
    "multi-gigabyte body": (
        RawReply(200, {**JSON, "content-length": "6000000000"}, b"{"),
        False,
        ResponseFormatError,
        "larger than",
    ),
    "whole JSON body to a stream request": (RawReply(200, JSON, OK_BODY), True, ResponseFormatError, "chat.completion"),
    "HTML page to a stream request": (
        RawReply(200, {"content-type": "text/html"}, b"<html>maintenance</html>"),
        True,
        ResponseFormatError,
        "maintenance",
    ),
    "SSE line without end": (
        RawReply(200, SSE, chunks=[b'data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"par']),
        True,
        ResponseFormatError,
        "chat.completion.chunk",
    ),
    "SSE event that is not JSON": (
        RawReply(200, SSE, chunks=[b"data: <html>oops</html>\n\n"]),
        True,
        ResponseFormatError,
        "<html>oops",
    ),
}


@pytest.mark.parametrize("name", list(SERVER_GARBAGE))
@pytest.mark.parametrize("mode", MODES)
def test_garbage_from_the_server_is_a_typed_error_with_a_snippet(fake, mode, name):
    reply, stream, error_type, shown = SERVER_GARBAGE[name]
    fake.script(reply)
    with pytest.raises(MinicallError) as info:
        run(ask(fake.client("openai", max_retries=0), mode, stream=stream), "hello")
    assert isinstance(info.value, error_type), repr(info.value)
    assert shown in str(info.value)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_endless_body_stops_at_the_size_cap(fake, mode):
    # No Content-Length: the cap must hold while reading, not only on a declared size.
    megabyte = b"x" * (1 << 20)
    fake.script(RawReply(200, JSON, chunks=[megabyte] * 80))
    with pytest.raises(ResponseFormatError) as info:
        run(ask(fake.client("openai", max_retries=0), mode), "hello")
    assert "larger than" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_wrong_content_type_on_a_valid_json_reply_is_tolerated(fake, mode):
    # Proxies relabel bodies; the body is the evidence, so a correct one is accepted.
    fake.script(RawReply(200, {"content-type": "text/plain"}, OK_BODY))
    response = run(ask(fake.client("openai", max_retries=0), mode), "hello")
    assert response.content == "hi"


def _bedrock_client(fake: FakeServer) -> Any:
    return fake.client("bedrock", max_retries=0)


@pytest.mark.parametrize("mode", MODES)
def test_event_stream_frame_with_a_bad_crc_is_a_response_format_error(fake, mode):
    client = _bedrock_client(fake)
    frame = bytearray(
        encode_message(
            {":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"},
            b'{"contentBlockIndex":0,"delta":{"text":"hello"}}',
        )
    )
    frame[-1] ^= 0xFF  # the message CRC no longer matches
    fake.script(RawReply(200, {"content-type": "application/vnd.amazon.eventstream"}, chunks=[bytes(frame)]))
    fn = ask(client, mode, provider="bedrock", model="anthropic.claude-3-haiku-20240307-v1:0", stream=True)
    with pytest.raises(ResponseFormatError) as info:
        run(fn, "hello")
    assert "crc" in str(info.value).lower()


# -- bad input from the user --------------------------------------------------------------


def assert_no_io(fake: FakeServer) -> None:
    assert fake.requests == []
    assert fake.connections_accepted == 0


def test_unknown_provider_is_refused_at_decoration_naming_the_known_ones():
    with pytest.raises(ValueError) as info:
        llm.call("openia", "gpt-4o-mini")
    assert "openia" in str(info.value) and "openai" in str(info.value) and "anthropic" in str(info.value)


@pytest.mark.parametrize("model", ["", None])
def test_missing_model_is_refused_at_decoration(model):
    with pytest.raises(ConfigurationError, match="model"):
        llm.call("openai", model)  # type: ignore[arg-type]


def test_override_to_another_provider_without_a_model_is_refused(fake):
    fn = ask(fake.client("openai"), "sync")
    with pytest.raises(ValueError, match="model"):
        llm.override(fn, provider="anthropic")


def _user_mistakes(fake: FakeServer, mode: str) -> dict[str, tuple[Any, type[Exception], str]]:
    """name -> (a thunk running the mistaken call, error type, words in the message)."""
    client = fake.client("openai")

    def decorated(body: Any, **settings: Any) -> Any:
        if mode == "sync":

            def prompt(x: Any = None) -> Any:
                return body(x)

            return llm.call("openai", "gpt-4o-mini", client=client, **settings)(prompt)

        async def async_prompt(x: Any = None) -> Any:
            return body(x)

        return llm.call("openai", "gpt-4o-mini", client=client, **settings)(async_prompt)

    if mode == "sync":

        @prompt_template("Recommend a {genre} book by {author}")
        def template(genre: str) -> None: ...

    else:

        @prompt_template("Recommend a {genre} book by {author}")
        async def template(genre: str) -> None: ...

    templated = llm.call("openai", "gpt-4o-mini", client=client)(template)
    return {
        "prompt returns an int": (lambda: run(decorated(lambda x: 42)), PromptError, "int"),
        "prompt returns a list of ints": (lambda: run(decorated(lambda x: [1, 2])), PromptError, "messages[0]"),
        "template names a missing argument": (lambda: run(templated, "fantasy"), PromptError, "author"),
        "dynamic call_params not a dict": (
            lambda: run(decorated(lambda x: {"messages": [{"role": "user", "content": "hi"}], "call_params": ["t"]})),
            PromptError,
            "call_params",
        ),
        "non-serialisable argument": (
            lambda: run(decorated(lambda x: [{"role": "user", "content": x}]), object()),
            PromptError,
            "JSON",
        ),
        "non-serialisable call param": (
            lambda: run(decorated(lambda x: "hi", call_params={"temperature": object()})),
            PromptError,
            "JSON",
        ),
    }


USER_MISTAKES = [
    "prompt returns an int",
    "prompt returns a list of ints",
    "template names a missing argument",
    "dynamic call_params not a dict",
    "non-serialisable argument",
    "non-serialisable call param",
]


@pytest.mark.parametrize("name", USER_MISTAKES)
@pytest.mark.parametrize("mode", MODES)
def test_user_mistake_is_a_clear_error_before_any_io(fake, mode, name):
    thunk, error_type, words = _user_mistakes(fake, mode)[name]
    with pytest.raises(error_type) as info:
        thunk()
    assert words in str(info.value)
    assert_no_io(fake)


@pytest.mark.parametrize("bad", [["temperature"], "temperature=0", 0.5])
def test_call_params_of_the_wrong_type_are_refused_at_decoration(bad):
    with pytest.raises(ConfigurationError, match="call_params"):
        llm.call("openai", "gpt-4o-mini", call_params=bad)


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\x00b"])
def test_header_value_with_cr_or_lf_is_refused_before_sending(fake, value):
    with pytest.raises(ConfigurationError) as info:
        fake.client("openai", headers={"X-Trace": value})
    assert "X-Trace" in str(info.value)
    assert value not in str(info.value)
    assert_no_io(fake)


@pytest.mark.parametrize("mode", MODES)
def test_header_injection_through_the_api_key_is_refused_before_sending(fake, mode):
    # The key lands in a header only when the request is authorised, after the client
    # was built; the transport must still refuse it, without echoing it.
    client = fake.client("openai", api_key="sk-abc\r\nX-Injected: yes", max_retries=0)
    with pytest.raises(ConfigurationError) as info:
        run(ask(client, mode), "hello")
    assert "X-Injected" not in str(info.value)
    assert_no_io(fake)


@pytest.mark.parametrize("url", ["ftp://example.com/v1", "file:///etc/passwd", "127.0.0.1:8000/v1", "ws://x/v1"])
def test_base_url_with_an_unsupported_scheme_is_refused(url):
    from minicall.providers.openai import OpenAIClient

    with pytest.raises(ConfigurationError, match="http"):
        OpenAIClient(api_key="sk-test", base_url=url)


def test_missing_api_key_names_the_variable_before_any_io(fake):
    from minicall.providers.openai import OpenAIClient

    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAIClient(base_url=fake.base_url("openai"))
    assert_no_io(fake)


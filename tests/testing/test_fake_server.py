"""FakeServer over real loopback sockets, and the OpenAI wire format it speaks."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
import types
import urllib.error
import urllib.request

import pytest

import minicall.testing._server as server_module
from minicall.testing import ErrorReply, FakeServer, Fault, RawReply, Reply, ToolCallReply
from minicall.testing._formats import get_format
from minicall.testing._formats.openai import OpenAIDialect, OpenAIFormat
from minicall.testing._reply import RecordedRequest

CHAT = "/openai/v1/chat/completions"
TIMEOUT = 5.0  # a generous bound, so a broken server fails the test instead of hanging it


def chat_body(text="Recommend a book", **extra):
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}


def connect(fake):
    port = int(fake.url.rsplit(":", 1)[1])
    return http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)


def post(fake, body, path=CHAT, conn=None, headers=None):
    conn = conn or connect(fake)
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request("POST", path, payload, {"content-type": "application/json", **(headers or {})})
    return conn.getresponse()


def read_events(response):
    """SSE data payloads, read line by line until the body ends."""
    events = []
    while line := response.readline():
        if line.startswith(b"data: "):
            events.append(line[len(b"data: ") :].rstrip(b"\n").decode())
    return events


def next_event(response):
    while line := response.readline():
        if line.startswith(b"data: "):
            return line[len(b"data: ") :].rstrip(b"\n").decode()
    raise AssertionError("stream ended")


# -- defaults, scripting, recording --------------------------------------------------------


def test_unscripted_request_gets_echo_of_last_user_message(fake):
    body = chat_body()
    body["messages"] = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Tell a"}, {"type": "text", "text": "joke"}],
        },
    ]
    reply = json.loads(post(fake, body).read())
    assert reply["object"] == "chat.completion"
    assert reply["id"].startswith("chatcmpl-")
    assert reply["model"] == "gpt-4o-mini"
    choice = reply["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": "echo: Tell a joke",
        "refusal": None,
        "annotations": [],
    }
    assert choice["finish_reason"] == "stop"
    assert choice["logprobs"] is None
    assert reply["usage"]["prompt_tokens"] == 3
    assert reply["usage"]["completion_tokens"] == 4
    assert reply["usage"]["total_tokens"] == 7


def test_scripted_replies_are_served_first_in_first_out(fake):
    fake.script(Reply(text="one"), Reply(text="two"))
    texts = [
        json.loads(post(fake, chat_body()).read())["choices"][0]["message"]["content"]
        for _ in range(3)
    ]
    assert texts == ["one", "two", "echo: Recommend a book"]
    assert fake.pending == 0


def test_provider_queue_is_served_before_the_shared_queue(fake):
    fake.script(Reply(text="shared"))
    fake.script(Reply(text="mine"), provider="openai")
    texts = [
        json.loads(post(fake, chat_body()).read())["choices"][0]["message"]["content"]
        for _ in range(2)
    ]
    assert texts == ["mine", "shared"]


def test_scripting_an_unknown_provider_is_refused(fake):
    with pytest.raises(ValueError, match="no wire format for 'nosuch'"):
        fake.script(Reply(), provider="nosuch")
    with pytest.raises(TypeError):
        fake.script("hello")  # type: ignore[arg-type]


def test_requests_are_recorded_with_stripped_path_headers_and_json(fake):
    post(
        fake, chat_body(), path=CHAT + "?api-version=1&x=", headers={"Authorization": "Bearer k"}
    ).read()
    post(fake, b"not json").read()
    first, second = fake.requests
    assert first.method == "POST"
    assert first.provider == "openai"
    assert first.path == "/v1/chat/completions?api-version=1&x="
    assert first.route == "/v1/chat/completions"
    assert first.raw_path == CHAT + "?api-version=1&x="
    assert first.query == {"api-version": "1", "x": ""}
    assert first.headers["authorization"] == "Bearer k"
    assert first.headers["content-type"] == "application/json"
    assert first.json == chat_body()
    assert json.loads(first.body) == chat_body()
    assert (first.index, second.index) == (1, 2)
    assert second.json is None and second.body == b"not json"
    assert fake.last is second


def test_last_before_any_request_raises_lookup_error(fake):
    with pytest.raises(LookupError):
        _ = fake.last


def test_chunked_request_body_is_recorded_whole(fake):
    conn = connect(fake)
    conn.request("POST", CHAT, iter([b'{"model": "m", ', b'"messages": []}']), encode_chunked=True)
    assert conn.getresponse().status == 200
    assert fake.last.json == {"model": "m", "messages": []}


def test_base_url_carries_provider_prefix_and_sdk_suffix(fake):
    assert fake.url.startswith("http://127.0.0.1:")
    assert fake.base_url("openai") == fake.url + "/openai/v1"
    with pytest.raises(ValueError, match="openai"):
        fake.base_url("nosuch")


def test_url_before_start_raises():
    with pytest.raises(RuntimeError):
        _ = FakeServer().url


def test_client_builds_provider_client_with_test_credentials(fake, monkeypatch):
    class OpenAIClient:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

    module = types.SimpleNamespace(OpenAIClient=OpenAIClient)
    monkeypatch.setattr(server_module, "provider_module", lambda name: module)
    client = fake.client("openai", timeout=3)
    assert client.kwargs == {
        "base_url": fake.url + "/openai/v1",
        "api_key": "test-key",
        "timeout": 3,
    }


def test_client_returns_the_real_openai_client(fake):
    from minicall.providers import openai as providers
    assert isinstance(fake.client("openai"), providers.OpenAIClient)


# -- whole replies and errors --------------------------------------------------------------


def test_tool_calls_and_audio_render_in_openai_shape(fake):
    fake.script(
        Reply(
            tool_calls=[
                ToolCallReply("get_weather", {"city": "Paris"}),
                ToolCallReply("f", {}, id="call_x"),
            ],
            audio=b"\x00\x01wav",
            audio_transcript="hi",
            model="gpt-4o-2024",
            input_tokens=10,
            output_tokens=5,
            cached_tokens=2,
        )
    )
    reply = json.loads(post(fake, chat_body()).read())
    message = reply["choices"][0]["message"]
    assert reply["model"] == "gpt-4o-2024"
    assert message["content"] is None
    first, second = message["tool_calls"]
    assert first["id"].startswith("call_") and first["type"] == "function"
    assert first["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    assert second["id"] == "call_x"
    assert base64.b64decode(message["audio"]["data"]) == b"\x00\x01wav"
    assert message["audio"]["transcript"] == "hi"
    assert reply["choices"][0]["finish_reason"] == "tool_calls"
    usage = reply["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        10,
        5,
        15,
    )
    assert usage["prompt_tokens_details"] == {"cached_tokens": 2, "audio_tokens": 0}


def test_response_headers_include_request_id_and_scripted_headers(fake):
    fake.script(Reply(text="x", headers={"x-ratelimit-remaining-requests": "9"}))
    response = post(fake, chat_body())
    response.read()
    assert response.getheader("content-type") == "application/json"
    assert response.getheader("x-request-id") == "req_1"
    assert response.getheader("x-ratelimit-remaining-requests") == "9"


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [
        (400, "invalid_request_error", None),
        (401, "authentication_error", "invalid_api_key"),
        (403, "permission_error", None),
        (404, "not_found_error", None),
        (429, "rate_limit_exceeded", "rate_limit_exceeded"),
        (500, "server_error", None),
        (503, "server_error", None),
    ],
)
def test_error_reply_uses_openai_error_body(fake, status, kind, code):
    fake.script(ErrorReply(status, "nope", headers={"retry-after": "2"}))
    response = post(fake, chat_body(stream=True))
    assert response.status == status
    assert response.getheader("retry-after") == "2"
    assert response.getheader("content-type") == "application/json"
    assert json.loads(response.read()) == {
        "error": {"message": "nope", "type": kind, "param": None, "code": code}
    }


def test_error_reply_code_overrides_the_default(fake):
    fake.script(ErrorReply(429, "quota", code="insufficient_quota"))
    assert json.loads(post(fake, chat_body()).read())["error"]["code"] == "insufficient_quota"


def test_unknown_endpoint_gets_404_in_provider_format(fake):
    response = post(fake, chat_body(), path="/openai/v1/embeddings")
    assert response.status == 404
    assert json.loads(response.read())["error"]["type"] == "not_found_error"


def test_unknown_provider_prefix_gets_404(fake):
    response = post(fake, chat_body(), path="/nosuch/v1/chat/completions")
    assert response.status == 404
    assert "nosuch" in json.loads(response.read())["error"]["message"]


# -- streams -------------------------------------------------------------------------------


def test_stream_sends_role_content_finish_usage_and_done(fake):
    fake.script(Reply(text="Hello big world"))
    response = post(fake, chat_body(stream=True, stream_options={"include_usage": True}))
    assert response.getheader("content-type") == "text/event-stream"
    assert response.getheader("transfer-encoding") == "chunked"
    events = read_events(response)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert [c["choices"][0]["delta"]["content"] for c in chunks[1:4]] == ["Hello ", "big ", "world"]
    assert chunks[4]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert all(c["usage"] is None for c in chunks[:5])
    assert chunks[5]["choices"] == []
    assert chunks[5]["usage"]["completion_tokens"] == 3
    assert len(chunks) == 6


def test_stream_without_include_usage_has_no_usage(fake):
    fake.script(Reply(text="abcdef", stream_chunks=2))
    chunks = [json.loads(e) for e in read_events(post(fake, chat_body(stream=True)))[:-1]]
    assert all("usage" not in c for c in chunks)
    assert [c["choices"][0]["delta"].get("content") for c in chunks[1:3]] == ["abc", "def"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_streamed_tool_call_fragments_join_to_the_arguments(fake):
    fake.script(Reply(tool_calls=[ToolCallReply("lookup", {"query": "dune", "limit": 3})]))
    chunks = [json.loads(e) for e in read_events(post(fake, chat_body(stream=True)))[:-1]]
    deltas = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls", [])]
    assert deltas[0]["id"].startswith("call_")
    assert deltas[0]["function"] == {"name": "lookup", "arguments": ""}
    assert 2 <= len(deltas) - 1 <= 3
    assert all(set(d) == {"index", "function"} for d in deltas[1:])
    arguments = "".join(d["function"]["arguments"] for d in deltas)
    assert json.loads(arguments) == {"query": "dune", "limit": 3}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_streamed_audio_pieces_rebuild_data_and_transcript(fake):
    audio = bytes(range(256)) * 2
    fake.script(Reply(audio=audio, audio_transcript="a spoken answer"))
    chunks = [json.loads(e) for e in read_events(post(fake, chat_body(stream=True)))[:-1]]
    pieces = [
        c["choices"][0]["delta"]["audio"] for c in chunks if "audio" in c["choices"][0]["delta"]
    ]
    assert pieces[0]["id"] == "audio_1"
    assert b"".join(base64.b64decode(p["data"]) for p in pieces if "data" in p) == audio
    assert "".join(p.get("transcript", "") for p in pieces) == "a spoken answer"


def test_gate_holds_the_rest_of_the_stream_until_set(fake):
    gate = threading.Event()
    fake.script(Reply(text="one two", gate=gate))
    response = post(fake, chat_body(stream=True))
    first = json.loads(next_event(response))  # arrives although the gate is closed
    assert first["choices"][0]["delta"]["role"] == "assistant"
    gate.set()
    rest = read_events(response)
    assert json.loads(rest[0])["choices"][0]["delta"]["content"] == "one "
    assert rest[-1] == "[DONE]"


def test_drop_after_events_closes_mid_stream(fake):
    fake.script(Reply(text="a b c d", drop_after_events=2))
    response = post(fake, chat_body(stream=True))
    received = [next_event(response), next_event(response)]
    assert json.loads(received[1])["choices"][0]["delta"]["content"] == "a "
    with pytest.raises(http.client.IncompleteRead):
        response.read()


def test_stream_error_after_sends_in_stream_error_and_ends(fake):
    fake.script(Reply(text="a b c", stream_error_after=2, stream_error_message="overloaded"))
    events = read_events(post(fake, chat_body(stream=True)))
    assert len(events) == 3
    assert json.loads(events[2]) == {
        "error": {"message": "overloaded", "type": "server_error", "param": None, "code": None}
    }


# -- raw replies and faults ----------------------------------------------------------------


def test_raw_reply_body_is_sent_verbatim(fake):
    fake.script(
        RawReply(status=200, headers={"content-type": "application/json"}, body=b"{garbage")
    )
    response = post(fake, chat_body())
    assert response.status == 200
    assert response.read() == b"{garbage"


def test_raw_reply_chunks_are_sent_verbatim(fake):
    fake.script(
        RawReply(headers={"content-type": "text/event-stream"}, chunks=[b"data: {\n", b"\n"])
    )
    response = post(fake, chat_body(stream=True))
    assert response.getheader("transfer-encoding") == "chunked"
    assert response.read() == b"data: {\n\n"


def test_fault_drop_closes_without_answer(fake):
    fake.script(Fault("drop"))
    with pytest.raises(http.client.RemoteDisconnected):
        post(fake, chat_body())
    assert fake.last.json == chat_body()


def test_fault_hang_never_answers(fake):
    fake.script(Fault("hang"))
    conn = connect(fake)
    conn.timeout = 0.2
    with pytest.raises(TimeoutError):
        post(fake, chat_body(), conn=conn)


def test_fault_reset_mid_body_cuts_a_content_length_body(fake):
    fake.script(Fault("reset_mid_body", body=b'{"choices": []}'))
    response = post(fake, chat_body())
    assert response.getheader("content-length") == "15"
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    assert caught.value.partial == b'{"choic'


def test_fault_drip_delivers_the_whole_body(fake):
    fake.script(Fault("drip", body=b'{"a": 1}', interval=0.001))
    assert post(fake, chat_body()).read() == b'{"a": 1}'


def test_fault_raw_writes_bytes_to_the_socket(fake):
    fake.script(Fault("raw", body=b"NOT HTTP\r\n\r\n"))
    with socket.create_connection(
        ("127.0.0.1", int(fake.url.rsplit(":", 1)[1])), timeout=TIMEOUT
    ) as sock:
        sock.sendall(
            b"POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
        )
        received = b""
        while data := sock.recv(1024):
            received += data
    assert received == b"NOT HTTP\r\n\r\n"


# -- connections and shutdown --------------------------------------------------------------


def test_keep_alive_serves_two_requests_on_one_connection(fake):
    conn = connect(fake)
    assert post(fake, chat_body("one"), conn=conn).read()
    assert post(fake, chat_body("two"), conn=conn).read()
    assert len(fake.requests) == 2
    assert fake.connections_accepted == 1


def test_connections_are_counted(fake):
    for _ in range(3):
        with urllib.request.urlopen(
            urllib.request.Request(fake.url + CHAT, json.dumps(chat_body()).encode()),
            timeout=TIMEOUT,
        ) as response:
            response.read()
    assert fake.connections_accepted == 3


def test_urllib_sees_scripted_error_status(fake):
    fake.script(ErrorReply(401, "bad key"))
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(urllib.request.Request(fake.url + CHAT, b"{}"), timeout=TIMEOUT)
    assert caught.value.code == 401


def test_stop_releases_hung_handlers_and_idle_connections():
    fake = FakeServer().start()
    try:
        _stop_releases_everything(fake)
    finally:
        fake.stop()  # even when an assertion failed: a hung handler must not outlive the test


def _stop_releases_everything(fake: FakeServer) -> None:
    fake.script(Fault("hang"))
    hung = connect(fake)
    hung.request("POST", CHAT, json.dumps(chat_body()))
    _wait_until(lambda: fake.pending == 0)  # the hang went to `hung`, not to the next request
    idle = connect(fake)
    assert post(fake, chat_body(), conn=idle).read()  # now parked on a keep-alive read
    gate = threading.Event()
    fake.script(Reply(text="a b", gate=gate))
    gated = post(fake, chat_body(stream=True))
    next_event(gated)

    port = int(fake.url.rsplit(":", 1)[1])
    stopper = threading.Thread(target=fake.stop)
    stopper.start()
    stopper.join(TIMEOUT)
    assert not stopper.is_alive()
    names = [t.name for t in threading.enumerate()]
    assert not [n for n in names if "FakeServer" in n or "process_request" in n]
    with pytest.raises(http.client.RemoteDisconnected):
        hung.getresponse()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    fake.stop()  # a second stop is harmless


def _wait_until(condition) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "the server never got there"
        time.sleep(0.005)


def test_rendering_failure_is_reported_as_500_and_recorded(fake, monkeypatch):
    fmt = get_format("openai")

    def broken(reply, request):
        raise RuntimeError("format bug")

    monkeypatch.setattr(fmt, "render", broken)
    response = post(fake, chat_body())
    assert response.status == 500
    assert b"format bug" in response.read()
    assert isinstance(fake.errors[0], RuntimeError)
    fake.errors.clear()  # recorded on purpose: leaving the server must not fail this test


# -- the OpenAI format as data, without sockets --------------------------------------------


def recorded(body, index=1):
    raw = json.dumps(body).encode()
    return RecordedRequest("POST", CHAT[7:], CHAT, {}, {}, raw, body, "openai", index)


def test_dialect_reports_cost_in_usage_and_header():
    fmt = OpenAIFormat(
        OpenAIDialect(name="xai", cost_usage_key="cost_in_usd_ticks", cost_scale=1e10)
    )
    body = json.loads(fmt.render(Reply(text="x", reported_cost=0.0025), recorded(chat_body())).body)
    assert body["usage"]["cost_in_usd_ticks"] == 25_000_000
    header_fmt = OpenAIFormat(OpenAIDialect(name="litellm", cost_header="x-litellm-response-cost"))
    assert (
        header_fmt.render(Reply(reported_cost=0.5), recorded(chat_body())).headers[
            "x-litellm-response-cost"
        ]
        == "0.5"
    )


def test_dialect_stream_usage_modes_and_whole_tool_calls():
    reply = Reply(tool_calls=[ToolCallReply("f", {"a": 1})])
    groq = OpenAIFormat(OpenAIDialect(name="groq", stream_usage="x_groq", tool_arg_pieces=1))
    events = groq.render_stream(reply, recorded(chat_body(stream=True))).events
    chunks = [json.loads(e[len(b"data: ") :]) for e in events[:-1]]
    assert chunks[-1]["x_groq"]["usage"]["completion_tokens"] > 0
    calls = [
        c["choices"][0]["delta"]["tool_calls"]
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert len(calls) == 1 and calls[0][0]["function"]["arguments"] == '{"a":1}'
    mistral = OpenAIFormat(OpenAIDialect(name="mistral", stream_usage="final_chunk"))
    last = json.loads(
        mistral.render_stream(reply, recorded(chat_body())).events[-2][len(b"data: ") :]
    )
    assert last["choices"][0]["finish_reason"] == "tool_calls" and "usage" in last


def test_last_user_text_tolerates_garbage():
    fmt = get_format("openai")
    assert fmt is not None
    for body in (None, [], {"messages": "x"}, {"messages": [1, {"role": "user", "content": 3}]}):
        assert fmt.last_user_text(recorded(body)) == ""

"""The Cohere v2 Chat codec, pure: requests, replies, streams, garbage."""

from __future__ import annotations

import json
from typing import Any

import pytest
import strategies
from hypothesis import given
from hypothesis import strategies as st

from minicall import APIError, PromptError, ResponseFormatError
from minicall._call.stream import StreamState
from minicall._codecs.cohere import CODEC
from minicall._model.messages import (
    AudioPart,
    ImagePart,
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from minicall._model.spec import CallSpec, Chunk, Endpoint, ResponseFormat, ToolSpec, Usage
from minicall.testing._formats.cohere import FORMAT
from minicall.testing._reply import RecordedRequest, Reply, ToolCallReply

ENDPOINT = Endpoint("https://api.cohere.com", {"X-Client-Name": "tests"}, timeout=5.0)


def spec(**kw: Any) -> CallSpec:
    kw.setdefault("messages", (Message("user", "hi"),))
    return CallSpec(model="command-r-plus", **kw)


def body_of(s: CallSpec) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(CODEC.encode(s, ENDPOINT).body)
    return result


WEATHER = ToolSpec("get_weather", "Weather for a city.", {"type": "object", "properties": {"city": {"type": "string"}}})
ANSWER = ToolSpec("Answer", "The answer.", {"type": "object", "properties": {"x": {"type": "integer"}}})


# -- requests -------------------------------------------------------------------------


def test_request_goes_to_v2_chat_with_stream_flag_and_endpoint_headers():
    request = CODEC.encode(spec(), ENDPOINT)
    assert request.method == "POST"
    assert request.url == "https://api.cohere.com/v2/chat"
    assert request.headers["X-Client-Name"] == "tests"
    assert request.headers["Accept"] == "application/json"
    assert "Authorization" not in request.headers
    assert json.loads(request.body) == {
        "model": "command-r-plus",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": False,
    }
    streamed = CODEC.encode(spec(stream=True), ENDPOINT)
    assert json.loads(streamed.body)["stream"] is True
    assert streamed.headers["Accept"] == "text/event-stream"


def test_common_params_are_renamed_and_native_ones_pass_through():
    body = body_of(spec(call_params={"top_p": 0.5, "stop": "END", "max_tokens": 9, "k": 3, "temperature": 0.2}))
    assert body["p"] == 0.5
    assert body["stop_sequences"] == ["END"]
    assert (body["max_tokens"], body["k"], body["temperature"]) == (9, 3, 0.2)
    assert "top_p" not in body and "stop" not in body
    assert body_of(spec(call_params={"stop_sequences": ["a", "b"]}))["stop_sequences"] == ["a", "b"]


def test_tools_are_functions_and_a_forced_tool_is_offered_alone_and_required():
    body = body_of(spec(tools=(WEATHER, ANSWER)))
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "Answer"]
    assert body["tools"][0] == {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather for a city.", "parameters": dict(WEATHER.parameters)},
    }
    assert "tool_choice" not in body
    forced = body_of(spec(tools=(WEATHER, ANSWER), forced_tool="Answer"))
    assert forced["tool_choice"] == "REQUIRED"
    assert [t["function"]["name"] for t in forced["tools"]] == ["Answer"]


def test_response_format_is_json_object_with_optional_schema():
    assert body_of(spec(response_format=ResponseFormat("json_object")))["response_format"] == {"type": "json_object"}
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    fmt = ResponseFormat("json_schema", name="A", schema=schema)
    assert body_of(spec(response_format=fmt))["response_format"] == {"type": "json_object", "json_schema": schema}


def test_neutral_history_becomes_cohere_messages():
    history = (
        Message("system", "Be brief."),
        Message("user", [TextPart("look"), ImagePart("image/png", image=b"\x89PNG", detail="low")]),
        Message("assistant", [TextPart("calling"), ToolCallPart("c1", "get_weather", {"city": "Oslo"})]),
        Message("tool", [ToolResultPart("c1", "get_weather", "rainy")]),
        Message("user", [ToolResultPart("c2", "x", "ok"), TextPart("and?")]),
    )
    assert CODEC.to_native(history) == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw==", "detail": "low"}},
            ],
        },
        {
            "role": "assistant",
            "content": "calling",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "rainy"}]},
        {"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "ok"}]},
        {"role": "user", "content": [{"type": "text", "text": "and?"}]},
    ]


def test_native_dicts_pass_through_untouched():
    native = {"role": "user", "content": [{"type": "text", "text": "x"}], "extra": 1}
    assert CODEC.to_native([native]) == [native]


def test_assistant_with_only_tool_calls_has_no_content():
    native = CODEC.native_assistant(Message("assistant", [ToolCallPart("c", "f", {})]))
    assert "content" not in native and native["tool_calls"][0]["function"]["arguments"] == "{}"


def test_audio_input_is_refused_with_a_prompt_error():
    with pytest.raises(PromptError, match="audio"):
        CODEC.to_native([Message("user", [AudioPart("audio/wav", b"RIFF")])])


# -- replies --------------------------------------------------------------------------


def reply_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "r1",
        "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
        "usage": {"billed_units": {"input_tokens": 5.0, "output_tokens": 2.0}, "tokens": {"input_tokens": 70, "output_tokens": 2}},
    }
    body.update(over)
    return body


def decode(body: Any, s: CallSpec | None = None) -> Any:
    return CODEC.decode(json.dumps(body).encode(), {}, s or spec())


def test_reply_gives_text_finish_usage_and_the_requested_model():
    completion = decode(reply_body())
    assert completion.content == "Hello"
    assert completion.finish_reasons == ("COMPLETE",)
    assert completion.model == "command-r-plus"
    assert completion.id == "r1"
    assert completion.usage == Usage(5, 2, 0, 7)
    assert completion.native_message == {"role": "assistant", "content": "Hello"}
    assert CODEC.finish_map["MAX_TOKENS"] == "length" and CODEC.finish_map["TOOL_CALL"] == "tool_calls"


def test_thinking_content_is_not_part_of_the_answer():
    msg = {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "42"}]}
    assert decode(reply_body(message=msg)).content == "42"


def test_usage_falls_back_to_tokens_and_reads_cached_tokens():
    usage = {"tokens": {"input_tokens": 8, "output_tokens": 3}, "cached_tokens": 4.0}
    assert decode(reply_body(usage=usage)).usage == Usage(8, 3, 4, 11)
    assert decode(reply_body(usage=None)).usage is None


def test_tool_calls_decode_with_plan_kept_in_the_native_message():
    msg = {
        "role": "assistant",
        "tool_plan": "I will look it up.",
        "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}},
            {"id": "t2", "type": "function", "function": {"name": "get_weather", "arguments": ""}},
        ],
    }
    completion = decode(reply_body(message=msg, finish_reason="TOOL_CALL"))
    assert completion.content == ""
    calls = [p for p in completion.message.parts if isinstance(p, ToolCallPart)]
    assert [(c.id, c.args) for c in calls] == [("t1", {"city": "Rome"}), ("t2", {})]
    assert completion.native_message["tool_plan"] == "I will look it up."
    assert "content" not in completion.native_message
    assert len(completion.raw_tool_calls) == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message": None},
        {"message": {"content": "text"}},
        {"message": {"content": [{"type": "text"}]}},
        {"message": {}, "finish_reason": 3},
    ],
)
def test_malformed_replies_raise_response_format_error(body):
    with pytest.raises(ResponseFormatError):
        decode(body)


@pytest.mark.parametrize("arguments", ["[1]", "{bad"])
def test_tool_arguments_that_are_not_an_object_keep_the_reply_and_mark_the_call(arguments):
    completion = decode({"message": {"tool_calls": [{"id": "x", "function": {"name": "f", "arguments": arguments}}]}})
    call = completion.message.parts[0]
    assert call.name == "f" and call.args == {} and call.unparsed == arguments


def test_error_message_reads_cohere_error_bodies():
    assert CODEC.error_message(b'{"id":"e","message":"invalid api token"}') == "invalid api token"
    assert CODEC.error_message(b"<html>") is None
    assert CODEC.error_message(b"[1]") is None


# -- replies, as properties -----------------------------------------------------------

counts = st.one_of(st.integers(0, 10**6), st.integers(0, 10**6).map(float))
texts = st.text(max_size=40)
tool_calls = st.lists(
    st.builds(
        lambda i, name, args: {"id": f"id{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}},
        st.integers(0, 999),
        st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
        st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
    ),
    max_size=3,
)


@given(
    parts=st.lists(texts, max_size=4),
    calls=tool_calls,
    finish=st.sampled_from(["COMPLETE", "STOP_SEQUENCE", "MAX_TOKENS", "TOOL_CALL", "ERROR", "TIMEOUT"]),
    billed=st.tuples(counts, counts),
    cached=counts,
)
def test_any_valid_reply_normalizes(parts, calls, finish, billed, cached):
    message: dict[str, Any] = {"role": "assistant", "content": [{"type": "text", "text": t} for t in parts]}
    if calls:
        message["tool_calls"] = calls
    body = reply_body(
        message=message,
        finish_reason=finish,
        usage={"billed_units": {"input_tokens": billed[0], "output_tokens": billed[1]}, "cached_tokens": cached},
    )
    completion = decode(body)
    assert completion.content == "".join(parts)
    assert completion.finish_reasons == (finish,)
    assert CODEC.finish_map[finish] in ("stop", "length", "tool_calls")
    assert completion.usage == Usage(int(billed[0]), int(billed[1]), int(cached), int(billed[0]) + int(billed[1]))
    decoded = [(p.name, dict(p.args)) for p in completion.message.parts if isinstance(p, ToolCallPart)]
    assert decoded == [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls]


json_values = strategies.json_values(max_size=3)


@given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=60)))
def test_garbage_bodies_raise_only_response_format_error(body):
    try:
        CODEC.decode(body, {}, spec())
    except ResponseFormatError:
        pass


@given(
    st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(["message-start", "content-delta", "tool-call-start", "tool-call-delta", "message-end", "x"])},
            optional={"delta": json_values, "index": json_values, "id": json_values},
        ),
        max_size=4,
    )
)
def test_garbage_stream_events_raise_only_typed_errors(events):
    decoder = CODEC.stream_decoder(spec(stream=True))
    data = b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)
    try:
        decoder.feed(data)
        decoder.close()
    except (ResponseFormatError, APIError):
        pass


# -- streams --------------------------------------------------------------------------


def recorded(body: dict[str, Any]) -> RecordedRequest:
    raw = json.dumps(body).encode()
    return RecordedRequest("POST", "/v2/chat", "/cohere/v2/chat", {}, {}, raw, body, "cohere", 1)


def run_stream(data: bytes, cuts: list[int], s: CallSpec) -> tuple[list[Chunk], StreamState]:
    decoder = CODEC.stream_decoder(s)
    state = StreamState("cohere")
    chunks: list[Chunk] = []
    last = 0
    for cut in [*sorted(cuts), len(data)]:
        chunks += decoder.feed(data[last:cut])
        last = cut
    chunks += decoder.close()
    for chunk in chunks:
        state.absorb(chunk)
    state.finish()
    return chunks, state


SCRIPTED = Reply(
    text="The weather is fine today.",
    tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="t1")],
    input_tokens=11,
    output_tokens=7,
)


@given(st.lists(st.integers(0, 4000), max_size=8))
def test_stream_at_any_split_matches_the_whole_reply(cuts):
    s = spec(stream=True, tools=(WEATHER,))
    req = recorded(json.loads(CODEC.encode(s, ENDPOINT).body))
    data = b"".join(FORMAT.render_stream(SCRIPTED, req).events)
    cuts = [c % (len(data) + 1) for c in cuts]
    chunks, state = run_stream(data, cuts, s)
    whole = CODEC.decode(FORMAT.render(SCRIPTED, req).body, {}, spec(tools=(WEATHER,)))
    completion = state.completion(CODEC.native_assistant(state.message()))
    assert completion.content == whole.content == SCRIPTED.text
    assert completion.usage == whole.usage == Usage(11, 7, 0, 18)
    assert completion.finish_reasons == whole.finish_reasons == ("TOOL_CALL",)
    assert completion.message == whole.message
    assert chunks == run_stream(data, [], s)[0]


def test_stream_message_start_carries_id_and_the_requested_model():
    chunks, _ = run_stream(b'event: message-start\ndata: {"type":"message-start","id":"abc"}\n\n', [], spec())
    assert (chunks[0].id, chunks[0].model) == ("abc", "command-r-plus")


def test_stream_stops_at_done_and_skips_unknown_events():
    data = (
        b'data: {"type":"debug","prompt":"x"}\n\n'
        b'data: {"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"hi"}}}}\n\n'
        b"data: [DONE]\n\n"
        b'data: {"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"late"}}}}\n\n'
    )
    _, state = run_stream(data, [], spec())
    assert state.content == "hi"


def test_stream_error_in_message_end_raises_api_error():
    req = recorded({"model": "m", "messages": [], "stream": True})
    event = FORMAT.render_stream_error("overloaded", req)
    decoder = CODEC.stream_decoder(spec())
    with pytest.raises(APIError, match="overloaded"):
        decoder.feed(event)


def test_stream_bad_json_raises_response_format_error():
    decoder = CODEC.stream_decoder(spec())
    with pytest.raises(ResponseFormatError):
        decoder.feed(b"data: {nope\n\n")


@given(st.binary(max_size=200))
def test_arbitrary_stream_bytes_raise_only_typed_errors(data):
    decoder = CODEC.stream_decoder(spec(stream=True))
    try:
        decoder.feed(data)
        decoder.close()
    except (ResponseFormatError, APIError):
        pass


@given(
    st.lists(
        st.tuples(st.sampled_from(["system", "user", "assistant"]), st.text(min_size=1, max_size=20)),
        max_size=6,
    )
)
def test_neutral_text_messages_keep_role_and_text_in_cohere_form(turns):
    native = CODEC.to_native([Message(role, [TextPart(text)]) for role, text in turns])

    def text_of(m: dict[str, Any]) -> str:
        content = m["content"]
        return content if isinstance(content, str) else "".join(p["text"] for p in content)

    assert [(m["role"], text_of(m)) for m in native] == turns

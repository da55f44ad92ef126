"""The Anthropic Messages codec, pure: requests, replies, streams, errors, garbage."""

from __future__ import annotations

import json
from typing import Any

import pytest
import strategies
from hypothesis import given
from hypothesis import strategies as st

from minicall import (
    APIError,
    InternalServerError,
    PromptError,
    RateLimitError,
    ResponseFormatError,
)
from minicall._call.stream import StreamState
from minicall._codecs.anthropic.codec import ANTHROPIC, ERROR_STATUS
from minicall._model.messages import (
    AudioPart,
    DocumentPart,
    ImagePart,
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from minicall._model.spec import CallSpec, Endpoint, ResponseFormat, ToolSpec, Usage

BASE = Endpoint(base_url="https://api.anthropic.com", options={"version": "2023-06-01"})
MODEL = "claude-3-5-sonnet-latest"


def spec(*messages: Any, **kwargs: Any) -> CallSpec:
    return CallSpec(model=MODEL, messages=tuple(messages or [Message("user", "hi")]), **kwargs)


def body_of(s: CallSpec, endpoint: Endpoint = BASE) -> dict[str, Any]:
    return json.loads(ANTHROPIC.encode(s, endpoint).body)


def sse(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def decode_stream(payload: bytes, pieces: list[int] | None = None) -> list[Any]:
    decoder = ANTHROPIC.stream_decoder(spec())
    chunks = []
    if pieces is None:
        chunks += decoder.feed(payload)
    else:
        at = 0
        for cut in sorted(pieces) + [len(payload)]:
            chunks += decoder.feed(payload[at:cut])
            at = max(at, cut)
    return chunks + decoder.close()


# -- requests -----------------------------------------------------------------------------


def test_request_goes_to_v1_messages_with_version_header_and_default_max_tokens():
    request = ANTHROPIC.encode(spec(), BASE)
    assert request.method == "POST"
    assert request.url == "https://api.anthropic.com/v1/messages"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "anthropic-beta" not in request.headers
    assert not any(k.lower() in ("x-api-key", "authorization") for k in request.headers)
    assert json.loads(request.body) == {
        "model": MODEL,
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_version_and_betas_options_become_headers():
    endpoint = Endpoint(base_url="http://h", options={"version": "2024-01-01", "betas": "a,b"})
    headers = ANTHROPIC.encode(spec(), endpoint).headers
    assert headers["anthropic-version"] == "2024-01-01"
    assert headers["anthropic-beta"] == "a,b"


def test_system_messages_are_lifted_into_the_system_field():
    body = body_of(
        spec(
            Message("system", "Be brief."),
            Message("user", "hi"),
            {"role": "system", "content": "Native too."},
        )
    )
    assert body["system"] == "Be brief.\n\nNative too."
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_system_blocks_with_cache_control_stay_blocks():
    cached = {"type": "text", "text": "Long context", "cache_control": {"type": "ephemeral"}}
    body = body_of(spec({"role": "system", "content": [cached]}, Message("user", "hi")))
    assert body["system"] == [cached]


def test_common_params_are_renamed_and_unsupported_ones_dropped():
    params = {
        "temperature": 0.3,
        "max_tokens": 50,
        "top_p": 0.9,
        "stop": "END",
        "seed": 1,
        "frequency_penalty": 0.5,
        "presence_penalty": 0.5,
        "top_k": 5,
    }
    body = body_of(spec(call_params=params))
    assert body["max_tokens"] == 50
    assert body["stop_sequences"] == ["END"]
    assert body["temperature"] == 0.3 and body["top_p"] == 0.9 and body["top_k"] == 5
    for dropped in ("seed", "frequency_penalty", "presence_penalty", "stop"):
        assert dropped not in body


def test_system_call_param_comes_before_system_messages():
    body = body_of(spec(Message("system", "B"), Message("user", "hi"), call_params={"system": "A"}))
    assert body["system"] == "A\n\nB"


def test_tools_forced_tool_and_stream_flag():
    tool = ToolSpec(
        "get_weather",
        "Weather in a city.",
        {"type": "object", "properties": {"city": {"type": "string"}}},
    )
    body = body_of(spec(tools=(tool,), forced_tool="get_weather", stream=True))
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather in a city.",
            "input_schema": dict(tool.parameters),
        }
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather"}
    assert body["stream"] is True
    assert ANTHROPIC.encode(spec(stream=True), BASE).headers["Accept"] == "text/event-stream"


def test_json_mode_appends_the_instruction_to_the_system_prompt():
    fmt = ResponseFormat("json_object")
    body = body_of(
        spec(
            Message("system", "Be nice."),
            Message("user", "hi"),
            response_format=fmt,
            json_instruction="JSON only.",
        )
    )
    assert body["system"] == "Be nice.\n\nJSON only."
    assert "output_config" not in body and "response_format" not in body


def test_images_documents_and_tool_history_become_blocks():
    messages = [
        Message(
            "user",
            [
                TextPart("look"),
                ImagePart("image/png", image=b"\x89PNG"),
                ImagePart("image/jpeg", url="https://x/y.jpg"),
                ImagePart("image/gif", url="data:image/gif;base64,R0lG"),
                DocumentPart("application/pdf", b"%PDF"),
            ],
        ),
        Message("assistant", [TextPart("calling"), ToolCallPart("toolu_1", "f", {"a": 1})]),
        Message("tool", [ToolResultPart("toolu_1", "f", "42", is_error=True)]),
    ]
    native = ANTHROPIC.to_native(messages)
    assert native[0]["content"] == [
        {"type": "text", "text": "look"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw=="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/gif", "data": "R0lG"}},
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERg=="},
        },
    ]
    assert native[1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "calling"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
        ],
    }
    assert native[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "42", "is_error": True}
        ],
    }


def test_tool_results_come_first_in_a_mixed_user_turn():
    message = Message("user", [TextPart("and then?"), ToolResultPart("t", "f", "ok")])
    blocks = ANTHROPIC.to_native([message])[0]["content"]
    assert [b["type"] for b in blocks] == ["tool_result", "text"]


def test_audio_input_is_refused_before_io():
    with pytest.raises(PromptError, match="audio"):
        ANTHROPIC.encode(spec(Message("user", [AudioPart("audio/wav", b"RIFF")])), BASE)


def test_native_dicts_pass_through_untouched():
    native = {
        "role": "user",
        "content": [{"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}],
    }
    assert ANTHROPIC.to_native([native]) == [native]


# -- replies ------------------------------------------------------------------------------

texts = st.text(max_size=40)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=20)
json_values = strategies.json_values(max_leaves=8, max_size=3)
text_blocks = st.builds(lambda t: {"type": "text", "text": t, "citations": None}, texts)
tool_blocks = st.builds(
    lambda i, n, a: {"type": "tool_use", "id": i, "name": n, "input": a},
    ids,
    ids,
    st.dictionaries(st.text(max_size=8), json_values, max_size=3),
)
thinking_blocks = st.builds(
    lambda t: {"type": "thinking", "thinking": t, "signature": "sig"}, texts
)
stop_reasons = st.sampled_from(sorted(ANTHROPIC.finish_map))
counts = st.integers(0, 10_000)


@st.composite
def messages(draw: Any) -> dict[str, Any]:
    usage = {"input_tokens": draw(counts), "output_tokens": draw(counts)}
    for key in ("cache_creation_input_tokens", "cache_read_input_tokens"):
        if draw(st.booleans()):
            usage[key] = draw(counts)
    return {
        "id": "msg_" + draw(ids),
        "type": "message",
        "role": "assistant",
        "model": draw(ids),
        "content": draw(st.lists(text_blocks | tool_blocks | thinking_blocks, max_size=5)),
        "stop_reason": draw(stop_reasons | st.none()),
        "stop_sequence": None,
        "usage": usage,
    }


@given(messages())
def test_any_valid_message_normalizes_content_calls_finish_and_usage(raw):
    completion = ANTHROPIC.decode(json.dumps(raw).encode(), {}, spec())
    assert completion.content == "".join(b["text"] for b in raw["content"] if b["type"] == "text")
    calls = [p for p in completion.message.parts if isinstance(p, ToolCallPart)]
    tool_uses = [b for b in raw["content"] if b["type"] == "tool_use"]
    assert [(c.id, c.name, dict(c.args)) for c in calls] == [
        (b["id"], b["name"], b["input"]) for b in tool_uses
    ]
    assert list(completion.raw_tool_calls) == tool_uses
    assert completion.finish_reasons == ((raw["stop_reason"],) if raw["stop_reason"] else None)
    u = raw["usage"]
    cached = u.get("cache_read_input_tokens", 0)
    total_in = u["input_tokens"] + u.get("cache_creation_input_tokens", 0) + cached
    assert completion.usage == Usage(
        total_in, u["output_tokens"], cached, total_in + u["output_tokens"], u.get("cache_creation_input_tokens", 0)
    )
    assert completion.model == raw["model"] and completion.id == raw["id"]
    # The native turn echoes every block, thinking with its signature, citations dropped.
    echoed = completion.native_message["content"]
    assert [b["type"] for b in echoed] == [b["type"] for b in raw["content"]]
    assert all("citations" not in b for b in echoed)


@given(messages())
def test_decoded_turn_survives_a_round_trip_through_to_native(raw):
    completion = ANTHROPIC.decode(json.dumps(raw).encode(), {}, spec())
    native = ANTHROPIC.native_assistant(completion.message)
    expected = [
        b for b in completion.native_message["content"] if b["type"] in ("text", "tool_use")
    ]
    joined_text = "".join(b["text"] for b in expected if b["type"] == "text")
    got_text = "".join(b["text"] for b in native["content"] if b["type"] == "text")
    assert got_text == joined_text
    assert [b for b in native["content"] if b["type"] == "tool_use"] == [
        b for b in expected if b["type"] == "tool_use"
    ]


@given(
    st.lists(st.sampled_from(["system", "user", "assistant"]), max_size=6),
    st.lists(texts, min_size=6, max_size=6),
)
def test_common_messages_keep_their_meaning(roles, words):
    neutral = [Message(role, word) for role, word in zip(roles, words)]  # type: ignore[arg-type]
    body = body_of(spec(*neutral)) if neutral else None
    if body is None:
        return
    systems = [m.content for m in neutral if m.role == "system" and m.content]
    assert body.get("system", "") == "\n\n".join(systems)  # type: ignore[arg-type]
    others = [(m.role, m.content) for m in neutral if m.role != "system"]
    assert [(m["role"], m["content"]) for m in body["messages"]] == others


@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_garbage_body_raises_only_response_format_error(body):
    try:
        ANTHROPIC.decode(body, {}, spec())
    except ResponseFormatError:
        pass


@given(
    st.dictionaries(
        st.sampled_from(["id", "model", "content", "stop_reason", "usage", "type"]),
        json_values,
        max_size=6,
    )
)
def test_wrong_shapes_raise_only_response_format_error(raw):
    try:
        ANTHROPIC.decode(json.dumps(raw).encode(), {}, spec())
    except ResponseFormatError:
        pass


def test_missing_content_names_the_path():
    with pytest.raises(ResponseFormatError, match="content"):
        ANTHROPIC.decode(b'{"id": "msg_1", "type": "message"}', {}, spec())


def test_tool_input_that_is_not_an_object_is_a_format_error():
    raw = {"content": [{"type": "tool_use", "id": "t", "name": "f", "input": "[1]"}]}
    with pytest.raises(ResponseFormatError, match=r"content\[0\]\.input"):
        ANTHROPIC.decode(json.dumps(raw).encode(), {}, spec())


def test_error_message_reads_the_providers_words():
    body = b'{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: required"}}'
    assert ANTHROPIC.error_message(body) == "max_tokens: required"
    assert ANTHROPIC.error_message(b"<html>bad gateway</html>") is None
    assert ANTHROPIC.error_message(b'{"message": "proxy says no"}') == "proxy says no"


def test_finish_reasons_map_to_the_neutral_ones():
    assert {
        k: ANTHROPIC.finish_map[k]
        for k in ("end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal")
    } == {
        "end_turn": "stop",
        "max_tokens": "length",
        "stop_sequence": "stop",
        "tool_use": "tool_calls",
        "pause_turn": "stop",
        "refusal": "content_filter",
    }


# -- streams ------------------------------------------------------------------------------


def scripted_stream(text_pieces: list[str], tool_args: list[str], stop: str = "tool_use") -> bytes:
    message = {
        "id": "msg_s",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 4, "output_tokens": 1},
    }
    out = [sse("message_start", {"message": message}), sse("ping", {})]
    out.append(
        sse("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
    )
    out += [
        sse("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": p}})
        for p in text_pieces
    ]
    out.append(sse("content_block_stop", {"index": 0}))
    tool = {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {}}
    out.append(sse("content_block_start", {"index": 1, "content_block": tool}))
    out += [
        sse(
            "content_block_delta",
            {"index": 1, "delta": {"type": "input_json_delta", "partial_json": p}},
        )
        for p in tool_args
    ]
    out.append(sse("content_block_stop", {"index": 1}))
    out.append(
        sse(
            "message_delta",
            {"delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 17}},
        )
    )
    out.append(sse("message_stop", {}))
    return b"".join(out)


def fold(chunks: list[Any]) -> tuple[StreamState, list[ToolCallPart]]:
    state = StreamState("anthropic")
    done: list[ToolCallPart] = []
    for chunk in chunks:
        done += state.absorb(chunk)
    done += state.finish()
    return state, done


PIECES = ["The ", "weather ", "is ", "asked."]
ARGS = ["", '{"ci', 'ty": "Pa', 'ris"}']


def test_stream_gives_text_tool_call_usage_and_finish():
    state, done = fold(decode_stream(scripted_stream(PIECES, ARGS)))
    assert state.content == "The weather is asked."
    assert [(c.id, c.name, dict(c.args)) for c in done] == [
        ("toolu_9", "get_weather", {"city": "Paris"})
    ]
    assert state.finish_reasons == ("tool_use",)
    assert state.usage == Usage(14, 17, 4, 31)
    assert state.model == MODEL and state.id == "msg_s"


def test_tool_call_completes_at_its_content_block_stop():
    chunks = decode_stream(scripted_stream(PIECES, ARGS))
    state = StreamState("anthropic")
    completed_at = None
    for i, chunk in enumerate(chunks):
        if state.absorb(chunk):
            completed_at = i
            break
    assert completed_at is not None
    assert chunks[completed_at].raw["type"] == "content_block_stop"


@given(st.lists(st.integers(0, 2000), max_size=8))
def test_any_byte_split_gives_the_same_chunks(cuts):
    payload = scripted_stream(PIECES, ARGS)
    whole = decode_stream(payload)
    split = decode_stream(payload, [c % (len(payload) + 1) for c in cuts])
    assert split == whole


def test_stream_matches_the_non_streamed_message():
    state, _ = fold(decode_stream(scripted_stream(PIECES, ARGS, stop="end_turn")))
    raw = {
        "id": "msg_s",
        "model": MODEL,
        "content": [
            {"type": "text", "text": "".join(PIECES)},
            {
                "type": "tool_use",
                "id": "toolu_9",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 4, "output_tokens": 17},
    }
    completion = ANTHROPIC.decode(json.dumps(raw).encode(), {}, spec())
    assert state.content == completion.content
    assert state.usage == completion.usage
    assert state.finish_reasons == completion.finish_reasons
    assert state.message() == completion.message


def test_byte_at_a_time_matches_whole():
    payload = scripted_stream(PIECES, ARGS)
    assert decode_stream(payload, list(range(len(payload)))) == decode_stream(payload)


@pytest.mark.parametrize(
    ("kind", "error_type", "status"),
    [
        ("overloaded_error", InternalServerError, 529),
        ("rate_limit_error", RateLimitError, 429),
        ("api_error", InternalServerError, 500),
    ],
)
def test_error_event_raises_the_typed_error_for_its_type(kind, error_type, status):
    payload = sse("error", {"error": {"type": kind, "message": "Overloaded"}})
    with pytest.raises(error_type) as info:
        decode_stream(payload)
    assert info.value.status_code == status == ERROR_STATUS[kind]
    assert info.value.message == "Overloaded"
    assert info.value.provider == "anthropic"


def test_unknown_error_type_still_raises_api_error():
    with pytest.raises(APIError, match="strange"):
        decode_stream(sse("error", {"error": {"type": "brand_new_error", "message": "strange"}}))


def test_unknown_event_types_are_skipped_not_fatal():
    chunks = decode_stream(
        sse("future_event", {"x": 1})
        + sse("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "ok"}})
    )
    assert "".join(c.content for c in chunks) == "ok"


def test_thinking_deltas_carry_no_text():
    payload = sse(
        "content_block_start", {"index": 0, "content_block": {"type": "thinking", "thinking": ""}}
    )
    payload += sse(
        "content_block_delta", {"index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}}
    )
    payload += sse(
        "content_block_delta", {"index": 0, "delta": {"type": "signature_delta", "signature": "s"}}
    )
    assert "".join(c.content for c in decode_stream(payload)) == ""


@given(st.binary(max_size=300))
def test_garbage_stream_raises_only_format_or_api_errors(data):
    try:
        decode_stream(b"event: x\ndata: " + data + b"\n\n")
    except (ResponseFormatError, APIError):
        pass


@given(
    json_values,
    st.sampled_from(
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "error",
        ]
    ),
)
def test_wrong_event_shapes_raise_only_format_or_api_errors(value, kind):
    data = value if isinstance(value, dict) else {"payload": value}
    try:
        decode_stream(f"event: {kind}\ndata: {json.dumps({**data, 'type': kind})}\n\n".encode())
    except (ResponseFormatError, APIError):
        pass

"""The Bedrock Converse codec, pure: requests, replies, streams and garbage."""

from __future__ import annotations

import json
from typing import Any

import pytest
import strategies
from hypothesis import given
from hypothesis import strategies as st

from minicall._codecs.bedrock.codec import CODEC, error_type
from minicall._framing.eventstream import encode_message
from minicall._model import errors
from minicall._model.errors import ResponseFormatError
from minicall._model.messages import (
    DocumentPart,
    ImagePart,
    Message,
    Messages,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from minicall._model.spec import CallSpec, Endpoint, ResponseFormat, ToolSpec, Usage

ENDPOINT = Endpoint(base_url="https://bedrock-runtime.us-east-1.amazonaws.com", timeout=30.0)
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


def spec(*messages: Any, **kwargs: Any) -> CallSpec:
    return CallSpec(model=MODEL, messages=tuple(messages), **kwargs)


def body_of(s: CallSpec) -> dict[str, Any]:
    return json.loads(CODEC.encode(s, ENDPOINT).body)


def frame(event: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": event, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps({**payload, "p": "abcdefgh"}).encode())


def exception_frame(kind: str, message: str) -> bytes:
    headers = {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_message(headers, json.dumps({"message": message}).encode())


def decode_stream(data: bytes, cuts: list[int] | None = None) -> list[Any]:
    decoder = CODEC.stream_decoder(spec())
    points = sorted(set(cuts or []))
    chunks = []
    start = 0
    for point in [*points, len(data)]:
        chunks += decoder.feed(data[start:point])
        start = point
    return chunks + decoder.close()


# -- requests --------------------------------------------------------------------------


def test_url_encodes_the_model_id_as_one_label_and_streams_go_to_converse_stream():
    request = CODEC.encode(spec(Messages.User("hi")), ENDPOINT)
    assert request.method == "POST"
    assert (
        request.url
        == ENDPOINT.base_url + "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    )
    arn = "arn:aws:bedrock:us-east-1:123:inference-profile/us.amazon.nova-micro-v1:0"
    streamed = CODEC.encode(
        CallSpec(model=arn, messages=(Messages.User("hi"),), stream=True), ENDPOINT
    )
    assert streamed.url.endswith(
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.amazon.nova-micro-v1%3A0/converse-stream"
    )
    assert request.timeout == 30.0


def test_only_content_type_is_set_so_the_signed_headers_match_botocore():
    request = CODEC.encode(spec(Messages.User("hi")), ENDPOINT)
    assert {k.lower() for k in request.headers} == {"content-type"}
    assert "authorization" not in {k.lower() for k in request.headers}


def test_system_messages_move_to_the_system_field_and_turns_alternate():
    s = spec(
        Messages.System("Be brief."),
        {"role": "system", "content": "Native too."},
        Messages.User("Hello"),
        Messages.Assistant("Hi!"),
        Messages.User("Recommend a book"),
        Messages.User("fantasy please"),
    )
    body = body_of(s)
    assert body["system"] == [{"text": "Be brief."}, {"text": "Native too."}]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][2]["content"] == [
        {"text": "Recommend a book"},
        {"text": "fantasy please"},
    ]


def test_common_params_go_to_inference_config_and_others_to_additional_fields():
    params = {
        "max_tokens": 100,
        "temperature": 0.5,
        "top_p": 0.9,
        "stop": "END",
        "seed": 1,
        "frequency_penalty": 0.1,
        "presence_penalty": 0.2,
        "top_k": 40,
        "guardrailConfig": {"guardrailIdentifier": "g", "guardrailVersion": "1"},
    }
    body = body_of(spec(Messages.User("hi"), call_params=params))
    assert body["inferenceConfig"] == {
        "maxTokens": 100,
        "temperature": 0.5,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    assert body["additionalModelRequestFields"] == {"top_k": 40}
    assert body["guardrailConfig"] == {"guardrailIdentifier": "g", "guardrailVersion": "1"}
    assert "seed" not in json.dumps(body)


def test_native_inference_config_merges_with_common_names():
    params = {
        "inferenceConfig": {"maxTokens": 10, "stopSequences": ["x"]},
        "temperature": 0.1,
        "additionalModelRequestFields": {"thinking": {"type": "enabled"}},
    }
    body = body_of(spec(Messages.User("hi"), call_params=params))
    assert body["inferenceConfig"] == {"maxTokens": 10, "stopSequences": ["x"], "temperature": 0.1}
    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled"}}


def test_tools_and_forced_tool_become_tool_config():
    tool = ToolSpec(
        "get_weather",
        "Weather in a city.",
        {"type": "object", "properties": {"city": {"type": "string"}}},
    )
    body = body_of(spec(Messages.User("hi"), tools=(tool,), forced_tool="get_weather"))
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Weather in a city.",
                    "inputSchema": {"json": dict(tool.parameters)},
                }
            }
        ],
        "toolChoice": {"tool": {"name": "get_weather"}},
    }


def test_json_mode_appends_the_instruction_to_system():
    fmt = ResponseFormat("json_object")
    body = body_of(
        spec(
            Messages.System("S"),
            Messages.User("hi"),
            response_format=fmt,
            json_instruction="JSON only",
        )
    )
    assert body["system"] == [{"text": "S"}, {"text": "JSON only"}]
    assert "outputConfig" not in body


def test_images_documents_tool_calls_and_results_have_the_converse_shapes():
    png = b"\x89PNG\r\n\x1a\nxx"
    s = spec(
        Messages.User(
            [
                TextPart("look"),
                ImagePart("image/png", image=png),
                DocumentPart("application/pdf", b"%PDF"),
            ]
        ),
        Messages.Assistant([TextPart(""), ToolCallPart("t1", "f", {"a": 1})]),
        Message(
            "tool",
            [
                ToolResultPart("t1", "f", '{"ok": true}'),
                ToolResultPart("t2", "f", "boom", is_error=True),
            ],
        ),
    )
    messages = body_of(s)["messages"]
    assert messages[0]["content"][1] == {
        "image": {"format": "png", "source": {"bytes": "iVBORw0KGgp4eA=="}}
    }
    assert messages[0]["content"][2]["document"]["format"] == "pdf"
    assert messages[1] == {
        "role": "assistant",
        "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}}],
    }
    assert messages[2] == {
        "role": "user",
        "content": [
            {
                "toolResult": {
                    "toolUseId": "t1",
                    "content": [{"json": {"ok": True}}],
                    "status": "success",
                }
            },
            {"toolResult": {"toolUseId": "t2", "content": [{"text": "boom"}], "status": "error"}},
        ],
    }


def test_an_image_url_that_is_not_s3_is_a_prompt_error():
    with pytest.raises(errors.PromptError, match="s3://"):
        CODEC.encode(spec(Messages.User([ImagePart("image/png", url="https://x/y.png")])), ENDPOINT)
    body = body_of(spec(Messages.User([ImagePart("image/png", url="s3://b/k.png")])))
    assert body["messages"][0]["content"][0]["image"]["source"] == {
        "s3Location": {"uri": "s3://b/k.png"}
    }


texts = st.text(min_size=1, max_size=30)


@given(st.lists(st.tuples(st.sampled_from(["user", "assistant"]), texts), min_size=1, max_size=6))
def test_common_messages_keep_their_roles_and_text_in_native_form(turns):
    native = CODEC.to_native([Message(role, text) for role, text in turns])  # type: ignore[arg-type]
    assert [(m["role"], m["content"][0]["text"]) for m in native] == turns


# -- replies ---------------------------------------------------------------------------

STOP = st.sampled_from(
    [
        "end_turn",
        "tool_use",
        "max_tokens",
        "stop_sequence",
        "guardrail_intervened",
        "content_filtered",
    ]
)
counts = st.integers(min_value=0, max_value=10**6)
tool_use = st.builds(
    lambda i, n, a: {"toolUse": {"toolUseId": f"tooluse_{i}", "name": n, "input": a}},
    st.integers(0, 999),
    st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
)
blocks = st.lists(st.builds(lambda t: {"text": t}, st.text(max_size=20)) | tool_use, max_size=5)


@st.composite
def replies(draw: Any) -> dict[str, Any]:
    usage = {"inputTokens": draw(counts), "outputTokens": draw(counts)}
    usage["cacheReadInputTokens"] = draw(counts)
    usage["totalTokens"] = sum(usage.values())
    return {
        "output": {"message": {"role": "assistant", "content": draw(blocks)}},
        "stopReason": draw(STOP),
        "usage": usage,
        "metrics": {"latencyMs": 10},
    }


@given(replies())
def test_any_converse_reply_normalizes_to_its_content_finish_reason_and_usage(raw):
    completion = CODEC.decode(json.dumps(raw).encode(), {"x-amzn-requestid": "rid-1"}, spec())
    content = raw["output"]["message"]["content"]
    assert completion.content == "".join(b.get("text", "") for b in content)
    calls = [b["toolUse"] for b in content if "toolUse" in b]
    assert [
        (c.id, c.name, dict(c.args))
        for c in completion.message.parts
        if isinstance(c, ToolCallPart)
    ] == [(c["toolUseId"], c["name"], c["input"]) for c in calls]
    assert completion.finish_reasons == (raw["stopReason"],)
    assert CODEC.finish_map[raw["stopReason"]] in ("stop", "length", "tool_calls", "content_filter")
    u = raw["usage"]
    assert completion.usage == Usage(
        u["inputTokens"] + u["cacheReadInputTokens"],
        u["outputTokens"],
        u["cacheReadInputTokens"],
        u["totalTokens"],
    )
    assert completion.id == "rid-1" and completion.model == MODEL
    assert completion.native_message == raw["output"]["message"]


def test_error_message_and_type_come_from_body_and_header():
    assert CODEC.error_message(b'{"message": "Too many requests"}') == "Too many requests"
    assert CODEC.error_message(b'{"Message": "Capital M"}') == "Capital M"
    assert CODEC.error_message(b"<html>") is None
    assert (
        error_type(
            {"x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/coral/"}, b""
        )
        == "ThrottlingException"
    )
    assert (
        error_type({}, b'{"__type": "com.amazon.coral#ValidationException", "message": "x"}')
        == "ValidationException"
    )
    assert error_type({}, b"nope") is None


json_values = strategies.json_values(max_leaves=10, max_size=3)
near_misses = st.fixed_dictionaries(
    {
        "output": st.fixed_dictionaries(
            {"message": st.fixed_dictionaries({"content": json_values})}
        )
        | json_values
    },
    optional={"stopReason": json_values, "usage": json_values},
)


@given(
    st.binary(max_size=60)
    | json_values.map(lambda v: json.dumps(v).encode())
    | near_misses.map(lambda v: json.dumps(v).encode())
)
def test_garbage_replies_raise_only_response_format_error(data):
    try:
        CODEC.decode(data, {}, spec())
    except ResponseFormatError:
        pass


# -- streams ---------------------------------------------------------------------------

SCRIPT = b"".join(
    [
        frame("messageStart", {"role": "assistant"}),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello "}}),
        frame(
            "contentBlockDelta",
            {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "hmm"}}},
        ),
        frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "world"}}),
        frame("contentBlockStop", {"contentBlockIndex": 0}),
        frame(
            "contentBlockStart",
            {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tu_1", "name": "f"}}},
        ),
        frame(
            "contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"a"'}}}
        ),
        frame(
            "contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": ": 1}"}}}
        ),
        frame("contentBlockStop", {"contentBlockIndex": 1}),
        frame("messageStop", {"stopReason": "tool_use"}),
        frame("someFutureEvent", {"x": 1}),
        frame(
            "metadata",
            {
                "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
                "metrics": {"latencyMs": 1},
            },
        ),
    ]
)
WHOLE = {
    "output": {
        "message": {
            "role": "assistant",
            "content": [
                {"text": "Hello world"},
                {"toolUse": {"toolUseId": "tu_1", "name": "f", "input": {"a": 1}}},
            ],
        }
    },
    "stopReason": "tool_use",
    "usage": {"inputTokens": 5, "outputTokens": 7, "totalTokens": 12},
}


def fold(chunks: list[Any]) -> tuple[str, list[tuple[str, str, str, bool]], Any, Any]:
    text = "".join(c.content for c in chunks)
    tools = [(d.id or "", d.name or "", d.arguments, d.done) for c in chunks for d in c.tool_deltas]
    finish = [c.finish_reasons for c in chunks if c.finish_reasons]
    usage = [c.usage for c in chunks if c.usage]
    return text, tools, finish, usage


def test_scripted_stream_gives_the_same_content_tools_and_usage_as_the_whole_reply():
    chunks = decode_stream(SCRIPT)
    text, tools, finish, usage = fold(chunks)
    whole = CODEC.decode(json.dumps(WHOLE).encode(), {}, spec())
    assert text == whole.content
    assert tools == [
        ("tu_1", "f", "", False),
        ("", "", '{"a"', False),
        ("", "", ": 1}", False),
        ("", "", "", True),
    ]
    assert json.loads("".join(t[2] for t in tools)) == dict(whole.message.parts[1].args)  # type: ignore[union-attr]
    assert finish == [whole.finish_reasons]
    assert usage == [whole.usage]
    assert chunks[0].model == MODEL
    assert all("p" not in c.raw for c in chunks)


@given(st.lists(st.integers(min_value=0, max_value=len(SCRIPT)), max_size=8))
def test_stream_decoding_is_the_same_at_any_byte_split(cuts):
    assert fold(decode_stream(SCRIPT, cuts)) == fold(decode_stream(SCRIPT))


def test_stream_decoding_one_byte_at_a_time():
    assert fold(decode_stream(SCRIPT, list(range(len(SCRIPT))))) == fold(decode_stream(SCRIPT))


@pytest.mark.parametrize(
    ("kind", "error", "status"),
    [
        ("throttlingException", errors.RateLimitError, 429),
        ("modelStreamErrorException", errors.APIError, 424),
        ("validationException", errors.BadRequestError, 400),
        ("internalServerException", errors.InternalServerError, 500),
        ("serviceUnavailableException", errors.InternalServerError, 503),
    ],
)
def test_exception_frames_raise_typed_errors_with_the_service_message(kind, error, status):
    data = frame("messageStart", {"role": "assistant"}) + exception_frame(kind, "it broke")
    with pytest.raises(error) as info:
        decode_stream(data)
    assert info.value.status_code == status
    assert info.value.message == "it broke"
    assert info.value.provider == "bedrock"


def test_error_frames_raise_api_error():
    data = encode_message(
        {":message-type": "error", ":error-code": "Boom", ":error-message": "bad"}, b""
    )
    with pytest.raises(errors.APIError, match="bad"):
        decode_stream(data)


def test_a_stream_cut_inside_a_frame_raises_on_close():
    with pytest.raises(ResponseFormatError):
        decode_stream(SCRIPT[:-3])


event_names = st.sampled_from(
    [
        "messageStart",
        "contentBlockStart",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
)


@given(event_names, json_values | st.binary(max_size=20))
def test_garbage_event_payloads_raise_only_response_format_error(name, payload):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    data = encode_message({":event-type": name, ":message-type": "event"}, raw)
    try:
        decode_stream(data)
    except ResponseFormatError:
        pass


@given(st.binary(max_size=80))
def test_garbage_bytes_raise_only_response_format_or_api_error(data):
    try:
        decode_stream(data)
    except (ResponseFormatError, errors.APIError):
        pass

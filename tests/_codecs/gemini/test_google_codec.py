"""The Gemini codec, pure: URLs, request bodies, replies, streams, garbage."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import strategies
from hypothesis import given
from hypothesis import strategies as st

from minicall import APIError, InternalServerError, RateLimitError, ResponseFormatError
from minicall._call.stream import StreamState
from minicall._codecs.gemini.codec import GEMINI, model_path
from minicall._model.messages import (
    AudioPart,
    DocumentPart,
    ImagePart,
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from minicall._model.spec import CallSpec, Chunk, Endpoint, ResponseFormat, ToolSpec, Usage
from minicall.testing._formats.google import FORMAT
from minicall.testing._reply import RecordedRequest, Reply, ToolCallReply

BASE = "https://generativelanguage.googleapis.com"
ENDPOINT = Endpoint(BASE, {"X-Extra": "yes"}, timeout=5.0)
VERTEX = Endpoint(
    "https://us-central1-aiplatform.googleapis.com",
    options={"vertex": "true", "project": "proj", "location": "us-central1"},
)
WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]},
)


def spec(**kw: Any) -> CallSpec:
    kw.setdefault("messages", (Message("user", "hi"),))
    kw.setdefault("model", "gemini-2.0-flash")
    return CallSpec(**kw)


def body_of(s: CallSpec, endpoint: Endpoint = ENDPOINT) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(GEMINI.encode(s, endpoint).body)
    return result


def decode(raw: Any) -> Any:
    return GEMINI.decode(json.dumps(raw).encode(), {}, spec())


# -- URLs -----------------------------------------------------------------------------


def test_gemini_url_defaults_to_v1_with_models_prefix_and_no_credentials():
    request = GEMINI.encode(spec(), ENDPOINT)
    assert request.method == "POST"
    assert request.url == f"{BASE}/v1/models/gemini-2.0-flash:generateContent"
    assert request.headers["X-Extra"] == "yes"
    assert request.headers["Content-Type"] == "application/json"
    assert not {"x-goog-api-key", "Authorization"} & set(request.headers)
    assert request.timeout == 5.0


def test_stream_url_asks_for_sse_and_api_version_option_wins():
    endpoint = Endpoint(BASE, options={"api_version": "v1beta"})
    request = GEMINI.encode(spec(stream=True), endpoint)
    assert request.url == f"{BASE}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
    assert request.headers["Accept"] == "text/event-stream"


@pytest.mark.parametrize(
    ("model", "vertex", "path"),
    [
        ("gemini-x", False, "models/gemini-x"),
        ("models/gemini-x", False, "models/gemini-x"),
        ("tunedModels/mine", False, "tunedModels/mine"),
        ("gemini-x", True, "publishers/google/models/gemini-x"),
        ("meta/llama", True, "publishers/meta/models/llama"),
        ("projects/p/locations/l/endpoints/e", True, "projects/p/locations/l/endpoints/e"),
    ],
)
def test_model_names_become_resource_paths_as_the_sdk_forms_them(model: str, vertex: bool, path: str):
    assert model_path(model, vertex) == path


def test_vertex_url_has_project_location_and_v1beta1_by_default():
    request = GEMINI.encode(spec(), VERTEX)
    assert request.url == (
        "https://us-central1-aiplatform.googleapis.com/v1beta1/projects/proj/locations/us-central1"
        "/publishers/google/models/gemini-2.0-flash:generateContent"
    )


def test_vertex_express_mode_has_no_project_prefix():
    endpoint = Endpoint("https://aiplatform.googleapis.com", options={"vertex": "true", "api_version": "v1"})
    assert GEMINI.encode(spec(), endpoint).url == (
        "https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.0-flash:generateContent"
    )


# -- bodies ---------------------------------------------------------------------------


def test_system_messages_become_system_instruction_and_roles_are_user_and_model():
    messages = (
        Message("system", "Be brief."),
        Message("user", "hi"),
        Message("assistant", "hello"),
        {"role": "user", "parts": [{"text": "native"}]},
    )
    body = body_of(spec(messages=messages))
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}], "role": "user"}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [{"text": "hello"}]},
        {"role": "user", "parts": [{"text": "native"}]},
    ]
    assert "generationConfig" not in body and "tools" not in body


def test_a_native_system_dict_is_moved_into_system_instruction():
    body = body_of(spec(messages=({"role": "system", "parts": [{"text": "S"}]}, Message("user", "u"))))
    assert body["systemInstruction"]["parts"] == [{"text": "S"}]
    assert [c["role"] for c in body["contents"]] == ["user"]


def test_common_params_are_renamed_into_generation_config():
    params = {"max_tokens": 9, "stop": "END", "top_p": 0.5, "temperature": 0.2, "seed": 4,
              "frequency_penalty": 0.1, "presence_penalty": 0.3}
    assert body_of(spec(call_params=params))["generationConfig"] == {
        "maxOutputTokens": 9, "stopSequences": ["END"], "topP": 0.5, "temperature": 0.2, "seed": 4,
        "frequencyPenalty": 0.1, "presencePenalty": 0.3,
    }


def test_native_params_in_either_case_land_where_the_api_wants_them():
    params = {
        "top_k": 3,
        "candidateCount": 1,
        "thinking_config": {"thinkingBudget": 0},
        "safety_settings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
        "cachedContent": "cachedContents/abc",
        "config": {"response_modalities": ["TEXT"], "labels": {"team": "a"}},
    }
    body = body_of(spec(call_params=params))
    assert body["generationConfig"] == {
        "topK": 3, "candidateCount": 1, "thinkingConfig": {"thinkingBudget": 0}, "responseModalities": ["TEXT"],
    }
    assert body["safetySettings"][0]["threshold"] == "BLOCK_NONE"
    assert body["cachedContent"] == "cachedContents/abc"
    assert body["labels"] == {"team": "a"}


def test_tools_are_function_declarations_in_the_openapi_subset():
    body = body_of(spec(tools=(WEATHER,)))
    assert body["tools"] == [{"functionDeclarations": [{
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {
            "type": "OBJECT",
            "properties": {"city": {"type": "STRING"}, "days": {"type": "INTEGER"}},
            "required": ["city"],
        },
    }]}]
    assert "toolConfig" not in body


def test_a_recursive_schema_falls_back_to_parameters_json_schema():
    schema = {"$ref": "#/$defs/Node", "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}}
    declaration = body_of(spec(tools=(ToolSpec("walk", "", schema),)))["tools"][0]["functionDeclarations"][0]
    assert declaration == {"name": "walk", "parametersJsonSchema": schema}


def test_a_forced_tool_sets_mode_any_with_its_name():
    body = body_of(spec(tools=(WEATHER,), forced_tool="get_weather"))
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}


def test_json_mode_sets_the_mime_type_and_a_schema_when_there_is_one():
    plain = body_of(spec(response_format=ResponseFormat("json_object")))
    assert plain["generationConfig"] == {"responseMimeType": "application/json"}
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "a": {"type": "string"}}, "title": "X"}
    typed = body_of(spec(response_format=ResponseFormat("json_schema", name="X", schema=schema)))
    assert typed["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "type": "OBJECT",
            "properties": {"n": {"type": "INTEGER"}, "a": {"type": "STRING"}},
            "propertyOrdering": ["n", "a"],
        },
    }


def test_media_parts_are_inline_data_or_file_data():
    png = b"\x89PNG\r\n"
    parts = [
        TextPart("look"),
        ImagePart("image/png", image=png),
        ImagePart("image/jpeg", url="gs://bucket/cat.jpg"),
        ImagePart("image/png", url="data:image/png;base64," + base64.b64encode(png).decode()),
        AudioPart("audio/wav", b"RIFF"),
        DocumentPart("application/pdf", b"%PDF"),
    ]
    native = GEMINI.to_native([Message("user", parts)])[0]["parts"]
    b64 = base64.b64encode(png).decode()
    assert native == [
        {"text": "look"},
        {"inlineData": {"mimeType": "image/png", "data": b64}},
        {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://bucket/cat.jpg"}},
        {"inlineData": {"mimeType": "image/png", "data": b64}},
        {"inlineData": {"mimeType": "audio/wav", "data": base64.b64encode(b"RIFF").decode()}},
        {"inlineData": {"mimeType": "application/pdf", "data": base64.b64encode(b"%PDF").decode()}},
    ]


def test_tool_calls_and_results_round_trip_with_real_ids_only():
    assistant = Message("assistant", [ToolCallPart("call_0", "f", {"a": 1}), ToolCallPart("xyz", "g", {})])
    results = Message("tool", [
        ToolResultPart("call_0", "f", "sunny"),
        ToolResultPart("xyz", "g", '{"temp": 20}'),
        ToolResultPart("call_1", "h", "boom", is_error=True),
    ])
    model, user = GEMINI.to_native([assistant, results])
    assert model == {"role": "model", "parts": [
        {"functionCall": {"name": "f", "args": {"a": 1}}},
        {"functionCall": {"name": "g", "args": {}, "id": "xyz"}},
    ]}
    assert user == {"role": "user", "parts": [
        {"functionResponse": {"name": "f", "response": {"result": "sunny"}}},
        {"functionResponse": {"name": "g", "response": {"temp": 20}, "id": "xyz"}},
        {"functionResponse": {"name": "h", "response": {"error": "boom"}}},
    ]}


def test_an_empty_assistant_message_still_has_a_part():
    assert GEMINI.native_assistant(Message("assistant", "")) == {"role": "model", "parts": [{"text": ""}]}


# -- replies --------------------------------------------------------------------------

FULL = {
    "candidates": [{
        "content": {"role": "model", "parts": [
            {"text": "thinking...", "thought": True},
            {"text": "It is "},
            {"text": "sunny."},
            {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "c2ln"},
            {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}, "id": "fc-7"}},
        ]},
        "finishReason": "STOP",
        "index": 0,
    }],
    "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "cachedContentTokenCount": 4,
                      "thoughtsTokenCount": 3, "totalTokenCount": 18},
    "modelVersion": "gemini-2.0-flash-001",
    "responseId": "resp-1",
}


def test_a_reply_gives_text_without_thoughts_tool_calls_usage_model_and_id():
    c = decode(FULL)
    assert c.content == "It is sunny."
    assert [(p.id, p.name, dict(p.args)) for p in c.message.parts if isinstance(p, ToolCallPart)] == [
        ("call_0", "get_weather", {"city": "Oslo"}),
        ("fc-7", "get_weather", {"city": "Rome"}),
    ]
    assert c.finish_reasons == ("STOP",)
    assert c.usage == Usage(input_tokens=10, output_tokens=8, cached_tokens=4, total_tokens=18)
    assert (c.model, c.id) == ("gemini-2.0-flash-001", "resp-1")
    assert c.raw_tool_calls[1] == {"name": "get_weather", "args": {"city": "Rome"}, "id": "fc-7"}


def test_the_native_message_echoes_every_part_with_its_thought_signature():
    native = decode(FULL).native_message
    assert native["role"] == "model"
    assert native["parts"] == FULL["candidates"][0]["content"]["parts"]


def test_a_blocked_prompt_gives_empty_content_and_a_content_filter_reason():
    c = decode({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 3}})
    assert c.content == ""
    assert c.finish_reasons == ("SAFETY",)
    assert GEMINI.finish_map[c.finish_reasons[0]] == "content_filter"
    assert c.usage == Usage(3, 0, 0, 3)


@pytest.mark.parametrize(
    ("reason", "normal"),
    [("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
     ("PROHIBITED_CONTENT", "content_filter"), ("MALFORMED_FUNCTION_CALL", "stop"), ("OTHER", "stop")],
)
def test_finish_reasons_normalize(reason: str, normal: str):
    assert GEMINI.finish_map[reason] == normal


def test_a_reply_without_usage_has_none():
    c = decode({"candidates": [{"content": {"parts": [{"text": "x"}]}}]})
    assert (c.content, c.usage, c.finish_reasons) == ("x", None, None)


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"candidates": {}},
        {"candidates": [1]},
        {"candidates": [{"content": {"parts": [{"text": 5}]}}]},
        {"candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}}]},
        {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": []}}]}}]},
        {"candidates": [{"finishReason": 3}]},
        {"promptFeedback": {"blockReason": []}},
    ],
)
def test_wrong_shapes_raise_response_format_error(raw: Any):
    with pytest.raises(ResponseFormatError):
        decode(raw)


def test_error_message_reads_the_google_error_body():
    body = json.dumps({"error": {"code": 429, "message": "Quota exceeded.", "status": "RESOURCE_EXHAUSTED"}})
    assert GEMINI.error_message(body.encode()) == "Quota exceeded."
    assert GEMINI.error_message(("[" + body + "]").encode()) == "Quota exceeded."
    assert GEMINI.error_message(b"<html>") is None
    assert GEMINI.error_message(b'{"error": "x"}') is None


# -- streams --------------------------------------------------------------------------


def _stream(chunks: list[bytes]) -> list[Chunk]:
    decoder = GEMINI.stream_decoder(spec(stream=True))
    out: list[Chunk] = []
    for piece in chunks:
        out += decoder.feed(piece)
    return out + decoder.close()


def _frame(value: Any) -> bytes:
    return b"data: " + json.dumps(value).encode() + b"\r\n\r\n"


def test_streamed_function_calls_arrive_done_with_indexes_counted_across_chunks():
    call = {"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": {"a": 1}}}]}}]}
    chunks = _stream([_frame(call), _frame(call)])
    deltas = [d for c in chunks for d in c.tool_deltas]
    assert [(d.index, d.id, d.name, json.loads(d.arguments), d.done) for d in deltas] == [
        (0, "call_0", "f", {"a": 1}, True),
        (1, "call_1", "f", {"a": 1}, True),
    ]


@pytest.mark.parametrize(("code", "error"), [(429, RateLimitError), (500, InternalServerError), (None, APIError)])
def test_an_error_event_mid_stream_raises_the_mapped_error(code: int | None, error: type[APIError]):
    text = {"candidates": [{"content": {"parts": [{"text": "partial"}]}}]}
    with pytest.raises(error) as info:
        _stream([_frame(text), _frame({"error": {"code": code, "message": "Backend broke.", "status": "X"}})])
    assert info.value.message == "Backend broke."
    assert info.value.status_code == code


# -- properties -----------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_args = st.dictionaries(st.text(min_size=1, max_size=8), st.integers() | st.booleans() | _text, max_size=3)
_calls = st.lists(st.builds(ToolCallReply, st.sampled_from(["f", "get_weather"]), _args), max_size=3)
_replies = st.builds(
    Reply,
    text=_text,
    tool_calls=_calls,
    finish_reason=st.sampled_from([None, "stop", "length", "content_filter"]),
    input_tokens=st.integers(0, 10**6),
    output_tokens=st.integers(0, 10**6),
    cached_tokens=st.integers(0, 100),
    stream_chunks=st.one_of(st.none(), st.integers(1, 6)),
)


def _request(stream: bool) -> RecordedRequest:
    method = "streamGenerateContent" if stream else "generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}
    return RecordedRequest("POST", f"/v1/models/gemini-x:{method}" + ("?alt=sse" if stream else ""), "",
                           {"alt": "sse"} if stream else {}, {}, b"", body, "google", 1)


@given(_replies)
def test_any_reply_in_the_real_shape_decodes_to_its_content_finish_and_usage(reply: Reply):
    c = GEMINI.decode(FORMAT.render(reply, _request(False)).body, {}, spec())
    assert c.content == reply.text
    calls = [p for p in c.message.parts if isinstance(p, ToolCallPart)]
    assert [(p.name, dict(p.args)) for p in calls] == [(t.name, dict(t.args)) for t in reply.tool_calls]
    assert len({p.id for p in calls}) == len(calls)
    assert c.finish_reasons is not None
    assert GEMINI.finish_map[c.finish_reasons[0]] == ("stop" if reply.resolved_finish_reason() == "tool_calls" else reply.resolved_finish_reason())
    assert c.usage == Usage(reply.input_tokens or 0, reply.output_tokens or 0, reply.cached_tokens,
                            (reply.input_tokens or 0) + (reply.output_tokens or 0))


@given(_replies, st.data())
def test_a_stream_at_any_split_gives_what_the_whole_reply_gives(reply: Reply, data: st.DataObject):
    whole = GEMINI.decode(FORMAT.render(reply, _request(False)).body, {}, spec())
    stream = b"".join(FORMAT.render_stream(reply, _request(True)).events)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    state = StreamState("google")
    for chunk in _stream(pieces):
        state.absorb(chunk)
    state.finish()
    assert state.content == whole.content
    assert state.message() == whole.message
    assert state.usage == whole.usage
    assert state.finish_reasons == whole.finish_reasons


_messages = st.lists(
    st.one_of(
        st.builds(Message, st.sampled_from(["user", "assistant", "system"]), _text),
        st.builds(lambda t: Message("user", [TextPart(t), ImagePart("image/png", image=t.encode())]), _text),
    ),
    max_size=5,
)


@given(_messages)
def test_neutral_messages_keep_their_roles_and_text_in_native_form(messages: list[Message]):
    native = GEMINI.to_native(messages)
    roles = {"user": "user", "assistant": "model", "system": "system"}
    assert [n["role"] for n in native] == [roles[m.role] for m in messages]
    for message, content in zip(messages, native):
        text = "".join(p.get("text", "") for p in content["parts"])
        assert text == "".join(p.text for p in message.parts if isinstance(p, TextPart))


_json = strategies.json_values(
    ["candidates", "content", "parts", "text", "functionCall", "name", "args", "finishReason",
     "usageMetadata", "promptTokenCount", "promptFeedback", "blockReason", "thought", "error", "code",
     "message"],
    text=_text,
    max_leaves=20,
)


@given(_json)
def test_any_json_either_decodes_or_raises_response_format_error(value: Any):
    try:
        decode(value)
    except ResponseFormatError:
        pass


@given(st.binary(max_size=200))
def test_any_bytes_either_decode_or_raise_response_format_error(body: bytes):
    try:
        GEMINI.decode(body, {}, spec())
    except ResponseFormatError:
        pass


@given(_json)
def test_any_json_in_a_stream_decodes_or_raises_a_typed_error(value: Any):
    try:
        _stream([_frame(value)])
    except (ResponseFormatError, APIError):
        pass

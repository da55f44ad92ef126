"""The OpenAI-compatible codec under each dialect: pure encode/decode tests and properties.

Replies are generated in each provider's real shape (Mistral's content chunks and
object arguments, Groq's ``x_groq``, xAI's cost ticks, Azure's filter results) and
streams are rendered by the FakeServer's own format modules, then fed at every kind
of byte split.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import strategies
from hypothesis import given
from hypothesis import strategies as st

from minicall import APIError, ResponseFormatError
from minicall._call.stream import StreamState
from minicall._codecs.openai.codec import (
    AZURE,
    AZURE_OPENAI,
    AZURE_OPENAI_V1,
    DIALECTS,
    GROQ,
    LITELLM,
    MISTRAL,
    OPENAI,
    XAI,
    Dialect,
    OpenAICompatCodec,
)
from minicall._model.messages import AudioPart, Message, TextPart, ToolCallPart, ToolResultPart
from minicall._model.spec import CallSpec, Endpoint, ResponseFormat, ToolSpec
from minicall.testing import Reply, ToolCallReply
from minicall.testing._formats import get_format
from minicall.testing._reply import RecordedRequest

ALL = [OPENAI, GROQ, XAI, MISTRAL, LITELLM, AZURE, AZURE_OPENAI, AZURE_OPENAI_V1]
IDS = ["openai", "groq", "xai", "mistral", "litellm", "azure", "azure-openai", "azure-v1"]
FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "model_length": "length",
    "error": "stop",
}
BASE = "https://example.test/root"


def spec(**kw: Any) -> CallSpec:
    return CallSpec(**{"model": "m-1", "messages": (Message("user", "hi"),), **kw})


def encode(
    dialect: Dialect, options: dict[str, str] | None = None, **kw: Any
) -> tuple[str, dict[str, Any], dict[str, str]]:
    request = OpenAICompatCodec(dialect).encode(spec(**kw), Endpoint(BASE, options=options or {}))
    return request.url, json.loads(request.body), dict(request.headers)


# -- encoding -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "url"),
    [
        (OPENAI, BASE + "/chat/completions"),
        (GROQ, BASE + "/openai/v1/chat/completions"),
        (XAI, BASE + "/chat/completions"),
        (MISTRAL, BASE + "/v1/chat/completions"),
        (LITELLM, BASE + "/chat/completions"),
        (AZURE, BASE + "/chat/completions"),
        (AZURE_OPENAI, BASE + "/openai/deployments/m-1/chat/completions"),
        (AZURE_OPENAI_V1, BASE + "/openai/v1/chat/completions"),
    ],
    ids=IDS,
)
def test_each_dialect_posts_to_its_own_path_without_credentials(dialect, url):
    got, body, headers = encode(dialect)
    assert got == url
    assert body == {"model": "m-1", "messages": [{"role": "user", "content": "hi"}]}
    assert not {"authorization", "api-key"} & {k.lower() for k in headers}


def test_api_version_option_becomes_the_query_and_model_is_quoted_in_the_path():
    request = OpenAICompatCodec(AZURE_OPENAI).encode(
        spec(model="my dep/1"), Endpoint(BASE, options={"api_version": "2024-10-21"})
    )
    assert (
        request.url
        == BASE + "/openai/deployments/my%20dep%2F1/chat/completions?api-version=2024-10-21"
    )


def test_mistral_renames_seed_and_max_completion_tokens_and_forces_with_any():
    tool = ToolSpec("f", "d", {"type": "object", "properties": {}})
    _, body, _ = encode(
        MISTRAL,
        call_params={"seed": 3, "max_completion_tokens": 9, "safe_prompt": True},
        tools=(tool,),
        forced_tool="f",
    )
    assert body["random_seed"] == 3 and body["max_tokens"] == 9 and body["safe_prompt"] is True
    assert "seed" not in body and "max_completion_tokens" not in body
    assert body["tool_choice"] == "any"


@pytest.mark.parametrize("dialect", ALL, ids=IDS)
def test_stream_options_are_sent_only_where_the_provider_needs_asking(dialect):
    _, body, headers = encode(dialect, stream=True)
    assert body["stream"] is True
    assert ("stream_options" in body) is dialect.stream_usage
    assert headers["Accept"] == "text/event-stream"


def test_groq_leaves_out_the_parameters_its_models_do_not_support():
    _, body, _ = encode(
        GROQ,
        call_params={
            "logprobs": True,
            "top_logprobs": 2,
            "logit_bias": {"1": 2},
            "temperature": 0.1,
        },
    )
    assert body["temperature"] == 0.1
    assert not {"logprobs", "top_logprobs", "logit_bias"} & set(body)


def test_json_schema_response_format_is_sent_where_the_dialect_takes_it():
    fmt = ResponseFormat(
        "json_schema",
        name="Book",
        schema={"type": "object"},
        strict_schema={"type": "object", "additionalProperties": False},
    )
    for dialect in ALL:
        _, body, _ = encode(dialect, response_format=fmt)
        assert body["response_format"]["json_schema"]["name"] == "Book"
        assert body["response_format"]["json_schema"]["strict"] is True


def test_mistral_audio_is_inline_base64_and_others_use_data_and_format():
    message = Message("user", [TextPart("t"), AudioPart("audio/wav", b"abc")])
    assert OpenAICompatCodec(MISTRAL).to_native([message])[0]["content"][1] == {
        "type": "input_audio",
        "input_audio": "YWJj",
    }
    assert OpenAICompatCodec(GROQ).to_native([message])[0]["content"][1] == {
        "type": "input_audio",
        "input_audio": {"data": "YWJj", "format": "wav"},
    }


def test_dialects_table_names_every_provider_once():
    assert set(DIALECTS) == {"openai", "groq", "xai", "mistral", "litellm", "azure"}
    assert all(d.provider == name for name, d in DIALECTS.items())


# -- common messages keep their meaning -------------------------------------------------

texts = st.text(min_size=1, max_size=30)


@given(
    system=texts,
    user=texts,
    answer=texts,
    args=st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    result=texts,
)
def test_neutral_messages_become_native_messages_with_the_same_meaning(
    system, user, answer, args, result
):
    history = [
        Message("system", system),
        Message("user", user),
        Message("assistant", [TextPart(answer), ToolCallPart("c1", "f", args)]),
        Message("tool", [ToolResultPart("c1", "f", result)]),
    ]
    for dialect in ALL:
        native = OpenAICompatCodec(dialect).to_native(history)
        assert [m["role"] for m in native] == ["system", "user", "assistant", "tool"]
        assert native[0]["content"] == system and native[1]["content"] == user
        assert native[2]["content"] == answer
        assert json.loads(native[2]["tool_calls"][0]["function"]["arguments"]) == args
        assert native[3] == {"role": "tool", "tool_call_id": "c1", "content": result}


# -- any valid reply normalizes -----------------------------------------------------------

usage_ints = st.integers(min_value=0, max_value=10**6)


@st.composite
def replies(draw: st.DrawFn, dialect: Dialect) -> tuple[dict[str, Any], dict[str, Any]]:
    """A reply body in the provider's shape, and what it should normalize to."""
    text = draw(st.text(max_size=40))
    chunked = dialect is MISTRAL and draw(st.booleans())
    pieces = [text[: len(text) // 2], text[len(text) // 2 :]]
    content: Any = (
        [{"type": "text", "text": p} for p in pieces]
        if chunked
        else (text if text or draw(st.booleans()) else None)
    )
    calls = draw(
        st.lists(
            st.tuples(
                st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
                st.dictionaries(
                    st.from_regex(r"[a-z]{1,4}", fullmatch=True), st.integers(), max_size=3
                ),
            ),
            max_size=3,
        )
    )
    as_object = dialect is MISTRAL and draw(st.booleans())
    reason = draw(
        st.sampled_from(
            ["stop", "length", "tool_calls", "content_filter", "model_length", "error"]
            if dialect is MISTRAL
            else ["stop", "length", "tool_calls", "content_filter"]
        )
    )
    p, c = draw(usage_ints), draw(usage_ints)
    usage: dict[str, Any] = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}
    if dialect is XAI:
        usage["cost_in_usd_ticks"] = draw(st.integers(min_value=0, max_value=10**12))
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {
                "id": f"id{i}",
                "type": "function",
                "function": {"name": n, "arguments": a if as_object else json.dumps(a)},
            }
            for i, (n, a) in enumerate(calls)
        ]
    body: dict[str, Any] = {
        "id": "r1",
        "object": "chat.completion",
        "model": "m-1",
        "choices": [{"index": 0, "message": message, "finish_reason": reason}],
        "usage": usage,
    }
    if dialect is GROQ:
        body["x_groq"] = {"id": "req_1"}
    if dialect in (AZURE, AZURE_OPENAI, AZURE_OPENAI_V1):
        body["prompt_filter_results"] = []
    expected = {
        "content": text,
        "calls": calls,
        "reason": reason,
        "usage": (p, c, p + c),
        "ticks": usage.get("cost_in_usd_ticks"),
    }
    return body, expected


@pytest.mark.parametrize("dialect", ALL, ids=IDS)
def test_any_valid_reply_normalizes_to_its_content_calls_reason_and_usage(dialect):
    codec = OpenAICompatCodec(dialect)

    @given(replies(dialect))
    def check(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
        body, want = pair
        done = codec.decode(json.dumps(body).encode(), {}, spec())
        assert done.content == want["content"]
        assert [
            (c.name, dict(c.args)) for c in done.message.parts if isinstance(c, ToolCallPart)
        ] == want["calls"]
        assert done.finish_reasons == (want["reason"],)
        assert codec.finish_map[want["reason"]] == FINISH[want["reason"]]
        assert done.usage is not None
        assert (done.usage.input_tokens, done.usage.output_tokens, done.usage.total_tokens) == want[
            "usage"
        ]
        if want["ticks"] is not None:
            assert done.reported_cost == pytest.approx(want["ticks"] / 1e10)

    check()


def test_litellm_cost_header_is_the_reported_cost_and_a_bad_one_is_ignored():
    body = json.dumps(
        {"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}]}
    ).encode()
    codec = OpenAICompatCodec(LITELLM)
    assert codec.decode(body, {"x-litellm-response-cost": "0.25"}, spec()).reported_cost == 0.25
    assert codec.decode(body, {"x-litellm-response-cost": "n/a"}, spec()).reported_cost is None


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "-inf", "1e400", "-0"])
def test_a_hostile_litellm_cost_header_is_no_cost_and_never_negative(value):
    body = json.dumps({"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}]}).encode()
    cost = OpenAICompatCodec(LITELLM).decode(body, {"x-litellm-response-cost": value}, spec()).reported_cost
    assert cost is None or (cost == 0.0 and str(cost) == "0.0")  # -0 reads as 0.0


@pytest.mark.parametrize("ticks", ["-5", "NaN", "Infinity", "1e400", "-1e308", "1" + "0" * 400])
def test_a_hostile_xai_cost_in_ticks_is_no_cost_and_never_raises(ticks):
    body = (
        '{"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}],'
        ' "usage": {"prompt_tokens": 1, "completion_tokens": 1, "cost_in_usd_ticks": %s}}' % ticks
    ).encode()
    done = OpenAICompatCodec(XAI).decode(body, {}, spec())
    assert done.reported_cost is None and done.message.parts


# -- garbage only ever raises ResponseFormatError ------------------------------------------

json_values = strategies.json_values(
    ["choices", "message", "content", "usage", "tool_calls", "function", "x_groq", "error", "object",
     "delta", "text"],
    max_leaves=20,
    max_size=5,
)


@pytest.mark.parametrize("dialect", ALL, ids=IDS)
def test_garbage_bodies_raise_only_response_format_error(dialect):
    codec = OpenAICompatCodec(dialect)

    @given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=60)))
    def check(body: bytes) -> None:
        try:
            codec.decode(body, {}, spec())
        except ResponseFormatError:
            pass

    check()


@pytest.mark.parametrize("dialect", ALL, ids=IDS)
def test_garbage_stream_events_raise_only_response_format_or_api_errors(dialect):
    codec = OpenAICompatCodec(dialect)

    @given(st.lists(json_values, max_size=4), st.binary(max_size=40))
    def check(events: list[Any], tail: bytes) -> None:
        decoder = codec.stream_decoder(spec(stream=True))
        data = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + tail
        try:
            decoder.feed(data)
            decoder.close()
        except (ResponseFormatError, APIError):
            pass

    check()


def test_error_texts_of_each_family_member():
    codec = OpenAICompatCodec(MISTRAL)
    assert (
        codec.error_message(
            b'{"object":"error","message":"bad model","type":"invalid_request_error"}'
        )
        == "bad model"
    )
    assert codec.error_message(b'{"message":"Unauthorized","request_id":"r"}') == "Unauthorized"
    assert (
        codec.error_message(
            b'{"detail":[{"loc":["body","model"],"msg":"field required","type":"missing"}]}'
        )
        == "field required"
    )
    assert (
        OpenAICompatCodec(AZURE).error_message(
            b'{"error":{"code":"content_filter","message":"filtered"}}'
        )
        == "filtered"
    )
    assert codec.error_message(b"<html>") is None


def test_groq_stream_error_string_in_x_groq_stops_the_stream():
    decoder = OpenAICompatCodec(GROQ).stream_decoder(spec(stream=True))
    first = decoder.feed(b'data: {"choices":[{"index":0,"delta":{"content":"par"}}]}\n\n')
    assert first[0].content == "par"
    with pytest.raises(APIError, match="capacity"):
        decoder.feed(b'data: {"choices":[],"x_groq":{"error":"over capacity"}}\n\n')


def test_bare_error_object_with_a_status_code_raises_the_matching_error():
    from minicall import RateLimitError

    decoder = OpenAICompatCodec(MISTRAL).stream_decoder(spec(stream=True))
    with pytest.raises(RateLimitError, match="slow"):
        decoder.feed(b'data: {"object":"error","message":"slow","code":429}\n\n')


# -- streams at any byte split give the non-stream result -------------------------------------

FORMATS = {
    "openai": OPENAI,
    "groq": GROQ,
    "xai": XAI,
    "mistral": MISTRAL,
    "litellm": LITELLM,
    "azure": AZURE,
}


def _request(provider: str, stream: bool, dialect: Dialect) -> RecordedRequest:
    body: dict[str, Any] = {
        "model": "m-1",
        "messages": [{"role": "user", "content": "hello there"}],
        "stream": stream,
    }
    if stream and dialect.stream_usage:
        body["stream_options"] = {"include_usage": True}
    raw = json.dumps(body).encode()
    return RecordedRequest(
        "POST", "/chat/completions", "/chat/completions", {}, {}, raw, body, provider, 1
    )


@pytest.mark.parametrize("provider", list(FORMATS))
def test_stream_at_any_split_equals_the_whole_reply(provider):
    dialect = FORMATS[provider]
    codec = OpenAICompatCodec(dialect)
    fmt = get_format(provider)
    assert fmt is not None

    @given(
        st.text(max_size=40),
        st.lists(
            st.tuples(
                st.from_regex(r"[a-z]{1,6}", fullmatch=True),
                st.dictionaries(
                    st.from_regex(r"[a-z]{1,3}", fullmatch=True), st.integers(), max_size=2
                ),
            ),
            max_size=2,
        ),
        st.data(),
    )
    def check(text: str, calls: list[tuple[str, dict[str, int]]], data: st.DataObject) -> None:
        reply = Reply(
            text=text,
            tool_calls=[ToolCallReply(n, a, id=f"c{i}") for i, (n, a) in enumerate(calls)],
        )
        whole = codec.decode(fmt.render(reply, _request(provider, False, dialect)).body, {}, spec())
        stream_bytes = b"".join(fmt.render_stream(reply, _request(provider, True, dialect)).events)
        cuts = sorted(data.draw(st.lists(st.integers(0, len(stream_bytes)), max_size=8)))
        decoder = codec.stream_decoder(spec(stream=True))
        state = StreamState(provider)
        done: list[ToolCallPart] = []
        for start, end in zip([0, *cuts], [*cuts, len(stream_bytes)]):
            for chunk in decoder.feed(stream_bytes[start:end]):
                done += state.absorb(chunk)
        for chunk in decoder.close():
            done += state.absorb(chunk)
        done += state.finish()
        assert state.content == whole.content == text
        assert [(c.name, dict(c.args)) for c in done] == [
            (c.name, dict(c.args)) for c in whole.message.parts if isinstance(c, ToolCallPart)
        ]
        assert state.usage == whole.usage

    check()

"""OpenAI codec properties beyond the family tests: history round trips and the fast chunk path."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from minicall._codecs.openai import codec as openai_compat
from minicall._codecs.openai import stream as openai_stream
from minicall._codecs.openai.codec import OPENAI, OpenAICompatCodec
from minicall._model.spec import CallSpec, Endpoint

CODEC = OpenAICompatCodec(OPENAI)
ENDPOINT = Endpoint("https://api.example/v1")
SPEC = CallSpec(model="gpt-4o-mini", messages=())

texts = st.text(max_size=40)
ids = st.one_of(st.none(), st.text(min_size=1, max_size=10))


@given(
    content=st.one_of(st.none(), texts),
    calls=st.lists(
        st.tuples(st.text(min_size=1, max_size=8), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)),
        max_size=3,
    ),
)
def test_message_param_round_trips_through_encode(content, calls):
    message = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
            for i, (n, a) in enumerate(calls)
        ]
    body = {"id": "c", "model": "m", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
    completion = CODEC.decode(json.dumps(body).encode(), {}, SPEC)
    sent = json.loads(CODEC.encode(CallSpec("m", (completion.message,)), ENDPOINT).body)["messages"][0]
    again = json.loads(CODEC.encode(CallSpec("m", (completion.native_message,)), ENDPOINT).body)["messages"][0]
    assert sent == again  # neutral and native forms of the turn encode identically
    assert (sent["content"] or "") == (content or "")
    assert [json.loads(c["function"]["arguments"]) for c in sent.get("tool_calls", [])] == [a for _, a in calls]


@given(
    content=st.one_of(st.none(), texts),
    role=st.sampled_from([None, "assistant"]),
    model=st.one_of(st.none(), st.text(max_size=8), st.integers()),
    id_=ids,
    extra=st.sampled_from([{}, {"system_fingerprint": "fp"}, {"usage": {"prompt_tokens": 1}}, {"weird": 1}]),
    finish=st.sampled_from([None, "stop"]),
)
def test_fast_chunk_path_agrees_with_the_checked_path(content, role, model, id_, extra, finish):
    delta = {k: v for k, v in (("content", content), ("role", role)) if v is not None}
    chunk = {"id": id_, "object": "chat.completion.chunk", "model": model, **extra,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    try:
        fast = CODEC.decode_chunk(chunk)
    except Exception as exc:  # noqa: BLE001 - compared with the checked path below
        fast = type(exc)
    original = openai_stream._plain_text_chunk
    openai_stream._plain_text_chunk = lambda raw: None
    try:
        try:
            slow = CODEC.decode_chunk(chunk)
        except Exception as exc:  # noqa: BLE001
            slow = type(exc)
    finally:
        openai_stream._plain_text_chunk = original
    assert fast == slow


_counts = st.one_of(st.none(), st.integers(0, 10**6), st.floats(0, 10, allow_nan=False), st.booleans(), st.text(max_size=2))


@given(
    content=st.one_of(st.none(), texts, st.integers(), st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": texts}), max_size=2)),
    reason=st.one_of(st.none(), st.sampled_from(["stop", "length", "tool_calls"]), st.integers()),
    model=st.one_of(st.none(), texts, st.integers()),
    extra_message=st.sampled_from([{}, {"refusal": None}, {"refusal": "no"}, {"tool_calls": []}, {"audio": None}, {"weird": 1}]),
    usage=st.one_of(
        st.none(),
        st.integers(),
        st.fixed_dictionaries(
            {"prompt_tokens": _counts, "completion_tokens": _counts, "total_tokens": _counts},
            optional={"prompt_tokens_details": st.one_of(st.none(), st.fixed_dictionaries({}, optional={"cached_tokens": _counts}))},
        ),
    ),
    n_choices=st.integers(0, 2),
)
def test_fast_reply_path_agrees_with_the_checked_path(content, reason, model, extra_message, usage, n_choices):
    message = {"role": "assistant", "content": content, **extra_message}
    reply = {"id": "x", "model": model, "usage": usage,
             "choices": [{"index": i, "message": message, "finish_reason": reason} for i in range(n_choices)]}
    body = json.dumps(reply).encode()

    def outcome():
        try:
            return CODEC.decode(body, {}, SPEC)
        except Exception as exc:  # noqa: BLE001 - compared between the two paths
            return type(exc)

    fast = outcome()
    original = openai_compat._plain_reply
    openai_compat._plain_reply = lambda raw: None
    try:
        slow = outcome()
    finally:
        openai_compat._plain_reply = original
    assert fast == slow


@given(st.text(min_size=1))
def test_assistant_text_is_the_checked_message(text):
    from minicall._model.messages import Message, TextPart, assistant_text

    built = assistant_text(text)
    assert built == Message("assistant", [TextPart(text)])
    assert built.parts == (TextPart(text),) and hash(built.parts) == hash((TextPart(text),))

"""OpenAI codec properties beyond the family tests: history round trips, chunks and replies."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from minicall import ResponseFormatError, ToolCallPart
from minicall._codecs.openai.codec import OPENAI, OpenAICompatCodec
from minicall._model.spec import CallSpec, Chunk, Completion, Endpoint, Usage

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
def test_text_chunks_decode_to_their_text_or_a_format_error(content, role, model, id_, extra, finish):
    delta = {k: v for k, v in (("content", content), ("role", role)) if v is not None}
    chunk = {"id": id_, "object": "chat.completion.chunk", "model": model, **extra,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if model is not None and not isinstance(model, str):
        try:
            CODEC.decode_chunk(chunk)
        except ResponseFormatError as exc:
            assert exc.path == "chunk.model"
        else:
            raise AssertionError("a model that is not a string was accepted")
        return
    usage = Usage(1, 0, 0, 1) if "usage" in extra else None
    assert CODEC.decode_chunk(chunk) == Chunk(
        content=content or "", finish_reasons=(finish,) if finish else None, usage=usage, model=model, id=id_,
        raw=chunk,
    )


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
def test_text_replies_decode_or_raise_only_a_format_error(content, reason, model, extra_message, usage, n_choices):
    message = {"role": "assistant", "content": content, **extra_message}
    reply = {"id": "x", "model": model, "usage": usage,
             "choices": [{"index": i, "message": message, "finish_reason": reason} for i in range(n_choices)]}
    try:
        completion = CODEC.decode(json.dumps(reply).encode(), {}, SPEC)
    except ResponseFormatError:
        return
    assert isinstance(completion, Completion) and completion.raw == reply
    assert isinstance(model, str) or model is None
    if n_choices and isinstance(content, str):
        assert completion.content == content
        assert completion.finish_reasons == ((reason,) * n_choices if reason else None)


@given(st.text(min_size=1))
def test_assistant_text_is_the_checked_message(text):
    from minicall._model.messages import Message, TextPart, assistant_text

    built = assistant_text(text)
    assert built == Message("assistant", [TextPart(text)])
    assert built.parts == (TextPart(text),) and hash(built.parts) == hash((TextPart(text),))


@given(
    text=st.text(max_size=20),
    calls=st.lists(
        st.builds(
            ToolCallPart,
            st.from_regex(r"\Acall_[0-9]\Z"),
            st.text(min_size=1, max_size=8),
            st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
        ),
        max_size=3,
    ),
)
def test_a_decoded_reply_s_history_turn_is_what_native_assistant_makes_of_its_message(text, calls):
    # decode builds the turn from the text and calls it read, not from the message it
    # made of them: the two must agree.
    from minicall._codecs._common import assistant_message
    from minicall._codecs.openai.codec import _assistant_turn

    assert _assistant_turn(text, calls) == CODEC.native_assistant(assistant_message(text, calls))

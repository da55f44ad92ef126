"""A streamed Anthropic turn keeps its content blocks as a whole reply does.

With extended thinking and tools, the API wants the assistant turn back unchanged:
``thinking`` blocks with their ``signature``, ``redacted_thinking`` blocks, text and tool
use, in their order. A whole reply's ``message_param`` echoes them; a streamed reply must
give the very same native turn (and the same neutral one for ``llm``), whatever the
blocks and however the text is cut into deltas. Streams here are rendered event by event
the way the API (and the official SDK's ``accumulate_event``) has them: a thinking
block starts as ``{"type": "thinking", "thinking": "", "signature": ""}``, grows by
``thinking_delta`` and gets its ``signature_delta`` just before ``content_block_stop``;
a ``redacted_thinking`` block comes whole in its start.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from minicall._call.stream import StreamState
from minicall._codecs.anthropic.codec import ANTHROPIC
from minicall._model.messages import Message, TextPart, ToolCallPart
from minicall._model.spec import CallSpec, Chunk, Completion

MODEL = "claude-sonnet-4-5"
SPEC = CallSpec(model=MODEL, messages=(Message("user", "hi"),), stream=True)


# -- rendering a turn as the API streams it -------------------------------------------------


def _event(kind: str, **data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def _cut(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points) if b > a]


def _block_events(index: int, block: dict[str, Any], cuts: list[int]) -> list[bytes]:
    kind = block["type"]

    def delta(d: dict[str, Any]) -> bytes:
        return _event("content_block_delta", index=index, delta=d)

    if kind == "text":
        out = [_event("content_block_start", index=index, content_block={"type": "text", "text": ""})]
        out += [delta({"type": "text_delta", "text": p}) for p in _cut(block["text"], cuts)]
        out += [delta({"type": "citations_delta", "citation": c}) for c in block.get("citations") or ()]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        out = [_event("content_block_start", index=index, content_block=start)]
        out += [delta({"type": "thinking_delta", "thinking": p}) for p in _cut(block["thinking"], cuts)]
        out.append(delta({"type": "signature_delta", "signature": block["signature"]}))
    elif kind in ("tool_use", "server_tool_use"):
        start = {**block, "input": {}}
        out = [_event("content_block_start", index=index, content_block=start)]
        pieces = [""] + _cut(json.dumps(block["input"]), cuts)
        out += [delta({"type": "input_json_delta", "partial_json": p}) for p in pieces]
    else:  # redacted_thinking and server results arrive whole
        out = [_event("content_block_start", index=index, content_block=block)]
    return out + [_event("content_block_stop", index=index)]


def stream_of(message: dict[str, Any], cuts: Sequence[int] = ()) -> bytes:
    """The SSE body that streams ``message`` (a whole ``message`` object)."""
    start = {**message, "content": [], "stop_reason": None, "usage": {"input_tokens": 9, "output_tokens": 1}}
    out = [_event("message_start", message=start), _event("ping")]
    for index, block in enumerate(message["content"]):
        out += _block_events(index, block, list(cuts))
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    out.append(_event("message_delta", delta=delta, usage={"output_tokens": 20}))
    out.append(_event("message_stop"))
    return b"".join(out)


def whole(content: list[dict[str, Any]], stop: str = "tool_use") -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 9, "output_tokens": 20},
    }


def streamed(payload: bytes) -> tuple[StreamState, Completion]:
    """The stream folded as a stream object folds it, and its completion."""
    decoder = ANTHROPIC.stream_decoder(SPEC)
    state = StreamState("anthropic")
    for chunk in decoder.feed(payload) + decoder.close():
        state.absorb(chunk)
    state.finish()
    return state, state.completion(ANTHROPIC.native_assistant(state.message()))


def decoded(message: dict[str, Any]) -> Completion:
    return ANTHROPIC.decode(json.dumps(message).encode(), {}, SPEC)


THINKING = {"type": "thinking", "thinking": "The user wants the weather. I'll call the tool.", "signature": "EqQBCgIYAhIM1gbcDa9G"}
REDACTED = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw"}
TEXT = {"type": "text", "text": "Let me check the weather."}
TOOL = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
TURN = whole([THINKING, REDACTED, TEXT, TOOL])


# -- named behaviours ---------------------------------------------------------------------


def test_streamed_thinking_block_keeps_its_text_and_signature_in_the_native_turn():
    _, completion = streamed(stream_of(TURN, [5, 17, 30]))
    assert completion.native_message == {"role": "assistant", "content": [THINKING, REDACTED, TEXT, TOOL]}


def test_streamed_turn_with_thinking_is_the_turn_the_whole_reply_gives():
    state, completion = streamed(stream_of(TURN))
    same = decoded(TURN)
    assert completion.native_message == same.native_message
    # The neutral turn (llm.CallResponse.message_param) is the same too: text, then calls.
    assert state.message() == same.message == completion.message
    assert completion.content == same.content == TEXT["text"]


def test_signature_delta_replaces_the_signature_of_the_start_block():
    # The SDK sets the signature (content.signature = delta.signature); it never appends.
    payload = _event("content_block_start", index=0, content_block={**THINKING, "thinking": "", "signature": "old"})
    payload += _event("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "hmm"})
    payload += _event("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "new"})
    payload += _event("content_block_stop", index=0)
    _, completion = streamed(payload)
    assert completion.native_message["content"] == [{"type": "thinking", "thinking": "hmm", "signature": "new"}]


def test_thinking_and_signature_deltas_are_no_text_and_text_deltas_are_text_only():
    chunks = ANTHROPIC.stream_decoder(SPEC).feed(stream_of(TURN))
    assert "".join(c.content for c in chunks) == TEXT["text"]
    text_deltas = [c for c in chunks if c.raw.get("delta", {}).get("type") == "text_delta"]
    assert text_deltas and all(c == Chunk(content=c.content, raw=c.raw) for c in text_deltas)
    thinking_deltas = [c for c in chunks if c.raw.get("delta", {}).get("type") in ("thinking_delta", "signature_delta")]
    assert thinking_deltas and not any(c.content or c.block for c in thinking_deltas)


def test_each_block_is_handed_over_on_its_content_block_stop():
    chunks = ANTHROPIC.stream_decoder(SPEC).feed(stream_of(TURN))
    ends = [(c.raw["type"], c.block) for c in chunks if c.block is not None]
    assert [kind for kind, _ in ends] == ["content_block_stop"] * 4
    assert [block["type"] for _, block in ends] == ["thinking", "redacted_thinking", "text", "tool_use"]


def test_text_blocks_on_either_side_of_a_tool_call_stay_apart_and_in_order():
    turn = whole([TEXT, TOOL, {"type": "text", "text": "And one more thing."}])
    _, completion = streamed(stream_of(turn, [3, 9]))
    assert completion.native_message == decoded(turn).native_message
    assert [b["type"] for b in completion.native_message["content"]] == ["text", "tool_use", "text"]


def test_streamed_citations_stay_on_their_text_block():
    citation = {"type": "char_location", "cited_text": "sunny", "document_index": 0, "start_char_index": 0, "end_char_index": 5}
    turn = whole([{**TEXT, "citations": [citation]}], stop="end_turn")
    _, completion = streamed(stream_of(turn))
    assert completion.native_message == decoded(turn).native_message
    assert completion.native_message["content"][0]["citations"] == [citation]


def test_server_tool_use_is_echoed_but_is_no_tool_call_for_the_client():
    server = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "Paris weather"}}
    results = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
    turn = whole([server, results, TEXT], stop="end_turn")
    state, completion = streamed(stream_of(turn, [4]))
    assert completion.native_message == decoded(turn).native_message
    assert state.calls == [] and state.message() == decoded(turn).message


def test_a_stream_without_block_events_still_makes_its_turn_from_the_text():
    payload = _event("content_block_delta", index=0, delta={"type": "text_delta", "text": "bare"})
    _, completion = streamed(payload)
    assert completion.native_message == {"role": "assistant", "content": [{"type": "text", "text": "bare"}]}


def test_text_of_a_block_cut_off_before_its_stop_is_kept():
    payload = b"".join(_block_events(0, THINKING, []))
    payload += _event("content_block_start", index=1, content_block={"type": "text", "text": ""})
    payload += _event("content_block_delta", index=1, delta={"type": "text_delta", "text": "half a sen"})
    _, completion = streamed(payload)
    assert completion.native_message["content"] == [THINKING, {"type": "text", "text": "half a sen"}]


def test_a_text_only_stream_gives_the_turn_it_gave_before():
    turn = whole([TEXT], stop="end_turn")
    state, completion = streamed(stream_of(turn, [2, 8]))
    assert completion.native_message == decoded(turn).native_message
    assert state.message() == Message("assistant", [TextPart(TEXT["text"])])


# -- any turn -----------------------------------------------------------------------------

texts = st.text(max_size=30)
ids = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)
inputs = st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=6) | st.booleans(), max_size=3)
blocks = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, texts),
    st.builds(lambda t, s: {"type": "thinking", "thinking": t, "signature": s}, texts, ids),
    st.builds(lambda d: {"type": "redacted_thinking", "data": d}, ids),
    st.builds(lambda i, n, a: {"type": "tool_use", "id": "toolu_" + i, "name": n, "input": a}, ids, ids, inputs),
)


@given(st.lists(blocks, max_size=6), st.lists(st.integers(0, 60), max_size=6))
def test_any_streamed_turn_is_the_turn_its_whole_reply_gives(content, cuts):
    turn = whole(content)
    state, completion = streamed(stream_of(turn, cuts))
    same = decoded(turn)
    assert completion.native_message == same.native_message
    assert state.message() == same.message
    assert [p for p in state.message().parts if isinstance(p, ToolCallPart)] == [
        p for p in same.message.parts if isinstance(p, ToolCallPart)
    ]


@given(st.lists(blocks, max_size=5), st.lists(st.integers(0, 4000), max_size=8))
def test_any_byte_split_of_a_turn_gives_the_same_chunks(content, cuts):
    payload = stream_of(whole(content), [7])
    at, split = 0, []
    decoder = ANTHROPIC.stream_decoder(SPEC)
    for cut in sorted(c % (len(payload) + 1) for c in cuts) + [len(payload)]:
        split += decoder.feed(payload[at:cut])
        at = max(at, cut)
    split += decoder.close()
    assert split == ANTHROPIC.stream_decoder(SPEC).feed(payload)
    assert all(isinstance(c, Chunk) for c in split)

"""Codecs under fuzzing: whatever a server sends, only minicall's typed errors come out.

Every provider in the registry is fuzzed (those whose module does not import yet are
skipped with the reason): its response decoder with arbitrary JSON and bytes, its
error reader with arbitrary bytes, and its stream decoder with arbitrary bytes, with
SSE frames of arbitrary JSON, and (Bedrock) with AWS event-stream frames of arbitrary
JSON, each fed in arbitrary pieces.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import strategies
from hypothesis import given
from hypothesis import strategies as st

from minicall import Message, MinicallError
from minicall._call.registry import PROVIDERS, provider_module
from minicall._framing.eventstream import encode_message
from minicall._model.spec import CallSpec
from minicall.testing._formats import get_format

SPEC = CallSpec(model="m", messages=(Message("user", "hi"),))
STREAM_SPEC = CallSpec(model="m", messages=(Message("user", "hi"),), stream=True)

json_values = strategies.json_values(text=st.text(max_size=20), max_leaves=25, max_size=5)
# Keys the real formats use, so the fuzzer reaches past the first shape check.
FIELDS = st.sampled_from(
    ["choices", "message", "delta", "content", "text", "tool_calls", "function", "arguments", "usage", "type",
     "candidates", "parts", "output", "finish_reason", "stop_reason", "index", "id", "error", "event_type",
     "contentBlockDelta", "messageStop", "metadata", "role", "name", "input", "content_block", "promptFeedback"]
)
shaped = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(FIELDS, children, max_size=5),
    max_leaves=30,
)
any_json = st.one_of(json_values, shaped)


def codec_of(provider: str) -> Any:
    module = provider_module(provider)
    fmt = get_format(provider)
    kwargs = dict(fmt.client_kwargs) if fmt is not None else {"api_key": "test-key"}
    client = getattr(module, module.CLIENT_CLASS)(base_url="http://127.0.0.1:9", **kwargs)
    return client.codec


def only_typed_errors(action: Any) -> None:
    try:
        action()
    except MinicallError:
        pass


def feed_in_pieces(codec: Any, data: bytes, cuts: list[int]) -> None:
    decoder = codec.stream_decoder(STREAM_SPEC)
    start = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        decoder.feed(data[start:cut])
        start = cut
    decoder.feed(data[start:])
    decoder.close()


providers = pytest.mark.parametrize("provider", list(PROVIDERS))


@providers
@given(value=any_json)
def test_decode_of_any_json_raises_only_typed_errors(provider, value):
    codec = codec_of(provider)
    only_typed_errors(lambda: codec.decode(json.dumps(value).encode(), {}, SPEC))


@providers
@given(data=st.binary(max_size=300))
def test_decode_of_any_bytes_raises_only_typed_errors(provider, data):
    codec = codec_of(provider)
    only_typed_errors(lambda: codec.decode(data, {"content-type": "application/json"}, SPEC))


@providers
@given(data=st.binary(max_size=300) | any_json.map(lambda v: json.dumps(v).encode()))
def test_error_message_never_raises(provider, data):
    message = codec_of(provider).error_message(data)
    assert message is None or isinstance(message, str)


@providers
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(min_value=0), max_size=4))
def test_stream_decoder_fed_any_bytes_raises_only_typed_errors(provider, data, cuts):
    codec = codec_of(provider)
    only_typed_errors(lambda: feed_in_pieces(codec, data, cuts))


@providers
@given(
    events=st.lists(st.tuples(st.sampled_from(["", "message", "error", "content_block_delta", "message_delta"]), any_json), max_size=5),
    cuts=st.lists(st.integers(min_value=0), max_size=4),
)
def test_stream_decoder_fed_sse_frames_of_any_json_raises_only_typed_errors(provider, events, cuts):
    codec = codec_of(provider)
    data = b"".join(
        (f"event: {name}\n" if name else "").encode() + b"data: " + json.dumps(value).encode() + b"\n\n"
        for name, value in events
    )
    only_typed_errors(lambda: feed_in_pieces(codec, data + b"data: [DONE]\n\n", cuts))


EVENT_TYPES = st.sampled_from(
    ["messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata",
     "internalServerException", "throttlingException", "validationException", "unknownThing"]
)


@given(
    frames=st.lists(st.tuples(EVENT_TYPES, st.sampled_from(["event", "exception", "error"]), any_json), max_size=5),
    cuts=st.lists(st.integers(min_value=0), max_size=4),
)
def test_bedrock_event_stream_of_any_json_raises_only_typed_errors(frames, cuts):
    codec = codec_of("bedrock")
    data = b"".join(
        encode_message(
            {":event-type" if kind == "event" else ":exception-type": name, ":message-type": kind,
             ":content-type": "application/json"},
            json.dumps(value).encode(),
        )
        for name, kind, value in frames
    )
    only_typed_errors(lambda: feed_in_pieces(codec, data, cuts))

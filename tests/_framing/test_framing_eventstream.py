"""The AWS event-stream decoder and encoder: round trips, splits, corruption."""

from __future__ import annotations

import struct
import uuid
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicall._framing.eventstream import (
    EventStreamDecoder,
    EventStreamMessage,
    encode_message,
)
from minicall._model.errors import ResponseFormatError

EVENT_HEADERS = {
    ":message-type": "event",
    ":event-type": "contentBlockDelta",
    ":content-type": "application/json",
}
DELTA = b'{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcdefgh"}'


def frame_from_parts(header_block: bytes, payload: bytes) -> bytes:
    """A frame with a hand-made header block (for types the encoder does not write)."""
    total = len(header_block) + len(payload) + 16
    prelude = struct.pack(">II", total, len(header_block))
    head = prelude + struct.pack(">I", zlib.crc32(prelude))
    body = head + header_block + payload
    return body + struct.pack(">I", zlib.crc32(body))


def decode_whole(data: bytes) -> list[EventStreamMessage]:
    decoder = EventStreamDecoder()
    return decoder.feed(data) + decoder.close()


def decode_bytewise(data: bytes) -> list[EventStreamMessage]:
    decoder = EventStreamDecoder()
    out: list[EventStreamMessage] = []
    for i in range(len(data)):
        out += decoder.feed(data[i : i + 1])
    return out + decoder.close()


def test_round_trip_of_a_converse_stream_event():
    frame = encode_message(EVENT_HEADERS, DELTA)
    assert decode_whole(frame) == [EventStreamMessage(EVENT_HEADERS, DELTA)]


def test_round_trip_of_every_encodable_header_type():
    headers = {"s": "caf\u00e9", "b": b"\x00\x01", "t": True, "f": False, "i": -7, "big": 2**31 - 1}
    (message,) = decode_whole(encode_message(headers, b""))
    assert message.headers == headers
    assert type(message.headers["t"]) is bool
    assert type(message.headers["i"]) is int
    assert message.payload == b""


def test_fixed_size_header_types_decode_to_python_values():
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    block = (
        b"\x02i8\x02\xff"
        + b"\x03i16\x03"
        + struct.pack(">h", -300)
        + b"\x03i64\x05"
        + struct.pack(">q", -(2**40))
        + b"\x02ts\x08"
        + struct.pack(">q", 1_700_000_000_123)
        + b"\x02id\x09"
        + ident.bytes
    )
    (message,) = decode_whole(frame_from_parts(block, b"x"))
    assert message.headers == {
        "i8": -1,
        "i16": -300,
        "i64": -(2**40),
        "ts": 1_700_000_000_123,
        "id": ident,
    }


def test_frames_with_exceptions_and_empty_payloads_in_sequence():
    frames = [
        encode_message(
            {":message-type": "event", ":event-type": "messageStart"}, b'{"role":"assistant"}'
        ),
        encode_message({":message-type": "event", ":event-type": "messageStop"}, b""),
        encode_message(
            {":message-type": "exception", ":exception-type": "throttlingException"},
            b'{"message":"slow down"}',
        ),
    ]
    messages = decode_whole(b"".join(frames))
    assert [m.headers.get(":event-type") or m.headers[":exception-type"] for m in messages] == [
        "messageStart",
        "messageStop",
        "throttlingException",
    ]
    assert messages[1].payload == b""


def test_partial_frame_is_kept_until_completed():
    frame = encode_message(EVENT_HEADERS, DELTA)
    decoder = EventStreamDecoder()
    assert decoder.feed(frame[:5]) == []
    assert decoder.feed(frame[5:-1]) == []
    assert decoder.feed(frame[-1:] + frame[:20]) == [EventStreamMessage(EVENT_HEADERS, DELTA)]
    assert decoder.feed(frame[20:]) == [EventStreamMessage(EVENT_HEADERS, DELTA)]
    assert decoder.close() == []


def test_byte_at_a_time_equals_whole():
    stream = b"".join(encode_message(EVENT_HEADERS, DELTA * n) for n in range(4))
    whole = decode_whole(stream)
    assert len(whole) == 4
    assert decode_bytewise(stream) == whole


_header_values = st.one_of(
    st.text(max_size=20),
    st.binary(max_size=20),
    st.booleans(),
    st.integers(-(2**31), 2**31 - 1),
)
_messages = st.tuples(
    st.dictionaries(st.text(min_size=1, max_size=10), _header_values, max_size=5),
    st.binary(max_size=200),
)


@settings(max_examples=150, deadline=None)
@given(messages=st.lists(_messages, max_size=6), data=st.data())
def test_random_splits_equal_whole_and_round_trip(messages, data):
    stream = b"".join(encode_message(h, p) for h, p in messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = EventStreamDecoder()
    out: list[EventStreamMessage] = []
    start = 0
    for cut in cuts + [len(stream)]:
        out += decoder.feed(stream[start:cut])
        start = cut
    out += decoder.close()
    assert out == decode_whole(stream)
    assert [(dict(m.headers), m.payload) for m in out] == [(h, p) for h, p in messages]


def test_bit_flip_anywhere_in_a_frame_is_detected():
    frame = encode_message(EVENT_HEADERS, DELTA)
    for position in range(len(frame)):
        for bit in (0x01, 0x80):
            corrupt = bytearray(frame)
            corrupt[position] ^= bit
            with pytest.raises(ResponseFormatError) as info:
                decode_whole(bytes(corrupt))
            assert info.value.provider == "bedrock"
            if position < 12:
                assert "prelude CRC mismatch" in str(info.value), position
            else:
                # Headers and payload are covered by the message CRC only, and so is the
                # message CRC itself.
                assert "message CRC mismatch" in str(info.value), position


def test_corrupt_prelude_is_reported_before_the_frame_body_arrives():
    frame = bytearray(encode_message(EVENT_HEADERS, DELTA))
    frame[3] ^= 0x10
    decoder = EventStreamDecoder()
    with pytest.raises(ResponseFormatError, match="prelude CRC"):
        decoder.feed(bytes(frame[:12]))


def test_truncated_frame_at_close_raises():
    frame = encode_message(EVENT_HEADERS, DELTA)
    decoder = EventStreamDecoder()
    assert decoder.feed(frame + frame[:-3]) == [EventStreamMessage(EVENT_HEADERS, DELTA)]
    with pytest.raises(ResponseFormatError, match="ended inside a frame"):
        decoder.close()


def test_truncated_prelude_at_close_raises():
    decoder = EventStreamDecoder()
    decoder.feed(b"\x00\x00")
    with pytest.raises(ResponseFormatError):
        decoder.close()


def prelude(total: int, headers_len: int) -> bytes:
    head = struct.pack(">II", total, headers_len)
    return head + struct.pack(">I", zlib.crc32(head))


def test_oversized_headers_are_rejected_from_the_prelude():
    with pytest.raises(ResponseFormatError, match="headers of"):
        EventStreamDecoder().feed(prelude(200 * 1024, 129 * 1024))


def test_oversized_payload_is_rejected_from_the_prelude():
    with pytest.raises(ResponseFormatError, match="payload of"):
        EventStreamDecoder().feed(prelude(25 * 1024 * 1024 + 16, 0))


def test_total_length_smaller_than_headers_is_rejected():
    with pytest.raises(ResponseFormatError, match="too small"):
        EventStreamDecoder().feed(prelude(20, 10))


def test_unknown_header_type_is_rejected():
    frame = frame_from_parts(b"\x01x\x0a", b"{}")
    with pytest.raises(ResponseFormatError, match="unknown header value type 10"):
        decode_whole(frame)


@pytest.mark.parametrize(
    "block",
    [
        b"\x05ab",  # name runs past the block
        b"\x01x",  # no type byte
        b"\x01x\x04\x00\x00",  # int32 cut short
        b"\x01x\x07\x00\x09abc",  # string longer than the block
        b"\x01x\x07\x00",  # length cut short
    ],
)
def test_header_block_cut_inside_a_header_is_rejected(block):
    with pytest.raises(ResponseFormatError):
        decode_whole(frame_from_parts(block, b""))


def test_non_utf8_header_string_is_rejected():
    with pytest.raises(ResponseFormatError, match="UTF-8"):
        decode_whole(frame_from_parts(b"\x01x\x07\x00\x02\xff\xfe", b""))


def test_encoder_refuses_values_it_cannot_represent():
    with pytest.raises(ValueError):
        encode_message({"n": 2**31}, b"")
    with pytest.raises(TypeError):
        encode_message({"f": 1.5}, b"")  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        encode_message({"x" * 256: "v"}, b"")


def test_botocore_parser_agrees_with_the_encoder():
    eventstream = pytest.importorskip("botocore.eventstream")
    headers = {":message-type": "event", "flag": True, "n": -5, "raw": b"\x01\x02", "s": "\u00e9"}
    parser = eventstream.EventStreamBuffer()
    parser.add_data(encode_message(headers, DELTA))
    (message,) = list(parser)
    assert message.headers == headers
    assert message.payload == DELTA


def test_good_frames_before_a_bad_crc_in_the_same_read_are_returned_first():
    good = [encode_message(EVENT_HEADERS, b'{"n": %d}' % i) for i in range(3)]
    bad = bytearray(encode_message(EVENT_HEADERS, DELTA))
    bad[-1] ^= 0xFF
    decoder = EventStreamDecoder()
    out = decoder.feed(b"".join(good) + bytes(bad) + good[0])
    assert [m.payload for m in out] == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']
    with pytest.raises(ResponseFormatError, match="message CRC mismatch"):
        decoder.feed(good[1])  # nothing after the corrupt frame is trusted
    with pytest.raises(ResponseFormatError, match="message CRC mismatch"):
        decoder.close()


def test_a_bad_crc_with_no_good_frame_before_it_raises_at_once():
    bad = bytearray(encode_message(EVENT_HEADERS, DELTA))
    bad[-1] ^= 0xFF
    with pytest.raises(ResponseFormatError, match="message CRC mismatch"):
        EventStreamDecoder().feed(bytes(bad))

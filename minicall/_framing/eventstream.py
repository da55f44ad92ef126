"""Incremental decoder (and a small encoder) for the AWS event-stream binary framing.

Bedrock's ConverseStream answers ``application/vnd.amazon.eventstream``: a run of
self-delimiting frames, all integers big-endian::

    total_length u32 | headers_length u32 | prelude_crc u32      (the 12-byte prelude)
    headers (headers_length bytes) | payload | message_crc u32

``prelude_crc`` is the CRC32 of bytes [0:8]; ``message_crc`` the CRC32 of every byte
before it. A header is ``name_len u8, name, type u8, value`` with the value types of
``_FIXED`` and ``_SIZED`` below.

The decoder keeps one ``bytearray``: ``feed`` appends, parses every complete frame
from the front, and leaves an incomplete one in place for the next call (bytes are
consumed only once a whole frame checks out). The prelude is checked
as soon as it arrives, so a corrupt length is reported at once instead of making the
decoder wait for gigabytes that will never come.

The two CRCs do different jobs. The prelude CRC guards the lengths before they are
trusted to size a read: without it one flipped bit in ``total_length`` would stall the
stream or swallow the next frames. The message CRC guards the content. It is the CRC32
of bytes [0:total-4], which is the same number botocore gets by running the CRC over
[8:total-4] starting from the prelude CRC.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .._model.errors import ResponseFormatError

__all__ = ["EventStreamDecoder", "EventStreamMessage", "encode_message"]

_PROVIDER = "bedrock"
_PRELUDE = struct.Struct(">III")
_CRC = struct.Struct(">I")
_U16 = struct.Struct(">H")
_PRELUDE_LEN = 12
_OVERHEAD = 16  # prelude + message CRC
# botocore's limits (botocore/eventstream.py); a frame beyond them is garbage, not a
# big event, and refusing it keeps one bad length from allocating a huge buffer.
MAX_HEADERS_LENGTH = 128 * 1024
MAX_PAYLOAD_LENGTH = 24 * 1024 * 1024

# Header value type bytes, as in botocore: 0 true, 1 false, 2 byte, 3 short,
# 4 integer, 5 long, 6 byte array, 7 string, 8 timestamp, 9 UUID.
_TRUE, _FALSE, _INT32, _BYTES, _STRING = 0, 1, 4, 6, 7

# type -> (value size, bytes -> value) for types whose value has a fixed size.
_FIXED: dict[int, tuple[int, Callable[[bytes], object]]] = {
    _TRUE: (0, lambda b: True),
    _FALSE: (0, lambda b: False),
    2: (1, lambda b: int.from_bytes(b, "big", signed=True)),
    3: (2, lambda b: int.from_bytes(b, "big", signed=True)),
    _INT32: (4, lambda b: int.from_bytes(b, "big", signed=True)),
    5: (8, lambda b: int.from_bytes(b, "big", signed=True)),
    8: (8, lambda b: int.from_bytes(b, "big", signed=True)),  # timestamp, ms since epoch
    9: (16, lambda b: uuid.UUID(bytes=b)),
}
# type -> bytes -> value for types whose value is a u16 length and that many bytes.
_SIZED: dict[int, Callable[[bytes], object]] = {
    _BYTES: bytes,
    _STRING: lambda b: b.decode("utf-8"),
}


@dataclass(frozen=True, slots=True)
class EventStreamMessage:
    """One frame: header values are ``bool``, ``int`` (timestamps in epoch ms),
    ``bytes``, ``str`` or ``uuid.UUID``."""

    headers: Mapping[str, object]
    payload: bytes


def _fail(problem: str, frame: int) -> ResponseFormatError:
    return ResponseFormatError(_PROVIDER, f"event-stream frame {frame}", problem)


def _parse_headers(raw: bytes, frame: int) -> dict[str, object]:
    headers: dict[str, object] = {}
    pos, end = 0, len(raw)
    # The header block's length was checked against the frame, but nothing inside it
    # was: any length byte may point past its end. Slices there come back short
    # rather than raising, hence the explicit size check; indexing and unpack raise,
    # hence the except.
    try:
        while pos < end:
            name_len = raw[pos]
            name = raw[pos + 1 : pos + 1 + name_len].decode("utf-8")
            pos += 1 + name_len
            kind = raw[pos]
            pos += 1
            if kind in _FIXED:
                size, convert = _FIXED[kind]
            elif kind in _SIZED:
                size = _U16.unpack_from(raw, pos)[0]
                pos += 2
                convert = _SIZED[kind]
            else:
                raise _fail(f"unknown header value type {kind} for {name!r}", frame)
            value = raw[pos : pos + size]
            if len(value) != size:
                raise _fail(f"header {name!r} runs past the header block", frame)
            headers[name] = convert(value)
            pos += size
    except (IndexError, struct.error):
        raise _fail("header block ends inside a header", frame) from None
    except UnicodeDecodeError:
        raise _fail("header name or string value is not UTF-8", frame) from None
    return headers


class EventStreamDecoder:
    """Bytes in, :class:`EventStreamMessage` out; any split of the input gives the same frames.

    Corrupt or oversized frames raise :class:`~minicall.ResponseFormatError`
    (provider ``"bedrock"``); so does :meth:`close` when a frame is left unfinished.
    """

    __slots__ = ("_broken", "_buffer", "_frames")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._frames = 0
        self._broken: ResponseFormatError | None = None

    def feed(self, data: bytes) -> list[EventStreamMessage]:
        """Append ``data`` and return every frame it completes.

        A corrupt frame raises; the good frames before it in the same ``data`` are
        returned first, and the error is raised by the next ``feed`` or ``close`` (a
        broken stream keeps what arrived). Nothing after a corrupt frame is trusted.
        """
        if self._broken is not None:
            raise self._broken
        buf = self._buffer
        buf += data
        messages: list[EventStreamMessage] = []
        start = 0
        # ``start`` walks over the frames parsed so far; the buffer is cut once, after
        # the loop, so an incomplete frame stays at the front for the next feed and a
        # corrupt one is never half consumed.
        try:
            while len(buf) - start >= _PRELUDE_LEN:
                total, headers_len = self._check_prelude(buf, start)
                if len(buf) - start < total:
                    break
                # Copy the frame out: slices stay valid however the buffer changes later.
                messages.append(self._frame(bytes(buf[start : start + total]), headers_len))
                start += total
        except ResponseFormatError as exc:
            # Frames already checked are good data (an answer's text, say): hand them
            # over and report the corruption on the next call rather than lose them.
            if not messages:
                raise
            self._broken = exc
            self._buffer = bytearray()
            return messages
        if start:
            del buf[:start]
        return messages

    def close(self) -> list[EventStreamMessage]:
        """End of stream: raise if a frame is unfinished (or was corrupt), else return
        nothing more."""
        if self._broken is not None:
            raise self._broken
        if self._buffer:
            left = len(self._buffer)
            self._buffer = bytearray()
            raise _fail(f"stream ended inside a frame ({left} bytes left over)", self._frames)
        return []

    def _check_prelude(self, buf: bytearray, start: int) -> tuple[int, int]:
        # The CRC first: until it matches, the lengths are noise and their errors
        # would only mislead.
        total, headers_len, crc = _PRELUDE.unpack_from(buf, start)
        if zlib.crc32(buf[start : start + 8]) != crc:
            raise _fail("prelude CRC mismatch", self._frames)
        if headers_len > MAX_HEADERS_LENGTH:
            raise _fail(f"headers of {headers_len} bytes exceed {MAX_HEADERS_LENGTH}", self._frames)
        # A negative payload length would make the frame shorter than its own prelude
        # and CRC, and the slices in _frame would silently overlap.
        payload_len = total - headers_len - _OVERHEAD
        if payload_len < 0:
            raise _fail(f"total length {total} too small for its headers", self._frames)
        if payload_len > MAX_PAYLOAD_LENGTH:
            raise _fail(
                f"payload of {payload_len} bytes exceeds {MAX_PAYLOAD_LENGTH}", self._frames
            )
        return total, headers_len

    def _frame(self, frame: bytes, headers_len: int) -> EventStreamMessage:
        # The whole frame's CRC is checked before any header is parsed, so a header
        # parse error always means a malformed frame, never line noise.
        (expected,) = _CRC.unpack_from(frame, len(frame) - 4)
        if zlib.crc32(memoryview(frame)[:-4]) != expected:
            raise _fail("message CRC mismatch", self._frames)
        headers_end = _PRELUDE_LEN + headers_len
        headers = _parse_headers(frame[_PRELUDE_LEN:headers_end], self._frames)
        self._frames += 1
        return EventStreamMessage(headers, frame[headers_end:-4])


def _encode_bool(value: object) -> bytes:
    return bytes([_TRUE if value else _FALSE])


def _encode_int(value: object) -> bytes:
    # The asserts below only narrow for the type checker: _ENCODERS picks these by
    # exact type. The encoder serves tests and fakes; ValueError/TypeError here are a
    # programming error in the caller, not bad input from a peer.
    assert isinstance(value, int)
    if not -(2**31) <= value < 2**31:
        raise ValueError(f"header int {value} does not fit in int32")
    return bytes([_INT32]) + value.to_bytes(4, "big", signed=True)


def _encode_sized(kind: int) -> Callable[[object], bytes]:
    def encode(value: object) -> bytes:
        assert isinstance(value, (str, bytes))
        raw = value.encode("utf-8") if isinstance(value, str) else value
        if len(raw) > 0xFFFF:
            raise ValueError("header value longer than 65535 bytes")
        return bytes([kind]) + _U16.pack(len(raw)) + raw

    return encode


# Exact Python type -> encoder of the type byte and value; looking up the exact type
# keeps bool (a subclass of int) apart from int.
_ENCODERS: dict[type, Callable[[object], bytes]] = {
    bool: _encode_bool,
    int: _encode_int,
    bytes: _encode_sized(_BYTES),
    str: _encode_sized(_STRING),
}


def encode_message(headers: Mapping[str, str | bytes | bool | int], payload: bytes) -> bytes:
    """One event-stream frame: ``str`` headers as strings, ``bytes`` as bytes,
    ``bool`` as true/false, ``int`` as int32."""
    parts: list[bytes] = []
    for name, value in headers.items():
        raw_name = name.encode("utf-8")
        if not 0 < len(raw_name) < 256:
            raise ValueError(f"header name {name!r} must be 1 to 255 bytes")
        encoder = _ENCODERS.get(type(value))
        if encoder is None:
            raise TypeError(f"header {name!r}: cannot encode {type(value).__name__}")
        parts.append(bytes([len(raw_name)]) + raw_name + encoder(value))
    block = b"".join(parts)
    total = len(block) + len(payload) + _OVERHEAD
    prelude = struct.pack(">II", total, len(block))
    head = prelude + _CRC.pack(zlib.crc32(prelude))
    body = head + block + payload
    return body + _CRC.pack(zlib.crc32(body))

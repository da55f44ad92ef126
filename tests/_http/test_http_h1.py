"""The sans-IO HTTP/1.1 response reader and body decoders: whole, byte by byte, any split."""

from __future__ import annotations

import gzip
import re
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicall._http._h1 import BodyDecoder, Data, End, Head, ResponseParser
from minicall._model.errors import APIConnectionError, ResponseFormatError

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Id: 7\r\n\r\n"
    b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n"
)
FIXED = b"HTTP/1.1 201 Created\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world"
TO_CLOSE = b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nhello world"


def run(raw: bytes, pieces: list[int] | None = None, method: str = "GET", eof: bool = True):
    """Feed ``raw`` cut at ``pieces`` (cut sizes), then EOF; return (head, body, parser)."""
    parser = ResponseParser(method)
    events = []
    pos = 0
    for size in pieces or []:
        events += parser.feed(raw[pos : pos + size])
        pos += size
    events += parser.feed(raw[pos:])
    if eof:
        events += parser.close()
    heads = [e for e in events if isinstance(e, Head)]
    assert len(heads) == 1 and events[0] is heads[0]
    assert isinstance(events[-1], End) and sum(isinstance(e, End) for e in events) == 1
    body = b"".join(e.data for e in events if isinstance(e, Data))
    return heads[0], body, parser


def test_chunked_body_is_joined_and_trailers_dropped():
    head, body, parser = run(CHUNKED)
    assert (head.status, head.reason) == (200, "OK")
    assert ("x-id", "7") in head.headers
    assert body == b"hello world"
    assert parser.keep_alive and parser.unused == b""


def test_content_length_body_stops_at_its_length():
    head, body, parser = run(FIXED + b"HTTP/1.1 200 OK\r\n")
    assert head.status == 201 and body == b"hello world"
    assert parser.unused == b"HTTP/1.1 200 OK\r\n"


def test_trailing_garbage_after_chunked_body_is_kept_aside():
    _, body, parser = run(CHUNKED + b"garbage")
    assert body == b"hello world" and parser.unused == b"garbage"


def test_body_without_length_runs_to_close_and_forbids_reuse():
    head, body, parser = run(TO_CLOSE)
    assert head.http_version == "1.0" and body == b"hello world"
    assert not parser.keep_alive


@pytest.mark.parametrize("raw", [CHUNKED, FIXED, TO_CLOSE])
def test_one_byte_at_a_time_gives_the_same_result(raw):
    assert run(raw, [1] * len(raw))[:2] == run(raw)[:2]


@given(data=st.data(), raw=st.sampled_from([CHUNKED, FIXED, TO_CLOSE]))
@settings(max_examples=200, deadline=None)
def test_any_split_gives_the_same_result(data, raw):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=12)))
    sizes = [b - a for a, b in zip([0] + cuts, cuts)]
    assert run(raw, sizes)[:2] == run(raw)[:2]


def test_interim_100_continue_is_skipped():
    head, body, _ = run(b"HTTP/1.1 100 Continue\r\n\r\n" + FIXED)
    assert head.status == 201 and body == b"hello world"


def test_head_and_204_and_304_have_no_body():
    for method, status in (("HEAD", 200), ("GET", 204), ("GET", 304)):
        raw = f"HTTP/1.1 {status} X\r\nContent-Length: 5\r\n\r\n".encode()
        head, body, parser = run(raw, method=method, eof=False)
        assert head.status == status and body == b"" and parser.done


def test_connect_success_opens_a_tunnel_without_a_body():
    _, body, parser = run(b"HTTP/1.1 200 Connection established\r\n\r\n", method="CONNECT", eof=False)
    assert body == b"" and parser.done and parser.unused == b""


def test_connection_close_and_http10_keep_alive_are_honoured():
    assert not run(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")[2].keep_alive
    raw = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
    assert run(raw)[2].keep_alive


def test_transfer_encoding_wins_over_content_length_and_the_connection_is_not_reused():
    # RFC 9112 §6.3: both fields is the request-smuggling shape, to be handled as an
    # error; the body is read as chunked, and nothing after it reaches another request.
    raw = CHUNKED.replace(b"X-Id: 7", b"Content-Length: 3")
    assert run(raw)[1] == b"hello world"
    assert not run(raw)[2].keep_alive
    assert run(CHUNKED)[2].keep_alive


def test_an_http10_reply_with_transfer_encoding_closes_its_connection():
    # RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; close after it.
    raw = CHUNKED.replace(b"HTTP/1.1", b"HTTP/1.0").replace(b"X-Id: 7", b"Connection: keep-alive")
    assert run(raw)[1] == b"hello world"
    assert not run(raw)[2].keep_alive


def test_folded_header_continues_the_previous_value():
    head, _, _ = run(b"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 0\r\n\r\n")
    assert ("x-a", "one two") in head.headers


def test_bare_lf_line_endings_are_accepted():
    head, body, _ = run(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok")
    assert head.status == 200 and body == b"ok"


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_a_bare_cr_or_nul_inside_a_header_value_becomes_a_space(eol):
    # RFC 9110 §5.5: reject or replace with SP; replaced, so nothing read from a header
    # can end a line early where it is passed on (a log line, a redirect target).
    raw = b"HTTP/1.1 200 OK" + eol + b"X-A: a\rb\x00c" + eol + b"Content-Length: 2" + eol + eol + b"ok"
    head, body, _ = run(raw)
    assert ("x-a", "a b c") in head.headers and body == b"ok"


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"SMTP ready\r\n",
        b"<html>hello</html>",
        b"HTTP/2 200\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
        # a known field name without its colon (names already checked are remembered)
        b"HTTP/1.1 200 OK\r\nContent-Type: a\r\nContent-Type\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ],
)
def test_malformed_responses_raise_connection_errors(raw):
    parser = ResponseParser()
    with pytest.raises(APIConnectionError, match="malformed HTTP response"):
        for i in range(len(raw)):  # byte by byte: errors are found as early as possible
            parser.feed(raw[i : i + 1])
        parser.feed(b"\r\n\r\n")


@pytest.mark.parametrize("raw", [b"", b"HTTP/1.1 200 OK\r\n", FIXED[:-3], CHUNKED[:-9]])
def test_end_of_file_before_the_end_raises(raw):
    parser = ResponseParser()
    parser.feed(raw)
    with pytest.raises(APIConnectionError, match="connection closed"):
        parser.close()


def test_oversized_head_is_refused():
    parser = ResponseParser()
    with pytest.raises(APIConnectionError, match="too large"):
        parser.feed(b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 70_000)


def test_bytes_after_the_end_never_become_events():
    parser = ResponseParser()
    parser.feed(FIXED)
    assert parser.feed(b"more") == [] and parser.close() == []
    assert parser.unused == b"more"


# -- content decoding ---------------------------------------------------------------

TEXT = b"the quick brown fox " * 500
ENCODED = {
    "gzip": gzip.compress(TEXT),
    "deflate": zlib.compress(TEXT),
    "identity": TEXT,
}


def decode_in_pieces(encoding: str, data: bytes, size: int, limit: int = 1 << 20) -> bytes:
    decoder = BodyDecoder(encoding, limit)
    out = b"".join(decoder.decode(data[i : i + size]) for i in range(0, len(data), size))
    return out + decoder.flush()


@pytest.mark.parametrize("encoding", sorted(ENCODED))
@pytest.mark.parametrize("size", [1, 7, 100_000])
def test_bodies_decode_whatever_the_piece_size(encoding, size):
    assert decode_in_pieces(encoding, ENCODED[encoding], size) == TEXT


def test_raw_deflate_without_zlib_header_is_accepted():
    raw = zlib.compressobj(wbits=-15)
    data = raw.compress(TEXT) + raw.flush()
    assert decode_in_pieces("deflate", data, 50) == TEXT


def test_unknown_encoding_passes_the_bytes_through():
    assert decode_in_pieces("br", b"\x01\x02", 1) == b"\x01\x02"


def test_decoded_size_is_capped_even_when_the_compressed_body_is_small():
    bomb = gzip.compress(b"\0" * 5_000_000)
    assert len(bomb) < 10_000
    with pytest.raises(ResponseFormatError, match="response body larger than 1000 bytes"):
        decode_in_pieces("gzip", bomb, 4096, limit=1000)


def test_body_at_exactly_the_cap_is_accepted():
    assert decode_in_pieces("identity", b"x" * 10, 3, limit=10) == b"x" * 10
    with pytest.raises(ResponseFormatError):
        decode_in_pieces("identity", b"x" * 11, 3, limit=10)


@settings(max_examples=50, deadline=None)
@given(
    members=st.lists(st.binary(max_size=300), min_size=1, max_size=4),
    tail=st.sampled_from([b"", b"\x00", b"\x00" * 8, b"trailing garbage"]),
    size=st.integers(1, 64),
)
def test_every_gzip_member_is_decoded_and_bytes_after_the_last_are_dropped(members, tail, size):
    # RFC 1952 §2.2: a gzip body is a series of members (concatenated output); after the
    # last whole one, bytes that begin no member are dropped, as gzip(1) and urllib3 do.
    raw = b"".join(gzip.compress(m) for m in members) + tail
    decoder = BodyDecoder("gzip", 10**6)
    out = b"".join(decoder.decode(raw[i : i + size]) for i in range(0, len(raw), size)) + decoder.flush()
    assert out == b"".join(members)


def test_a_second_gzip_member_cut_short_raises():
    raw = gzip.compress(b"first") + gzip.compress(b"second member " * 20)[:-6]
    decoder = BodyDecoder("gzip", 10**6)
    decoder.decode(raw)
    with pytest.raises(APIConnectionError, match="ends early"):
        decoder.flush()


def test_corrupt_or_truncated_gzip_raises_connection_error():
    with pytest.raises(APIConnectionError, match="corrupt"):
        decode_in_pieces("gzip", b"\x1f\x8b\x08\x00garbage-garbage", 4)
    with pytest.raises(APIConnectionError, match="ends early"):
        decode_in_pieces("gzip", ENCODED["gzip"][:-10], 64)


def _reference_fields(lines):
    """The field rules of RFC 9112 written plainly: the oracle for the parser's fast version."""
    token = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
    fields = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if not fields:
                raise ValueError("continuation first")
            fields[-1] = (fields[-1][0], f"{fields[-1][1]} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or token.fullmatch(name) is None:
            raise ValueError("bad line")
        fields.append((name.lower(), value.strip(" \t")))
    return tuple(fields)


_field_lines = st.lists(
    st.one_of(
        st.sampled_from(["Content-Type: a", "content-length: 3", "X-Id:\tb ", "Content-Type", " folded", "\tmore"]),
        st.text(alphabet="aZ-:; \t", max_size=12),
    ),
    max_size=6,
)


@given(_field_lines)
def test_header_fields_are_read_as_the_plain_rules_read_them(lines):
    from minicall._http._h1 import _parse_fields

    try:
        expected = ("ok", _reference_fields(lines))
    except ValueError:
        expected = ("error",)
    try:
        got = ("ok", _parse_fields(["HTTP/1.1 200 OK", *lines], 1))
    except APIConnectionError:
        got = ("error",)
    assert got == expected


class _GeneralFraming(ResponseParser):
    """The parser with its direct Content-Length path turned off: the general rules only."""

    def _fixed_length(self, version, framing):
        return False


_framing_fields = st.lists(
    st.sampled_from(
        [
            "Content-Length: 3", "Content-Length: 4", "Content-Length: 03", "Content-Length: \xb2",
            "Content-Length: -1", "Connection: keep-alive", "Connection: Keep-Alive", "Connection: close",
            "Connection: keep-alive, Upgrade", "Transfer-Encoding: chunked", "X-Other: 1",
        ]
    ),
    max_size=4,
)


@given(_framing_fields, st.sampled_from(["1.1", "1.0"]))
def test_the_direct_content_length_path_frames_as_the_general_rules_do(fields, version):
    raw = (f"HTTP/{version} 200 OK\r\n" + "".join(f + "\r\n" for f in fields) + "\r\nabcdef").encode("latin-1")

    def outcome(parser):
        try:
            events = parser.feed(raw)
        except APIConnectionError:
            return ("error",)
        return (parser.keep_alive, parser.done, [type(e).__name__ for e in events], parser.unused)

    assert outcome(ResponseParser("POST")) == outcome(_GeneralFraming("POST"))

"""The SSE decoder: WHATWG examples, line endings, and split-independence."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicall._framing.sse import ServerSentEvent, SSEDecoder
from minicall._model.errors import ResponseFormatError


def decode_whole(data: bytes, **kw) -> list[ServerSentEvent]:
    decoder = SSEDecoder(**kw)
    return decoder.feed(data) + decoder.close()


def decode_bytewise(data: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for i in range(len(data)):
        events += decoder.feed(data[i : i + 1])
    return events + decoder.close()


def decode_split(data: bytes, cuts: list[int]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    start = 0
    for cut in sorted(cuts):
        events += decoder.feed(data[start:cut])
        start = cut
    events += decoder.feed(data[start:])
    return events + decoder.close()


def test_spec_example_stock_ticker_joins_data_lines_with_newline():
    body = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    assert decode_whole(body) == [ServerSentEvent(data="YHOO\n+2\n10")]


def test_spec_example_comment_and_id_persist_as_last_event_id():
    body = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"
    assert decode_whole(body) == [
        ServerSentEvent(data="first event", id="1"),
        ServerSentEvent(data="second event", id=""),
        ServerSentEvent(data=" third event", id=""),
    ]


def test_spec_example_field_without_colon_gives_empty_data_line():
    body = b"data\n\ndata\ndata\n\ndata:\n"
    # "data" alone appends an empty line: the first event is "", the second "\n";
    # the third has no blank line and is dispatched at close.
    assert [e.data for e in decode_whole(body)] == ["", "\n", ""]


def test_event_name_applies_to_one_event_only():
    body = b"event: message_start\ndata: {}\n\ndata: plain\n\n"
    assert decode_whole(body) == [
        ServerSentEvent(event="message_start", data="{}"),
        ServerSentEvent(event="message", data="plain"),
    ]


def test_block_without_data_is_not_dispatched_and_resets_event_name():
    body = b"event: ping\n\nid: 7\nretry: 10\n\ndata: x\n\n"
    assert decode_whole(body) == [ServerSentEvent(data="x", id="7")]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_gives_the_same_events(eol):
    lines = [b"event: a", b"data: 1", b"data: 2", b"", b": keep-alive", b"data: 3", b"", b""]
    body = eol.join(lines)
    assert decode_whole(body) == [
        ServerSentEvent(event="a", data="1\n2"),
        ServerSentEvent(data="3"),
    ]


def test_crlf_split_across_feeds_is_one_line_end():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r") == []
    # If the LF after the CR counted as a second line end, "a" would be dispatched alone.
    assert decoder.feed(b"\n\r") == [ServerSentEvent(data="a\nb")]
    assert decoder.feed(b"\n") == []
    assert decoder.close() == []


def test_lone_cr_at_end_of_feed_followed_by_data_ends_the_line():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\r") == [ServerSentEvent(data="a")]


def test_retry_field_requires_digits():
    body = b"retry: 1500\ndata: a\n\nretry: 15s\ndata: b\n\n"
    assert decode_whole(body) == [
        ServerSentEvent(data="a", retry=1500),
        ServerSentEvent(data="b", retry=None),
    ]


def test_id_with_nul_is_ignored():
    body = b"id: 1\ndata: a\n\nid: x\x00y\ndata: b\n\n"
    assert [e.id for e in decode_whole(body)] == ["1", "1"]


def test_only_one_leading_space_is_stripped_and_unknown_fields_ignored():
    body = b"data:   spaced \nfoo: bar\ndata:no-space\n\n"
    assert decode_whole(body) == [ServerSentEvent(data="  spaced \nno-space")]


def test_stray_lines_are_kept_only_when_asked_and_only_unknown_fields():
    body = b'data: a\n\n{\n  "error": {"code": 499}\n: a comment\nretry: x\nid: 3\nevent: e\n}\n'
    kept = SSEDecoder(keep_stray=True)
    pieces = [kept.feed(body[i : i + 1]) for i in range(len(body))]  # any split: same lines
    assert [e.data for p in pieces for e in p] == ["a"]
    assert kept.take_stray() == ["{", '  "error": {"code": 499}', "}"]
    assert kept.take_stray() == []  # taken once
    plain = SSEDecoder()
    assert plain.feed(body) == [ServerSentEvent(data="a")] and plain.take_stray() == []


def test_value_may_contain_colons():
    assert decode_whole(b'data: {"a":"b:c"}\n\n')[0].data == '{"a":"b:c"}'


def test_leading_bom_is_stripped_once():
    body = "\ufeffdata: a\n\n\ufeffdata: b\n\n".encode()
    events = decode_whole(body)
    # The second BOM is not at the start of the stream: it is part of a field name.
    assert events == [ServerSentEvent(data="a")]


def test_bom_split_across_feeds_is_still_stripped():
    body = "\ufeffdata: a\n\n".encode()
    assert decode_bytewise(body) == [ServerSentEvent(data="a")]


def test_multibyte_character_split_across_feeds():
    body = "data: h\u00e9llo \U0001f600\n\n".encode()
    assert decode_bytewise(body) == [ServerSentEvent(data="h\u00e9llo \U0001f600")]


def test_final_event_without_blank_line_is_dispatched_at_close():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: one\n\ndata: two") == [ServerSentEvent(data="one")]
    assert decoder.close() == [ServerSentEvent(data="two")]


def test_final_terminated_line_without_blank_line_is_dispatched_at_close():
    decoder = SSEDecoder()
    assert decoder.feed(b"event: end\ndata: two\n") == []
    assert decoder.close() == [ServerSentEvent(event="end", data="two")]


def test_close_with_only_a_comment_or_nothing_dispatches_nothing():
    assert decode_whole(b": ping") == []
    assert decode_whole(b"") == []


def test_invalid_utf8_raises_response_format_error():
    with pytest.raises(ResponseFormatError) as info:
        decode_whole(b"data: \xff\xfe\n\n")
    assert info.value.provider == "sse"
    assert "UTF-8" in str(info.value)


def test_truncated_utf8_at_close_raises_response_format_error():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: \xe2\x82") == []
    with pytest.raises(ResponseFormatError):
        decoder.close()


def test_overlong_unterminated_line_raises():
    decoder = SSEDecoder(max_line=100)
    decoder.feed(b"data: " + b"x" * 90)
    with pytest.raises(ResponseFormatError) as info:
        decoder.feed(b"x" * 20)
    assert "longer than 100" in str(info.value)


def test_overlong_complete_line_raises():
    with pytest.raises(ResponseFormatError):
        decode_whole(b"data: " + b"x" * 200 + b"\n\n", max_line=100)


def test_line_at_the_cap_is_accepted():
    line = b"data: " + b"x" * 94
    assert decode_whole(line + b"\n\n", max_line=100) == [ServerSentEvent(data="x" * 94)]


def test_long_line_fed_in_small_pieces():
    payload = b"y" * 200_000
    body = b"data: " + payload + b"\n\n"
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for i in range(0, len(body), 7):
        events += decoder.feed(body[i : i + 7])
    assert events == [ServerSentEvent(data=payload.decode())]


OPENAI_LIKE = (
    b'data: {"id":"1","choices":[{"delta":{"content":"Hel"}}]}\n\n'
    b'data: {"id":"1","choices":[{"delta":{"content":"lo \xc3\xa9"}}]}\n\n'
    b": keep-alive\n\n"
    b"data: [DONE]\n\n"
)
ANTHROPIC_LIKE = (
    b'event: message_start\r\ndata: {"type":"message_start"}\r\n\r\n'
    b'event: ping\r\ndata: {"type": "ping"}\r\n\r\n'
    b'event: content_block_delta\r\ndata: {"delta":{"text":"\xe2\x82\xac"}}\r\n\r\n'
)


@pytest.mark.parametrize("body", [OPENAI_LIKE, ANTHROPIC_LIKE])
def test_byte_at_a_time_equals_whole(body):
    whole = decode_whole(body)
    assert len(whole) >= 3
    assert decode_bytewise(body) == whole


_line_ends = st.sampled_from(["\n", "\r\n", "\r"])
_values = st.text(
    alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
    max_size=12,
)
_lines = st.one_of(
    st.builds(lambda v: "data: " + v, _values),
    st.builds(lambda v: "data:" + v, _values),
    st.builds(lambda v: "event: " + v, _values),
    st.builds(lambda v: "id: " + v, _values),
    st.builds(lambda v: "retry: " + v, st.from_regex(r"\A[0-9]{1,5}\Z")),
    st.builds(lambda v: ":" + v, _values),
    st.just(""),
)


@st.composite
def streams(draw) -> bytes:
    parts = draw(st.lists(st.tuples(_lines, _line_ends), max_size=25))
    return "".join(line + end for line, end in parts).encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(body=streams(), data=st.data())
def test_random_splits_give_the_same_events_as_whole_input(body, data):
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=8))
    assert decode_split(body, cuts) == decode_whole(body)


@settings(max_examples=50, deadline=None)
@given(body=streams())
def test_byte_at_a_time_equals_whole_for_random_streams(body):
    assert decode_bytewise(body) == decode_whole(body)


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(_lines, max_size=25), ends=st.lists(st.sampled_from(["\n", "\r\n"]), min_size=1, max_size=25), data=st.data())
def test_a_stream_means_the_same_whatever_its_line_ends(lines, ends, data):
    # Text without a "\r" is split by str.split, any other by the three-ending regex
    # (a lone "\r" is left out: before an empty line it would join that line's "\n"):
    # the same lines must give the same events either way, whole or cut anywhere.
    plain = "".join(line + "\n" for line in lines).encode()
    mixed = "".join(line + ends[i % len(ends)] for i, line in enumerate(lines)).encode()
    cuts = data.draw(st.lists(st.integers(0, len(mixed)), max_size=6))
    assert decode_whole(mixed) == decode_whole(plain)
    assert decode_split(mixed, cuts) == decode_whole(plain)


# -- one event of very many lines ------------------------------------------------------


def test_event_data_longer_than_the_cap_raises_however_short_its_lines():
    decoder = SSEDecoder(max_event=1000)
    with pytest.raises(ResponseFormatError, match="event data longer than 1000"):
        decoder.feed(b"data: x\n" * 600)


def test_event_of_many_lines_joins_them_all_in_order():
    lines = [f"{i}" for i in range(5000)]
    body = "".join(f"data: {line}\n" for line in lines).encode() + b"\n"
    assert decode_whole(body) == [ServerSentEvent(data="\n".join(lines))]
    pieces = SSEDecoder()
    events = [e for i in range(0, len(body), 7) for e in pieces.feed(body[i : i + 7])]
    assert events == [ServerSentEvent(data="\n".join(lines))]


_PEAK_RSS = r"""
import resource, sys
from minicall._framing.sse import SSEDecoder
from minicall._model.errors import ResponseFormatError

def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

piece = b"data: x\n" * 8192  # 64 KiB of one-character data lines
body_mib = int(sys.argv[1])
decoder = SSEDecoder()
before = peak_mib()
outcome = "dispatched"
try:
    for _ in range(body_mib * 16):
        decoder.feed(piece)
    events = decoder.feed(b"\n")
    assert len(events) == 1 and len(events[0].data) == body_mib * 262144 - 1
except ResponseFormatError as exc:
    outcome = str(exc)
print(outcome)
print(peak_mib() - before)
"""


@pytest.mark.parametrize("body_mib", [64, 80])
def test_peak_memory_of_one_huge_event_stays_below_the_body_cap(body_mib):
    # 64 MiB of "data: x" lines once cost ~580 MB (a str per line); a subprocess
    # measures the peak resident size the decoder adds.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(body_mib)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    outcome, grown = done.stdout.split("\n")[:2]
    if body_mib == 64:
        assert outcome == "dispatched"  # 16 Mi characters of data: just at the cap
    else:
        assert "event data longer than" in outcome
    assert float(grown) < 64, f"peak grew by {grown} MiB"

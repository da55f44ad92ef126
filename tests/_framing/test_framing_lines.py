"""The JSONL line splitter: any split of the body gives the same lines, long lines are dropped."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from minicall._framing.lines import TOO_LONG, LineSplitter, TooLong

LINE = st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b""))


def split(body: bytes, cuts: list[int], max_line: int) -> list[bytes | TooLong]:
    splitter = LineSplitter(max_line)
    out: list[bytes | TooLong] = []
    start = 0
    for cut in sorted(c % (len(body) + 1) for c in cuts):
        out += splitter.feed(body[start:cut])
        start = cut
    out += splitter.feed(body[start:])
    return out + splitter.close()


@given(st.lists(LINE, max_size=8), st.lists(st.integers(min_value=0), max_size=6), st.booleans(), st.booleans())
def test_every_split_gives_the_lines(lines, cuts, crlf, final_end):
    end = b"\r\n" if crlf else b"\n"
    body = end.join(lines) + (end if final_end and lines else b"")
    expected: list[bytes | TooLong] = list(lines)
    if lines and not final_end and lines[-1] == b"":
        expected.pop()  # an empty last line without its end is no line
    assert split(body, cuts, 30) == expected


@given(st.lists(LINE, max_size=8), st.lists(st.integers(min_value=0), max_size=6))
def test_lines_over_the_limit_stand_as_too_long_and_the_rest_survive(lines, cuts):
    body = b"".join(line + b"\n" for line in lines)
    expected = [TOO_LONG if len(line) > 10 else line for line in lines]
    assert split(body, cuts, 10) == expected


def test_a_line_that_never_ends_is_never_held_past_the_limit():
    splitter = LineSplitter(100)
    for _ in range(1000):
        assert splitter.feed(b"x" * 1000) == []
        assert len(splitter._buffer) <= 101
    assert splitter.feed(b"tail\nnext") == [TOO_LONG]
    assert splitter.close() == [b"next"]

"""Anthropic's fast path for text deltas gives exactly what the checked path gives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import given
from hypothesis import strategies as st

from minicall._codecs.anthropic import stream as anthropic_stream
from minicall._codecs.anthropic.codec import ANTHROPIC
from minicall._model.spec import CallSpec, Chunk

SPEC = CallSpec(model="claude", messages=(), stream=True)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 5), st.floats(allow_nan=False), st.text(max_size=6)
)
odd_values = st.one_of(scalars, st.lists(scalars, max_size=2), st.just(ABSENT := object()))

# Each event starts as a plain text delta; each site below may then be broken.
SITES = {
    "type": st.one_of(
        st.sampled_from(["content_block_start", "content_block_stop", "ping", "error"]), odd_values
    ),
    "index": odd_values,
    "delta": odd_values,
    "delta.type": st.one_of(
        st.sampled_from(["input_json_delta", "thinking_delta", "citations_delta"]), odd_values
    ),
    "delta.text": odd_values,
    "delta.partial_json": st.text(max_size=4),
    "extra": scalars,
}


@st.composite
def events(draw) -> object:
    if draw(st.integers(0, 19)) == 0:
        return draw(odd_values)  # not an object at all
    delta: dict = {"type": "text_delta", "text": draw(st.text(max_size=20))}
    event: dict = {"type": "content_block_delta", "index": draw(st.integers(0, 3)), "delta": delta}
    broken = draw(st.lists(st.sampled_from(sorted(SITES)), max_size=3, unique=True))
    for site in broken:
        value = draw(SITES[site])
        target, key = (delta, site[6:]) if site.startswith("delta.") else (event, site)
        if value is ABSENT:
            target.pop(key, None)
        else:
            target[key] = value
    return event


@contextmanager
def _checked_path_only() -> Iterator[None]:
    original = anthropic_stream._text_delta
    anthropic_stream._text_delta = lambda data: None
    try:
        yield
    finally:
        anthropic_stream._text_delta = original


def _decode(data: object, name: str) -> Chunk | None | type:
    try:
        return ANTHROPIC.stream_decoder(SPEC).decode_event(data, name)
    except Exception as exc:  # noqa: BLE001 - the two paths must fail alike
        return type(exc)


@given(data=events(), name=st.sampled_from(["", "content_block_delta", "ping"]))
def test_fast_text_delta_path_agrees_with_the_checked_path(data, name):
    fast = _decode(data, name)
    with _checked_path_only():
        checked = _decode(data, name)
    assert fast == checked


def test_fast_path_takes_a_plain_text_delta_and_declines_the_unusual():
    event = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}
    assert anthropic_stream._text_delta(event) == Chunk(content="hi", raw=event)
    for odd in (
        {**event, "index": True},
        {**event, "index": 1.0},
        {**event, "delta": {"type": "text_delta", "text": None}},
        {**event, "delta": {"type": "input_json_delta", "partial_json": "{"}},
        {**event, "type": "content_block_start"},
        [event],
    ):
        assert anthropic_stream._text_delta(odd) is None


def test_fast_path_output_through_the_whole_stream_matches_the_checked_path():
    body = b"".join(
        b"event: content_block_delta\ndata: "
        + (b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"%d"}}' % i)
        + b"\n\n"
        for i in range(5)
    )
    fast = ANTHROPIC.stream_decoder(SPEC).feed(body)
    with _checked_path_only():
        checked = ANTHROPIC.stream_decoder(SPEC).feed(body)
    assert [c.content for c in fast] == ["0", "1", "2", "3", "4"]
    assert fast == checked

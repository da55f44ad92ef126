"""Anthropic text deltas, and every near miss of one: a chunk, or a typed error."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from minicall import MinicallError, ResponseFormatError
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


def _decode(data: object, name: str) -> Chunk | None | type:
    try:
        return ANTHROPIC.stream_decoder(SPEC).decode_event(data, name)
    except MinicallError as exc:
        return type(exc)


@given(data=events(), name=st.sampled_from(["", "content_block_delta", "ping"]))
def test_any_near_miss_of_a_text_delta_is_a_chunk_or_a_typed_error(data, name):
    outcome = _decode(data, name)
    assert outcome is None or isinstance(outcome, Chunk) or issubclass(outcome, MinicallError)
    delta = data.get("delta") if isinstance(data, dict) else None
    if (
        isinstance(delta, dict)
        and data.get("type") == "content_block_delta"
        and delta.get("type") == "text_delta"
        and type(data.get("index")) is int
        and isinstance(delta.get("text"), str)
    ):
        assert outcome == Chunk(content=delta["text"], raw=data)


def test_a_text_delta_is_its_text_and_malformed_ones_are_format_errors():
    event = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}
    assert _decode(event, "") == Chunk(content="hi", raw=event)
    for odd in (
        {**event, "delta": {"type": "text_delta", "text": None}},
        {**event, "delta": "hi"},
        [event],
    ):
        assert _decode(odd, "") is ResponseFormatError


def test_text_deltas_through_the_whole_stream():
    body = b"".join(
        b"event: content_block_delta\ndata: "
        + (b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"%d"}}' % i)
        + b"\n\n"
        for i in range(5)
    )
    chunks = ANTHROPIC.stream_decoder(SPEC).feed(body)
    assert [c.content for c in chunks] == ["0", "1", "2", "3", "4"]

"""The scrubber's stream carry: any split of a body hides every secret."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from minicall._redact import REDACTED, Scrubber

secrets = st.lists(st.text(alphabet="abcXYZ/-", min_size=8, max_size=14), min_size=1, max_size=3)


def _brute_tail(scrubber: Scrubber, data: bytes) -> int:
    needles = scrubber._needles
    for size in range(min(max(len(n) for n in needles) - 1, len(data)), 0, -1):
        if any(n.startswith(data[-size:]) and len(n) > size for n in needles):
            return size
    return 0


@given(secrets, st.binary(max_size=40).map(lambda b: b.replace(b"\x00", b"")), st.text(alphabet="abcXYZ/-", max_size=20))
def test_open_tail_finds_the_longest_secret_prefix_at_the_end(found, noise, tail):
    scrubber = Scrubber(found)
    data = noise + tail.encode()
    assert scrubber.open_tail(data) == _brute_tail(scrubber, data)


@given(secrets, st.text(alphabet="abcXYZ/- ", max_size=60), st.lists(st.integers(0, 100), max_size=5))
def test_secrets_are_hidden_at_any_split_of_a_stream(found, filler, cuts):
    from minicall._redact import _Carry

    scrubber = Scrubber(found)
    body = (filler + found[0] + filler + found[-1]).encode()
    points = sorted({c % (len(body) + 1) for c in cuts})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)])]
    carry = _Carry(scrubber)
    out = b"".join(carry.feed(p) for p in pieces) + carry.flush()
    assert out == scrubber.whole(body)
    for secret in found:
        assert secret.encode() not in out
    assert REDACTED in out

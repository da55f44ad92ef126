"""The scrubber's stream carry: any split of a body hides every secret."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from minicall._call.redact import REDACTED, Scrubber

secrets = st.lists(st.text(alphabet="abcXYZ/-", min_size=8, max_size=14), min_size=1, max_size=3)


def _overlapping(found: list[str]) -> bool:
    """Whether one secret's end is another's start, or one holds another."""
    return any(
        a != b and (b in a or any(a.endswith(b[:k]) for k in range(1, len(b))))
        for a in found
        for b in found
    )


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
    from minicall._call.redact import _Carry

    scrubber = Scrubber(found)
    body = (filler + found[0] + filler + found[-1]).encode()
    points = sorted({c % (len(body) + 1) for c in cuts})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)])]
    carry = _Carry(scrubber)
    out = b"".join(carry.feed(p) for p in pieces) + carry.flush()
    if not _overlapping(found):
        # (Secrets that overlap each other may be cut at different places; both hide them.)
        assert out == scrubber.whole(body)
    for secret in found:
        assert secret.encode() not in out
    assert REDACTED in out


def test_google_private_key_never_appears_in_reprs_or_token_errors(tmp_path, monkeypatch):
    import json
    import subprocess

    import pytest

    import minicall
    from minicall import llm
    from minicall.providers import google

    key = subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
        capture_output=True, text=True, check=True,
    ).stdout
    body_line = key.splitlines()[2]
    creds = tmp_path / "sa.json"
    creds.write_text(json.dumps({
        "type": "service_account", "client_email": "bot@p.iam.gserviceaccount.com", "private_key": key,
        "token_uri": "http://127.0.0.1:9/token", "project_id": "p",
    }))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(creds))
    client = google.GoogleClient(vertex=True, location="us-central1", max_retries=0)
    shown = repr(client) + str(client) + repr(vars(client))
    assert body_line not in shown

    @llm.call(provider="google", model="gemini-2.0-flash", client=client)
    def ask() -> str:
        return "hi"

    with pytest.raises(minicall.MinicallError) as info:
        ask()  # the token endpoint refuses the connection
    assert body_line not in str(info.value) + repr(info.value)

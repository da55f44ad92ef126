"""Hardening, faults: broken connections and error statuses through the whole pipeline.

Every test goes decorated function -> codec -> transport -> FakeServer over loopback,
once with a sync prompt function and once with an ``async def`` one. Retries never
really sleep: ``time.sleep`` and ``asyncio.sleep`` are recorded instead.

The helpers ``ask`` and ``run`` are in ``tests/shared.py``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from shared import MODES, OK_BODY, ask, run

from minicall import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ConflictError,
    InternalServerError,
    MinicallError,
    RateLimitError,
)
from minicall._call import pipeline as call_module
from minicall._call.registry import PROVIDERS
from minicall._cli.demo import MODELS
from minicall._http._retry import INITIAL_BACKOFF
from minicall.testing import ErrorReply, Fault, Reply


def run_many(mode: str, fn: Callable[..., Any], *calls: tuple[Any, ...]) -> list[Any]:
    """Several calls in a row; async ones share one event loop (and its connection pool)."""
    if mode == "sync":
        return [run(fn, *args) for args in calls]

    async def all_() -> list[Any]:
        return [await fn(*args) for args in calls]

    return asyncio.run(all_())


@pytest.fixture()
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Delays the pipeline asked for between attempts, sync or async; nothing waits."""
    recorded: list[float] = []
    real_async_sleep = asyncio.sleep

    async def fake_async_sleep(delay: float, result: Any = None) -> Any:
        recorded.append(delay)
        return await real_async_sleep(0, result)

    monkeypatch.setattr(call_module.time, "sleep", recorded.append)
    monkeypatch.setattr(asyncio, "sleep", fake_async_sleep)
    return recorded


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- connection faults ----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_connection_refused_is_retried_then_raised_with_the_attempt_count(mode, sleeps):
    from minicall.providers.openai import OpenAIClient

    client = OpenAIClient(api_key="k", base_url=f"http://127.0.0.1:{closed_port()}/v1")
    with pytest.raises(APIConnectionError) as info:
        run(ask(client, mode), "hello")
    assert not isinstance(info.value, APITimeoutError)
    assert "refused" in str(info.value).lower() or "connect" in str(info.value).lower()
    assert info.value.attempts == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("mode", MODES)
def test_reset_before_the_reply_is_a_connection_error_and_not_resent_without_retries(fake, mode):
    fake.script(Fault("drop"))
    with pytest.raises(APIConnectionError) as info:
        run(ask(fake.client("openai", max_retries=0), mode), "hello")
    assert info.value.attempts == 1
    assert len(fake.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_reset_before_the_reply_is_retried_by_the_policy(fake, mode, sleeps):
    fake.script(Fault("drop"), Reply(text="second time lucky"))
    response = run(ask(fake.client("openai", max_retries=2), mode), "hello")
    assert response.content == "second time lucky"
    assert len(fake.requests) == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize("mode", MODES)
def test_reset_in_the_middle_of_the_body_is_a_connection_error(fake, mode):
    fake.script(Fault("reset_mid_body", body=OK_BODY))
    with pytest.raises(APIConnectionError) as info:
        run(ask(fake.client("openai", max_retries=0), mode), "hello")
    assert "closed" in str(info.value) or "reset" in str(info.value)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("mode", MODES)
def test_stream_reset_midway_raises_with_partial_text_and_is_never_resent(fake, mode, sleeps):
    fake.script(Reply(text="one two three four five six", drop_after_events=4), Reply(text="never"))
    fn = ask(fake.client("openai", max_retries=2), mode, stream=True)
    with pytest.raises(APIConnectionError) as info:
        run(fn, "hello")
    partial = info.value.partial
    assert partial and "one two three four five six".startswith(partial)
    assert partial != "one two three four five six"
    assert len(fake.requests) == 1
    assert fake.pending == 1  # the second reply was never asked for
    assert sleeps == []


@pytest.mark.parametrize("mode", MODES)
def test_stream_that_fails_before_delivering_is_retried(fake, mode, sleeps):
    fake.script(ErrorReply(503, headers={"retry-after": "1"}), Reply(text="streamed fine"))
    fn = ask(fake.client("openai", max_retries=2), mode, stream=True)
    stream = run(fn, "hello")
    assert stream.content == "streamed fine"
    assert len(fake.requests) == 2
    assert sleeps == [1.0]


@pytest.mark.parametrize("mode", MODES)
def test_server_that_accepts_and_never_answers_times_out(fake, mode):
    fake.script(Fault("hang"))
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as info:
        run(ask(fake.client("openai", max_retries=0, timeout=0.3), mode), "hello")
    assert time.monotonic() - started < 10  # generous: bounded, not hung
    assert "0.3 s" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_slow_drip_below_the_read_timeout_succeeds(fake, mode):
    # Each byte comes far inside the timeout although the whole body takes longer than it:
    # the timeout bounds waiting for the server, not a slow but live reply.
    body = b'{"choices":[{"index":0,"message":{"role":"assistant","content":"drip"},"finish_reason":"stop"}]}'
    # ~100 bytes at 15 ms each: 1.5 s in all against a 1 s timeout, with a wide margin
    # for every single gap even on a loaded machine.
    fake.script(Fault("drip", body=body, interval=0.015))
    response = run(ask(fake.client("openai", max_retries=0, timeout=1.0), mode), "hello")
    assert response.content == "drip"


@pytest.mark.parametrize("mode", MODES)
def test_keep_alive_connection_closed_between_calls_is_replaced_transparently(fake, mode):
    fn = ask(fake.client("openai", max_retries=0), mode)

    def between() -> None:
        fake.hang_up()

    if mode == "sync":
        first = run(fn, "one")
        between()
        second = run(fn, "two")
    else:

        async def both() -> tuple[Any, Any]:
            a = await fn("one")
            between()
            await asyncio.sleep(0.05)  # let the loop see the close, as an idle pool would
            return a, await fn("two")

        first, second = asyncio.run(both())
    assert (first.content, second.content) == ("echo: one", "echo: two")
    assert len(fake.requests) == 2  # each request reached the server exactly once
    assert fake.connections_accepted == 2


@pytest.mark.parametrize("mode", MODES)
def test_keep_alive_connection_is_reused_between_calls(fake, mode):
    fn = ask(fake.client("openai", max_retries=0), mode)
    results = run_many(mode, fn, ("one",), ("two",), ("three",))
    assert [r.content for r in results] == ["echo: one", "echo: two", "echo: three"]
    assert fake.connections_accepted == 1


# -- error statuses -------------------------------------------------------------------

RETRYABLE = (408, 409, 429, 500, 502, 503, 504)
HINTS: dict[str, tuple[dict[str, str], float | None]] = {
    "none": ({}, None),
    "retry-after": ({"retry-after": "3"}, 3.0),
    "retry-after-ms": ({"retry-after-ms": "1500"}, 1.5),
}


@pytest.mark.parametrize("hint", list(HINTS))
@pytest.mark.parametrize("status", RETRYABLE)
@pytest.mark.parametrize("mode", MODES)
def test_retryable_status_is_retried_honouring_the_server_hint(fake, mode, status, hint, sleeps):
    headers, expected = HINTS[hint]
    fake.script(ErrorReply(status, "busy", headers=headers), Reply(text="recovered"))
    response = run(ask(fake.client("openai", max_retries=2), mode), "hello")
    assert response.content == "recovered"
    assert len(fake.requests) == 2
    assert len(sleeps) == 1
    if expected is None:
        assert 0.75 * INITIAL_BACKOFF <= sleeps[0] <= INITIAL_BACKOFF
    else:
        assert sleeps[0] == pytest.approx(expected)


EXPECTED_TYPES: dict[int, type[APIError]] = {
    408: APIError,
    409: ConflictError,
    429: RateLimitError,
    500: InternalServerError,
    502: InternalServerError,
    503: InternalServerError,
    504: InternalServerError,
}


@pytest.mark.parametrize("status", RETRYABLE)
@pytest.mark.parametrize("mode", MODES)
def test_retry_budget_exhausted_raises_the_last_error_with_the_attempt_count(fake, mode, status, sleeps):
    fake.script(
        ErrorReply(status, "first"), ErrorReply(status, "second"), ErrorReply(status, "third and last")
    )
    with pytest.raises(APIError) as info:
        run(ask(fake.client("openai", max_retries=2), mode), "hello")
    error = info.value
    assert type(error) is EXPECTED_TYPES[status]
    assert error.status_code == status
    assert error.attempts == 3
    assert error.message == "third and last"
    assert "after 3 attempts" in str(error)
    assert len(fake.requests) == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("mode", MODES)
def test_non_retryable_status_is_raised_at_once(fake, mode, sleeps):
    fake.script(ErrorReply(400, "bad request"), Reply(text="never"))
    with pytest.raises(APIError) as info:
        run(ask(fake.client("openai", max_retries=2), mode), "hello")
    assert info.value.status_code == 400
    assert info.value.attempts == 1
    assert len(fake.requests) == 1
    assert sleeps == []


# OpenAI-compatible providers whose FakeServer error body is OpenAI's
# ``{"error": {..., "code"}}`` (Mistral's puts the fields at the top level).
QUOTA_PROVIDERS = ("openai", "groq", "xai", "litellm", "azure")


@pytest.mark.parametrize("provider", QUOTA_PROVIDERS)
@pytest.mark.parametrize("mode", MODES)
def test_insufficient_quota_is_not_retried_for_openai_compatible_providers(
    fake, mode, provider, sleeps
):
    # The codec's verdict (OpenAICompatCodec.never_retry) beats the server's hint.
    hint = {"x-should-retry": "true"}
    quota = ErrorReply(429, "You exceeded your quota", code="insufficient_quota", headers=hint)
    fake.script(quota, Reply(text="never"), provider=provider)
    client = fake.client(provider, max_retries=2)
    with pytest.raises(RateLimitError) as info:
        run(ask(client, mode, provider=provider, model=MODELS[provider]), "hello")
    assert info.value.attempts == 1
    assert len(fake.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_an_ordinary_429_is_still_retried_for_every_provider(fake, provider, sleeps):
    fake.script(ErrorReply(429, "slow down"), Reply(text="recovered"), provider=provider)
    client = fake.client(provider, max_retries=2)
    response = run(ask(client, "sync", provider=provider, model=MODELS[provider]), "hello")
    assert response.content == "recovered"
    assert len(fake.requests) == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize("mode", MODES)
def test_connection_error_then_status_reports_every_attempt(fake, mode, sleeps):
    fake.script(Fault("drop"), ErrorReply(500, "still down"), ErrorReply(502, "gave up"))
    with pytest.raises(InternalServerError) as info:
        run(ask(fake.client("openai", max_retries=2), mode), "hello")
    assert info.value.attempts == 3
    assert info.value.status_code == 502
    assert len(fake.requests) == 3


@pytest.mark.parametrize("mode", MODES)
def test_every_fault_surfaces_as_a_minicall_error(fake, mode):
    faults = [Fault("drop"), Fault("reset_mid_body", body=OK_BODY), Fault("raw", body=b"NOT HTTP\r\n\r\n")]
    client = fake.client("openai", max_retries=0)
    for fault in faults:
        fake.script(fault)
        with pytest.raises(MinicallError):
            run(ask(client, mode), "hello")

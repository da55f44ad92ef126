"""The retry policy: which statuses are retried and how long to wait."""

from __future__ import annotations

import inspect
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicall._http._retry import (
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    RETRYABLE_STATUSES,
    retry_delay,
    should_retry,
)

NOW = 1_700_000_000.0


def fixed_now() -> float:
    return NOW


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529, 599])
def test_transient_statuses_are_retried(status):
    assert should_retry(status, {})


@pytest.mark.parametrize("status", [200, 301, 400, 401, 403, 404, 410, 422])
def test_other_statuses_are_not_retried(status):
    assert not should_retry(status, {})


def test_retryable_statuses_include_every_5xx():
    assert {408, 409, 429} <= RETRYABLE_STATUSES
    assert all(s in RETRYABLE_STATUSES for s in range(500, 600))


def test_x_should_retry_false_overrides_a_retryable_status():
    assert not should_retry(503, {"x-should-retry": "false"})


def test_x_should_retry_true_makes_an_unlisted_status_retryable():
    assert should_retry(418, {"X-Should-Retry": " TRUE "})


def test_x_should_retry_with_a_nonsense_value_is_ignored():
    assert should_retry(500, {"x-should-retry": "maybe"})
    assert not should_retry(418, {"x-should-retry": "maybe"})


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_never_retried_even_when_the_server_says_so(status):
    assert not should_retry(status, {"x-should-retry": "true"})


def test_the_policy_is_provider_blind_and_reads_no_body():
    # OpenAI's insufficient_quota 429 is OpenAICompatCodec.never_retry's to recognise
    # (tests/_codecs/test_error_facts.py); the policy sees only the status and the headers.
    assert list(inspect.signature(should_retry).parameters) == ["status", "headers"]


def test_retry_after_seconds_is_honoured():
    assert retry_delay(0, {"retry-after": "3"}) == 3.0


def test_retry_after_fractional_seconds_is_honoured():
    assert retry_delay(0, {"Retry-After": "1.5"}) == 1.5


def test_retry_after_ms_wins_over_retry_after():
    assert retry_delay(0, {"retry-after-ms": "250", "retry-after": "30"}) == 0.25


def test_unparsable_retry_after_ms_falls_back_to_retry_after():
    assert retry_delay(0, {"retry-after-ms": "soon", "retry-after": "2"}) == 2.0


def test_retry_after_http_date_is_relative_to_now():
    when = datetime.fromtimestamp(NOW + 7, tz=timezone.utc)
    headers = {"retry-after": format_datetime(when, usegmt=True)}
    assert retry_delay(0, headers, now=fixed_now) == pytest.approx(7.0)


def test_retry_after_http_date_without_zone_is_read_as_gmt():
    when = datetime.fromtimestamp(NOW + 5, tz=timezone.utc)
    text = format_datetime(when, usegmt=True).replace("GMT", "-0000")
    assert retry_delay(0, {"retry-after": text}, now=fixed_now) == pytest.approx(5.0)


@pytest.mark.parametrize(
    "value",
    ["0", "-4", str(MAX_RETRY_AFTER + 1), "3600", "nan", "inf", "tomorrow", "", "Mon, 99 Foo"],
)
def test_absent_or_unreasonable_hints_fall_back_to_backoff(value):
    delay = retry_delay(1, {"retry-after": value}, rand=lambda: 0.0, now=fixed_now)
    assert delay == 1.0  # 0.5 * 2**1, no jitter


def test_retry_after_date_in_the_past_falls_back_to_backoff():
    when = datetime.fromtimestamp(NOW - 30, tz=timezone.utc)
    headers = {"retry-after": format_datetime(when, usegmt=True)}
    assert retry_delay(0, headers, rand=lambda: 0.0, now=fixed_now) == 0.5


def test_retry_after_of_exactly_the_maximum_is_honoured():
    assert retry_delay(0, {"retry-after": str(MAX_RETRY_AFTER)}) == MAX_RETRY_AFTER


def test_backoff_doubles_then_caps():
    delays = [retry_delay(n, {}, rand=lambda: 0.0) for n in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_full_jitter_takes_off_at_most_a_quarter():
    assert retry_delay(2, {}, rand=lambda: 0.999999) == pytest.approx(1.5, rel=1e-5)


def test_huge_attempt_numbers_do_not_overflow():
    assert retry_delay(10_000, {}, rand=lambda: 0.0) == MAX_BACKOFF


@given(
    attempt=st.integers(min_value=-5, max_value=10**6),
    r=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_backoff_stays_within_jitter_bounds(attempt, r):
    base = min(0.5 * 2 ** min(max(attempt, 0), 10), MAX_BACKOFF)
    delay = retry_delay(attempt, {}, rand=lambda: r)
    assert 0.75 * base <= delay <= base


@given(
    attempt=st.integers(min_value=0, max_value=50),
    hint=st.one_of(st.text(max_size=30), st.floats(allow_nan=True).map(str)),
    r=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_any_retry_after_value_gives_a_bounded_positive_delay(attempt, hint, r):
    delay = retry_delay(attempt, {"retry-after": hint}, rand=lambda: r, now=fixed_now)
    assert 0.0 < delay <= MAX_RETRY_AFTER

"""minicall.retries and llm.context over FakeServer: fallbacks to other providers,
errors handed to the next attempt (with tenacity and with minicall's own retry)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import minicall
from minicall import llm
from minicall.providers import openai
from minicall.retries import FallbackError, RetryState, collect_errors, fallback, retry
from minicall.retries import tenacity as retries_tenacity
from minicall.testing import ErrorReply, Reply

CLAUDE = "claude-3-5-sonnet-latest"


def _answer(fake: Any, *, decorator: Any = None, is_async: bool = False) -> Any:
    """``answer_question`` from Mirascope's Retries page, pointed at the fake."""
    decorate = decorator or llm.call("openai", "gpt-4o-mini", client=fake.client("openai", max_retries=0))
    if is_async:

        async def answer_question_async(question: str) -> str:
            return f"Answer this question: {question}"

        return decorate(answer_question_async)

    def answer_question(question: str) -> str:
        return f"Answer this question: {question}"

    return decorate(answer_question)


def _to_claude(fake: Any, catch: Any = minicall.RateLimitError) -> list[Any]:
    return [{"catch": catch, "provider": "anthropic", "model": CLAUDE, "client": fake.client("anthropic", max_retries=0),
             "call_params": {"temperature": 0.2}}]


# -- fallback ---------------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
def test_fallback_moves_to_the_next_provider_and_reports_what_it_caught(fake, is_async):
    fake.script(ErrorReply(429, "slow down"), provider="openai")
    answer = fallback(minicall.RateLimitError, _to_claude(fake))(_answer(fake, is_async=is_async))
    result = answer("What is the meaning of life?")
    response = asyncio.run(result) if is_async else result
    assert isinstance(response, llm.CallResponse)
    assert (response.provider, response.model) == ("anthropic", CLAUDE)
    assert response.content == "echo: Answer this question: What is the meaning of life?"
    [caught] = response._caught
    assert isinstance(caught, minicall.RateLimitError) and caught.status_code == 429
    assert fake.last.provider == "anthropic" and fake.last.json["temperature"] == 0.2


def test_fallback_returns_the_first_answer_untouched_when_it_works(fake):
    answer = fallback(minicall.RateLimitError, _to_claude(fake))(_answer(fake))
    response = answer("why?")
    assert response.provider == "openai" and not hasattr(response, "_caught")
    assert len(fake.requests) == 1


@pytest.mark.parametrize("is_async", [False, True])
def test_fallback_error_carries_every_error_when_all_fail(fake, is_async):
    fake.script(ErrorReply(429), provider="openai")
    fake.script(ErrorReply(529, "overloaded"), provider="anthropic")
    backups = _to_claude(fake, catch=minicall.InternalServerError)
    answer = fallback(minicall.RateLimitError, backups)(_answer(fake, is_async=is_async))
    with pytest.raises(FallbackError) as info:
        result = answer("q")
        if is_async:
            asyncio.run(result)
    first, second = info.value.errors
    assert isinstance(first, minicall.RateLimitError) and isinstance(second, minicall.InternalServerError)
    assert str(info.value).startswith("All fallbacks failed:")
    assert isinstance(info.value, minicall.MinicallError)


def test_an_error_fallback_does_not_catch_propagates(fake):
    fake.script(ErrorReply(400, "bad"), provider="openai")
    answer = fallback(minicall.RateLimitError, _to_claude(fake))(_answer(fake))
    with pytest.raises(minicall.BadRequestError):
        answer("q")
    assert len(fake.requests) == 1
    fake.script(ErrorReply(429), provider="openai")
    fake.script(ErrorReply(401), provider="anthropic")
    with pytest.raises(minicall.AuthenticationError):  # not the fallback's catch
        answer("q")


def test_fallback_over_a_provider_call_answers_in_neutral_terms(fake):
    fake.script(ErrorReply(429), provider="openai")
    decorator = openai.call("gpt-4o-mini", client=fake.client("openai", max_retries=0))
    response = fallback(openai.RateLimitError, _to_claude(fake))(_answer(fake, decorator=decorator))("q")
    assert type(response) is llm.CallResponse and response.provider == "anthropic"
    assert response.finish_reasons == ["stop"]


def test_fallback_needs_its_keys():
    with pytest.raises(minicall.ConfigurationError, match="needs catch, model"):
        fallback(ValueError, [{"provider": "anthropic"}])  # type: ignore[list-item]


def test_fallback_over_tenacity_retries_reaches_the_wrapped_call(fake):
    tenacity = pytest.importorskip("tenacity")
    fake.script(ErrorReply(429), ErrorReply(429), provider="openai")
    fake.script(ErrorReply(429), Reply(text="Forty-two."), provider="anthropic")
    retried = tenacity.retry(
        retry=tenacity.retry_if_exception_type(minicall.RateLimitError),
        stop=tenacity.stop_after_attempt(2),
    )(_answer(fake))
    backups = [{"catch": tenacity.RetryError, "provider": "anthropic", "model": CLAUDE,
                "client": fake.client("anthropic", max_retries=0)}]
    response = fallback(tenacity.RetryError, backups)(retried)("What is the meaning of life?")
    assert response.content == "Forty-two." and response.provider == "anthropic"
    assert [type(e).__name__ for e in response._caught] == ["RetryError"]
    assert [r.provider for r in fake.requests] == ["openai", "openai", "anthropic", "anthropic"]


# -- llm.context ------------------------------------------------------------------------------


def test_llm_context_redirects_calls_made_inside_it_and_nests(fake):
    answer = _answer(fake)

    def deep(question: str) -> Any:
        return answer(question)

    with llm.context(provider="anthropic", model=CLAUDE, client=fake.client("anthropic")):
        assert deep("q").provider == "anthropic"
        with llm.context(call_params={"max_tokens": 7}):
            assert deep("q").provider == "anthropic"
            assert fake.last.json["max_tokens"] == 7
    assert deep("q").provider == "openai"


def test_llm_context_async_and_per_task(fake):
    answer = _answer(fake, is_async=True)

    async def run() -> list[str]:
        async def in_context() -> str:
            with llm.context(provider="anthropic", model=CLAUDE, client=fake.client("anthropic")):
                await asyncio.sleep(0.01)
                return (await answer("a")).provider

        async def outside() -> str:
            await asyncio.sleep(0.005)
            return (await answer("b")).provider

        return list(await asyncio.gather(in_context(), outside()))

    assert asyncio.run(run()) == ["anthropic", "openai"]


def test_llm_context_needs_a_model_with_a_provider_and_a_known_provider():
    with pytest.raises(ValueError, match="needs a model"):
        with llm.context(provider="anthropic"):
            pass
    with pytest.raises(ValueError, match="unknown provider"):
        with llm.context(provider="nope", model="m"):  # type: ignore[arg-type]
            pass


# -- collect_errors -----------------------------------------------------------------------------


def _identify_author(fake: Any, *, is_async: bool = False) -> Any:
    """The error-reinsertion example: an int response model, so a word fails validation."""
    decorate = llm.call("openai", "gpt-4o-mini", response_model=int, json_mode=True, client=fake.client("openai"))
    if is_async:

        async def count_async(book: str, *, errors: list[minicall.ValidationError] | None = None) -> str:
            return f"Previous Error: {errors}\n\nHow many pages has {book}?" if errors else f"Pages of {book}?"

        return decorate(count_async)

    def count(book: str, *, errors: list[minicall.ValidationError] | None = None) -> str:
        return f"Previous Error: {errors}\n\nHow many pages has {book}?" if errors else f"Pages of {book}?"

    return decorate(count)


def test_collect_errors_with_tenacity_reinserts_the_validation_error(fake):
    tenacity = pytest.importorskip("tenacity")
    fake.script(Reply(text="many"), Reply(text="662"))
    hook = retries_tenacity.collect_errors(minicall.ValidationError)
    pages = tenacity.retry(stop=tenacity.stop_after_attempt(3), after=hook)(_identify_author(fake))
    assert pages("The Name of the Wind") == 662
    first, second = (r.json["messages"][-1]["content"] for r in fake.requests)
    assert first == "Pages of The Name of the Wind?"
    assert second.startswith("Previous Error: [ValidationError(") and "How many pages" in second


def test_collect_errors_with_tenacity_async(fake):
    tenacity = pytest.importorskip("tenacity")
    fake.script(Reply(text="many"), Reply(text="lots"), Reply(text="662"))
    seen: list[int] = []

    def count_errors(state: Any) -> None:
        seen.append(len(state.kwargs.get("errors") or []))

    pages = tenacity.retry(
        stop=tenacity.stop_after_attempt(3),
        after=lambda s: (collect_errors(minicall.ValidationError)(s), count_errors(s)),
    )(_identify_author(fake, is_async=True))
    assert asyncio.run(pages("Dune")) == 662
    assert seen == [1, 2]


@pytest.mark.parametrize("is_async", [False, True])
def test_minicall_retry_with_collect_errors_passes_errors_forward(fake, is_async):
    fake.script(Reply(text="many"), Reply(text="662"))
    pages = retry(minicall.ValidationError, attempts=3, after=collect_errors(minicall.ValidationError))(
        _identify_author(fake, is_async=is_async)
    )
    result = pages("Dune")
    assert (asyncio.run(result) if is_async else result) == 662
    assert fake.requests[1].json["messages"][-1]["content"].startswith("Previous Error: [ValidationError(")


def test_collect_errors_ignores_other_errors_and_successes():
    hook = collect_errors(KeyError)
    state = RetryState(1, retries_outcome(ValueError("no")), (), {})
    hook(state)
    assert state.kwargs == {}
    hook(RetryState(1, retries_outcome(None), (), state.kwargs))
    assert state.kwargs == {}
    error = KeyError("k")
    hook(RetryState(2, retries_outcome(error), (), state.kwargs))
    assert state.kwargs == {"errors": [error]}


def retries_outcome(error: BaseException | None) -> Any:
    from minicall.retries._collect import Outcome

    outcome = Outcome(error)
    assert outcome.failed is (error is not None) and outcome.exception() is error
    return outcome


# -- minicall's retry -----------------------------------------------------------------------------


def test_retry_gives_up_after_its_attempts_with_the_last_error_and_backs_off(fake, sleeps):
    fake.script(ErrorReply(500), ErrorReply(502), ErrorReply(503), Reply(text="late"))
    ask = retry(minicall.InternalServerError, attempts=3, wait=0.5, backoff=3, max_wait=1.0)(
        llm.call("openai", "gpt-4o-mini", client=fake.client("openai", max_retries=0))(lambda: "hi")
    )
    with pytest.raises(minicall.InternalServerError) as info:
        ask()
    assert info.value.status_code == 503
    assert sleeps == [0.5, 1.0]  # 0.5, then 1.5 capped at max_wait
    assert ask().content == "late"


def test_retry_does_not_catch_what_it_was_not_told_to(fake):
    fake.script(ErrorReply(401))
    calls: list[int] = []

    @retry(minicall.RateLimitError, attempts=5)
    def ask() -> Any:
        calls.append(1)
        return llm.call("openai", "gpt-4o-mini", client=fake.client("openai", max_retries=0))(lambda: "hi")()

    with pytest.raises(minicall.AuthenticationError):
        ask()
    assert calls == [1]


def test_retry_async_sleeps_without_blocking(async_sleeps):
    attempts: list[int] = []

    @retry(ValueError, attempts=3, wait=0.25)
    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise ValueError("again")
        return "ok"

    assert asyncio.run(flaky()) == "ok"
    assert async_sleeps == [0.25, 0.5] and len(attempts) == 3


@pytest.mark.parametrize("kwargs", [{"attempts": 0}, {"attempts": 1.5}, {"wait": -1}, {"backoff": 0.5}])
def test_retry_rejects_nonsense_settings(kwargs):
    with pytest.raises(minicall.ConfigurationError):
        retry(**kwargs)


def test_retry_keeps_the_function_name_and_never_sleeps_without_wait(monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda s: (_ for _ in ()).throw(AssertionError("slept")))

    @retry(attempts=2)
    def named() -> None:
        raise RuntimeError("x")

    assert named.__name__ == "named"
    with pytest.raises(RuntimeError):
        named()

"""One usage rule for every provider: a token count that is not a non-negative integer of at
most 2**53 reads as None (the reply and the raw body kept, a warning logged), and ``cost``
never raises and is never negative."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minicall
from minicall import llm
from minicall._call.pricing import cost
from minicall._call.registry import PROVIDERS
from minicall._codecs.anthropic.codec import AnthropicCodec
from minicall._codecs.bedrock.codec import BedrockCodec
from minicall._codecs.cohere import CohereCodec
from minicall._codecs.gemini.codec import GeminiCodec
from minicall._codecs.openai.codec import OPENAI, OpenAICompatCodec
from minicall._model.spec import CallSpec, Usage
from minicall.testing import FakeServer, Reply

MODELS = {
    "openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest", "google": "gemini-2.0-flash",
    "groq": "llama-3.3-70b-versatile", "xai": "grok-3", "mistral": "mistral-large-latest",
    "cohere": "command-r-plus", "litellm": "gpt-4o-mini", "azure": "gpt-4o-mini",
    "bedrock": "anthropic.claude-3-5-haiku-20241022-v1:0",
}

HOSTILE = [10**400, -5, -10**308, float("nan"), float("inf"), float("-inf"), 2**53 + 1, 1.5, -1e308]
counts = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from(HOSTILE),
    st.floats(allow_nan=True, allow_infinity=True),
)


def good(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer() and 0 <= value <= 2**53
    return isinstance(value, int) and 0 <= value <= 2**53


def _body(provider: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "openai": {"id": "x", "model": "m", "usage": usage, "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "kept"}, "finish_reason": "stop"}]},
        "anthropic": {"id": "x", "type": "message", "role": "assistant", "model": "m", "usage": usage,
                      "content": [{"type": "text", "text": "kept"}], "stop_reason": "end_turn"},
        "google": {"usageMetadata": usage, "candidates": [
            {"content": {"role": "model", "parts": [{"text": "kept"}]}, "finishReason": "STOP"}]},
        "cohere": {"id": "x", "finish_reason": "COMPLETE", "usage": usage,
                   "message": {"role": "assistant", "content": [{"type": "text", "text": "kept"}]}},
        "bedrock": {"output": {"message": {"role": "assistant", "content": [{"text": "kept"}]}},
                    "stopReason": "end_turn", "usage": usage},
    }[provider]


# Each codec's usage fields: (path into the usage object, the neutral field it feeds).
FIELDS = {
    "openai": (OpenAICompatCodec(OPENAI), [("prompt_tokens", "input_tokens"), ("completion_tokens", "output_tokens"),
               ("total_tokens", "total_tokens"), ("prompt_tokens_details.cached_tokens", "cached_tokens")]),
    "anthropic": (AnthropicCodec(), [("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
                  ("cache_read_input_tokens", "cached_tokens"), ("cache_creation_input_tokens", "cache_write_tokens")]),
    "google": (GeminiCodec(), [("promptTokenCount", "input_tokens"), ("candidatesTokenCount", "output_tokens"),
               ("totalTokenCount", "total_tokens"), ("cachedContentTokenCount", "cached_tokens")]),
    "cohere": (CohereCodec(), [("billed_units.input_tokens", "input_tokens"), ("tokens.output_tokens", "output_tokens"),
               ("cached_tokens", "cached_tokens")]),
    "bedrock": (BedrockCodec(), [("inputTokens", "input_tokens"), ("outputTokens", "output_tokens"),
                ("totalTokens", "total_tokens"), ("cacheReadInputTokens", "cached_tokens"),
                ("cacheWriteInputTokens", "cache_write_tokens")]),
}
CASES = [(p, path, field) for p, (_, fields) in FIELDS.items() for path, field in fields]


@pytest.mark.parametrize(("provider", "path", "field"), CASES)
@given(value=counts | st.text(max_size=3) | st.booleans() | st.lists(st.integers(), max_size=2))
def test_each_codec_reads_each_usage_field_by_the_one_rule(provider, path, field, value):
    codec, _ = FIELDS[provider]
    usage: dict[str, Any] = {}
    *outer, key = path.split(".")
    where = usage
    for name in outer:
        where = where.setdefault(name, {})
    where[key] = value
    completion = codec.decode(json.dumps(_body(provider, usage)).encode(), {}, CallSpec("m", ()))
    assert completion.content == "kept"
    got = getattr(completion.usage, field)
    if good(value):
        assert got is not None and got >= int(value)  # sums (input + cache) may add to it
    elif field != "total_tokens" or provider != "cohere":
        assert got is None
    for name in ("input_tokens", "output_tokens", "cached_tokens", "total_tokens", "cache_write_tokens"):
        other = getattr(completion.usage, name)
        assert other is None or (type(other) is int and 0 <= other <= 2**54)


def _ask(server: FakeServer, provider: str, stream: bool = False):
    @llm.call(provider=provider, model=MODELS[provider], client=server.client(provider), stream=stream)
    def ask() -> str:
        return "hello there"

    @llm.call(provider=provider, model=MODELS[provider], client=server.client(provider), stream=stream)
    async def ask_async() -> str:
        return "hello there"

    return ask, ask_async


@pytest.fixture(scope="module")
def server():
    with FakeServer() as fake:
        yield fake


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("bad", HOSTILE)
def test_every_provider_reads_a_bad_count_as_none_and_keeps_the_reply(server, provider, bad):
    ask, ask_async = _ask(server, provider)
    for run in (ask, lambda: asyncio.run(ask_async())):
        server.script(Reply(text="kept", input_tokens=3, output_tokens=bad), provider=provider)
        response = run()
        assert response.content == "kept"
        assert response.response  # the raw reply is kept
        usage = response.usage
        assert usage is not None and usage.output_tokens is None
        for name in ("input_tokens", "cached_tokens", "total_tokens", "cache_write_tokens"):
            value = getattr(usage, name)
            assert value is None or (type(value) is int and 0 <= value <= 2**54), (name, value)
        assert response.cost is None  # half the usage is unknown, so the cost is


@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("bad", [10**400, float("nan"), float("inf"), -5, -1e308])
def test_streams_sync_and_async_apply_the_same_rule(server, provider, bad, caplog):
    ask, ask_async = _ask(server, provider, stream=True)
    for run in (lambda: list(ask()) and None, None):
        server.script(Reply(text="kept here", input_tokens=3, output_tokens=bad), provider=provider)
        with caplog.at_level(logging.WARNING, logger="minicall"):
            if run is not None:
                stream = ask()
                list(stream)
            else:
                async def go():
                    s = await ask_async()
                    async for _ in s:
                        pass
                    return s
                stream = asyncio.run(go())
        assert stream.content == "kept here"
        assert stream.output_tokens is None
        assert stream.cost is None
        assert "is not a token count" in caplog.text
        caplog.clear()


@given(
    st.builds(Usage, counts.map(lambda v: v if good(v) else None), counts.map(lambda v: v if good(v) else None),
              counts.map(lambda v: v if good(v) else None), st.none(), counts.map(lambda v: v if good(v) else None)),
    st.floats(allow_nan=True, allow_infinity=True),
)
def test_cost_never_raises_and_is_never_negative(usage, price):
    if not (math.isfinite(price) and price >= 0):  # refused where it is set, not at each call
        with pytest.raises(minicall.ConfigurationError):
            minicall.set_price("acme", "model", input=price, output=price)
        return
    minicall.set_price("acme", "model", input=price, output=price)
    c = cost("acme", "model-1", usage)
    assert c is None or (math.isfinite(c) and c >= 0)


def test_anthropic_cache_writes_and_reads_price_as_their_own():
    usage = Usage(input_tokens=1000, output_tokens=100, cached_tokens=600, total_tokens=1100, cache_write_tokens=300)
    # claude-3-5-haiku: input 0.80, cache read 0.08, cache write 1.00, output 4.00 (USD / M tokens)
    expected = (100 * 0.80 + 600 * 0.08 + 300 * 1.00 + 100 * 4.00) / 1e6
    assert cost("anthropic", "claude-3-5-haiku-20241022", usage) == pytest.approx(expected)

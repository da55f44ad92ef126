"""Cost from the bundled price table, its overrides and its fallbacks."""

from __future__ import annotations

import json

import pytest

import minicall
from minicall._call import pricing as _pricing
from minicall._model.spec import Usage


@pytest.fixture(autouse=True)
def fresh_table(monkeypatch):
    monkeypatch.setattr(_pricing, "_table_cache", None)


def test_dated_snapshot_prices_as_its_family_by_longest_prefix():
    assert _pricing.price_of("openai", "gpt-4o-mini-2024-07-18") == {"input": 0.15, "output": 0.60, "cached": 0.075, "cache_write": 0.15}
    assert _pricing.price_of("openai", "gpt-4o-2024-08-06")["input"] == 2.50


def test_cost_counts_cached_input_at_the_cached_price():
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cached_tokens=400_000, total_tokens=2_000_000)
    assert _pricing.cost("openai", "gpt-4o-mini", usage) == pytest.approx(0.6 * 0.15 + 0.4 * 0.075 + 0.60)


def test_unknown_model_or_missing_usage_costs_none():
    assert _pricing.cost("openai", "no-such-model", Usage(1, 1, 0, 2)) is None
    assert _pricing.cost("openai", "gpt-4o-mini", None) is None


def test_gateways_fall_back_to_the_model_owners_prices():
    assert _pricing.price_of("litellm", "claude-3-5-haiku-latest") == _pricing.price_of("anthropic", "claude-3-5-haiku")
    assert _pricing.price_of("azure", "gpt-4o-mini") is not None


def test_set_price_overrides_at_run_time():
    minicall.set_price("openai", "my-finetune", input=1.0, output=2.0)
    assert _pricing.cost("openai", "my-finetune-v2", Usage(1_000_000, 1_000_000, 0, 0)) == pytest.approx(3.0)


@pytest.mark.parametrize(
    "prices",
    [
        {"input": -1.0, "output": 1.0},
        {"input": 1.0, "output": float("inf")},
        {"input": float("nan"), "output": 1.0},
        {"input": 10**400, "output": 1.0},
        {"input": "0.15", "output": 1.0},
        {"input": None, "output": 1.0},
        {"input": True, "output": 1.0},
        {"input": 1.0, "output": 1.0, "cached": -0.5},
        {"input": 1.0, "output": 1.0, "cache_write": "x"},
    ],
)
def test_set_price_refuses_a_price_that_is_not_a_finite_non_negative_number(prices):
    with pytest.raises(minicall.ConfigurationError, match="price must be"):
        minicall.set_price("openai", "my-finetune", **prices)
    assert _pricing.price_of("openai", "my-finetune") is None  # nothing half-set


@pytest.mark.parametrize("provider, model", [("", "m"), ("openai", ""), (1, "m"), ("openai", None)])
def test_set_price_needs_a_provider_and_a_model_name(provider, model):
    with pytest.raises(minicall.ConfigurationError, match="provider and a model"):
        minicall.set_price(provider, model, input=1.0, output=1.0)


def test_minicall_prices_file_is_merged_over_the_bundled_table(tmp_path, monkeypatch):
    extra = tmp_path / "prices.json"
    extra.write_text(json.dumps({"openai": {"gpt-4o-mini": {"input": 9, "output": 9}}, "acme": {"m": {"input": 1, "output": 1}}}))
    monkeypatch.setenv("MINICALL_PRICES", str(extra))
    assert _pricing.price_of("openai", "gpt-4o-mini") == {"input": 9.0, "output": 9.0, "cached": 9.0, "cache_write": 9.0}
    assert _pricing.price_of("acme", "m") is not None
    assert _pricing.price_of("anthropic", "claude-3-haiku") is not None


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"openai": {"m": {"input": "cheap"}}}',
        "[1]",
        '{"openai": {"m": {"input": -1, "output": 1}}}',
        '{"openai": {"m": {"input": 1, "output": 1e400}}}',
        '{"openai": {"m": {"input": 1, "output": 1, "batch_output": -2}}}',
        '{"openai": {"m": {"input": 1, "output": 1, "cached": 1%s}}}' % ("0" * 400),
    ],
)
def test_a_broken_prices_file_is_a_configuration_error(tmp_path, monkeypatch, content):
    extra = tmp_path / "prices.json"
    extra.write_text(content)
    monkeypatch.setenv("MINICALL_PRICES", str(extra))
    with pytest.raises(minicall.ConfigurationError):
        _pricing.price_of("openai", "gpt-4o-mini")


def test_bundled_table_prices_every_demo_model():
    from minicall._cli.demo import MODELS

    for provider, model in MODELS.items():
        assert _pricing.price_of(provider, model) is not None, (provider, model)

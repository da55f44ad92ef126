"""Cost in USD from a bundled price table (``prices.json``, USD per million tokens).

The table is read on first use, not at import. Models match by the longest prefix of
their name, so dated snapshots (``gpt-4o-mini-2024-07-18``) price as their family.
``MINICALL_PRICES`` may name a JSON file of the same shape, merged over the bundled
one; :func:`set_price` changes a price at run time.
"""

from __future__ import annotations

import json
import math
import os
import threading
from typing import Any, cast

from .._model.errors import ConfigurationError
from .._model.spec import Usage

__all__ = ["BATCH_DISCOUNT", "cost", "price_of", "set_price", "usd"]

_table_cache: dict[str, dict[str, dict[str, float]]] | None = None
_RATES = ("input", "cached", "cache_write", "output")
BATCH_DISCOUNT = 0.5
"""What a batch costs against the plain price where the table holds no batch price
(OpenAI, Anthropic, Gemini and Groq all charge half)."""
_LOCK = threading.Lock()


def _merge(into: dict[str, dict[str, dict[str, float]]], data: Any, origin: str) -> None:
    if not isinstance(data, dict):
        raise ConfigurationError(f"price table {origin} is not a JSON object")
    for provider, models in cast("dict[str, Any]", data).items():
        if provider.startswith("_"):
            continue
        if not isinstance(models, dict):
            raise ConfigurationError(f"price table {origin}: {provider} is not an object")
        for model, value in cast("dict[str, Any]", models).items():
            price = cast("dict[str, Any]", value) if isinstance(value, dict) else None
            if price is None or not all(
                isinstance(price.get(k), (int, float)) for k in ("input", "output")
            ):
                raise ConfigurationError(f"price table {origin}: {provider}/{model} needs input and output")
            entry = _entry(
                price["input"],
                price["output"],
                _number(price.get("cached")),
                _number(price.get("cache_write")),
                where=f"price table {origin}: {provider}/{model}",
            )
            # A batch price where the table has one (batch_input, batch_cached,
            # batch_cache_write, batch_output); otherwise cost() takes half the plain one.
            for rate in _RATES:
                found = _number(price.get("batch_" + rate))
                if found is not None:
                    entry["batch_" + rate] = _rate(found, f"price table {origin}: {provider}/{model} batch_{rate}")
            into.setdefault(provider, {})[model] = entry


def _number(value: Any) -> float | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer past float's range: _rate refuses it
        return math.inf


def _rate(value: object, where: str) -> float:
    # A price is a finite, non-negative number: anything else would make every cost of
    # the model None (or, for a string, fail deep inside a call) instead of failing here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{where}: a price must be a number of USD per million tokens, got {value!r}")
    try:
        rate = float(value)
    except OverflowError:
        rate = math.inf
    if not math.isfinite(rate) or rate < 0:
        raise ConfigurationError(f"{where}: a price must be finite and not negative, got {value!r}")
    return rate


def _is_name(value: object) -> bool:
    # Typed str, but untyped callers may pass anything: the table's keys must be names.
    return isinstance(value, str) and bool(value)


def _entry(
    input: object, output: object, cached: object | None, cache_write: object | None, *, where: str
) -> dict[str, float]:
    plain = _rate(input, f"{where} input")
    # Unpriced cache reads and writes cost what plain input costs.
    return {
        "input": plain,
        "output": _rate(output, f"{where} output"),
        "cached": plain if cached is None else _rate(cached, f"{where} cached"),
        "cache_write": plain if cache_write is None else _rate(cache_write, f"{where} cache_write"),
    }


def _table() -> dict[str, dict[str, dict[str, float]]]:
    global _table_cache
    if _table_cache is None:
        with _LOCK:
            if _table_cache is None:
                table: dict[str, dict[str, dict[str, float]]] = {}
                from importlib import resources

                # The package by its own name, whatever it is (a vendored copy is not "minicall").
                package = __name__.rsplit(".", 2)[0]
                text = resources.files(package).joinpath("prices.json").read_text("utf-8")
                _merge(table, json.loads(text), "prices.json")
                extra = os.environ.get("MINICALL_PRICES")
                if extra:
                    try:
                        with open(extra, encoding="utf-8") as f:
                            _merge(table, json.load(f), extra)
                    except (OSError, ValueError) as exc:
                        raise ConfigurationError(f"cannot read MINICALL_PRICES={extra!r}: {exc}") from None
                _table_cache = table
    return _table_cache


def set_price(
    provider: str,
    model: str,
    *,
    input: float,
    output: float,
    cached: float | None = None,
    cache_write: float | None = None,
) -> None:
    """Set the USD price per million tokens of ``model`` (a name or name prefix):
    ``cached`` for prompt-cache reads, ``cache_write`` for writes (both default to ``input``).
    A price that is not a finite, non-negative number is a ``ConfigurationError``."""
    if not (_is_name(provider) and _is_name(model)):
        raise ConfigurationError(f"set_price needs a provider and a model name, got {provider!r}, {model!r}")
    table = _table()
    entry = _entry(input, output, cached, cache_write, where=f"set_price {provider}/{model}")
    with _LOCK:
        # Copy on write: readers iterate a provider's models without taking the lock.
        table[provider] = {**table.get(provider, {}), model: entry}


# Gateways serve other providers' models under those models' own names.
_FALLBACK = {
    "litellm": ("openai", "anthropic", "google", "mistral", "cohere", "groq", "xai"),
    "azure": ("openai",),
}


def price_of(provider: str, model: str) -> dict[str, float] | None:
    """The price entry for ``model`` (longest matching prefix), or ``None``."""
    name = model.removeprefix("models/")
    for table_name in (provider, *_FALLBACK.get(provider, ())):
        models = _table().get(table_name) or {}
        best = None
        for key in models:
            if name.startswith(key) and (best is None or len(key) > len(best)):
                best = key
        if best is not None:
            return models[best]
    return None


def cost(provider: str, model: str | None, usage: Usage | None, *, batch: bool = False) -> float | None:
    """USD for ``usage`` on ``model``; ``None`` when the model, the input or the output
    count is unknown. Never raises and is never negative or infinite: counts are at
    most ``2**53`` (the codecs see to it) and a price that would make it so gives ``None``.

    ``batch=True`` prices a request run by the provider's batch engine: the table's
    ``batch_*`` prices where it has them, else :data:`BATCH_DISCOUNT` of the plain ones.
    """
    if usage is None or not model or usage.input_tokens is None or usage.output_tokens is None:
        return None
    price = price_of(provider, model)
    if price is None:
        return None
    if batch:
        price = {rate: price.get("batch_" + rate, price[rate] * BATCH_DISCOUNT) for rate in _RATES}
    read, written = usage.cached_tokens or 0, usage.cache_write_tokens or 0
    uncached = max(usage.input_tokens - read - written, 0)
    total = (
        uncached * price["input"]
        + read * price["cached"]
        + written * price["cache_write"]
        + usage.output_tokens * price["output"]
    ) / 1_000_000
    return usd(total)


def usd(value: float | None) -> float | None:
    """``value`` when it is a finite, non-negative amount, else ``None``."""
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return value

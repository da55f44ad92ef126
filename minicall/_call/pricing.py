"""Cost in USD from a bundled price table (``prices.json``, USD per million tokens).

The table is read on first use, not at import. Models match by the longest prefix of
their name, so dated snapshots (``gpt-4o-mini-2024-07-18``) price as their family.
``MINICALL_PRICES`` may name a JSON file of the same shape, merged over the bundled
one; :func:`set_price` changes a price at run time.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from .._model.errors import ConfigurationError
from .._model.spec import Usage

__all__ = ["cost", "price_of", "set_price"]

_TABLE: dict[str, dict[str, dict[str, float]]] | None = None
_LOCK = threading.Lock()


def _merge(into: dict[str, dict[str, dict[str, float]]], data: Any, origin: str) -> None:
    if not isinstance(data, dict):
        raise ConfigurationError(f"price table {origin} is not a JSON object")
    for provider, models in data.items():
        if provider.startswith("_"):
            continue
        if not isinstance(models, dict):
            raise ConfigurationError(f"price table {origin}: {provider} is not an object")
        for model, price in models.items():
            if not isinstance(price, dict) or not all(
                isinstance(price.get(k), (int, float)) for k in ("input", "output")
            ):
                raise ConfigurationError(f"price table {origin}: {provider}/{model} needs input and output")
            into.setdefault(provider, {})[model] = {
                "input": float(price["input"]),
                "output": float(price["output"]),
                "cached": float(price["cached"] if isinstance(price.get("cached"), (int, float)) else price["input"]),
            }


def _table() -> dict[str, dict[str, dict[str, float]]]:
    global _TABLE
    if _TABLE is None:
        with _LOCK:
            if _TABLE is None:
                table: dict[str, dict[str, dict[str, float]]] = {}
                from importlib import resources

                text = resources.files("minicall").joinpath("prices.json").read_text("utf-8")
                _merge(table, json.loads(text), "prices.json")
                extra = os.environ.get("MINICALL_PRICES")
                if extra:
                    try:
                        with open(extra, encoding="utf-8") as f:
                            _merge(table, json.load(f), extra)
                    except (OSError, ValueError) as exc:
                        raise ConfigurationError(f"cannot read MINICALL_PRICES={extra!r}: {exc}") from None
                _TABLE = table
    return _TABLE


def set_price(provider: str, model: str, *, input: float, output: float, cached: float | None = None) -> None:
    """Set the USD price per million tokens of ``model`` (a name or name prefix)."""
    table = _table()
    entry = {"input": float(input), "output": float(output), "cached": float(input if cached is None else cached)}
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


def cost(provider: str, model: str | None, usage: Usage | None) -> float | None:
    """USD for ``usage`` on ``model``; ``None`` when the model or usage is unknown."""
    if usage is None or not model:
        return None
    price = price_of(provider, model)
    if price is None:
        return None
    uncached = max(usage.input_tokens - usage.cached_tokens, 0)
    return (
        uncached * price["input"] + usage.cached_tokens * price["cached"] + usage.output_tokens * price["output"]
    ) / 1_000_000

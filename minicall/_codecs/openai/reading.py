"""What the Chat Completions reply and its stream chunks share: usage, audio, a gateway's
reported cost and the error text, read the same way from a whole reply or from a chunk."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

from ..._model.spec import Usage
from ..._model.wire import Reader
from .._common import b64decode, count, error_text, usage_of
from .dialects import Dialect

__all__ = ["chunk_usage", "compat_error_text", "dig", "read_audio", "read_usage", "reported_cost"]


def read_audio(r: Reader, value: Any, at: str) -> tuple[str | None, bytes, str | None]:
    """The id, bytes and transcript of an ``audio`` object (a whole one or a delta)."""
    audio = r.obj(value, at)
    data = r.opt_str(audio.get("data"), f"{at}.data") or ""
    return (
        r.opt_str(audio.get("id"), f"{at}.id"),
        b64decode(data, r.provider, f"{at}.data"),
        r.opt_str(audio.get("transcript"), f"{at}.transcript"),
    )


def read_usage(r: Reader, value: Any) -> Usage | None:
    """The ``usage`` object's counts; ``None`` when there is none."""
    usage = r.opt_obj(value, "usage")
    if usage is None:
        return None
    details = r.opt_obj(usage.get("prompt_tokens_details"), "usage.prompt_tokens_details") or {}
    return usage_of(
        r,
        usage,
        "usage",
        "total_tokens",
        count(r, usage, "usage", "prompt_tokens"),
        count(r, usage, "usage", "completion_tokens"),
        count(r, details, "usage.prompt_tokens_details", "cached_tokens"),
        # A LiteLLM proxy serving Anthropic models adds Anthropic's count of tokens
        # written to the prompt cache (its prompt_tokens include them).
        count(r, usage, "usage", "cache_creation_input_tokens"),
    )


def reported_cost(dialect: Dialect, raw: Mapping[str, Any], headers: Mapping[str, str]) -> float | None:
    """The cost a gateway reports, in a header or in ``usage`` (where the dialect says)."""
    if dialect.cost_header and dialect.cost_header in headers:
        try:
            return _amount(float(headers[dialect.cost_header]))
        except ValueError:
            return None
    usage = raw.get("usage")
    if dialect.cost_usage_key and isinstance(usage, dict):
        value = cast("dict[str, Any]", usage).get(dialect.cost_usage_key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return _amount(float(value) * dialect.cost_scale)
            except OverflowError:  # an integer past float's range
                return None
    return None


def _amount(value: float) -> float | None:
    # A reported cost that is negative or not finite is no cost at all; -0.0 reads as 0.0.
    return value + 0.0 if math.isfinite(value) and value >= 0 else None


def chunk_usage(dialect: Dialect, raw: Mapping[str, Any]) -> Any:
    """A chunk's usage: ``usage``, or where the dialect's provider puts it instead."""
    usage = raw.get("usage")
    for path in dialect.chunk_usage_paths:
        if usage is not None:
            break
        usage = dig(raw, path)
    return usage


def compat_error_text(data: Any) -> str | None:
    """``error.message`` and the spellings compatible providers use instead."""
    text = error_text(data, ("error", "message", "detail"))
    if text is not None or not isinstance(data, dict):
        return text
    for key in ("message", "detail"):
        value = cast("dict[str, Any]", data).get(key)
        if isinstance(value, list) and value:
            # FastAPI-style validation details (Mistral 422): the ``msg`` of each item.
            items = cast("Sequence[Any]", value)
            msgs = [cast("dict[str, Any]", item).get("msg") for item in items if isinstance(item, dict)]
            texts = [m for m in msgs if isinstance(m, str)]
            return "; ".join(texts) if texts else json.dumps(value)[:500]
    return None


def dig(value: Any, path: Sequence[str]) -> Any:
    """``value[path[0]][path[1]]...``, or ``None`` where the shape does not hold."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = cast("dict[str, Any]", value).get(key)
    return value

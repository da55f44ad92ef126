"""xAI Chat Completions, server side (PROVIDERS.md section 5).

OpenAI's wire at ``/v1/chat/completions``; ``usage`` adds ``num_sources_used`` and,
when a reply scripts ``reported_cost``, ``cost_in_usd_ticks`` (1e10 ticks per USD).
"""

from __future__ import annotations

from .openai import OpenAIDialect, OpenAIFormat

__all__ = ["FORMAT"]

FORMAT = OpenAIFormat(
    OpenAIDialect(
        name="xai",
        usage_extras={"num_sources_used": 0},
        cost_usage_key="cost_in_usd_ticks",
        cost_scale=1e10,
    )
)

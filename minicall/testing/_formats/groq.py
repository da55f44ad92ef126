"""Groq Chat Completions, server side (PROVIDERS.md section 4).

OpenAI's wire at ``/openai/v1/chat/completions`` under the host root (the groq SDK's
base has no path). Whole replies carry ``x_groq.id`` and Groq's timing fields in
``usage``; streams put the usage in the finish chunk's ``x_groq.usage`` whatever the
request asked. Errors are OpenAI-shaped.
"""

from __future__ import annotations

from .openai import OpenAIDialect, OpenAIFormat

__all__ = ["FORMAT"]

FORMAT = OpenAIFormat(
    OpenAIDialect(
        name="groq",
        base_suffix="",
        path_suffix="/openai/v1/chat/completions",
        extra_response={"x_groq": {"id": "req_fakeserver"}},
        usage_extras={
            "queue_time": 0.01,
            "prompt_time": 0.002,
            "completion_time": 0.05,
            "total_time": 0.062,
        },
        stream_usage="x_groq",
    )
)

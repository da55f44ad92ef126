"""A LiteLLM proxy, server side (PROVIDERS.md section 8).

OpenAI's wire at ``{proxy root}/chat/completions`` (the proxy also serves
``/v1/chat/completions``; both match). A scripted ``reported_cost`` goes into the
``x-litellm-response-cost`` header; error ``code`` is the status as a string.
"""

from __future__ import annotations

from typing import Any

from .openai import OpenAIDialect, OpenAIFormat

__all__ = ["FORMAT"]


class LiteLLMFormat(OpenAIFormat):
    """OpenAI's format with LiteLLM's error codes."""

    def error_body(self, status: int, message: str, code: str | None) -> dict[str, Any]:
        body = super().error_body(status, message, code)
        body["error"]["code"] = code if code is not None else str(status)
        return body


FORMAT = LiteLLMFormat(
    OpenAIDialect(name="litellm", base_suffix="", cost_header="x-litellm-response-cost")
)

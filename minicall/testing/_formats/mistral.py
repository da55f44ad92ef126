"""Mistral Chat Completions, server side (PROVIDERS.md section 6).

``/v1/chat/completions`` under the host root (the mistralai SDK's ``server_url``).
Streams carry the usage on the finish chunk unasked and send each tool call whole in
one delta. Errors: 401 ``{"message": "Unauthorized", "request_id"}``, 422
``{"detail": [{"loc", "msg", "type"}]}``, others ``{"object": "error", "message",
"type", "param", "code"}``; mid-stream the last shape.
"""

from __future__ import annotations

from typing import Any

from .openai import OpenAIDialect, OpenAIFormat

__all__ = ["FORMAT"]


class MistralFormat(OpenAIFormat):
    """OpenAI's format with Mistral's error bodies."""

    def error_body(self, status: int, message: str, code: str | None) -> dict[str, Any]:
        if status == 401:
            return {"message": message, "request_id": "fakeserver"}
        if status == 422:
            return {"detail": [{"loc": ["body"], "msg": message, "type": "value_error"}]}
        inner = super().error_body(status, message, code)["error"]
        return {"object": "error", **inner}


FORMAT = MistralFormat(
    OpenAIDialect(
        name="mistral",
        base_suffix="",
        path_suffix="/v1/chat/completions",
        id_prefix="",
        stream_usage="final_chunk",
        tool_arg_pieces=1,
    )
)

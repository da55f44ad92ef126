"""Azure, server side: AI Model Inference and Azure OpenAI (PROVIDERS.md 1a, 9).

Every URL shape ends in ``/chat/completions`` (``{endpoint}/chat/completions`` and
``{endpoint}/openai/deployments/{d}/chat/completions``, each with ``?api-version``, and
the v1 API's ``{endpoint}/openai/v1/chat/completions``), so one format serves all. A stream that did not ask for ``stream_options`` (AI
Model Inference has none) gets its usage on the finish chunk. Replies add Azure's ``prompt_filter_results``; errors are
``{"error": {"code", "message", "status"}}`` with ``apim-request-id`` headers.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .._reply import ErrorReply, RecordedRequest, Reply
from . import Rendered, RenderedStream
from .openai import OpenAIDialect, OpenAIFormat

__all__ = ["FORMAT"]

_CODES = {
    400: "BadRequest",
    401: "401",
    403: "403",
    404: "DeploymentNotFound",
    422: "BadRequest",
    429: "429",
}


class AzureFormat(OpenAIFormat):
    """OpenAI's format with Azure's error bodies and headers."""

    def error_body(self, status: int, message: str, code: str | None) -> dict[str, Any]:
        chosen = code if code is not None else _CODES.get(status, "InternalServerError")
        return {"error": {"code": chosen, "message": message, "status": status}}

    def render_stream(self, reply: Reply, request: RecordedRequest) -> RenderedStream:
        if self._wants_usage_chunk(request):
            return super().render_stream(reply, request)
        unasked = AzureFormat(replace(self.dialect, stream_usage="final_chunk"))
        return OpenAIFormat.render_stream(unasked, reply, request)

    def render_error(self, error: ErrorReply, request: RecordedRequest) -> Rendered:
        rendered = super().render_error(error, request)
        headers = {"apim-request-id": f"apim_{request.index}", **rendered.headers}
        return Rendered(rendered.status, headers, rendered.body)


FORMAT = AzureFormat(
    OpenAIDialect(
        name="azure",
        base_suffix="",
        extra_response={
            "prompt_filter_results": [
                {
                    "prompt_index": 0,
                    "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}},
                }
            ]
        },
    )
)

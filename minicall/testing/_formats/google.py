"""Google Gemini ``generateContent``, server side (PROVIDERS.md sections 3 and 3a).

Endpoints ``POST /{version}/models/{model}:generateContent`` (Gemini API) and
``/{version}/projects/{p}/locations/{l}/publishers/{pub}/models/{model}:...`` (Vertex
AI), and their ``:streamGenerateContent``. A whole reply is one
``GenerateContentResponse``: ``candidates[0].content`` with role ``model`` and its
parts (``text`` and whole ``functionCall`` objects, which carry an ``id`` only when the
script gives one), ``finishReason``, ``usageMetadata``, ``modelVersion`` and
``responseId``. With ``?alt=sse`` a stream is SSE frames separated by ``\\r\\n\\r\\n``
whose data is a whole response each: one per text piece, one per function call, the
last carrying ``finishReason`` and the final usage; there is no end sentinel. Without
``alt=sse`` the same objects arrive as one JSON array. Errors are
``{"error": {"code", "message", "status"}}``, mid-stream too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .._reply import ErrorReply, RecordedRequest, Reply
from . import Rendered, RenderedStream, json_array, json_bytes, json_object

__all__ = ["FORMAT", "GoogleFormat"]

_ROUTE = re.compile(
    r"/v[0-9a-z]+/(?:projects/[^/]+/locations/[^/]+/)?"
    r"(?:publishers/[^/]+/)?(?P<model>(?:models|tunedModels)/[^/:]+)"
    r":(?P<method>generateContent|streamGenerateContent)"
)

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"}

# HTTP status -> google.rpc status name; other 5xx are INTERNAL.
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    422: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _frame(value: Any) -> bytes:
    return b"data: " + json_bytes(value) + b"\r\n\r\n"


class GoogleFormat:
    """The Gemini wire, as the Gemini API and Vertex AI both speak it."""

    name = "google"
    base_suffix = ""
    client_kwargs: Mapping[str, Any] = {"api_key": "test-key"}

    # -- reading the request --------------------------------------------------------

    def matches(self, request: RecordedRequest) -> bool:
        return request.method == "POST" and _ROUTE.fullmatch(request.route) is not None

    def is_stream(self, request: RecordedRequest) -> bool:
        return request.route.endswith(":streamGenerateContent")

    def last_user_text(self, request: RecordedRequest) -> str:
        for value in reversed(json_array(json_object(request.json).get("contents"))):
            content = json_object(value)
            if isinstance(value, dict) and content.get("role", "user") == "user":
                texts = [json_object(p).get("text") for p in json_array(content.get("parts"))]
                return " ".join(t for t in texts if isinstance(t, str))
        return ""

    # -- replies ----------------------------------------------------------------------

    def render(self, reply: Reply, request: RecordedRequest) -> Rendered:
        parts: list[dict[str, Any]] = [{"text": reply.text}] if reply.text else []
        parts += [_call(call.name, call.args, call.id) for call in reply.tool_calls]
        body = self._response(reply, request, parts or [{"text": ""}], final=True)
        return Rendered(200, self._headers(reply, "application/json"), json_bytes(body))

    def render_stream(self, reply: Reply, request: RecordedRequest) -> RenderedStream:
        pieces = [[{"text": piece}] for piece in reply.text_pieces()]
        pieces += [[_call(call.name, call.args, call.id)] for call in reply.tool_calls]
        pieces = pieces or [[{"text": ""}]]
        chunks = [
            self._response(reply, request, parts, final=i == len(pieces) - 1)
            for i, parts in enumerate(pieces)
        ]
        if request.query.get("alt") == "sse":
            events = [_frame(c) for c in chunks]
            return RenderedStream(200, self._headers(reply, "text/event-stream"), events)
        events = [(b"[" if i == 0 else b",\r\n") + json_bytes(c) for i, c in enumerate(chunks)]
        events[-1] += b"]"
        return RenderedStream(200, self._headers(reply, "application/json"), events)

    def _response(
        self, reply: Reply, request: RecordedRequest, parts: list[dict[str, Any]], *, final: bool
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        counts = reply.token_counts(self.last_user_text(request))
        usage: dict[str, Any] = {"promptTokenCount": counts.input, "totalTokenCount": counts.input}
        if final:
            candidate["finishReason"] = _FINISH.get(reply.resolved_finish_reason(), "OTHER")
            usage["candidatesTokenCount"] = counts.output
            usage["totalTokenCount"] = counts.input + counts.output
            usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": counts.input}]
            if counts.cached:
                usage["cachedContentTokenCount"] = counts.cached
        match = _ROUTE.fullmatch(request.route)
        requested = match.group("model").split("/", 1)[1] if match else "unknown"
        return {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": reply.model if reply.model is not None else requested,
            "responseId": f"fake-response-{request.index:06d}",
        }

    def _headers(self, reply: Reply, content_type: str) -> dict[str, str]:
        return {"content-type": content_type, **reply.headers}

    # -- errors -----------------------------------------------------------------------

    def error_body(self, status: int, message: str, code: str | None = None) -> dict[str, Any]:
        """The ``{"error": {...}}`` object for a status (``code`` overrides its name)."""
        name = code or _STATUS.get(status) or ("INTERNAL" if status >= 500 else "UNKNOWN")
        return {"error": {"code": status, "message": message, "status": name}}

    def render_error(self, error: ErrorReply, request: RecordedRequest) -> Rendered:
        headers = {"content-type": "application/json; charset=UTF-8", **error.headers}
        body = json_bytes(self.error_body(error.status, error.message, error.code))
        return Rendered(error.status, headers, body)

    def render_stream_error(self, message: str, request: RecordedRequest) -> bytes:
        return _frame(self.error_body(500, message))


def _call(name: str, args: Mapping[str, Any], call_id: str | None) -> dict[str, Any]:
    call: dict[str, Any] = {"name": name, "args": dict(args)}
    if call_id is not None:
        call["id"] = call_id
    return {"functionCall": call}


FORMAT = GoogleFormat()

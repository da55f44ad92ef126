"""Cohere v2 Chat, server side (PROVIDERS.md section 7).

Endpoint ``POST {base}/v2/chat`` with the base the host root. The request body says
``"stream": true|false``. A whole reply is ``{id, finish_reason, message: {role,
content: [{type: "text", text}], tool_plan?, tool_calls?}, usage: {billed_units,
tokens, cached_tokens}}`` with no model field. A stream is SSE events named by
``event:`` whose ``data`` carries the same name as ``type``: ``message-start``,
``content-start`` / ``content-delta`` x n / ``content-end``, ``tool-plan-delta``,
per tool call ``tool-call-start`` (id, name, empty arguments), ``tool-call-delta``
fragments and ``tool-call-end``, and ``message-end`` with the finish reason and
usage. Errors are ``{"id", "message"}``; an error mid-stream is a ``message-end``
whose delta has ``finish_reason: "ERROR"`` and ``error``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from .._reply import ErrorReply, RecordedRequest, Reply
from . import Rendered, RenderedStream, json_bytes, split_fragments, sse_event
from .openai import FORMAT as _OPENAI

__all__ = ["FORMAT", "CohereFormat"]

# Neutral finish reason -> Cohere's (Cohere has no content-filter reason).
_FINISH = {
    "stop": "COMPLETE",
    "length": "MAX_TOKENS",
    "tool_calls": "TOOL_CALL",
    "content_filter": "ERROR",
}
_TOOL_ARG_PIECES = 3


class CohereFormat:
    """v2 Chat as Cohere speaks it."""

    name = "cohere"
    base_suffix = ""
    client_kwargs: Mapping[str, Any] = {"api_key": "test-key"}

    # -- reading the request --------------------------------------------------------

    def matches(self, request: RecordedRequest) -> bool:
        return request.method == "POST" and request.route == "/v2/chat"

    # The request side reads like Chat Completions: ``stream`` and ``messages``.
    def is_stream(self, request: RecordedRequest) -> bool:
        return _OPENAI.is_stream(request)

    def last_user_text(self, request: RecordedRequest) -> str:
        return _OPENAI.last_user_text(request)

    # -- whole replies ----------------------------------------------------------------

    def render(self, reply: Reply, request: RecordedRequest) -> Rendered:
        message: dict[str, Any] = {"role": "assistant"}
        if reply.tool_calls:
            message["tool_plan"] = _plan(reply)
            message["tool_calls"] = [
                self._tool_call(reply, request, i, call.arguments_json())
                for i, call in enumerate(reply.tool_calls)
            ]
        if reply.text or not reply.tool_calls:
            message["content"] = [{"type": "text", "text": reply.text}]
        body = {
            "id": _response_id(request),
            "message": message,
            "finish_reason": _finish(reply),
            "usage": self._usage(reply, request),
        }
        return Rendered(200, self._headers(reply, request, "application/json"), json_bytes(body))

    # -- streams ----------------------------------------------------------------------

    def render_stream(self, reply: Reply, request: RecordedRequest) -> RenderedStream:
        rid = _response_id(request)
        events: list[dict[str, Any]] = [
            {
                "type": "message-start",
                "id": rid,
                "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}},
            }
        ]
        pieces = reply.text_pieces()
        if pieces:
            events.append(
                {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}}
            )
            events += [
                {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": piece}}}}
                for piece in pieces
            ]
            events.append({"type": "content-end", "index": 0})
        if reply.tool_calls:
            events += [
                {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": piece}}}
                for piece in split_fragments(_plan(reply), 2)
            ]
        for i, call in enumerate(reply.tool_calls):
            start = self._tool_call(reply, request, i, "")
            events.append({"type": "tool-call-start", "index": i, "delta": {"message": {"tool_calls": start}}})
            events += [
                {
                    "type": "tool-call-delta",
                    "index": i,
                    "delta": {"message": {"tool_calls": {"function": {"arguments": piece}}}},
                }
                for piece in split_fragments(call.arguments_json(), _TOOL_ARG_PIECES)
            ]
            events.append({"type": "tool-call-end", "index": i})
        events.append(
            {
                "type": "message-end",
                "delta": {"finish_reason": _finish(reply), "usage": self._usage(reply, request)},
            }
        )
        framed = [sse_event(e, e["type"]) for e in events]
        return RenderedStream(200, self._headers(reply, request, "text/event-stream"), framed)

    # -- errors -----------------------------------------------------------------------

    def render_error(self, error: ErrorReply, request: RecordedRequest) -> Rendered:
        headers = {
            "content-type": "application/json",
            "x-request-id": f"req_{request.index}",
            **error.headers,
        }
        body = {"id": f"err_{request.index}", "message": error.message}
        return Rendered(error.status, headers, json_bytes(body))

    def render_stream_error(self, message: str, request: RecordedRequest) -> bytes:
        event = {"type": "message-end", "delta": {"finish_reason": "ERROR", "error": message}}
        return sse_event(event, "message-end")

    # -- shared pieces ----------------------------------------------------------------

    def _usage(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        counts = reply.token_counts(self.last_user_text(request))
        return {
            "billed_units": {"input_tokens": counts.input, "output_tokens": counts.output},
            "tokens": {"input_tokens": counts.input, "output_tokens": counts.output},
            "cached_tokens": counts.cached,
        }

    def _headers(self, reply: Reply, request: RecordedRequest, content_type: str) -> dict[str, str]:
        headers = {"content-type": content_type, "x-request-id": f"req_{request.index}"}
        headers.update(reply.headers)
        return headers

    def _tool_call(self, reply: Reply, request: RecordedRequest, position: int, arguments: str) -> dict[str, Any]:
        call = reply.tool_calls[position]
        call_id = call.id
        if call_id is None:
            digest = hashlib.sha256(f"{request.index}/{position}".encode()).hexdigest()
            call_id = f"{call.name}_{digest[:12]}"
        return {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": arguments}}


def _response_id(request: RecordedRequest) -> str:
    return f"fake-{request.index:06d}"


def _finish(reply: Reply) -> str:
    neutral = reply.resolved_finish_reason()
    return _FINISH.get(neutral, neutral)


def _plan(reply: Reply) -> str:
    names = ", ".join(call.name for call in reply.tool_calls)
    return f"I will call {names}."


FORMAT = CohereFormat()

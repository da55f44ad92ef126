"""Anthropic Messages API, server side (PROVIDERS.md section 2).

Endpoint ``POST {host}/v1/messages`` (the SDK's base URL is the host root). A whole
reply is one ``message`` object whose ``content`` is a list of blocks (scripted
``thinking`` with its ``signature`` and ``redacted_thinking`` first, then ``text`` with
``citations: null`` and ``tool_use`` with an object ``input``) and whose ``usage``
counts input tokens *without* the cache reads, which are reported apart. A stream is
SSE with an ``event:`` line naming each event's ``type``: ``message_start`` (empty
content, input usage), ``ping``, per block ``content_block_start`` /
``content_block_delta`` (``text_delta``, ``input_json_delta`` or ``thinking_delta``
fragments, a thinking block's ``signature_delta`` last; a ``redacted_thinking`` block
comes whole in its start) / ``content_block_stop``, then ``message_delta`` (stop
reason, cumulative output tokens) and ``message_stop``. Errors are ``{"type": "error",
"error": {"type", "message"}, "request_id"}`` with a ``request-id`` header; mid-stream
an ``error`` event carries ``overloaded_error``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from .._reply import ErrorReply, RecordedRequest, Reply, ThinkingReply, split_text
from . import Rendered, RenderedStream, json_array, json_bytes, json_object, split_fragments, sse_event

__all__ = ["FORMAT", "AnthropicFormat"]

# Neutral finish reason -> stop_reason; anything else is sent as scripted.
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}

# HTTP status -> error.type, as the API reference lists them.
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_TOOL_ARG_PIECES = 3


class AnthropicFormat:
    """The Messages API as the FakeServer speaks it."""

    name = "anthropic"
    base_suffix = ""
    client_kwargs: Mapping[str, Any] = {"api_key": "test-key"}

    # -- reading the request --------------------------------------------------------

    def matches(self, request: RecordedRequest) -> bool:
        return request.method == "POST" and request.route.endswith("/v1/messages")

    def is_stream(self, request: RecordedRequest) -> bool:
        return json_object(request.json).get("stream") is True

    def last_user_text(self, request: RecordedRequest) -> str:
        for value in reversed(json_array(json_object(request.json).get("messages"))):
            message = json_object(value)
            if message.get("role") == "user":
                return _text_of(message.get("content"))
        return ""

    # -- whole replies ----------------------------------------------------------------

    def render(self, reply: Reply, request: RecordedRequest) -> Rendered:
        body = self._message(reply, request)
        body["content"] = self._blocks(reply, request)
        body["stop_reason"] = _stop_reason(reply)
        body["usage"] = self._usage(reply, request, output=True)
        return Rendered(200, self._headers(reply, request, "application/json"), json_bytes(body))

    def _blocks(self, reply: Reply, request: RecordedRequest) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = [_thinking_block(t) for t in reply.thinking]
        if reply.text or not reply.tool_calls:
            blocks.append({"type": "text", "text": reply.text, "citations": None})
        for i, call in enumerate(reply.tool_calls):
            blocks.append(
                {
                    "type": "tool_use",
                    "id": _tool_id(call.id, request, i),
                    "name": call.name,
                    "input": dict(call.args),
                }
            )
        return blocks

    # -- streams ----------------------------------------------------------------------

    def render_stream(self, reply: Reply, request: RecordedRequest) -> RenderedStream:
        start = self._message(reply, request)
        start["content"] = []
        start["stop_reason"] = None
        start["usage"] = {**self._usage(reply, request, output=False), "output_tokens": 1}
        events = [_event({"type": "message_start", "message": start}), _event({"type": "ping"})]
        index = 0
        for thinking in reply.thinking:
            whole = _thinking_block(thinking)
            if whole["type"] == "thinking":
                start = {"type": "thinking", "thinking": "", "signature": ""}
                events.append(_block_start(index, start))
                events += [
                    _block_delta(index, {"type": "thinking_delta", "thinking": piece})
                    for piece in split_text(thinking.thinking, reply.stream_chunks)
                ]
                signature = {"type": "signature_delta", "signature": whole["signature"]}
                events.append(_block_delta(index, signature))
            else:
                events.append(_block_start(index, whole))
            events.append(_event({"type": "content_block_stop", "index": index}))
            index += 1
        if reply.text or not reply.tool_calls:
            events.append(_block_start(index, {"type": "text", "text": ""}))
            events += [
                _block_delta(index, {"type": "text_delta", "text": piece})
                for piece in reply.text_pieces()
            ]
            events.append(_event({"type": "content_block_stop", "index": index}))
            index += 1
        for i, call in enumerate(reply.tool_calls):
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": _tool_id(call.id, request, i),
                "name": call.name,
                "input": {},
            }
            events.append(_block_start(index, block))
            events += [
                _block_delta(index, {"type": "input_json_delta", "partial_json": piece})
                for piece in [""] + split_fragments(call.arguments_json(), _TOOL_ARG_PIECES)
            ]
            events.append(_event({"type": "content_block_stop", "index": index}))
            index += 1
        counts = reply.token_counts(self.last_user_text(request))
        events.append(
            _event(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
                    "usage": {"output_tokens": counts.output},
                }
            )
        )
        events.append(_event({"type": "message_stop"}))
        return RenderedStream(200, self._headers(reply, request, "text/event-stream"), events)

    # -- errors -----------------------------------------------------------------------

    def error_body(
        self, status: int, message: str, kind: str | None, request: RecordedRequest
    ) -> dict[str, Any]:
        """The ``{"type": "error", ...}`` object for a status."""
        default = "api_error" if status >= 500 else "invalid_request_error"
        error_type = kind or _ERROR_TYPES.get(status, default)
        return {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": _request_id(request),
        }

    def render_error(self, error: ErrorReply, request: RecordedRequest) -> Rendered:
        headers = {
            "content-type": "application/json",
            "request-id": _request_id(request),
            **error.headers,
        }
        body = self.error_body(error.status, error.message, error.code, request)
        return Rendered(error.status, headers, json_bytes(body))

    def render_stream_error(self, message: str, request: RecordedRequest) -> bytes:
        body = {"type": "error", "error": {"type": "overloaded_error", "message": message}}
        return _event(body)

    # -- shared pieces ----------------------------------------------------------------

    def _message(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        requested = json_object(request.json).get("model")
        model = reply.model if reply.model is not None else requested
        return {
            "id": f"msg_fake{request.index:06d}",
            "type": "message",
            "role": "assistant",
            "model": model if isinstance(model, str) else "unknown",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {},
        }

    def _usage(self, reply: Reply, request: RecordedRequest, *, output: bool) -> dict[str, Any]:
        counts = reply.token_counts(self.last_user_text(request))
        usage: dict[str, Any] = {
            # input_tokens excludes what was read from or written to the cache, which come apart.
            "input_tokens": max(counts.input - counts.cached - counts.written, 0),
            "cache_creation_input_tokens": counts.written,
            "cache_read_input_tokens": counts.cached,
            "service_tier": "standard",
        }
        if output:
            usage["output_tokens"] = counts.output
        return usage

    def _headers(self, reply: Reply, request: RecordedRequest, content_type: str) -> dict[str, str]:
        headers = {"content-type": content_type, "request-id": _request_id(request)}
        headers.update(reply.headers)
        return headers


def _event(data: dict[str, Any]) -> bytes:
    return sse_event(data, event=str(data["type"]))


def _block_start(index: int, block: dict[str, Any]) -> bytes:
    return _event({"type": "content_block_start", "index": index, "content_block": block})


def _block_delta(index: int, delta: dict[str, Any]) -> bytes:
    return _event({"type": "content_block_delta", "index": index, "delta": delta})


def _thinking_block(thinking: ThinkingReply) -> dict[str, Any]:
    """The whole block; an invented signature depends on the text only, so a reply
    scripted twice (whole, then streamed) carries the same one."""
    if thinking.redacted is not None:
        return {"type": "redacted_thinking", "data": thinking.redacted}
    digest = hashlib.sha256(thinking.thinking.encode()).hexdigest()
    signature = thinking.signature or f"Eq{digest[:40]}=="
    return {"type": "thinking", "thinking": thinking.thinking, "signature": signature}


def _stop_reason(reply: Reply) -> str:
    neutral = reply.resolved_finish_reason()
    return _STOP_REASONS.get(neutral, neutral)


def _request_id(request: RecordedRequest) -> str:
    return f"req_fake{request.index:06d}"


def _tool_id(scripted: str | None, request: RecordedRequest, position: int) -> str:
    if scripted is not None:
        return scripted
    digest = hashlib.sha256(f"{request.index}/{position}".encode()).hexdigest()
    return f"toolu_{digest[:24]}"


def _text_of(content: object) -> str:
    """The text of a message ``content``: a string, or its text and tool-result blocks."""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for value in json_array(content):
        block = json_object(value)
        text = block.get("text")
        if block.get("type") == "text" and isinstance(text, str):
            texts.append(text)
        elif block.get("type") == "tool_result":
            texts.append(_text_of(block.get("content")))
    return " ".join(t for t in texts if t)


FORMAT = AnthropicFormat()

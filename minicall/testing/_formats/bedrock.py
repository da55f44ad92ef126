"""Amazon Bedrock Converse / ConverseStream, server side (PROVIDERS.md section 10).

Endpoints ``POST /model/{modelId}/converse`` and ``.../converse-stream`` (the model id
percent-encoded). A whole reply is ``{output: {message}, stopReason, usage, metrics}``
with no id or model; the request id travels in ``x-amzn-RequestId``. A stream is
``application/vnd.amazon.eventstream`` frames: ``messageStart``, per text block
``contentBlockDelta`` text pieces and ``contentBlockStop``, per tool call
``contentBlockStart`` (id and name), ``contentBlockDelta`` input fragments and
``contentBlockStop``, then ``messageStop`` and ``metadata`` with the usage. Every
payload carries a ``p`` padding field, as the service sends. Errors are
``{"message": ...}`` with the type in ``x-amzn-ErrorType``; a mid-stream error is an
``exception`` frame (``internalServerException``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from ..._framing.eventstream import encode_message
from .._reply import ErrorReply, RecordedRequest, Reply, TokenCounts
from . import Rendered, RenderedStream, json_array, json_bytes, json_object, split_fragments

__all__ = ["FORMAT", "BedrockFormat"]

_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
}
_ERRORS = {
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    422: "ValidationException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_PAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_JSON = "application/json"
_STREAM = "application/vnd.amazon.eventstream"


def _padded(payload: dict[str, Any], n: int) -> bytes:
    # The service pads payloads to a random length; a fixed pattern keeps the fake pure.
    return json_bytes({**payload, "p": _PAD[: 1 + (n * 7) % len(_PAD)]})


def _event(name: str, payload: dict[str, Any], n: int) -> bytes:
    headers = {":event-type": name, ":content-type": _JSON, ":message-type": "event"}
    return encode_message(headers, _padded(payload, n))


class BedrockFormat:
    """Converse as Bedrock Runtime speaks it."""

    name = "bedrock"
    base_suffix = ""
    client_kwargs: Mapping[str, Any] = {
        "region": "us-east-1",
        "access_key_id": "AKIDFAKESERVER",
        "secret_access_key": "fake-secret-key",
    }

    # -- reading the request --------------------------------------------------------

    def matches(self, request: RecordedRequest) -> bool:
        parts = request.route.split("/")
        return (
            request.method == "POST"
            and len(parts) == 4
            and parts[1] == "model"
            and bool(parts[2])
            and parts[3] in ("converse", "converse-stream")
        )

    def is_stream(self, request: RecordedRequest) -> bool:
        return request.route.endswith("/converse-stream")

    def model_id(self, request: RecordedRequest) -> str:
        """The model id the request named, decoded."""
        parts = request.route.split("/")
        return unquote(parts[2]) if len(parts) > 2 else ""

    def last_user_text(self, request: RecordedRequest) -> str:
        for value in reversed(json_array(json_object(request.json).get("messages"))):
            message = json_object(value)
            if message.get("role") == "user":
                texts = [json_object(b).get("text") for b in json_array(message.get("content"))]
                return " ".join(t for t in texts if isinstance(t, str))
        return ""

    # -- whole replies ----------------------------------------------------------------

    def render(self, reply: Reply, request: RecordedRequest) -> Rendered:
        content: list[dict[str, Any]] = [{"text": reply.text}] if reply.text else []
        content += [
            {
                "toolUse": {
                    "toolUseId": self._tool_id(call.id, request, i),
                    "name": call.name,
                    "input": dict(call.args),
                }
            }
            for i, call in enumerate(reply.tool_calls)
        ]
        body = {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": _stop_reason(reply),
            "usage": self._usage(reply, request),
            "metrics": {"latencyMs": 42},
        }
        return Rendered(200, self._headers(reply, request, _JSON), json_bytes(body))

    # -- streams ----------------------------------------------------------------------

    def render_stream(self, reply: Reply, request: RecordedRequest) -> RenderedStream:
        events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
        index = 0
        pieces = reply.text_pieces()
        if pieces:
            events += [
                ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
                for piece in pieces
            ]
            events.append(("contentBlockStop", {"contentBlockIndex": 0}))
            index = 1
        for i, call in enumerate(reply.tool_calls):
            start = {
                "toolUse": {"toolUseId": self._tool_id(call.id, request, i), "name": call.name}
            }
            events.append(("contentBlockStart", {"contentBlockIndex": index, "start": start}))
            events += [
                (
                    "contentBlockDelta",
                    {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}},
                )
                for piece in split_fragments(call.arguments_json(), 3)
            ]
            events.append(("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        events.append(("messageStop", {"stopReason": _stop_reason(reply)}))
        events.append(
            ("metadata", {"usage": self._usage(reply, request), "metrics": {"latencyMs": 42}})
        )
        frames = [_event(name, payload, n) for n, (name, payload) in enumerate(events)]
        return RenderedStream(200, self._headers(reply, request, _STREAM), frames)

    # -- errors -----------------------------------------------------------------------

    def render_error(self, error: ErrorReply, request: RecordedRequest) -> Rendered:
        kind = error.code or _ERRORS.get(
            error.status,
            "InternalServerException" if error.status >= 500 else "ValidationException",
        )
        headers = {
            "content-type": _JSON,
            "x-amzn-requestid": self._request_id(request),
            "x-amzn-errortype": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/",
            **error.headers,
        }
        return Rendered(error.status, headers, json_bytes({"message": error.message}))

    def render_stream_error(self, message: str, request: RecordedRequest) -> bytes:
        headers = {
            ":exception-type": "internalServerException",
            ":content-type": _JSON,
            ":message-type": "exception",
        }
        return encode_message(headers, json_bytes({"message": message}))

    # -- shared pieces ----------------------------------------------------------------

    def _usage(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        counts: TokenCounts = reply.token_counts(self.last_user_text(request))
        # inputTokens excludes cache reads; the neutral count includes them.
        fresh = max(counts.input - counts.cached - counts.written, 0)
        return {
            "inputTokens": fresh,
            "outputTokens": counts.output,
            "totalTokens": fresh + counts.cached + counts.written + counts.output,
            "cacheReadInputTokens": counts.cached,
            "cacheWriteInputTokens": counts.written,
        }

    def _headers(self, reply: Reply, request: RecordedRequest, content_type: str) -> dict[str, str]:
        headers = {"content-type": content_type, "x-amzn-requestid": self._request_id(request)}
        headers.update(reply.headers)
        return headers

    def _request_id(self, request: RecordedRequest) -> str:
        digest = hashlib.sha256(f"req/{request.index}".encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"

    def _tool_id(self, scripted: str | None, request: RecordedRequest, position: int) -> str:
        if scripted is not None:
            return scripted
        digest = hashlib.sha256(f"{request.index}/{position}".encode()).hexdigest()
        return f"tooluse_{digest[:22]}"


def _stop_reason(reply: Reply) -> str:
    reason = reply.resolved_finish_reason()
    return _STOP.get(reason, reason)


FORMAT = BedrockFormat()

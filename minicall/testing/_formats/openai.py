"""OpenAI Chat Completions, server side (PROVIDERS.md section 1).

Endpoint ``POST {base}/chat/completions`` with the base ending in ``/v1``. A whole
reply is one ``chat.completion`` object; a stream is SSE ``data: {chunk}`` frames of
``chat.completion.chunk`` objects ending with ``data: [DONE]``: a first chunk with the
assistant role, content deltas, tool-call deltas per index (id, type and name first,
then argument fragments), audio deltas, a chunk with the finish reason, and, when the
request set ``stream_options.include_usage``, a last chunk with ``choices: []`` and the
usage (every earlier chunk then has ``"usage": null``). Errors are
``{"error": {"message", "type", "param", "code"}}``, mid-stream too.

The OpenAI-compatible family (xAI, Groq, LiteLLM, Azure, Mistral) reuses
:class:`OpenAIFormat` with its own :class:`OpenAIDialect`; a provider whose
differences go beyond the dialect's data subclasses the format and overrides a method.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._reply import ErrorReply, RecordedRequest, Reply, TokenCounts
from . import Rendered, RenderedStream, json_array, json_bytes, json_object, split_fragments, sse_event

__all__ = ["FORMAT", "OpenAIDialect", "OpenAIFormat"]

# HTTP status -> (error.type, default error.code); 5xx falls back to server_error.
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("not_found_error", None),
    409: ("conflict_error", None),
    422: ("invalid_request_error", None),
    429: ("rate_limit_exceeded", "rate_limit_exceeded"),
}
_SERVER_ERROR = ("server_error", None)


@dataclass(frozen=True)
class OpenAIDialect:
    """The data that tells one OpenAI-compatible provider's wire apart.

    - ``path_suffix``: the endpoint, matched at the end of the path (so Groq's
      ``/openai/v1/chat/completions`` and Azure deployment paths match too).
    - ``extra_response``: extra top-level fields of every response and chunk.
    - ``usage_extras``: extra keys inside ``usage``.
    - ``cost_usage_key`` / ``cost_scale``: where ``Reply.reported_cost`` goes in the
      usage (xAI: ``cost_in_usd_ticks`` at 1e10 per USD, as an integer).
    - ``cost_header``: a response header carrying the cost (LiteLLM).
    - ``stream_usage``: ``"opt_in"`` (OpenAI: a last chunk when the request asks),
      ``"final_chunk"`` (Mistral: always, on the finish chunk) or ``"x_groq"`` (Groq:
      always, under ``x_groq.usage`` of the finish chunk).
    - ``tool_arg_pieces``: argument fragments per streamed tool call (1: whole).
    """

    name: str = "openai"
    base_suffix: str = "/v1"
    path_suffix: str = "/chat/completions"
    client_kwargs: Mapping[str, Any] = field(default_factory=lambda: {"api_key": "test-key"})
    id_prefix: str = "chatcmpl-"
    tool_id_prefix: str = "call_"
    extra_response: Mapping[str, Any] = field(default_factory=dict[str, Any])
    usage_extras: Mapping[str, Any] = field(default_factory=dict[str, Any])
    cost_usage_key: str | None = None
    cost_scale: float = 1.0
    cost_header: str | None = None
    stream_usage: str = "opt_in"
    tool_arg_pieces: int = 3


class OpenAIFormat:
    """Chat Completions as one dialect speaks it; see :data:`FORMAT` for OpenAI's."""

    def __init__(self, dialect: OpenAIDialect) -> None:
        self.dialect = dialect

    @property
    def name(self) -> str:
        return self.dialect.name

    @property
    def base_suffix(self) -> str:
        return self.dialect.base_suffix

    @property
    def client_kwargs(self) -> Mapping[str, Any]:
        return self.dialect.client_kwargs

    # -- reading the request --------------------------------------------------------

    def matches(self, request: RecordedRequest) -> bool:
        return request.method == "POST" and request.route.endswith(self.dialect.path_suffix)

    def is_stream(self, request: RecordedRequest) -> bool:
        return json_object(request.json).get("stream") is True

    def last_user_text(self, request: RecordedRequest) -> str:
        for value in reversed(json_array(json_object(request.json).get("messages"))):
            message = json_object(value)
            if message.get("role") == "user":
                return _text_of(message.get("content"))
        return ""

    def _wants_usage_chunk(self, request: RecordedRequest) -> bool:
        options = json_object(json_object(request.json).get("stream_options"))
        return options.get("include_usage") is True

    # -- whole replies ----------------------------------------------------------------

    def render(self, reply: Reply, request: RecordedRequest) -> Rendered:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": reply.text if reply.text or not (reply.tool_calls or reply.audio) else None,
            "refusal": None,
            "annotations": [],
        }
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": self._tool_id(call.id, request, i),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json()},
                }
                for i, call in enumerate(reply.tool_calls)
            ]
        if reply.audio is not None:
            message["audio"] = {
                "id": f"audio_{request.index}",
                "data": base64.b64encode(reply.audio).decode("ascii"),
                "expires_at": int(time.time()) + 3600,
                "transcript": reply.audio_transcript or "",
            }
        body = self._envelope(reply, request, "chat.completion")
        body["choices"] = [
            {
                "index": 0,
                "message": message,
                "finish_reason": reply.resolved_finish_reason(),
                "logprobs": None,
            }
        ]
        body["usage"] = self._usage(reply, request)
        return Rendered(200, self._headers(reply, request, "application/json"), json_bytes(body))

    # -- streams ----------------------------------------------------------------------

    def render_stream(self, reply: Reply, request: RecordedRequest) -> RenderedStream:
        usage_chunk = self.dialect.stream_usage == "opt_in" and self._wants_usage_chunk(request)
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": "", "refusal": None}]
        deltas += [{"content": piece} for piece in reply.text_pieces()]
        deltas += self._audio_deltas(reply, request)
        deltas += self._tool_deltas(reply, request)

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            out = self._envelope(reply, request, "chat.completion.chunk")
            out["choices"] = [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            ]
            if usage_chunk:
                out["usage"] = None
            return out

        chunks = [chunk(delta, None) for delta in deltas]
        final = chunk({}, reply.resolved_finish_reason())
        _STREAM_USAGE[self.dialect.stream_usage](final, self._usage(reply, request))
        chunks.append(final)
        if usage_chunk:
            last = self._envelope(reply, request, "chat.completion.chunk")
            last["choices"] = []
            last["usage"] = self._usage(reply, request)
            chunks.append(last)
        events = [sse_event(c) for c in chunks] + [sse_event("[DONE]")]
        return RenderedStream(200, self._headers(reply, request, "text/event-stream"), events)

    def _tool_deltas(self, reply: Reply, request: RecordedRequest) -> list[dict[str, Any]]:
        deltas: list[dict[str, Any]] = []
        for i, call in enumerate(reply.tool_calls):
            pieces = split_fragments(call.arguments_json(), self.dialect.tool_arg_pieces)
            first_args = pieces.pop(0) if self.dialect.tool_arg_pieces <= 1 else ""
            first = {
                "index": i,
                "id": self._tool_id(call.id, request, i),
                "type": "function",
                "function": {"name": call.name, "arguments": first_args},
            }
            deltas.append({"tool_calls": [first]})
            deltas += [
                {"tool_calls": [{"index": i, "function": {"arguments": piece}}]} for piece in pieces
            ]
        return deltas

    def _audio_deltas(self, reply: Reply, request: RecordedRequest) -> list[dict[str, Any]]:
        if reply.audio is None:
            return []
        # Base64 cut at multiples of 4 characters, so each piece decodes on its own and
        # the joined pieces decode too.
        encoded = base64.b64encode(reply.audio).decode("ascii")
        data = [encoded[i : i + 4 * 16] for i in range(0, len(encoded), 4 * 16)]
        transcript = split_fragments(reply.audio_transcript or "", 3) or [""]
        parts: list[dict[str, Any]] = [
            {"id": f"audio_{request.index}", "transcript": transcript[0]}
        ]
        parts += [{"transcript": piece} for piece in transcript[1:]]
        parts += [{"data": piece} for piece in data]
        parts.append({"expires_at": int(time.time()) + 3600})
        return [{"audio": part} for part in parts]

    # -- errors -----------------------------------------------------------------------

    def error_body(self, status: int, message: str, code: str | None) -> dict[str, Any]:
        """The ``{"error": {...}}`` object for a status."""
        kind, default_code = _ERROR_KINDS.get(status, _SERVER_ERROR)
        chosen = code if code is not None else default_code
        return {"error": {"message": message, "type": kind, "param": None, "code": chosen}}

    def render_error(self, error: ErrorReply, request: RecordedRequest) -> Rendered:
        headers = {
            "content-type": "application/json",
            "x-request-id": f"req_{request.index}",
            **error.headers,
        }
        return Rendered(
            error.status,
            headers,
            json_bytes(self.error_body(error.status, error.message, error.code)),
        )

    def render_stream_error(self, message: str, request: RecordedRequest) -> bytes:
        return sse_event(self.error_body(500, message, None))

    # -- shared pieces ----------------------------------------------------------------

    def _envelope(self, reply: Reply, request: RecordedRequest, kind: str) -> dict[str, Any]:
        requested = json_object(request.json).get("model")
        model = reply.model if reply.model is not None else requested
        return {
            "id": f"{self.dialect.id_prefix}fake{request.index:06d}",
            "object": kind,
            "created": int(time.time()),
            "model": model if isinstance(model, str) else "unknown",
            "system_fingerprint": "fp_fakeserver",
            "service_tier": "default",
            **self.dialect.extra_response,
        }

    def _usage(self, reply: Reply, request: RecordedRequest) -> dict[str, Any]:
        counts: TokenCounts = reply.token_counts(self.last_user_text(request))
        usage: dict[str, Any] = {
            "prompt_tokens": counts.input,
            "completion_tokens": counts.output,
            "total_tokens": counts.input + counts.output,
            "prompt_tokens_details": {"cached_tokens": counts.cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
            **self.dialect.usage_extras,
        }
        if self.dialect.cost_usage_key is not None and reply.reported_cost is not None:
            usage[self.dialect.cost_usage_key] = round(
                reply.reported_cost * self.dialect.cost_scale
            )
        return usage

    def _headers(self, reply: Reply, request: RecordedRequest, content_type: str) -> dict[str, str]:
        headers = {"content-type": content_type, "x-request-id": f"req_{request.index}"}
        if self.dialect.cost_header is not None and reply.reported_cost is not None:
            headers[self.dialect.cost_header] = repr(reply.reported_cost)
        headers.update(reply.headers)
        return headers

    def _tool_id(self, scripted: str | None, request: RecordedRequest, position: int) -> str:
        if scripted is not None:
            return scripted
        digest = hashlib.sha256(f"{request.index}/{position}".encode()).hexdigest()
        return f"{self.dialect.tool_id_prefix}{digest[:24]}"


def _text_of(content: object) -> str:
    """The text of a message ``content``: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    texts = [json_object(p).get("text") for p in json_array(content)]
    return " ".join(t for t in texts if isinstance(t, str))


def _usage_none(final: dict[str, Any], usage: dict[str, Any]) -> None:
    """OpenAI puts usage in a chunk of its own (when asked), not on the finish chunk."""


def _usage_on_chunk(final: dict[str, Any], usage: dict[str, Any]) -> None:
    final["usage"] = usage


def _usage_x_groq(final: dict[str, Any], usage: dict[str, Any]) -> None:
    final["x_groq"] = {**final.get("x_groq", {}), "usage": usage}


_STREAM_USAGE: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "opt_in": _usage_none,
    "final_chunk": _usage_on_chunk,
    "x_groq": _usage_x_groq,
}

FORMAT = OpenAIFormat(OpenAIDialect())

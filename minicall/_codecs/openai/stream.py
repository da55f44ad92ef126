"""OpenAI Chat Completions streams: ``chat.completion.chunk`` events in, neutral chunks out.

API reference: https://platform.openai.com/docs/api-reference/chat-streaming
(``POST {base}/chat/completions`` with ``"stream": true``). The reply is server-sent
events whose ``data`` is one chunk object each, ending with ``data: [DONE]``; usage
comes in a last chunk with ``choices: []`` when asked for (``stream_options``), or
where a :class:`~minicall._codecs.openai.dialects.Dialect` says its provider puts it.
An error may arrive as an event after the 200: ``{"error": {...}}``, a bare
``{"object": "error"}``, or a dialect's own field.

Nearly every chunk is a lone text delta; :func:`_plain_text_chunk` reads those
directly, and anything else takes the checked path in :func:`decode_chunk`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..._framing.sse import ServerSentEvent
from ..._model.spec import Chunk, ToolDelta
from ..wire import loads
from .._common import SSEChunks, error_text, status_of, stream_error

if TYPE_CHECKING:
    from .codec import OpenAICompatCodec

__all__ = ["OpenAIStream", "compat_error_text", "decode_chunk", "dig"]


def decode_chunk(codec: OpenAICompatCodec, data: Any, headers: Mapping[str, str] | None = None) -> Chunk:
    """One ``chat.completion.chunk`` object as a neutral :class:`Chunk` (fast path first)."""
    fast = _plain_text_chunk(data)
    if fast is not None:
        return fast
    r = codec._read
    raw = r.obj(data, "chunk")
    if ("error" in raw and raw.get("error")) or raw.get("object") == "error":
        # ``{"error": {...}}`` (OpenAI) or a bare ``{"object": "error", "message"}``
        # (Mistral, vLLM), whose ``code`` may be the HTTP status.
        message = compat_error_text(raw) or "error event in stream"
        raise stream_error(message, codec.provider, raw, status_of(raw.get("code")))
    for path in codec.dialect.chunk_error_paths:
        stopped = dig(raw, path)
        if isinstance(stopped, str) and stopped:
            raise stream_error(stopped, codec.provider, raw, None)
    content: list[str] = []
    deltas: list[ToolDelta] = []
    finish: list[str] = []
    audio = b""
    transcript = ""
    audio_id: str | None = None
    for i, choice_value in enumerate(r.opt_arr(raw.get("choices"), "chunk.choices")):
        at = f"chunk.choices[{i}]"
        choice = r.obj(choice_value, at)
        reason = r.opt_str(choice.get("finish_reason"), f"{at}.finish_reason")
        if reason is not None:
            finish.append(reason)
        delta = r.opt_obj(choice.get("delta"), f"{at}.delta") or {}
        if i:
            continue
        piece = delta.get("content")
        if isinstance(piece, list):
            content.extend(str(c.get("text", "")) for c in piece if isinstance(c, dict))
        else:
            content.append(r.opt_str(piece, f"{at}.delta.content") or "")
        for j, tc_value in enumerate(r.opt_arr(delta.get("tool_calls"), f"{at}.delta.tool_calls")):
            tat = f"{at}.delta.tool_calls[{j}]"
            tc = r.obj(tc_value, tat)
            if tc.get("type") not in (None, "function"):
                continue  # a ``custom`` tool's call: no tool class takes it; it stays in ``raw``
            fn = r.opt_obj(tc.get("function"), f"{tat}.function") or {}
            args = fn.get("arguments")
            deltas.append(
                ToolDelta(
                    index=r.opt_int(tc.get("index"), f"{tat}.index") or 0,
                    id=r.opt_str(tc.get("id"), f"{tat}.id"),
                    name=r.opt_str(fn.get("name"), f"{tat}.function.name"),
                    arguments=json.dumps(args) if isinstance(args, dict) else (r.opt_str(args, f"{tat}.function.arguments") or ""),
                )
            )
        if delta.get("audio") is not None:
            audio_id, audio, said = codec._audio(delta.get("audio"), f"{at}.delta.audio")
            transcript = said or ""
    return Chunk(
        content="".join(content),
        tool_deltas=tuple(deltas),
        finish_reasons=tuple(finish) if finish else None,
        usage=codec._usage(codec._chunk_usage(raw)),
        model=r.opt_str(raw.get("model"), "chunk.model"),
        id=r.opt_str(raw.get("id"), "chunk.id"),
        audio=audio,
        audio_transcript=transcript,
        audio_id=audio_id,
        reported_cost=codec._cost(raw, headers or {}),
        raw=raw,
    )


_raw_decode = json.JSONDecoder().raw_decode

_PLAIN_DELTA_KEYS = frozenset({"content", "role", "refusal"})
_PLAIN_CHUNK_KEYS = frozenset(
    {"id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier", "obfuscation"}
)


def _plain_text_chunk(raw: Any) -> Chunk | None:
    """The common case, a lone text delta, decoded without the general checks.

    Nearly every chunk of a stream is one choice whose delta holds only text; reading
    it directly halves the decoding cost. Anything else (tool calls, finish reasons,
    usage, errors, audio, unknown keys, a value of the wrong type) returns ``None`` and
    takes the checked path, so the two paths never disagree on what they accept.
    """
    if type(raw) is not dict:
        return None
    choices = raw.get("choices")
    if type(choices) is not list or len(choices) != 1:
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("finish_reason") is not None:
        return None
    delta = choice.get("delta")
    if type(delta) is not dict:
        return None
    content = delta.get("content")
    model = raw.get("model")
    id_ = raw.get("id")
    if (
        (content is not None and type(content) is not str)
        or (model is not None and type(model) is not str)
        or (id_ is not None and type(id_) is not str)
        or raw.get("usage") is not None
        or delta.get("refusal") is not None
        or not delta.keys() <= _PLAIN_DELTA_KEYS
        or not raw.keys() <= _PLAIN_CHUNK_KEYS
    ):
        return None
    # Positional, in Chunk's field order: keywords cost more on every event.
    return Chunk(content or "", (), None, None, model, id_, b"", "", None, None, raw, True)


class OpenAIStream(SSEChunks):
    """SSE bytes in, chunks out; stops at ``[DONE]``."""

    sentinel = "[DONE]"

    def __init__(self, codec: OpenAICompatCodec) -> None:
        super().__init__()
        self._codec = codec

    def _chunk(self, event: ServerSentEvent) -> Chunk:
        data = event.data
        try:
            raw, end = _raw_decode(data)  # the usual event: one JSON object, nothing else
        except (ValueError, RecursionError):
            end = -1
        if end != len(data):
            raw = loads(data, self._codec.provider, "chunk")  # parsed again, for its words
        # The plain-text fast path first, without the layers of the general decoder.
        return _plain_text_chunk(raw) or self._codec.decode_chunk(raw)

    def headers(self, headers: Mapping[str, str]) -> list[Chunk]:
        """What the response headers say: a gateway's reported cost (LiteLLM)."""
        cost = self._codec._cost({}, headers)
        return [Chunk(reported_cost=cost)] if cost is not None else []


def compat_error_text(data: Any) -> str | None:
    """``error.message`` and the spellings compatible providers use instead."""
    text = error_text(data, ("error", "message", "detail"))
    if text is not None or not isinstance(data, dict):
        return text
    for key in ("message", "detail"):
        value = data.get(key)
        if isinstance(value, list) and value:
            # FastAPI-style validation details (Mistral 422): the ``msg`` of each item.
            msgs = [item.get("msg") for item in value if isinstance(item, dict)]
            texts = [m for m in msgs if isinstance(m, str)]
            return "; ".join(texts) if texts else json.dumps(value)[:500]
    return None


def dig(value: Any, path: Sequence[str]) -> Any:
    """``value[path[0]][path[1]]...``, or ``None`` where the shape does not hold."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value

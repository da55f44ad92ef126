"""OpenAI Chat Completions streams: ``chat.completion.chunk`` events in, neutral chunks out.

API reference: https://platform.openai.com/docs/api-reference/chat-streaming
(``POST {base}/chat/completions`` with ``"stream": true``). The reply is server-sent
events whose ``data`` is one chunk object each, ending with ``data: [DONE]``; usage
comes in a last chunk with ``choices: []`` when asked for (``stream_options``), or
where a :class:`~minicall._codecs.openai.dialects.Dialect` says its provider puts it.
An error may arrive as an event after the 200: ``{"error": {...}}``, a bare
``{"object": "error"}``, or a dialect's own field.

"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

from ..._framing.sse import ServerSentEvent
from ..._model.spec import Chunk, ToolDelta
from ..._model.wire import Reader, loads
from .._common import SSEChunks, status_of, stream_error
from .dialects import Dialect
from .reading import chunk_usage, compat_error_text, dig, read_audio, read_usage, reported_cost

__all__ = ["OpenAIStream", "decode_chunk"]


def decode_chunk(dialect: Dialect, r: Reader, data: Any, headers: Mapping[str, str] | None = None) -> Chunk:
    """One ``chat.completion.chunk`` object as a neutral :class:`Chunk`, each value narrowed.

    Most of a stream is text deltas, read thousands of times a second: the paths the
    :class:`Reader` names in its errors are constants for the first choice, spelled
    out for any other only when needed, and a text value is tested inline.
    """
    raw = r.obj(data, "chunk")
    if ("error" in raw and raw.get("error")) or raw.get("object") == "error":
        # ``{"error": {...}}`` (OpenAI) or a bare ``{"object": "error", "message"}``
        # (Mistral, vLLM), whose ``code`` may be the HTTP status.
        message = compat_error_text(raw) or "error event in stream"
        raise stream_error(message, dialect.provider, raw, status_of(raw.get("code")))
    for path in dialect.chunk_error_paths:
        stopped = dig(raw, path)
        if isinstance(stopped, str) and stopped:
            raise stream_error(stopped, dialect.provider, raw, None)
    content = ""
    deltas: tuple[ToolDelta, ...] = ()
    finish: list[str] = []
    audio = b""
    transcript = ""
    audio_id: str | None = None
    for i, value in enumerate(r.opt_arr(raw.get("choices"), "chunk.choices")):
        at = "chunk.choices[0]" if not i else f"chunk.choices[{i}]"
        choice = r.obj(value, at)
        reason = choice.get("finish_reason")
        if reason is not None:
            finish.append(r.str(reason, at + ".finish_reason"))
        delta = r.opt_obj(choice.get("delta"), at + ".delta") or {}
        if i:
            continue  # the first choice is the answer; others only report finish reasons
        piece = delta.get("content")
        if isinstance(piece, str):
            content = piece
        elif isinstance(piece, list):  # Mistral may stream content chunks
            parts = cast("Sequence[Any]", piece)
            content = "".join(str(cast("dict[str, Any]", c).get("text", "")) for c in parts if isinstance(c, dict))
        else:
            content = r.opt_str(piece, "chunk.choices[0].delta.content") or ""
        if delta.get("tool_calls") is not None:
            deltas = _tool_deltas(r, delta["tool_calls"])
        if delta.get("audio") is not None:
            audio_id, audio, said = read_audio(r, delta.get("audio"), "chunk.choices[0].delta.audio")
            transcript = said or ""
    usage = chunk_usage(dialect, raw)
    model, id_ = raw.get("model"), raw.get("id")
    return Chunk(
        content=content,
        tool_deltas=deltas,
        finish_reasons=tuple(finish) if finish else None,
        usage=None if usage is None else read_usage(r, usage),
        model=model if isinstance(model, str) else r.opt_str(model, "chunk.model"),
        id=id_ if isinstance(id_, str) else r.opt_str(id_, "chunk.id"),
        audio=audio,
        audio_transcript=transcript,
        audio_id=audio_id,
        reported_cost=reported_cost(dialect, raw, headers or {}),
        raw=raw,
    )


def _tool_deltas(r: Reader, value: Any) -> tuple[ToolDelta, ...]:
    deltas: list[ToolDelta] = []
    for j, tc_value in enumerate(r.arr(value, "chunk.choices[0].delta.tool_calls")):
        tat = f"chunk.choices[0].delta.tool_calls[{j}]"
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
    return tuple(deltas)


class OpenAIStream(SSEChunks):
    """SSE bytes in, chunks out; stops at ``[DONE]``."""

    sentinel = "[DONE]"

    def __init__(self, dialect: Dialect) -> None:
        super().__init__()
        self._dialect = dialect
        self._read = Reader(dialect.provider)

    def _chunk(self, event: ServerSentEvent) -> Chunk:
        raw = loads(event.data, self._dialect.provider, "chunk")
        return decode_chunk(self._dialect, self._read, raw)

    def headers(self, headers: Mapping[str, str]) -> list[Chunk]:
        """What the response headers say: a gateway's reported cost (LiteLLM)."""
        cost = reported_cost(self._dialect, {}, headers)
        return [Chunk(reported_cost=cost)] if cost is not None else []

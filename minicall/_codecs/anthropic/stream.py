"""Anthropic Messages API streams: server-sent events in, neutral chunks out.

API reference: https://docs.anthropic.com/en/api/messages-streaming (``POST
{base}/v1/messages`` with ``"stream": true``). Events are named by type
(``message_start``, ``content_block_start``, ``content_block_delta``,
``content_block_stop``, ``message_delta``, ``message_stop``, ``ping``, ``error``) and
their ``data`` carries the same ``type``; there is no ``[DONE]``. Usage arrives in
pieces (``message_start`` then ``message_delta``), which :class:`TokenCounts` sums.

Each event's values are narrowed through :class:`~minicall._model.wire.Reader`.

A turn is an ordered list of content blocks, and with extended thinking the API wants
its ``thinking`` blocks (with their ``signature``) and ``redacted_thinking`` blocks sent
back unchanged. So, as the official SDK's ``accumulate_event`` does, the decoder keeps
each open block (``thinking_delta`` text appended, ``signature_delta`` replacing the
signature, ``input_json_delta`` pieces and ``citations_delta`` collected) and hands it
over, trimmed as a non-streamed reply's block is, on the chunk of its
``content_block_stop``. Text deltas are the exception: a text block's text is
assembled by :class:`~minicall._call.stream.StreamState` from the text it already keeps,
so a text delta needs no state here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, cast

from ..._framing.sse import ServerSentEvent
from ..._model.spec import Chunk, ToolDelta, Usage
from ..._model.wire import JSONObject, Reader, loads
from .._common import SSEChunks, error_text, reasons, stream_error
from .messages import echo_block

__all__ = ["ERROR_STATUS", "PROVIDER", "AnthropicStream", "TokenCounts", "anthropic_error_text"]

PROVIDER = "anthropic"

ERROR_STATUS: Mapping[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "conflict_error": 409,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""``error.type`` -> the HTTP status Anthropic sends it with (for in-stream errors)."""

_USAGE_KEYS = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("creation", "cache_creation_input_tokens"),
    ("read", "cache_read_input_tokens"),
)

# Blocks whose ``input`` arrives as ``input_json_delta`` pieces (the SDK's
# ``TRACKS_TOOL_INPUT``). Only ``tool_use`` is a call for the client to run.
_TRACKS_INPUT = frozenset({"tool_use", "server_tool_use"})


def anthropic_error_text(data: Any) -> str | None:
    """``error.message`` of an error object (or a proxy's top-level ``message``)."""
    return error_text(data, ("message",))


class TokenCounts:
    """Token counters as Anthropic reports them; streams update them piece by piece."""

    __slots__ = ("creation", "input", "output", "read", "seen")

    def __init__(self) -> None:
        self.input: int | None = 0
        self.output: int | None = 0
        self.creation: int | None = 0
        self.read: int | None = 0
        self.seen = False

    def update(self, r: Reader, value: Any, path: str) -> TokenCounts:
        """Take the counts present in the ``usage`` object ``value``; the rest stay."""
        usage = r.opt_obj(value, path)
        if usage is None:
            return self
        self.seen = True
        for attr, key in _USAGE_KEYS:
            value = usage.get(key)
            if value is not None:
                setattr(self, attr, r.tokens(value, path, key))
        return self

    def usage(self) -> Usage | None:
        """Neutral usage so far (cache writes and reads count as input), if any was seen."""
        if not self.seen:
            return None
        parts = (self.input, self.creation, self.read)
        total_in = None if None in parts else sum(p for p in parts if p is not None)
        total = None if total_in is None or self.output is None else total_in + self.output
        return Usage(total_in, self.output, self.read, total, self.creation)


class AnthropicStream(SSEChunks):
    """SSE bytes in, chunks out; one chunk per event except ``ping``."""

    def __init__(self) -> None:
        super().__init__()
        self._read = Reader(PROVIDER)
        self._counts = TokenCounts()
        self._tool_blocks: set[int] = set()
        self._open: dict[int, _OpenBlock] = {}
        self._handlers: Mapping[str, Callable[[JSONObject], Chunk | None]] = {
            "message_start": self._message_start,
            "content_block_start": self._block_start,
            "content_block_delta": self._block_delta,
            "content_block_stop": self._block_stop,
            "message_delta": self._message_delta,
            "message_stop": _raw_chunk,
            "ping": _no_chunk,
            "error": _raise_error,
        }

    def _chunk(self, event: ServerSentEvent) -> Chunk | None:
        if not event.data.strip():
            return None
        return self.decode_event(loads(event.data, PROVIDER, "event"), event.event)

    def decode_event(self, data: Any, event: str = "") -> Chunk | None:
        """One event's parsed ``data`` (``event`` is its SSE name) as a chunk, if any."""
        raw = self._read.obj(data, "event")
        kind = self._read.opt_str(raw.get("type"), "event.type") or event
        # Event types added to the API later are skipped, as the SDK does.
        return self._handlers.get(kind, _raw_chunk)(raw)

    def _message_start(self, data: JSONObject) -> Chunk:
        r = self._read
        message = r.obj(data.get("message"), "message_start.message")
        self._counts.update(r, message.get("usage"), "message_start.message.usage")
        return Chunk(
            usage=self._counts.usage(),
            model=r.opt_str(message.get("model"), "message_start.message.model"),
            id=r.opt_str(message.get("id"), "message_start.message.id"),
            raw=data,
        )

    def _index(self, data: JSONObject, at: str) -> int:
        return self._read.int(data.get("index"), f"{at}.index")

    def _block_start(self, data: JSONObject) -> Chunk:
        r = self._read
        at = "content_block_start"
        index = self._index(data, at)
        block = r.obj(data.get("content_block"), f"{at}.content_block")
        kind = r.str(block.get("type"), f"{at}.content_block.type")
        self._open[index] = _OpenBlock(kind, block)
        if kind == "tool_use":
            self._tool_blocks.add(index)
            start = r.opt_obj(block.get("input"), f"{at}.content_block.input")
            delta = ToolDelta(
                index,
                id=r.str(block.get("id"), f"{at}.content_block.id"),
                name=r.str(block.get("name"), f"{at}.content_block.name"),
                arguments=json.dumps(start) if start else "",
            )
            return Chunk(tool_deltas=(delta,), raw=data)
        if kind == "text":
            return Chunk(
                content=r.opt_str(block.get("text"), f"{at}.content_block.text") or "", raw=data
            )
        return Chunk(raw=data)

    def _block_delta(self, data: JSONObject) -> Chunk:
        r = self._read
        # Text deltas are most of a stream: paths written out, not formatted per event.
        index = r.int(data.get("index"), "content_block_delta.index")
        delta = r.obj(data.get("delta"), "content_block_delta.delta")
        kind = r.str(delta.get("type"), "content_block_delta.delta.type")
        if kind == "text_delta":
            return Chunk(content=r.str(delta.get("text"), "content_block_delta.delta.text"), raw=data)
        block = self._open.get(index)
        if kind == "input_json_delta":
            piece = r.str(delta.get("partial_json"), "content_block_delta.delta.partial_json")
            if block is not None:
                block.json.append(piece)
            if block is None or index in self._tool_blocks:  # no start seen: a tool call
                return Chunk(tool_deltas=(ToolDelta(index, arguments=piece),), raw=data)
        elif kind == "thinking_delta" and block is not None and block.kind == "thinking":
            piece = r.str(delta.get("thinking"), "content_block_delta.delta.thinking")
            block.fields["thinking"] = str(block.fields.get("thinking") or "") + piece
        elif kind == "signature_delta" and block is not None and block.kind == "thinking":
            block.fields["signature"] = r.str(delta.get("signature"), "content_block_delta.delta.signature")
        elif block is not None and block.kind == "text" and kind == "citations_delta":
            cited: list[Any] = block.fields.get("citations") or []
            block.fields["citations"] = [*cited, delta.get("citation")]
        return Chunk(raw=data)  # thinking, signature and citation deltas carry no text

    def _block_stop(self, data: JSONObject) -> Chunk:
        index = self._index(data, "content_block_stop")
        block = self._open.pop(index, None)
        finished = None if block is None else block.finished(self._read, index)
        if index in self._tool_blocks:
            return Chunk(tool_deltas=(ToolDelta(index, done=True),), raw=data, block=finished)
        return Chunk(raw=data, block=finished)

    def _message_delta(self, data: JSONObject) -> Chunk:
        r = self._read
        delta = r.opt_obj(data.get("delta"), "message_delta.delta") or {}
        reason = r.opt_str(delta.get("stop_reason"), "message_delta.delta.stop_reason")
        self._counts.update(r, data.get("usage"), "message_delta.usage")
        return Chunk(finish_reasons=reasons(reason), usage=self._counts.usage(), raw=data)


class _OpenBlock:
    """A content block between its ``content_block_start`` and ``content_block_stop``."""

    __slots__ = ("fields", "json", "kind")

    def __init__(self, kind: str, start: JSONObject) -> None:
        self.kind = kind
        self.fields: dict[str, Any] = dict(start)
        self.json: list[str] = []
        if kind in _TRACKS_INPUT and start.get("input"):
            self.json.append(json.dumps(start["input"]))

    def finished(self, r: Reader, index: int) -> JSONObject:
        """The block as a non-streamed reply's would be sent back (:func:`echo_block`)."""
        if self.kind in _TRACKS_INPUT:
            # Unparseable arguments (a call cut off by max_tokens) echo as ``{}``, as the
            # neutral tool call they also make does.
            self.fields["input"] = r.args_or_text("".join(self.json), f"content[{index}].input")[0]
        return echo_block(self.fields)


def _raw_chunk(data: JSONObject) -> Chunk:
    return Chunk(raw=data)


def _no_chunk(data: JSONObject) -> None:
    return None


def _raise_error(data: JSONObject) -> None:
    """An ``error`` event after a 200: the typed error its ``error.type`` stands for."""
    err = data.get("error")
    kind = cast("dict[str, Any]", err).get("type") if isinstance(err, dict) else None
    status = ERROR_STATUS.get(kind) if isinstance(kind, str) else None
    message = anthropic_error_text(data) or "error event in stream"
    raise stream_error(message, PROVIDER, data, status)

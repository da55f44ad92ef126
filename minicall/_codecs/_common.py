"""Mechanics several codecs share; the facts each provider differs by stay in its codec.

What lives here is wire-neutral: base64 both ways, the text of neutral parts, the
rename-table walk that turns call params into a provider's names, reading an error
body's words, the typed error for an in-stream error event, token counts read through
a :class:`~minicall._model.wire.Reader`, and the feed/close loop every server-sent-events
decoder runs. A helper moves here only when two codecs run the very same logic; shapes
that merely look alike (Anthropic's and Bedrock's system blocks, say) stay apart.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, cast

from .._framing.sse import ServerSentEvent, SSEDecoder
from .._model.errors import APIError, error_for_status
from .._model.messages import ContentPart, Message, TextPart, ToolCallPart, assistant_text
from .._model.spec import Chunk, Usage
from .._model.wire import Reader

__all__ = [
    "Converter",
    "Renames",
    "SSEChunks",
    "assistant_message",
    "b64decode",
    "b64encode",
    "count",
    "error_json",
    "error_text",
    "json_object",
    "media_format",
    "native_params",
    "reasons",
    "same",
    "split_data_url",
    "status_of",
    "stop_list",
    "stream_error",
    "text_of",
    "usage_of",
]

Converter = Callable[[Any], Any]
Renames = Mapping[str, tuple[str, Converter]]
"""Call-param name -> (the provider's name, a conversion of the value)."""


# -- values -------------------------------------------------------------------------


def b64encode(data: bytes) -> str:
    """``data`` as base64 text."""
    return base64.b64encode(data).decode("ascii")


def b64decode(data: str, provider: str, path: str) -> bytes:
    """Base64 text from a reply as bytes; anything undecodable is a ResponseFormatError."""
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        raise Reader(provider).fail(path, "expected base64 data", data[:40]) from None


def split_data_url(url: str | None) -> tuple[str, str] | None:
    """``(media type, base64 text)`` of a ``data:...;base64,...`` URL, else ``None``."""
    if not url or not url.startswith("data:") or ";base64," not in url:
        return None
    head, _, data = url[5:].partition(";base64,")
    return head, data


def media_format(table: Mapping[str, str], media_type: str) -> str:
    """A provider's format name for ``media_type``: its table, else the subtype."""
    return table.get(media_type.lower(), media_type.rsplit("/", 1)[-1])


def json_object(text: str) -> dict[str, Any] | None:
    """``text`` parsed when it is a JSON object, else ``None`` (tool results travel either way)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return cast("dict[str, Any]", value) if isinstance(value, dict) else None


def text_of(parts: Sequence[ContentPart]) -> str:
    """The text parts of ``parts``, joined."""
    return "".join(p.text for p in parts if isinstance(p, TextPart))


def assistant_message(content: str, calls: Sequence[ToolCallPart]) -> Message:
    """The neutral assistant turn of a reply: its text (when any), then its tool calls."""
    if content and not calls:
        return assistant_text(content)
    parts: list[ContentPart] = [TextPart(content)] if content else []
    parts.extend(calls)
    return Message("assistant", parts)


def reasons(reason: str | None) -> tuple[str, ...] | None:
    """A single finish reason as the ``finish_reasons`` tuple (``None`` stays ``None``)."""
    return None if reason is None else (reason,)


# -- call params --------------------------------------------------------------------


def same(value: Any) -> Any:
    """The value unchanged (the converter of a plain rename)."""
    return value


def stop_list(value: Any) -> Any:
    """The common ``stop`` (one string or a list) as the list most APIs want."""
    return [value] if isinstance(value, str) else value


def native_params(
    params: Mapping[str, Any], renames: Renames, drops: Collection[str] = ()
) -> dict[str, Any]:
    """``params`` under the provider's names: renamed and converted by the table,
    ``drops`` left out, every other key passed through verbatim (the API's own params)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in drops:
            continue
        name, convert = renames.get(key, (key, same))
        out[name] = convert(value)
    return out


# -- errors -------------------------------------------------------------------------


def error_json(body: bytes) -> Any:
    """An error body parsed as JSON, or ``None`` when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def error_text(data: Any, keys: Sequence[str] = ()) -> str | None:
    """``error.message`` of an error object, else the first of ``keys`` holding a string."""
    if not isinstance(data, dict):
        return None
    body = cast("dict[str, Any]", data)
    err = body.get("error")
    if isinstance(err, dict):
        message = cast("dict[str, Any]", err).get("message")
        if isinstance(message, str):
            return message
    for key in keys:
        value = body.get(key)
        if isinstance(value, str):
            return value
    return None


def status_of(code: Any) -> int | None:
    """``code`` when it is an HTTP error status (an in-stream error may carry one)."""
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600:
        return code
    return None


def stream_error(message: str, provider: str, body: Any, status: int | None) -> APIError:
    """The typed error for an error event after a 200: by its status when one is known."""
    if status is None:
        return APIError(message, provider=provider, body=body)
    return error_for_status(status)(message, status_code=status, provider=provider, body=body)


# -- usage --------------------------------------------------------------------------


def count(r: Reader, usage: Mapping[str, Any], at: str, *keys: str) -> int | None:
    """The sum of the token counts named ``keys`` in ``usage`` (absent ones count 0);
    ``None`` when one of them is not a token count (see :meth:`Reader.tokens`)."""
    total = 0
    for key in keys:
        value = usage.get(key)
        if value is None:
            continue
        number = r.tokens(value, at, key)
        if number is None:
            return None
        total += number
    return total


def usage_of(
    r: Reader,
    usage: Mapping[str, Any],
    at: str,
    total_key: str,
    input_tokens: int | None,
    output_tokens: int | None,
    cached: int | None,
    cache_write: int | None = 0,
) -> Usage:
    """Neutral usage; the total is ``usage[total_key]``, or input plus output when the
    provider sent none (and both are known)."""
    sent = usage.get(total_key)
    if sent is not None:
        total = r.tokens(sent, at, total_key)
    elif input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    else:
        total = None
    return Usage(input_tokens, output_tokens, cached, total, cache_write)


# -- streams ------------------------------------------------------------------------


class SSEChunks:
    """``feed``/``close`` over an :class:`SSEDecoder`: each event becomes at most one chunk.

    Subclasses define :meth:`_chunk`. With ``sentinel`` set (``"[DONE]"``), the event
    whose data is the sentinel ends the stream and everything after it is ignored.
    """

    sentinel: str | None = None

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._done = False

    def feed(self, data: bytes) -> list[Chunk]:
        """The chunks the events completed by ``data`` give."""
        return self._chunks(self._sse.feed(data))

    def close(self) -> list[Chunk]:
        """The chunks of a last event left unterminated at end of stream."""
        return self._chunks(self._sse.close())

    def _chunks(self, events: Sequence[ServerSentEvent]) -> list[Chunk]:
        chunks: list[Chunk] = []
        if self._done:
            return chunks
        sentinel, chunk_of = self.sentinel, self._chunk
        for event in events:
            data = event.data
            # JSON events start with "{"; only something else can be the sentinel.
            if sentinel is not None and data[:1] != "{" and data.strip() == sentinel:
                self._done = True
                break
            chunk = chunk_of(event)
            if chunk is not None:
                chunks.append(chunk)
        return chunks

    def _chunk(self, event: ServerSentEvent) -> Chunk | None:
        raise NotImplementedError

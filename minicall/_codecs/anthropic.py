"""Anthropic Messages API.

API reference: https://docs.anthropic.com/en/api/messages (``POST {base}/v1/messages``,
the base being the host root as for the official SDK). Headers: ``anthropic-version``
(required; ``2023-06-01`` unless the client's ``version`` option says otherwise) and an
optional ``anthropic-beta`` list; the credential (``x-api-key`` or a bearer token) is
the client's business. A whole reply is one ``message`` object; a stream is
server-sent events named by type (``message_start``, ``content_block_start``,
``content_block_delta``, ``content_block_stop``, ``message_delta``, ``message_stop``,
``ping``, ``error``) whose ``data`` carries the same ``type``; it has no ``[DONE]``.

Differences from Chat Completions that shape this module:

* There is no system role: system messages are kept as ``{"role": "system"}`` dicts by
  :meth:`AnthropicCodec.to_native` (as Mirascope does) and pulled into the top-level
  ``system`` field by :meth:`AnthropicCodec.encode`.
* ``max_tokens`` is required; it defaults to 1024 (Mirascope v1's default).
* Tool results travel as ``tool_result`` blocks in a *user* turn. Consecutive turns
  of the same role are not merged: the API combines them itself.
* There is no classic JSON mode, so ``json_mode`` appends the instruction to the
  system prompt (the newer ``output_config`` is deliberately not used).
* ``frequency_penalty``, ``presence_penalty`` and ``seed`` do not exist in this API and
  are dropped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._errors import APIError, PromptError, error_for_status
from .._framing.sse import ServerSentEvent, SSEDecoder
from .._http._types import HttpRequest
from .._messages import (
    AudioPart,
    ContentPart,
    DocumentPart,
    ImagePart,
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from .._spec import CallSpec, Chunk, Completion, Endpoint, ToolDelta, Usage
from .._wire import JSONObject, Reader, dumps, loads

__all__ = [
    "ANTHROPIC",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_VERSION",
    "ERROR_STATUS",
    "PATH",
    "AnthropicCodec",
]

PATH = "/v1/messages"
DEFAULT_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
_PROVIDER = "anthropic"

_FINISH = {
    "end_turn": "stop",
    "max_tokens": "length",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "refusal": "content_filter",
    "model_context_window_exceeded": "length",
}

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


def _stop_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _same(value: Any) -> Any:
    return value


# CommonCallParams name -> (Anthropic name, value conversion). Anything else passes
# through verbatim, so the API's own parameters (top_k, metadata, thinking ...) work.
_RENAMES: Mapping[str, tuple[str, Callable[[Any], Any]]] = {
    "stop": ("stop_sequences", _stop_list),
    "stop_sequences": ("stop_sequences", _stop_list),
}
_DROPS = frozenset({"frequency_penalty", "presence_penalty", "seed", "system"})


class AnthropicCodec:
    """Encodes :class:`CallSpec` s to Messages API requests and decodes the replies."""

    provider = _PROVIDER
    finish_map: Mapping[str, str] = _FINISH

    def __init__(self) -> None:
        self._read = Reader(_PROVIDER)

    # -- request ------------------------------------------------------------------

    def encode(self, spec: CallSpec, endpoint: Endpoint) -> HttpRequest:
        """The Messages request for ``spec``; system messages become ``system``."""
        native = self.to_native(spec.messages)
        blocks: list[Any] = _system_blocks(spec.call_params.get("system"))
        messages: list[dict[str, Any]] = []
        for message in native:
            if message.get("role") == "system":
                blocks.extend(_system_blocks(message.get("content")))
            else:
                messages.append(message)
        if spec.response_format is not None:
            instruction = spec.json_instruction or "Respond only with a valid JSON object."
            blocks.append({"type": "text", "text": instruction})
        body: dict[str, Any] = {
            "model": spec.model,
            "max_tokens": DEFAULT_MAX_TOKENS,
            "messages": messages,
        }
        if blocks:
            body["system"] = _system_value(blocks)
        if spec.tools:
            body["tools"] = [
                {
                    "name": t.name,
                    **({"description": t.description} if t.description else {}),
                    "input_schema": dict(t.parameters),
                }
                for t in spec.tools
            ]
        if spec.forced_tool is not None:
            body["tool_choice"] = {"type": "tool", "name": spec.forced_tool}
        for key, value in spec.call_params.items():
            if key in _DROPS:
                continue
            name, convert = _RENAMES.get(key, (key, _same))
            body[name] = convert(value)
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if spec.stream else "application/json",
            "anthropic-version": endpoint.options.get("version") or DEFAULT_VERSION,
        }
        if endpoint.options.get("betas"):
            headers["anthropic-beta"] = endpoint.options["betas"]
        headers.update(endpoint.headers)
        if spec.stream:
            body["stream"] = True
        return HttpRequest("POST", endpoint.base_url + PATH, headers, dumps(body), endpoint.timeout)

    def to_native(self, messages: Sequence[Message | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Neutral messages as Messages API dicts; native dicts pass through.

        A system message stays a ``{"role": "system"}`` dict here (``encode`` lifts it
        out); tool results become a user turn of ``tool_result`` blocks.
        """
        out: list[dict[str, Any]] = []
        for message in messages:
            if not isinstance(message, Message):
                out.append(dict(message))
            elif message.role == "assistant":
                out.append(self.native_assistant(message))
            elif message.role == "system":
                text = message.content if isinstance(message.content, str) else _text(message.parts)
                out.append({"role": "system", "content": text})
            elif isinstance(message.content, str):
                out.append({"role": "user", "content": message.content})
            else:
                # The API wants tool results first in their user turn.
                results = [_block(p) for p in message.parts if isinstance(p, ToolResultPart)]
                others = [_block(p) for p in message.parts if not isinstance(p, ToolResultPart)]
                out.append({"role": "user", "content": results + others})
        return out

    def native_assistant(self, message: Message) -> dict[str, Any]:
        """An assistant message as a Messages API dict of content blocks."""
        if isinstance(message.content, str):
            return {"role": "assistant", "content": message.content}
        blocks = [_block(p) for p in message.parts if not (isinstance(p, TextPart) and not p.text)]
        return {"role": "assistant", "content": blocks}

    # -- response -----------------------------------------------------------------

    def decode(self, body: bytes, headers: Mapping[str, str], spec: CallSpec) -> Completion:
        """The completion in a ``message`` object."""
        r = self._read
        raw = r.obj(loads(body, _PROVIDER), "")
        texts: list[str] = []
        calls: list[ToolCallPart] = []
        raw_calls: list[JSONObject] = []
        native_blocks: list[dict[str, Any]] = []
        for i, value in enumerate(r.arr(raw.get("content"), "content")):
            at = f"content[{i}]"
            block = r.obj(value, at)
            kind = r.str(block.get("type"), f"{at}.type")
            if kind == "text":
                texts.append(r.str(block.get("text"), f"{at}.text"))
            elif kind == "tool_use":
                calls.append(
                    ToolCallPart(
                        r.str(block.get("id"), f"{at}.id"),
                        r.str(block.get("name"), f"{at}.name"),
                        dict(r.obj(block.get("input"), f"{at}.input")),
                    )
                )
                raw_calls.append(block)
            native_blocks.append(_echo_block(block))
        reason = r.opt_str(raw.get("stop_reason"), "stop_reason")
        content = "".join(texts)
        parts: list[ContentPart] = [TextPart(content)] if content else []
        parts.extend(calls)
        return Completion(
            content=content,
            message=Message("assistant", parts),
            native_message={"role": "assistant", "content": native_blocks},
            raw=raw,
            finish_reasons=(reason,) if reason is not None else None,
            model=r.opt_str(raw.get("model"), "model"),
            id=r.opt_str(raw.get("id"), "id"),
            usage=_Counts().update(r, raw.get("usage"), "usage").usage(),
            raw_tool_calls=tuple(raw_calls),
        )

    def error_message(self, body: bytes) -> str | None:
        """``error.message`` of an error body (or a proxy's top-level ``message``)."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        return _error_text(data)

    # -- stream -------------------------------------------------------------------

    def stream_decoder(self, spec: CallSpec) -> _StreamDecoder:
        """A decoder for one ``text/event-stream`` reply."""
        return _StreamDecoder()


class _Counts:
    """Token counters as Anthropic reports them; streams update them piece by piece."""

    __slots__ = ("creation", "input", "output", "read", "seen")

    def __init__(self) -> None:
        self.input = self.output = self.creation = self.read = 0
        self.seen = False

    def update(self, r: Reader, value: Any, path: str) -> _Counts:
        usage = r.opt_obj(value, path)
        if usage is None:
            return self
        self.seen = True
        for attr, key in _USAGE_KEYS:
            count = r.opt_int(usage.get(key), f"{path}.{key}")
            if count is not None:
                setattr(self, attr, count)
        return self

    def usage(self) -> Usage | None:
        if not self.seen:
            return None
        total_in = self.input + self.creation + self.read
        return Usage(total_in, self.output, self.read, total_in + self.output)


_USAGE_KEYS = (
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("creation", "cache_creation_input_tokens"),
    ("read", "cache_read_input_tokens"),
)


class _StreamDecoder:
    """SSE bytes in, chunks out; one chunk per event except ``ping``."""

    def __init__(self) -> None:
        self._sse = SSEDecoder()
        self._read = Reader(_PROVIDER)
        self._counts = _Counts()
        self._tool_blocks: set[int] = set()
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

    def feed(self, data: bytes) -> list[Chunk]:
        return self._events(self._sse.feed(data))

    def close(self) -> list[Chunk]:
        return self._events(self._sse.close())

    def _events(self, events: Sequence[ServerSentEvent]) -> list[Chunk]:
        chunks: list[Chunk] = []
        for event in events:
            if not event.data.strip():
                continue
            data = self._read.obj(loads(event.data, _PROVIDER, "event"), "event")
            kind = self._read.opt_str(data.get("type"), "event.type") or event.event
            # Event types added to the API later are skipped, as the SDK does.
            chunk = self._handlers.get(kind, _raw_chunk)(data)
            if chunk is not None:
                chunks.append(chunk)
        return chunks

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
        at = "content_block_delta"
        index = self._index(data, at)
        delta = r.obj(data.get("delta"), f"{at}.delta")
        kind = r.str(delta.get("type"), f"{at}.delta.type")
        if kind == "text_delta":
            return Chunk(content=r.str(delta.get("text"), f"{at}.delta.text"), raw=data)
        if kind == "input_json_delta":
            piece = r.str(delta.get("partial_json"), f"{at}.delta.partial_json")
            return Chunk(tool_deltas=(ToolDelta(index, arguments=piece),), raw=data)
        return Chunk(raw=data)  # thinking, signature and citation deltas carry no text

    def _block_stop(self, data: JSONObject) -> Chunk:
        index = self._index(data, "content_block_stop")
        if index in self._tool_blocks:
            return Chunk(tool_deltas=(ToolDelta(index, done=True),), raw=data)
        return Chunk(raw=data)

    def _message_delta(self, data: JSONObject) -> Chunk:
        r = self._read
        delta = r.opt_obj(data.get("delta"), "message_delta.delta") or {}
        reason = r.opt_str(delta.get("stop_reason"), "message_delta.delta.stop_reason")
        self._counts.update(r, data.get("usage"), "message_delta.usage")
        return Chunk(
            finish_reasons=(reason,) if reason is not None else None,
            usage=self._counts.usage(),
            raw=data,
        )


def _raw_chunk(data: JSONObject) -> Chunk:
    return Chunk(raw=data)


def _no_chunk(data: JSONObject) -> None:
    return None


def _raise_error(data: JSONObject) -> None:
    """An ``error`` event after a 200: the typed error its ``error.type`` stands for."""
    err = data.get("error")
    kind = err.get("type") if isinstance(err, dict) else None
    status = ERROR_STATUS.get(kind) if isinstance(kind, str) else None
    message = _error_text(data) or "error event in stream"
    if status is None:
        raise APIError(message, provider=_PROVIDER, body=data)
    raise error_for_status(status)(message, status_code=status, provider=_PROVIDER, body=data)


def _error_text(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    err = data.get("error")
    if isinstance(err, dict) and isinstance(err.get("message"), str):
        return str(err["message"])
    message = data.get("message")
    return message if isinstance(message, str) else None


# -- blocks -------------------------------------------------------------------------


def _text(parts: Sequence[ContentPart]) -> str:
    return "".join(p.text for p in parts if isinstance(p, TextPart))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _image(part: ImagePart) -> dict[str, Any]:
    if part.image is not None:
        source: dict[str, Any] = {
            "type": "base64",
            "media_type": part.media_type,
            "data": _b64(part.image),
        }
    elif part.url and part.url.startswith("data:") and ";base64," in part.url:
        head, data = part.url[5:].split(";base64,", 1)
        source = {"type": "base64", "media_type": head or part.media_type, "data": data}
    else:
        source = {"type": "url", "url": part.url or ""}
    return {"type": "image", "source": source}


def _document(part: DocumentPart) -> dict[str, Any]:
    if part.media_type == "text/plain":
        text = part.document.decode("utf-8", "replace")
        return {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": text},
        }
    source = {"type": "base64", "media_type": part.media_type, "data": _b64(part.document)}
    return {"type": "document", "source": source}


def _audio(part: AudioPart) -> dict[str, Any]:
    raise PromptError("Anthropic's Messages API does not accept audio input")


def _tool_use(part: ToolCallPart) -> dict[str, Any]:
    return {"type": "tool_use", "id": part.id, "name": part.name, "input": dict(part.args)}


def _tool_result(part: ToolResultPart) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.id, "content": part.content}
    if part.is_error:
        block["is_error"] = True
    return block


def _text_block(part: TextPart) -> dict[str, Any]:
    return {"type": "text", "text": part.text}


_BLOCKS: Mapping[type, Callable[[Any], dict[str, Any]]] = {
    TextPart: _text_block,
    ImagePart: _image,
    DocumentPart: _document,
    AudioPart: _audio,
    ToolCallPart: _tool_use,
    ToolResultPart: _tool_result,
}


def _block(part: ContentPart) -> dict[str, Any]:
    return _BLOCKS[type(part)](part)


# Response block -> what may be sent back in a history: the request shapes accept
# fewer keys than the response carries (``citations: null`` on every text block).
_ECHO_KEYS: Mapping[str, tuple[str, ...]] = {
    "text": ("type", "text"),
    "tool_use": ("type", "id", "name", "input"),
    "thinking": ("type", "thinking", "signature"),
    "redacted_thinking": ("type", "data"),
}


def _echo_block(block: JSONObject) -> dict[str, Any]:
    keys = _ECHO_KEYS.get(str(block.get("type")))
    if keys is None:
        return dict(block)
    echoed = {k: block[k] for k in keys if k in block}
    if block.get("type") == "text" and block.get("citations"):
        echoed["citations"] = block["citations"]
    return echoed


def _system_blocks(value: Any) -> list[Any]:
    """A system value (string or text blocks) as a list of blocks."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise PromptError(
        f"anthropic system content must be a string or text blocks, got {type(value).__name__}"
    )


def _system_value(blocks: list[Any]) -> str | list[Any]:
    """Plain text blocks joined as one string (the common form); else the blocks."""
    plain = all(
        isinstance(b, dict) and set(b) == {"type", "text"} and b["type"] == "text" for b in blocks
    )
    if plain:
        return "\n\n".join(str(b["text"]) for b in blocks)
    return blocks


ANTHROPIC = AnthropicCodec()
"""The one codec instance (codecs are stateless)."""

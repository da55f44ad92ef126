"""Cohere v2 Chat.

API reference: https://docs.cohere.com/v2/reference/chat (``POST {base}/v2/chat``,
base = host root, ``https://api.cohere.com``). The body always carries ``stream``. A
whole reply is ``{id, finish_reason, message: {role, content: [{type, text}],
tool_plan, tool_calls}, usage: {billed_units, tokens, cached_tokens}}``; it names no
model, so the requested one stands in. A streamed reply is server-sent events, each
``data`` an object whose ``type`` names it (``message-start``, ``content-delta``,
``tool-call-start`` ... ``message-end``); the official SDK also stops at ``[DONE]``.

Cohere cannot be told to call one tool by name: ``tool_choice: "REQUIRED"`` forces
some tool, so a forced tool is offered alone.
"""
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._framing.sse import ServerSentEvent
from .._model.errors import APIError, PromptError
from .._model.http import HttpRequest
from .._model.messages import (
    ContentPart,
    ImagePart,
    Message,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from .._model.spec import CallSpec, Chunk, Completion, Endpoint, ToolDelta, Usage
from .._model.wire import Reader, dumps, loads
from ._common import (
    Renames,
    SSEChunks,
    assistant_message,
    error_json,
    error_text,
    native_params,
    reasons,
    same,
    stop_list,
    text_of,
)
from .openai.messages import (
    chat_messages,
    function_tools,
    image_url_part,
    tool_call_text,
    tool_calls,
)

__all__ = ["CODEC", "PARAM_RENAMES", "CohereCodec"]

PROVIDER = "cohere"
PATH = "/v2/chat"

_FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    # The generation broke off; there is no better neutral word for either.
    "ERROR": "stop",
    "TIMEOUT": "length",
}

PARAM_RENAMES: Renames = {
    "top_p": ("p", same),
    # Cohere wants a list of stop sequences; the common ``stop`` may be one string.
    "stop": ("stop_sequences", stop_list),
    "stop_sequences": ("stop_sequences", stop_list),
}
"""``CommonCallParams`` names -> Cohere's; Cohere's own names pass through."""


class CohereCodec:
    """Encodes :class:`CallSpec` s to v2 Chat requests and decodes the replies."""

    provider = PROVIDER
    finish_map: Mapping[str, str] = _FINISH
    # The cohere SDK's ApiError keeps the headers but names no request id; the
    # common ``x-request-id`` is the default.
    request_id_headers: tuple[str, ...] = ("x-request-id",)

    def __init__(self) -> None:
        self._read = Reader(PROVIDER)

    # -- request ------------------------------------------------------------------

    def encode(self, spec: CallSpec, endpoint: Endpoint) -> HttpRequest:
        """The v2 Chat request for ``spec``."""
        body: dict[str, Any] = {"model": spec.model, "messages": self.to_native(spec.messages)}
        tools = spec.tools
        if spec.forced_tool is not None:
            tools = tuple(t for t in tools if t.name == spec.forced_tool) or tools
        if tools:
            body["tools"] = function_tools(tools, strict=False)
        if spec.forced_tool is not None:
            body["tool_choice"] = "REQUIRED"
        fmt = spec.response_format
        if fmt is not None:
            response_format: dict[str, Any] = {"type": "json_object"}
            if fmt.kind == "json_schema" and fmt.schema is not None:
                response_format["json_schema"] = dict(fmt.schema)
            body["response_format"] = response_format
        body.update(native_params(spec.call_params, PARAM_RENAMES))
        body["stream"] = spec.stream
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if spec.stream else "application/json",
            **endpoint.headers,
        }
        path = endpoint.options.get("path", PATH)
        return HttpRequest("POST", endpoint.base_url + path, headers, dumps(body), endpoint.timeout)

    def to_native(self, messages: Sequence[Message | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Neutral messages as v2 Chat message dicts; native dicts pass through, those in the
        v1 shape Mirascope uses (``{"role": "USER", "message": ...}``) as their v2 turn."""
        turns: list[Message | Mapping[str, Any]] = [m if isinstance(m, Message) else _from_v1(m) for m in messages]
        return chat_messages(turns, self.native_assistant, _part, _tool_message)

    def native_assistant(self, message: Message) -> dict[str, Any]:
        """An assistant message as a v2 Chat message dict."""
        text = text_of(message.parts)
        calls = [p for p in message.parts if isinstance(p, ToolCallPart)]
        native: dict[str, Any] = {"role": "assistant"}
        if text or not calls:
            native["content"] = text
        if calls:
            native["tool_calls"] = tool_calls(calls)
        return native

    # -- response -----------------------------------------------------------------

    def decode(self, body: bytes, headers: Mapping[str, str], spec: CallSpec) -> Completion:
        """The completion in a v2 Chat reply."""
        r = self._read
        raw = r.obj(loads(body, PROVIDER), "")
        msg = r.obj(raw.get("message"), "message")
        texts: list[str] = []
        for i, item_value in enumerate(r.opt_arr(msg.get("content"), "message.content")):
            item = r.obj(item_value, f"message.content[{i}]")
            # ``thinking`` items are the model's reasoning, not its answer.
            if item.get("type", "text") == "text":
                texts.append(r.str(item.get("text"), f"message.content[{i}].text"))
        calls: list[ToolCallPart] = []
        raw_calls: list[dict[str, Any]] = []
        for j, call_value in enumerate(r.opt_arr(msg.get("tool_calls"), "message.tool_calls")):
            at = f"message.tool_calls[{j}]"
            call = r.obj(call_value, at)
            fn = r.obj(call.get("function"), f"{at}.function")
            arguments = r.opt_str(fn.get("arguments"), f"{at}.function.arguments") or ""
            args, unparsed = r.args_or_text(arguments, f"{at}.function.arguments")
            calls.append(
                ToolCallPart(
                    r.opt_str(call.get("id"), f"{at}.id") or f"call_{j}",
                    r.str(fn.get("name"), f"{at}.function.name"),
                    args,
                    unparsed=unparsed,
                )
            )
            raw_calls.append(call)
        tool_plan = r.opt_str(msg.get("tool_plan"), "message.tool_plan")
        finish = r.opt_str(raw.get("finish_reason"), "finish_reason")
        content = "".join(texts)
        message = assistant_message(content, calls)
        native = self.native_assistant(message)
        if tool_plan and calls:
            # Cohere's guides send the plan back with the calls it introduced.
            native["tool_plan"] = tool_plan
        return Completion(
            content=content,
            message=message,
            native_message=native,
            raw=raw,
            finish_reasons=reasons(finish),
            model=spec.model,
            id=r.opt_str(raw.get("id"), "id"),
            usage=self._usage(raw.get("usage"), "usage"),
            raw_tool_calls=tuple(raw_calls),
        )

    def _usage(self, value: Any, at: str) -> Usage | None:
        """Billed units when present (they are what is priced), else raw token counts."""
        r = self._read
        usage = r.opt_obj(value, at)
        if usage is None:
            return None
        billed = r.opt_obj(usage.get("billed_units"), f"{at}.billed_units") or {}
        tokens = r.opt_obj(usage.get("tokens"), f"{at}.tokens") or {}

        def count(key: str) -> int | None:
            # Billed units are floats on the wire (``3.0``); a bad one reads as None.
            for source, name in ((billed, "billed_units"), (tokens, "tokens")):
                if source.get(key) is not None:
                    return r.tokens(source[key], f"{at}.{name}", key)
            return 0

        inp, out = count("input_tokens"), count("output_tokens")
        cached = r.tokens(usage.get("cached_tokens"), at, "cached_tokens")
        total = None if inp is None or out is None else inp + out
        return Usage(inp, out, 0 if usage.get("cached_tokens") is None else cached, total)

    def error_message(self, body: bytes) -> str | None:
        """The ``message`` of a Cohere error body."""
        return error_text(error_json(body), ("message", "detail", "error"))

    def never_retry(self, status: int, body: bytes) -> bool:
        """Never: the cohere SDK retries every 429 and marks no error body final."""
        return False

    # -- stream -------------------------------------------------------------------

    def stream_decoder(self, spec: CallSpec) -> _StreamDecoder:
        """A decoder for one ``text/event-stream`` reply."""
        return _StreamDecoder(self, spec)

    def decode_event(self, data: Any, spec: CallSpec, event: str = "") -> Chunk:
        """One stream event's ``data`` object as a neutral :class:`Chunk`."""
        raw = self._read.obj(data, "event")
        kind = raw.get("type", event)
        handler = _EVENTS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            if "type" not in raw and isinstance(raw.get("message"), str):
                raise APIError(raw["message"], provider=PROVIDER, body=raw)
            return Chunk(raw=raw)  # citations, debug, and events newer than this codec
        return handler(self, raw, spec)

    def _delta_message(self, raw: Mapping[str, Any], at: str) -> dict[str, Any]:
        delta = self._read.opt_obj(raw.get("delta"), f"{at}.delta") or {}
        return self._read.opt_obj(delta.get("message"), f"{at}.delta.message") or {}

    def _on_message_start(self, raw: dict[str, Any], spec: CallSpec) -> Chunk:
        return Chunk(id=self._read.opt_str(raw.get("id"), "message-start.id"), model=spec.model, raw=raw)

    def _on_content(self, raw: dict[str, Any], spec: CallSpec) -> Chunk:
        at = str(raw.get("type"))
        content = self._read.opt_obj(self._delta_message(raw, at).get("content"), f"{at}.delta.message.content") or {}
        text = self._read.opt_str(content.get("text"), f"{at}.delta.message.content.text") or ""
        return Chunk(content=text, raw=raw)

    def _tool_index(self, raw: Mapping[str, Any], at: str) -> int:
        return self._read.opt_int(raw.get("index"), f"{at}.index") or 0

    def _on_tool_start(self, raw: dict[str, Any], spec: CallSpec) -> Chunk:
        r, at = self._read, "tool-call-start"
        call = r.obj(self._delta_message(raw, at).get("tool_calls"), f"{at}.delta.message.tool_calls")
        fn = r.opt_obj(call.get("function"), f"{at}.delta.message.tool_calls.function") or {}
        delta = ToolDelta(
            index=self._tool_index(raw, at),
            id=r.opt_str(call.get("id"), f"{at}.delta.message.tool_calls.id"),
            name=r.opt_str(fn.get("name"), f"{at}.delta.message.tool_calls.function.name"),
            arguments=r.opt_str(fn.get("arguments"), f"{at}.delta.message.tool_calls.function.arguments") or "",
        )
        return Chunk(tool_deltas=(delta,), raw=raw)

    def _on_tool_delta(self, raw: dict[str, Any], spec: CallSpec) -> Chunk:
        r, at = self._read, "tool-call-delta"
        call = r.opt_obj(self._delta_message(raw, at).get("tool_calls"), f"{at}.delta.message.tool_calls") or {}
        fn = r.opt_obj(call.get("function"), f"{at}.delta.message.tool_calls.function") or {}
        piece = r.opt_str(fn.get("arguments"), f"{at}.delta.message.tool_calls.function.arguments") or ""
        return Chunk(tool_deltas=(ToolDelta(self._tool_index(raw, at), arguments=piece),), raw=raw)

    def _on_tool_end(self, raw: dict[str, Any], spec: CallSpec) -> Chunk:
        return Chunk(tool_deltas=(ToolDelta(self._tool_index(raw, "tool-call-end"), done=True),), raw=raw)

    def _on_message_end(self, raw: dict[str, Any], spec: CallSpec) -> Chunk:
        r, at = self._read, "message-end"
        delta = r.opt_obj(raw.get("delta"), f"{at}.delta") or {}
        error = r.opt_str(delta.get("error"), f"{at}.delta.error")
        if error:
            raise APIError(error, provider=PROVIDER, body=raw)
        finish = r.opt_str(delta.get("finish_reason"), f"{at}.delta.finish_reason")
        return Chunk(
            finish_reasons=reasons(finish),
            usage=self._usage(delta.get("usage"), f"{at}.delta.usage"),
            id=r.opt_str(raw.get("id"), f"{at}.id"),
            raw=raw,
        )


_EVENTS: Mapping[str, Callable[[CohereCodec, dict[str, Any], CallSpec], Chunk]] = {
    "message-start": CohereCodec._on_message_start,
    "content-start": CohereCodec._on_content,
    "content-delta": CohereCodec._on_content,
    "tool-call-start": CohereCodec._on_tool_start,
    "tool-call-delta": CohereCodec._on_tool_delta,
    "tool-call-end": CohereCodec._on_tool_end,
    "message-end": CohereCodec._on_message_end,
}


class _StreamDecoder(SSEChunks):
    """SSE bytes in, chunks out; stops at ``[DONE]`` as the official SDK does."""

    sentinel = "[DONE]"

    def __init__(self, codec: CohereCodec, spec: CallSpec) -> None:
        super().__init__()
        self._codec = codec
        self._spec = spec

    def _chunk(self, event: ServerSentEvent) -> Chunk | None:
        if not event.data:
            return None
        return self._codec.decode_event(loads(event.data, PROVIDER, "event"), self._spec, event.event)


def _tool_message(result: ToolResultPart) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": result.id, "content": [{"type": "text", "text": result.content}]}


def _part(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        return image_url_part(part)
    if isinstance(part, ToolCallPart):
        return tool_call_text(part)
    raise PromptError(f"Cohere chat messages cannot carry {part.type} content")


CODEC = CohereCodec()


# Cohere v1 chat roles (Mirascope's CohereMessageParam is the v1 ChatMessage) -> v2 roles.
_V1_ROLES = {"USER": "user", "CHATBOT": "assistant", "SYSTEM": "system", "TOOL": "tool"}


def _from_v1(message: Mapping[str, Any]) -> Mapping[str, Any]:
    """A v1 ``ChatMessage`` dict (``message`` instead of ``content``) as a v2 turn; others as they are."""
    if "message" not in message or "content" in message:
        return message
    role = str(message.get("role", "user"))
    return {"role": _V1_ROLES.get(role.upper(), role.lower()), "content": message["message"]}

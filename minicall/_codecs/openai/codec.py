"""OpenAI Chat Completions, and every provider that speaks it with small differences.

API reference: https://platform.openai.com/docs/api-reference/chat (``POST
{base}/chat/completions``). Non-streamed replies are one JSON object; streamed ones
are server-sent events whose ``data`` is a ``chat.completion.chunk`` object, ending
with ``data: [DONE]``. Usage arrives in a last chunk with ``choices: []`` when the
request asked for it with ``stream_options.include_usage``.

Groq, xAI, Mistral, LiteLLM and Azure differ only in the facts a :class:`Dialect`
holds: path, parameter renames, parameters they reject, how structured output is
asked for, where a reported cost lives, where stream usage and stream errors arrive.
Their dialects live in :mod:`minicall._codecs.openai.dialects` (re-exported here),
the message conversion in :mod:`minicall._codecs.openai.messages`, the stream
decoder in :mod:`minicall._codecs.openai.stream`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote, urlencode

from ..._model.http import HttpRequest
from ..._model.messages import ContentPart, Message, ToolCallPart, ToolResultPart
from ..._model.spec import CallSpec, Chunk, Completion, Endpoint
from ..._model.wire import Reader, dumps, loads
from .._common import (
    assistant_message,
    error_json,
    native_params,
    same,
    text_of,
)
from .dialects import (
    AZURE,
    AZURE_OPENAI,
    AZURE_OPENAI_V1,
    DIALECTS,
    GROQ,
    LITELLM,
    MISTRAL,
    OPENAI,
    XAI,
    Dialect,
)
from .messages import chat_messages, content_part, function_tools, tool_calls
from .reading import compat_error_text, read_audio, read_usage, reported_cost
from .stream import OpenAIStream, decode_chunk

__all__ = [
    "AZURE",
    "AZURE_OPENAI",
    "AZURE_OPENAI_V1",
    "DIALECTS",
    "GROQ",
    "LITELLM",
    "MISTRAL",
    "OPENAI",
    "XAI",
    "Dialect",
    "OpenAICompatCodec",
]

_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    # Mistral's spellings
    "model_length": "length",
    "error": "stop",
}


def _assistant_turn(text: str, calls: Sequence[ToolCallPart]) -> dict[str, Any]:
    """The Chat Completions assistant message of ``text`` and tool ``calls``."""
    native: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        native["tool_calls"] = tool_calls(calls)
    return native


class OpenAICompatCodec:
    """Encodes :class:`CallSpec` s to Chat Completions requests and decodes the replies."""

    finish_map: Mapping[str, str] = _FINISH
    # The openai SDK's APIStatusError reads ``x-request-id`` (that SDK also serves xAI,
    # a LiteLLM proxy and Azure OpenAI). The groq, mistralai and azure-ai-inference
    # SDKs expose no request id on their errors, so the same header is their default
    # (azure-core's tracing policy records the service's ``x-ms-request-id``).
    request_id_headers: tuple[str, ...] = ("x-request-id",)

    def __init__(self, dialect: Dialect = OPENAI) -> None:
        self.dialect = dialect
        self.provider = dialect.provider
        self._read = Reader(dialect.provider)
        self._renames = {key: (name, same) for key, name in dialect.renames.items()}

    # -- request ------------------------------------------------------------------

    def encode(self, spec: CallSpec, endpoint: Endpoint) -> HttpRequest:
        """The Chat Completions request for ``spec``."""
        d = self.dialect
        body: dict[str, Any] = {"model": spec.model, "messages": self.to_native(spec.messages)}
        if spec.tools:
            body["tools"] = function_tools(spec.tools, d.strict_tools)
        if spec.forced_tool is not None:
            body["tool_choice"] = d.required_choice
        fmt = spec.response_format
        if fmt is not None:
            if fmt.kind == "json_schema" and fmt.schema is not None and d.strict_schema:
                schema: dict[str, Any] = {"name": fmt.name or "response"}
                if fmt.strict_schema is not None:
                    schema["schema"] = dict(fmt.strict_schema)
                    schema["strict"] = True
                else:
                    schema["schema"] = dict(fmt.schema)
                if fmt.description:
                    schema["description"] = fmt.description
                body["response_format"] = {"type": "json_schema", "json_schema": schema}
            else:
                body["response_format"] = {"type": "json_object"}
                if spec.json_instruction:
                    # JSON mode is refused unless the messages mention JSON; as Mirascope
                    # does, the instruction (with the schema, when there is one) goes last.
                    body["messages"].append({"role": "user", "content": spec.json_instruction})
        body.update(native_params(spec.call_params, self._renames, d.drops))
        if spec.stream:
            body["stream"] = True
            if d.stream_usage and "stream_options" not in body:
                body["stream_options"] = {"include_usage": True}
        path = endpoint.options.get("path", d.path)
        if "{model}" in path:
            path = path.format(model=quote(spec.model, safe=""))
        url = endpoint.base_url + path
        if endpoint.options.get("api_version"):
            url += "?" + urlencode({"api-version": endpoint.options["api_version"]})
        headers = {"Content-Type": "application/json", "Accept": "application/json", **endpoint.headers}
        if spec.stream:
            headers["Accept"] = "text/event-stream"
        return HttpRequest("POST", url, headers, dumps(body), endpoint.timeout)

    def to_native(self, messages: Sequence[Message | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Neutral messages as Chat Completions message dicts; native dicts pass through."""
        return chat_messages(messages, self.native_assistant, self._part, _tool_message)

    def _part(self, part: ContentPart) -> dict[str, Any]:
        return content_part(part, self.dialect.audio_inline, self.dialect.document_url)

    def native_assistant(self, message: Message) -> dict[str, Any]:
        """An assistant message as a Chat Completions message dict."""
        parts = message.parts
        return _assistant_turn(text_of(parts), [p for p in parts if isinstance(p, ToolCallPart)])

    # -- response -----------------------------------------------------------------

    def decode(self, body: bytes, headers: Mapping[str, str], spec: CallSpec) -> Completion:
        """The completion in a Chat Completions reply, each value narrowed.

        The paths the :class:`Reader` names in its errors are constants for the first
        choice and spelled out for any other only when needed.
        """
        r = self._read
        raw = r.obj(loads(body, self.provider), "")
        content = ""
        calls: list[ToolCallPart] = []
        raw_calls: list[dict[str, Any]] = []
        kept_raw: list[dict[str, Any]] = []
        finish: list[str] = []
        audio: bytes | None = None
        transcript: str | None = None
        audio_id: str | None = None
        chunks_sent: list[dict[str, Any]] | None = None
        for i, value in enumerate(r.arr(raw.get("choices"), "choices")):
            at = "choices[0]" if not i else f"choices[{i}]"
            choice = r.obj(value, at)
            msg = r.obj(choice.get("message"), at + ".message")
            reason = choice.get("finish_reason")
            if reason is not None:
                finish.append(r.str(reason, at + ".finish_reason"))
            if i:
                continue  # the first choice is the answer; others only report finish reasons
            text = msg.get("content")
            if isinstance(text, str):
                content = text
            elif isinstance(text, list):  # Mistral may answer with content chunks
                chunks_sent = [dict(r.obj(c, "choices[0].message.content")) for c in cast("Sequence[Any]", text)]
                content = "".join(r.str(c.get("text", ""), "choices[0].message.content") for c in chunks_sent)
            else:
                content = r.opt_str(text, "choices[0].message.content") or ""
            if msg.get("tool_calls") is not None:
                self._tool_calls(r.arr(msg["tool_calls"], "choices[0].message.tool_calls"), calls, raw_calls, kept_raw)
            if msg.get("audio") is not None:
                audio_id, audio, transcript = read_audio(r, msg.get("audio"), "choices[0].message.audio")
        message = assistant_message(content, calls)
        native = _assistant_turn(content, calls)  # what native_assistant(message) gives
        if chunks_sent is not None:
            # The chunks go back as they came: Mistral's reasoning guide says to replay a
            # ``thinking`` chunk with the history, never to rebuild the turn from its text.
            native["content"] = chunks_sent
        if kept_raw:
            native["tool_calls"] = [*native.get("tool_calls", ()), *kept_raw]
        if audio_id is not None:
            native["audio"] = {"id": audio_id}
        model, id_, usage = raw.get("model"), raw.get("id"), raw.get("usage")
        return Completion(
            content=content,
            message=message,
            native_message=native,
            raw=raw,
            finish_reasons=tuple(finish) if finish else None,
            model=model if isinstance(model, str) else r.opt_str(model, "model"),
            id=id_ if isinstance(id_, str) else r.opt_str(id_, "id"),
            usage=None if usage is None else read_usage(r, usage),
            audio=audio,
            audio_transcript=transcript,
            reported_cost=reported_cost(self.dialect, raw, headers),
            raw_tool_calls=tuple(raw_calls),
        )

    def _tool_calls(
        self,
        values: list[Any],
        calls: list[ToolCallPart],
        raw_calls: list[dict[str, Any]],
        kept_raw: list[dict[str, Any]],
    ) -> None:
        r = self._read
        for j, call_value in enumerate(values):
            cat = f"choices[0].message.tool_calls[{j}]"
            call = r.obj(call_value, cat)
            if call.get("type") not in (None, "function"):
                # A ``custom`` tool's call (free-form ``input``, no JSON arguments)
                # or a kind not known yet: no tool class can take it, so it stays
                # raw, in the reply and in the turn sent back with the history.
                kept_raw.append(call)
                continue
            fn = r.obj(call.get("function"), f"{cat}.function")
            arguments = fn.get("arguments")
            unparsed = None
            if isinstance(arguments, dict):
                args = dict(cast("dict[str, Any]", arguments))
            else:
                text = r.opt_str(arguments, f"{cat}.function.arguments") or ""
                args, unparsed = r.args_or_text(text, f"{cat}.function.arguments")
            calls.append(
                ToolCallPart(
                    r.opt_str(call.get("id"), f"{cat}.id") or f"call_{j}",
                    r.str(fn.get("name"), f"{cat}.function.name"),
                    args,
                    unparsed=unparsed,
                )
            )
            raw_calls.append(call)

    def error_message(self, body: bytes) -> str | None:
        """The provider's words in an error body (``error.message`` and its variants)."""
        return compat_error_text(error_json(body))

    def never_retry(self, status: int, body: bytes) -> bool:
        """A 429 whose ``error.code`` or ``error.type`` is OpenAI's ``insufficient_quota``.

        The account is out of quota or credit, which no retry within seconds cures. The
        compatible providers share OpenAI's error body (a LiteLLM proxy relays OpenAI's
        own), so every dialect recognises it.
        """
        # Cheap test first: most 429 bodies are not quota errors and need no parsing.
        if status != 429 or b"insufficient_quota" not in body:
            return False
        data = error_json(body)
        error = cast("dict[str, Any]", data).get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict):
            return False
        fields = cast("dict[str, Any]", error)
        return "insufficient_quota" in (fields.get("code"), fields.get("type"))

    # -- stream -------------------------------------------------------------------

    def stream_decoder(self, spec: CallSpec) -> OpenAIStream:
        """A decoder for one ``text/event-stream`` reply."""
        return OpenAIStream(self.dialect)

    def decode_chunk(self, data: Any, headers: Mapping[str, str] | None = None) -> Chunk:
        """One ``chat.completion.chunk`` object as a neutral :class:`Chunk`."""
        return decode_chunk(self.dialect, self._read, data, headers)


def _tool_message(result: ToolResultPart) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": result.id, "content": result.content}

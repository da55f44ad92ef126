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
from typing import Any
from urllib.parse import quote, urlencode

from ..._http._types import HttpRequest
from ..._model.messages import ContentPart, Message, ToolCallPart, ToolResultPart
from ..._model.spec import CallSpec, Chunk, Completion, Endpoint, Usage
from ..wire import MAX_TOKENS, Reader, dumps, loads
from .._common import (
    assistant_message,
    b64decode,
    count,
    error_json,
    native_params,
    same,
    text_of,
    usage_of,
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
from .stream import OpenAIStream, compat_error_text, decode_chunk, dig

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
            body["tools"] = function_tools(spec.tools)
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
        text = text_of(message.parts)
        calls = [p for p in message.parts if isinstance(p, ToolCallPart)]
        native: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
        if calls:
            native["tool_calls"] = tool_calls(calls)
        return native

    # -- response -----------------------------------------------------------------

    def decode(self, body: bytes, headers: Mapping[str, str], spec: CallSpec) -> Completion:
        """The completion in a Chat Completions reply."""
        raw = loads(body, self.provider)
        fast = _plain_reply(raw)
        if fast is not None:
            content, reason, usage = fast
            message = assistant_message(content, [])
            return Completion(
                content=content,
                message=message,
                native_message={"role": "assistant", "content": content},
                raw=raw,
                finish_reasons=(reason,) if reason is not None else None,
                model=raw.get("model"),
                id=raw.get("id"),
                usage=usage,
                reported_cost=self._cost(raw, headers),
            )
        return self._decode_checked(raw, headers)

    def _decode_checked(self, value: Any, headers: Mapping[str, str]) -> Completion:
        """Every reply shape, each value narrowed: the path for anything unusual."""
        r = self._read
        raw = r.obj(value, "")
        choices = r.arr(raw.get("choices"), "choices")
        texts: list[str] = []
        calls: list[ToolCallPart] = []
        raw_calls: list[dict[str, Any]] = []
        kept_raw: list[dict[str, Any]] = []
        finish: list[str] = []
        audio: bytes | None = None
        transcript: str | None = None
        audio_id: str | None = None
        for i, choice_value in enumerate(choices):
            at = f"choices[{i}]"
            choice = r.obj(choice_value, at)
            msg = r.obj(choice.get("message"), f"{at}.message")
            reason = r.opt_str(choice.get("finish_reason"), f"{at}.finish_reason")
            if reason is not None:
                finish.append(reason)
            if i:
                continue  # the first choice is the answer; others only report finish reasons
            content = msg.get("content")
            if isinstance(content, list):  # Mistral may answer with content chunks
                texts.extend(
                    r.str(r.obj(c, f"{at}.message.content").get("text", ""), f"{at}.message.content")
                    for c in content
                )
            else:
                texts.append(r.opt_str(content, f"{at}.message.content") or "")
            for j, call_value in enumerate(r.opt_arr(msg.get("tool_calls"), f"{at}.message.tool_calls")):
                cat = f"{at}.message.tool_calls[{j}]"
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
                    args = dict(arguments)
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
            if msg.get("audio") is not None:
                audio_id, audio, transcript = self._audio(msg.get("audio"), f"{at}.message.audio")
        content = "".join(texts)
        message = assistant_message(content, calls)
        native = self.native_assistant(message)
        if kept_raw:
            native["tool_calls"] = [*native.get("tool_calls", ()), *kept_raw]
        if audio_id is not None:
            native["audio"] = {"id": audio_id}
        return Completion(
            content=content,
            message=message,
            native_message=native,
            raw=raw,
            finish_reasons=tuple(finish) if finish else None,
            model=r.opt_str(raw.get("model"), "model"),
            id=r.opt_str(raw.get("id"), "id"),
            usage=self._usage(raw.get("usage")),
            audio=audio,
            audio_transcript=transcript,
            reported_cost=self._cost(raw, headers),
            raw_tool_calls=tuple(raw_calls),
        )

    def _audio(self, value: Any, at: str) -> tuple[str | None, bytes, str | None]:
        """The id, bytes and transcript of an ``audio`` object (whole or a delta)."""
        r = self._read
        audio = r.obj(value, at)
        data = r.opt_str(audio.get("data"), f"{at}.data") or ""
        return (
            r.opt_str(audio.get("id"), f"{at}.id"),
            b64decode(data, self.provider, f"{at}.data"),
            r.opt_str(audio.get("transcript"), f"{at}.transcript"),
        )

    def _usage(self, value: Any) -> Usage | None:
        r = self._read
        usage = r.opt_obj(value, "usage")
        if usage is None:
            return None
        details = r.opt_obj(usage.get("prompt_tokens_details"), "usage.prompt_tokens_details") or {}
        return usage_of(
            r,
            usage,
            "usage",
            "total_tokens",
            count(r, usage, "usage", "prompt_tokens"),
            count(r, usage, "usage", "completion_tokens"),
            count(r, details, "usage.prompt_tokens_details", "cached_tokens"),
        )

    def _cost(self, raw: Mapping[str, Any], headers: Mapping[str, str]) -> float | None:
        d = self.dialect
        if d.cost_header and d.cost_header in headers:
            try:
                return float(headers[d.cost_header])
            except ValueError:
                return None
        usage = raw.get("usage")
        if d.cost_usage_key and isinstance(usage, dict):
            value = usage.get(d.cost_usage_key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return value * d.cost_scale
        return None

    def _chunk_usage(self, raw: Mapping[str, Any]) -> Any:
        usage = raw.get("usage")
        for path in self.dialect.chunk_usage_paths:
            if usage is not None:
                break
            usage = dig(raw, path)
        return usage

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
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict):
            return False
        return "insufficient_quota" in (error.get("code"), error.get("type"))

    # -- stream -------------------------------------------------------------------

    def stream_decoder(self, spec: CallSpec) -> OpenAIStream:
        """A decoder for one ``text/event-stream`` reply."""
        return OpenAIStream(self)

    def decode_chunk(self, data: Any, headers: Mapping[str, str] | None = None) -> Chunk:
        """One ``chat.completion.chunk`` object as a neutral :class:`Chunk`."""
        return decode_chunk(self, data, headers)


def _tool_message(result: ToolResultPart) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": result.id, "content": result.content}


_PLAIN_MESSAGE_KEYS = frozenset({"role", "content", "refusal", "annotations", "tool_calls", "audio", "function_call"})


def _plain_reply(raw: Any) -> tuple[str, str | None, Usage | None] | None:
    """Content, finish reason and usage of the common reply, read without the general checks.

    One choice whose message is text only (no tool calls, audio or refusal), with string
    ``model``/``id`` and integer usage counts. Anything else returns ``None`` and takes
    the checked path, so both paths accept and produce exactly the same things.
    """
    if type(raw) is not dict:
        return None
    choices = raw.get("choices")
    if type(choices) is not list or len(choices) != 1:
        return None
    choice = choices[0]
    if type(choice) is not dict:
        return None
    message = choice.get("message")
    if type(message) is not dict or not message.keys() <= _PLAIN_MESSAGE_KEYS:
        return None
    content = message.get("content")
    reason = choice.get("finish_reason")
    model, id_ = raw.get("model"), raw.get("id")
    if (
        (content is not None and type(content) is not str)
        or (reason is not None and type(reason) is not str)
        or (model is not None and type(model) is not str)
        or (id_ is not None and type(id_) is not str)
        or message.get("tool_calls") not in (None, [])
        or message.get("audio") is not None
        or message.get("refusal") is not None
        or message.get("function_call") is not None
    ):
        return None
    value = raw.get("usage")
    if value is None:
        return content or "", reason, None
    if type(value) is not dict:
        return None
    details = value.get("prompt_tokens_details")
    if details is None:
        cached = None
    elif type(details) is dict:
        cached = details.get("cached_tokens")
    else:
        return None
    inp, out, total = value.get("prompt_tokens"), value.get("completion_tokens"), value.get("total_tokens")
    # Written out, not a loop: this runs on every reply. Anything but a plain count in
    # range takes the checked path, which logs it and reads it as None.
    if (
        (inp is not None and (type(inp) is not int or not 0 <= inp <= MAX_TOKENS))
        or (out is not None and (type(out) is not int or not 0 <= out <= MAX_TOKENS))
        or (cached is not None and (type(cached) is not int or not 0 <= cached <= MAX_TOKENS))
        or (total is not None and (type(total) is not int or not 0 <= total <= MAX_TOKENS))
    ):
        return None
    inp, out = inp or 0, out or 0
    usage = Usage(inp, out, cached or 0, inp + out if total is None else total)
    return content or "", reason, usage


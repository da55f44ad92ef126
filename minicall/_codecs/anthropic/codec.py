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

Content blocks are built in :mod:`minicall._codecs.anthropic.messages`, streams decoded
in :mod:`minicall._codecs.anthropic.stream` (``ERROR_STATUS`` is re-exported here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..._model.http import HttpRequest
from ..._model.messages import CacheControlPart, Message, TextPart, ToolCallPart
from ..._model.spec import CallSpec, Completion, Endpoint
from ..._model.wire import JSONObject, Reader, dumps, loads
from .._common import (
    Renames,
    assistant_message,
    error_json,
    native_params,
    reasons,
    stop_list,
    text_of,
)
from .messages import blocks, echo_block, system_blocks, system_value
from .stream import (
    ERROR_STATUS,
    PROVIDER,
    AnthropicStream,
    TokenCounts,
    anthropic_error_text,
)

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

_FINISH = {
    "end_turn": "stop",
    "max_tokens": "length",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "refusal": "content_filter",
    "model_context_window_exceeded": "length",
}

# CommonCallParams name -> (Anthropic name, value conversion). Anything else passes
# through verbatim, so the API's own parameters (top_k, metadata, thinking ...) work.
_RENAMES: Renames = {
    "stop": ("stop_sequences", stop_list),
    "stop_sequences": ("stop_sequences", stop_list),
}
_DROPS = frozenset({"frequency_penalty", "presence_penalty", "seed", "system"})


class AnthropicCodec:
    """Encodes :class:`CallSpec` s to Messages API requests and decodes the replies."""

    provider = PROVIDER
    finish_map: Mapping[str, str] = _FINISH
    # The anthropic SDK's APIStatusError reads ``request-id``.
    request_id_headers: tuple[str, ...] = ("request-id",)

    def __init__(self) -> None:
        self._read = Reader(PROVIDER)

    # -- request ------------------------------------------------------------------

    def encode(self, spec: CallSpec, endpoint: Endpoint) -> HttpRequest:
        """The Messages request for ``spec``; system messages become ``system``."""
        native = self.to_native(spec.messages)
        blocks: list[Any] = system_blocks(spec.call_params.get("system"))
        messages: list[dict[str, Any]] = []
        for message in native:
            if message.get("role") == "system":
                blocks.extend(system_blocks(message.get("content")))
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
            body["system"] = system_value(blocks)
        if spec.tools:
            body["tools"] = [
                {
                    "name": t.name,
                    **({"description": t.description} if t.description else {}),
                    "input_schema": dict(t.parameters),
                    **({"cache_control": dict(t.cache_control)} if t.cache_control else {}),
                }
                for t in spec.tools
            ]
        if spec.forced_tool is not None:
            body["tool_choice"] = {"type": "tool", "name": spec.forced_tool}
        body.update(native_params(spec.call_params, _RENAMES, _DROPS))
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
                if message.cache_marked:  # text blocks, cache breakpoints kept
                    marked = [p for p in message.marked_parts if isinstance(p, (TextPart, CacheControlPart))]
                    out.append({"role": "system", "content": blocks(marked)})
                else:
                    text = message.content if isinstance(message.content, str) else text_of(message.parts)
                    out.append({"role": "system", "content": text})
            elif isinstance(message.content, str):
                out.append({"role": "user", "content": message.content})
            else:
                # The API wants tool results first in their user turn.
                made = blocks(message.marked_parts)
                results = [b for b in made if b["type"] == "tool_result"]
                others = [b for b in made if b["type"] != "tool_result"]
                out.append({"role": "user", "content": results + others})
        return out

    def native_assistant(self, message: Message) -> dict[str, Any]:
        """An assistant message as a Messages API dict of content blocks."""
        if isinstance(message.content, str):
            return {"role": "assistant", "content": message.content}
        kept = [p for p in message.marked_parts if not (isinstance(p, TextPart) and not p.text)]
        return {"role": "assistant", "content": blocks(kept)}

    # -- response -----------------------------------------------------------------

    def decode(self, body: bytes, headers: Mapping[str, str], spec: CallSpec) -> Completion:
        """The completion in a ``message`` object."""
        r = self._read
        raw = r.obj(loads(body, PROVIDER), "")
        texts: list[str] = []
        calls: list[ToolCallPart] = []
        raw_calls: list[JSONObject] = []
        native_blocks: list[dict[str, Any]] = []
        for i, value in enumerate(r.arr(raw.get("content"), "content")):
            at = "content[0]" if not i else f"content[{i}]"  # formatted only past the first
            item = r.obj(value, at)
            kind = r.str(item.get("type"), at + ".type")
            if kind == "text":
                texts.append(r.str(item.get("text"), at + ".text"))
            elif kind == "tool_use":
                calls.append(
                    ToolCallPart(
                        r.str(item.get("id"), at + ".id"),
                        r.str(item.get("name"), at + ".name"),
                        dict(r.obj(item.get("input"), at + ".input")),
                    )
                )
                raw_calls.append(item)
            native_blocks.append(echo_block(item))
        reason = r.opt_str(raw.get("stop_reason"), "stop_reason")
        content = "".join(texts)
        return Completion(
            content=content,
            message=assistant_message(content, calls),
            native_message={"role": "assistant", "content": native_blocks},
            raw=raw,
            finish_reasons=reasons(reason),
            model=r.opt_str(raw.get("model"), "model"),
            id=r.opt_str(raw.get("id"), "id"),
            usage=TokenCounts().update(r, raw.get("usage"), "usage").usage(),
            raw_tool_calls=tuple(raw_calls),
        )

    def error_message(self, body: bytes) -> str | None:
        """``error.message`` of an error body (or a proxy's top-level ``message``)."""
        return anthropic_error_text(error_json(body))

    def never_retry(self, status: int, body: bytes) -> bool:
        """Never: Anthropic's 429 is ``rate_limit_error``, which a pause cures, and the
        anthropic SDK retries every 429 (``billing_error`` is a 402 in Anthropic's
        error reference, never retried anyway)."""
        return False

    # -- stream -------------------------------------------------------------------

    def stream_decoder(self, spec: CallSpec) -> AnthropicStream:
        """A decoder for one ``text/event-stream`` reply."""
        return AnthropicStream()


ANTHROPIC = AnthropicCodec()
"""The one codec instance (codecs are stateless)."""

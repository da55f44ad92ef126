"""Amazon Bedrock Runtime: Converse and ConverseStream.

API reference: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
and the botocore service model ``bedrock-runtime/2023-09-30`` (rest-json). Endpoints
``POST {base}/model/{modelId}/converse`` and ``.../converse-stream``, the model id
percent-encoded as one label (``:`` -> ``%3A``). A whole reply is one JSON object with
no id and no model (the id is the ``x-amzn-RequestId`` header). A stream is
``application/vnd.amazon.eventstream`` binary frames (see
:mod:`minicall._framing.eventstream`) whose ``:event-type`` header names the event and
whose JSON payload carries a random ``p`` padding field; usage arrives last, in
``metadata``. Errors: ``{"message": ...}`` with the type in ``x-amzn-ErrorType``;
in a stream, ``:message-type exception`` frames named by ``:exception-type``.

Signing is not done here: the client signs the encoded request (SigV4) afterwards.
Content blocks are built in :mod:`minicall._codecs.bedrock.messages`.
"""
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from ..._auth.sigv4 import encode_model_id
from ..._framing.eventstream import EventStreamDecoder, EventStreamMessage
from ..._model.errors import APIError
from ..._model.http import HttpRequest
from ..._model.messages import Message, ToolCallPart
from ..._model.spec import CallSpec, Chunk, Completion, Endpoint, ToolDelta, Usage
from ..._model.wire import JSONObject, Reader, dumps, loads
from .._common import (
    Renames,
    assistant_message,
    count,
    error_json,
    error_text,
    reasons,
    same,
    stop_list,
    stream_error,
    usage_of,
)
from .messages import blocks, merge_turns, system_blocks

__all__ = ["CODEC", "STREAM_EXCEPTIONS", "BedrockCodec", "error_type"]

PROVIDER = "bedrock"

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
    "malformed_model_output": "stop",
    "malformed_tool_use": "tool_calls",
}

# minicall / Bedrock parameter name -> ``inferenceConfig`` field.
_INFERENCE: Renames = {
    "max_tokens": ("maxTokens", same),
    "maxTokens": ("maxTokens", same),
    "temperature": ("temperature", same),
    "top_p": ("topP", same),
    "topP": ("topP", same),
    "stop": ("stopSequences", stop_list),
    "stopSequences": ("stopSequences", stop_list),
}
# Top-level ConverseRequest members a user may pass verbatim in call_params.
_TOP_LEVEL = frozenset(
    {
        "guardrailConfig",
        "performanceConfig",
        "serviceTier",
        "requestMetadata",
        "promptVariables",
        "additionalModelResponseFieldPaths",
        "outputConfig",
    }
)
# Common parameters Converse has no field for; sending them to the model as
# additionalModelRequestFields would fail on most models, so they are dropped.
_DROPS = frozenset({"seed", "frequency_penalty", "presence_penalty"})

# Stream exception type (``:exception-type``) -> HTTP status, from the service model.
STREAM_EXCEPTIONS = {
    "throttlingException": 429,
    "modelStreamErrorException": 424,
    "validationException": 400,
    "internalServerException": 500,
    "serviceUnavailableException": 503,
    "modelTimeoutException": 408,
    "accessDeniedException": 403,
    "resourceNotFoundException": 404,
}

def error_type(headers: Mapping[str, str], body: bytes) -> str | None:
    """The AWS error code (``ThrottlingException`` ...) from ``x-amzn-ErrorType`` or ``__type``."""
    header = headers.get("x-amzn-errortype")
    if header:
        return header.split(":", 1)[0]
    data = error_json(body)
    if isinstance(data, dict):
        for key in ("__type", "code"):
            value = cast("dict[str, Any]", data).get(key)
            if isinstance(value, str) and value:
                return value.rsplit("#", 1)[-1]
    return None


def _message_of(data: Any) -> str | None:
    return error_text(data, ("message", "Message"))


class BedrockCodec:
    """Encodes :class:`CallSpec` s to Converse requests and decodes the replies."""

    provider = PROVIDER
    finish_map: Mapping[str, str] = _FINISH
    # botocore's REST parsers read ``x-amzn-RequestId``, else ``x-amz-request-id``.
    request_id_headers: tuple[str, ...] = ("x-amzn-requestid", "x-amz-request-id")

    def __init__(self) -> None:
        self._read = Reader(PROVIDER)

    # -- request ------------------------------------------------------------------

    def encode(self, spec: CallSpec, endpoint: Endpoint) -> HttpRequest:
        """The Converse (or ConverseStream) request for ``spec``."""
        system: list[dict[str, Any]] = []
        turns: list[dict[str, Any]] = []
        for native in self.to_native(spec.messages):
            if native.get("role") == "system":
                system.extend(system_blocks(native.get("content")))
            else:
                turns.append(native)
        if spec.json_instruction and spec.response_format is not None:
            system.append({"text": spec.json_instruction})
        body: dict[str, Any] = {"messages": merge_turns(turns)}
        if system:
            body["system"] = system
        inference: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in spec.call_params.items():
            if key in _INFERENCE:
                name, convert = _INFERENCE[key]
                inference[name] = convert(value)
            elif key == "inferenceConfig" and isinstance(value, Mapping):
                inference.update(cast("Mapping[str, Any]", value))
            elif key == "additionalModelRequestFields" and isinstance(value, Mapping):
                extra.update(cast("Mapping[str, Any]", value))
            elif key in _TOP_LEVEL:
                body[key] = value
            elif key not in _DROPS and key != "toolConfig":
                extra[key] = value  # model-specific (top_k, thinking ...)
        if inference:
            body["inferenceConfig"] = inference
        if extra:
            body["additionalModelRequestFields"] = extra
        tool_config = self._tool_config(spec)
        if tool_config:
            body["toolConfig"] = tool_config
        action = "converse-stream" if spec.stream else "converse"
        url = f"{endpoint.base_url}/model/{encode_model_id(spec.model)}/{action}"
        # Only Content-Type: every header here is signed, and botocore signs just this one.
        headers = {"Content-Type": "application/json", **endpoint.headers}
        return HttpRequest("POST", url, headers, dumps(body), endpoint.timeout)

    def _tool_config(self, spec: CallSpec) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if spec.tools:
            config["tools"] = [
                {
                    "toolSpec": {
                        "name": t.name,
                        **({"description": t.description} if t.description else {}),
                        "inputSchema": {"json": dict(t.parameters)},
                    }
                }
                for t in spec.tools
            ]
        if spec.forced_tool is not None:
            config["toolChoice"] = {"tool": {"name": spec.forced_tool}}
        given = spec.call_params.get("toolConfig")
        if isinstance(given, Mapping):
            config.update(cast("Mapping[str, Any]", given))
        return config

    def to_native(self, messages: Sequence[Message | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Neutral messages as Converse message dicts; native dicts pass through.

        System messages come out as ``{"role": "system", "content": [{"text": ...}]}``,
        which :meth:`encode` moves into the request's ``system`` field; tool results
        become user turns of ``toolResult`` blocks.
        """
        out: list[dict[str, Any]] = []
        for message in messages:
            if not isinstance(message, Message):
                out.append(dict(message))
            elif message.role == "assistant":
                out.append(self.native_assistant(message))
            else:
                role = "user" if message.role == "tool" else message.role
                out.append({"role": role, "content": blocks(message.parts)})
        return out

    def native_assistant(self, message: Message) -> dict[str, Any]:
        """An assistant message as a Converse message dict."""
        return {"role": "assistant", "content": blocks(message.parts)}

    # -- response -----------------------------------------------------------------

    def decode(self, body: bytes, headers: Mapping[str, str], spec: CallSpec) -> Completion:
        """The completion in a Converse reply."""
        r = self._read
        raw = r.obj(loads(body, PROVIDER), "")
        output = r.obj(raw.get("output"), "output")
        native = r.obj(output.get("message"), "output.message")
        texts: list[str] = []
        calls: list[ToolCallPart] = []
        raw_calls: list[JSONObject] = []
        for i, value in enumerate(r.arr(native.get("content"), "output.message.content")):
            at = f"output.message.content[{i}]"
            block = r.obj(value, at)
            if "text" in block:
                texts.append(r.str(block["text"], f"{at}.text"))
            elif "toolUse" in block:
                use = r.obj(block["toolUse"], f"{at}.toolUse")
                calls.append(self._tool_call(use, f"{at}.toolUse"))
                raw_calls.append(use)
            # reasoningContent, citations ... stay on the native message only
        content = "".join(texts)
        reason = r.opt_str(raw.get("stopReason"), "stopReason")
        return Completion(
            content=content,
            message=assistant_message(content, calls),
            # The reply's own message keeps reasoning blocks a next turn must echo.
            native_message={**native, "role": "assistant"},
            raw=raw,
            finish_reasons=reasons(reason),
            model=spec.model,
            id=headers.get("x-amzn-requestid"),
            usage=self.usage(raw.get("usage"), "usage"),
            raw_tool_calls=tuple(raw_calls),
        )

    def _tool_call(self, use: JSONObject, at: str) -> ToolCallPart:
        r = self._read
        args = use.get("input")
        return ToolCallPart(
            r.str(use.get("toolUseId"), f"{at}.toolUseId"),
            r.str(use.get("name"), f"{at}.name"),
            {} if args is None else r.obj(args, f"{at}.input"),
        )

    def usage(self, value: Any, path: str) -> Usage | None:
        """``TokenUsage`` as neutral usage; cache reads and writes count as input."""
        r = self._read
        usage = r.opt_obj(value, path)
        if usage is None:
            return None
        return usage_of(
            r,
            usage,
            path,
            "totalTokens",
            count(r, usage, path, "inputTokens", "cacheReadInputTokens", "cacheWriteInputTokens"),
            count(r, usage, path, "outputTokens"),
            count(r, usage, path, "cacheReadInputTokens"),
            count(r, usage, path, "cacheWriteInputTokens"),
        )

    def error_message(self, body: bytes) -> str | None:
        """The service's words in an error body (``message`` or ``Message``)."""
        return _message_of(error_json(body))

    def never_retry(self, status: int, body: bytes) -> bool:
        """Never: Bedrock's 429s are ``ThrottlingException`` and ``ModelNotReadyException``,
        both transient; ``ServiceQuotaExceededException`` is a 400, never retried anyway."""
        return False

    # -- stream -------------------------------------------------------------------

    def stream_decoder(self, spec: CallSpec) -> _StreamDecoder:
        """A decoder for one ``application/vnd.amazon.eventstream`` reply."""
        return _StreamDecoder(self, spec)


class _StreamDecoder:
    """Event-stream frames in, chunks out; exception frames raise typed errors."""

    def __init__(self, codec: BedrockCodec, spec: CallSpec) -> None:
        self._codec = codec
        self._read = codec._read
        self._model = spec.model
        self._frames = EventStreamDecoder()
        self._tool_blocks: set[int] = set()
        self._handlers: dict[str, Callable[[JSONObject], Chunk]] = {
            "messageStart": self._message_start,
            "contentBlockStart": self._block_start,
            "contentBlockDelta": self._block_delta,
            "contentBlockStop": self._block_stop,
            "messageStop": self._message_stop,
            "metadata": self._metadata,
        }

    def headers(self, headers: Mapping[str, str]) -> list[Chunk]:
        """Bedrock's response id is its ``x-amzn-RequestId`` header, streams included."""
        request_id = headers.get("x-amzn-requestid")
        return [Chunk(id=request_id)] if request_id else []

    def feed(self, data: bytes) -> list[Chunk]:
        return [c for m in self._frames.feed(data) if (c := self._event(m)) is not None]

    def close(self) -> list[Chunk]:
        return [c for m in self._frames.close() if (c := self._event(m)) is not None]

    def _event(self, message: EventStreamMessage) -> Chunk | None:
        kind = message.headers.get(":message-type")
        if kind == "exception":
            raise self._exception(message)
        if kind == "error":
            code = str(message.headers.get(":error-code", "error"))
            text = str(message.headers.get(":error-message", "error frame in stream"))
            raise APIError(
                f"{code}: {text}", provider=PROVIDER, body={"code": code, "message": text}
            )
        name = message.headers.get(":event-type")
        handler = self._handlers.get(name) if isinstance(name, str) else None
        if handler is None:
            return None  # an event type newer than this decoder; nothing neutral in it
        payload = self._read.obj(loads(message.payload, PROVIDER, str(name)), str(name))
        payload.pop("p", None)  # random padding against length side channels
        return handler(payload)

    def _exception(self, message: EventStreamMessage) -> APIError:
        name = str(message.headers.get(":exception-type", "internalServerException"))
        body = error_json(message.payload)
        if body is None:
            body = message.payload[:2000].decode("utf-8", "replace")
        text = _message_of(body) or f"{name} in stream"
        return stream_error(text, PROVIDER, body, STREAM_EXCEPTIONS.get(name, 500))

    def _index(self, payload: JSONObject, event: str) -> int:
        return self._read.int(payload.get("contentBlockIndex"), f"{event}.contentBlockIndex")

    def _message_start(self, payload: JSONObject) -> Chunk:
        return Chunk(model=self._model, raw=payload)

    def _block_start(self, payload: JSONObject) -> Chunk:
        r = self._read
        index = self._index(payload, "contentBlockStart")
        start = r.opt_obj(payload.get("start"), "contentBlockStart.start") or {}
        use = r.opt_obj(start.get("toolUse"), "contentBlockStart.start.toolUse")
        if use is None:
            return Chunk(raw=payload)
        self._tool_blocks.add(index)
        delta = ToolDelta(
            index,
            id=r.str(use.get("toolUseId"), "contentBlockStart.start.toolUse.toolUseId"),
            name=r.str(use.get("name"), "contentBlockStart.start.toolUse.name"),
        )
        return Chunk(tool_deltas=(delta,), raw=payload)

    def _block_delta(self, payload: JSONObject) -> Chunk:
        r = self._read
        index = self._index(payload, "contentBlockDelta")
        delta = r.obj(payload.get("delta"), "contentBlockDelta.delta")
        if "text" in delta:
            return Chunk(content=r.str(delta["text"], "contentBlockDelta.delta.text"), raw=payload)
        use = r.opt_obj(delta.get("toolUse"), "contentBlockDelta.delta.toolUse")
        if use is not None:
            piece = r.str(use.get("input"), "contentBlockDelta.delta.toolUse.input")
            return Chunk(tool_deltas=(ToolDelta(index, arguments=piece),), raw=payload)
        return Chunk(raw=payload)  # reasoningContent, citation ...: raw only

    def _block_stop(self, payload: JSONObject) -> Chunk:
        index = self._index(payload, "contentBlockStop")
        if index in self._tool_blocks:
            return Chunk(tool_deltas=(ToolDelta(index, done=True),), raw=payload)
        return Chunk(raw=payload)

    def _message_stop(self, payload: JSONObject) -> Chunk:
        reason = self._read.str(payload.get("stopReason"), "messageStop.stopReason")
        return Chunk(finish_reasons=(reason,), raw=payload)

    def _metadata(self, payload: JSONObject) -> Chunk:
        return Chunk(usage=self._codec.usage(payload.get("usage"), "metadata.usage"), raw=payload)


CODEC = BedrockCodec()

"""Google Gemini ``generateContent``, on the Gemini API and on Vertex AI.

API reference: https://ai.google.dev/api/generate-content (Gemini API) and
https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest (Vertex AI).

Endpoints (``{v}`` is ``Endpoint.options["api_version"]``):

* Gemini API: ``POST {base}/{v}/models/{model}:generateContent`` (``v1`` unless told
  otherwise, as google-genai 3.x defaults); the model gets a ``models/`` prefix unless
  it already starts with ``models/`` or ``tunedModels/``.
* Vertex AI: ``POST {base}/{v}/projects/{project}/locations/{location}/publishers/
  google/models/{model}:generateContent`` (``v1beta1`` by default, as the SDK); a
  model ``pub/name`` becomes ``publishers/pub/models/name``, one starting with
  ``projects/``, ``publishers/`` or ``models/`` is used as it is. Without a project
  (express mode, API key) the ``projects/...`` prefix is left out.

Streams use ``:streamGenerateContent?alt=sse``: server-sent events separated by
``\\r\\n\\r\\n`` whose data is a whole ``GenerateContentResponse`` each, with no end
sentinel. A ``functionCall`` part always arrives whole, so every streamed tool call
is complete in its chunk (``ToolDelta.done``).

Decisions where the wire leaves a choice:

* Function calls usually carry no ``id``; they get ``call_<n>`` (``n`` counts calls in
  the reply), and ids of that shape are not sent back to the API.
* A tool result goes back as ``functionResponse.response``: the object itself when
  the result text is a JSON object, else ``{"result": text}`` (``{"error": text}`` for
  an error result).
* Parts marked ``thought`` are not content; ``usage.output_tokens`` counts thought
  tokens too (they are billed as output).
* A blocked prompt (``promptFeedback.blockReason`` and no candidates) gives content
  ``""`` and the block reason as the finish reason (normalized: ``content_filter``).
* Function calls finish with ``STOP`` (normalized: ``stop``), as the API reports them.

The request body's pieces (parts, function declarations, schemas, where each call
param goes) are built in :mod:`minicall._codecs.gemini.request`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote

from ..._framing.sse import SSEDecoder, ServerSentEvent
from ..._model.errors import APIError
from ..._model.http import HttpRequest
from ..._model.messages import Message, ToolCallPart
from ..._model.spec import CallSpec, Chunk, Completion, Endpoint, ToolDelta, Usage
from ..._model.wire import Reader, dumps, loads
from .._common import (
    SSEChunks,
    assistant_message,
    count,
    error_json,
    error_text,
    status_of,
    stream_error,
    usage_of,
)
from .request import apply_http_options, declaration, native_part, place_params, response_format

__all__ = ["DEFAULT_API_VERSION", "DEFAULT_VERTEX_API_VERSION", "GEMINI", "GeminiCodec"]

PROVIDER = "google"
DEFAULT_API_VERSION = "v1"
DEFAULT_VERTEX_API_VERSION = "v1beta1"

_C = "content_filter"
_FINISH: dict[str, str] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "FINISH_REASON_UNSPECIFIED": "stop",
    "OTHER": "stop",
    "LANGUAGE": "stop",
    "MALFORMED_FUNCTION_CALL": "stop",
    "UNEXPECTED_TOOL_CALL": "stop",
    "TOO_MANY_TOOL_CALLS": "stop",
    "MISSING_THOUGHT_SIGNATURE": "stop",
    "MALFORMED_RESPONSE": "stop",
    "NO_IMAGE": "stop",
    "IMAGE_OTHER": "stop",
    "CONTINUATION": "length",
    "ESCALATION": "stop",
    "PUP_LIMITED_DISABLED": "stop",
    **dict.fromkeys(
        (
            "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
            "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR",
            # promptFeedback.blockReason values, reported when the prompt was blocked
            "BLOCKED_REASON_UNSPECIFIED", "JAILBREAK",
        ),
        _C,
    ),
}

def model_path(model: str, vertex: bool) -> str:
    """The resource name of ``model`` as the SDK forms it."""
    if vertex:
        if model.startswith(("projects/", "models/", "publishers/")):
            return model
        if "/" in model:
            publisher, name = model.split("/", 1)
            return f"publishers/{publisher}/models/{name}"
        return f"publishers/google/models/{model}"
    if model.startswith(("models/", "tunedModels/")):
        return model
    return f"models/{model}"


class GeminiCodec:
    """Encodes :class:`CallSpec` s to ``generateContent`` requests and decodes the replies."""

    provider = PROVIDER
    finish_map: Mapping[str, str] = _FINISH
    # The google-genai SDK's APIError names no request id; the common
    # ``x-request-id`` is the default (a proxy in front of Google may send it).
    request_id_headers: tuple[str, ...] = ("x-request-id",)

    def __init__(self) -> None:
        self._read = Reader(PROVIDER)

    # -- request ------------------------------------------------------------------

    def url(self, spec: CallSpec, endpoint: Endpoint) -> str:
        """The absolute URL for ``spec`` at ``endpoint``."""
        options = endpoint.options
        vertex = options.get("vertex") == "true"
        version = options.get("api_version") or (
            DEFAULT_VERTEX_API_VERSION if vertex else DEFAULT_API_VERSION
        )
        path = model_path(spec.model, vertex)
        project, location = options.get("project"), options.get("location")
        if vertex and project and location and not path.startswith("projects/"):
            path = f"projects/{project}/locations/{location}/{path}"
        method = ":streamGenerateContent?alt=sse" if spec.stream else ":generateContent"
        return f"{endpoint.base_url}/{version}/{quote(path, safe='/@')}{method}"

    def encode(self, spec: CallSpec, endpoint: Endpoint) -> HttpRequest:
        """The ``generateContent`` request for ``spec``."""
        system: list[dict[str, Any]] = []
        contents: list[dict[str, Any]] = []
        for native in self.to_native(spec.messages):
            if native.get("role") == "system":
                system.extend(native.get("parts") or [])
            else:
                contents.append(native)
        body: dict[str, Any] = {"contents": contents}
        generation: dict[str, Any] = {}
        tools: list[dict[str, Any]] = []
        if spec.tools:
            tools.append({"functionDeclarations": [declaration(t.name, t.description, t.parameters) for t in spec.tools]})
        if spec.forced_tool is not None:
            body["toolConfig"] = {
                "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [spec.forced_tool]}
            }
        if spec.response_format is not None:
            generation.update(response_format(spec.response_format))
        http = place_params(spec.call_params, body, generation, tools)
        if isinstance(body.get("systemInstruction"), dict):
            system = [*(body["systemInstruction"].get("parts") or []), *system]
        if system:
            body["systemInstruction"] = {"parts": system, "role": "user"}
        if tools:
            body["tools"] = tools
        if generation:
            body["generationConfig"] = generation
        headers = {"Content-Type": "application/json", **endpoint.headers}
        headers["Accept"] = "text/event-stream" if spec.stream else "application/json"
        if http:
            apply_http_options(http, body, headers)
        return HttpRequest("POST", self.url(spec, endpoint), headers, dumps(body), endpoint.timeout)

    def to_native(self, messages: Sequence[Message | Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Neutral messages as Gemini ``Content`` dicts; native dicts pass through.

        System messages come out as ``{"role": "system", "parts": [...]}``, which
        :meth:`encode` moves (with any native dict of that role) into
        ``systemInstruction``. Tool results become ``functionResponse`` parts in a
        ``user`` turn.
        """
        out: list[dict[str, Any]] = []
        for message in messages:
            if not isinstance(message, Message):
                out.append(dict(message))
            elif message.role == "assistant":
                out.append(self.native_assistant(message))
            else:
                role = "system" if message.role == "system" else "user"
                parts = [native_part(p) for p in message.parts]
                out.append({"role": role, "parts": parts or [{"text": ""}]})
        return out

    def native_assistant(self, message: Message) -> dict[str, Any]:
        """An assistant message as a ``model``-role ``Content`` dict."""
        parts = [native_part(p) for p in message.parts]
        return {"role": "model", "parts": parts or [{"text": ""}]}

    # -- response -----------------------------------------------------------------

    def decode(self, body: bytes, headers: Mapping[str, str], spec: CallSpec) -> Completion:
        """The completion in a ``GenerateContentResponse``."""
        raw = self._read.obj(loads(body, PROVIDER), "")
        texts, calls, raw_calls, parts = self._candidate(raw, "", 0)
        content = "".join(texts)
        return Completion(
            content=content,
            message=assistant_message(content, calls),
            native_message={"role": "model", "parts": parts or [{"text": ""}]},
            raw=raw,
            finish_reasons=self._finish(raw, ""),
            model=self._read.opt_str(raw.get("modelVersion"), "modelVersion"),
            id=self._read.opt_str(raw.get("responseId"), "responseId"),
            usage=self._usage(raw.get("usageMetadata"), "usageMetadata"),
            raw_tool_calls=tuple(raw_calls),
        )

    def _candidate(
        self, raw: Mapping[str, Any], at: str, first_call: int
    ) -> tuple[list[str], list[ToolCallPart], list[dict[str, Any]], list[dict[str, Any]]]:
        """Texts, tool calls, raw ``functionCall`` objects and raw parts of candidate 0."""
        r = self._read
        candidates = r.opt_arr(raw.get("candidates"), f"{at}candidates")
        texts: list[str] = []
        calls: list[ToolCallPart] = []
        raw_calls: list[dict[str, Any]] = []
        if not candidates:
            return texts, calls, raw_calls, []
        cat = f"{at}candidates[0]"
        candidate = r.obj(candidates[0], cat)
        content = r.opt_obj(candidate.get("content"), f"{cat}.content") or {}
        parts = r.opt_arr(content.get("parts"), f"{cat}.content.parts")
        for i, value in enumerate(parts):
            pat = f"{cat}.content.parts[{i}]"
            part = r.obj(value, pat)
            text = r.opt_str(part.get("text"), f"{pat}.text")
            if text is not None and part.get("thought") is not True:
                texts.append(text)
            fn = r.opt_obj(part.get("functionCall"), f"{pat}.functionCall")
            if fn is not None:
                index = first_call + len(calls)
                calls.append(
                    ToolCallPart(
                        r.opt_str(fn.get("id"), f"{pat}.functionCall.id") or f"call_{index}",
                        r.str(fn.get("name"), f"{pat}.functionCall.name"),
                        r.opt_obj(fn.get("args"), f"{pat}.functionCall.args") or {},
                        signature=r.opt_str(part.get("thoughtSignature"), f"{pat}.thoughtSignature"),
                    )
                )
                raw_calls.append(fn)
        return texts, calls, raw_calls, [dict(p) for p in parts]

    def _finish(self, raw: Mapping[str, Any], at: str) -> tuple[str, ...] | None:
        r = self._read
        reasons: list[str] = []
        candidates = r.opt_arr(raw.get("candidates"), f"{at}candidates")
        for i, value in enumerate(candidates):
            cat = f"{at}candidates[{i}]"
            reason = r.opt_str(r.obj(value, cat).get("finishReason"), f"{cat}.finishReason")
            if reason is not None:
                reasons.append(reason)
        feedback = r.opt_obj(raw.get("promptFeedback"), f"{at}promptFeedback") or {}
        blocked = r.opt_str(feedback.get("blockReason"), f"{at}promptFeedback.blockReason")
        if blocked is not None and not candidates:
            reasons.append(blocked)
        return tuple(reasons) if reasons else None

    def _usage(self, value: Any, at: str) -> Usage | None:
        r = self._read
        usage = r.opt_obj(value, at)
        if usage is None:
            return None
        return usage_of(
            r,
            usage,
            at,
            "totalTokenCount",
            count(r, usage, at, "promptTokenCount"),
            count(r, usage, at, "candidatesTokenCount", "thoughtsTokenCount"),
            count(r, usage, at, "cachedContentTokenCount"),
        )

    def error_message(self, body: bytes) -> str | None:
        """``error.message`` of a Google error body."""
        data = error_json(body)
        # Some gateways answer with a one-element array around the error object.
        if isinstance(data, list):
            wrapped = cast("Sequence[Any]", data)
            if len(wrapped) == 1:
                data = wrapped[0]
        return error_text(data)

    def never_retry(self, status: int, body: bytes) -> bool:
        """Never: the google-genai SDK retries every 429 (``RESOURCE_EXHAUSTED``) and
        marks no error body final."""
        return False

    # -- stream -------------------------------------------------------------------

    def stream_decoder(self, spec: CallSpec) -> _StreamDecoder:
        """A decoder for one ``alt=sse`` reply."""
        return _StreamDecoder(self)

    def decode_chunk(self, data: Any, first_call: int) -> Chunk:
        """One streamed ``GenerateContentResponse``; tool calls numbered from ``first_call``."""
        raw = self._read.obj(data, "chunk")
        err = raw.get("error")
        if err:
            raise _stream_error(err, raw)
        texts, calls, _, _ = self._candidate(raw, "chunk.", first_call)
        deltas = tuple(
            ToolDelta(first_call + i, c.id, c.name, json.dumps(dict(c.args)), done=True, signature=c.signature)
            for i, c in enumerate(calls)
        )
        return Chunk(
            content="".join(texts),
            tool_deltas=deltas,
            finish_reasons=self._finish(raw, "chunk."),
            usage=self._usage(raw.get("usageMetadata"), "chunk.usageMetadata"),
            model=self._read.opt_str(raw.get("modelVersion"), "chunk.modelVersion"),
            id=self._read.opt_str(raw.get("responseId"), "chunk.responseId"),
            raw=raw,
        )


def _stream_error(err: Any, raw: Mapping[str, Any]) -> APIError:
    message = error_text({"error": err}) or "error event in stream"
    status = status_of(cast("dict[str, Any]", err).get("code")) if isinstance(err, dict) else None
    return stream_error(message, PROVIDER, dict(raw), status)


# A bare error object longer than this is not read as one (its lines are dropped).
_MAX_STRAY = 64 * 1024


class _StreamDecoder(SSEChunks):
    """SSE bytes in, chunks out; counts tool calls so their indexes never repeat.

    A stream that fails after it began ends with a bare ``{"error": ...}`` object written
    line by line outside any ``data:`` line (the google-genai SDK reads it as an
    ``APIError``). Those lines are joined until they parse; the error is raised by the
    next ``feed`` or ``close``, so the chunks before it in the same bytes still arrive.
    """

    def __init__(self, codec: GeminiCodec) -> None:
        super().__init__()
        self._sse = SSEDecoder(keep_stray=True)
        self._codec = codec
        self._calls = 0
        self._stray: list[str] = []
        self._stray_len = 0
        self._held: APIError | None = None

    def feed(self, data: bytes) -> list[Chunk]:
        if self._held is not None:
            raise self._held
        chunks = super().feed(data)
        self._read_stray()
        return chunks

    def close(self) -> list[Chunk]:
        if self._held is not None:
            raise self._held
        chunks = super().close()
        self._read_stray()
        if self._held is not None:
            raise self._held
        return chunks

    def _read_stray(self) -> None:
        for line in self._sse.take_stray():
            if not self._stray and not line.lstrip().startswith("{"):
                continue  # not the start of an object: ignored, as the spec ignores it
            self._stray.append(line)
            self._stray_len += len(line)
            try:
                value = json.loads("\n".join(self._stray))
            except ValueError:
                if self._stray_len > _MAX_STRAY:
                    self._stray, self._stray_len = [], 0
                continue
            self._stray, self._stray_len = [], 0
            if isinstance(value, dict) and cast("dict[str, Any]", value).get("error"):
                raw = cast("dict[str, Any]", value)
                self._held = self._held or _stream_error(raw["error"], raw)

    def _chunk(self, event: ServerSentEvent) -> Chunk | None:
        if not event.data.strip():
            return None
        chunk = self._codec.decode_chunk(loads(event.data, PROVIDER, "chunk"), self._calls)
        self._calls += len(chunk.tool_deltas)
        return chunk


GEMINI = GeminiCodec()
"""The one codec instance (it holds no state)."""

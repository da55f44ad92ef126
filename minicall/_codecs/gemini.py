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
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from .._errors import APIError, ConfigurationError, error_for_status
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
from .._schema import gemini_schema
from .._spec import CallSpec, Chunk, Completion, Endpoint, ResponseFormat, ToolDelta, Usage
from .._wire import Reader, dumps, loads

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

# minicall's common call params -> generationConfig fields.
_COMMON = {
    "max_tokens": "maxOutputTokens",
    "stop": "stopSequences",
    "top_p": "topP",
    "top_k": "topK",
    "frequency_penalty": "frequencyPenalty",
    "presence_penalty": "presencePenalty",
    "temperature": "temperature",
    "seed": "seed",
}

# GenerationConfig fields (camelCase); snake_case spellings are accepted too.
_GENERATION = frozenset({
    "temperature", "topP", "topK", "candidateCount", "maxOutputTokens", "stopSequences",
    "responseLogprobs", "logprobs", "presencePenalty", "frequencyPenalty", "seed",
    "responseMimeType", "responseSchema", "responseJsonSchema", "routingConfig",
    "modelSelectionConfig", "responseModalities", "mediaResolution", "speechConfig",
    "audioTimestamp", "thinkingConfig", "imageConfig", "enableEnhancedCivicAnswers",
})

# Request fields that sit beside ``generationConfig`` rather than inside it.
_TOP_LEVEL = frozenset({
    "safetySettings", "toolConfig", "cachedContent", "labels", "tools",
    "systemInstruction", "modelArmorConfig",
})

# Keys whose value is a whole sub-object spread over the request.
_NESTED = frozenset({"generationConfig", "config"})

_SYNTHETIC_ID = re.compile(r"call_\d+")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _upper_types(schema: Any, order: bool) -> Any:
    """Gemini's ``Schema.type`` is an enum spelled in capitals (``OBJECT``, ``STRING``).

    With ``order``, objects of several properties get ``propertyOrdering`` in
    declaration order, as the SDK adds to response schemas: the model then writes the
    fields in that order, which partial models streamed field by field rely on.
    """
    if isinstance(schema, list):
        return [_upper_types(s, order) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.upper()
        elif key == "properties" and isinstance(value, dict):
            out[key] = {n: _upper_types(v, order) for n, v in value.items()}
            if order and len(value) > 1 and "propertyOrdering" not in schema:
                out["propertyOrdering"] = list(value)
        elif key in ("items", "anyOf"):
            out[key] = _upper_types(value, order)
        else:
            out[key] = value
    return out


def _openapi(schema: Mapping[str, Any], order: bool = False) -> dict[str, Any] | None:
    """``schema`` in Gemini's OpenAPI subset, or ``None`` when it cannot be (recursion)."""
    try:
        converted: dict[str, Any] = _upper_types(gemini_schema(dict(schema)), order)
    except ConfigurationError:
        return None
    return converted


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
            tools.append({"functionDeclarations": [_declaration(t.name, t.description, t.parameters) for t in spec.tools]})
        if spec.forced_tool is not None:
            body["toolConfig"] = {
                "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [spec.forced_tool]}
            }
        if spec.response_format is not None:
            generation.update(_response_format(spec.response_format))
        self._params(spec.call_params, body, generation, tools)
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
        return HttpRequest("POST", self.url(spec, endpoint), headers, dumps(body), endpoint.timeout)

    def _params(
        self,
        params: Mapping[str, Any],
        body: dict[str, Any],
        generation: dict[str, Any],
        tools: list[dict[str, Any]],
    ) -> None:
        """Place each call param: common names renamed, native ones where they belong."""
        for key, value in params.items():
            if key in _COMMON:
                name = _COMMON[key]
                generation[name] = [value] if name == "stopSequences" and isinstance(value, str) else value
                continue
            name = _camel(key)
            if name in _NESTED and isinstance(value, Mapping):
                self._params(value, body, generation, tools)
            elif name == "tools" and isinstance(value, Sequence):
                tools.extend(dict(t) for t in value)
            elif name in _TOP_LEVEL:
                body[name] = value
            else:
                # GenerationConfig fields, and anything newer than this table.
                generation[name] = value

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
                parts = [_part(p) for p in message.parts]
                out.append({"role": role, "parts": parts or [{"text": ""}]})
        return out

    def native_assistant(self, message: Message) -> dict[str, Any]:
        """An assistant message as a ``model``-role ``Content`` dict."""
        parts = [_part(p) for p in message.parts]
        return {"role": "model", "parts": parts or [{"text": ""}]}

    # -- response -----------------------------------------------------------------

    def decode(self, body: bytes, headers: Mapping[str, str], spec: CallSpec) -> Completion:
        """The completion in a ``GenerateContentResponse``."""
        raw = self._read.obj(loads(body, PROVIDER), "")
        texts, calls, raw_calls, parts = self._candidate(raw, "", 0)
        content = "".join(texts)
        neutral: list[ContentPart] = [TextPart(content)] if content else []
        neutral.extend(calls)
        return Completion(
            content=content,
            message=Message("assistant", neutral),
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

        def count(name: str) -> int:
            return r.opt_int(usage.get(name), f"{at}.{name}") or 0

        prompt = count("promptTokenCount")
        output = count("candidatesTokenCount") + count("thoughtsTokenCount")
        total = r.opt_int(usage.get("totalTokenCount"), f"{at}.totalTokenCount")
        return Usage(
            input_tokens=prompt,
            output_tokens=output,
            cached_tokens=count("cachedContentTokenCount"),
            total_tokens=prompt + output if total is None else total,
        )

    def error_message(self, body: bytes) -> str | None:
        """``error.message`` of a Google error body."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        # Some gateways answer with a one-element array around the error object.
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        err = data.get("error") if isinstance(data, dict) else None
        message = err.get("message") if isinstance(err, dict) else None
        return message if isinstance(message, str) else None

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
            ToolDelta(first_call + i, c.id, c.name, json.dumps(dict(c.args)), done=True)
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
    message = "error event in stream"
    status: int | None = None
    if isinstance(err, dict):
        if isinstance(err.get("message"), str):
            message = err["message"]
        code = err.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
            status = code
    kind = APIError if status is None else error_for_status(status)
    return kind(message, status_code=status, provider=PROVIDER, body=dict(raw))


class _StreamDecoder:
    """SSE bytes in, chunks out; counts tool calls so their indexes never repeat."""

    def __init__(self, codec: GeminiCodec) -> None:
        self._codec = codec
        self._sse = SSEDecoder()
        self._calls = 0

    def _chunks(self, events: Sequence[ServerSentEvent]) -> list[Chunk]:
        chunks: list[Chunk] = []
        for event in events:
            if not event.data.strip():
                continue
            chunk = self._codec.decode_chunk(loads(event.data, PROVIDER, "chunk"), self._calls)
            self._calls += len(chunk.tool_deltas)
            chunks.append(chunk)
        return chunks

    def feed(self, data: bytes) -> list[Chunk]:
        return self._chunks(self._sse.feed(data))

    def close(self) -> list[Chunk]:
        return self._chunks(self._sse.close())


def _declaration(name: str, description: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    declaration: dict[str, Any] = {"name": name}
    if description:
        declaration["description"] = description
    schema = _openapi(parameters)
    if schema is not None:
        declaration["parameters"] = schema
    else:
        declaration["parametersJsonSchema"] = dict(parameters)
    return declaration


def _response_format(fmt: ResponseFormat) -> dict[str, Any]:
    out: dict[str, Any] = {"responseMimeType": "application/json"}
    if fmt.kind == "json_schema" and fmt.schema is not None:
        schema = _openapi(fmt.schema, order=True)
        if schema is not None:
            out["responseSchema"] = schema
        else:
            out["responseJsonSchema"] = dict(fmt.schema)
    return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _media(media_type: str, data: bytes) -> dict[str, Any]:
    return {"inlineData": {"mimeType": media_type, "data": _b64(data)}}


def _image(part: ImagePart) -> dict[str, Any]:
    if part.image is not None:
        return _media(part.media_type, part.image)
    url = part.url or ""
    if url.startswith("data:") and ";base64," in url:
        head, _, data = url.partition(";base64,")
        try:
            return _media(head[5:] or part.media_type, base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            raise ConfigurationError("an image data: URL does not hold valid base64") from None
    return {"fileData": {"mimeType": part.media_type, "fileUri": url}}


def _response(result: ToolResultPart) -> dict[str, Any]:
    if result.is_error:
        return {"error": result.content}
    try:
        value = json.loads(result.content)
    except (ValueError, RecursionError):
        value = None
    return value if isinstance(value, dict) else {"result": result.content}


def _with_id(payload: dict[str, Any], call_id: str) -> dict[str, Any]:
    # Ids minicall made up mean nothing to the API; real ones are echoed back.
    if call_id and not _SYNTHETIC_ID.fullmatch(call_id):
        payload["id"] = call_id
    return payload


def _part(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"text": part.text}
    if isinstance(part, ImagePart):
        return _image(part)
    if isinstance(part, AudioPart):
        return _media(part.media_type, part.audio)
    if isinstance(part, DocumentPart):
        return _media(part.media_type, part.document)
    if isinstance(part, ToolCallPart):
        return {"functionCall": _with_id({"name": part.name, "args": dict(part.args)}, part.id)}
    return {"functionResponse": _with_id({"name": part.name, "response": _response(part)}, part.id)}


GEMINI = GeminiCodec()
"""The one codec instance (it holds no state)."""

"""The pieces of a Gemini ``generateContent`` request body.

API reference: https://ai.google.dev/api/generate-content#request-body (``contents``,
``tools``, ``toolConfig``, ``systemInstruction``, ``generationConfig``) and the
matching Vertex AI ``GenerateContentRequest``. This module turns neutral parts into
``Part`` dicts, tools into ``functionDeclarations``, JSON schemas into Gemini's
OpenAPI subset, and places each call param where the API wants it; the request as a
whole (URL, framing) is built by :mod:`minicall._codecs.gemini.codec`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from ..._model.errors import ConfigurationError, PromptError
from ..._model.messages import (
    AudioPart,
    ContentPart,
    DocumentPart,
    ImagePart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from ..._schema.dialects import gemini_schema
from ..._model.spec import ResponseFormat
from .._common import Renames, b64encode, json_object, same, split_data_url, stop_list

__all__ = ["apply_http_options", "declaration", "native_part", "place_params", "response_format"]

# minicall's common call params -> generationConfig fields.
_COMMON: Renames = {
    "max_tokens": ("maxOutputTokens", same),
    "stop": ("stopSequences", stop_list),
    "top_p": ("topP", same),
    "top_k": ("topK", same),
    "frequency_penalty": ("frequencyPenalty", same),
    "presence_penalty": ("presencePenalty", same),
    "temperature": ("temperature", same),
    "seed": ("seed", same),
}

# GenerationConfig fields (camelCase); snake_case spellings are accepted too. Names
# outside every table go to generationConfig as well, so newer fields work unlisted.
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
        return [_upper_types(s, order) for s in cast("Sequence[Any]", schema)]
    if not isinstance(schema, dict):
        return schema
    schema = cast("dict[str, Any]", schema)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.upper()
        elif key == "properties" and isinstance(value, dict):
            properties = cast("dict[str, Any]", value)
            out[key] = {n: _upper_types(v, order) for n, v in properties.items()}
            if order and len(properties) > 1 and "propertyOrdering" not in schema:
                out["propertyOrdering"] = list(properties)
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


def place_params(
    params: Mapping[str, Any],
    body: dict[str, Any],
    generation: dict[str, Any],
    tools: list[dict[str, Any]],
    http: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Place each call param: common names renamed into ``generation``, native ones
    (snake_case or camelCase) in ``body``, ``generation`` or ``tools`` where they belong.

    Returns the google-genai SDK's ``http_options`` found (in ``config`` or at the top),
    which are not request fields: see :func:`apply_http_options`."""
    http = {} if http is None else http
    for key, value in params.items():
        if key in _COMMON:
            name, convert = _COMMON[key]
            generation[name] = convert(value)
            continue
        name = _camel(key)
        if name == "httpOptions" and isinstance(value, Mapping):
            http.update({_camel(k): v for k, v in cast("Mapping[str, Any]", value).items()})
        elif name in _NESTED and isinstance(value, Mapping):
            place_params(cast("Mapping[str, Any]", value), body, generation, tools, http)
        elif name == "tools" and isinstance(value, Sequence):
            tools.extend(dict(t) for t in cast("Sequence[Mapping[str, Any]]", value))
        elif name in _TOP_LEVEL:
            body[name] = value
        else:
            # GenerationConfig fields, and anything newer than this table.
            generation[name] = value
    return http


_BAD_HEADER = re.compile(r"[\r\n\x00]")


def _merge(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    # As the SDK's recursive_dict_update: nested objects merge, anything else replaces.
    for key, value in extra.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            _merge(cast("dict[str, Any]", current), cast("Mapping[str, Any]", value))
        else:
            target[key] = value


def apply_http_options(http: Mapping[str, Any], body: dict[str, Any], headers: dict[str, str]) -> None:
    """``http_options`` as the google-genai SDK applies them to one request: ``headers``
    join the request's (replacing one of the same name), ``extra_body`` merges into the
    body. The SDK's other options (``base_url``, ``api_version``, ``timeout``, retries)
    belong to the client here (``GoogleClient``) and are ignored."""
    given: Any = http.get("headers")
    if given is not None:
        if not isinstance(given, Mapping):
            raise PromptError(f"config http_options headers must be a dict of strings, got {type(given).__name__}")
        for name, value in cast("Mapping[object, object]", given).items():
            if not isinstance(name, str) or not isinstance(value, str) or _BAD_HEADER.search(name + value):
                raise PromptError(f"config http_options headers: {name!r} is not a header of one line of text")
            for old in [k for k in headers if k.lower() == name.lower()]:
                del headers[old]
            headers[name] = value
    extra: Any = http.get("extraBody")
    if extra is not None:
        if not isinstance(extra, Mapping):
            raise PromptError(f"config http_options extra_body must be a dict, got {type(extra).__name__}")
        _merge(body, cast("Mapping[str, Any]", extra))


def declaration(name: str, description: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A ``functionDeclaration``: the schema in OpenAPI form, else as JSON Schema."""
    declaration: dict[str, Any] = {"name": name}
    if description:
        declaration["description"] = description
    schema = _openapi(parameters)
    if schema is not None:
        declaration["parameters"] = schema
    else:
        declaration["parametersJsonSchema"] = dict(parameters)
    return declaration


def response_format(fmt: ResponseFormat) -> dict[str, Any]:
    """The ``generationConfig`` fields that ask for JSON (and its schema)."""
    out: dict[str, Any] = {"responseMimeType": "application/json"}
    if fmt.kind == "json_schema" and fmt.schema is not None:
        schema = _openapi(fmt.schema, order=True)
        if schema is not None:
            out["responseSchema"] = schema
        else:
            out["responseJsonSchema"] = dict(fmt.schema)
    return out


def _media(media_type: str, data: bytes) -> dict[str, Any]:
    return {"inlineData": {"mimeType": media_type, "data": b64encode(data)}}


def _image(part: ImagePart) -> dict[str, Any]:
    if part.image is not None:
        return _media(part.media_type, part.image)
    inline = split_data_url(part.url)
    if inline is not None:
        head, data = inline
        try:
            return _media(head or part.media_type, base64.b64decode(data, validate=True))
        except (binascii.Error, ValueError):
            raise ConfigurationError("an image data: URL does not hold valid base64") from None
    return {"fileData": {"mimeType": part.media_type, "fileUri": part.url or ""}}


def _response(result: ToolResultPart) -> dict[str, Any]:
    if result.is_error:
        return {"error": result.content}
    value = json_object(result.content)
    return {"result": result.content} if value is None else value


def _with_id(payload: dict[str, Any], call_id: str) -> dict[str, Any]:
    # Ids minicall made up mean nothing to the API; real ones are echoed back.
    if call_id and not _SYNTHETIC_ID.fullmatch(call_id):
        payload["id"] = call_id
    return payload


def native_part(part: ContentPart) -> dict[str, Any]:
    """One neutral part as a Gemini ``Part`` dict."""
    if isinstance(part, TextPart):
        return {"text": part.text}
    if isinstance(part, ImagePart):
        return _image(part)
    if isinstance(part, AudioPart):
        return _media(part.media_type, part.audio)
    if isinstance(part, DocumentPart):
        return _media(part.media_type, part.document)
    if isinstance(part, ToolCallPart):
        call: dict[str, Any] = {"functionCall": _with_id({"name": part.name, "args": dict(part.args)}, part.id)}
        if part.signature:
            call["thoughtSignature"] = part.signature  # Gemini 2.5/3 refuse a tool loop without it
        return call
    return {"functionResponse": _with_id({"name": part.name, "response": _response(part)}, part.id)}

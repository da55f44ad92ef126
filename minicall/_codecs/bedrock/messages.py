"""Neutral messages as Bedrock Converse content blocks.

API reference: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html
(the ``messages`` and ``system`` members of ``POST {base}/model/{modelId}/converse``).
Each block is a one-key object (``text``, ``image``, ``document``, ``audio``,
``toolUse``, ``toolResult``); media travel as base64 ``bytes`` or an ``s3Location``
and name their format by a short word, not a media type. Converse wants user and
assistant turns to alternate, so adjacent turns of one role are merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from ..._model.errors import PromptError
from ..._model.messages import (
    AudioPart,
    ContentPart,
    DocumentPart,
    ImagePart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from .._common import b64encode, json_object, media_format

__all__ = ["blocks", "merge_turns", "system_blocks"]

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_DOC_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_AUDIO_FORMATS = {"audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/wav": "wav", "audio/x-wav": "wav"}


def _source(data: bytes | None, url: str | None, what: str) -> dict[str, Any]:
    if data is not None:
        return {"bytes": b64encode(data)}
    if url and url.startswith("s3://"):
        return {"s3Location": {"uri": url}}
    raise PromptError(f"Bedrock takes {what}s as bytes or s3:// locations, not {url!r}")


def _image(part: ImagePart) -> dict[str, Any]:
    fmt = media_format(_IMAGE_FORMATS, part.media_type)
    return {"image": {"format": fmt, "source": _source(part.image, part.url, "image")}}


def _document(part: DocumentPart, n: int) -> dict[str, Any]:
    fmt = media_format(_DOC_FORMATS, part.media_type)
    # The name must be unique in a request and limited to letters, digits and a few marks.
    return {
        "document": {
            "format": fmt,
            "name": f"document {n}",
            "source": {"bytes": b64encode(part.document)},
        }
    }


def _audio(part: AudioPart) -> dict[str, Any]:
    fmt = media_format(_AUDIO_FORMATS, part.media_type)
    return {"audio": {"format": fmt, "source": {"bytes": b64encode(part.audio)}}}


def _tool_result(part: ToolResultPart) -> dict[str, Any]:
    # A JSON object result travels as a ``json`` document, which models read structurally.
    value = json_object(part.content)
    content: list[dict[str, Any]] = [{"json": value}] if value is not None else [{"text": part.content or " "}]
    return {
        "toolResult": {
            "toolUseId": part.id,
            "content": content,
            "status": "error" if part.is_error else "success",
        }
    }


def _tool_use(part: ToolCallPart) -> dict[str, Any]:
    return {"toolUse": {"toolUseId": part.id, "name": part.name, "input": dict(part.args)}}


def blocks(parts: Sequence[ContentPart]) -> list[dict[str, Any]]:
    """Neutral parts as Converse content blocks (documents numbered for unique names)."""
    blocks: list[dict[str, Any]] = []
    documents = 0
    for part in parts:
        if isinstance(part, TextPart):
            if part.text:  # Bedrock rejects blank text blocks
                blocks.append({"text": part.text})
        elif isinstance(part, ImagePart):
            blocks.append(_image(part))
        elif isinstance(part, DocumentPart):
            documents += 1
            blocks.append(_document(part, documents))
        elif isinstance(part, AudioPart):
            blocks.append(_audio(part))
        elif isinstance(part, ToolCallPart):
            blocks.append(_tool_use(part))
        else:
            blocks.append(_tool_result(part))
    return blocks


def system_blocks(content: Any) -> list[dict[str, Any]]:
    """A native system message's content (text or blocks) as ``system`` blocks."""
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if isinstance(content, list):
        return [cast("dict[str, Any]", b) if isinstance(b, dict) else {"text": str(b)} for b in cast("Sequence[Any]", content)]
    return []


def merge_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Adjacent turns of one role joined: Converse requires roles to alternate."""
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if (
            out
            and out[-1].get("role") == message.get("role")
            and isinstance(content, list)
            and isinstance(out[-1].get("content"), list)
        ):
            out[-1] = {**out[-1], "content": [*out[-1]["content"], *content]}
        else:
            out.append(message)
    return out

"""What the OpenAI-compatible provider modules share: a bearer-key client and the
parameters every Chat Completions dialect documents.

A compatible provider module is then names plus a :class:`Dialect` and its
environment variables::

    class GroqClient(CompatClient):
        provider = "groq"
        dialect = GROQ
        api_key_env = ("GROQ_API_KEY",)
        base_url_env = ("GROQ_BASE_URL",)
        default_base_url = "https://api.groq.com"
"""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict

from .._call.client import BaseClient
from .._codecs.openai.codec import OPENAI, Dialect, OpenAICompatCodec
from .._model.spec import Codec

__all__ = ["ChatParams", "CompatClient", "codec_for"]

# Keyed by identity: a dialect is a frozen constant, but its mappings make it unhashable.
_CODECS: dict[int, tuple[Dialect, OpenAICompatCodec]] = {}


def codec_for(dialect: Dialect) -> OpenAICompatCodec:
    """The (stateless, shared) codec for ``dialect``."""
    entry = _CODECS.get(id(dialect))
    if entry is None or entry[0] is not dialect:
        entry = (dialect, OpenAICompatCodec(dialect))
        _CODECS[id(dialect)] = entry
    return entry[1]


class CompatClient(BaseClient):
    """A client for an OpenAI-compatible API with ``Authorization: Bearer <key>``."""

    dialect: ClassVar[Dialect] = OPENAI

    @property
    def codec(self) -> Codec:
        return codec_for(self.dialect)


class ChatParams(TypedDict, total=False):
    """The Chat Completions parameters every compatible dialect documents."""

    extra_headers: dict[str, str]
    extra_query: dict[str, Any]
    extra_body: dict[str, Any]
    timeout: float
    frequency_penalty: float
    max_tokens: int
    n: int
    parallel_tool_calls: bool
    presence_penalty: float
    response_format: dict[str, Any]
    stop: str | list[str]
    temperature: float
    tool_choice: str | dict[str, Any]
    top_p: float

"""The facts each OpenAI-compatible provider differs by, one frozen :class:`Dialect` each.

The wire format itself is in :mod:`minicall._codecs.openai.codec` (OpenAI Chat
Completions, ``POST {base}/chat/completions``, SSE streams ending with ``[DONE]``); a
dialect only says where a provider departs from it. See PROVIDERS.md sections 1a, 4,
5, 6, 8 and 9 for the facts behind each field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
]


@dataclass(frozen=True, slots=True)
class Dialect:
    """What one OpenAI-compatible provider does differently.

    ``path`` may contain ``{model}``; ``renames`` map OpenAI parameter names to the
    provider's; ``drops`` are parameters the provider rejects (silently omitted);
    ``required_choice`` is how it spells "must call a tool"; ``strict_schema`` says
    whether ``response_format`` ``json_schema`` with ``strict`` is accepted and
    ``strict_tools`` whether a function definition may say ``strict``;
    ``cost_usage_key``/``cost_scale`` and ``cost_header`` locate a provider-reported cost.
    ``stream_usage`` says whether to ask for stream usage with ``stream_options``
    (providers that send it unasked, or reject the option, set it ``False``);
    ``chunk_usage_paths`` are further places a stream chunk may carry usage (Groq:
    ``x_groq.usage``) and ``chunk_error_paths`` places for an error string that stops
    a stream (Groq: ``x_groq.error``); ``audio_inline`` sends ``input_audio`` as the
    bare base64 string (Mistral) instead of ``{data, format}``; ``document_url`` sends a
    document as a ``document_url`` chunk holding a ``data:`` URL (Mistral) instead of
    OpenAI's ``file`` part.
    """

    provider: str
    path: str = "/chat/completions"
    renames: Mapping[str, str] = field(default_factory=dict[str, str])
    drops: frozenset[str] = frozenset()
    required_choice: str = "required"
    stream_usage: bool = True
    strict_schema: bool = True
    strict_tools: bool = True
    cost_usage_key: str | None = None
    cost_scale: float = 1.0
    cost_header: str | None = None
    chunk_usage_paths: tuple[tuple[str, ...], ...] = ()
    chunk_error_paths: tuple[tuple[str, ...], ...] = ()
    audio_inline: bool = False
    document_url: bool = False


OPENAI = Dialect("openai")

# Groq: the SDK's base is the host root; its create() has no ``stream_options`` and the
# final chunk carries usage in ``x_groq.usage``. logprobs, top_logprobs and logit_bias
# are documented as "not yet supported by any of our models".
GROQ = Dialect(
    "groq",
    path="/openai/v1/chat/completions",
    drops=frozenset({"logprobs", "top_logprobs", "logit_bias"}),
    stream_usage=False,
    chunk_usage_paths=(("x_groq", "usage"),),
    chunk_error_paths=(("x_groq", "error"),),
)

# xAI: 1 USD = 1e10 ticks in ``usage.cost_in_usd_ticks``.
XAI = Dialect("xai", cost_usage_key="cost_in_usd_ticks", cost_scale=1e-10)

# Mistral: the SDK's base is the host root; ``random_seed``, ``max_tokens`` only,
# ``tool_choice: "any"``; usage arrives on the last chunk unasked and the SDK has no
# ``stream_options``. Its content chunks differ too: ``input_audio`` is the bare base64
# string, and a document is a ``document_url`` chunk (the SDK's ``DocumentURLChunk``,
# ``{type, document_url, document_name?}``); Mistral's ``file`` chunk names an uploaded
# file by ``file_id`` and has no room for OpenAI's inline ``file_data``.
MISTRAL = Dialect(
    "mistral",
    path="/v1/chat/completions",
    renames={"seed": "random_seed", "max_completion_tokens": "max_tokens"},
    required_choice="any",
    stream_usage=False,
    audio_inline=True,
    document_url=True,
)

# LiteLLM proxy: OpenAI's wire at the proxy root; the cost is a response header.
LITELLM = Dialect("litellm", cost_header="x-litellm-response-cost")

# Azure AI Model Inference: the azure-ai-inference SDK has no ``stream_options``, and its
# FunctionDefinition no ``strict`` (the service refuses parameters it does not know).
# Azure OpenAI takes OpenAI's body at a deployment path; its v1 API takes it at
# ``/openai/v1`` with the deployment named by the body's ``model`` and no api-version
# (the openai SDK's plain ``OpenAI`` client serves it). The AzureClient picks one and
# sets ``api_version`` in Endpoint.options where the shape has one.
AZURE = Dialect("azure", stream_usage=False, strict_tools=False)
AZURE_OPENAI = Dialect("azure", path="/openai/deployments/{model}/chat/completions")
AZURE_OPENAI_V1 = Dialect("azure", path="/openai/v1/chat/completions")

DIALECTS: Mapping[str, Dialect] = {
    d.provider: d for d in (OPENAI, GROQ, XAI, MISTRAL, LITELLM, AZURE)
}

"""Batch codecs: each provider's batch API, sans-IO.

A batch codec knows one provider's batch endpoints and shapes, and nothing of
sockets. Each operation is a *step*: a generator that yields the
:class:`~minicall._model.http.HttpRequest` s it needs sent (without credentials) and
receives each reply's body, then returns its result; the batch machinery drives it
over the sync or the async transport, so every flow is written once. An error status
never reaches a step: the driver raises it as the plain call would.

Every step starts from ``sample``: the request the plain call would send for one item
(the codec's own ``encode``), from which the batch endpoints' address, api-version and
non-secret headers follow. The payload (the JSONL file, or the JSON body holding
every request) is written by a :class:`PayloadWriter` piece by piece, each item's
request body spliced in as the plain call's codec encoded it.

Providers with a batch API: OpenAI, Azure OpenAI and Groq (the OpenAI batch API,
:mod:`.openai`), Anthropic (message batches, :mod:`.anthropic`), Google (the Gemini
API's batch mode with inline requests, :mod:`.gemini`).
"""

from __future__ import annotations

import importlib
from collections.abc import Generator, Mapping
from typing import Any, Protocol, TypeVar, cast

from ..._model.http import HttpRequest
from ..._model.batch import BatchStatus, ItemResult
from ..._model.errors import ConfigurationError, ResponseFormatError
from ..._model.spec import Endpoint
from ..._model.wire import loads

__all__ = [
    "BATCH_PROVIDERS",
    "BatchCodec",
    "PayloadWriter",
    "Step",
    "batch_codec",
    "batch_request",
    "jsonl_objects",
]

T = TypeVar("T")
Step = Generator[HttpRequest, bytes, T]
"""A batch operation: yields requests to send, receives each 2xx body, returns ``T``."""


class PayloadWriter(Protocol):
    """Writes one batch's payload: ``begin()``, ``item(...)`` per request, ``end()``."""

    content_type: str

    def begin(self) -> bytes: ...

    def item(self, custom_id: str, request: HttpRequest) -> bytes: ...

    def end(self) -> bytes: ...


class BatchCodec(Protocol):
    """One provider's batch API (see the module docstring)."""

    label: str
    """How errors name the API (``"the OpenAI batch API"``)."""
    max_requests: int | None
    max_bytes: int
    """Limits checked before anything is uploaded (``None``: no documented limit)."""

    def check(self, sample: HttpRequest, endpoint: Endpoint) -> None:
        """Raise ``ConfigurationError`` where this client's set-up cannot batch."""
        ...

    def writer(self, sample: HttpRequest, token: str) -> PayloadWriter:
        """A writer for one payload; ``token`` is a random string (multipart boundary)."""
        ...

    def submit(self, sample: HttpRequest, payload: bytes, content_type: str) -> Step[BatchStatus]:
        """Upload the payload and create the batch."""
        ...

    def status(self, sample: HttpRequest, batch_id: str) -> Step[BatchStatus]:
        """The batch as it is now."""
        ...

    def cancel(self, sample: HttpRequest, batch_id: str) -> Step[BatchStatus]:
        """Ask the provider to cancel the batch."""
        ...

    def results(self, sample: HttpRequest, status: BatchStatus) -> Step[list[ItemResult]]:
        """Every item result the provider has for a batch that is done."""
        ...


# provider -> (module, attribute): loaded on first use, as providers are.
BATCH_PROVIDERS: Mapping[str, tuple[str, str]] = {
    "openai": ("openai", "OPENAI"),
    "azure": ("openai", "AZURE"),
    "groq": ("openai", "GROQ"),
    "anthropic": ("anthropic", "ANTHROPIC"),
    "google": ("gemini", "GEMINI"),
}

_WHY_NOT: Mapping[str, str] = {
    "bedrock": (
        "Bedrock batch inference reads its input from and writes its output to S3 buckets "
        "(CreateModelInvocationJob), which minicall does not manage"
    ),
}


def batch_codec(provider: str) -> BatchCodec:
    """The batch codec of ``provider``; ``ConfigurationError`` for one without a batch API."""
    found = BATCH_PROVIDERS.get(provider)
    if found is None:
        why = _WHY_NOT.get(provider, f"{provider} has no batch API minicall speaks")
        raise ConfigurationError(
            f"batch calls run on the providers' batch engines: {', '.join(BATCH_PROVIDERS)} "
            f"(Azure through Azure OpenAI, Google through the Gemini API); {why}"
        )
    module, name = found
    codec: BatchCodec = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    return codec


def batch_request(
    sample: HttpRequest, method: str, url: str, body: bytes = b"", content_type: str | None = "application/json"
) -> HttpRequest:
    """A request to a batch endpoint with the sample's non-secret headers (versions,
    betas, the user's own) and timeout."""
    headers = {
        k: v for k, v in sample.headers.items() if k.lower() not in ("content-type", "accept", "content-length")
    }
    headers["Accept"] = "application/json"
    if content_type is not None and method != "GET":
        headers["Content-Type"] = content_type
    return HttpRequest(method, url, headers, body, sample.timeout)


def jsonl_objects(body: bytes, provider: str) -> list[dict[str, Any]]:
    """The objects of a JSONL body, one a line (blank lines skipped)."""
    out: list[dict[str, Any]] = []
    for n, line in enumerate(body.splitlines()):
        if not line.strip():
            continue
        value = loads(line, provider, f"results line {n + 1}")
        if not isinstance(value, dict):
            raise ResponseFormatError(provider, f"results line {n + 1}", "expected a JSON object", line[:200].decode("utf-8", "replace"))
        out.append(cast("dict[str, Any]", value))
    return out

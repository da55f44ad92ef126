"""Batch codecs: each provider's batch API, sans-IO.

A batch codec knows one provider's batch endpoints and shapes, and nothing of
sockets. Each operation is a *step*: a generator that yields the
:class:`~minicall._model.http.HttpRequest` s it needs sent (without credentials) and
receives each reply's body, then returns its result; the batch machinery drives it
over the sync or the async transport, so every flow is written once. An error status
never reaches a step: the driver raises it as the plain call would.

A results file (JSONL) is not a body the step receives: the step yields a
:class:`Download`, which the driver streams through its :class:`ResultLines` line by
line as it arrives, so that the file is never in memory whole (each line at most
:data:`RESULTS_MAX_LINE` bytes, the file at most :data:`RESULTS_MAX_BYTES`); the
driver then sends ``b""`` back. A line that cannot be read becomes an error in the
slot of the item it names, or, naming none, is counted as unreadable.

Every step starts from ``sample``: the request the plain call would send for one item
(the codec's own ``encode``), from which the batch endpoints' address, api-version and
non-secret headers follow. The payload (the JSONL file, or the JSON body holding
every request) is written by a :class:`PayloadWriter` piece by piece, each item's
request body spliced in as the plain call's codec encoded it.

Providers with a batch API: OpenAI, Azure OpenAI and Groq (the OpenAI batch API,
:mod:`.openai`), Anthropic (message batches, :mod:`.anthropic`), Google (the Gemini
API's batch mode with inline requests, :mod:`.gemini`), Mistral (batch jobs over
uploaded files, :mod:`.mistral`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Generator, Mapping
from dataclasses import replace
from typing import Any, Protocol, TypeVar, cast

from ..._framing.lines import LineSplitter, TooLong
from ..._model.http import HttpRequest
from ..._model.batch import BatchResults, BatchStatus, ItemResult
from ..._model.errors import ConfigurationError, ResponseFormatError
from ..._model.spec import Endpoint
from ..._model.wire import Reader, loads, snippet

__all__ = [
    "BATCH_PROVIDERS",
    "RESULTS_MAX_BYTES",
    "RESULTS_MAX_LINE",
    "BatchCodec",
    "Download",
    "PayloadWriter",
    "ResultLines",
    "Step",
    "batch_codec",
    "batch_request",
]

T = TypeVar("T")

RESULTS_MAX_LINE = 64 * 1024 * 1024
"""The longest results line read: one item's reply, as large as a plain reply may be."""
RESULTS_MAX_BYTES = 16 * 1024 * 1024 * 1024
"""The largest results file read (well above the providers' input limits of 200 and
256 MB: a file is streamed, only its parsed results are held)."""

# Unreadable lines described (the rest only counted): a file of garbage stays small.
_PROBLEMS_KEPT = 5

LineParser = Callable[[Reader, dict[str, Any]], ItemResult]
"""A codec's reading of one results line (a JSON object) into its item's result."""


class ResultLines:
    """Collects a batch's item results from its results files, one line at a time."""

    def __init__(self, provider: str, parse: LineParser) -> None:
        self.provider = provider
        self._parse = parse
        self._read = Reader(provider)
        self._items: list[ItemResult] = []
        self._unreadable = 0
        self._problems: list[str] = []
        self._file = "results"
        self._line = 0

    def download(self, request: HttpRequest, file: str = "results") -> Download:
        """The :class:`Download` of one results file (``file`` names it in errors)."""
        self._file, self._line = file, 0
        return Download(replace(request, max_body_bytes=RESULTS_MAX_BYTES), self)

    def take(self, line: bytes | TooLong) -> None:
        """Read one line of the current file."""
        self._line += 1
        where = f"{self._file} line {self._line}"
        if isinstance(line, TooLong):
            self._lost(where, f"longer than {RESULTS_MAX_LINE} bytes")
            return
        if not line.strip():
            return
        try:
            value = loads(line, self.provider, where)
        except ResponseFormatError as exc:
            self._lost(where, exc.problem, line)
            return
        if not isinstance(value, dict):
            self._lost(where, "expected a JSON object", line)
            return
        obj = cast("dict[str, Any]", value)
        custom_id = obj.get("custom_id")
        if not isinstance(custom_id, str):
            self._lost(where, "no custom_id string", line)
            return
        try:
            item = self._parse(self._read, obj)
        except ResponseFormatError as exc:
            # The line names its item: the error stands in that item's slot.
            path = f"{where}: {exc.path}" if exc.path else where
            error = ResponseFormatError(self.provider, path, exc.problem, exc.snippet)
            item = ItemResult(custom_id, None, obj, str(error), error=error)
        self._items.append(item)

    def _lost(self, where: str, problem: str, line: bytes = b"") -> None:
        self._unreadable += 1
        if len(self._problems) < _PROBLEMS_KEPT:
            shown = f"; received: {snippet(line[:400])!r}" if line else ""
            self._problems.append(f"{where}: {problem}{shown}")

    def results(self) -> BatchResults:
        """What every line read so far gave."""
        return BatchResults(self._items, self._unreadable, tuple(self._problems))


class Download:
    """A request whose reply is a results file, read line by line as it arrives.

    The driver sends ``request`` (its ``max_body_bytes`` raised for the file), passes
    each piece of the body to :meth:`feed`, calls :meth:`close` at its end, and sends
    ``b""`` back into the step.
    """

    __slots__ = ("lines", "request", "_splitter")

    def __init__(self, request: HttpRequest, lines: ResultLines) -> None:
        self.request = request
        self.lines = lines
        self._splitter = LineSplitter(RESULTS_MAX_LINE)

    def feed(self, data: bytes) -> None:
        """The next piece of the body."""
        for line in self._splitter.feed(data):
            self.lines.take(line)

    def close(self) -> None:
        """The body has ended."""
        for line in self._splitter.close():
            self.lines.take(line)


Step = Generator[HttpRequest | Download, bytes, T]
"""A batch operation: yields requests to send (or results files to read), receives
each 2xx body (``b""`` after a download), returns ``T``."""


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

    def results(self, sample: HttpRequest, status: BatchStatus) -> Step[BatchResults]:
        """Every item result the provider has for a batch that is done."""
        ...

    def inputs(self, sample: HttpRequest, status: BatchStatus) -> Step[BatchResults] | None:
        """The batch's requests as the provider keeps them (each item's ``body`` the
        request body sent), or ``None`` where the provider keeps none."""
        ...


# provider -> (module, attribute): loaded on first use, as providers are.
BATCH_PROVIDERS: Mapping[str, tuple[str, str]] = {
    "openai": ("openai", "OPENAI"),
    "azure": ("openai", "AZURE"),
    "groq": ("openai", "GROQ"),
    "anthropic": ("anthropic", "ANTHROPIC"),
    "google": ("gemini", "GEMINI"),
    "mistral": ("mistral", "MISTRAL"),
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


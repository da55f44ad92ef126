"""The telemetry hook of the one pipeline: log lines and, when available, OpenTelemetry spans.

Each call gets a :class:`CallTrace`. It logs one DEBUG line per attempt (provider,
model, method, masked URL, status, duration, request id, usage when known) and one
when a stream ends (events, duration, usage); retries are logged at INFO by the send
loop. When the ``opentelemetry`` API package is importable, the trace also makes one
span per call or stream following the OpenTelemetry GenAI semantic conventions
(semantic-conventions v1.41, the last release that held them before they moved to
their own repository): ``{operation} {model}``, kind CLIENT, ``gen_ai.*`` request and
response attributes, token usage, ``error.type`` and an error status on failure, one
``gen_ai.retry`` event per retry. Prompt and reply text go on the span only when
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`` is on. No log line and no span
ever holds a header, a credential or (in logs) any prompt or reply text.

``opentelemetry`` is imported lazily, once; when it is absent nothing more is spent.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

from .._model.errors import APIError
from .._model.messages import Message, TextPart, ToolCallPart, ToolResultPart
from .._model.spec import CallSpec, Usage

__all__ = ["CallTrace", "CAPTURE_CONTENT_ENV"]

log = logging.getLogger("minicall")

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_ON = frozenset({"true", "1", "yes", "span_only", "span_and_event"})

# gen_ai.provider.name values (the conventions' well-known ones where they exist).
_PROVIDER_NAMES = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "gcp.gemini",
    "groq": "groq",
    "xai": "x_ai",
    "mistral": "mistral_ai",
    "cohere": "cohere",
    "azure": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "litellm": "litellm",
}
# call_params names -> gen_ai.request.* attributes.
_REQUEST_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "topP": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "topK": "gen_ai.request.top_k",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "maxOutputTokens": "gen_ai.request.max_tokens",
    "stop": "gen_ai.request.stop_sequences",
    "stop_sequences": "gen_ai.request.stop_sequences",
    "stopSequences": "gen_ai.request.stop_sequences",
    "seed": "gen_ai.request.seed",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "n": "gen_ai.request.choice.count",
    "candidate_count": "gen_ai.request.choice.count",
}

_UNSET: Any = object()
_tracer: Any = _UNSET  # the opentelemetry tracer, or None when the package is absent
# opentelemetry.trace and its providers that record nothing (set with ``_tracer``)
_idle: tuple[Any, tuple[type, ...]] = (None, ())


def _get_tracer() -> Any:
    global _tracer, _idle
    if _tracer is _UNSET:
        try:
            trace = importlib.import_module("opentelemetry.trace")
        except ImportError:
            _tracer = None
        else:
            from importlib.metadata import PackageNotFoundError, version

            try:
                mine = version("minicall")
            except PackageNotFoundError:  # a vendored copy
                mine = None
            # A proxy tracer: it follows a tracer provider set up after this call.
            _tracer = trace.get_tracer("minicall", mine)
            kinds = (getattr(trace, "ProxyTracerProvider", None), getattr(trace, "NoOpTracerProvider", None))
            _idle = (trace, tuple(k for k in kinds if isinstance(k, type)))
    return _tracer


def _provider_set() -> bool:
    """Whether a tracer provider is set up: before one is (or with the no-op one) every
    span would be a non-recording one, so none is made and the call pays nothing."""
    trace, idle = _idle
    return not (idle and isinstance(trace.get_tracer_provider(), idle))


def _usage_text(usage: Usage | None) -> str:
    if usage is None:
        return ""
    return f", usage in={usage.input_tokens} out={usage.output_tokens}"


def _attribute_value(value: Any) -> Any:
    """``value`` as an OpenTelemetry attribute value, or ``None`` when it is no such."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = list(cast("Sequence[Any]", value))
        if all(isinstance(v, str) for v in items):
            return items
    return None


def _parts(message: Message) -> list[dict[str, Any]]:
    content = message.content
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    out: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, str):
            out.append({"type": "text", "content": part})
        elif isinstance(part, TextPart):
            out.append({"type": "text", "content": part.text})
        elif isinstance(part, ToolCallPart):
            out.append({"type": "tool_call", "id": part.id, "name": part.name, "arguments": dict(part.args)})
        elif isinstance(part, ToolResultPart):
            out.append({"type": "tool_call_response", "id": part.id, "response": part.content})
        else:  # media: its kind, never its bytes
            out.append({"type": getattr(part, "type", "blob")})
    return out


def _turn(message: Message | Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """(role, parts) of a neutral message or a provider's own message dict."""
    if isinstance(message, Message):
        return message.role, _parts(message)
    content = message.get("content")
    if isinstance(content, str):
        return str(message.get("role", "user")), [{"type": "text", "content": content}]
    return str(message.get("role", "user")), [{"type": "native", "content": content}]


def _capture_on() -> bool:
    return os.environ.get(CAPTURE_CONTENT_ENV, "").strip().lower() in _ON


class CallTrace:
    """One call's log lines and span (see the module docstring)."""

    __slots__ = (
        "_attempt", "_attempt_start", "_ended", "_held", "_span", "_start", "capture", "model", "provider",
    )

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self._start = self._attempt_start = time.perf_counter()
        self._attempt = 0
        self._span: Any = None
        self._ended = False
        self._held: tuple[str, str, str, str | None, float] | None = None
        self.capture = False

    @classmethod
    def begin(cls, provider: str, model: str, spec: CallSpec, url: str) -> CallTrace:
        """Start the trace of a call about to send ``spec`` to ``url``."""
        trace = cls(provider, model)
        tracer = _get_tracer()
        if tracer is not None and _provider_set():
            trace._open_span(tracer, spec, url)
        return trace

    def _open_span(self, tracer: Any, spec: CallSpec, url: str) -> None:
        from .._model.http import split_url

        operation = "generate_content" if self.provider == "google" else "chat"
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": _PROVIDER_NAMES.get(self.provider, self.provider),
            "gen_ai.request.model": self.model,
        }
        try:
            parts = split_url(url)
            if parts.hostname:
                attributes["server.address"] = parts.hostname
                attributes["server.port"] = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            pass
        for name, value in (spec.call_params or {}).items():
            key, shown = _REQUEST_PARAMS.get(name), _attribute_value(value)
            if key is not None and shown is not None:
                attributes[key] = [shown] if key.endswith("stop_sequences") and isinstance(shown, str) else shown
        if spec.stream:
            attributes["gen_ai.request.stream"] = True
        if spec.response_format is not None:
            attributes["gen_ai.output.type"] = "json"
        self.capture = _capture_on()
        if self.capture:
            turns = [_turn(m) for m in spec.messages]
            system = [part for role, parts in turns if role == "system" for part in parts]
            if system:
                attributes["gen_ai.system_instructions"] = json.dumps(system, default=str)
            attributes["gen_ai.input.messages"] = json.dumps(
                [{"role": role, "parts": parts} for role, parts in turns if role != "system"], default=str
            )
        kind = importlib.import_module("opentelemetry.trace").SpanKind.CLIENT
        self._span = tracer.start_span(f"{operation} {self.model}", kind=kind, attributes=attributes)

    # -- attempts ---------------------------------------------------------------------

    @property
    def attempts(self) -> int:
        """The attempts begun so far."""
        return self._attempt

    def attempt_began(self) -> None:
        """An attempt is about to be sent."""
        self._attempt += 1
        self._attempt_start = time.perf_counter()

    def attempt_ended(
        self,
        method: str,
        url: str,
        outcome: str,
        request_id: str | None = None,
        usage: Usage | None = None,
        millis: float | None = None,
    ) -> None:
        """Log the attempt: ``outcome`` is a status code or an error type name."""
        if log.isEnabledFor(logging.DEBUG):
            from .._model.http import redact_url

            if millis is None:
                millis = (time.perf_counter() - self._attempt_start) * 1000
            rid = f", request id {request_id}" if request_id else ""
            log.debug(
                "%s %s attempt %d: %s %s -> %s in %.1f ms%s%s",
                self.provider, self.model, self._attempt, method, redact_url(url), outcome,
                millis, rid, _usage_text(usage),
            )

    def hold(self, method: str, url: str, outcome: str, request_id: str | None) -> None:
        """A successful attempt whose line is logged by :meth:`finished`, with usage."""
        self._held = (method, url, outcome, request_id, (time.perf_counter() - self._attempt_start) * 1000)

    def retrying(self, delay: float, reason: str) -> None:
        """The attempt failed with ``reason`` (our words); the next starts in ``delay`` s."""
        if self._span is not None:
            self._span.add_event(
                "gen_ai.retry", {"minicall.attempt": self._attempt, "minicall.retry.delay_s": delay, "minicall.retry.reason": reason}
            )

    # -- ends -------------------------------------------------------------------------

    def finished(
        self,
        *,
        usage: Usage | None,
        finish_reasons: Sequence[str] | None,
        response_id: str | None,
        response_model: str | None,
        output: Message | None = None,
    ) -> None:
        """The call (or stream) ended well: record what the reply said."""
        if self._ended:
            return
        self._ended = True
        if self._held is not None:
            method, url, outcome, request_id, millis = self._held
            self.attempt_ended(method, url, outcome, request_id, usage, millis)
        span = self._span
        if span is None:
            return
        if response_model:
            span.set_attribute("gen_ai.response.model", response_model)
        if response_id:
            span.set_attribute("gen_ai.response.id", response_id)
        if finish_reasons:
            span.set_attribute("gen_ai.response.finish_reasons", [str(r) for r in finish_reasons])
        if usage is not None:
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
            if usage.cached_tokens:
                span.set_attribute("gen_ai.usage.cache_read.input_tokens", usage.cached_tokens)
            if usage.cache_write_tokens:
                span.set_attribute("gen_ai.usage.cache_creation.input_tokens", usage.cache_write_tokens)
        if self.capture and output is not None:
            message: dict[str, Any] = {"role": "assistant", "parts": _parts(output)}
            if finish_reasons:
                message["finish_reason"] = str(finish_reasons[0])
            span.set_attribute("gen_ai.output.messages", json.dumps([message], default=str))
        span.end()

    def failed(self, error: BaseException) -> None:
        """The call or stream ended with ``error``."""
        if self._ended:
            return
        self._ended = True
        span = self._span
        if span is None:
            return
        status = getattr(error, "status_code", None) if isinstance(error, APIError) else None
        kind = str(status) if status is not None else type(error).__name__
        span.set_attribute("error.type", kind)
        # The type only: an error's words may quote the request, and spans carry no text.
        status_code = importlib.import_module("opentelemetry.trace").StatusCode.ERROR
        span.set_status(status_code, type(error).__name__)
        span.end()

    def stream_ended(self, events: int, state: Any, complete: bool) -> None:
        """Log the end of a stream (``state`` is its :class:`StreamState`) and finish the span."""
        if self._ended:
            return
        if log.isEnabledFor(logging.DEBUG):
            millis = (time.perf_counter() - self._start) * 1000
            how = "ended" if complete else "was closed early"
            log.debug(
                "%s %s stream %s: %d events in %.1f ms%s",
                self.provider, self.model, how, events, millis, _usage_text(state.usage),
            )
        self.finished(
            usage=state.usage,
            finish_reasons=state.finish_reasons,
            response_id=state.id,
            response_model=state.model,
            output=state.message() if self.capture else None,
        )

    def stream_failed(self, error: BaseException) -> None:
        """A stream broke with ``error``: log it like an end, then fail the span."""
        if self._ended:
            return
        if log.isEnabledFor(logging.DEBUG):
            millis = (time.perf_counter() - self._start) * 1000
            log.debug("%s %s stream broke after %.1f ms: %s", self.provider, self.model, millis, type(error).__name__)
        self.failed(error)


def request_id_of(headers: Mapping[str, str], names: Sequence[str]) -> str | None:
    """The first request id header of ``names`` present in ``headers``."""
    return next(filter(None, map(headers.get, names)), None)

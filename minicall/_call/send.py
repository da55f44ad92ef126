"""Sending one prepared call: attempts, retries with backoff, and typed errors.

The retry decisions live in one object, :class:`_Attempts`, shared by the sync and
async loops; only sending, reading and sleeping differ between them. What the server
sends back is scrubbed of the client's secrets before an error or a log line sees it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .._model.clock import Deadline
from .._model.http import AsyncHttpResponse, HttpRequest, HttpResponse
from .._model.errors import (
    APIConnectionError,
    APIError,
    ConfigurationError,
    MinicallError,
    ResponseFormatError,
    error_for_status,
)
from .client import BaseClient, warn_if_plaintext
from .redact import Scrubber as _Scrubber
from .response import CallContext
from .telemetry import CallTrace, request_id_of

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["Prepared", "send_async", "send_sync", "sleep_async"]

log = logging.getLogger("minicall")
E = TypeVar("E", bound=MinicallError)


@dataclass(slots=True)
class Prepared:
    """A call ready to send: its settings, the client that sends it, and what it sends."""

    settings: Settings
    client: BaseClient
    context: CallContext


def _api_error(
    prepared: Prepared, status: int, headers: Mapping[str, str], body: bytes, attempts: int
) -> APIError:
    codec = prepared.context.codec
    parsed: Any
    if status == 407:
        # The proxy's words, not the provider's: a proxy may echo the request, its own
        # Proxy-Authorization (which no scrubber of the client knows) included.
        message, parsed = "proxy authentication required", None
        headers = {k: v for k, v in headers.items() if k.lower() == "proxy-authenticate"}
    else:
        message = codec.error_message(body) or f"HTTP {status} with no error message; received: {_snippet(body)!r}"
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            parsed = body[:2000].decode("utf-8", "replace")
    request_id = request_id_of(headers, codec.request_id_headers)
    return error_for_status(status)(
        message,
        status_code=status,
        provider=prepared.settings.provider,
        body=parsed,
        request_id=request_id,
        headers=headers,
        attempts=attempts,
    )


def _snippet(body: bytes) -> str:
    return body[:200].decode("utf-8", "replace")


# Media types that are never a stream: a stream request answered with one of these got
# a whole body (an error page, a JSON error, a non-streamed reply) instead of events.
_NOT_STREAM_TYPES = frozenset({"application/json", "text/html", "text/plain"})


def _not_a_stream(prepared: Prepared, response: HttpResponse | AsyncHttpResponse) -> bool:
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return prepared.context.spec.stream and media in _NOT_STREAM_TYPES


def _not_a_stream_error(
    prepared: Prepared, response: HttpResponse | AsyncHttpResponse, body: bytes, attempts: int
) -> Exception:
    words = prepared.context.codec.error_message(body)
    if words is not None:
        return _api_error(prepared, response.status, response.headers, body, attempts)
    media = response.headers.get("content-type", "")
    return ResponseFormatError(
        prepared.settings.provider, "", f"expected a stream of events, got content-type {media!r}", _snippet(body)
    )


def _retry_plan(prepared: Prepared, attempt: int, status: int | None, headers: Mapping[str, str], body: bytes) -> float | None:
    """Seconds to wait before the next attempt, or ``None`` to give up."""
    from .._http._retry import retry_delay, should_retry

    if attempt >= prepared.client.max_retries:
        return None
    if status is not None and (
        not should_retry(status, headers) or prepared.context.codec.never_retry(status, body)
    ):
        return None
    return retry_delay(attempt, headers)


def _log_retry(request: HttpRequest, attempt: int, delay: float, reason: str) -> None:
    from .._http._log import log_retry

    log_retry(request.method, request.url, attempt + 1, delay, reason)


class _Attempts:
    """The retry loop's decisions, shared by the sync and the async send loops.

    Each method decides one outcome of an attempt: the delay before the next attempt,
    or the error to raise. What the server sent is scrubbed of the client's secrets
    before any error or log sees it.
    """

    def __init__(self, prepared: Prepared, request: HttpRequest) -> None:
        self.prepared = prepared
        # The call's deadline starts now and rides on the request to the transport.
        self.deadline = deadline = Deadline(prepared.client.deadline)
        self.request = request.with_deadline(deadline)
        self.scrub = _Scrubber.of(prepared.client, request)
        self.attempt = 0
        context = prepared.context
        self.trace = context.trace = CallTrace.begin(context.provider, context.model, context.spec, request.url)
        warn_if_plaintext(request)

    def _room_for(self, delay: float | None) -> bool:
        """Whether a back-off of ``delay`` s and another attempt fit before the deadline."""
        if delay is None:
            return False
        left = self.deadline.left()
        return left is None or left > delay

    def begin(self) -> bool:
        """An attempt starts; ``True`` for a retry (whose credentials are made afresh)."""
        self.trace.attempt_began()
        return self.attempt > 0

    def signed(self, request: HttpRequest) -> None:
        """A retry's request with fresh credentials, on the call's deadline."""
        self.request = request.with_deadline(self.deadline)
        self.scrub = _Scrubber.of(self.prepared.client, request)

    def _ended(self, outcome: str, headers: Mapping[str, str] | None = None) -> None:
        rid = None if headers is None else request_id_of(headers, self.prepared.context.codec.request_id_headers)
        self.trace.attempt_ended(self.request.method, self.request.url, outcome, rid)

    def failed(self, exc: APIConnectionError) -> float:
        """The delay after a connection error; re-raises it when the budget is spent."""
        self.scrub.error(exc)
        self._ended(type(exc).__name__)
        delay = _retry_plan(self.prepared, self.attempt, None, {}, b"")
        if delay is None or not self._room_for(delay):
            exc.attempts = self.attempt + 1
            raise self._described(exc)
        return self._next(delay, type(exc).__name__)

    def rejected(self, status: int, raw_headers: Mapping[str, str], raw_body: bytes) -> float:
        """The delay after an error status; raises the typed error when it is final."""
        headers = self.scrub.headers(raw_headers)
        body = self.scrub.whole(raw_body)
        self._ended(str(status), headers)
        if status == 401:
            self.prepared.client.credentials_rejected()
        delay = _retry_plan(self.prepared, self.attempt, status, headers, body)
        if delay is None or not self._room_for(delay):
            raise self._described(_api_error(self.prepared, status, headers, body, self.attempt + 1))
        return self._next(delay, f"HTTP {status}")

    def whole(self, status: int, headers: dict[str, str], body: bytes) -> HttpResponse:
        """A successful whole-body reply, scrubbed (a reply that echoes no secret is as sent)."""
        self._held(status, headers)
        return HttpResponse(status, headers, self.scrub.whole(body))

    def whole_async(self, status: int, headers: dict[str, str], body: bytes) -> AsyncHttpResponse:
        """The asynchronous twin of :meth:`whole`."""
        self._held(status, headers)
        return AsyncHttpResponse(status, headers, self.scrub.whole(body))

    def _held(self, status: int, headers: Mapping[str, str]) -> None:
        # The successful attempt's line waits for the decoded reply's usage.
        rid = request_id_of(headers, self.prepared.context.codec.request_id_headers)
        self.trace.hold(self.request.method, self.request.url, str(status), rid)

    def not_a_stream(self, response: HttpResponse | AsyncHttpResponse, body: bytes) -> Exception:
        """The error for a stream request answered with a whole body."""
        self._ended(str(response.status), response.headers)
        error = _not_a_stream_error(self.prepared, response, self.scrub.whole(body), self.attempt + 1)
        return self._described(error) if isinstance(error, MinicallError) else error

    def _described(self, error: E) -> E:
        from .hints import describe

        describe(error, self.prepared.client, self.request.method, self.request.url)
        return error

    def streaming(self, response: HttpResponse | AsyncHttpResponse) -> None:
        """A stream opened: its attempt is logged now (its usage comes at its end)."""
        self._ended(str(response.status), response.headers)

    def _next(self, delay: float, reason: str) -> float:
        _log_retry(self.request, self.attempt, delay, reason)
        self.trace.retrying(delay, reason)
        self.attempt += 1
        return delay


def send_sync(prepared: Prepared, request: HttpRequest, *, download: bool = False) -> HttpResponse:
    """Send a prepared call (``request`` as yet without credentials); a stream's (or,
    with ``download``, any) body is read as it arrives by the caller.

    Credentials are added for each attempt: a SigV4 signature is refused five minutes
    after its X-Amz-Date and a Vertex token expires, and a retry may come later than that
    (the default deadline is 15 minutes).
    """
    client = prepared.client
    transport = client.transport
    stream = prepared.context.spec.stream or download
    attempts = _Attempts(prepared, client.authorize(request))
    while True:
        if attempts.begin():
            attempts.signed(client.authorize(request))
        try:
            response: HttpResponse = transport.send(attempts.request, stream=stream)
        except APIConnectionError as exc:
            delay = attempts.failed(exc)
        else:
            if not 200 <= response.status < 300:
                delay = attempts.rejected(response.status, response.headers, response.read())
            elif not stream:
                return attempts.whole(response.status, response.headers, response.read())
            elif _not_a_stream(prepared, response):
                raise attempts.not_a_stream(response, response.read())
            else:
                attempts.streaming(response)
                opened = attempts.scrub.response(response, response.headers)
                opened.deadline = attempts.deadline
                return opened
        time.sleep(delay)


async def send_async(prepared: Prepared, request: HttpRequest, *, download: bool = False) -> AsyncHttpResponse:
    """The asynchronous twin of :func:`send_sync`."""
    import asyncio  # only async calls pay for it

    transport = prepared.client.transport
    send = getattr(transport, "send_async", None)
    if send is None:
        raise ConfigurationError(
            f"{type(transport).__name__} has no send_async(); an async call needs a transport that "
            "implements minicall's AsyncTransport protocol"
        )
    client = prepared.client
    stream = prepared.context.spec.stream or download
    attempts = _Attempts(prepared, await _authorized(client, request))
    while True:
        if attempts.begin():
            attempts.signed(await _authorized(client, request))
        try:
            response: AsyncHttpResponse = await send(attempts.request, stream=stream)
        except APIConnectionError as exc:
            delay = attempts.failed(exc)
        else:
            if not 200 <= response.status < 300:
                delay = attempts.rejected(response.status, response.headers, await response.read())
            elif not stream:
                return attempts.whole_async(response.status, response.headers, await response.read())
            elif _not_a_stream(prepared, response):
                raise attempts.not_a_stream(response, await response.read())
            else:
                attempts.streaming(response)
                opened = attempts.scrub.async_response(response, response.headers)
                opened.deadline = attempts.deadline
                return opened
        await asyncio.sleep(delay)


async def sleep_async(seconds: float) -> None:
    """``asyncio.sleep``, for async waits outside this module (batch polling): the one
    place of the machinery that imports asyncio stays this one."""
    import asyncio

    await asyncio.sleep(seconds)


async def _authorized(client: BaseClient, request: HttpRequest) -> HttpRequest:
    if type(client).authorize_async is BaseClient.authorize_async:
        return client.authorize(request)  # credentials that need no I/O: no coroutine to run
    return await client.authorize_async(request)

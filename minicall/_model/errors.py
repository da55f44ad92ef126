"""The one error tree of minicall.

::

    MinicallError
    ├── ConfigurationError        bad client/decorator set-up, found before any I/O
    ├── PromptError               the prompt function or template produced something unusable
    ├── APIError                  the provider answered with an error status
    │   ├── BadRequestError            400
    │   ├── AuthenticationError        401
    │   ├── PermissionDeniedError      403
    │   ├── NotFoundError              404
    │   ├── ConflictError              409
    │   ├── UnprocessableEntityError   422
    │   ├── RateLimitError             429
    │   └── InternalServerError        5xx
    ├── APIConnectionError        the request or its reply did not get through
    │   └── APITimeoutError
    ├── ResponseFormatError       a body not in the provider's documented shape
    └── ValidationError           a response model or tool's arguments did not validate
        └── PydanticValidationError   pydantic validated it: also a pydantic.ValidationError
                                      (made on first use; pydantic >= 2.10)

Every error may carry ``partial``: the text a stream had delivered before it broke.
No error ever holds a credential: messages are built from provider bodies and our
own words, and ``headers`` is filtered through :func:`redact_headers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "SECRET_HEADERS",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InternalServerError",
    "MinicallError",
    "NotFoundError",
    "PermissionDeniedError",
    "PromptError",
    "RateLimitError",
    "ResponseFormatError",
    "UnprocessableEntityError",
    "ValidationError",
    "error_for_status",
    "redact_headers",
]

# Header names whose values are credentials; compared lower-case.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "x-amz-security-token",
        "cookie",
        "set-cookie",
    }
)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with every credential value replaced by ``"[redacted]"``."""
    return {k: ("[redacted]" if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


class MinicallError(Exception):
    """Base of every error minicall raises.

    An error that had a request names it: ``method`` and ``url`` (credentials masked),
    and on the error types that count them, the attempts made and the request id;
    ``hint`` says what most often fixes it, when minicall can tell.
    """

    partial: str | None = None
    """Text a stream had already delivered when this error broke it, else ``None``."""
    method: str | None = None
    url: str | None = None
    """The request's URL with userinfo and credential-like query values masked."""
    request_id: str | None = None
    """The provider's id of the request (from the reply's headers), when a reply came."""
    hint: str | None = None

    def __str__(self) -> str:
        return super().__str__() + self._context()

    def _context(self) -> str:
        """`` (POST url, 2 attempts, request id X); hint: ...`` for the parts known."""
        bits = [f"{self.method} {self.url}"] if self.url else []
        attempts: int | None = getattr(self, "attempts", None)
        if self.url and attempts and not isinstance(self, APIError):
            bits.append(f"{attempts} attempt{'' if attempts == 1 else 's'}")
        if self.request_id:
            bits.append(f"request id {self.request_id}")
        text = f" ({', '.join(bits)})" if bits else ""
        return text + (f"; hint: {self.hint}" if self.hint else "")


class ConfigurationError(MinicallError, ValueError):
    """The client or decorator is set up wrongly (e.g. a missing API key); raised before I/O."""


class PromptError(MinicallError, ValueError):
    """The prompt function, template or arguments cannot be turned into messages."""


class APIError(MinicallError):
    """The provider answered with an error status.

    ``message`` is the provider's own words when its error body has them.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        provider: str = "",
        body: Any = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        attempts: int = 1,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.provider = provider
        self.body = body
        self.request_id = request_id
        self.headers: dict[str, str] = redact_headers(headers or {})
        self.attempts = attempts
        super().__init__(message)

    def __str__(self) -> str:
        where = f"{self.provider} " if self.provider else ""
        status = f"HTTP {self.status_code}" if self.status_code is not None else "error"
        tries = f" after {self.attempts} attempt{'' if self.attempts == 1 else 's'}"
        return f"{where}{status}{tries}: {self.message}{self._context()}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class BadRequestError(APIError):
    """HTTP 400."""


class AuthenticationError(APIError):
    """HTTP 401."""


class PermissionDeniedError(APIError):
    """HTTP 403."""


class NotFoundError(APIError):
    """HTTP 404."""


class ConflictError(APIError):
    """HTTP 409."""


class UnprocessableEntityError(APIError):
    """HTTP 422."""


class RateLimitError(APIError):
    """HTTP 429."""


class InternalServerError(APIError):
    """HTTP 5xx."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_for_status(status: int) -> type[APIError]:
    """The :class:`APIError` subclass for an HTTP status."""
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIError)


class APIConnectionError(MinicallError):
    """The request or its reply did not get through (refused, reset, DNS, TLS, proxy)."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        self.message = message
        self.attempts = attempts
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """A limit of the call passed: ``limit`` says which (``"timeout"`` for one wait
    for bytes, ``"deadline"`` for the whole call, ``"timeout between stream events"``),
    ``seconds`` its value and ``elapsed`` how long the call had waited."""

    def __init__(
        self,
        message: str,
        *,
        attempts: int = 1,
        limit: str = "timeout",
        seconds: float | None = None,
        elapsed: float | None = None,
    ) -> None:
        super().__init__(message, attempts=attempts)
        self.limit = limit
        self.seconds = seconds
        self.elapsed = elapsed


class ResponseFormatError(MinicallError):
    """A reply that is not in the provider's documented shape.

    ``path`` locates the problem in the decoded body (``choices[0].message``);
    ``snippet`` is the start of what arrived, for the log.
    """

    attempts: int | None = None
    """The attempts the call made before this reply came, when it answered a call."""

    def __init__(self, provider: str, path: str, problem: str, snippet: str = "") -> None:
        self.provider = provider
        self.path = path
        self.problem = problem
        self.snippet = snippet[:300]
        where = f" at {path}" if path else ""
        tail = f"; received: {self.snippet!r}" if self.snippet else ""
        super().__init__(f"{provider} reply not understood{where}: {problem}{tail}")


class ValidationError(MinicallError):
    """A response model did not validate.

    ``errors`` lists each problem as ``"path: what was wrong"``; ``response`` is the
    call response whose output failed (``None`` when validating outside a call).
    Where pydantic validated (a pydantic model or validator was involved, pydantic >= 2.10),
    the error raised is ``minicall.PydanticValidationError``, a subclass of this class and of
    ``pydantic.ValidationError``.
    """

    def __init__(self, errors: list[str], response: Any = None, type_name: str = "") -> None:
        self.errors = list(errors)
        self.response = response
        head = f"{type_name} did not validate" if type_name else "validation failed"
        super().__init__(head + ": " + "; ".join(self.errors))

    @property
    def _response(self) -> Any:
        """Mirascope's name for :attr:`response` (its errors carry ``_response``)."""
        return self.response

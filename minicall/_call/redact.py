"""Scrubbing a client's own credentials out of what the server sends back.

A misconfigured proxy or a debugging endpoint may echo the request, headers included,
into an error body or even a reply. Whatever the server says is kept as the provider's
words, except that every credential value of the client that made the call becomes
``[redacted]`` before any codec, error or log sees it. That covers error messages and
bodies, response-format snippets, raw response dicts and streamed text alike.

Values shorter than :data:`MIN_SECRET` characters are left alone: a one-letter "key"
would otherwise mangle every reply, and no real credential is that short.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from .._model.errors import SECRET_HEADERS, MinicallError
from .._model.http import AsyncHttpResponse, HttpRequest, HttpResponse

if TYPE_CHECKING:
    from .client import BaseClient

__all__ = ["MIN_SECRET", "REDACTED", "Scrubber"]

MIN_SECRET = 8
REDACTED = b"[redacted]"
_LAST = "_last_scrubber"  # the client attribute Scrubber.of keeps its last result in
# Scheme words in credential headers; the value after them is the credential.
_SCHEMES = ("bearer ", "basic ", "token ")


@functools.lru_cache(maxsize=256)
def _secret_names(names: tuple[str, ...]) -> tuple[str, ...]:
    # Cached: a client's requests carry the same few sets of header names.
    return tuple(name for name in names if name.lower() in SECRET_HEADERS)


def _header_secret(value: str) -> str:
    lowered = value.lower()
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            return value[len(scheme) :].strip()
    return value


class _Carry:
    """Scrubs a byte stream whose pieces may split a secret in two.

    The longest tail of what arrived that could still grow into a secret is held back
    until the next piece (or the end) shows whether it does.
    """

    def __init__(self, scrubber: Scrubber) -> None:
        self._scrubber = scrubber
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        text = self._scrubber.whole(self._held + data)
        keep = self._scrubber.open_tail(text)
        self._held = text[len(text) - keep :] if keep else b""
        return text[: len(text) - keep] if keep else text

    def flush(self) -> bytes:
        held, self._held = self._held, b""
        return held


class Scrubber:
    """Replaces a fixed set of secret strings in bytes, text, headers and errors."""

    def __init__(self, secrets: Iterable[str]) -> None:
        needles: set[bytes] = set()
        for secret in secrets:
            if len(secret) < MIN_SECRET:
                continue
            needles.add(secret.encode("utf-8"))
            # As it appears inside a JSON string (a PEM key's newlines, a "/" escaped).
            needles.add(json.dumps(secret)[1:-1].encode("ascii"))
            needles.add(json.dumps(secret)[1:-1].replace("/", "\\/").encode("ascii"))
        self._needles = sorted(needles, key=len, reverse=True)
        self._texts = [n.decode("utf-8") for n in self._needles]

    @classmethod
    def of(cls, client: BaseClient, request: HttpRequest) -> Scrubber:
        """The secrets of ``client`` plus every credential header of ``request``.

        The last one made is kept on the client, which holds these secrets anyway: no
        module-level table may hold a credential.
        """
        found = client.secrets()
        headers = request.headers
        names = _secret_names(tuple(headers))
        if names:
            found = (*found, *[_header_secret(headers[name]) for name in names])
        last: tuple[tuple[str, ...], Scrubber] | None = client.__dict__.get(_LAST)
        if last is not None and last[0] == found:
            return last[1]
        scrubber = cls(found)
        # A plain store: two threads racing both build an equal scrubber.
        client.__dict__[_LAST] = (found, scrubber)
        return scrubber

    def __bool__(self) -> bool:
        return bool(self._needles)

    def whole(self, data: bytes) -> bytes:
        """``data`` with every secret replaced."""
        for needle in self._needles:
            if needle in data:
                data = data.replace(needle, REDACTED)
        return data

    def text(self, value: str) -> str:
        """``value`` with every secret replaced."""
        for needle in self._texts:
            if needle in value:
                value = value.replace(needle, REDACTED.decode())
        return value

    def open_tail(self, data: bytes) -> int:
        """Length of the longest tail of ``data`` that is a proper prefix of a secret."""
        best = 0
        end = len(data)
        for needle in self._needles:
            first = needle[:1]
            # Only positions holding the needle's first byte can start such a tail; the
            # earliest one that matches gives the longest tail for this needle.
            i = data.find(first, max(end - len(needle) + 1, 0))
            while i != -1 and end - i > best:
                if needle.startswith(data[i:]):
                    best = end - i
                    break
                i = data.find(first, i + 1)
        return best

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """A copy of ``headers`` with secrets replaced in every value."""
        if not self:
            return dict(headers)
        return {k: self.text(v) for k, v in headers.items()}

    def value(self, value: Any) -> Any:
        """A JSON-like value with secrets replaced in every string."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in cast("Sequence[Any]", value)]
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in cast("Mapping[Any, Any]", value).items()}
        return value

    def error(self, error: MinicallError) -> MinicallError:
        """``error`` with secrets replaced in its message, arguments and text fields."""
        if not self:
            return error
        error.args = tuple(self.value(a) for a in error.args)
        for name in ("message", "snippet", "problem", "partial", "body"):
            current = getattr(error, name, None)
            if current is not None:
                setattr(error, name, self.value(current))
        return error

    def response(self, response: HttpResponse, headers: Mapping[str, str]) -> HttpResponse:
        """``response`` whose body is scrubbed as it is read."""
        if not self:
            return response
        carry = _Carry(self)

        def pieces() -> Iterator[bytes]:
            for piece in response.iter_bytes():
                out = carry.feed(piece)
                if out:
                    yield out
            tail = carry.flush()
            if tail:
                yield tail

        return HttpResponse(
            response.status, headers, chunks=pieces(), close=response.close, reason=response.reason
        )

    def async_response(self, response: AsyncHttpResponse, headers: Mapping[str, str]) -> AsyncHttpResponse:
        """The asynchronous twin of :meth:`response`."""
        if not self:
            return response
        carry = _Carry(self)

        async def pieces() -> AsyncIterator[bytes]:
            async for piece in response.aiter_bytes():
                out = carry.feed(piece)
                if out:
                    yield out
            tail = carry.flush()
            if tail:
                yield tail

        return AsyncHttpResponse(
            response.status, headers, chunks=pieces(), close=response.aclose, reason=response.reason
        )

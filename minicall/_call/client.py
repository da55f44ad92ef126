"""The client base: credentials, base URL, timeout, retries, transport.

A client is configuration plus a codec; it holds no connection state of its own (the
transport pools connections). Unset arguments come from the environment variables the
provider's official SDK reads. Credentials live in private attributes and never reach
a ``repr``, an error or a log line.
"""
# Arguments are checked at run time too (callers may be untyped):
# pyright: reportUnnecessaryIsInstance=false

from __future__ import annotations

import dataclasses
import functools
import hashlib
import ipaddress
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .._model.errors import SECRET_HEADERS, ConfigurationError
from .._model.http import HttpRequest
from .._model.spec import Codec, Endpoint

if TYPE_CHECKING:
    from .._model.http import AsyncTransport, Transport

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "BaseClient",
    "check_header",
    "env_digest",
    "env_first",
    "keyed_digest",
    "warn_if_plaintext",
]

log = logging.getLogger("minicall")

DEFAULT_TIMEOUT = 600.0
"""Seconds connecting and each read may take, as the official SDKs default (10 minutes)."""

DEFAULT_DEADLINE = 900.0
"""Seconds a whole call may take, retries and back-off included (15 minutes); for a
stream, the time until its first event."""


def _seconds(name: str, value: object, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"{name} must be positive seconds, got {value!r}")
    return float(value)


def env_first(*names: str) -> str | None:
    """The value of the first of ``names`` set (non-empty) in the environment."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


# Drawn once per process: digests made with it tell whether settings changed, and
# cannot be compared across processes or reversed into the settings.
_DIGEST_KEY = os.urandom(32)


def keyed_digest(*parts: str) -> bytes:
    """A keyed digest of ``parts``, to notice a change without keeping a copy of them."""
    digest = hashlib.blake2b(key=_DIGEST_KEY, digest_size=16)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.digest()


def env_digest(names: tuple[str, ...]) -> bytes:
    """:func:`keyed_digest` of the values of environment variables ``names`` (unset and
    empty alike, as :func:`env_first` reads them)."""
    get = os.environ.get
    # One update: environment values cannot hold NUL, so joining on it is unambiguous.
    text = "\0".join([get(name) or "" for name in names])
    return hashlib.blake2b(
        text.encode("utf-8", "surrogateescape"), key=_DIGEST_KEY, digest_size=16
    ).digest()


def check_header(name: str, value: str) -> None:
    """Refuse a header that would split the request (a line break or NUL in it)."""
    if any(c in name or c in value for c in "\r\n\x00"):
        raise ConfigurationError(f"header {name!r} contains a line break or NUL; refusing to send it")


# Attribute names whose string values are credentials (see BaseClient.secrets).
_SECRET_WORDS = ("key", "token", "secret", "password")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
_warned_hosts: set[str] = set()
_warned_lock = threading.Lock()


def _fields(obj: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj)}
    return dict(getattr(obj, "__dict__", {}))


def _named_secrets(values: Mapping[str, Any]) -> list[str]:
    return [
        value
        for name, value in values.items()
        if isinstance(value, str) and value and any(w in name.lower() for w in _SECRET_WORDS)
    ]


def _remote_host(netloc: str) -> str | None:
    """The host of an ``http://`` authority, or ``None`` when it is this machine."""
    # Userinfo (a credential) is cut off before the cached lookup ever sees it.
    return _remote_hostport(netloc.rpartition("@")[2])


@functools.lru_cache(maxsize=256)
def _remote_hostport(hostport: str) -> str | None:
    from .._model.http import split_url

    host = split_url("http://" + hostport).hostname or ""
    return None if _is_loopback(host) else host


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_if_plaintext(request: HttpRequest) -> None:
    """Log one WARNING per host when credentials go over plain http:// off this machine.

    The request is still sent (a proxy on a private network may be meant); the warning
    names the host, never the credential.
    """
    if not request.url.startswith("http://"):
        return  # https, the common case, costs one string comparison
    host = _remote_host(request.url[7:].split("/", 1)[0])
    if host is None:
        return
    if not any(name.lower() in SECRET_HEADERS for name in request.headers):
        return
    with _warned_lock:
        if host in _warned_hosts:
            return
        _warned_hosts.add(host)
    log.warning(
        "sending credentials over plain http:// to %s; anyone on the network path can read "
        "them (use https://)",
        host,
    )


def _default_transport() -> Any:
    global _get_default
    if _get_default is None:
        # Imported on first use (import minicall stays light), then kept: an import
        # statement costs a microsecond on every call.
        from .._http._default import default_transport

        _get_default = default_transport
    return _get_default()


_get_default: Callable[[], Any] | None = None


class BaseClient:
    """Shared behaviour of every provider client (API.md section 5).

    Subclasses set the class variables and, where the provider needs it, override
    :meth:`auth_headers`, :meth:`endpoint` or :meth:`authorize`.
    """

    provider: ClassVar[str] = ""
    api_key_env: ClassVar[tuple[str, ...]] = ()
    """Environment variables holding the API key, first wins."""
    base_url_env: ClassVar[tuple[str, ...]] = ()
    default_base_url: ClassVar[str] = ""
    requires_api_key: ClassVar[bool] = True

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        max_retries: int = 2,
        headers: Mapping[str, str] | None = None,
        transport: Transport | AsyncTransport | None = None,
        ca_file: str | None = None,
        verify: bool = True,
    ) -> None:
        self._api_key = api_key if api_key is not None else env_first(*self.api_key_env)
        if self._api_key is None and self.requires_api_key:
            self._missing_credential()
        url = base_url or env_first(*self.base_url_env) or self.default_base_url
        if not url.startswith(("http://", "https://")):
            from .._model.http import redact_url

            raise ConfigurationError(
                f"{self.provider} base_url must start with http:// or https://, "
                f"got {redact_url(url)!r}"
            )
        self.base_url = url.rstrip("/")
        self.timeout = _seconds("timeout", timeout, DEFAULT_TIMEOUT)
        self.deadline = _seconds("deadline", deadline, DEFAULT_DEADLINE)
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be >= 0, got {max_retries!r}")
        self.max_retries = max_retries
        self.headers: dict[str, str] = dict(headers or {})
        for name, value in self.headers.items():
            check_header(name, value)
        if ca_file is not None and not os.path.isfile(ca_file):
            raise ConfigurationError(f"ca_file {ca_file!r} is not a file")
        if transport is not None and (ca_file is not None or not verify):
            raise ConfigurationError(
                "ca_file and verify configure minicall's own transport; with transport=, set TLS up there"
            )
        if transport is None and (ca_file is not None or not verify):
            from .._http._default import DefaultTransport

            # A client of its own: its CA must not leak into other clients' connections.
            transport = DefaultTransport(verify=verify, ca_file=ca_file)
        self._transport = transport

    def _missing_credential(self) -> None:
        names = " or ".join(self.api_key_env) or "api_key"
        raise ConfigurationError(
            f"no API key for {self.provider}: pass api_key= to {type(self).__name__} or set {names}"
        )

    @classmethod
    def environment(cls) -> dict[str, tuple[str, ...]]:
        """The environment variables this client reads, by purpose (for ``providers``)."""
        return {"api key": cls.api_key_env, "base url": cls.base_url_env}

    @classmethod
    def environment_names(cls) -> tuple[str, ...]:
        """Every environment variable a client built from the environment reads."""
        return tuple(dict.fromkeys(n for names in cls.environment().values() for n in names))

    @classmethod
    def is_configured(cls) -> bool:
        """Whether the environment holds what a default client needs."""
        return not cls.requires_api_key or env_first(*cls.api_key_env) is not None

    # -- what the pipeline asks of a client ---------------------------------------

    @property
    def codec(self) -> Codec:
        """The codec that speaks this client's wire format."""
        raise NotImplementedError

    def endpoint(self) -> Endpoint:
        """Where requests go, and the non-secret headers they carry.

        Built once by :meth:`_build_endpoint` and kept until an attribute of the client
        is set again (the headers dict is shared, so changes made in it show at once).
        """
        cached: Endpoint | None = self.__dict__.get("_endpoint_cache")
        if cached is None:
            cached = self.__dict__["_endpoint_cache"] = self._build_endpoint()
        return cached

    def _build_endpoint(self) -> Endpoint:
        """The endpoint for the client's current settings (providers add their options)."""
        return Endpoint(base_url=self.base_url, headers=self.headers, timeout=self.timeout)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        # What was derived from the old settings is rebuilt on next use.
        self.__dict__.pop("_endpoint_cache", None)
        self.__dict__.pop("_secrets_found", None)

    def auth_headers(self) -> dict[str, str]:
        """The credential headers (overridden per provider)."""
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def authorize(self, request: HttpRequest) -> HttpRequest:
        """``request`` with credentials added (Bedrock signs, Vertex fetches a token)."""
        merged = dict(request.headers)
        merged.update(self.auth_headers())
        return request.with_headers(merged)

    def credentials_rejected(self) -> None:
        """Called when the provider answered 401: drop any cached token (Vertex) so the
        next call fetches a fresh one. Clients with fixed keys have nothing to drop."""

    async def authorize_async(self, request: HttpRequest) -> HttpRequest:
        """The asynchronous twin of :meth:`authorize`."""
        return self.authorize(request)

    def secrets(self) -> tuple[str, ...]:
        """The credential strings this client holds, for redaction (never for display).

        Every non-empty ``str`` attribute whose name mentions key, token, secret or
        password; a client keeping credentials elsewhere extends this.
        """
        cached: tuple[str, ...] | None = self.__dict__.get("_secrets_found")
        if cached is not None:
            return cached
        found = _named_secrets(vars(self))
        for name, value in vars(self).items():
            # A credentials object (Bedrock's AWS keys): its own secret-named fields.
            if "credential" in name.lower() and value is not None:
                found += _named_secrets(_fields(value))
        # Credentials are fixed at construction; tokens that change per request travel
        # in request headers, which the scrubber reads on every call.
        self.__dict__["_secrets_found"] = result = tuple(dict.fromkeys(found))
        return result

    @property
    def transport(self) -> Any:
        """The transport requests go through (the process-wide default unless given)."""
        if self._transport is None:
            return _default_transport()
        return self._transport

    def __repr__(self) -> str:
        # Never the key: not even a prefix of it; nor base-URL userinfo or a ?key= query.
        return f"{type(self).__name__}(base_url={self.shown_base_url!r}, api_key=[redacted])"

    @property
    def shown_base_url(self) -> str:
        """:attr:`base_url` with userinfo and credential-like query values masked."""
        from .._model.http import redact_url

        return redact_url(self.base_url)


def keep_base_query(request: HttpRequest, base_url: str) -> HttpRequest:
    """``request`` whose URL was built as ``base_url + path``, with the query that
    ``base_url`` carried moved after the path (``/v1/chat/completions?key=X``, not
    ``/v1?key=X/chat/completions``), ahead of any query the codec added."""
    base, _, query = base_url.partition("?")
    url = request.url
    if not url.startswith(base_url):
        return request
    path, _, own = url[len(base_url) :].partition("?")
    both = "&".join(q for q in (query, own) if q)
    joined = f"{base}{path}?{both}" if both else base + path
    return dataclasses.replace(request, url=joined)

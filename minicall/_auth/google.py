"""OAuth2 access tokens for Vertex AI: Application Default Credentials.

No sockets here: every HTTP request goes through a ``send`` function the caller hands in
(the client's transport), so proxy and CA settings apply and tests need no network.

:func:`application_default` looks where google-auth's ``google.auth.default()`` looks,
in its order, and stops at the first hit:

1. the JSON file named by ``GOOGLE_APPLICATION_CREDENTIALS`` (an unreadable one is an
   error, not a reason to look further);
2. gcloud's well-known file, ``application_default_credentials.json`` in
   ``$CLOUDSDK_CONFIG``, else ``~/.config/gcloud`` (``%APPDATA%\\gcloud`` on Windows),
   written by ``gcloud auth application-default login``;
3. the metadata server of GCE, Cloud Run, GKE or Cloud Functions
   (:mod:`~minicall._auth.metadata`).

(google-auth's App Engine gen-1 step, for the retired ``python27`` runtime, is left out.)

Two kinds of credentials JSON are understood:

* ``service_account``: an RS256-signed JWT (RFC 7523) exchanged at ``token_uri``
  with ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``;
* ``authorized_user`` (``gcloud auth application-default login``): a refresh token
  exchanged with ``grant_type=refresh_token`` (RFC 6749 section 6).

Both answer ``{"access_token", "expires_in", "token_type"}``. :class:`TokenSource`
caches the token and refreshes it a minute before it expires. It does no I/O itself:
it is handed a ``send`` function and a ``clock``, so tests need neither network nor
sleeping. Private keys, client secrets and refresh tokens never appear in a repr or
an error message.

How a refresh goes: the cached token is used while the clock is more than a minute
from its expiry; then the credentials build one token request (a freshly signed JWT,
or the refresh-token form), ``send`` posts it, and the reply's ``expires_in`` sets
the next expiry. A failed refresh changes nothing: the next call tries again.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import parse_qsl, quote_plus, urlencode

from .._model.errors import APIError, AuthenticationError, ConfigurationError, error_for_status
from .._model.http import AsyncHttpResponse, HttpRequest, HttpResponse
from .._model.wire import Reader, loads
from . import metadata
from ._rsa import RsaPrivateKey, load_private_key, sign_rs256

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "TOKEN_URI",
    "DefaultCredentials",
    "TokenSource",
    "VertexAuth",
    "adc_configured",
    "application_default",
    "parse_token_response",
    "rs256_jwt",
    "service_account_assertion",
    "token_request",
    "well_known_file",
]

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
TOKEN_URI = "https://oauth2.googleapis.com/token"
_JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_PROVIDER = "google"
# exp at most one hour after iat: Google's limit for the grant, and the lifetime
# google-auth gives its assertions.
_ASSERTION_LIFETIME = 3600
# Refresh this long before expiry: a token handed out must outlive the request that
# carries it, plus clock skew between us and Google.
_REFRESH_MARGIN = 60.0
_DEFAULT_EXPIRES_IN = 3600.0  # RFC 6749 makes expires_in optional
_FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
_TOKEN_TIMEOUT = 30.0
_read = Reader(_PROVIDER)


def _b64url(data: bytes) -> str:
    # JWS compact serialisation (RFC 7515 §2) uses base64url without padding.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json_segment(value: Mapping[str, object]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _jwt(claims: Mapping[str, object], key: RsaPrivateKey, key_id: str | None) -> str:
    header: dict[str, object] = {"alg": "RS256", "typ": "JWT"}
    if key_id:
        header["kid"] = key_id
    signing_input = f"{_json_segment(header)}.{_json_segment(claims)}"
    return f"{signing_input}.{_b64url(sign_rs256(key, signing_input.encode('ascii')))}"


def rs256_jwt(claims: Mapping[str, object], private_key_pem: str, key_id: str | None = None) -> str:
    """A compact JWS of ``claims`` signed with RS256 (``kid`` set when given)."""
    return _jwt(claims, load_private_key(private_key_pem), key_id)


def _field(info: Mapping[str, object], name: str, kind: str) -> str:
    value = info.get(name)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"Google {kind} credentials have no {name!r}")
    return value


def _token_post(token_uri: str, form: Mapping[str, str]) -> HttpRequest:
    body = urlencode(form).encode("ascii")
    return HttpRequest("POST", token_uri, dict(_FORM), body, timeout=_TOKEN_TIMEOUT)


@dataclass(frozen=True)
class _ServiceAccount:
    client_email: str
    token_uri: str
    key_id: str | None
    key: RsaPrivateKey = field(repr=False)

    @classmethod
    def load(cls, info: Mapping[str, object]) -> _ServiceAccount:
        key_id = info.get("private_key_id")
        return cls(
            client_email=_field(info, "client_email", "service account"),
            token_uri=str(info.get("token_uri") or TOKEN_URI),
            key_id=key_id if isinstance(key_id, str) else None,
            key=load_private_key(_field(info, "private_key", "service account")),
        )

    def assertion(self, scopes: Iterable[str], now: int) -> str:
        # The RFC 7523 §3 claims as Google's server-to-server flow documents them: the
        # service account as issuer, the token endpoint as audience, and the scopes
        # as a space-separated claim of Google's own. No sub: that is for acting as a
        # user under domain-wide delegation.
        claims = {
            "iss": self.client_email,
            "scope": " ".join(scopes),
            "aud": self.token_uri,
            "iat": now,
            "exp": now + _ASSERTION_LIFETIME,
        }
        return _jwt(claims, self.key, self.key_id)

    def request(self, scopes: Iterable[str], now: int) -> HttpRequest:
        # A fresh assertion per request: it is short-lived, and dated by the clock
        # we were given.
        form = {"grant_type": _JWT_BEARER, "assertion": self.assertion(scopes, now)}
        return _token_post(self.token_uri, form)


@dataclass(frozen=True)
class _AuthorizedUser:
    client_id: str
    token_uri: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @classmethod
    def load(cls, info: Mapping[str, object]) -> _AuthorizedUser:
        return cls(
            client_id=_field(info, "client_id", "authorized user"),
            token_uri=str(info.get("token_uri") or TOKEN_URI),
            client_secret=_field(info, "client_secret", "authorized user"),
            refresh_token=_field(info, "refresh_token", "authorized user"),
        )

    def request(self, scopes: Iterable[str], now: int) -> HttpRequest:
        # A refresh token keeps the scopes it was granted with; none are sent.
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        return _token_post(self.token_uri, form)


_Credentials = _ServiceAccount | _AuthorizedUser | metadata.MetadataServer
_KINDS: dict[str, Callable[[Mapping[str, object]], _Credentials]] = {
    "service_account": _ServiceAccount.load,
    "authorized_user": _AuthorizedUser.load,
}


def _load(info: Mapping[str, object]) -> _Credentials:
    kind = info.get("type")
    loader = _KINDS.get(kind) if isinstance(kind, str) else None
    if loader is None:
        raise ConfigurationError(
            f"unsupported Google credentials type {kind!r}; expected one of {sorted(_KINDS)}"
        )
    return loader(info)


def service_account_assertion(
    info: Mapping[str, object], *, scopes: Iterable[str] = (CLOUD_PLATFORM_SCOPE,), now: int
) -> str:
    """The signed JWT a service account trades for an access token (valid one hour)."""
    return _ServiceAccount.load(info).assertion(scopes, now)


def token_request(
    info: Mapping[str, object], *, scopes: Iterable[str] = (CLOUD_PLATFORM_SCOPE,), now: int
) -> HttpRequest:
    """The POST to the credentials' token endpoint that yields an access token."""
    return _load(info).request(scopes, now)


def parse_token_response(body: bytes) -> tuple[str, float]:
    """``(access_token, expires_in seconds)`` from a token endpoint's 200 reply."""
    data = _read.obj(loads(body, _PROVIDER, "token"), "token")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise _read.fail("token.access_token", "missing or not a string", type(token).__name__)
    # RFC 6749 §5.1 makes expires_in a number, but some servers send it as a JSON
    # string; a bool is an int to Python and is refused as nonsense.
    expires_in = data.get("expires_in", _DEFAULT_EXPIRES_IN)
    if isinstance(expires_in, str) and expires_in.isdigit():
        expires_in = int(expires_in)
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or expires_in < 0:
        raise _read.fail("token.expires_in", "not a non-negative number", expires_in)
    return token, float(expires_in)


# Form fields of a token request whose values are credentials.
_SECRET_FIELDS = frozenset({"client_secret", "refresh_token", "assertion"})
_SHOWN = "[redacted]"


def _form_secrets(request: HttpRequest) -> list[str]:
    """The credential values a token request sent (a JWT's signature on its own too),
    longest first, for scrubbing a token endpoint that echoes the request back."""
    found: set[str] = set()
    for name, value in parse_qsl(request.body.decode("ascii", "replace")):
        if name in _SECRET_FIELDS and value:
            found.update((value, quote_plus(value)))  # as sent, and as echoed from the form
            # A JWT's segments on their own too: an error may quote just the signature
            # ("invalid signature: ..."). Short pieces are skipped so that common words
            # in the message are not blanked.
            found.update(piece for piece in value.split(".") if len(piece) >= 8)
    # Longest first: replacing a JWT's segment before the whole JWT would leave the rest
    # of it shown.
    return sorted(found, key=len, reverse=True)


def _scrubbed(value: Any, secrets: list[str]) -> Any:
    """A JSON-like ``value`` with every secret replaced in every string."""
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, _SHOWN)
        return value
    if isinstance(value, list):
        items = cast("list[object]", value)
        return [_scrubbed(v, secrets) for v in items]
    if isinstance(value, dict):
        pairs = cast("dict[object, object]", value)
        return {_scrubbed(k, secrets): _scrubbed(v, secrets) for k, v in pairs.items()}
    return value


def _token_error(
    response: HttpResponse | AsyncHttpResponse, body: bytes, request: HttpRequest
) -> Exception:
    secrets = _form_secrets(request)
    data: Any
    try:
        data = _scrubbed(json.loads(body), secrets)
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    detail = ""
    if isinstance(data, dict):
        fields = cast("dict[str, object]", data)
        words = [fields.get("error"), fields.get("error_description")]
        detail = ": ".join(w for w in words if isinstance(w, str) and w)
    where = request.url.split("?", 1)[0]  # a token URL's path names no secret; a query might
    message = f"token request to {where} failed: {detail or _scrubbed(response.reason, secrets) or 'no details'}"
    # Server trouble stays retryable; everything else means the credentials are bad.
    status = response.status
    kind: type[APIError] = error_for_status(status) if status >= 500 or status == 429 else AuthenticationError
    headers = {k: str(_scrubbed(v, secrets)) for k, v in response.headers.items()}
    return kind(message, status_code=status, provider=_PROVIDER, body=data, headers=headers)


class TokenSource:
    """Hands out a cached OAuth2 access token, refreshing it 60 s before it expires.

    ``info`` is the parsed credentials JSON, or a
    :class:`~minicall._auth.metadata.MetadataServer`; ``send`` performs one HTTP request;
    ``clock`` returns seconds since the epoch (it also dates the JWT). Safe to share
    between threads: one refresh at a time, the others wait for its result.
    """

    def __init__(
        self,
        info: Mapping[str, object] | metadata.MetadataServer,
        send: Callable[[HttpRequest], HttpResponse],
        *,
        clock: Callable[[], float] = time.time,
        scopes: Iterable[str] = (CLOUD_PLATFORM_SCOPE,),
    ) -> None:
        self._credentials = info if isinstance(info, metadata.MetadataServer) else _load(info)
        self._send = send
        self._clock = clock
        self._scopes = tuple(scopes)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def token(self) -> str:
        """A valid access token, fetched from the token endpoint when needed."""
        # The lock is held across the fetch on purpose: threads that find the token
        # stale wait for the one refresh instead of each posting their own.
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._expires_at - _REFRESH_MARGIN:
                # Counted from before the request was sent, so the expiry we keep is
                # never later than the server's.
                self._token, expires_in = self._fetch(now)
                self._expires_at = now + expires_in
            return self._token

    async def token_async(self, send: Callable[[HttpRequest], Awaitable[AsyncHttpResponse]]) -> str:
        """:meth:`token` for async callers: a refresh goes through ``send`` (an async send).

        The lock is not held while waiting, so two tasks may both refresh; either token
        is valid.
        """
        # A threading lock cannot be held across an await: another task on the same
        # loop thread would block the whole loop trying to take it. So the lock only
        # guards reading and writing the cache, and the fetch runs outside it.
        with self._lock:
            now = self._clock()
            if self._token is not None and now < self._expires_at - _REFRESH_MARGIN:
                return self._token
            request = self._credentials.request(self._scopes, int(now))
        response = await send(request)
        body = await response.read()
        if not 200 <= response.status < 300:
            raise _token_error(response, body, request)
        token, expires_in = parse_token_response(body)
        with self._lock:
            self._token, self._expires_at = token, now + expires_in
        return token

    def invalidate(self) -> None:
        """Forget the cached token (e.g. after the API answered 401)."""
        with self._lock:
            self._token = None

    def _fetch(self, now: float) -> tuple[str, float]:
        request = self._credentials.request(self._scopes, int(now))
        response = self._send(request)
        try:
            body = response.read()
        finally:
            response.close()
        if not 200 <= response.status < 300:
            raise _token_error(response, body, request)
        return parse_token_response(body)

    def __repr__(self) -> str:
        return f"TokenSource({self._credentials!r})"


# -- Application Default Credentials -----------------------------------------------------

_WELL_KNOWN_NAME = "application_default_credentials.json"


def _gcloud_config_dir(env: Mapping[str, str]) -> str:
    # The same places as google-auth's _cloud_sdk.get_config_path, so a gcloud login
    # works here without flags.
    named = env.get("CLOUDSDK_CONFIG")
    if named:
        return named
    if os.name != "nt":
        return os.path.join(os.path.expanduser("~"), ".config", "gcloud")
    appdata = env.get("APPDATA")
    return os.path.join(appdata or env.get("SystemDrive", "C:") + "\\", "gcloud")


def well_known_file(env: Mapping[str, str] = os.environ) -> str:
    """Where ``gcloud auth application-default login`` writes its credentials."""
    return os.path.join(_gcloud_config_dir(env), _WELL_KNOWN_NAME)


def _read_file(path: str) -> dict[str, object]:
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot read Google credentials file {path!r}: {type(exc).__name__}"
        ) from None
    if not isinstance(info, dict):
        raise ConfigurationError(f"Google credentials file {path!r} does not hold a JSON object")
    return cast("dict[str, Any]", info)


@dataclass(frozen=True)
class DefaultCredentials:
    """What :func:`application_default` found: a token source, the project it names
    (``None`` when it names none) and where it was found, for messages."""

    source: TokenSource
    project: str | None
    origin: str


def _from_file(path: str, send: Callable[[HttpRequest], HttpResponse]) -> DefaultCredentials:
    info = _read_file(path)
    project = info.get("project_id")
    return DefaultCredentials(
        TokenSource(info, send), project if isinstance(project, str) else None, path
    )


def application_default(
    send: Callable[[HttpRequest], HttpResponse],
    *,
    project: str | None = None,
    env: Mapping[str, str] = os.environ,
) -> DefaultCredentials:
    """The first credentials found in ADC order (see the module docstring).

    Only the metadata step does I/O, through ``send``: a ping, and the project id when
    ``project`` (the one already configured) is empty. Raises
    :class:`~minicall.ConfigurationError` naming every place looked at when none has
    credentials.
    """
    # A named file that cannot be read is an error, not a reason to fall through: going
    # on to gcloud's file or the metadata server would run as some other identity than
    # the one asked for.
    explicit = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if explicit:
        return _from_file(explicit, send)
    gcloud_file = well_known_file(env)
    if os.path.isfile(gcloud_file):
        return _from_file(gcloud_file, send)
    if metadata.detect(send, env):
        server = metadata.MetadataServer.at(env)
        found = project or metadata.project_id(send, env)
        return DefaultCredentials(TokenSource(server, send), found, server.url(""))
    if env.get("NO_GCE_CHECK") == "true":
        probe = "the metadata server was not asked (NO_GCE_CHECK=true)"
    else:
        probe = f"no metadata server answered at http://{metadata.metadata_ip(env)} (not on Google Cloud?)"
    raise ConfigurationError(
        "no Google credentials for Vertex AI: pass access_token= or token_provider= to GoogleClient, "
        "or set GOOGLE_APPLICATION_CREDENTIALS to a credentials file; looked for gcloud's "
        f"application-default file at {gcloud_file!r} (gcloud auth application-default login) "
        f"and {probe}"
    )


class VertexAuth:
    """Where a Vertex AI client's bearer token comes from: a token or a token function the
    caller gave, or else Application Default Credentials, found once by :meth:`settle`.

    Tokens from ADC are cached by their :class:`TokenSource` until shortly before they
    expire; a given token function is called for every request, as its owner expects.
    """

    def __init__(self, access_token: str | None = None, token_provider: Callable[[], str] | None = None) -> None:
        given = token_provider
        if access_token is not None:
            given = lambda: access_token  # noqa: E731 - a constant token, asked for like a function
        self._given = given
        self.source: TokenSource | None = None

    def settle(self, send: Callable[[HttpRequest], HttpResponse], project: str | None) -> str | None:
        """Look up ADC unless a token was given (``send`` asks the metadata server);
        return the project: ``project``, else the one the credentials name."""
        if self._given is None:
            found = application_default(send, project=project)
            self.source = found.source
            return project or found.project
        return project

    def token(self) -> str | None:
        """The bearer token now (``None`` when the client uses an API key instead)."""
        if self._given is not None:
            return self._given()
        return self.source.token() if self.source is not None else None

    async def token_async(self, send: Callable[[HttpRequest], Awaitable[AsyncHttpResponse]]) -> str | None:
        """:meth:`token` for async calls: an ADC refresh goes through ``send``, on the loop."""
        if self.source is None:
            return self.token()
        return await self.source.token_async(send)

    def invalidate(self) -> None:
        """The server refused the token (a 401): fetch a new one next time."""
        if self.source is not None:
            self.source.invalidate()

    def __repr__(self) -> str:
        return "VertexAuth(credentials=[redacted])"


def adc_configured(env: Mapping[str, str] = os.environ) -> bool:
    """Whether an ADC file is named or in gcloud's place, without asking the metadata
    server (listing providers must not wait on the network)."""
    return bool(env.get("GOOGLE_APPLICATION_CREDENTIALS")) or os.path.isfile(well_known_file(env))

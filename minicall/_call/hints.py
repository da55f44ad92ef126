"""What an error says about the request that failed, and what most often fixes it.

Every error that had a request names its method, URL (credentials masked) and attempts;
:func:`hint_for` adds one sentence for the mistakes users make most: a base URL missing
a path segment (404/405), an HTML page instead of the API, an untrusted certificate, a
proxy, a key that was refused.
The transport's own phrases (``_http._common``) are what the connection hints match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._model.errors import APIConnectionError, APIError, APITimeoutError, MinicallError, ResponseFormatError

if TYPE_CHECKING:
    from .client import BaseClient

__all__ = ["describe", "hint_for"]

_TLS_VERIFY = (
    "the server's certificate is not trusted here: pass ca_file= to the client (or set "
    "SSL_CERT_FILE) to trust its CA; verify=False turns the check off"
)
_TLS = "TLS could not be set up: check that base_url's scheme and port speak https"
_PROXY = (
    "the request went through a proxy (HTTPS_PROXY/HTTP_PROXY, or the transport's proxy=): "
    "check that setting, or list the host in NO_PROXY to go direct"
)
_PROXY_AUTH = (
    "the proxy wants credentials: put them in its URL (http://user:pass@host:port) in "
    "HTTPS_PROXY/HTTP_PROXY or the transport's proxy="
)


def _appended(url: str, base: str) -> str:
    """The path minicall appended to ``base`` to make ``url`` (both masked)."""
    base = base.partition("?")[0]
    rest = url[len(base) :] if url.startswith(base) else url
    return rest.partition("?")[0] or "/"


def hint_for(error: MinicallError, client: BaseClient | None, url: str) -> str | None:
    """One sentence on what most often fixes ``error``, or ``None``.

    Without the ``client`` (a stream that broke mid-way) only the connection hints apply.
    """
    if isinstance(error, APIError):
        if client is None:
            return None
        status = error.status_code
        if status in (404, 405):
            base = client.shown_base_url
            return (
                f"the URL is base_url {base!r} plus the path {_appended(url, base)!r} that "
                f"minicall appends for {client.provider}; check base_url (a missing or extra "
                "/v1 is the usual mistake)"
            )
        if status == 401:
            names = " or ".join(client.api_key_env) or "the client's credentials"
            return f"the credentials were refused: check api_key= or {names}"
        if status == 407:
            return _PROXY_AUTH
        return None
    if isinstance(error, ResponseFormatError):
        if error.snippet.lstrip()[:1] == "<":  # a web page where the API should be
            return "the reply was an HTML page, not the provider's API: check base_url"
        return None
    if not isinstance(error, APIConnectionError):
        return None
    message = error.message
    if "TLS certificate verification failed" in message:
        return _TLS_VERIFY
    if "via proxy" in message:
        return _PROXY_AUTH if " 407" in message else _PROXY
    if message.startswith("TLS"):
        return _TLS
    if isinstance(error, APITimeoutError):
        if "deadline" in (getattr(error, "limit", None) or ""):
            return "the call ran out of time as a whole: raise the client's deadline= (seconds)"
        return "the server did not answer in time: raise the client's timeout= (seconds)"
    if message.startswith(("connection refused", "could not resolve host")):
        return "nothing answered there: check base_url's host and port"
    return None


def describe(error: MinicallError, client: BaseClient | None, method: str, url: str) -> MinicallError:
    """``error`` naming its request (``url`` masked here) and carrying a hint."""
    from .._model.http import redact_url

    error.method = method
    error.url = shown = redact_url(url)
    if error.hint is None:
        error.hint = hint_for(error, client, shown)
    return error

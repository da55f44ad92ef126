"""Which proxy, if any, a request goes through; shared by the sync and async transports.

Sans-IO: reads a mapping of environment variables (``os.environ`` by default) and
returns a :class:`Proxy` or ``None``.

Rules, as curl and urllib apply them:

- ``https_proxy``/``HTTPS_PROXY`` serves https URLs, ``http_proxy``/``HTTP_PROXY`` http
  URLs; the lower-case name wins when both are set. ``HTTP_PROXY`` upper-case is
  ignored when ``REQUEST_METHOD`` is set (a CGI request can set it: "httpoxy").
- ``no_proxy``/``NO_PROXY`` lists hosts that go direct: exact hosts, domain suffixes
  (``example.com`` also covers ``api.example.com``; a leading dot is ignored),
  ``host:port``, or ``*`` for everything. Loopback is *not* bypassed unless listed,
  as with urllib's ``proxy_bypass_environment``.
- An explicit proxy given to a transport is used for every request, with no bypass.

Only ``http://`` proxies are supported (https goes through them with CONNECT); a
``https://`` or ``socks`` proxy URL raises :class:`~minicall.ConfigurationError`.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from .._model.errors import ConfigurationError
from .._model.http import split_url

__all__ = ["Proxy", "is_bypassed", "parse_proxy", "proxy_for"]

_SCHEME_VARIABLES: dict[str, tuple[str, ...]] = {
    "https": ("https_proxy", "HTTPS_PROXY"),
    "http": ("http_proxy", "HTTP_PROXY"),
}
_NO_PROXY_VARIABLES = ("no_proxy", "NO_PROXY")


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy: where it listens and, when it wants one, the auth header value.

    ``authorization`` is the full ``Proxy-Authorization`` value; it is kept out of the
    repr because it is a credential.
    """

    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """``host:port`` for messages (never the credentials)."""
        return f"{self.host}:{self.port}"


def parse_proxy(url: str) -> Proxy:
    """Read a proxy URL such as ``http://user:pass@proxy:3128`` (scheme optional)."""
    text = url.strip()
    # HTTPS_PROXY=proxy:3128 without a scheme is common, and curl and requests read it
    # as http.
    if "://" not in text:
        text = "http://" + text
    try:
        parts = split_url(text)
        port = parts.port
    except ValueError:
        raise ConfigurationError("proxy URL is not valid (expected http://host:port)") from None
    if parts.scheme.lower() != "http":
        raise ConfigurationError(
            f"proxy scheme {parts.scheme!r} is not supported; use an http:// proxy "
            "(https requests pass through it with CONNECT)"
        )
    if not parts.hostname:
        raise ConfigurationError("proxy URL has no host (expected http://host:port)")
    auth = None
    if parts.username is not None:
        # Userinfo is percent-encoded in a URL (RFC 3986 §3.2.1), which is how a
        # password holding '@' or ':' gets there; Basic credentials are the decoded
        # pair, as UTF-8 (RFC 7617 §2.1).
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        auth = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    # Port 80 when none is given, as urllib and requests assume for an http:// proxy
    # (curl would assume 1080).
    return Proxy(parts.hostname, port or 80, auth)


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = env.get(name)
        if value:
            return value
    return None


def is_bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether ``no_proxy`` (a comma-separated list) sends ``host:port`` direct.

    Same matching as urllib's ``proxy_bypass_environment``: an entry matches the host
    or ``host:port`` exactly, or as a dot-separated suffix; ``*`` alone matches all.
    """
    if no_proxy.strip() == "*":
        return True
    # Both the host and host:port are tried, so an entry may name a port; IPv6 hosts are
    # bracketed in the host:port form, as NO_PROXY writes them.
    bare = host.lower().strip("[]")
    name = f"[{bare}]" if ":" in bare else bare
    candidates = (bare, f"{name}:{port}")
    for entry in no_proxy.split(","):
        entry = entry.strip().lstrip(".").lower()
        # A suffix only at a dot: 'example.com' covers 'api.example.com' but not
        # 'badexample.com', which a plain endswith would send direct.
        if entry and any(c == entry or c.endswith("." + entry) for c in candidates):
            return True
    return False


def proxy_for(
    scheme: str, host: str, port: int, env: Mapping[str, str] | None = None
) -> Proxy | None:
    """The proxy the environment names for a request to ``scheme://host:port``, if any.

    With ``env`` left out, ``os.environ`` is read on every call (a variable set at run
    time takes effect at once). Nothing is cached: the proxy URL may carry credentials,
    which no module-level cache may hold.
    """
    return _proxy_in(scheme, host, port, os.environ if env is None else env)


def _proxy_in(scheme: str, host: str, port: int, env: Mapping[str, str]) -> Proxy | None:
    names = _SCHEME_VARIABLES.get(scheme.lower(), ())
    # httpoxy (CVE-2016-1000110): under CGI every request header becomes an HTTP_*
    # variable (RFC 3875 §4.1.18), so a client's 'Proxy:' header arrives as HTTP_PROXY
    # and would send our outgoing calls through the attacker's proxy. The lower-case
    # http_proxy cannot be set that way and still counts.
    if scheme.lower() == "http" and "REQUEST_METHOD" in env:
        names = tuple(n for n in names if n != "HTTP_PROXY")
    url = _first(env, names)
    if url is None:
        return None
    if is_bypassed(host, port, _first(env, _NO_PROXY_VARIABLES) or ""):
        return None
    return parse_proxy(url)

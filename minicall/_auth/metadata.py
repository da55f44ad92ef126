"""The Google Cloud metadata server: access tokens and the project on GCE, Cloud Run,
GKE and Cloud Functions, the last step of Application Default Credentials.

Facts as google-auth's ``compute_engine/_metadata.py`` has them:

* tokens and metadata live under ``http://{host}/computeMetadata/v1/``, where ``host``
  is ``GCE_METADATA_HOST``, else its older name ``GCE_METADATA_ROOT``, else
  ``metadata.google.internal``; every request carries ``Metadata-Flavor: Google``;
* the token is ``GET instance/service-accounts/default/token?scopes=...``, answered
  with the usual ``{"access_token", "expires_in", "token_type"}``; the project is
  ``GET project/project-id`` (plain text);
* presence is decided by a ping of ``http://{GCE_METADATA_IP or 169.254.169.254}/``
  (an IP, so no slow DNS lookup off Google Cloud) with a short timeout
  (``GCE_METADATA_TIMEOUT``, 3 s); only a 200 carrying ``Metadata-Flavor: Google``
  counts. ``NO_GCE_CHECK=true`` skips the check; on Linux a machine whose DMI product
  name starts with ``Google`` counts as Google Cloud even when the ping failed.

One deliberate difference: google-auth retries a failed ping with backoff sleeps. Here
a refused or unreachable connection ends detection at once, and only a timeout is tried
again (``GCE_METADATA_DETECT_RETRIES`` attempts in all, 3), so a machine that is not on
Google Cloud learns so in milliseconds when nothing listens there.

The I/O goes through a ``send`` function (the client's transport), so proxies and CA
settings apply and tests can stand a loopback server in for the metadata server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from .._model.errors import APIConnectionError, APITimeoutError
from .._model.http import HttpRequest, HttpResponse

__all__ = ["MetadataServer", "detect", "metadata_ip", "project_id"]

_DEFAULT_HOST = "metadata.google.internal"
_DEFAULT_IP = "169.254.169.254"
# The metadata server refuses requests without this header. It is the SSRF guard: an
# attacker who can only make a server fetch a URL (or follow a redirect) cannot add it,
# so cannot read the service account's token.
_FLAVOR = {"Metadata-Flavor": "Google"}
_TOKEN_PATH = "instance/service-accounts/default/token"
_PROJECT_PATH = "project/project-id"
_PRODUCT_NAME_FILE = "/sys/class/dmi/id/product_name"
_DEFAULT_TIMEOUT = 3.0
_DEFAULT_ATTEMPTS = 3

Send = Callable[[HttpRequest], HttpResponse]


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    # A zero or negative setting would make every wait fail at once (or raise): the
    # default is used instead, as for a value that is not a number.
    try:
        value = float(env.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default


def _host(env: Mapping[str, str]) -> str:
    return env.get("GCE_METADATA_HOST") or env.get("GCE_METADATA_ROOT") or _DEFAULT_HOST


def metadata_ip(env: Mapping[str, str] = os.environ) -> str:
    """Where the presence ping goes: ``GCE_METADATA_IP`` or ``169.254.169.254``."""
    return env.get("GCE_METADATA_IP") or _DEFAULT_IP


def _get(url: str, env: Mapping[str, str]) -> HttpRequest:
    return HttpRequest(
        "GET", url, dict(_FLAVOR), timeout=_number(env, "GCE_METADATA_TIMEOUT", _DEFAULT_TIMEOUT)
    )


def _is_metadata_server(response: HttpResponse) -> bool:
    # Status and flavour both: off Google Cloud, 169.254.169.254 may be another cloud's
    # metadata service or a proxy or captive portal that answers any URL with a 200.
    return response.status == 200 and response.headers.get("metadata-flavor") == "Google"


def _exchange(send: Send, request: HttpRequest) -> tuple[HttpResponse, bytes]:
    # Read whole and closed, so the connection goes back to the pool (or is dropped)
    # whatever the answer was.
    response = send(request)
    try:
        return response, response.read()
    finally:
        response.close()


def _google_hardware(path: str) -> bool:
    # google-auth's second opinion when the ping fails: Google's VMs report a DMI
    # product name starting with "Google". Windows has no /sys, and google-auth does
    # not look there either.
    if os.name == "nt":
        return False
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip().startswith("Google")
    except (OSError, UnicodeDecodeError):
        return False


def detect(send: Send, env: Mapping[str, str] = os.environ) -> bool:
    """Whether this process runs on Google Cloud with a metadata server to ask."""
    if env.get("NO_GCE_CHECK") == "true":
        return False
    request = _get(f"http://{metadata_ip(env)}", env)
    attempts = max(1, int(_number(env, "GCE_METADATA_DETECT_RETRIES", _DEFAULT_ATTEMPTS)))
    for _ in range(attempts):
        try:
            response, _body = _exchange(send, request)
        except APITimeoutError:
            continue  # maybe a slow server: google-auth tries again too
        except APIConnectionError:
            break  # refused or unreachable: nothing is there
        if _is_metadata_server(response):
            return True
        break  # something answered, but not a metadata server
    return _google_hardware(_PRODUCT_NAME_FILE)


def project_id(send: Send, env: Mapping[str, str] = os.environ) -> str | None:
    """The project the metadata server reports, or ``None`` if it reports none."""
    try:
        response, body = _exchange(send, _get(MetadataServer.at(env).url(_PROJECT_PATH), env))
    except APIConnectionError:
        return None
    if response.status != 200:
        return None
    try:
        project = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    return project or None


@dataclass(frozen=True)
class MetadataServer:
    """The token grant of the instance's default service account (no secret held)."""

    host: str
    timeout: float

    @classmethod
    def at(cls, env: Mapping[str, str] = os.environ) -> MetadataServer:
        return cls(_host(env), _number(env, "GCE_METADATA_TIMEOUT", _DEFAULT_TIMEOUT))

    def url(self, path: str) -> str:
        return f"http://{self.host}/computeMetadata/v1/{path}"

    def request(self, scopes: Iterable[str], now: int) -> HttpRequest:
        # On GCE the server ignores the scopes; Cloud Run and GKE honour them.
        query = urlencode({"scopes": ",".join(scopes)})
        return HttpRequest(
            "GET", f"{self.url(_TOKEN_PATH)}?{query}", dict(_FLAVOR), timeout=self.timeout
        )

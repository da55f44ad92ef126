"""AWS Signature Version 4 request signing, for Bedrock (pure ``hmac``/``hashlib``).

Reference: "Create a signed AWS API request" in the AWS IAM user guide, and the
behaviour of botocore's ``SigV4Auth`` for non-S3 services, which this reproduces:

1. canonical request = method, canonical URI, canonical query, canonical headers,
   signed header names and the body's SHA-256, joined by newlines;
2. string to sign = algorithm, timestamp, credential scope and the canonical
   request's SHA-256;
3. signature = HMAC chain ``secret -> date -> region -> service -> "aws4_request"``.

Non-S3 services sign the path percent-encoded *again* (``%3A`` becomes ``%253A``),
after normalising it: ``.`` and ``..`` segments resolved (RFC 3986 5.2.4) and empty
segments dropped, as botocore does and the service expects.
The clock arrives as an argument, so signing is deterministic and testable.

Why the details matter: AWS recomputes the canonical request from what it receives
and compares signatures, so every byte of it must be what the service will rebuild.
A header added or rewritten after signing, a Host that differs from the one sent, a
path encoded once instead of twice: each gives the same opaque 403 "signature does
not match". And the signature carries its time: AWS refuses a request whose
``X-Amz-Date`` is more than five minutes from its own clock, so a request must be
signed close to the moment it is sent.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from dataclasses import dataclass, field, replace
from urllib.parse import quote, unquote

from .._model.http import HttpRequest, split_url

__all__ = ["AwsCredentials", "canonical_request", "encode_model_id", "sign", "string_to_sign"]

ALGORITHM = "AWS4-HMAC-SHA256"
# Headers that proxies or the transport may add or rewrite after signing: botocore's
# SIGNED_HEADERS_BLACKLIST (user-agent, expect, transfer-encoding, x-amzn-trace-id),
# plus connection, which is hop-by-hop.
_UNSIGNED = frozenset(
    {"user-agent", "expect", "connection", "transfer-encoding", "x-amzn-trace-id"}
)
# Headers this signer owns: any stale copy on the request is replaced.
_OWN = frozenset({"authorization", "x-amz-date", "x-amz-security-token"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class AwsCredentials:
    """An access key pair, with the session token of temporary credentials."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        token = ", session_token=[redacted]" if self.session_token else ""
        return f"AwsCredentials(access_key_id={self.access_key_id!r}, secret_access_key=[redacted]{token})"


def encode_model_id(model_id: str) -> str:
    """Percent-encode a model id or ARN as one URI label (``:`` and ``/`` escaped)."""
    # Only RFC 3986 unreserved characters stay: a model ARN's '/' would otherwise split
    # the path into more segments, and the path is signed as written. This is botocore's
    # percent_encode of a non-greedy URI label.
    return quote(model_id, safe="-._~")


def _host(url: str) -> str:
    parts = split_url(url)
    # botocore's _host_from_url: lower-case (hostname is), IPv6 bracketed, the default
    # port left out. It must equal the Host the transport sends (_http._common.parse_url
    # builds it the same way), or the signature cannot match.
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return host


def _canonical_query(query: str) -> str:
    # Decode first so that a query already encoded and one not yet encoded sign alike.
    # The AWS rules: each name and value URI-encoded with only unreserved characters
    # left as they are (so a space is %20, never +), sorted by name, then by value.
    pairs: list[tuple[str, str]] = []
    for item in query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _signed_headers(request: HttpRequest) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        if key in _UNSIGNED:
            continue
        # SigV4's Trimall: leading and trailing spaces dropped and inner runs of spaces
        # folded to one, as the service does before it compares.
        value = " ".join(value.split())
        # Names differing only in case are one header; their values are joined with
        # commas, in order, as botocore does for a repeated header.
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    # Host must be signed, but the transport adds it only when sending: it is derived
    # here from the URL, exactly as the transport will.
    headers.setdefault("host", _host(request.url))
    return headers


def _normalized_path(path: str) -> str:
    """``path`` with dot segments resolved and empty segments (``//``) dropped."""
    if not path:
        return "/"
    # botocore's remove_dot_segments: RFC 3986 §5.2.4, plus empty segments dropped,
    # which botocore notes AWS services require. A '..' at the root stays at the root.
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if path.endswith("/") and kept else ""
    return lead + "/".join(kept) + trail


def canonical_request(request: HttpRequest) -> tuple[str, str]:
    """The canonical request text and the ``;``-joined signed header names."""
    parts = split_url(request.url)
    headers = _signed_headers(request)
    names = sorted(headers)
    signed = ";".join(names)
    text = "\n".join(
        [
            request.method.upper(),
            # The path from the URL is already percent-encoded; quoting it again turns
            # each '%' into '%25'. That double encoding is what non-S3 services
            # expect (S3 alone signs the path as sent).
            quote(_normalized_path(parts.path), safe="/~"),
            _canonical_query(parts.query),
            "".join(f"{name}:{headers[name]}\n" for name in names),
            signed,
            # The payload is always hashed, botocore's default: the body is already in
            # memory, so leaving it unsigned would save nothing.
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    return text, signed


def string_to_sign(canonical: str, amz_date: str, scope: str) -> str:
    """The text the signing key signs."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _utc(now: datetime.datetime) -> datetime.datetime:
    # A naive datetime is taken to be UTC already, as botocore's clock is.
    if now.tzinfo is None:
        return now
    return now.astimezone(datetime.timezone.utc)


def sign(
    request: HttpRequest,
    credentials: AwsCredentials,
    *,
    region: str,
    service: str,
    now: datetime.datetime,
) -> HttpRequest:
    """A copy of ``request`` with ``X-Amz-Date``, ``X-Amz-Security-Token`` (when the
    credentials have one) and ``Authorization`` set for SigV4 at time ``now``."""
    # One timestamp for both the header and the scope: taken twice, a request signed
    # across midnight UTC would carry a scope date that X-Amz-Date contradicts.
    amz_date = _utc(now).strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    # A request signed again must not carry the earlier signature or date: an old
    # Authorization would be signed into the new one.
    headers: dict[str, str] = {k: v for k, v in request.headers.items() if k.lower() not in _OWN}
    headers["X-Amz-Date"] = amz_date
    # Added before the canonical request, so the token is itself signed, as botocore
    # does for header signing.
    if credentials.session_token:
        headers["X-Amz-Security-Token"] = credentials.session_token
    canonical, signed = canonical_request(replace(request, headers=headers))
    scope = f"{day}/{region}/{service}/aws4_request"
    # The signing key is derived per day, region and service, so a key leaked from one
    # scope signs nothing else.
    key = _hmac(("AWS4" + credentials.secret_access_key).encode("utf-8"), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = _hmac(key, string_to_sign(canonical, amz_date, scope)).hex()
    headers["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return replace(request, headers=headers)

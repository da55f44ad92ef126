"""Per-call request options, as the official SDKs take them beside the API's parameters.

The openai and anthropic SDKs (which Mirascope hands ``call_params`` to as keyword
arguments) read four keyword arguments that are not request fields: ``extra_headers``
(beta features such as ``anthropic-beta``), ``extra_query``, ``extra_body`` and
``timeout``. In ``call_params`` they would otherwise travel as body keys, which every
provider rejects; :func:`encode_request` takes them out before the codec runs and
applies them to the request it made, for every provider alike.
"""
# Arguments are checked at run time too (callers may be untyped):
# pyright: reportUnnecessaryIsInstance=false

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast
from urllib.parse import urlencode

from .client import check_header
from .._model.errors import ConfigurationError
from .._model.http import HttpRequest
from .._model.spec import CallSpec, Codec, Endpoint
from .._model.wire import dumps

__all__ = ["REQUEST_OPTIONS", "encode_request"]

REQUEST_OPTIONS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
"""The ``call_params`` keys that configure the request rather than fill its body."""


def encode_request(codec: Codec, spec: CallSpec, endpoint: Endpoint) -> HttpRequest:
    """``codec.encode(spec, endpoint)`` with the :data:`REQUEST_OPTIONS` in
    ``spec.call_params`` applied to the request instead of sent as body keys:

    - ``extra_headers``: headers; one replaces the codec's or the client's header of the
      same name (compared without case); credentials are added later and still win;
    - ``extra_query``: query parameters added to the URL;
    - ``extra_body``: keys merged into the JSON body (shallowly, replacing the codec's,
      as the SDKs do);
    - ``timeout``: seconds bounding the connect and each read of this call.

    ``None`` leaves an option unset (Mirascope types them ``... | None``). A value of the
    wrong shape is a ``ConfigurationError``, raised before anything is sent.
    """
    params = spec.call_params
    if REQUEST_OPTIONS.isdisjoint(params):  # most calls: no set built
        return codec.encode(spec, endpoint)
    rest = {k: v for k, v in params.items() if k not in REQUEST_OPTIONS}
    request = codec.encode(replace(spec, call_params=rest), endpoint)
    headers, query, body, timeout = (params.get(k) for k in ("extra_headers", "extra_query", "extra_body", "timeout"))
    if headers is not None:
        request = request.with_headers(_headers(request.headers, headers))
    if query is not None:
        request = replace(request, url=_with_query(request.url, query))
    if body is not None:
        request = replace(request, body=_merged_body(request.body, body))
    if timeout is not None:
        request = replace(request, timeout=_seconds(timeout))
    return request


def _mapping(name: str, value: Any) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"call_params {name} must be a dict, got {type(value).__name__}")
    return cast("Mapping[object, object]", value)


def _headers(current: Mapping[str, str], extra: Any) -> dict[str, str]:
    given: dict[str, str] = {}
    for name, value in _mapping("extra_headers", extra).items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ConfigurationError(
                f"call_params extra_headers must map header names to strings, got {name!r}: {type(value).__name__}"
            )
        check_header(name, value)
        given[name] = value
    replaced = {name.lower() for name in given}
    headers = {k: v for k, v in current.items() if k.lower() not in replaced}
    headers.update(given)
    return headers


def _with_query(url: str, extra: Any) -> str:
    pairs: list[tuple[str, str]] = []
    for name, value in _mapping("extra_query", extra).items():
        if not isinstance(name, str) or not isinstance(value, (str, int, float)):
            raise ConfigurationError(
                f"call_params extra_query must map names to plain values, got {name!r}: {type(value).__name__}"
            )
        # JSON's spelling of booleans, as the SDKs' query encoders write them.
        pairs.append((name, json.dumps(value) if isinstance(value, bool) else str(value)))
    if not pairs:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(pairs)


def _merged_body(body: bytes, extra: Any) -> bytes:
    given = _mapping("extra_body", extra)
    if any(not isinstance(k, str) for k in given):
        raise ConfigurationError("call_params extra_body must have string keys")
    try:
        decoded: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        decoded = None
    if not isinstance(decoded, dict):
        raise ConfigurationError("call_params extra_body needs a JSON object body, which this request has not")
    merged = cast("dict[str, Any]", decoded)
    merged.update(cast("Mapping[str, Any]", given))
    return dumps(merged)


def _seconds(value: Any) -> float:
    # An httpx.Timeout (Mirascope's AnthropicCallParams allow one) bounds reads by ``read``.
    seconds: Any = getattr(value, "read", value)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds <= 0:
        raise ConfigurationError(f"call_params timeout must be a positive number of seconds, got {value!r}")
    return float(seconds)

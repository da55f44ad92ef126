"""Turning an official SDK's client object into the minicall client that does its job.

Each reader takes the SDK object and the provider of the call and returns the provider
whose minicall client to build plus that client's keyword arguments. Reads go through
public attributes where the SDK has them and through checked reads of private ones
where it keeps them private (the names are in :mod:`.sdk_clients`); anything missing or
of an unexpected type is a :class:`ConfigurationError` naming it, never a guess.

The conversion is remade when what was read changes (a rotated key, a refreshed AWS
session token): a converted client is kept per SDK object, weakly, with a keyed digest
of what it was built from, so it never outlives the SDK object that holds the same
secrets, and no secret is kept as a key or a digest anyone can reverse.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any, cast

from .._model.errors import ConfigurationError
from .client import BaseClient, keyed_digest
from .registry import provider_module
from .sdk_clients import family_of

__all__ = ["check_sdk_client", "from_sdk"]

Kwargs = dict[str, Any]
Reader = Callable[[Any, str], tuple[str, Kwargs]]

_SUPPORTED = (
    "OpenAI, AsyncOpenAI, AzureOpenAI, Anthropic, AsyncAnthropic, Groq, AsyncGroq, cohere "
    "Client/ClientV2, Mistral, genai Client, a botocore/boto3 bedrock-runtime client, "
    "azure-ai-inference ChatCompletionsClient"
)


def _fail(obj: object, what: str) -> ConfigurationError:
    return ConfigurationError(f"cannot use this {type(obj).__name__} as a client: {what}")


def _get(obj: object, name: str, owner: object) -> object:
    try:
        return getattr(obj, name)
    except AttributeError:
        raise _fail(
            owner,
            f"it has no {name!r} (an SDK version minicall was not checked against?); "
            "build the minicall client instead",
        ) from None


def _opt_str(value: object, what: str, owner: object) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise _fail(owner, f"its {what} is a {type(value).__name__}, not a string")


def _url(value: object, owner: object) -> str:
    text = str(value) if value is not None else ""  # httpx.URL prints as the URL
    if not text.startswith(("http://", "https://")):
        # The value itself is not quoted: a URL may hold a credential.
        what = "is not an http:// or https:// URL" if isinstance(value, str) and value else "cannot be read"
        raise _fail(owner, f"its base URL (endpoint) {what}")
    return text.rstrip("/")


def _mapping(value: object) -> Mapping[object, object] | None:
    return cast("Mapping[object, object]", value) if isinstance(value, Mapping) else None


def _items(value: object) -> tuple[object, ...]:
    """A list or tuple's items; ``()`` for anything else."""
    return tuple(cast("list[object] | tuple[object, ...]", value)) if isinstance(value, (list, tuple)) else ()


def _headers(value: object, owner: object) -> dict[str, str]:
    if value is None:
        return {}
    mapping = _mapping(value)
    if mapping is None:
        raise _fail(owner, f"its default headers are a {type(value).__name__}, not a mapping")
    # Non-string values are the SDK's "omit this header" markers: nothing to send.
    return {str(k): v for k, v in mapping.items() if isinstance(v, str)}


def _seconds(value: object, owner: object, scale: float = 1.0) -> float | None:
    """A timeout in seconds; ``None`` (the SDK's "no limit") leaves minicall's default."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) * scale if value > 0 else None
    # httpx.Timeout: the longest phase bounds what minicall's per-attempt timeout allows.
    phases = [getattr(value, n, None) for n in ("connect", "read", "write", "pool")]
    numbers = [float(p) for p in phases if isinstance(p, (int, float)) and not isinstance(p, bool)]
    if not numbers and not any(p is None for p in phases):
        raise _fail(owner, f"its timeout is a {type(value).__name__}")
    return max(numbers) * scale if numbers else None


def _retries(value: object, owner: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _fail(owner, f"its max_retries is {type(value).__name__}, not a count")


def _no_query(obj: object, allowed: tuple[str, ...] = ()) -> None:
    query = _mapping(_get(obj, "_custom_query", obj)) or {}
    extra = [k for k in query if k not in allowed]
    if extra:
        raise _fail(obj, f"default_query {extra} is not carried over; put it in call_params")


def _refuse_set(obj: object, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(obj, name, None) is not None:
            raise _fail(obj, f"{name.lstrip('_')}= is not carried over; pass an API key instead")


# -- the Stainless SDKs: openai, anthropic, groq -----------------------------------------


def _stainless(obj: object) -> Kwargs:
    return {
        "base_url": _url(_get(obj, "base_url", obj), obj),
        "timeout": _seconds(_get(obj, "timeout", obj), obj),
        "max_retries": _retries(_get(obj, "max_retries", obj), obj),
        "headers": _headers(_get(obj, "_custom_headers", obj), obj),
    }


def _openai_key(obj: object) -> str | None:
    provider = getattr(obj, "_api_key_provider", None)  # api_key=<function>: asked per call
    key = provider() if callable(provider) else _get(obj, "api_key", obj)
    return _opt_str(key, "api_key", obj)


def _openai(obj: object, provider: str) -> tuple[str, Kwargs]:
    _refuse_set(obj, ("workload_identity", "_provider_runtime"))
    _no_query(obj)
    kwargs = _stainless(obj)
    kwargs["api_key"] = _openai_key(obj)
    org = _opt_str(_get(obj, "organization", obj), "organization", obj)
    project = _opt_str(_get(obj, "project", obj), "project", obj)
    if provider == "openai":
        kwargs.update(organization=org, project=project)
    else:
        extra = {"OpenAI-Organization": org, "OpenAI-Project": project}
        kwargs["headers"].update({k: v for k, v in extra.items() if v})
    return provider, kwargs


# The placeholder AzureOpenAI stores as api_key when it authenticates with Entra ID.
_AZURE_NO_KEY = "<missing API key>"


def _azure_openai(obj: object, provider: str) -> tuple[str, Kwargs]:
    _no_query(obj, allowed=("api-version",))
    if _get(obj, "_azure_deployment", obj) is not None:
        raise _fail(obj, "azure_deployment= is not carried over; use the deployment name as the model")
    kwargs = _stainless(obj)
    endpoint = _get(obj, "_azure_endpoint", obj)
    url = _url(endpoint, obj) if endpoint is not None else kwargs["base_url"]
    if "/deployments/" in url:
        raise _fail(obj, "a base_url naming a deployment is not carried over; use the endpoint")
    key = _openai_key(obj)
    token_provider = _get(obj, "_azure_ad_token_provider", obj)
    if token_provider is not None and not callable(token_provider):
        raise _fail(obj, "its azure_ad_token_provider is not callable")
    kwargs.update(
        base_url=url.removesuffix("/openai"),
        deployment_style="openai",
        api_key=None if key == _AZURE_NO_KEY else key,
        api_version=_opt_str(_get(obj, "_api_version", obj), "api_version", obj),
        azure_ad_token=_opt_str(_get(obj, "_azure_ad_token", obj), "azure_ad_token", obj),
        azure_ad_token_provider=token_provider,
    )
    return "azure", kwargs


def _anthropic(obj: object, provider: str) -> tuple[str, Kwargs]:
    _no_query(obj)
    kwargs = _stainless(obj)
    kwargs["api_key"] = _opt_str(_get(obj, "api_key", obj), "api_key", obj)
    kwargs["auth_token"] = _opt_str(_get(obj, "auth_token", obj), "auth_token", obj)
    if kwargs["api_key"] is None and kwargs["auth_token"] is None:
        _refuse_set(obj, ("credentials",))
    return provider, kwargs


def _groq(obj: object, provider: str) -> tuple[str, Kwargs]:
    _no_query(obj)
    kwargs = _stainless(obj)
    kwargs["api_key"] = _opt_str(_get(obj, "api_key", obj), "api_key", obj)
    return provider, kwargs


# -- cohere, mistral, genai ----------------------------------------------------------------


def _call0(obj: object, name: str, owner: object) -> object:
    method = _get(obj, name, owner)
    if not callable(method):
        raise _fail(owner, f"its {name} is not a method")
    return method()


def _cohere(obj: object, provider: str) -> tuple[str, Kwargs]:
    wrapper = _get(obj, "_client_wrapper", obj)
    if getattr(wrapper, "_async_token", None) is not None:
        raise _fail(obj, "an async token function is not carried over; pass token= as a string")
    token = _get(wrapper, "_token", obj)
    headers = _headers(_call0(wrapper, "get_custom_headers", obj), obj)
    name = getattr(wrapper, "_client_name", None)
    if isinstance(name, str) and name:
        headers["X-Client-Name"] = name
    return provider, {
        "api_key": _opt_str(token() if callable(token) else token, "token", obj),
        "base_url": _url(_call0(wrapper, "get_base_url", obj), obj),
        "timeout": _seconds(_call0(wrapper, "get_timeout", obj), obj),
        "max_retries": _retries(_call0(wrapper, "get_max_retries", obj), obj),
        "headers": headers,
    }


def _mistral(obj: object, provider: str) -> tuple[str, Kwargs]:
    config = _get(obj, "sdk_configuration", obj)
    details = _items(_call0(config, "get_server_details", obj))
    server = details[0] if details else None
    security = _get(config, "security", obj)
    if callable(security):
        security = security()
    key = None if security is None else _get(security, "api_key", obj)
    return provider, {
        "api_key": _opt_str(key, "api_key", obj),
        "base_url": _url(server, obj),
        "timeout": _seconds(_get(config, "timeout_ms", obj), obj, scale=0.001),
    }


# Headers genai sets itself on every client; the rest of http_options.headers is the user's.
_GENAI_OWN = frozenset({"content-type", "x-goog-api-key", "user-agent", "x-goog-api-client"})


def _genai(obj: object, provider: str) -> tuple[str, Kwargs]:
    api = _get(obj, "_api_client", obj)
    options = _get(api, "_http_options", obj)
    headers = _headers(_get(options, "headers", obj), obj)
    kwargs: Kwargs = {
        "base_url": _url(_get(options, "base_url", obj), obj),
        "api_version": _opt_str(_get(options, "api_version", obj), "api_version", obj),
        "headers": {k: v for k, v in headers.items() if k.lower() not in _GENAI_OWN},
        "timeout": _seconds(_get(options, "timeout", obj), obj, scale=0.001),
        "api_key": _opt_str(_get(api, "api_key", obj), "api_key", obj),
    }
    attempts = getattr(_get(options, "retry_options", obj), "attempts", None)
    if isinstance(attempts, int) and attempts >= 1:
        kwargs["max_retries"] = attempts - 1
    if _get(api, "vertexai", obj):
        kwargs.update(
            vertex=True,
            project=_opt_str(_get(api, "project", obj), "project", obj),
            location=_opt_str(_get(api, "location", obj), "location", obj),
        )
    else:
        kwargs["vertex"] = False
    return provider, kwargs


# -- botocore ------------------------------------------------------------------------------


def _bedrock(obj: object, provider: str) -> tuple[str, Kwargs]:
    meta = _get(obj, "meta", obj)
    service = getattr(_get(meta, "service_model", obj), "service_name", None)
    if service != "bedrock-runtime":
        raise _fail(obj, f"it is a {service!r} client; bedrock needs a 'bedrock-runtime' client")
    config = _get(meta, "config", obj)
    kwargs: Kwargs = {
        "region": _opt_str(_get(meta, "region_name", obj), "region", obj),
        "base_url": _url(_get(meta, "endpoint_url", obj), obj),
        "timeout": _seconds(getattr(config, "read_timeout", None), obj),
    }
    retries = _mapping(getattr(config, "retries", None))
    if retries is not None:
        total, extra = retries.get("total_max_attempts"), retries.get("max_attempts")
        if isinstance(total, int) and total >= 1:
            kwargs["max_retries"] = total - 1
        elif isinstance(extra, int) and extra >= 0:
            kwargs["max_retries"] = extra
    signer = _get(obj, "_request_signer", obj)
    credentials = _get(signer, "_credentials", obj)
    if credentials is not None:
        # Refreshable credentials refresh here when due, as botocore does per request.
        frozen = _frozen(credentials, "get_frozen_credentials", ("access_key", "secret_key", "token"), obj)
        kwargs.update(
            access_key_id=_opt_str(getattr(frozen, "access_key", None), "access key", obj),
            secret_access_key=_opt_str(getattr(frozen, "secret_key", None), "secret key", obj),
            session_token=_opt_str(getattr(frozen, "token", None), "session token", obj),
        )
        return provider, kwargs
    token = getattr(signer, "_auth_token", None)
    if token is not None:
        frozen = _frozen(token, "get_frozen_token", ("token",), obj)
        kwargs["api_key"] = _opt_str(getattr(frozen, "token", None), "bearer token", obj)
        return provider, kwargs
    raise _fail(obj, "it has no credentials (botocore found none)")


# -- azure-ai-inference --------------------------------------------------------------------


def _frozen(source: object, method: str, names: tuple[str, ...], obj: object) -> object:
    """botocore's frozen credentials (or token): what ``source.method()`` returns, or,
    for aiobotocore's, whose ``method`` is a coroutine, ``source`` itself when its values
    can be read without awaiting (static credentials hold them as plain attributes)."""
    frozen = _call0(source, method, obj)
    if not inspect.isawaitable(frozen):
        return frozen
    close = getattr(frozen, "close", None)
    if callable(close):
        close()  # never awaited: closed, so no "was never awaited" warning
    try:
        # aiobotocore's refreshable credentials raise NotImplementedError on a sync read;
        # its deferred tokens have no value outside the coroutine at all.
        readable = any(getattr(source, name, None) is not None for name in names)
    except NotImplementedError:
        readable = False
    if not readable:
        raise _fail(
            obj,
            "its credentials refresh asynchronously (aiobotocore), which minicall cannot "
            "read; pass a botocore or boto3 client (it serves async calls too) or a BedrockClient",
        )
    return source


def _entra_token(credential: Any, scopes: tuple[str, ...]) -> str:
    token = credential.get_token(*scopes).token
    if not isinstance(token, str) or not token:
        raise ConfigurationError("the Azure credential's get_token() returned no token")
    return token


def _azure_inference(obj: object, provider: str) -> tuple[str, Kwargs]:
    config = _get(obj, "_config", obj)
    credential = _get(config, "credential", obj)
    kwargs: Kwargs = {
        "base_url": _url(_get(config, "endpoint", obj), obj),
        "api_version": _opt_str(_get(config, "api_version", obj), "api_version", obj),
        "deployment_style": "inference",
        "headers": _headers(_get(_get(config, "headers_policy", obj), "headers", obj), obj),
    }
    total = getattr(getattr(config, "retry_policy", None), "total_retries", None)
    if isinstance(total, int) and total >= 0:
        kwargs["max_retries"] = total
    key = getattr(credential, "key", None)
    get_token = getattr(credential, "get_token", None)
    if isinstance(key, str):
        kwargs["api_key"] = key
    elif callable(get_token) and not inspect.iscoroutinefunction(get_token):
        scopes = _get(config, "credential_scopes", obj)
        # A partial (not a lambda): the same credential gives the same digest each call.
        names = tuple(str(scope) for scope in _items(scopes))
        kwargs["azure_ad_token_provider"] = functools.partial(_entra_token, credential, names)
    else:
        raise _fail(obj, f"its credential ({type(credential).__name__}) is neither a key nor a sync token credential")
    return "azure", kwargs


def _unsupported(obj: object, provider: str) -> tuple[str, Kwargs]:
    raise _fail(obj, "it is not supported; use minicall.providers.bedrock or google instead")


# family -> (reader, the providers it may serve)
_READERS: dict[str, tuple[Reader, tuple[str, ...]]] = {
    "openai": (_openai, ("openai", "xai", "litellm", "azure")),
    "azure_openai": (_azure_openai, ("azure", "openai")),
    "anthropic": (_anthropic, ("anthropic",)),
    "groq": (_groq, ("groq",)),
    "cohere": (_cohere, ("cohere",)),
    "mistral": (_mistral, ("mistral",)),
    "genai": (_genai, ("google",)),
    "bedrock": (_bedrock, ("bedrock",)),
    "azure_inference": (_azure_inference, ("azure",)),
    "unsupported": (_unsupported, ()),
}


def _reader(obj: object, provider: str) -> Reader:
    family = family_of(obj)
    if family is None:
        raise ConfigurationError(
            f"client must be a minicall client or an official SDK client ({_SUPPORTED}), "
            f"got {type(obj).__name__}"
        )
    reader, serves = _READERS[family]
    if serves and provider not in serves:
        raise ConfigurationError(
            f"a {type(obj).__name__} cannot serve provider {provider!r} (it serves {', '.join(serves)})"
        )
    return reader


def check_sdk_client(obj: object, provider: str) -> None:
    """Raise :class:`ConfigurationError` unless ``obj`` is an SDK client for ``provider``."""
    if _reader(obj, provider) is _unsupported:
        _unsupported(obj, provider)


_CONVERTED: weakref.WeakKeyDictionary[Any, tuple[bytes, BaseClient]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def from_sdk(obj: object, provider: str) -> BaseClient:
    """The minicall client for SDK client ``obj`` serving ``provider``, remade when
    what it was built from changed."""
    target, kwargs = _reader(obj, provider)(obj, provider)
    digest = keyed_digest(target, repr(sorted(kwargs.items())))
    try:
        with _LOCK:
            cached = _CONVERTED.get(obj)
    except TypeError:  # not weakly referenceable or unhashable: build each time
        cached = None
    if cached is not None and cached[0] == digest:
        return cached[1]
    module = provider_module(target)
    client: BaseClient = getattr(module, module.CLIENT_CLASS)(**kwargs)
    try:
        with _LOCK:
            _CONVERTED[obj] = (digest, client)
    except TypeError:
        pass
    return client

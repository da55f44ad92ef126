"""The provider-blind call machinery, written once for sync and async.

``decorate(fn, settings)`` returns the wrapper users call. A call goes:
bind arguments -> run the prompt function -> turn what it returned into messages ->
merge configuration layers (decorator < override < dynamic config) -> ``CallSpec`` ->
``codec.encode`` -> client credentials -> transport, with retries -> ``codec.decode``
-> response -> response model or output parser. Only the send step differs between
sync and async; preparing and finishing are shared.
"""
# Arguments are checked at run time too (callers may be untyped):
# pyright: reportUnnecessaryIsInstance=false
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import functools
import inspect
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from .client import BaseClient, env_digest, keep_base_query
from .config import merge_params
from .context import ACTIVE
from .._model.errors import (
    ConfigurationError,
    PromptError,
    ResponseFormatError,
)
from .._model.http import AsyncHttpResponse, HttpResponse
from .._model.spec import CallSpec, ResponseFormat, ToolSpec
from .prompt import PROMPT_FN_ATTR, TEMPLATE_ATTR, check_config, prompt_messages
from .registry import canonical, check_provider, provider_module
from .request_options import encode_request
from .response import BaseCallResponse, CallContext
from .send import Prepared, send_async, send_sync
from .settings import Flavor, Settings
from .stream import BaseAsyncStream, BaseStream
from .structured import AsyncStructuredStream, StructuredStream, extract
from .telemetry import request_id_of
from .tools import BaseTool, convert_tools, response_model_tool, tool_spec, wants_strict

__all__ = ["CallPlan", "call_plan", "decorate", "default_client", "finish", "override"]


def _check_settings(settings: Settings) -> Settings:
    check_provider(settings.provider)
    if not isinstance(settings.model, str) or not settings.model:
        raise ConfigurationError(f"a model name is required for provider {settings.provider!r}")
    if settings.call_params is not None and not isinstance(settings.call_params, Mapping):
        raise ConfigurationError(f"call_params must be a dict, got {type(settings.call_params).__name__}")
    if settings.client is not None and not isinstance(settings.client, BaseClient):
        from .sdk_readers import check_sdk_client

        check_sdk_client(settings.client, canonical(settings.provider))
    if settings.tools is not None and not isinstance(settings.tools, (list, tuple)):
        raise ConfigurationError(f"tools must be a list of functions or BaseTool types, got {type(settings.tools).__name__}")
    if settings.output_parser is not None and settings.response_model is not None:
        raise ConfigurationError("use either response_model or output_parser, not both")
    if settings.output_parser is not None and settings.stream:
        raise ConfigurationError("output_parser cannot be combined with stream=True")
    # Copies: a caller mutating its dict or list later must not change this decorator.
    return replace(
        settings,
        call_params=None if settings.call_params is None else dict(settings.call_params),
        tools=None if settings.tools is None else tuple(settings.tools),
    )


# -- clients ------------------------------------------------------------------------

# provider -> (digest of the environment it was built from, client)
_DEFAULT_CLIENTS: dict[str, tuple[bytes, BaseClient]] = {}
_CLIENT_LOCK = threading.Lock()
_ENV_NAMES: dict[str, tuple[Callable[[], BaseClient], tuple[str, ...]]] = {}


def _client_factory(provider: str) -> tuple[Callable[[], BaseClient], tuple[str, ...]]:
    """What builds ``provider``'s default client, and the variables that client reads."""
    found = _ENV_NAMES.get(provider)
    if found is None:
        module = provider_module(provider)
        factory: Callable[[], BaseClient] = getattr(module, module.CLIENT_CLASS)
        # A class, or a partial of one (VertexClient is GoogleClient(vertex=True)).
        cls = factory if isinstance(factory, type) else getattr(factory, "func", None)
        if not (isinstance(cls, type) and issubclass(cls, BaseClient)):
            raise ConfigurationError(f"{provider}: CLIENT_CLASS names no client class")
        found = _ENV_NAMES[provider] = (factory, cls.environment_names())
    return found


def default_client(provider: str) -> BaseClient:
    """The client built from the environment for ``provider``, reused across calls
    until one of the environment variables it reads changes."""
    factory, names = _client_factory(provider)
    digest = env_digest(names)
    entry = _DEFAULT_CLIENTS.get(provider)
    if entry is None or entry[0] != digest:
        with _CLIENT_LOCK:
            entry = _DEFAULT_CLIENTS.get(provider)
            if entry is None or entry[0] != digest:
                entry = _DEFAULT_CLIENTS[provider] = (digest, factory())
    return entry[1]


def resolve_client(given: Any, settings: Settings) -> BaseClient:
    """The client for one call: the dynamic config's, the decorator's or the default,
    an official SDK client converted (see ``sdk_readers``)."""
    client = given or settings.client or default_client(settings.provider)
    if isinstance(client, BaseClient):
        if client.provider != canonical(settings.provider):
            raise ConfigurationError(
                f"a {type(client).__name__} cannot serve provider {settings.provider!r}"
            )
        return client
    from .sdk_readers import from_sdk

    # Its provider may differ (AzureOpenAI behind openai.call builds an Azure client).
    return from_sdk(client, canonical(settings.provider))


# -- preparing a call ---------------------------------------------------------------


def _json_instruction(schema: Mapping[str, Any] | None) -> str:
    if schema is None:
        return "Respond only with a valid JSON object, with no other text."
    return (
        "Respond only with a JSON object, with no other text, that matches this JSON Schema:\n"
        + json.dumps(schema)
    )


def _structure(settings: Settings, tool_types: tuple[type[BaseTool], ...]) -> tuple[
    tuple[type[BaseTool], ...], str | None, ResponseFormat | None, str | None
]:
    """Tools, forced tool, native response format and instruction for structured output."""
    model = settings.response_model
    if model is None:
        if settings.json_mode:
            return tool_types, None, ResponseFormat("json_object"), _json_instruction(None)
        return tool_types, None, None, None
    from .._schema.dialects import strict_openai
    from .._schema.generate import json_schema

    if settings.json_mode:
        # Non-object types are asked for as {"value": ...}, as the forced tool does:
        # schema modes (OpenAI strict, Gemini) want an object at the root.
        wrapper = response_model_tool(model)
        schema = wrapper._parameters_schema() if getattr(wrapper, "__minicall_wrapped__", False) else json_schema(model)
        name = getattr(model, "__name__", "response")
        strict = strict_openai(schema)
        if strict is None and wants_strict(model):
            raise ConfigurationError(
                f"response model {name} asks for strict mode (model_config strict=True), which its "
                "schema cannot have: strict schemas need an object with at least one property and "
                "no free-form values (Any, dict[str, X]) or fixed-length tuples")
        fmt = ResponseFormat("json_schema", name=name, schema=schema, strict_schema=strict)
        return tool_types, None, fmt, _json_instruction(schema)
    tool = response_model_tool(model)
    return (*tool_types, tool), tool._name(), None, None


Binder = Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]]


def _binder(signature: inspect.Signature) -> Binder:
    """A function from call arguments to the bound ``fn_args``, decided once per function.

    Plain positional-or-keyword parameters called positionally with every argument (the
    common case) bind by zipping names and values; anything else goes through
    :meth:`inspect.Signature.bind`, whose errors are the usual ``TypeError``.
    """
    params = list(signature.parameters.values())
    names = tuple(p.name for p in params)
    simple = all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params)

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if simple and not kwargs and len(args) == len(names):
            return dict(zip(names, args))
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    return bind


@dataclass(frozen=True, slots=True)
class _Shape:
    """What tools and structured output add to a request. The same for every call of
    a decorated function whose dynamic config names no tools, so it is made once."""

    tool_types: tuple[type[BaseTool], ...]
    forced: str | None
    fmt: ResponseFormat | None
    instruction: str | None
    specs: tuple[ToolSpec, ...]


def _shape_of(settings: Settings, raw_tools: Sequence[Any]) -> _Shape:
    tool_types = convert_tools(raw_tools) if raw_tools else ()
    tool_types, forced, fmt, instruction = _structure(settings, tool_types)
    return _Shape(tool_types, forced, fmt, instruction, tuple(tool_spec(t) for t in tool_types))


class _StaticShape:
    """The decorator's own :class:`_Shape`, made on first use (errors surface at call time)."""

    __slots__ = ("_settings", "_shape")

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._shape: _Shape | None = None

    def get(self) -> _Shape:
        shape = self._shape
        if shape is None:
            shape = self._shape = _shape_of(self._settings, self._settings.tools or ())
        return shape


_NO_CONFIG: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class CallPlan:
    """What a decorated function needs to turn arguments into a request, made once at
    decoration; the plain call and a batch (``minicall.batch``) prepare through it."""

    fn: Callable[..., Any]
    bind: Binder
    settings: Settings
    static: _StaticShape

    def prepare(self, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any, start: float) -> Prepared:
        """The request for one call: ``result`` is what the prompt function returned."""
        return _prepare(self.fn, self.bind, self.settings, self.static, args, kwargs, result, start)

    def static_shape(self) -> tuple[tuple[type[BaseTool], ...], CallSpec]:
        """The decorator's own tool types and a message-less spec (no prompt run)."""
        shape = self.static.get()
        settings = self.settings
        spec = CallSpec(
            model=settings.model,
            messages=(),
            call_params=merge_params(settings.call_params, None),
            tools=shape.specs,
            forced_tool=shape.forced,
            response_format=shape.fmt,
            json_instruction=shape.instruction,
        )
        return shape.tool_types, spec


def call_plan(fn: Any) -> CallPlan | None:
    """The plan of a minicall-decorated function, or ``None`` for anything else."""
    plan = getattr(fn, "__minicall_plan__", None)
    return plan if isinstance(plan, CallPlan) else None


def _prepare(
    fn: Callable[..., Any],
    bind: Binder,
    settings: Settings,
    static: _StaticShape,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    result: Any,
    start: float,
) -> Prepared:
    fn_args = bind(args, kwargs)
    template: str | None = getattr(fn, TEMPLATE_ATTR, None)
    messages, config = prompt_messages(result, template, fn_args, fn.__name__)
    config = config or None
    given: Mapping[str, Any] = config if config is not None else _NO_CONFIG
    dynamic_params = given.get("call_params")
    if dynamic_params is not None and not isinstance(dynamic_params, Mapping):
        raise PromptError(f"{fn.__name__}: call_params must be a dict, got {type(dynamic_params).__name__}")
    client = resolve_client(given.get("client"), settings)
    if config is not None:
        check_config(config, fn.__name__)
    shape = _shape_of(settings, given["tools"] or ()) if "tools" in given else static.get()
    spec = CallSpec(
        model=settings.model,
        messages=tuple(messages),
        call_params=merge_params(settings.call_params, cast("Mapping[str, Any] | None", dynamic_params)),
        tools=shape.specs,
        forced_tool=shape.forced,
        response_format=shape.fmt,
        json_instruction=shape.instruction,
        stream=settings.stream,
    )
    codec = client.codec
    endpoint = client.endpoint()
    try:
        request = encode_request(codec, spec, endpoint)
    except (PromptError, ConfigurationError):
        raise
    except (TypeError, ValueError) as exc:
        raise PromptError(f"{fn.__name__}: the request cannot be encoded as JSON: {exc}") from exc
    if "?" in endpoint.base_url:
        request = keep_base_query(request, endpoint.base_url)
    context = CallContext(
        provider=client.provider,
        model=settings.model,
        spec=spec,
        codec=codec,
        request=request,
        fn_args=fn_args,
        prompt_template=template,
        dynamic_config=config,
        tool_types=shape.tool_types,
        start_time=start,
        # A streamed response model reads the arguments itself (partial models).
        partial_tools=settings.partial_tools and settings.response_model is None,
    )
    return Prepared(settings, client, context)


# -- finishing ----------------------------------------------------------------------


def _finish(prepared: Prepared, body: bytes, headers: Mapping[str, str]) -> Any:
    try:
        return finish(prepared.settings, prepared.context, body, headers)
    except ResponseFormatError as error:
        # A 2xx reply minicall cannot read: name the request it answered, as every error
        # that had a request does (an HTML page from a proxy is often the wrong base_url).
        if error.url is None:
            from .hints import describe

            request = prepared.context.request
            error.request_id = request_id_of(headers, prepared.context.codec.request_id_headers)
            if prepared.context.trace is not None:
                error.attempts = prepared.context.trace.attempts
            describe(error, prepared.client, request.method, request.url)
        raise


def finish(settings: Settings, context: CallContext, body: bytes, headers: Mapping[str, str]) -> Any:
    """Decode a 2xx body into the call's result: a response, a model or parser output."""
    trace = context.trace
    try:
        completion = context.codec.decode(body, headers, context.spec)
    except BaseException as exc:
        if trace is not None:
            trace.failed(exc)
        raise
    response = settings.flavor.response(completion, context, time.time() * 1000)
    if trace is not None:
        trace.finished(
            usage=completion.usage,
            finish_reasons=completion.finish_reasons,
            response_id=completion.id,
            response_model=completion.model,
            output=completion.message if trace.capture else None,
        )
    return _shape(settings, response)


def _failed(prepared: Prepared, error: BaseException) -> None:
    trace = prepared.context.trace
    if trace is not None:
        trace.failed(error)


def _shape(settings: Settings, response: BaseCallResponse[Any]) -> Any:
    if settings.response_model is not None:
        return extract(settings.response_model, response, json_mode=settings.json_mode)
    if settings.output_parser is not None:
        return settings.output_parser(response)
    return response


def _stream_result(prepared: Prepared, stream: BaseStream[Any, Any] | BaseAsyncStream[Any, Any]) -> Any:
    model = prepared.settings.response_model
    if model is None:
        return stream
    if isinstance(stream, BaseAsyncStream):
        return AsyncStructuredStream[Any](model, stream, json_mode=prepared.settings.json_mode)
    return StructuredStream[Any](model, stream, json_mode=prepared.settings.json_mode)


# -- the wrapper --------------------------------------------------------------------


def decorate(fn: Callable[..., Any], settings: Settings) -> Callable[..., Any]:
    """Wrap ``fn`` so that calling it makes the LLM call ``settings`` describe."""
    settings = _check_settings(settings)
    fn = getattr(fn, PROMPT_FN_ATTR, fn)  # under @prompt_template: the function itself
    bind = _binder(inspect.signature(fn))
    flavor = settings.flavor
    static = _StaticShape(settings)

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            changes = ACTIVE.get()
            if changes is not None:  # inside llm.context: this call with its settings
                token = ACTIVE.set(None)
                try:
                    return await override(async_wrapper, **changes)(*args, **kwargs)
                finally:
                    ACTIVE.reset(token)
            start = time.time() * 1000
            result = await fn(*args, **kwargs)
            prepared = _prepare(fn, bind, settings, static, args, kwargs, result, start)
            if settings.stream:
                # Credentials are added when the stream opens, as in the sync path.

                async def open_() -> AsyncHttpResponse:
                    return await send_async(prepared, prepared.context.request)

                stream = flavor.async_stream(prepared.context, flavor.response, flavor.chunk, open_)
                return _stream_result(prepared, stream)
            try:
                response = await send_async(prepared, prepared.context.request)
                body = await response.read()
            except BaseException as exc:
                _failed(prepared, exc)
                raise
            result = _finish(prepared, body, response.headers)
            if settings.output_parser is not None and inspect.isawaitable(result):
                result = await result  # an ``async def`` output parser
            return result

        wrapper: Callable[..., Any] = async_wrapper
    else:

        @functools.wraps(fn)
        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            changes = ACTIVE.get()
            if changes is not None:
                token = ACTIVE.set(None)
                try:
                    return override(sync_wrapper, **changes)(*args, **kwargs)
                finally:
                    ACTIVE.reset(token)
            start = time.time() * 1000
            result = fn(*args, **kwargs)
            prepared = _prepare(fn, bind, settings, static, args, kwargs, result, start)
            if settings.stream:

                def open_() -> HttpResponse:
                    return send_sync(prepared, prepared.context.request)

                stream = flavor.stream(prepared.context, flavor.response, flavor.chunk, open_)
                return _stream_result(prepared, stream)
            try:
                response = send_sync(prepared, prepared.context.request)
                body = response.read()
            except BaseException as exc:
                _failed(prepared, exc)
                raise
            return _finish(prepared, body, response.headers)

        wrapper = sync_wrapper
    # The original function and settings ride on the wrapper so llm.override can rebuild
    # it; the plan lets minicall.batch prepare requests exactly as a call would.
    setattr(wrapper, "__minicall_call__", (fn, settings))
    setattr(wrapper, "__minicall_plan__", CallPlan(fn, bind, settings, static))
    return wrapper


def override(
    fn: Callable[..., Any],
    *,
    provider: str | None = None,
    model: str | None = None,
    call_params: Mapping[str, Any] | None = None,
    client: Any = None,
    neutral: Flavor | None = None,
) -> Callable[..., Any]:
    """A new callable like ``fn`` with some settings replaced (see ``llm.override``)."""
    found = getattr(fn, "__minicall_call__", None)
    if found is None:
        raise ConfigurationError(f"{getattr(fn, '__name__', fn)!r} is not a minicall-decorated function")
    original, settings = found
    if provider is not None and model is None:
        raise ConfigurationError("llm.override: a provider needs a model too (pass model=...)")
    changes: dict[str, Any] = {}
    if provider is not None:
        changes["provider"] = check_provider(provider)
        if provider != settings.provider:
            changes["client"] = None
            if neutral is not None:
                changes["flavor"] = neutral
    if model is not None:
        changes["model"] = model
    if call_params is not None:
        changes["call_params"] = merge_params(settings.call_params, call_params)
    if client is not None:
        changes["client"] = client
    return decorate(original, replace(settings, **changes))


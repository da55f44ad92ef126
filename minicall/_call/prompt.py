"""Prompt templates: ``@prompt_template`` and the formatting of a template into messages.

A template is cut into sections at role markers *before* anything is substituted, so a
value containing ``USER:`` or braces can never open a message or a placeholder: what a
caller passes in lands verbatim inside the section that named it.

Grammar, after ``inspect.cleandoc`` and ``strip``::

    template  := [text] (marker text)*
    marker    := a line starting (after optional blanks) with SYSTEM: USER: ASSISTANT:
                 or MESSAGES: -- upper case only
    text      := str.format text: {name} {obj.attr} {obj[key]} {x!r} {x:spec} {{ }}

Text before the first marker is a user message. ``MESSAGES: {history}`` splices a list
of messages (neutral ``Message`` objects or native dicts, as they are). Special format
specs make list text or media parts (``_SPECS`` below); any other spec is handed to
``format()``. A message whose content formats to nothing is dropped.
"""
# Arguments are checked at run time too (callers may be untyped):
# pyright: reportUnnecessaryIsInstance=false
# Underscore names here are private to minicall, not to one module or class:
# pyright: reportPrivateUsage=false

from __future__ import annotations

import functools
import inspect
import re
import string
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar, Union, cast, overload

from .._model.errors import PromptError
from .._model.media import audio_part, document_part, image_part
from .._model.messages import _PART_TYPES, CacheControlPart, Message, MessagePart, Role, TextPart

__all__ = [
    "PROMPT_FN_ATTR",
    "TEMPLATE_ATTR",
    "PromptMessage",
    "PromptResult",
    "TemplateDecorator",
    "check_config",
    "format_template",
    "get_prompt_template",
    "prompt_messages",
    "prompt_template",
    "render_prompt",
]

P = ParamSpec("P")
R = TypeVar("R")
ConfigT = TypeVar("ConfigT", bound=Mapping[str, object])

TEMPLATE_ATTR = "__minicall_prompt_template__"
"""The attribute ``@prompt_template`` sets on the function it decorates."""

PROMPT_FN_ATTR = "__minicall_prompt_fn__"
"""On a ``@prompt_template`` wrapper: the function it wraps."""

PromptMessage = Union[Message, Mapping[str, Any]]
"""A formatted message: a neutral ``Message``, or a native dict spliced by ``MESSAGES:``."""

PromptResult = Union[str, Message, Sequence[Any], Mapping[str, Any], None]
"""What a sync prompt function may return: a str, messages, a dynamic config, or ``None``
under a template. Naming it (rather than ``Any``) tells a sync function from an
``async def`` one even when its return type is not annotated (and so is ``Any``)."""

_MARKER = re.compile(r"^[ \t]*(SYSTEM|USER|ASSISTANT|MESSAGES):", re.MULTILINE)
_ROLES: dict[str, Role] = {"SYSTEM": "system", "USER": "user", "ASSISTANT": "assistant"}
_SPECIAL_SPEC = re.compile(r"(lists?|texts?|images?|audios?|documents?|parts?)(?:\(([^()]*)\))?")
# ``{:cache_control}`` needs no variable: Mirascope ignores whatever stands before the colon.
_CACHE_SPEC = re.compile(r"cache_control(?:\(([^()]*)\))?")

# What a rendered section is made of: text, or parts from a media spec.
_Piece = Union[str, list[MessagePart]]


class TemplateDecorator(Protocol):
    """What ``@prompt_template(...)`` returns: it keeps a function's parameters, and a
    direct call returns the formatted messages (a coroutine of them for ``async def``)."""

    # Sync first: a function without a return annotation (Any) is a sync one.
    @overload
    def __call__(self, fn: Callable[P, PromptResult]) -> Callable[P, list[PromptMessage]]: ...

    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, PromptResult]]
    ) -> Callable[P, Coroutine[object, None, list[PromptMessage]]]: ...


_MessagesResult = Union[str, Message, Sequence[Any], None]


class MessagesDecorator(Protocol):
    """What ``@prompt_template()`` (no template) returns. A direct call gives what Mirascope's
    gives: a dynamic config as the function returned it, other prompts as messages."""

    @overload
    def __call__(self, fn: Callable[P, ConfigT]) -> Callable[P, ConfigT]: ...

    @overload
    def __call__(self, fn: Callable[P, _MessagesResult]) -> Callable[P, list[PromptMessage]]: ...

    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, ConfigT]]
    ) -> Callable[P, Coroutine[object, None, ConfigT]]: ...

    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, _MessagesResult]]
    ) -> Callable[P, Coroutine[object, None, list[PromptMessage]]]: ...


@overload
def prompt_template(template: str) -> TemplateDecorator: ...


@overload
def prompt_template(template: None = None) -> MessagesDecorator: ...


def prompt_template(template: str | None = None) -> TemplateDecorator | MessagesDecorator:
    """Attach ``template`` to a prompt function, keeping its signature.

    Called directly, the decorated function returns its messages, as in Mirascope; under
    a ``call`` decorator the call machinery formats the template with the function's
    bound arguments plus the ``computed_fields`` of the dynamic config it returns::

        @llm.call(provider="openai", model="gpt-4o-mini")
        @prompt_template("SYSTEM: You are a librarian.\\nUSER: Recommend a {genre} book")
        def recommend_book(genre: str) -> None: ...

    Without a template, the function returns its messages itself (a str, messages, ...);
    called directly, a dynamic config it returns comes back as it is (as in Mirascope).
    Messages come back as ``BaseMessageParam(role=..., content=...)`` s.
    """
    if template is not None and not isinstance(template, str):
        raise PromptError(f"prompt_template takes a str, not {type(template).__name__}")

    def attach(fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(fn)

        def render(result: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            if template is None and isinstance(result, Mapping):
                return cast("Mapping[str, Any]", result)  # as Mirascope: with no template, a dynamic config comes back whole
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return prompt_messages(result, template, bound.arguments, fn.__name__)[0]

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_messages(*args: Any, **kwargs: Any) -> Any:
                return render(await fn(*args, **kwargs), args, kwargs)

            wrapper: Callable[..., Any] = async_messages
        else:

            @functools.wraps(fn)
            def messages(*args: Any, **kwargs: Any) -> Any:
                return render(fn(*args, **kwargs), args, kwargs)

            wrapper = messages
        # The call machinery calls the original function and formats the template itself.
        for target in (fn, wrapper):
            setattr(target, TEMPLATE_ATTR, template)
        setattr(wrapper, PROMPT_FN_ATTR, fn)
        return wrapper

    if template is None:
        return cast(MessagesDecorator, attach)
    return cast(TemplateDecorator, attach)


def get_prompt_template(fn: object) -> str | None:
    """The template ``@prompt_template`` attached to ``fn``, or ``None``."""
    template = getattr(fn, TEMPLATE_ATTR, None)
    return template if isinstance(template, str) else None


def render_prompt(
    template: str, arguments: Mapping[str, Any], config: Mapping[str, Any] | None = None
) -> list[PromptMessage]:
    """Format ``template`` from bound ``arguments`` and ``config["computed_fields"]``.

    Computed fields win over arguments of the same name. The caller decides beforehand
    whether a config's ``messages`` replace the template; they are not looked at here.
    """
    values = dict(arguments)
    computed = (config or {}).get("computed_fields")
    if computed:
        values.update(computed)
    return format_template(template, values)


def format_template(template: str, values: Mapping[str, Any]) -> list[PromptMessage]:
    """The messages ``template`` describes, with ``values`` substituted.

    Raises :class:`PromptError` naming the variable for a missing name, a failed
    attribute or item lookup, a spec that does not fit its value, or a bad template.
    """
    messages: list[PromptMessage] = []
    for marker, body in _sections(inspect.cleandoc(template).strip()):
        if marker == "MESSAGES":
            messages.extend(_history(body, values))
            continue
        message = _message(_ROLES[marker], _render(body, values))
        if message is not None:
            messages.append(message)
    return messages


def _sections(template: str) -> list[tuple[str, str]]:
    """``(marker, stripped body)`` pairs; leading unmarked text counts as ``USER``."""
    found = list(_MARKER.finditer(template))
    first = found[0].start() if found else len(template)
    sections = [("USER", template[:first].strip())]
    for match, following in zip(found, [*found[1:], None]):
        end = following.start() if following else len(template)
        sections.append((match.group(1), template[match.end() : end].strip()))
    return sections


def _message(role: Role, pieces: list[_Piece]) -> Message | None:
    """A message from rendered pieces; text alone stays a plain string, as in Mirascope."""
    parts: list[MessagePart] = []
    run: list[str] = []
    for piece in [*pieces, []]:  # the empty list flushes the trailing text
        if isinstance(piece, str):
            run.append(piece)
            continue
        text = "".join(run).strip()
        if text:
            parts.append(TextPart(text))
        run = []
        parts.extend(piece)
    if len(parts) == 1 and isinstance(parts[0], TextPart):
        return Message(role, parts[0].text)
    return Message(role, parts) if parts else None


class _Formatter(string.Formatter):
    """``str.format`` lookups that fail as :class:`PromptError`, never ``KeyError``."""

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, int) or not key:
            raise PromptError("template placeholders need a name: {} and {0} are not supported")
        try:
            return kwargs[key]
        except KeyError:
            raise PromptError(f"template variable {key!r} is missing") from None


_FORMATTER = _Formatter()


def _lookup(field: str, values: Mapping[str, Any]) -> Any:
    try:
        value, _ = _FORMATTER.get_field(field, (), values)
    except PromptError:
        raise
    # Past the first name, str.format raises whatever getattr/getitem raise.
    except Exception as exc:
        raise PromptError(f"template variable {field!r} cannot be resolved: {exc!r}") from None
    return value


def _parse(text: str) -> list[tuple[str, str | None, str | None, str | None]]:
    try:
        return list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise PromptError(f"malformed template ({exc}): {text[:80]!r}") from None


def _render(body: str, values: Mapping[str, Any]) -> list[_Piece]:
    pieces: list[_Piece] = []
    for literal, field, spec, conversion in _parse(body):
        if literal:
            pieces.append(literal)
        if field is None:
            continue
        cache = _CACHE_SPEC.fullmatch(spec or "")
        if cache is not None:
            pieces.append(_cache_control(field, cache.group(1)))
            continue
        value = _lookup(field, values)
        if conversion:
            try:
                value = _FORMATTER.convert_field(value, conversion)
            except ValueError:
                problem = f"template variable {field!r}: unknown conversion !{conversion}"
                raise PromptError(problem) from None
        pieces.append(_apply_spec(field, value, _render_spec(spec or "", values)))
    return pieces


def _render_spec(spec: str, values: Mapping[str, Any]) -> str:
    # A spec may itself hold placeholders, as in "{price:.{digits}f}".
    if "{" not in spec:
        return spec
    rendered = _render(spec, values)
    if not all(isinstance(piece, str) for piece in rendered):
        raise PromptError(f"a media spec cannot be nested in a format spec: {spec!r}")
    return "".join(p for p in rendered if isinstance(p, str))


def _apply_spec(field: str, value: Any, spec: str) -> _Piece:
    special = _SPECIAL_SPEC.fullmatch(spec)
    try:
        if special:
            return _SPECS[special.group(1)](value, _options(special.group(2)))
        if value is None and not spec:
            return ""  # as in Mirascope: an absent optional argument reads as nothing
        return format(value, spec)
    except PromptError as exc:
        raise PromptError(f"template variable {field!r}: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise PromptError(f"template variable {field!r} with spec {spec!r}: {exc}") from None


def _options(text: str | None) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in filter(None, (text or "").split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise PromptError(f"spec options are key=value pairs, got {item!r}")
        options[key.strip()] = value.strip()
    return options


def _items(value: Any, spec: str) -> Sequence[Any]:
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return cast("Sequence[object]", value)
    raise PromptError(f"the {spec!r} spec needs a list, not {type(value).__name__}")


def _list(value: Any, options: Mapping[str, str]) -> str:
    return "\n".join(str(item) for item in _items(value, "list"))


def _lists(value: Any, options: Mapping[str, str]) -> str:
    groups = [_items(group, "lists") for group in _items(value, "lists")]
    return "\n\n".join("\n".join(str(item) for item in group) for group in groups)


def _image(value: Any, options: Mapping[str, str]) -> list[MessagePart]:
    return [image_part(value, options.get("detail"))] if value else []


def _images(value: Any, options: Mapping[str, str]) -> list[MessagePart]:
    return [part for item in _items(value, "images") for part in _image(item, options)]


def _audio(value: Any, options: Mapping[str, str]) -> list[MessagePart]:
    return [audio_part(value)] if value else []


def _audios(value: Any, options: Mapping[str, str]) -> list[MessagePart]:
    return [part for item in _items(value, "audios") for part in _audio(item, options)]


def _document(value: Any, options: Mapping[str, str]) -> list[MessagePart]:
    return [document_part(value)] if value else []


def _documents(value: Any, options: Mapping[str, str]) -> list[MessagePart]:
    return [part for item in _items(value, "documents") for part in _document(item, options)]


def _cache_control(field: str, options: str | None) -> list[MessagePart]:
    try:
        given = _options(options)
    except PromptError as exc:
        raise PromptError(f"template {{{field}:cache_control}}: {exc}") from None
    unknown = set(given) - {"type", "ttl"}
    if unknown:
        raise PromptError(f"template {{{field}:cache_control}}: unknown options {sorted(unknown)} (type, ttl)")
    return [CacheControlPart(cache_type=given.get("type") or "ephemeral", ttl=given.get("ttl") or None)]


def _part(value: Any, options: Mapping[str, str]) -> list[MessagePart]:
    if isinstance(value, _PART_TYPES):
        return [value]
    if not value:
        return []  # as in Mirascope: an absent part adds nothing
    raise PromptError(f"the 'part' spec needs a content part (TextPart, ImagePart, ...), not {type(value).__name__}")


def _parts(value: Any, options: Mapping[str, str]) -> list[MessagePart]:
    items = _items(value, "parts")
    for i, item in enumerate(items):
        if not isinstance(item, _PART_TYPES):
            raise PromptError(f"the 'parts' spec needs a list of content parts; item {i} is a {type(item).__name__}")
    return list(cast("Sequence[MessagePart]", items))


def _text(value: Any, options: Mapping[str, str]) -> list[MessagePart]:
    return [TextPart(str(value))]


def _texts(value: Any, options: Mapping[str, str]) -> list[MessagePart]:
    return [TextPart(str(item)) for item in _items(value, "texts")]


_SPECS: dict[str, Callable[[Any, Mapping[str, str]], _Piece]] = {
    "list": _list,
    "lists": _lists,
    "text": _text,
    "texts": _texts,
    "image": _image,
    "images": _images,
    "audio": _audio,
    "audios": _audios,
    "document": _document,
    "documents": _documents,
    "part": _part,
    "parts": _parts,
}


def _history(body: str, values: Mapping[str, Any]) -> list[PromptMessage]:
    parsed = _parse(body)
    if len(parsed) != 1 or parsed[0][0] or not parsed[0][1] or parsed[0][2] or parsed[0][3]:
        usage = "MESSAGES: takes exactly one variable, as in 'MESSAGES: {history}'"
        raise PromptError(f"{usage}; got {body[:80]!r}")
    field = parsed[0][1]
    history = _lookup(field, values)
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        kind = type(history).__name__
        raise PromptError(f"MESSAGES variable {field!r} must be a list of messages, not {kind}")
    history = cast("Iterable[Any]", history)
    for item in history:
        if not isinstance(item, (Message, Mapping)):
            kind = type(item).__name__
            raise PromptError(f"MESSAGES variable {field!r} holds a {kind}, not a message")
    return list(history)


# -- what a prompt function returned -------------------------------------------------

_CONFIG_KEYS = frozenset({"messages", "call_params", "metadata", "client", "tools", "computed_fields"})


def prompt_messages(result: Any, template: str | None, fn_args: Mapping[str, Any], fn_name: str) -> tuple[
    list[Message | Mapping[str, Any]], dict[str, Any] | None
]:
    """The messages a prompt function's ``result`` stands for, and its dynamic config.

    ``result`` is a str (one user message), a message, a list of messages, a list of
    strings and parts (one user message), a dynamic config, or ``None`` under a template.
    """
    if type(result) is str:  # the common case first: isinstance against an ABC is slow
        return [Message("user", result)], None
    if isinstance(result, Message):
        return [result], None
    if isinstance(result, (list, tuple)):
        items = cast("Sequence[Any]", result)
        if items and all(isinstance(r, (str, *_PART_TYPES)) for r in items):
            return [Message("user", list(items))], None  # strings and parts: one user message
        return _check_messages(items, fn_name), None
    config: dict[str, Any] | None = None
    if isinstance(result, Mapping):
        given = cast("Mapping[str, Any]", result)
        unknown = set(given) - _CONFIG_KEYS
        if unknown:
            raise PromptError(f"{fn_name} returned a dynamic config with unknown keys: {sorted(unknown)}")
        config = dict(given)
    if isinstance(result, str):
        return [Message("user", result)], None
    if config is not None and "messages" in config:
        return _check_messages(config["messages"], fn_name), config
    if result is not None and config is None:
        kind = type(cast(object, result)).__name__
        raise PromptError(
            f"{fn_name} returned {kind}; a prompt function returns a str, "
            "a list of messages, a dynamic config dict, or None under @prompt_template"
        )
    if template is None:
        raise PromptError(f"{fn_name} returned no messages and has no @prompt_template")
    computed: Any = config.get("computed_fields") if config else None
    if not computed:
        computed = {}
    if not isinstance(computed, Mapping):
        raise PromptError(f"{fn_name}: computed_fields must be a dict")
    return list(format_template(template, {**fn_args, **computed})), config


def check_config(config: Mapping[str, Any], fn_name: str) -> None:
    tools = config.get("tools")
    if tools is not None and not isinstance(tools, (list, tuple)):
        raise PromptError(f"{fn_name}: the dynamic config's tools must be a list, got {type(tools).__name__}")
    metadata = config.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise PromptError(f"{fn_name}: the dynamic config's metadata must be a dict, got {type(metadata).__name__}")


def _check_messages(messages: Any, fn_name: str) -> list[Message | Mapping[str, Any]]:
    if not isinstance(messages, (list, tuple)):
        raise PromptError(f"{fn_name}: messages must be a list, got {type(messages).__name__}")
    out: list[Message | Mapping[str, Any]] = []
    for i, message in enumerate(cast("Sequence[Any]", messages)):
        if not isinstance(message, (Message, Mapping)):
            message = _sdk_message(message)
        if not isinstance(message, (Message, Mapping)):
            raise PromptError(
                f"{fn_name}: messages[{i}] is a {type(message).__name__}; expected a Message or a message dict"
            )
        out.append(cast("Message | Mapping[str, Any]", message))
    return out


def _sdk_message(message: Any) -> Any:
    """An official SDK's message object (a pydantic model, as Mirascope code passes them:
    cohere's ``ChatMessage``, mistral's ``UserMessage``) as the dict it stands for."""
    dump = getattr(message, "model_dump", None)
    if not callable(dump):
        return message
    try:
        dumped = dump(exclude_none=True)
    except TypeError:
        dumped = dump()
    return cast("Mapping[str, Any]", dumped) if isinstance(dumped, Mapping) else message

"""Provider dialects of JSON Schema: OpenAI's strict structured outputs and Gemini's
OpenAPI subset.

Both take a schema from :func:`minicall._schema.generate.json_schema` and return the version
that provider accepts: :func:`strict_openai` (every object closed, every property
required, optional ones nullable; ``None`` when the schema cannot be made strict) and
:func:`gemini_schema` (references inlined, unsupported keys dropped, nullable unions).
"""

from __future__ import annotations

from typing import Any, cast

from .._model.errors import ConfigurationError

__all__ = ["strict_openai", "strict_nulls_dropped", "gemini_schema"]


_NULL = {"type": "null"}


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and cast("dict[str, Any]", schema).get("type") == "null"


def _is_nullable(schema: dict[str, Any]) -> bool:
    return _is_null(schema) or any(_is_null(s) for s in schema.get("anyOf", ()))


class _NotStrict(Exception):
    """Raised inside :func:`strict_openai` when a schema has no strict form."""


def _strict(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    schema = cast("dict[str, Any]", schema)  # isinstance leaves dict[Unknown, Unknown]
    if not schema or "prefixItems" in schema or isinstance(schema.get("additionalProperties"),
                                                            dict):
        raise _NotStrict  # free-form values, fixed tuples and maps have no strict form
    out = {k: v for k, v in schema.items() if k not in ("default", "uniqueItems")}
    for key in ("properties", "$defs"):
        if key in out:
            out[key] = {n: _strict(s) for n, s in out[key].items()}
    if "items" in out:
        out["items"] = _strict(out["items"])
    if "anyOf" in out:
        out["anyOf"] = [_strict(s) for s in out["anyOf"]]
    if out.get("type") == "object":
        props = out.get("properties")
        if not props:
            raise _NotStrict
        required = set(schema.get("required", ()))
        for name, prop in props.items():
            if name not in required and not _is_nullable(prop):
                lifted = {k: prop[k] for k in ("description",) if k in prop}
                inner = {k: v for k, v in prop.items() if k not in lifted}
                props[name] = {**lifted, "anyOf": [inner, dict(_NULL)]}
        out["required"] = list(props)
        out["additionalProperties"] = False
    return out


def strict_openai(schema: dict[str, Any]) -> dict[str, Any] | None:
    """``schema`` rewritten for OpenAI strict structured outputs, or ``None`` if impossible.

    Every object closes (``additionalProperties: false``) and requires all its
    properties, optional ones becoming nullable; ``default`` and ``uniqueItems`` go.
    ``None`` for a non-object root, free-form values (``Any``, ``dict[str, X]``) and
    fixed-length tuples, which strict mode cannot express.
    """
    if schema.get("type") != "object":
        return None
    try:
        out: dict[str, Any] = _strict(schema)
    except _NotStrict:
        return None
    return out


def strict_nulls_dropped(schema: dict[str, Any], value: Any) -> Any:
    """``value`` (a reply to the strict form of ``schema``) without the ``null`` s strict
    mode made the model send for optional properties, so that their defaults apply.

    Only a property that ``schema`` itself neither requires nor lets be ``null`` loses
    its ``null``; everything else is left for validation to judge.
    """
    return _dropped(schema, value, schema.get("$defs") or {})


def _dropped(schema: Any, value: object, defs: dict[str, Any]) -> object:
    if not isinstance(schema, dict):
        return value
    schema = cast("dict[str, Any]", schema)
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        schema = defs.get(ref[len("#/$defs/") :], {})
    if isinstance(value, list):
        items = cast("list[object]", value)
        return [_dropped(schema["items"], item, defs) for item in items] if "items" in schema else items
    if not isinstance(value, dict):
        return value
    given = cast("dict[str, object]", value)
    props = schema.get("properties")
    if not isinstance(props, dict):
        return given
    props = cast("dict[str, Any]", props)
    required = set(schema.get("required", ()))
    out: dict[str, object] = {}
    for name, item in given.items():
        prop = props.get(name)
        if item is None and isinstance(prop, dict) and name not in required and not _is_nullable(cast("dict[str, Any]", prop)):
            continue  # a null strict mode forced: the property was left out
        out[name] = item if prop is None else _dropped(prop, item, defs)
    return out


# What Gemini's OpenAPI-3 ``Schema`` object accepts; everything else is dropped.
_GEMINI_KEYS = frozenset({
    "type", "format", "description", "nullable", "enum", "items", "properties", "required",
    "anyOf", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum",
    "minProperties", "maxProperties", "propertyOrdering",
})


def _gemini(schema: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    schema = cast("dict[str, Any]", schema)  # isinstance leaves dict[Unknown, Unknown]
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or name not in defs:
            raise ConfigurationError(
                f"the recursive type {name!r} "
                "cannot be inlined: Gemini schemas have no $ref")
        target = _gemini(defs[name], defs, (*seen, name))
        rest = _gemini({k: v for k, v in schema.items() if k != "$ref"}, defs, seen)
        return {**target, **rest}
    out: dict[str, Any] = {}
    if "prefixItems" in schema:  # no fixed tuples: any of the item shapes, length kept
        shapes = [_gemini(s, defs, seen) for s in schema["prefixItems"]]
        distinct = [s for i, s in enumerate(shapes) if s not in shapes[:i]]
        out["items"] = distinct[0] if len(distinct) == 1 else {"anyOf": distinct}
    variants = [_gemini(s, defs, seen) for s in schema.get("anyOf", ()) if not _is_null(s)]
    if "anyOf" in schema:
        if len(variants) < len(schema["anyOf"]):
            out["nullable"] = True
        if len(variants) == 1:
            out.update(variants[0])
        elif variants:
            out["anyOf"] = variants
    for key, value in schema.items():
        if key not in _GEMINI_KEYS or key == "anyOf":
            continue
        if key == "properties":
            out[key] = {n: _gemini(p, defs, seen) for n, p in value.items()}
        elif key == "items":
            out[key] = _gemini(value, defs, seen)
        elif key == "enum":
            if None in value:
                out["nullable"] = True
            values = [v for v in value if v is not None]
            if all(isinstance(v, str) for v in values):  # Gemini enums are strings only
                out.update(type="string", enum=values)
        elif key == "type" and value == "null":
            out["nullable"] = True
        else:
            out[key] = value
    if schema.get("description"):
        out["description"] = schema["description"]
    return out


def gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` in Gemini's OpenAPI subset: ``$ref`` inlined, ``null`` as ``nullable``.

    Drops ``$defs``, ``additionalProperties``, ``title``, ``default``, ``uniqueItems``;
    fixed tuples become ``items`` with a length; non-string enums lose their ``enum``.
    Raises ``ConfigurationError`` for recursive types, which cannot be inlined.
    """
    return _gemini(schema, dict(schema.get("$defs", {})), ())

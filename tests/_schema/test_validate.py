"""validate(): typed values from JSON, every problem reported with its path."""

from __future__ import annotations

import enum
import itertools
import json
import keyword
import typing
from dataclasses import dataclass, make_dataclass
from typing import Annotated, Any, Literal, NamedTuple, Optional, TypedDict, Union

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from minicall._model.errors import ConfigurationError, ValidationError
from minicall._schema.generate import json_schema
from minicall._schema.validate import check, dump, validate

jsonschema = pytest.importorskip("jsonschema")

_names = itertools.count()

# --- strategies: a type together with a strategy for values of that type -----------

_words = st.text(alphabet="abcxyz", min_size=1, max_size=4)


def _literal(values: list[str]) -> tuple[Any, Any]:
    return Literal[tuple(values)], st.sampled_from(values)  # type: ignore[valid-type]


def _enum(values: list[str]) -> tuple[Any, Any]:
    cls = enum.Enum(f"E{next(_names)}", {f"M{i}": v for i, v in enumerate(values)})
    return cls, st.sampled_from(list(cls))


_LEAVES = st.sampled_from([
    (str, st.text(max_size=6)),
    (int, st.integers(-(10**9), 10**9)),
    (float, st.floats(allow_nan=False, allow_infinity=False)),
    (bool, st.booleans()),
]) | st.lists(_words, min_size=1, max_size=3, unique=True).flatmap(
    lambda vs: st.sampled_from([_literal(vs), _enum(vs)]))


def _dataclass(children: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    cls = make_dataclass(f"D{next(_names)}", [(f"f{i}", t) for i, (t, _) in enumerate(children)])
    return cls, st.tuples(*[v for _, v in children]).map(lambda xs: cls(*xs))


def _typeddict(children: list[tuple[Any, Any]]) -> tuple[Any, Any]:
    cls = TypedDict(f"T{next(_names)}", {f"k{i}": t for i, (t, _) in enumerate(children)})  # type: ignore[misc]
    return cls, st.fixed_dictionaries({f"k{i}": v for i, (_, v) in enumerate(children)})


def _extend(children: Any) -> Any:
    return st.one_of(
        children.map(lambda c: (list[c[0]], st.lists(c[1], max_size=3))),
        children.map(lambda c: (Optional[c[0]], st.none() | c[1])),
        children.map(lambda c: (dict[str, c[0]], st.dictionaries(_words, c[1], max_size=3))),
        st.lists(children, min_size=1, max_size=3).map(_dataclass),
        st.lists(children, min_size=1, max_size=3).map(_typeddict),
    )


typed_values = st.recursive(_LEAVES, _extend, max_leaves=6).flatmap(
    lambda pair: st.tuples(st.just(pair[0]), pair[1]))

_settings = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


def _roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(dump(value)))


@_settings
@given(typed_values)
def test_generated_schemas_are_valid_and_accept_their_values(pair: tuple[Any, Any]) -> None:
    tp, value = pair
    schema = json_schema(tp)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(_roundtrip(value))


@_settings
@given(typed_values)
def test_dumped_values_round_trip_through_validate(pair: tuple[Any, Any]) -> None:
    tp, value = pair
    assert validate(tp, _roundtrip(value)) == value


# --- corrupting one leaf is reported at that leaf's path ----------------------------

def _step(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier() and not keyword.iskeyword(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _leaves(tp: Any, data: Any, keys: tuple[Any, ...]) -> typing.Iterator[tuple[Any, ...]]:
    """Paths (as key tuples) to the scalar leaves of ``data`` (dumped JSON of ``tp``)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Union:
        if data is not None:
            yield from _leaves(args[0], data, keys)
    elif origin is list:
        for i, item in enumerate(data):
            yield from _leaves(args[0], item, (*keys, i))
    elif origin is dict:
        for k, item in data.items():
            yield from _leaves(args[1], item, (*keys, k))
    elif isinstance(data, dict):
        hints = typing.get_type_hints(tp)
        for k, item in data.items():
            yield from _leaves(hints[k], item, (*keys, k))
    else:
        yield keys


@_settings
@given(typed_values, st.data())
def test_a_corrupted_leaf_is_rejected_with_its_path(pair: tuple[Any, Any], data: Any) -> None:
    tp, value = pair
    wrap = make_dataclass(f"W{next(_names)}", [("items", list[tp])])
    doc = _roundtrip(wrap([value]))
    found = list(_leaves(wrap, doc, ()))
    assume(found)  # empty lists and nulls have no leaf to corrupt
    keys = data.draw(st.sampled_from(found))
    parent = doc
    for k in keys[:-1]:
        parent = parent[k]
    leaf = parent[keys[-1]]
    # A string where numbers/bools live, an array where strings live: never valid.
    parent[keys[-1]] = [leaf] if isinstance(leaf, str) else "corrupted"
    path = ""
    for k in keys:
        path = _step(path, k)
    with pytest.raises(ValidationError) as info:
        validate(wrap, doc)
    assert any(e.startswith(path + ": ") for e in info.value.errors), (path, info.value.errors)


# --- examples ----------------------------------------------------------------------

@dataclass
class Book:
    title: str
    year: int


@dataclass
class Shelf:
    books: list[Book]


def test_every_problem_is_collected_with_its_path() -> None:
    doc = {"books": [{"title": "a", "year": 1}, {"title": 2}, {"title": "c", "year": "1999"}]}
    with pytest.raises(ValidationError) as info:
        validate(Shelf, doc)
    assert info.value.errors == [
        "books[1].title: expected str, got 2",
        "books[1].year: missing required field",
        'books[2].year: expected int, got "1999"',
    ]
    assert "Shelf did not validate" in str(info.value)
    assert info.value.response is None


@pytest.mark.parametrize(("tp", "value"), [
    (int, True), (int, "1"), (int, 1.5), (str, 1), (bool, 0), (float, "1.0"), (type(None), 0),
    (list[int], {"a": 1}), (dict[str, int], [1]), (tuple[int, str], [1]),
    (Literal["a", "b"], "c"), (Literal[1], True), (set[int], [[1]]), (Book, [1, 2]),
])
def test_mismatches_are_rejected(tp: Any, value: Any) -> None:
    with pytest.raises(ValidationError):
        validate(tp, value)


def test_int_is_accepted_for_float_but_not_in_strict_mode() -> None:
    assert validate(float, 3) == 3.0 and isinstance(validate(float, 3), float)
    with pytest.raises(ValidationError):
        validate(float, 3, strict=True)


def test_unknown_keys_are_ignored_unless_strict() -> None:
    assert validate(Book, {"title": "t", "year": 1, "extra": 0}) == Book("t", 1)
    with pytest.raises(ValidationError) as info:
        validate(Book, {"title": "t", "year": 1, "extra": 0}, strict=True)
    assert info.value.errors == ["extra: unexpected field"]


def test_union_prefers_the_exact_type() -> None:
    assert type(validate(Union[float, int], 1)) is int
    assert type(validate(Union[int, float], 1.5)) is float
    assert validate(Union[int, str], "x") == "x"


def test_optional_reports_the_inner_problems() -> None:
    with pytest.raises(ValidationError) as info:
        validate(Optional[Book], {"title": "t"})
    assert info.value.errors == ["year: missing required field"]
    assert validate(Optional[Book], None) is None


def test_union_without_a_match_names_the_members() -> None:
    with pytest.raises(ValidationError) as info:
        validate(Union[int, str], [1])
    assert info.value.errors == ["(root): expected int | str, got [1]"]


class Color(enum.Enum):
    RED = "red"
    ONE = 1


class Point(NamedTuple):
    x: int
    y: int = 0


class Movie(TypedDict, total=False):
    name: str
    rating: float


def test_builds_enums_tuples_sets_namedtuples_and_typeddicts() -> None:
    assert validate(Color, "red") is Color.RED and validate(Color, 1) is Color.ONE
    assert validate(tuple[int, str], [1, "a"]) == (1, "a")
    assert validate(tuple[int, ...], [1, 2]) == (1, 2)
    assert validate(frozenset[str], ["a", "a"]) == frozenset({"a"})
    assert validate(Point, {"x": 1}) == Point(1, 0)
    assert validate(Point, [1, 2]) == Point(1, 2)
    assert validate(Movie, {"rating": 5}) == {"rating": 5.0}
    assert validate(Annotated[int, "n"], 4) == 4
    assert validate(Any, {"a": [1]}) == {"a": [1]}


def test_keys_that_are_not_identifiers_are_quoted_in_paths() -> None:
    with pytest.raises(ValidationError) as info:
        validate(dict[str, int], {"a b": "x", "ok": "y"})
    assert info.value.errors == ['["a b"]: expected int, got "x"', 'ok: expected int, got "y"']


def test_a_refusing_constructor_becomes_a_validation_error() -> None:
    @dataclass
    class Positive:
        n: int

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")

    with pytest.raises(ValidationError, match="negative"):
        validate(Positive, {"n": -1})


def test_check_returns_errors_instead_of_raising() -> None:
    assert check(int, "x") == (None, ['(root): expected int, got "x"'])
    assert check(int, 1) == (1, [])


def test_unsupported_types_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        validate(complex, 1)


def test_dump_is_the_inverse_of_validate() -> None:
    shelf = Shelf([Book("a", 1)])
    assert dump(shelf) == {"books": [{"title": "a", "year": 1}]}
    assert dump(Point(1, 2)) == {"x": 1, "y": 2}
    assert dump(Color.RED) == "red" and dump((1, {2})) == [1, [2]]
    with pytest.raises(ConfigurationError):
        dump(object())


def test_pydantic_models_validate_with_paths() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Author(pydantic.BaseModel):
        name: str
        books: list[int]

    assert validate(Author, {"name": "a", "books": [1]}) == Author(name="a", books=[1])
    with pytest.raises(ValidationError) as info:
        validate(list[Author], [{"name": "a", "books": [1, "x"]}])
    assert info.value.errors[0].startswith("[0].books[1]: ")

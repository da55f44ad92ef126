"""Properties of the configuration merge: later layers win, inputs are never touched."""

from __future__ import annotations

import copy
from typing import Any

import strategies
from hypothesis import given, settings
from hypothesis import strategies as st

from minicall._call.config import merge_layers, merge_params

# Few key names, so that layers overlap often.
param_keys = st.sampled_from(["temperature", "max_tokens", "top_p", "stop", "seed"])
json_values = strategies.json_values(max_leaves=6, max_size=3)
params = st.dictionaries(param_keys, json_values, max_size=5)
param_layers = st.lists(st.none() | params, max_size=5)

# Every key a layer may carry; "call_params" is the one merged key by key.
layers = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "call_params": params,
        "metadata": st.dictionaries(st.text(max_size=3), json_values, max_size=3),
        "tools": st.lists(st.text(max_size=4), max_size=3),
        "client": st.text(max_size=4),
        "messages": st.lists(json_values, max_size=2),
        "computed_fields": st.dictionaries(st.text(max_size=3), json_values, max_size=3),
    },
)
layer_lists = st.lists(layers, max_size=5)


def last_holding(key: str, stack: list[Any]) -> Any:
    """The value of ``key`` in the last layer of ``stack`` that has it."""
    return next(layer[key] for layer in reversed(stack) if layer and key in layer)


@given(param_layers)
def test_merge_params_takes_each_key_from_the_last_layer_that_sets_it(stack):
    merged = merge_params(*stack)
    keys = {key for layer in stack if layer for key in layer}
    assert set(merged) == keys
    for key in keys:
        assert merged[key] is last_holding(key, stack)


@given(param_layers)
def test_merge_params_never_mutates_its_inputs(stack):
    before = copy.deepcopy(stack)
    merged = merge_params(*stack)
    merged["temperature"] = "changed"
    merged.clear()
    assert stack == before


@given(params)
def test_merge_params_returns_a_new_dict_even_for_one_layer(layer):
    merged = merge_params(layer)
    assert merged == layer
    assert merged is not layer


@given(params)
def test_merging_params_with_themselves_is_idempotent(layer):
    assert merge_params(layer, layer) == merge_params(layer) == layer


@given(st.none() | params, st.none() | params, st.none() | params)
def test_merge_params_is_associative(a, b, c):
    left = merge_params(merge_params(a, b), c)
    right = merge_params(a, merge_params(b, c))
    assert left == right == merge_params(a, b, c)


def test_merge_params_of_nothing_is_empty():
    assert merge_params() == {} and merge_params(None, {}) == {}


@settings(max_examples=150)
@given(layer_lists)
def test_merge_layers_merges_call_params_key_by_key_and_replaces_other_keys(stack):
    merged = merge_layers(*stack)
    keys = {key for layer in stack if layer for key in layer}
    assert set(merged) == keys
    for key in keys - {"call_params"}:
        assert merged[key] is last_holding(key, stack)
    if "call_params" in keys:
        expected = merge_params(*(lay.get("call_params") for lay in stack if lay))
        assert merged["call_params"] == expected


@given(layer_lists)
def test_merge_layers_never_mutates_its_inputs(stack):
    before = copy.deepcopy(stack)
    merged = merge_layers(*stack)
    merged.get("call_params", {})["temperature"] = "changed"
    merged["metadata"] = {"changed": True}
    assert stack == before


@given(layer_lists)
def test_merged_call_params_are_a_fresh_dict(stack):
    merged = merge_layers(*stack)
    if "call_params" in merged:
        assert all(merged["call_params"] is not lay.get("call_params") for lay in stack if lay)


@given(layers)
def test_merging_a_layer_with_itself_is_idempotent(layer):
    assert merge_layers(layer, layer) == merge_layers(layer) == (layer or {})


@given(layer_lists, layer_lists)
def test_merging_a_merge_equals_merging_all_layers(first, second):
    assert merge_layers(merge_layers(*first), *second) == merge_layers(*first, *second)


@given(layers, layers, layers)
def test_merge_layers_is_associative(a, b, c):
    assert merge_layers(merge_layers(a, b), c) == merge_layers(a, merge_layers(b, c))


def test_precedence_decorator_then_override_then_dynamic_config():
    decorator = {"call_params": {"temperature": 0.1, "max_tokens": 10}, "tools": ["a"]}
    override = {"call_params": {"temperature": 0.5}, "client": "override-client"}
    dynamic = {"call_params": {"max_tokens": 99}, "tools": ["b"], "metadata": {"tag": 1}}
    assert merge_layers(decorator, override, dynamic) == {
        "call_params": {"temperature": 0.5, "max_tokens": 99},
        "tools": ["b"],
        "client": "override-client",
        "metadata": {"tag": 1},
    }

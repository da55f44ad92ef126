"""The JSON helpers every codec parses and writes bodies with."""

from __future__ import annotations

import json

import pytest
import strategies
from hypothesis import given, settings
from hypothesis import strategies as st

from minicall import ResponseFormatError
from minicall._model.wire import dumps, loads

_json = strategies.json_values(text=st.text())


def _ours(value):
    try:
        return ("ok", loads(value, "openai"))
    except ResponseFormatError:
        return ("error",)


def _json_loads(value):
    try:
        return ("ok", json.loads(value))
    except (ValueError, RecursionError):
        return ("error",)


@given(_json, st.sampled_from(["", " ", "\n\r\t ", " x", "}", "{}", "\x00"]))
def test_parsing_text_agrees_with_json_loads(value, tail):
    text = json.dumps(value) + tail
    assert _ours(text) == _json_loads(text)
    for encoding in ("utf-8", "utf-16", "utf-32"):
        raw = text.encode(encoding, "surrogatepass")
        assert _ours(raw) == _json_loads(raw)


@settings(max_examples=2000)
@given(st.binary(max_size=40).map(lambda b: b"{" + b))
def test_parsing_any_bytes_after_a_brace_agrees_with_json_loads(raw):
    assert _ours(raw) == _json_loads(raw)


@settings(max_examples=2000)
@given(st.text(max_size=40).map(lambda s: "{" + s))
def test_parsing_any_text_after_a_brace_agrees_with_json_loads(text):
    # Text starting with "{" takes raw_decode; it must accept and refuse as json.loads.
    assert _ours(text) == _json_loads(text)


def test_lone_surrogates_pass_as_json_loads_lets_them():
    raw = b'{"a": "\xed\xa0\x80"}'
    assert loads(raw, "openai") == json.loads(raw)


def test_garbage_is_a_response_format_error_naming_the_provider():
    with pytest.raises(ResponseFormatError) as info:
        loads(b'{"a": 1} trailing', "openai", "chunk")
    assert info.value.provider == "openai" and "not JSON" in str(info.value)


def test_dumps_is_compact_utf8():
    assert dumps({"a": [1, "é"]}) == '{"a":[1,"é"]}'.encode()


@given(_json)
def test_dumps_agrees_with_compact_json_dumps(value):
    expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        assert dumps(value) == expected
    except UnicodeEncodeError:  # a lone surrogate: not UTF-8, refused as json's text would be
        pass


def test_dumps_refuses_what_json_refuses():
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError):
        dumps(cyclic)
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"a": object()})
    assert dumps({1: float("nan"), None: True}) == b'{"1":NaN,"null":true}'


def test_a_nul_after_the_brace_is_read_as_json_reads_it():
    raw = b"{\x00\x00\x00"  # json.detect_encoding: UTF-16-LE
    assert _ours(raw) == _json_loads(raw)

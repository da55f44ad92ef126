"""Replies the providers really sent (or their API references print), decoded by minicall.

The codecs and FakeServer's wire formats were written from the same reading of each API, so
they can agree on a mistake. These bodies come from elsewhere: the official SDKs' recorded
test data, the API references' examples, real recordings (``tests/fixtures/<provider>/``,
each file's origin in that folder's ``SOURCES.md``). Beside each one, ``<name>.expected.json``
holds what it must decode to: content, finish reasons, model, id, usage, tool calls with their
arguments (for a stream: the joined text, the calls, the usage at the end); the official SDKs
read the same facts from the same bytes (``test_recorded_replies_conformance``). Each body is decoded by its provider's codec (a stream whole and one byte at a time),
then sent by FakeServer as a raw reply to a real call, to show the whole path reads it too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from minicall import APIError
from minicall._call.registry import provider_module
from minicall._call.stream import StreamState
from minicall._call.tools import BaseTool
from minicall._codecs.anthropic.codec import ANTHROPIC
from minicall._codecs.bedrock.codec import CODEC as BEDROCK
from minicall._codecs.cohere import CODEC as COHERE
from minicall._codecs.gemini.codec import GEMINI
from minicall._codecs.openai.codec import AZURE, GROQ, MISTRAL, OPENAI, OpenAICompatCodec
from minicall._model.messages import ToolCallPart
from minicall._model.spec import CallSpec, Chunk, Codec, Usage
from minicall.testing import FakeServer, RawReply

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DATA_SUFFIXES = (".json", ".sse", ".eventstream")
REQUESTED = "requested-model"
"""The model every call asks for: Cohere and Bedrock replies name none, so it stands in."""

CODECS: dict[str, Codec] = {
    "openai": OpenAICompatCodec(OPENAI),
    "groq": OpenAICompatCodec(GROQ),
    "mistral": OpenAICompatCodec(MISTRAL),
    "azure": OpenAICompatCodec(AZURE),
    "anthropic": ANTHROPIC,
    "google": GEMINI,
    "cohere": COHERE,
    "bedrock": BEDROCK,
}
CONTENT_TYPES = {".json": "application/json", ".sse": "text/event-stream",
                 ".eventstream": "application/vnd.amazon.eventstream"}


def _recorded() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*/*")
                  if p.name.endswith(DATA_SUFFIXES) and not p.name.endswith(".expected.json"))


RECORDED = [p for p in _recorded() if not p.name.startswith("error_")]
REPLIES = [p for p in RECORDED if p.name.startswith("reply_")]
STREAMS = [p for p in RECORDED if p.name.startswith("stream_")]
FAILED_STREAMS = [p for p in _recorded() if p.name.startswith("error_stream_")]
"""Streams that break after they began: their facts are the error and the text before it."""
ERROR_REPLIES = [p for p in _recorded() if p.name.startswith("error_reply_")]
"""Error statuses' bodies: their facts are the status, headers, error class and the provider's words."""


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def expected(path: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(path.with_name(path.name.split(".")[0] + ".expected.json").read_text())
    return result


def _usage(usage: Usage | None) -> dict[str, int | None] | None:
    if usage is None:
        return None
    return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "cached_tokens": usage.cached_tokens, "total_tokens": usage.total_tokens,
            "cache_write_tokens": usage.cache_write_tokens}


def _calls(calls: list[ToolCallPart]) -> list[dict[str, Any]]:
    return [{"id": c.id, "name": c.name, "args": c.args} for c in calls]


def decode_stream(codec: Codec, data: bytes, provider: str, feed: Callable[[bytes], list[bytes]]) -> StreamState:
    """The stream state after ``data`` arrives in the pieces ``feed`` cuts it into."""
    decoder = codec.stream_decoder(CallSpec(model=REQUESTED, messages=(), stream=True))
    chunks: list[Chunk] = []
    for piece in feed(data):
        chunks += decoder.feed(piece)
    chunks += decoder.close()
    state = StreamState(provider)
    for chunk in chunks:
        state.absorb(chunk)
    state.finish()
    return state


def stream_facts(state: StreamState) -> dict[str, Any]:
    return {"content": state.content, "finish_reasons": list(state.finish_reasons or []),
            "model": state.model, "id": state.id, "usage": _usage(state.usage),
            "tool_calls": _calls(state.calls)}


def test_every_recorded_reply_has_its_facts_and_its_source():
    assert {p.parent.name for p in RECORDED} == set(CODECS)
    assert sorted(RECORDED + FAILED_STREAMS + ERROR_REPLIES) == _recorded(), "a fixture with an unknown name prefix"
    for path in _recorded():
        keys = ({"error", "status_code", "message", "partial"} if path in FAILED_STREAMS
                else {"error", "status_code", "message", "headers"} if path in ERROR_REPLIES
                else {"content", "finish_reasons", "model", "id", "usage", "tool_calls"})
        assert keys <= set(expected(path)), path  # raises if the file is missing
        assert f"`{path.name}`" in (path.parent / "SOURCES.md").read_text(), f"{_id(path)} has no source line"
    assert not list(FIXTURES.rglob("*.py")), "fixture folders hold data only (no module may shadow an SDK)"


@pytest.mark.parametrize("path", REPLIES, ids=_id)
def test_a_recorded_reply_decodes_to_its_facts(path):
    provider, facts = path.parent.name, expected(path)
    completion = CODECS[provider].decode(path.read_bytes(), {}, CallSpec(model=REQUESTED, messages=()))
    calls = [p for p in completion.message.parts if isinstance(p, ToolCallPart)]
    assert completion.content == facts["content"]
    assert list(completion.finish_reasons or []) == facts["finish_reasons"]
    assert (completion.model, completion.id) == (facts["model"], facts["id"])
    assert _usage(completion.usage) == facts["usage"]
    assert _calls(calls) == facts["tool_calls"]
    # The provider's own tool-call objects stay beside the neutral ones, in the same order.
    assert len(completion.raw_tool_calls) == len(calls)
    assert completion.raw == json.loads(path.read_bytes())
    if "history_content_types" in facts:  # content chunks the turn must carry back as they came
        native = completion.native_message["content"]
        assert [c["type"] for c in native] == facts["history_content_types"]
        assert native == json.loads(path.read_bytes())["choices"][0]["message"]["content"]


@pytest.mark.parametrize("path", STREAMS, ids=_id)
def test_a_recorded_stream_decodes_to_its_facts_whole_and_byte_by_byte(path):
    provider, facts, data = path.parent.name, expected(path), path.read_bytes()
    whole = decode_stream(CODECS[provider], data, provider, lambda d: [d])
    facts_seen = stream_facts(whole)
    assert facts_seen == {k: facts[k] for k in facts_seen}
    if "thinking_blocks" in facts:  # the signed thinking goes back exactly as it came
        assert [b for b in whole.blocks if b.get("type") == "thinking"] == facts["thinking_blocks"]
    bytewise = decode_stream(CODECS[provider], data, provider, lambda d: [d[i:i + 1] for i in range(len(d))])
    assert stream_facts(bytewise) == facts_seen


@pytest.mark.parametrize("path", STREAMS, ids=_id)
def test_a_recorded_stream_cut_in_half_is_an_error_not_a_shorter_answer(path):
    from minicall import ResponseFormatError

    data = path.read_bytes()
    decoder = CODECS[path.parent.name].stream_decoder(CallSpec(model=REQUESTED, messages=(), stream=True))
    with pytest.raises(ResponseFormatError):
        decoder.feed(data[: len(data) // 2])
        decoder.close()


@pytest.mark.parametrize("path", FAILED_STREAMS, ids=_id)
@pytest.mark.parametrize("split", ["whole", "byte by byte"])
def test_a_recorded_stream_that_breaks_raises_its_error_after_the_text_before_it(path, split):
    provider, facts, data = path.parent.name, expected(path), path.read_bytes()
    pieces = [data] if split == "whole" else [data[i:i + 1] for i in range(len(data))]
    decoder = CODECS[provider].stream_decoder(CallSpec(model=REQUESTED, messages=(), stream=True))
    chunks: list[Chunk] = []
    with pytest.raises(APIError) as info:
        for piece in pieces:
            chunks += decoder.feed(piece)
        decoder.close()
    assert type(info.value).__name__ == facts["error"]
    assert (info.value.status_code, info.value.message) == (facts["status_code"], facts["message"])
    assert "".join(c.content for c in chunks) == facts["partial"]  # nothing before the error is lost


# -- the whole path: FakeServer sends the recorded bytes to a real call ------------------


def _tools_for(facts: dict[str, Any]) -> list[type[BaseTool]]:
    """Tool classes named as the recorded calls are, with their argument names as fields."""
    tools: dict[str, type[BaseTool]] = {}
    for call in facts["tool_calls"]:
        fields = {name: Any for name in call["args"]}
        tools.setdefault(call["name"], type(call["name"], (BaseTool,), {"__annotations__": fields,
                                                                         "__doc__": "A recorded tool."}))
    return list(tools.values())


def _script(fake: FakeServer, path: Path) -> None:
    fake.script(RawReply(200, {"content-type": CONTENT_TYPES[path.suffix]}, path.read_bytes()),
                provider=path.parent.name)


@pytest.mark.parametrize("path", REPLIES, ids=_id)
def test_a_recorded_reply_through_a_real_call(fake, path):
    provider, facts = path.parent.name, expected(path)
    _script(fake, path)

    @provider_module(provider).call(REQUESTED, client=fake.client(provider), tools=_tools_for(facts))
    def ask() -> str:
        return "recorded"

    response = ask()
    assert response.content == facts["content"]
    assert response.finish_reasons == facts["finish_reasons"]  # the provider's own values
    assert (response.model, response.id) == (facts["model"], facts["id"])
    assert _usage(response.usage) == facts["usage"]
    tools = response.tools or []
    assert [(t.id, t._name(), t.args) for t in tools] == [(c["id"], c["name"], c["args"]) for c in facts["tool_calls"]]
    assert fake.last.json is not None and fake.last.json != {}
    if "history_content_types" in facts:
        # The next turn sends the reply back as it came (Mistral: a thinking chunk is
        # replayed, the turn never rebuilt from its answer text).
        _script(fake, path)

        @provider_module(provider).call(REQUESTED, client=fake.client(provider))
        def again() -> Any:
            return {"messages": [{"role": "user", "content": "recorded"}, response.message_param,
                                 {"role": "user", "content": "and then?"}]}

        again()
        sent = fake.last.json["messages"][1]["content"]
        assert [c["type"] for c in sent] == facts["history_content_types"]
        assert sent == json.loads(path.read_bytes())["choices"][0]["message"]["content"]


@pytest.mark.parametrize("path", STREAMS, ids=_id)
def test_a_recorded_stream_through_a_real_call(fake, path):
    provider, facts = path.parent.name, expected(path)
    _script(fake, path)

    @provider_module(provider).call(REQUESTED, client=fake.client(provider), stream=True, tools=_tools_for(facts))
    def ask() -> str:
        return "recorded"

    stream = ask()
    texts, tools = [], []
    for chunk, tool in stream:
        texts.append(chunk.content)
        if tool is not None:
            tools.append(tool)
    assert "".join(texts) == stream.content == facts["content"]
    assert stream.finish_reasons == facts["finish_reasons"]
    assert _usage(stream.usage) == facts["usage"]
    assert [(t.id, t._name(), t.args) for t in tools] == [(c["id"], c["name"], c["args"]) for c in facts["tool_calls"]]
    response = stream.construct_call_response()
    # A stream that names no model (Vertex's one-event stream) reports the one asked for.
    assert (response.model, response.id) == (facts["model"] or REQUESTED, facts["id"])


@pytest.mark.parametrize("path", FAILED_STREAMS, ids=_id)
def test_a_recorded_stream_that_breaks_through_a_real_call(fake, path):
    provider, facts = path.parent.name, expected(path)
    _script(fake, path)

    @provider_module(provider).call(REQUESTED, client=fake.client(provider), stream=True)
    def ask() -> str:
        return "recorded"

    stream = ask()
    seen = []
    with pytest.raises(APIError) as info:
        for chunk, _ in stream:
            seen.append(chunk.content)
    assert type(info.value).__name__ == facts["error"] and info.value.status_code == facts["status_code"]
    assert facts["message"] in str(info.value)
    assert "".join(seen) == info.value.partial == facts["partial"]


@pytest.mark.parametrize("path", ERROR_REPLIES, ids=_id)
def test_a_recorded_error_body_gives_the_providers_words(path):
    assert CODECS[path.parent.name].error_message(path.read_bytes()) == expected(path)["message"]


@pytest.mark.parametrize("path", ERROR_REPLIES, ids=_id)
def test_a_recorded_error_reply_through_a_real_call(fake, path):
    provider, facts = path.parent.name, expected(path)
    headers = {"content-type": "application/json", **facts["headers"]}
    fake.script(RawReply(facts["status_code"], headers, path.read_bytes()), provider=provider)

    @provider_module(provider).call(REQUESTED, client=fake.client(provider, max_retries=0))
    def ask() -> str:
        return "recorded"

    with pytest.raises(APIError) as info:
        ask()
    assert type(info.value).__name__ == facts["error"]
    assert (info.value.status_code, info.value.message) == (facts["status_code"], facts["message"])
    assert info.value.body == json.loads(path.read_bytes())

"""OpenAI ``custom`` tool calls (free-form ``input``): the reply stays readable, the calls stay raw."""

from __future__ import annotations

import asyncio
import json

from minicall import llm
from minicall._codecs.openai.codec import OPENAI, OpenAICompatCodec
from minicall._model.messages import ToolCallPart
from minicall._model.spec import CallSpec, Endpoint
from minicall.testing import FakeServer, RawReply

from shared import get_weather

CUSTOM = {"type": "custom", "id": "call_c1", "custom": {"name": "code_exec", "input": "print('hi')"}}
FUNCTION = {"type": "function", "id": "call_f1", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}


def reply(*calls: dict) -> bytes:
    message = {"role": "assistant", "content": "Running it.", "tool_calls": list(calls)}
    return json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
    }).encode()


def test_codec_keeps_custom_calls_raw_beside_function_calls():
    codec = OpenAICompatCodec(OPENAI)
    completion = codec.decode(reply(CUSTOM, FUNCTION), {}, CallSpec("gpt-4o-mini", ()))
    calls = [p for p in completion.message.parts if isinstance(p, ToolCallPart)]
    assert [c.name for c in calls] == ["get_weather"]
    assert completion.raw_tool_calls == (FUNCTION,)
    # The turn sent back with a history carries both calls, the custom one as it came.
    assert completion.native_message["tool_calls"][1] == CUSTOM
    sent = json.loads(codec.encode(CallSpec("m", (completion.native_message,)), Endpoint("http://x/v1")).body)
    assert sent["messages"][0]["tool_calls"][1] == CUSTOM


def test_stream_chunk_with_a_custom_call_is_skipped_not_refused():
    codec = OpenAICompatCodec(OPENAI)
    chunk = codec.decode_chunk({"id": "c", "model": "m", "choices": [
        {"index": 0, "delta": {"tool_calls": [{"index": 0, **CUSTOM}]}, "finish_reason": None}]})
    assert chunk.tool_deltas == ()
    assert chunk.raw["choices"][0]["delta"]["tool_calls"][0]["custom"]["name"] == "code_exec"


def _call(server: FakeServer):
    @llm.call(provider="openai", model="gpt-4o-mini", tools=[get_weather], client=server.client("openai"))
    def ask() -> str:
        return "run it"

    @llm.call(provider="openai", model="gpt-4o-mini", tools=[get_weather], client=server.client("openai"))
    async def ask_async() -> str:
        return "run it"

    return ask, ask_async


def test_a_reply_with_only_a_custom_call_is_readable_sync_and_async():
    headers = {"content-type": "application/json"}
    with FakeServer() as server:
        ask, ask_async = _call(server)
        server.script(RawReply(headers=headers, body=reply(CUSTOM)), RawReply(headers=headers, body=reply(CUSTOM, FUNCTION)))
        response = ask()
        assert response.content == "Running it."
        assert response.tools is None
        assert response.response["choices"][0]["message"]["tool_calls"] == [CUSTOM]
        mixed = asyncio.run(ask_async())
        assert mixed.tool is not None and mixed.tool.call() == "sunny in Paris"
        assert len(mixed.tools) == 1

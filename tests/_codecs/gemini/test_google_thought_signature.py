"""Gemini's thoughtSignature survives a tool loop through neutral messages and streams."""

from __future__ import annotations

import json

import pytest
from shared import get_weather

from minicall import Message, Messages, llm
from minicall.testing import FakeServer, RawReply

REPLY = {
    "candidates": [
        {
            "content": {
                "role": "model",
                "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2lnLTE="}],
            },
            "finishReason": "STOP",
        }
    ],
    "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5},
    "modelVersion": "gemini-2.5-flash",
}



@pytest.mark.parametrize("stream", [False, True])
def test_signature_is_echoed_in_the_next_request_from_a_neutral_history(stream):
    with FakeServer() as fake:
        client = fake.client("google")

        @llm.call(provider="google", model="gemini-2.5-flash", client=client, tools=[get_weather], stream=stream)
        def chat(history: list[Message]) -> list[Message]:
            return history

        body = json.dumps(REPLY).encode()
        if stream:
            fake.script(RawReply(200, {"content-type": "text/event-stream"}, b"data: " + body + b"\r\n\r\n"))
        else:
            fake.script(RawReply(200, {"content-type": "application/json"}, body))
        history: list[Message] = [Messages.User("weather in Paris?")]
        result = chat(history)
        if stream:
            tools = [tool for _, tool in result if tool is not None]
            response = result.construct_call_response()
        else:
            response = result
            tools = response.tools or []
        assert [t.args for t in tools] == [{"city": "Paris"}]
        history += [response.message_param, *response.tool_message_params([(tools[0], tools[0].call())])]
        fake.script(RawReply(200, {"content-type": "application/json"}, json.dumps({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Sunny."}]}, "finishReason": "STOP"}]
        }).encode()))
        follow = llm.call(provider="google", model="gemini-2.5-flash", client=client, tools=[get_weather])(lambda h: h)
        assert follow(history).content == "Sunny."
        model_turn = fake.last.json["contents"][1]
        assert model_turn["role"] == "model"
        assert model_turn["parts"][0]["thoughtSignature"] == "c2lnLTE="
        assert model_turn["parts"][0]["functionCall"]["name"] == "get_weather"

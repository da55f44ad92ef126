"""``tool_message_params`` on a response or stream class, or on a response or stream: the
same typed messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minicall import BaseTool, Message, llm
from minicall.providers import anthropic, openai

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value, _type):
        return value


def from_the_class(outputs: list[tuple[BaseTool, Any]]) -> None:
    assert_type(openai.OpenAICallResponse.tool_message_params(outputs), list[openai.OpenAIMessageParam])
    assert_type(anthropic.AnthropicCallResponse.tool_message_params(outputs), list[anthropic.MessageParam])
    assert_type(llm.CallResponse.tool_message_params(outputs), list[Message])


def from_a_response(response: openai.OpenAICallResponse, neutral: llm.CallResponse) -> None:
    if response.tool is not None:
        outputs = [(response.tool, response.tool.call())]
        history: list[openai.OpenAIMessageParam] = [response.message_param]
        history += response.tool_message_params(outputs)
        history += openai.OpenAICallResponse.tool_message_params(outputs)
    if neutral.tool is not None:
        messages: list[Message] = llm.CallResponse.tool_message_params([(neutral.tool, "done")])
        messages += neutral.tool_message_params([(neutral.tool, {"ok": True})])


def from_a_stream_class(outputs: list[tuple[BaseTool, Any]]) -> None:
    assert_type(llm.Stream.tool_message_params(outputs), list[Message])
    assert_type(llm.AsyncStream.tool_message_params(outputs), list[Message])
    assert_type(anthropic.AnthropicStream.tool_message_params(outputs), list[anthropic.MessageParam])
    assert_type(openai.OpenAIAsyncStream.tool_message_params(outputs), list[openai.OpenAIMessageParam])


def from_a_stream(stream: anthropic.AnthropicStream, neutral: llm.Stream) -> None:
    for _, tool in stream:
        if tool is not None:
            history: list[anthropic.MessageParam] = [stream.message_param]
            history += stream.tool_message_params([(tool, tool.call())])
            history += anthropic.AnthropicCallResponse.tool_message_params([(tool, {"ok": True})])
    for _, tool in neutral:
        if tool is not None:
            messages: list[Message] = neutral.tool_message_params([(tool, "done")])
            messages += llm.CallResponse.tool_message_params([(tool, "done")])

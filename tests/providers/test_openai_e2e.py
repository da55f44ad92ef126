"""The foundation, end to end: OpenAI calls over real loopback HTTP through FakeServer."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from shared import ERROR_STATUSES, Book

import minicall
from minicall import BaseDynamicConfig, Messages, llm, prompt_template
from minicall.providers import openai
from minicall.testing import ErrorReply, FakeServer, Reply, ToolCallReply


def test_str_prompt_becomes_one_user_message_and_content_comes_back(fake):
    client = fake.client("openai")

    @llm.call(provider="openai", model="gpt-4o-mini", client=client)
    def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    fake.script(Reply(text="Try The Hobbit.", input_tokens=12, output_tokens=4, cached_tokens=2))
    response = recommend_book("fantasy")
    assert isinstance(response, llm.CallResponse)
    assert response.content == "Try The Hobbit."
    assert str(response) == "Try The Hobbit."
    assert response.provider == "openai"
    assert response.model == "gpt-4o-mini"
    assert response.id and response.id.startswith("chatcmpl")
    assert response.finish_reasons == ["stop"]
    assert response.usage == minicall.Usage(12, 4, 2, 16)
    assert (response.input_tokens, response.output_tokens, response.cached_tokens) == (12, 4, 2)
    # gpt-4o-mini: 0.15 in, 0.075 cached, 0.60 out per million
    assert response.cost == pytest.approx((10 * 0.15 + 2 * 0.075 + 4 * 0.60) / 1e6)
    assert response.fn_args == {"genre": "fantasy"}
    assert response.messages == [Messages.User("Recommend a fantasy book")]
    assert response.user_message_param == Messages.User("Recommend a fantasy book")
    assert response.message_param == Messages.Assistant([minicall.TextPart("Try The Hobbit.")])
    assert response.response["object"] == "chat.completion"
    assert response.start_time <= response.end_time
    assert response.metadata == {} and response.dynamic_config is None
    sent = fake.last
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.json == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Recommend a fantasy book"}]}
    assert response.call_kwargs == sent.json


def test_provider_module_speaks_native_messages(fake):
    @openai.call("gpt-4o-mini", client=fake.client("openai"))
    def recommend_book(genre: str) -> openai.OpenAIDynamicConfig:
        return {"messages": [{"role": "user", "content": f"Recommend a {genre} book"}]}

    response = recommend_book("fantasy")
    assert isinstance(response, openai.OpenAICallResponse)
    assert response.content == "echo: Recommend a fantasy book"
    assert response.message_param == {"role": "assistant", "content": "echo: Recommend a fantasy book"}
    assert response.messages == [{"role": "user", "content": "Recommend a fantasy book"}]
    assert response.response["choices"][0]["message"]["content"] == response.content


def test_message_param_appended_to_history_makes_a_valid_next_request(fake):
    client = fake.client("openai")

    @openai.call("gpt-4o-mini", client=client)
    def chat(history: list[Any], question: str) -> openai.OpenAIDynamicConfig:
        return {"messages": [*history, {"role": "user", "content": question}]}

    first = chat([], "hi")
    second = chat([first.user_message_param, first.message_param], "and then?")
    assert second.content == "echo: and then?"
    assert fake.last.json["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "echo: hi"},
        {"role": "user", "content": "and then?"},
    ]


def test_list_of_messages_with_system_and_history(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    def chat(question: str) -> list[minicall.Message]:
        return [
            Messages.System("Be brief."),
            Messages.User("Hello"),
            Messages.Assistant("Hi!"),
            Messages.User(question),
        ]

    chat("What is 2+2?")
    assert fake.last.json["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi!"},
        {"role": "user", "content": "What is 2+2?"},
    ]


def test_prompt_template_with_computed_fields_and_metadata(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    @prompt_template(
        """
        SYSTEM: You are a librarian who likes {topic}.
        USER: Recommend {count} {genre} books:
        {examples:list}
        """
    )
    def recommend(genre: str, examples: list[str]) -> BaseDynamicConfig:
        return {"computed_fields": {"topic": "maps", "count": len(examples)}, "metadata": {"tags": ["demo"]}}

    response = recommend("fantasy", ["Dune", "Emma"])
    assert fake.last.json["messages"] == [
        {"role": "system", "content": "You are a librarian who likes maps."},
        {"role": "user", "content": "Recommend 2 fantasy books:\nDune\nEmma"},
    ]
    assert response.prompt_template is not None and "SYSTEM:" in response.prompt_template
    assert response.metadata == {"tags": ["demo"]}
    assert response.dynamic_config is not None and "computed_fields" in response.dynamic_config


def test_call_params_merge_decorator_override_dynamic_key_by_key(fake):
    client = fake.client("openai")

    @llm.call(provider="openai", model="gpt-4o-mini", client=client, call_params={"temperature": 0.1, "seed": 1})
    def ask(q: str) -> BaseDynamicConfig:
        return {"messages": [Messages.User(q)], "call_params": {"seed": 3}}

    overridden = llm.override(ask, call_params={"temperature": 0.5, "top_p": 0.9})
    response = overridden("x")
    assert fake.last.json["temperature"] == 0.5
    assert fake.last.json["top_p"] == 0.9
    assert fake.last.json["seed"] == 3
    assert response.call_params == {"temperature": 0.5, "seed": 3, "top_p": 0.9}


def test_dynamic_client_serves_one_call_only(fake):
    with FakeServer() as other:
        default = fake.client("openai")
        dynamic = other.client("openai")
        use_dynamic = [True]

        @llm.call(provider="openai", model="gpt-4o-mini", client=default)
        def ask(q: str) -> BaseDynamicConfig:
            config: BaseDynamicConfig = {"messages": [Messages.User(q)]}
            if use_dynamic[0]:
                config["client"] = dynamic
            return config

        ask("one")
        use_dynamic[0] = False
        ask("two")
        assert [r.json["messages"][0]["content"] for r in other.requests] == ["one"]
        assert [r.json["messages"][0]["content"] for r in fake.requests] == ["two"]


def test_override_switches_model_and_provider_needs_model(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    def ask(q: str) -> str:
        return q

    llm.override(ask, model="gpt-4o")("hi")
    assert fake.last.json["model"] == "gpt-4o"
    with pytest.raises(ValueError, match="model"):
        llm.override(ask, provider="anthropic")


def test_unknown_provider_is_rejected_at_decoration_naming_known_ones():
    with pytest.raises(ValueError, match="openai.*bedrock"):
        llm.call(provider="nope", model="x")  # type: ignore[call-overload]


def test_missing_api_key_names_the_variable_before_any_io(fake, monkeypatch):

    @llm.call(provider="openai", model="gpt-4o-mini")
    def ask(q: str) -> str:
        return q

    with pytest.raises(minicall.ConfigurationError, match="OPENAI_API_KEY"):
        ask("hi")
    assert fake.requests == []


def test_env_client_reads_base_url_org_and_project(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url("openai"))
    monkeypatch.setenv("OPENAI_ORG_ID", "org-1")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-1")

    @llm.call(provider="openai", model="gpt-4o-mini")
    def ask(q: str) -> str:
        return q

    assert ask("hi").content == "echo: hi"
    headers = fake.last.headers
    assert headers["authorization"] == "Bearer sk-env"
    assert headers["openai-organization"] == "org-1"
    assert headers["openai-project"] == "proj-1"


def test_image_and_audio_inputs_become_openai_parts(fake):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 16

    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    def describe() -> list[minicall.Message]:
        return [
            Messages.User(
                [
                    minicall.TextPart("What is this?"),
                    minicall.ImagePart("image/png", image=png, detail="low"),
                    minicall.ImagePart("image/jpeg", url="https://example.com/a.jpg"),
                    minicall.AudioPart("audio/wav", b"RIFF0000WAVE"),
                ]
            )
        ]

    describe()
    parts = fake.last.json["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "What is this?"}
    assert parts[1] == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(png).decode(), "detail": "low"},
    }
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}
    assert parts[3] == {
        "type": "input_audio",
        "input_audio": {"data": base64.b64encode(b"RIFF0000WAVE").decode(), "format": "wav"},
    }


def test_audio_output_is_decoded_with_transcript(fake):
    @openai.call(
        "gpt-4o-audio-preview",
        client=fake.client("openai"),
        call_params={"audio": {"voice": "alloy", "format": "wav"}, "modalities": ["text", "audio"]},
    )
    def speak() -> str:
        return "Say hi"

    fake.script(Reply(audio=b"RIFFfakewav", audio_transcript="hi there"))
    response = speak()
    assert response.audio == b"RIFFfakewav"
    assert response.audio_transcript == "hi there"
    assert fake.last.json["modalities"] == ["text", "audio"]
    # The assistant turn references the audio by id, as the API requires in a history.
    assert "id" in response.message_param["audio"]


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        *ERROR_STATUSES,
        (503, minicall.InternalServerError),
    ],
)
def test_error_statuses_map_to_typed_errors_with_the_providers_message(fake, sleeps, status, error_type):
    client = fake.client("openai", max_retries=0)

    @llm.call(provider="openai", model="gpt-4o-mini", client=client)
    def ask() -> str:
        return "hi"

    fake.script(ErrorReply(status, message=f"scripted failure {status}"))
    with pytest.raises(error_type) as info:
        ask()
    err = info.value
    assert err.status_code == status
    assert err.message == f"scripted failure {status}"
    assert err.provider == "openai"
    assert err.request_id is not None
    assert isinstance(err.body, dict) and err.body["error"]["message"] == err.message
    assert "test-key" not in str(err) and "test-key" not in repr(err)
    assert sleeps == []


def test_retry_after_header_is_honoured_on_429(fake, sleeps):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    def ask() -> str:
        return "hi"

    fake.script(ErrorReply(429, message="slow down", headers={"retry-after": "3"}), Reply(text="ok"))
    assert ask().content == "ok"
    assert sleeps == [3.0]
    assert len(fake.requests) == 2


def test_retries_give_up_after_max_retries_with_attempt_count(fake, sleeps):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai", max_retries=2))
    def ask() -> str:
        return "hi"

    fake.script(*[ErrorReply(500, message="boom")] * 3)
    with pytest.raises(minicall.InternalServerError) as info:
        ask()
    assert info.value.attempts == 3
    assert len(sleeps) == 2 and all(0 < s <= 8 for s in sleeps)


def test_bad_request_is_not_retried(fake, sleeps):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    def ask() -> str:
        return "hi"

    fake.script(ErrorReply(400, message="bad"))
    with pytest.raises(minicall.BadRequestError):
        ask()
    assert len(fake.requests) == 1 and sleeps == []


def test_output_parser_result_is_returned(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), output_parser=lambda r: r.content.upper())
    def ask() -> str:
        return "hi"

    assert ask() == "ECHO: HI"


def test_prompt_returning_wrong_type_is_a_prompt_error(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    def ask() -> Any:
        return 42

    with pytest.raises(minicall.PromptError, match="returned int"):
        ask()
    assert fake.requests == []


def test_non_serialisable_call_param_is_a_prompt_error_before_io(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), call_params={"user": object()})
    def ask() -> str:
        return "hi"

    with pytest.raises(minicall.PromptError, match="JSON"):
        ask()
    assert fake.requests == []


def test_garbage_body_raises_response_format_error_with_snippet(fake):
    from minicall.testing import RawReply

    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    def ask() -> str:
        return "hi"

    fake.script(RawReply(200, {"content-type": "text/html"}, b"<html>proxy error</html>"))
    with pytest.raises(minicall.ResponseFormatError) as info:
        ask()
    assert "<html>proxy error" in str(info.value)


def test_tool_call_round_trip_sends_tool_results(fake):
    def get_weather(city: str) -> str:
        """Get the weather.

        Args:
            city: The city name.
        """
        return f"sunny in {city}"

    client = fake.client("openai")

    @openai.call("gpt-4o-mini", client=client, tools=[get_weather])
    def chat(history: list[Any]) -> openai.OpenAIDynamicConfig:
        return {"messages": [{"role": "user", "content": "weather in Paris?"}, *history]}

    fake.script(Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="call_1")]))
    response = chat([])
    tool = response.tool
    assert tool is not None and tool._name() == "get_weather"
    assert tool.args == {"city": "Paris"} and tool.id == "call_1"
    assert response.finish_reasons == ["tool_calls"]
    sent_tools = fake.last.json["tools"]
    assert sent_tools[0]["function"]["name"] == "get_weather"
    assert sent_tools[0]["function"]["parameters"]["properties"]["city"]["description"] == "The city name."
    history = [response.message_param, *response.tool_message_params([(tool, tool.call())])]
    chat(history)
    assert fake.last.json["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny in Paris"},
    ]


def test_response_model_uses_a_forced_tool_and_validates(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), response_model=Book)
    def extract(text: str) -> str:
        return f"Extract the book: {text}"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    book = extract("Dune, 1965")
    assert book == Book("Dune", 1965)
    assert fake.last.json["tool_choice"] == "required"
    assert fake.last.json["tools"][0]["function"]["name"] == "Book"


def test_response_model_with_json_mode_uses_strict_json_schema(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), response_model=Book, json_mode=True)
    def extract(text: str) -> str:
        return f"Extract the book: {text}"

    fake.script(Reply(text=json.dumps({"title": "Dune", "year": 1965})))
    assert extract("Dune") == Book("Dune", 1965)
    fmt = fake.last.json["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False


def test_invalid_response_model_reply_raises_validation_error_with_path_and_response(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), response_model=Book, json_mode=True)
    def extract() -> str:
        return "x"

    fake.script(Reply(text=json.dumps({"title": "Dune", "year": "1965"})))
    with pytest.raises(minicall.ValidationError) as info:
        extract()
    assert any("year" in e for e in info.value.errors)
    assert info.value.response is not None and info.value.response.provider == "openai"


def test_json_mode_asks_for_json_object(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), json_mode=True)
    def ask() -> str:
        return "Give me JSON"

    fake.script(Reply(text='{"a": 1}'))
    assert json.loads(ask().content) == {"a": 1}
    assert fake.last.json["response_format"] == {"type": "json_object"}


def test_stream_concatenates_to_the_same_content_and_usage(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), stream=True)
    def tell() -> str:
        return "story"

    fake.script(Reply(text="Once upon a time there was a fox.", input_tokens=3, output_tokens=8))
    stream = tell()
    assert fake.requests == []  # lazy: nothing sent before iteration
    pieces = [chunk.content for chunk, tool in stream if tool is None]
    assert len([p for p in pieces if p]) > 1
    assert "".join(pieces) == "Once upon a time there was a fox."
    assert stream.content == "Once upon a time there was a fox."
    assert stream.usage == minicall.Usage(3, 8, 0, 11)
    assert stream.finish_reasons == ["stop"]
    assert fake.last.json["stream"] is True
    assert fake.last.json["stream_options"] == {"include_usage": True}
    final = stream.construct_call_response()
    assert final.content == stream.content and final.usage == stream.usage
    assert stream.cost == final.cost and stream.cost is not None


def test_stream_tool_calls_are_assembled_from_pieces(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), stream=True, tools=[Book])
    def ask() -> str:
        return "x"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965}), ToolCallReply("Book", {"title": "Emma", "year": 1815})]))
    tools = [tool for _, tool in ask() if tool is not None]
    assert [t.args for t in tools] == [{"title": "Dune", "year": 1965}, {"title": "Emma", "year": 1815}]


def test_stream_dropped_midway_keeps_partial_content(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="one two three four five six", drop_after_events=4))
    stream = tell()
    seen = []
    with pytest.raises(minicall.MinicallError) as info:
        for chunk, _ in stream:
            seen.append(chunk.content)
    assert info.value.partial == "".join(seen)
    assert stream.content == info.value.partial
    assert info.value.partial.startswith("one")


def test_stream_error_event_raises_api_error_with_partial(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="alpha beta gamma delta", stream_error_after=3, stream_error_message="overloaded"))
    with pytest.raises(minicall.APIError, match="overloaded") as info:
        for _ in tell():
            pass
    assert info.value.partial


def test_streamed_response_model_yields_partials_then_the_validated_value(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), stream=True, response_model=Book)
    def extract() -> str:
        return "x"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    values = list(extract())
    assert values[-1] == Book("Dune", 1965)
    assert len(values) >= 2


def test_async_call_and_async_stream(fake):
    import asyncio

    client = fake.client("openai")

    @llm.call(provider="openai", model="gpt-4o-mini", client=client)
    async def ask(q: str) -> str:
        return q

    @llm.call(provider="openai", model="gpt-4o-mini", client=client, stream=True)
    async def tell(q: str) -> str:
        return q

    async def main() -> tuple[str, str]:
        response = await ask("hello")
        stream = await tell("a b c")
        text = "".join([chunk.content async for chunk, _ in stream])
        return response.content, text

    assert asyncio.run(main()) == ("echo: hello", "echo: a b c")


def test_first_chunk_arrives_before_the_server_sends_the_rest(fake):
    import threading

    gate = threading.Event()

    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="alpha beta gamma", gate=gate))
    iterator = iter(tell())
    first, _ = next(iterator)  # would block forever if the body were buffered whole
    gate.set()
    rest = "".join(chunk.content for chunk, _ in iterator)
    assert first.content + rest == "alpha beta gamma"


def test_idle_stream_times_out_with_partial_content(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai", timeout=0.3), stream=True)
    def tell() -> str:
        return "x"

    fake.script(Reply(text="alpha beta gamma", chunk_delay=3))
    stream = tell()
    seen: list[str] = []
    with pytest.raises(minicall.APITimeoutError) as info:
        for chunk, _ in stream:
            seen.append(chunk.content)
    assert info.value.partial == "".join(seen) == stream.content
    assert len(fake.requests) == 1  # a started stream is never retried


def test_stream_cli_prints_tokens(fake, monkeypatch, capsys):
    from minicall.__main__ import main

    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url("openai"))
    assert main(["call", "--provider", "openai", "--model", "gpt-4o-mini", "--stream", "--system", "Be brief.", "hello there"]) == 0
    assert capsys.readouterr().out == "echo: hello there\n"
    assert fake.last.json["messages"][0] == {"role": "system", "content": "Be brief."}
    assert main(["call", "--provider", "openai", "--model", "gpt-4o-mini", "--json", "hi"]) == 0
    assert fake.last.json["response_format"] == {"type": "json_object"}
    out = capsys.readouterr()
    assert "sk-cli" not in out.out + out.err


def test_a_tool_call_cut_short_keeps_the_reply_and_fails_only_when_the_tool_is_built(fake):
    from minicall.testing import RawReply

    def get_weather(city: str) -> str:
        """Weather."""
        return city

    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"), tools=[get_weather])
    def ask() -> str:
        return "weather?"

    cut = {"id": "c1", "model": "gpt-4o-mini", "usage": {"prompt_tokens": 3, "completion_tokens": 9, "total_tokens": 12},
           "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": None,
                        "tool_calls": [{"id": "call_1", "type": "function",
                                        "function": {"name": "get_weather", "arguments": '{"city": "Par'}}]}}]}
    fake.script(RawReply(200, {"content-type": "application/json"}, json.dumps(cut).encode()))
    response = ask()
    assert response.finish_reasons == ["length"]
    assert response.usage is not None and response.usage.output_tokens == 9
    with pytest.raises(minicall.ResponseFormatError, match="not a JSON object"):
        response.tool  # noqa: B018 - the property is what raises


def test_client_settings_changed_after_a_call_reach_the_next_request(fake):
    client = fake.client("openai")

    @openai.call("gpt-4o-mini", client=client)
    def ask() -> str:
        return "hi"

    ask()
    client.headers["X-Team"] = "blue"  # the headers dict itself
    other = FakeServer().start()
    try:
        client.base_url = other.base_url("openai")  # a new attribute value
        ask()
        assert other.last.headers["x-team"] == "blue"
        assert len(fake.requests) == 1
    finally:
        other.stop()

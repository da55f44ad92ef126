"""botocore (the official SDK) and minicall side by side against FakeServer.

Each minicall request body is replayed through botocore's ``converse`` /
``converse_stream``, which validates it against the bedrock-runtime service model
before sending; the two recorded requests must then agree on method, path (model id
encoding), signed header names, credential scope and the parsed JSON body. Each
signature is checked by the *other* implementation at the request's own timestamp.
The same scripted replies must parse to the same content, usage, stop reason and
tool arguments in both.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
from typing import Any

import pytest
from shared import Book, get_weather

botocore = pytest.importorskip("botocore")
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.session import Session

import minicall
from minicall import ImagePart, Messages, TextPart, llm
from minicall._auth.sigv4 import AwsCredentials, sign
from minicall._model.http import HttpRequest
from minicall.providers import bedrock
from minicall.testing import ErrorReply, Reply, ToolCallReply

pytestmark = pytest.mark.conformance

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
AKID = "AKIDFAKESERVER"
SECRET = "fake-secret-key"
REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _no_aws_environment(monkeypatch, tmp_path):
    for name in (
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        "AWS_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))


@pytest.fixture()
def sdk(fake):
    client = Session().create_client(
        "bedrock-runtime",
        region_name=REGION,
        endpoint_url=fake.base_url("bedrock"),
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"max_attempts": 0, "mode": "standard"}),
    )
    yield client
    client.close()


# -- helpers ---------------------------------------------------------------------------


def signed_names(recorded: Any) -> list[str]:
    auth = recorded.headers["authorization"]
    return auth.split("SignedHeaders=")[1].split(",")[0].split(";")


def scope(recorded: Any) -> str:
    credential = recorded.headers["authorization"].split("Credential=")[1].split(",")[0]
    return credential.split("/", 2)[2]  # date/region/service/aws4_request, minus the key id


def botocore_signature(recorded: Any) -> str:
    """What botocore's SigV4Auth computes for the recorded request at its own timestamp."""
    headers = {n: recorded.headers[n] for n in signed_names(recorded)}
    url = f"http://{recorded.headers['host']}{recorded.raw_path}"
    request = AWSRequest(method=recorded.method, url=url, data=recorded.body, headers=headers)
    request.context["timestamp"] = recorded.headers["x-amz-date"]
    auth = SigV4Auth(Credentials(AKID, SECRET), "bedrock", REGION)
    return auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)


def minicall_signature(recorded: Any) -> str:
    """What minicall's signer computes for the recorded request at its own timestamp."""
    headers = {n: recorded.headers[n] for n in signed_names(recorded) if n != "host"}
    url = f"http://{recorded.headers['host']}{recorded.raw_path}"
    now = datetime.datetime.strptime(recorded.headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    signed = sign(
        HttpRequest(recorded.method, url, headers, recorded.body),
        AwsCredentials(AKID, SECRET),
        region=REGION,
        service="bedrock",
        now=now,
    )
    return signed.headers["Authorization"].rsplit("Signature=", 1)[1]


def as_sdk_params(body: dict[str, Any]) -> dict[str, Any]:
    """A wire body as botocore parameters: blobs go in as raw bytes, not base64."""
    params = copy.deepcopy(body)
    for message in params.get("messages", []):
        for block in message.get("content", []):
            for kind in ("image", "document", "audio"):
                source = block.get(kind, {}).get("source", {})
                if "bytes" in source:
                    source["bytes"] = base64.b64decode(source["bytes"])
    return params


def assert_same_request(ours: Any, theirs: Any) -> None:
    assert ours.method == theirs.method == "POST"
    assert ours.raw_path == theirs.raw_path
    assert signed_names(ours) == signed_names(theirs)
    assert scope(ours) == scope(theirs)
    assert (
        ours.headers["authorization"].split(" ")[0] == theirs.headers["authorization"].split(" ")[0]
    )
    assert ours.headers["content-type"] == theirs.headers["content-type"]
    assert ours.json == theirs.json
    # Each side's signature is what the other side computes for it.
    assert ours.headers["authorization"].endswith("Signature=" + botocore_signature(ours))
    assert theirs.headers["authorization"].endswith("Signature=" + minicall_signature(theirs))


def forecast(city: str, days: list[int]) -> str:
    """Forecast for some days ahead."""
    return f"{city}: {days}"


# -- requests ----------------------------------------------------------------------------


def test_text_call_matches_botocore_request(fake, sdk):
    @llm.call(
        provider="bedrock",
        model=MODEL,
        client=fake.client("bedrock", max_retries=0),
        call_params={
            "max_tokens": 64,
            "temperature": 0.3,
            "top_p": 0.9,
            "stop": ["END"],
            "top_k": 7,
        },
    )
    def ask() -> list[Any]:
        return [
            Messages.System("Be brief."),
            Messages.User("Hello"),
            Messages.Assistant("Hi!"),
            Messages.User("A book?"),
        ]

    ask()
    ours = fake.last
    sdk.converse(modelId=MODEL, **as_sdk_params(ours.json))
    theirs = fake.last
    assert_same_request(ours, theirs)
    assert theirs.json["inferenceConfig"] == {
        "maxTokens": 64,
        "temperature": 0.3,
        "topP": 0.9,
        "stopSequences": ["END"],
    }


def test_model_ids_with_colons_and_arns_encode_like_botocore(fake, sdk):
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-micro-v1:0"
    for model in ("us.amazon.nova-micro-v1:0", arn):

        @bedrock.call(model, client=fake.client("bedrock", max_retries=0))
        def ask() -> str:
            return "hi"

        ask()
        ours = fake.last
        sdk.converse(modelId=model, **as_sdk_params(ours.json))
        assert_same_request(ours, fake.last)


def test_tools_image_and_tool_results_match_botocore(fake, sdk):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(16))

    @bedrock.call(MODEL, client=fake.client("bedrock", max_retries=0), tools=[get_weather])
    def ask() -> bedrock.BedrockDynamicConfig:
        return {
            "messages": [
                Messages.User([TextPart("Weather here?"), ImagePart("image/png", image=png)]),
                {
                    "role": "assistant",
                    "content": [
                        {
                            "toolUse": {
                                "toolUseId": "tu_1",
                                "name": "get_weather",
                                "input": {"city": "Oslo"},
                            }
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "toolResult": {
                                "toolUseId": "tu_1",
                                "content": [{"text": "sunny"}],
                                "status": "success",
                            }
                        }
                    ],
                },
            ]
        }

    ask()
    ours = fake.last
    sdk.converse(modelId=MODEL, **as_sdk_params(ours.json))
    assert_same_request(ours, fake.last)
    assert ours.json["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"


def test_structured_output_forced_tool_matches_botocore(fake, sdk):
    @llm.call(
        provider="bedrock",
        model=MODEL,
        client=fake.client("bedrock", max_retries=0),
        response_model=Book,
    )
    def extract() -> str:
        return "Dune, 1965"

    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]))
    assert extract() == Book("Dune", 1965)
    ours = fake.last
    sdk.converse(modelId=MODEL, **as_sdk_params(ours.json))
    assert_same_request(ours, fake.last)
    assert fake.last.json["toolConfig"]["toolChoice"] == {"tool": {"name": "Book"}}


def test_stream_request_matches_botocore(fake, sdk):
    @bedrock.call(MODEL, client=fake.client("bedrock", max_retries=0), stream=True)
    def tell() -> str:
        return "story"

    for _ in tell():
        pass
    ours = fake.last
    response = sdk.converse_stream(modelId=MODEL, **as_sdk_params(ours.json))
    for _ in response["stream"]:
        pass
    assert_same_request(ours, fake.last)
    assert ours.route.endswith("/converse-stream")


# -- replies -----------------------------------------------------------------------------

REPLIES = [
    Reply(text="The Hobbit, by Tolkien.", input_tokens=11, output_tokens=6, cached_tokens=3),
    Reply(
        text="Let me check.",
        tool_calls=[
            ToolCallReply("forecast", {"city": "Paris", "days": [1, 2]}, id="tu_a"),
            ToolCallReply("get_weather", {"city": "Rome"}, id="tu_b"),
        ],
    ),
    Reply(text="cut", finish_reason="length"),
]


def sdk_view(
    output: dict[str, Any],
) -> tuple[str, list[tuple[str, str, Any]], str, tuple[int, int, int, int]]:
    content = output["output"]["message"]["content"]
    text = "".join(b.get("text", "") for b in content)
    tools = [
        (b["toolUse"]["toolUseId"], b["toolUse"]["name"], b["toolUse"]["input"])
        for b in content
        if "toolUse" in b
    ]
    u = output["usage"]
    cached = u.get("cacheReadInputTokens", 0)
    usage = (
        u["inputTokens"] + cached + u.get("cacheWriteInputTokens", 0),
        u["outputTokens"],
        cached,
        u["totalTokens"],
    )
    return text, tools, output["stopReason"], usage


def sdk_stream_view(
    events: Any,
) -> tuple[str, list[tuple[str, str, Any]], str, tuple[int, int, int, int]]:
    text, stop, usage = "", "", {}
    tools: dict[int, list[Any]] = {}
    for event in events:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            use = start["start"]["toolUse"]
            tools[start["contentBlockIndex"]] = [use["toolUseId"], use["name"], ""]
        elif "contentBlockDelta" in event:
            delta = event["contentBlockDelta"]["delta"]
            if "text" in delta:
                text += delta["text"]
            elif "toolUse" in delta:
                tools[event["contentBlockDelta"]["contentBlockIndex"]][2] += delta["toolUse"][
                    "input"
                ]
        elif "messageStop" in event:
            stop = event["messageStop"]["stopReason"]
        elif "metadata" in event:
            usage = event["metadata"]["usage"]
    whole = {
        "output": {
            "message": {
                "content": [{"text": text}]
                + [
                    {"toolUse": {"toolUseId": i, "name": n, "input": json.loads(a)}}
                    for i, n, a in tools.values()
                ]
            }
        },
        "stopReason": stop,
        "usage": usage,
    }
    return sdk_view(whole)


def minicall_view(
    response: Any,
) -> tuple[str, list[tuple[str, str, Any]], str, tuple[int, int, int, int]]:
    tools = [(t.id, t._name(), t.args) for t in response.tools or []]
    u = response.usage
    return (
        response.content,
        tools,
        response.finish_reasons[0],
        (u.input_tokens, u.output_tokens, u.cached_tokens, u.total_tokens),
    )


@pytest.mark.parametrize("reply", REPLIES, ids=["text", "tools", "length"])
def test_replies_parse_the_same_in_both(fake, sdk, reply):
    @bedrock.call(
        MODEL, client=fake.client("bedrock", max_retries=0), tools=[get_weather, forecast]
    )
    def ask() -> str:
        return "question"

    fake.script(reply, reply)
    ours = minicall_view(ask())
    theirs = sdk_view(sdk.converse(modelId=MODEL, **as_sdk_params(fake.last.json)))
    assert ours == theirs


@pytest.mark.parametrize("reply", REPLIES, ids=["text", "tools", "length"])
def test_streams_parse_the_same_in_both(fake, sdk, reply):
    @bedrock.call(
        MODEL,
        client=fake.client("bedrock", max_retries=0),
        tools=[get_weather, forecast],
        stream=True,
    )
    def ask() -> str:
        return "question"

    fake.script(reply, reply)
    stream = ask()
    for _ in stream:
        pass
    ours = minicall_view(stream.construct_call_response())
    response = sdk.converse_stream(modelId=MODEL, **as_sdk_params(fake.last.json))
    theirs = sdk_stream_view(response["stream"])
    assert ours == theirs


def test_stream_exception_frames_are_errors_in_both(fake, sdk):
    @bedrock.call(MODEL, client=fake.client("bedrock", max_retries=0), stream=True)
    def tell() -> str:
        return "x"

    broken = Reply(text="alpha beta gamma", stream_error_after=2, stream_error_message="overloaded")
    fake.script(broken, broken)
    with pytest.raises(minicall.InternalServerError, match="overloaded"):
        for _ in tell():
            pass
    response = sdk.converse_stream(modelId=MODEL, **as_sdk_params(fake.last.json))
    with pytest.raises(botocore.exceptions.EventStreamError, match="internalServerException"):
        for _ in response["stream"]:
            pass


def test_error_bodies_carry_the_same_code_and_message(fake, sdk):
    @bedrock.call(MODEL, client=fake.client("bedrock", max_retries=0))
    def ask() -> str:
        return "x"

    fake.script(ErrorReply(429, "Too many tokens"), ErrorReply(429, "Too many tokens"))
    with pytest.raises(minicall.RateLimitError) as ours:
        ask()
    with pytest.raises(botocore.exceptions.ClientError) as theirs:
        sdk.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert theirs.value.response["Error"] == {
        "Code": "ThrottlingException",
        "Message": ours.value.message,
    }
    assert theirs.value.response["ResponseMetadata"]["RequestId"] and ours.value.request_id

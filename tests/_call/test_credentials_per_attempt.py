"""Credentials are made for each attempt: a retry carries fresh ones.

A SigV4 signature is refused five minutes after its X-Amz-Date and a Vertex token
expires, and with the default 15-minute deadline a retry can come later than that.
"""

from __future__ import annotations

import pytest
from shared import run

from minicall import HttpRequest, llm
from minicall.providers.openai import OpenAIClient
from minicall.testing import ErrorReply, Reply


class CountingClient(OpenAIClient):
    """Numbers the credentials it makes, the way a signer dates each signature."""

    made = 0

    def authorize(self, request: HttpRequest) -> HttpRequest:
        type(self).made += 1
        return request.with_headers({**request.headers, "Authorization": f"Bearer sk-made-for-attempt-{type(self).made}"})


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("stream", [False, True])
def test_each_retry_sends_credentials_made_for_it(fake, sleeps, async_sleeps, mode, stream):
    CountingClient.made = 0
    client = CountingClient(base_url=fake.base_url("openai"), api_key="unused", max_retries=2)
    fake.script(ErrorReply(500, message="busy"), ErrorReply(503, message="busy"), Reply(text="ok"))

    @llm.call(provider="openai", model="gpt-4o-mini", client=client, stream=stream)
    def ask() -> str:
        return "hi"

    @llm.call(provider="openai", model="gpt-4o-mini", client=client, stream=stream)
    async def ask_async() -> str:
        return "hi"

    async def drain_async():
        result = await ask_async()
        if stream:
            return "".join([chunk.content async for chunk, _ in result])
        return result.content

    if mode == "sync":
        result = ask()
        text = "".join(chunk.content for chunk, _ in result) if stream else result.content
    else:
        text = run(drain_async)
    assert text == "ok"
    sent = [r.headers.get("authorization") for r in fake.requests]
    assert sent == [f"Bearer sk-made-for-attempt-{n}" for n in (1, 2, 3)]


def test_an_echo_of_a_retry_s_fresh_credentials_is_scrubbed_from_its_error(fake, sleeps):
    # The scrubber follows the credentials of the attempt that failed.
    CountingClient.made = 0
    client = CountingClient(base_url=fake.base_url("openai"), api_key="unused", max_retries=1)
    fake.script(ErrorReply(500, message="busy"), ErrorReply(400, message="you sent sk-made-for-attempt-2"))

    @llm.call(provider="openai", model="gpt-4o-mini", client=client)
    def ask() -> str:
        return "hi"

    with pytest.raises(Exception) as info:
        ask()
    assert "sk-made-for-attempt-2" not in str(info.value) and "[redacted]" in str(info.value)


def test_a_bedrock_retry_is_signed_again_at_its_own_time(fake, sleeps, monkeypatch):
    # SigV4: a signature is refused five minutes after its X-Amz-Date, so a retry made
    # six minutes after the first attempt must carry a new date and signature.
    import datetime as real

    import minicall.providers.bedrock as bedrock_module

    times = iter(real.datetime(2026, 12, 8, 12, 0, tzinfo=real.timezone.utc) + real.timedelta(minutes=6 * i) for i in range(10))

    class Clock(real.datetime):
        @classmethod
        def now(cls, tz=None):
            return next(times)

    monkeypatch.setattr(bedrock_module, "datetime", type(real)("clock"))
    bedrock_module.datetime.datetime = Clock
    bedrock_module.datetime.timezone = real.timezone
    fake.script(ErrorReply(500, message="busy"), Reply(text="ok"))
    client = fake.client("bedrock")
    client.max_retries = 1

    @llm.call(provider="bedrock", model="anthropic.claude-3-haiku-20240307-v1:0", client=client)
    def ask() -> str:
        return "hi"

    assert ask().content.endswith("ok")
    dates = [r.headers.get("x-amz-date") for r in fake.requests]
    signatures = [r.headers.get("authorization") for r in fake.requests]
    assert dates == ["20261208T120000Z", "20261208T120600Z"]
    assert signatures[0] != signatures[1]

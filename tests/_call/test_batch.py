"""minicall.batch end to end: every batching provider through FakeServer's batch engines.

Each test submits real items over loopback HTTP, lets the fake's batch run for its
scripted polls and reads the results back through the plain call's codec. What a
batch sends for an item is compared with what the plain call sends for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from typing import Any

import pytest
from shared import Book

import minicall
from minicall import batch, llm
from minicall.testing import ErrorReply, FakeServer, Reply, ToolCallReply
from minicall.testing._batch.openai import parse_multipart

# provider, model, client options
SETUPS = [
    ("openai", "gpt-4o-mini", {}),
    ("anthropic", "claude-3-5-haiku-latest", {}),
    ("google", "gemini-2.0-flash", {}),
    ("groq", "llama-3.1-8b-instant", {}),
    ("azure", "gpt-4o-mini", {"deployment_style": "openai"}),
    ("azure", "gpt-4o-mini", {"deployment_style": "v1"}),
    ("mistral", "mistral-small-latest", {}),
]
IDS = ["openai", "anthropic", "google", "groq", "azure-openai", "azure-v1", "mistral"]


@pytest.fixture(params=SETUPS, ids=IDS)
def setup(request: pytest.FixtureRequest, fake: FakeServer) -> tuple[str, str, Any]:
    provider, model, options = request.param
    return provider, model, fake.client(provider, max_retries=0, **options)


def recommender(provider: str, model: str, client: Any, **settings: Any) -> Any:
    @llm.call(provider=provider, model=model, client=client, **settings)
    def recommend_book(genre: str, audience: str = "adults") -> str:
        return f"Recommend a {genre} book for {audience}"

    return recommend_book


def item_bodies(fake: FakeServer, provider: str) -> list[Any]:
    """The request body of each item of the batch the fake received, in order."""
    if provider in ("openai", "groq", "azure", "mistral"):
        upload = next(r for r in fake.requests if r.route.endswith("/files") and r.method == "POST")
        _, content = parse_multipart(upload.body, upload.headers["content-type"])["file"]
        return [json.loads(line)["body"] for line in content.splitlines()]
    create = next(r for r in fake.requests if r.method == "POST" and r.json is not None)
    if provider == "anthropic":
        return [entry["params"] for entry in create.json["requests"]]
    return [entry["request"] for entry in create.json["batch"]["inputConfig"]["requests"]["requests"]]


# -- the round trip -----------------------------------------------------------------


def test_results_come_back_in_input_order_with_errors_in_their_slots(setup, fake):
    provider, model, client = setup
    fn = recommender(provider, model, client)
    fake.script(Reply(text="Dune"), ErrorReply(400, "this item is bad"), provider=provider)
    job = batch.submit(fn, [{"genre": "fantasy"}, ("horror",), ("poetry", "children")])
    assert job.id and job.last_status is not None and job.last_status.state in ("pending", "running")
    results = job.wait(poll_interval=0)
    assert [type(r) for r in results] == [llm.CallResponse, minicall.BadRequestError, llm.CallResponse]
    assert results[0].content == "Dune"
    assert results[0].fn_args == {"genre": "fantasy", "audience": "adults"}
    assert "this item is bad" in str(results[1]) and results[1].status_code == 400
    assert results[1].provider == provider
    assert results[2].content == "echo: Recommend a poetry book for children"
    assert results[2].messages[-1].content == "Recommend a poetry book for children"
    status = job.last_status
    assert status.state == "ended" and status.done
    assert (status.total, status.succeeded, status.failed) == (3, 2, 1)


def test_each_item_is_exactly_the_request_the_plain_call_sends(setup, fake):
    provider, model, client = setup

    @llm.call(provider=provider, model=model, client=client, tools=[lambda_tool],
              call_params={"temperature": 0.25, "max_tokens": 50})
    def ask(city: str) -> minicall.BaseDynamicConfig:
        return {"messages": [minicall.Message(role="system", content="Be brief."),
                             minicall.Message(role="user", content=f"Weather in {city}?")],
                "call_params": {"temperature": 0.5}}

    ask("Paris")
    ask("Rome")
    plain = [r.json for r in fake.requests]
    fake.reset()
    batch.submit(ask, [("Paris",), {"city": "Rome"}])
    assert item_bodies(fake, provider) == plain


def lambda_tool(city: str) -> str:
    """Look the weather up.

    Args:
        city: The city.
    """
    return city


def test_cost_is_the_batch_price(setup, fake):
    provider, model, client = setup
    fn = recommender(provider, model, client)
    fake.script(Reply(text="plain answer", input_tokens=1000, output_tokens=500), provider=provider)
    plain = fn("fantasy")
    fake.script(Reply(text="plain answer", input_tokens=1000, output_tokens=500), provider=provider)
    [batched] = batch.submit(fn, [("fantasy",)]).wait(poll_interval=0)
    assert plain.cost is not None and plain.cost > 0
    assert batched.cost == pytest.approx(plain.cost / 2)
    assert batched.usage == plain.usage


def test_a_price_table_batch_price_wins_over_half(fake, tmp_path, monkeypatch):
    from minicall._call import pricing

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"openai": {"batchy-model": {
        "input": 1.0, "output": 2.0, "batch_input": 0.1, "batch_output": 0.3}}}))
    monkeypatch.setenv("MINICALL_PRICES", str(prices))
    monkeypatch.setattr(pricing, "_table_cache", None)
    fn = recommender("openai", "batchy-model", fake.client("openai", max_retries=0))
    fake.script(Reply(text="x", input_tokens=1_000_000, output_tokens=1_000_000), provider="openai")
    [result] = batch.submit(fn, [("x",)]).wait(poll_interval=0)
    assert result.cost == pytest.approx(0.1 + 0.3)
    monkeypatch.setattr(pricing, "_table_cache", None)


def test_response_model_is_applied_per_item(setup, fake):
    provider, model, client = setup
    fn = recommender(provider, model, client, response_model=Book)
    fake.script(
        Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]),
        Reply(tool_calls=[ToolCallReply("Book", {"title": "It", "year": "not a year"})]),
        provider=provider,
    )
    results = batch.submit(fn, [("sf",), ("horror",)]).wait(poll_interval=0)
    assert results[0] == Book("Dune", 1965)
    assert isinstance(results[1], minicall.ValidationError)
    assert "year" in str(results[1])


def test_output_parser_is_applied_per_item(fake):
    fn = recommender("anthropic", "claude-3-5-haiku-latest", fake.client("anthropic"),
                     output_parser=lambda r: r.content.upper())
    fake.script(Reply(text="one"), Reply(text="two"), provider="anthropic")
    assert batch.submit(fn, [("a",), ("b",)]).wait(poll_interval=0) == ["ONE", "TWO"]


def test_provider_response_types_come_from_the_provider_decorator(fake):
    from minicall.providers import anthropic

    @anthropic.call("claude-3-5-haiku-latest", client=fake.client("anthropic"))
    def hello(name: str) -> str:
        return f"Hello {name}"

    [result] = batch.submit(hello, [("Ada",)]).wait(poll_interval=0)
    assert isinstance(result, anthropic.AnthropicCallResponse)
    assert result.content == "echo: Hello Ada"


# -- polling, progress, timeouts ---------------------------------------------------------


def test_progress_is_reported_to_the_callback_and_the_log(fake, caplog):
    fn = recommender("openai", "gpt-4o-mini", fake.client("openai"))
    fake.script_batch(polls=3)
    seen: list[Any] = []
    job = batch.submit(fn, [("a",), ("b",)])
    with caplog.at_level(logging.INFO, logger="minicall"):
        job.wait(poll_interval=0, on_progress=seen.append)
    assert [s.state for s in seen] == ["running", "running", "running", "ended"]
    assert all(isinstance(s, batch.BatchStatus) for s in seen)
    assert seen[-1].raw["status"] == "completed"
    lines = [r.getMessage() for r in caplog.records if r.name == "minicall" and r.levelno == logging.INFO]
    assert len(lines) == 4 and job.id in lines[-1] and "2 of 2 finished" in lines[-1]


def test_a_status_is_frozen(fake):
    job = batch.submit(recommender("openai", "gpt-4o-mini", fake.client("openai")), [("a",)])
    status = job.status()
    with pytest.raises(AttributeError):
        status.state = "ended"  # type: ignore[misc]
    assert status.state in batch.BATCH_STATES


def test_wait_past_its_timeout_raises_and_leaves_the_batch_running(fake):
    fn = recommender("anthropic", "claude-3-5-haiku-latest", fake.client("anthropic"))
    fake.script_batch(polls=2)
    items = [("a",), ("b",)]
    job = batch.submit(fn, items)
    with pytest.raises(minicall.APITimeoutError, match="keeps running"):
        job.wait(poll_interval=0, timeout=0)
    assert job.last_status.state == "running"
    later = batch.resume(fn, job.id, items)
    results = later.wait(poll_interval=0)
    assert [r.content for r in results] == ["echo: Recommend a a book for adults", "echo: Recommend a b book for adults"]
    assert results[0].fn_args == {"genre": "a", "audience": "adults"}


def test_resume_without_items_decodes_from_the_decorator(setup, fake):
    provider, model, client = setup
    fn = recommender(provider, model, client, response_model=Book)
    fake.script(Reply(tool_calls=[ToolCallReply("Book", {"title": "Dune", "year": 1965})]), provider=provider)
    job = batch.submit(fn, [("sf",)])
    assert batch.resume(fn, job.id).wait(poll_interval=0) == [Book("Dune", 1965)]


def test_resume_without_items_reads_the_requests_back_where_the_provider_keeps_them(setup, fake):
    provider, model, client = setup
    fn = recommender(provider, model, client, call_params={"temperature": 0.5})
    fake.script(Reply(text="Dune"), ErrorReply(400, "bad"), provider=provider)
    job = batch.submit(fn, [("sf",), ("horror",), {"genre": "poetry", "audience": "children"}])
    sent = item_bodies(fake, provider)
    results = batch.resume(fn, job.id).wait(poll_interval=0)
    assert [r.content for r in (results[0], results[2])] == ["Dune", "echo: Recommend a poetry book for children"]
    assert isinstance(results[1], minicall.BadRequestError)
    assert all(r.fn_args == {} for r in (results[0], results[2]))  # no request holds the arguments
    if provider in ("openai", "groq", "azure", "mistral"):  # the input file is read back
        assert [r.call_kwargs for r in (results[0], results[2])] == [sent[0], sent[2]]
        assert results[2].messages == sent[2]["messages"]
        assert results[2].user_message_param == {"role": "user", "content": "Recommend a poetry book for children"}
    else:  # Anthropic and Gemini keep no copy of the requests
        assert results[0].messages == [] and results[2].messages == []


def test_a_resumed_job_whose_input_file_is_gone_still_gives_its_results(fake, caplog):
    fn = recommender("openai", "gpt-4o-mini", fake.client("openai", max_retries=0))
    job = batch.submit(fn, [("sf",)])
    input_file = job.last_status.raw["input_file_id"]
    del fake._batch_state().files[input_file]  # the user deleted it
    with caplog.at_level(logging.WARNING, logger="minicall"):
        [result] = batch.resume(fn, job.id).wait(poll_interval=0)
    assert result.content == "echo: Recommend a sf book for adults" and result.messages == []
    assert any("could not be read back" in r.getMessage() for r in caplog.records)


def test_cancel_ends_the_batch_cancelled_with_each_item_in_error(setup, fake):
    provider, model, client = setup
    fn = recommender(provider, model, client)
    fake.script_batch(polls=5)
    job = batch.submit(fn, [("a",), ("b",)])
    job.cancel()
    results = job.wait(poll_interval=0)
    assert job.last_status.state == "cancelled"
    assert all(isinstance(r, minicall.APIError) for r in results)
    assert all("cancel" in str(r) for r in results)


def test_an_expired_batch_gives_an_error_per_item(setup, fake):
    provider, model, client = setup
    fake.script_batch(polls=0, outcome="expired")
    results = batch.submit(recommender(provider, model, client), [("a",), ("b",)]).wait(poll_interval=0)
    assert len(results) == 2 and all(isinstance(r, minicall.APIError) for r in results)
    assert all("expire" in str(r) for r in results)


@pytest.mark.parametrize("provider,model", [("openai", "gpt-4o-mini"), ("google", "gemini-2.0-flash")])
def test_a_failed_batch_raises_with_the_providers_reason(fake, provider, model):
    fake.script_batch(polls=0, outcome="failed", error="input file is malformed")
    job = batch.submit(recommender(provider, model, fake.client(provider)), [("a",)])
    with pytest.raises(minicall.APIError, match="input file is malformed"):
        job.wait(poll_interval=0)
    assert job.last_status.state == "failed"


def test_anthropic_refuses_a_failed_batch_at_creation(fake):
    fake.script_batch(outcome="failed", error="requests.0.params.max_tokens: Field required")
    fn = recommender("anthropic", "claude-3-5-haiku-latest", fake.client("anthropic", max_retries=0))
    with pytest.raises(minicall.BadRequestError, match="max_tokens"):
        batch.submit(fn, [("a",)])


def test_results_before_the_batch_is_done_are_refused(fake):
    fake.script_batch(polls=3)
    job = batch.submit(recommender("openai", "gpt-4o-mini", fake.client("openai")), [("a",)])
    with pytest.raises(minicall.ConfigurationError, match="not done"):
        job.results()


def test_an_unknown_batch_id_is_a_not_found_error(fake):
    fn = recommender("openai", "gpt-4o-mini", fake.client("openai", max_retries=0))
    with pytest.raises(minicall.NotFoundError):
        batch.resume(fn, "batch_nope").status()


# -- results files ------------------------------------------------------------------------

JSONL_SETUPS = [("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-haiku-latest"), ("mistral", "mistral-small-latest")]


class CappedTransport:
    """The default transports with a small body cap, sync and async."""

    def __init__(self, cap: int) -> None:
        from minicall._http._async import AsyncioTransport
        from minicall._http._sync import SyncTransport

        self.sync = SyncTransport(max_body_bytes=cap)
        self.aio = AsyncioTransport(max_body_bytes=cap)

    def send(self, request: Any, *, stream: bool = False) -> Any:
        return self.sync.send(request, stream=stream)

    async def send_async(self, request: Any, *, stream: bool = False) -> Any:
        return await self.aio.send_async(request, stream=stream)


@pytest.mark.parametrize("provider,model", JSONL_SETUPS)
def test_a_results_file_larger_than_any_reply_is_read_line_by_line(fake, provider, model):
    cap = 32 * 1024
    fn = recommender(provider, model, fake.client(provider, max_retries=0, transport=CappedTransport(cap)))
    fake.script(Reply(text="x" * (cap + 1)), provider=provider)
    with pytest.raises(minicall.ResponseFormatError, match="larger than"):
        fn("too big for a plain reply")
    count = 400
    fake.script(*[Reply(text=f"answer {n} " + "y" * 200) for n in range(count)], provider=provider)
    items = [(f"genre {n}",) for n in range(count)]
    job = batch.submit(fn, items)
    results = job.wait(poll_interval=0)
    assert [r.content for r in results] == [f"answer {n} " + "y" * 200 for n in range(count)]
    assert results[123].fn_args == {"genre": "genre 123", "audience": "adults"}
    downloads = [r for r in fake.requests if r.method == "GET" and r.route.endswith(("/content", "/results"))]
    assert downloads  # the file went over the wire, larger than the cap
    assert sum(len(json.dumps(r.content)) for r in results) > cap

    async def again() -> list[Any]:
        return await batch.resume(fn, job.id, items).wait_async(poll_interval=0)

    assert [r.content for r in asyncio.run(again())] == [r.content for r in results]


@pytest.mark.parametrize("provider,model", JSONL_SETUPS)
def test_unreadable_results_lines_are_errors_in_slots_not_a_crash(fake, provider, model):
    bad_line = (
        '{"custom_id":"1","response":{"status_code":"oops"}}' if provider in ("openai", "mistral")
        else '{"custom_id":"1","result":{"type":"succeeded","message":7}}'
    )
    fake.script_batch(garbage=["not json at all", "[1, 2]", bad_line, ""])
    fake.script(Reply(text="zero"), Reply(text="one"), Reply(text="two"), provider=provider)
    fn = recommender(provider, model, fake.client(provider))
    results = batch.submit(fn, [("a",), ("b",), ("c",)]).wait(poll_interval=0)
    assert [r.content for r in (results[0], results[2])] == ["zero", "two"]
    assert isinstance(results[1], minicall.ResponseFormatError)
    assert "line 3" in str(results[1]) and results[1].provider == provider


def test_an_item_without_a_result_names_the_unreadable_lines(fake):
    fake.script_batch(garbage=["{broken", '{"no_custom_id": 1}'])
    fn = recommender("openai", "gpt-4o-mini", fake.client("openai"))
    job = batch.submit(fn, [("a",)])
    job.wait(poll_interval=0)
    # Resumed with one item more than it ran: that item's result is nowhere.
    later = batch.resume(fn, job.id, [("a",), ("b",)])
    later.status()
    first, second = later.results()
    assert first.content == "echo: Recommend a a book for adults"
    assert isinstance(second, minicall.ResponseFormatError)
    assert "2 line(s)" in str(second) and "output file line 1" in str(second) and "no custom_id" in str(second)


# -- async ------------------------------------------------------------------------------


def test_async_submit_and_wait_with_an_async_prompt_function(setup, fake):
    provider, model, client = setup

    @llm.call(provider=provider, model=model, client=client)
    async def recommend(genre: str) -> str:
        await asyncio.sleep(0)
        return f"Recommend a {genre} book"

    seen: list[str] = []

    async def progress(status: batch.BatchStatus) -> None:
        seen.append(status.state)

    async def main() -> list[Any]:
        job = await batch.submit_async(recommend, [("fantasy",), {"genre": "horror"}])
        await job.status_async()
        return await job.wait_async(poll_interval=0, on_progress=progress)

    fake.script(Reply(text="Dune"), provider=provider)
    results = asyncio.run(main())
    assert [r.content for r in results] == ["Dune", "echo: Recommend a horror book"]
    assert results[1].fn_args == {"genre": "horror"}
    assert seen[-1] == "ended"


def test_async_cancel(fake):
    fn = recommender("google", "gemini-2.0-flash", fake.client("google"))
    fake.script_batch(polls=5)

    async def main() -> str:
        job = await batch.submit_async(fn, [("a",)])
        await job.cancel_async()
        return (await job.status_async()).state

    assert asyncio.run(main()) == "cancelled"


def test_an_async_function_needs_the_async_api(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    async def recommend(genre: str) -> str:
        return genre

    with pytest.raises(minicall.ConfigurationError, match="submit_async"):
        batch.submit(recommend, [("a",)])
    job = asyncio.run(batch.submit_async(recommend, [("a",)]))
    resumed = batch.resume(recommend, job.id, [("a",)])
    resumed.status()
    resumed.status()
    with pytest.raises(minicall.ConfigurationError, match="wait_async"):
        resumed.results()


# -- refused before anything is uploaded ----------------------------------------------------


def refused(fake: FakeServer, fn: Any, items: Any, match: str) -> None:
    with pytest.raises(minicall.ConfigurationError, match=match):
        batch.submit(fn, items)
    assert fake.requests == []


def test_stream_true_is_refused(fake):
    refused(fake, recommender("openai", "gpt-4o-mini", fake.client("openai"), stream=True), [("a",)], "stream=True")


def test_a_plain_function_is_refused(fake):
    refused(fake, lambda genre: genre, [("a",)], "not a minicall-decorated function")


@pytest.mark.parametrize("items,match", [
    ([("a",), ("b", "c", "d")], "item 1 does not fit"),
    ([{"genre": "a"}, {"genre": "a", "colour": "red"}], "item 1 does not fit"),
    ([("a",), "b"], "item 1 is str"),
    ([("a",), ["b"]], "item 1 is list"),
    ([{1: "a"}], "names must be strings"),
    ([], "at least one item"),
    ("abc", "must be a list"),
])
def test_items_that_do_not_fit_the_signature_are_refused(fake, items, match):
    refused(fake, recommender("openai", "gpt-4o-mini", fake.client("openai")), items, match)


def test_a_dynamic_config_client_other_than_the_decorators_is_refused(fake):
    other = fake.client("openai", api_key="other-key")

    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    def recommend(genre: str) -> minicall.BaseDynamicConfig:
        return {"messages": [minicall.Message(role="user", content=genre)],
                **({"client": other} if genre == "b" else {})}

    refused(fake, recommend, [("a",), ("b",)], "item 1: its dynamic config names another client")


@pytest.mark.parametrize("provider,model,words", [
    ("cohere", "command-r", "cohere has no batch API"),
    ("xai", "grok-3", "xai has no batch API"),
    ("bedrock", "anthropic.claude-3-haiku-20240307-v1:0", "S3"),
])
def test_providers_without_a_batch_api_are_named(fake, provider, model, words):
    fn = recommender(provider, model, fake.client(provider))
    with pytest.raises(minicall.ConfigurationError) as caught:
        batch.submit(fn, [("a",)])
    assert words in str(caught.value)
    assert all(name in str(caught.value) for name in ("openai", "azure", "groq", "anthropic", "google"))
    assert fake.requests == []


def test_vertex_and_azure_inference_are_refused(fake):
    from minicall.providers.google import GoogleClient

    vertex = GoogleClient(vertex=True, project="p", location="us-central1", base_url=fake.base_url("google"),
                          access_token="tok")
    refused(fake, recommender("google", "gemini-2.0-flash", vertex), [("a",)], "Cloud Storage or BigQuery")
    inference = fake.client("azure", deployment_style="inference")
    refused(fake, recommender("azure", "gpt-4o-mini", inference), [("a",)], "AI Model Inference")


def test_too_many_requests_are_refused_before_upload(fake, monkeypatch):
    from minicall._codecs.batch import openai as openai_batch

    monkeypatch.setattr(openai_batch, "OPENAI", replace(openai_batch.OPENAI, max_requests=2))
    refused(fake, recommender("openai", "gpt-4o-mini", fake.client("openai")), [("a",)] * 3,
            "3 items is more than the OpenAI batch API takes")


def test_gemini_inline_requests_above_the_cap_are_refused_before_upload(fake):
    big = "x" * (7 * 1000 * 1000)
    refused(fake, recommender("google", "gemini-2.0-flash", fake.client("google")), [(big,)] * 3,
            r"larger than 20 MB \(at item 2\)")


def test_items_that_need_other_headers_or_endpoints_are_refused():
    from minicall._call.batch.items import PayloadBuilder
    from minicall._model.http import HttpRequest

    sample = HttpRequest("POST", "https://x/v1/messages", {"anthropic-beta": "a", "Content-Length": "3"})
    check = PayloadBuilder._same_as_sample
    check(None, 1, HttpRequest("POST", sample.url, {"anthropic-beta": "a", "Content-Length": "9"}), sample)  # type: ignore[arg-type]
    with pytest.raises(minicall.ConfigurationError, match=r"item 1 needs other request headers .*anthropic-beta"):
        check(None, 1, HttpRequest("POST", sample.url, {"anthropic-beta": "b"}), sample)  # type: ignore[arg-type]
    with pytest.raises(minicall.ConfigurationError, match="item 2 goes to another endpoint"):
        check(None, 2, HttpRequest("POST", "https://x/v1/other"), sample)  # type: ignore[arg-type]


@pytest.mark.conformance
def test_an_official_sdk_client_batches_on_its_own_provider(fake):
    openai_sdk = pytest.importorskip("openai")
    azure = openai_sdk.AzureOpenAI(api_key="k", azure_endpoint=fake.base_url("azure"), api_version="2024-10-21",
                                   max_retries=0)

    @llm.call(provider="openai", model="gpt-4o-mini", client=azure)
    def recommend(genre: str) -> str:
        return genre

    job = batch.submit(recommend, [("a",), ("b",)])
    assert job.provider == "azure"
    assert [r.content for r in job.wait(poll_interval=0)] == ["echo: a", "echo: b"]
    assert fake.requests[0].raw_path == "/azure/openai/files?api-version=2024-10-21"
    assert fake.requests[0].headers["api-key"] == "k"


def test_extra_headers_go_on_the_batch_requests_not_in_the_items(setup, fake):
    provider, model, client = setup
    fn = recommender(provider, model, client, call_params={"extra_headers": {"x-feature": "on"}})
    results = batch.submit(fn, [("a",), ("b",)]).wait(poll_interval=0)
    assert [r.content for r in results] == ["echo: Recommend a a book for adults", "echo: Recommend a b book for adults"]
    assert all(r.headers.get("x-feature") == "on" for r in fake.requests)
    assert all("extra_headers" not in json.dumps(body) for body in item_bodies(fake, provider))
    resumed = batch.resume(fn, "batch-x")
    assert b"extra_headers" not in resumed.sample.body and resumed.sample.headers["x-feature"] == "on"

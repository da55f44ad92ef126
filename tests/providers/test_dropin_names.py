"""Mirascope's names that migrating code imports: async dynamic configs, Vertex and the
Google aliases, toolkits, FromCallArgs and the document template specs, over FakeServer."""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass
from typing import Annotated, Any

import pytest

import minicall
from minicall import BaseDynamicConfig, BaseToolKit, FromCallArgs, Messages, llm, prompt_template, toolkit_tool
from minicall._call.registry import PROVIDERS
from minicall.providers import google, openai, vertex
from minicall.testing import Reply, ToolCallReply

PDF = b"%PDF-1.4 a tiny document"
MODEL = "gemini-2.0-flash"
VERTEX_PATH = f"/v1beta1/projects/proj/locations/us-central1/publishers/google/models/{MODEL}:generateContent"


# -- async dynamic configs -------------------------------------------------------------


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_every_provider_module_has_its_async_dynamic_config(provider):
    module = importlib.import_module(f"minicall.providers.{provider}")
    configs = [n for n in module.__all__ if n.endswith("DynamicConfig")]
    assert len(configs) == 2, configs
    sync_name = next(n for n in configs if not n.startswith("Async"))
    assert getattr(module, "Async" + sync_name) is getattr(module, sync_name)


@pytest.mark.parametrize("provider", [*sorted(PROVIDERS), "vertex"])
def test_every_provider_module_has_mirascopes_provider_call_name(provider, fake):
    # mirascope.core.openai exports openai_call beside call (and so on for each provider).
    module = importlib.import_module(f"minicall.providers.{provider}")
    alias = f"{provider}_call"
    assert alias in module.__all__ and getattr(module, alias) is module.call
    if provider == "openai":
        @module.openai_call("gpt-4o-mini", client=fake.client("openai"))
        def ask(q: str) -> str:
            return q

        assert ask("hi").content == "echo: hi"


def test_an_async_prompt_returning_the_async_dynamic_config_is_called(fake):
    client = fake.client("openai")

    @openai.call("gpt-4o-mini")
    async def recommend_book(genre: str) -> openai.AsyncOpenAIDynamicConfig:
        return {"messages": [{"role": "user", "content": f"Recommend a {genre} book"}], "client": client}

    response = asyncio.run(recommend_book("fantasy"))
    assert response.content == "echo: Recommend a fantasy book"
    assert fake.last.json["messages"] == [{"role": "user", "content": "Recommend a fantasy book"}]


# -- Vertex and the Google aliases -------------------------------------------------------


def _vertex_client(fake: Any) -> vertex.VertexClient:
    return vertex.VertexClient(
        base_url=fake.base_url("google"), project="proj", location="us-central1", access_token="ya29.t"
    )


def test_vertex_module_calls_gemini_on_vertex(fake):
    client = _vertex_client(fake)
    assert client.vertex and type(client) is google.GoogleClient

    @vertex.call(MODEL, client=client)
    def recommend_book(genre: str) -> str:
        return f"Recommend a {genre} book"

    response = recommend_book("fantasy")
    assert isinstance(response, vertex.VertexCallResponse)
    assert response.content == "echo: Recommend a fantasy book"
    assert response.provider == "google"
    assert fake.last.path == VERTEX_PATH
    assert fake.last.headers["authorization"] == "Bearer ya29.t"
    assert vertex.vertex_call is vertex.call


def test_vertex_module_async_stream(fake):
    @vertex.call(MODEL, client=_vertex_client(fake), stream=True)
    async def tell(topic: str) -> str:
        return f"tell me about {topic}"

    async def run() -> str:
        stream = await tell("owls")
        return "".join([chunk.content async for chunk, _ in stream])

    assert asyncio.run(run()) == "echo: tell me about owls"
    assert ":streamGenerateContent" in fake.last.path


@pytest.mark.parametrize("alias", ["gemini", "vertex"])
def test_llm_call_takes_gemini_and_vertex_as_aliases_of_google(fake, alias):
    client = _vertex_client(fake) if alias == "vertex" else fake.client("google")

    @llm.call(provider=alias, model=MODEL, client=client)
    def ask(question: str) -> str:
        return question

    response = ask("hi")
    assert isinstance(response, llm.CallResponse)
    assert (response.content, response.provider) == ("echo: hi", "google")
    assert response.finish_reasons == ["stop"]  # normalized, as for google


def test_llm_override_to_an_alias_works_async(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    async def ask(question: str) -> str:
        return question

    moved = llm.override(ask, provider="gemini", model=MODEL, client=fake.client("google"))
    assert asyncio.run(moved("hi")).provider == "google"
    assert fake.last.path.endswith(f"{MODEL}:generateContent")


def test_the_vertex_alias_defaults_to_a_vertex_client(monkeypatch, tmp_path):
    # No project anywhere: the default client is a Vertex one, so it asks for a project.
    monkeypatch.setenv("GOOGLE_API_KEY", "gem-key")  # would do for the Gemini API, not for Vertex
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))

    @llm.call(provider="vertex", model=MODEL)
    def ask() -> str:
        return "hi"

    with pytest.raises(minicall.ConfigurationError):
        ask()


def test_a_google_client_cannot_serve_another_provider_and_unknown_names_list_the_aliases(fake):
    with pytest.raises(ValueError, match="gemini, vertex"):
        llm.call(provider="gemeni", model=MODEL)  # type: ignore[arg-type]

    @llm.call(provider="vertex", model=MODEL, client=fake.client("openai"))
    def ask() -> str:
        return "hi"

    with pytest.raises(minicall.ConfigurationError, match="cannot serve provider 'vertex'"):
        ask()


# -- the document specs ------------------------------------------------------------------


def test_document_spec_makes_a_pdf_part_between_text_parts():
    @prompt_template("I just read this book: {previous_book:document} What should I read next?")
    def prompt(previous_book: bytes) -> None: ...

    [message] = prompt(PDF)
    assert message.role == "user"
    assert [p.type for p in message.content] == ["text", "document", "text"]
    document = message.content[1]
    assert isinstance(document, minicall.DocumentPart)
    assert (document.media_type, document.document) == ("application/pdf", PDF)


def test_documents_spec_takes_a_list_and_paths(tmp_path):
    path = tmp_path / "b.pdf"
    path.write_bytes(PDF + b" two")

    @prompt_template("Compare {docs:documents}")
    def prompt(docs: list[Any]) -> None: ...

    [message] = prompt([PDF, str(path)])
    kinds = [(p.type, getattr(p, "document", None)) for p in message.content]
    assert kinds == [("text", None), ("document", PDF), ("document", PDF + b" two")]


@pytest.mark.parametrize(
    ("value", "problem"),
    [(b"not a pdf", "not a PDF"), ("https://x/y.pdf", "URLs are not fetched"), (3, "must be bytes"),
     ("/nonexistent/minicall.pdf", "neither a URL nor an existing file")],
)
def test_document_spec_rejects_what_is_not_a_pdf(value, problem):
    @prompt_template("{doc:document}")
    def prompt(doc: Any) -> None: ...

    with pytest.raises(minicall.PromptError, match=problem):
        prompt(value)


def test_documents_spec_needs_a_list():
    @prompt_template("{doc:documents}")
    def prompt(doc: Any) -> None: ...

    with pytest.raises(minicall.PromptError, match="needs a list"):
        prompt(PDF)


def test_document_spec_reaches_anthropic_as_a_document_block(fake):
    @llm.call(provider="anthropic", model="claude-3-5-sonnet-latest", client=fake.client("anthropic"))
    @prompt_template("Summarize {doc:document}")
    async def summarize(doc: bytes) -> None: ...

    asyncio.run(summarize(PDF))
    content = fake.last.json["messages"][0]["content"]
    assert [block["type"] for block in content] == ["text", "document"]
    assert content[1]["source"]["media_type"] == "application/pdf"


# -- toolkits ------------------------------------------------------------------------------


class BookTools(BaseToolKit):
    __namespace__ = "dropin_book_tools"

    reading_level: str
    shelf: str = "fiction"

    @toolkit_tool
    def suggest_author(self, author: str) -> str:
        """Suggests an author for the user to read based on their reading level.

        User reading level: {self.reading_level}
        Author you suggest must be appropriate for the user's reading level.

        Args:
            author: The author's name.
        """
        return f"I would suggest you read some books by {author} ({self.reading_level}, {self.shelf})"

    @toolkit_tool
    async def shelve(self, title: str, copies: int = 1) -> str:
        """Puts {copies} copies of a book on the {self.shelf} shelf."""
        return f"{copies} x {title} on {self.shelf}"


def test_toolkit_creates_namespaced_tools_with_filled_descriptions(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", client=fake.client("openai"))
    def recommend_author(genre: str, reading_level: str) -> BaseDynamicConfig:
        toolkit = BookTools(reading_level=reading_level)
        return {
            "tools": toolkit.create_tools(),
            "messages": [Messages.User(f"What {genre} author should I read?")],
        }

    fake.script(Reply(tool_calls=[ToolCallReply("dropin_book_tools_suggest_author", {"author": "Ursula Le Guin"})]))
    response = recommend_author("fantasy", "beginner")
    tools = {t["function"]["name"]: t["function"] for t in fake.last.json["tools"]}
    assert set(tools) == {"dropin_book_tools_suggest_author", "dropin_book_tools_shelve"}
    described = tools["dropin_book_tools_suggest_author"]
    assert "User reading level: beginner" in described["description"]
    assert described["parameters"]["properties"]["author"]["description"] == "The author's name."
    # A placeholder that is not {self...} stays a placeholder, as in Mirascope.
    assert tools["dropin_book_tools_shelve"]["description"] == "Puts {copies} copies of a book on the fiction shelf."
    assert response.tool is not None
    assert response.tool.call() == "I would suggest you read some books by Ursula Le Guin (beginner, fiction)"


def test_toolkit_async_method_tool_is_awaited():
    tools = {t._name(): t for t in BookTools(reading_level="advanced", shelf="sf").create_tools()}
    tool = tools["dropin_book_tools_shelve"].from_call("c1", {"title": "Dune"})
    assert asyncio.run(tool.call()) == "1 x Dune on sf"
    assert repr(BookTools(reading_level="x")) == "BookTools(reading_level='x', shelf='fiction')"


def test_toolkit_tool_on_a_base_tool_class_gets_the_namespace():
    class Lookup(minicall.BaseTool):
        """Look a book up on the {self.shelf} shelf."""

        title: str

        def call(self) -> str:
            return self.title.upper()

    class ShelfTools(BaseToolKit):
        __namespace__ = "dropin_shelf"
        shelf: str

        lookup = toolkit_tool(Lookup)

    [tool_type] = ShelfTools(shelf="poetry").create_tools()
    assert tool_type._name() == "dropin_shelf_Lookup"
    assert tool_type._description() == "Look a book up on the poetry shelf."
    assert tool_type.from_call("c", {"title": "odes"}).call() == "ODES"


def test_toolkit_mistakes_are_configuration_errors():
    with pytest.raises(minicall.ConfigurationError, match="no @toolkit_tool method"):
        class Empty(BaseToolKit):
            level: str

    with pytest.raises(minicall.ConfigurationError, match="needs a docstring"):
        class Undocumented(BaseToolKit):
            @toolkit_tool
            def run(self) -> str:
                return ""

    with pytest.raises(minicall.ConfigurationError, match=r"\{self.level\} names no field"):
        class Unknown(BaseToolKit):
            @toolkit_tool
            def run(self) -> str:
                """At {self.level}."""
                return ""

    with pytest.raises(minicall.ConfigurationError, match="already used"):
        class Again(BaseToolKit):
            __namespace__ = "dropin_book_tools"

            @toolkit_tool
            def run(self) -> str:
                """Run."""
                return ""

    with pytest.raises(TypeError, match="missing \\['reading_level'\\]"):
        BookTools()


# -- FromCallArgs ----------------------------------------------------------------------------


@dataclass
class Book:
    title: str
    author: str


@dataclass
class Books:
    texts: Annotated[list[str], FromCallArgs()]
    books: list[Book]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.books):
            raise ValueError("length mismatch")


TEXTS = ["The Name of the Wind by Patrick Rothfuss", "Mistborn by Brandon Sanderson"]
BOOKS = [{"title": "The Name of the Wind", "author": "Patrick Rothfuss"},
         {"title": "Mistborn", "author": "Brandon Sanderson"}]


def test_from_call_args_field_is_not_asked_for_and_is_filled_from_the_arguments(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", response_model=Books, client=fake.client("openai"))
    def extract_books(texts: list[str]) -> str:
        return f"Extract the books from these texts: {texts}"

    fake.script(Reply(tool_calls=[ToolCallReply("Books", {"books": BOOKS})]))
    result = extract_books(TEXTS)
    assert result == Books(TEXTS, [Book(**b) for b in BOOKS])
    schema = fake.last.json["tools"][0]["function"]["parameters"]
    assert set(schema["properties"]) == {"books"} and schema["required"] == ["books"]


def test_from_call_args_in_json_mode_and_async(fake):
    @llm.call(provider="anthropic", model="claude-3-5-sonnet-latest", response_model=Books, json_mode=True,
              client=fake.client("anthropic"))
    async def extract_books(texts: list[str]) -> str:
        return f"Extract the books from these texts: {texts}"

    fake.script(Reply(text='{"books": %s}' % __import__("json").dumps(BOOKS)))
    result = asyncio.run(extract_books(TEXTS))
    assert result.texts == TEXTS and result.books[1].author == "Brandon Sanderson"
    assert '"texts"' not in fake.last.json["system"]  # the schema in the instruction leaves it out


def test_from_call_args_partial_stream_carries_the_argument(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", response_model=Books, stream=True, client=fake.client("openai"))
    def extract_books(texts: list[str]) -> str:
        return "extract"

    fake.script(Reply(tool_calls=[ToolCallReply("Books", {"books": BOOKS})]))
    partials = list(extract_books(TEXTS))
    assert all(p.texts == TEXTS for p in partials)
    assert partials[-1] == Books(TEXTS, [Book(**b) for b in BOOKS])


def test_from_call_args_without_a_matching_argument_says_which(fake):
    @llm.call(provider="openai", model="gpt-4o-mini", response_model=Books, client=fake.client("openai"))
    def extract_books(documents: list[str]) -> str:
        return "extract"

    fake.script(Reply(tool_calls=[ToolCallReply("Books", {"books": BOOKS})]))
    with pytest.raises(minicall.ConfigurationError, match="none for texts"):
        extract_books(TEXTS)


def test_from_call_args_on_a_pydantic_model(fake):
    pydantic = pytest.importorskip("pydantic")

    class PBooks(pydantic.BaseModel):
        texts: Annotated[list[str], FromCallArgs()]
        count: int

        @pydantic.model_validator(mode="after")
        def same_length(self) -> PBooks:
            if len(self.texts) != self.count:
                raise ValueError("length mismatch")
            return self

    @llm.call(provider="openai", model="gpt-4o-mini", response_model=PBooks, client=fake.client("openai"))
    def count_books(texts: list[str]) -> str:
        return "count"

    fake.script(Reply(tool_calls=[ToolCallReply("PBooks", {"count": 2})]))
    assert count_books(TEXTS).texts == TEXTS
    schema = fake.last.json["tools"][0]["function"]["parameters"]
    assert set(schema["properties"]) == {"count"} and schema["required"] == ["count"]
    assert repr(FromCallArgs()) == "FromCallArgs()"

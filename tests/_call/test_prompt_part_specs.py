"""The ``{x:part}`` and ``{x:parts}`` template specs (Mirascope v1): a variable holding a
content part, or a list of them, lands in the message as those parts."""

from __future__ import annotations

import pytest
from shared import MODES, run

import minicall
from minicall import CacheControlPart, ImagePart, Messages, TextPart, llm, prompt_template
from minicall.testing import FakeServer

PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)
IMAGE = ImagePart("image/png", image=PNG)


@prompt_template("USER: Look: {picture:part} then {notes:parts} Done.")
def look(picture: object, notes: object) -> None: ...


def test_parts_are_inserted_as_they_are_between_the_text():
    assert look(IMAGE, [TextPart("a"), CacheControlPart()]) == [Messages.User([
        TextPart("Look:"), IMAGE, TextPart("then"), TextPart("a"), CacheControlPart(), TextPart("Done.")])]


def test_absent_parts_add_nothing():
    # The text around each spec stays its own part, as with Mirascope and the media specs.
    assert look(None, []) == [Messages.User([TextPart("Look:"), TextPart("then"), TextPart("Done.")])]


@pytest.mark.parametrize("picture, notes, problem", [
    ("a string", [], "'picture'.*content part"),
    (b"bytes", [], "'picture'.*content part"),
    (IMAGE, "not a list", "'notes'.*needs a list"),
    (IMAGE, [TextPart("ok"), "plain text"], "'notes'.*item 1 is a str"),
    (IMAGE, [{"type": "text", "text": "a dict"}], "'notes'.*item 0 is a dict"),
])
def test_what_is_not_a_part_is_a_prompt_error_naming_the_variable(picture, notes, problem):
    with pytest.raises(minicall.PromptError, match=problem):
        look(picture, notes)


@pytest.mark.parametrize("mode", MODES)
def test_parts_reach_the_wire_sync_and_async(mode):
    template = "SYSTEM: Be brief.\nUSER: What is this? {picture:part}"
    with FakeServer() as fake:
        if mode == "sync":
            @llm.call("openai", "gpt-4o-mini", client=fake.client("openai"))
            @prompt_template(template)
            def ask(picture: ImagePart) -> None: ...
        else:
            @llm.call("openai", "gpt-4o-mini", client=fake.client("openai"))
            @prompt_template(template)
            async def ask(picture: ImagePart) -> None: ...

        run(ask, IMAGE)
        user = fake.last.json["messages"][1]
        assert user["content"][0] == {"type": "text", "text": "What is this?"}
        assert user["content"][1]["type"] == "image_url"
        assert user["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")

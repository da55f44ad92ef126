"""Prompt templates: role splitting, substitution, format specs, media parts, errors."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicall._call.prompt import (
    TEMPLATE_ATTR,
    format_template,
    get_prompt_template,
    prompt_template,
    render_prompt,
)
from minicall._model.errors import PromptError
from minicall._model.media import (
    audio_part,
    guess_image_type_from_url,
    image_part,
    sniff_audio_type,
    sniff_image_type,
)
from minicall._model.messages import AudioPart, ImagePart, Message, Messages, TextPart

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
GIF = b"GIF89a" + b"\x00" * 16
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 16
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 16
MP3_ID3 = b"ID3\x04\x00" + b"\x00" * 16
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 16
AAC = b"\xff\xf1\x50\x80" + b"\x00" * 16
OGG = b"OggS\x00\x02" + b"\x00" * 16
FLAC = b"fLaC\x00\x00\x00\x22" + b"\x00" * 16
WEBM = b"\x1a\x45\xdf\xa3" + b"\x00" * 16


def one(template: str, **values: Any) -> Message:
    messages = format_template(template, values)
    assert len(messages) == 1
    message = messages[0]
    assert isinstance(message, Message)
    return message


# -- the decorator ----------------------------------------------------------------------


def test_prompt_template_attaches_the_template_and_keeps_the_signature():
    def recommend(genre: str) -> None: ...

    decorated = prompt_template("Recommend a {genre} book")(recommend)

    assert decorated.__wrapped__ is recommend  # type: ignore[attr-defined]
    assert decorated("fantasy") == [Message("user", "Recommend a fantasy book")]
    assert getattr(recommend, TEMPLATE_ATTR) == getattr(decorated, TEMPLATE_ATTR) == "Recommend a {genre} book"
    assert get_prompt_template(recommend) == "Recommend a {genre} book"
    assert list(inspect.signature(decorated).parameters) == ["genre"]


def test_get_prompt_template_is_none_for_an_undecorated_function():
    assert get_prompt_template(lambda: None) is None


def test_prompt_template_rejects_a_non_string_template():
    with pytest.raises(PromptError, match="str"):
        prompt_template(42)  # type: ignore[arg-type]


def test_render_prompt_adds_computed_fields_which_win_over_arguments():
    messages = render_prompt(
        "{genre} by {author}",
        {"genre": "fantasy", "author": "arg"},
        {"computed_fields": {"author": "Le Guin"}, "call_params": {"temperature": 0}},
    )
    assert messages == [Message("user", "fantasy by Le Guin")]


def test_render_prompt_without_config_uses_the_arguments():
    assert render_prompt("Hi {name}", {"name": "Ann"}) == [Message("user", "Hi Ann")]


# -- roles ------------------------------------------------------------------------------


def test_role_markers_open_messages_of_their_role():
    messages = format_template(
        """
        SYSTEM: You are a librarian.
        USER: Recommend a {genre} book.
        ASSISTANT: Try Earthsea.
        USER: Another?
        """,
        {"genre": "fantasy"},
    )
    assert messages == [
        Messages.System("You are a librarian."),
        Messages.User("Recommend a fantasy book."),
        Messages.Assistant("Try Earthsea."),
        Messages.User("Another?"),
    ]


def test_text_before_the_first_marker_is_a_user_message():
    assert format_template("preface\nSYSTEM: rules", {}) == [
        Message("user", "preface"),
        Message("system", "rules"),
    ]


def test_a_message_body_spans_lines_until_the_next_marker():
    message = one("SYSTEM:\n  first line\n  second line\n")
    assert message == Message("system", "first line\nsecond line")


def test_markers_may_be_indented_but_must_be_upper_case_and_start_a_line():
    messages = format_template("SYSTEM: a\n   USER: b\nuser: c\nsee USER: d", {})
    assert messages == [Message("system", "a"), Message("user", "b\nuser: c\nsee USER: d")]


def test_the_template_is_dedented_and_stripped():
    template = """
            Recommend a book.
              Indented detail.
    """
    assert one(template).content == "Recommend a book.\n  Indented detail."


def test_messages_that_format_to_nothing_are_dropped():
    messages = format_template("SYSTEM: {rules}\nUSER: hi\nASSISTANT:", {"rules": ""})
    assert messages == [Message("user", "hi")]


def test_an_empty_template_gives_no_messages():
    assert format_template("   \n  ", {}) == []


# -- substitution -----------------------------------------------------------------------


@dataclass
class Book:
    title: str
    tags: dict[str, str]


def test_attribute_and_item_access_substitute():
    book = Book("Earthsea", {"kind": "fantasy"})
    message = one("{book.title} is {book.tags[kind]}; first {names[0]}", book=book, names=["a"])
    assert message.content == "Earthsea is fantasy; first a"


def test_a_missing_variable_raises_prompt_error_naming_it():
    with pytest.raises(PromptError, match="'genre'") as info:
        format_template("Recommend a {genre} book", {"other": 1})
    assert not isinstance(info.value, KeyError)


def test_a_missing_attribute_raises_prompt_error_naming_the_field():
    with pytest.raises(PromptError, match="book.author"):
        format_template("{book.author}", {"book": Book("t", {})})


@pytest.mark.parametrize("field", ["book.tags[missing]", "names[5]", "names[x]"])
def test_a_failed_item_lookup_raises_prompt_error(field: str):
    with pytest.raises(PromptError):
        format_template("{" + field + "}", {"book": Book("t", {}), "names": ["a"]})


@pytest.mark.parametrize("template", ["{}", "{0}", "a { b", "a } b", "{x!z}"])
def test_malformed_or_positional_placeholders_raise_prompt_error(template: str):
    with pytest.raises(PromptError):
        format_template(template, {"x": 1})


def test_doubled_braces_are_literal_braces():
    assert one('{{"genre": "{genre}"}}', genre="sf").content == '{"genre": "sf"}'


def test_multi_line_values_stay_inside_their_message():
    messages = format_template("SYSTEM: be brief\nUSER: {q}", {"q": "line 1\nASSISTANT: x\nline 3"})
    assert messages == [
        Message("system", "be brief"),
        Message("user", "line 1\nASSISTANT: x\nline 3"),
    ]


def test_none_substitutes_as_nothing_but_repr_conversion_shows_it():
    assert one("[{x}] [{x!r}]", x=None).content == "[] [None]"


def test_ordinary_format_specs_pass_through_including_nested_ones():
    assert one("{p:.2f} {n:>4} {p:.{d}f}", p=3.14159, n=7, d=1).content == "3.14    7 3.1"


def test_a_spec_that_does_not_fit_its_value_raises_prompt_error_naming_it():
    with pytest.raises(PromptError, match="'price'"):
        format_template("{price:.2f}", {"price": "cheap"})


# -- list specs -------------------------------------------------------------------------


def test_list_spec_puts_one_item_per_line():
    assert one("Books:\n{books:list}", books=["A", "B", 3]).content == "Books:\nA\nB\n3"


def test_lists_spec_separates_groups_with_a_blank_line():
    message = one("{groups:lists}", groups=[["a", "b"], ["c"]])
    assert message.content == "a\nb\n\nc"


@pytest.mark.parametrize(
    ("spec", "value"), [("list", "abc"), ("list", 3), ("lists", ["a", "b"]), ("lists", 5)]
)
def test_list_specs_reject_values_of_the_wrong_shape(spec: str, value: Any):
    with pytest.raises(PromptError, match="'x'"):
        format_template("{x:" + spec + "}", {"x": value})


# -- media specs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "media_type"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
def test_image_spec_sniffs_the_media_type_of_bytes(data: bytes, media_type: str):
    message = one("Describe {img:image}", img=data)
    assert message.content == [TextPart("Describe"), ImagePart(media_type, image=data)]


def test_media_make_a_list_of_parts_in_template_order_without_blank_text():
    message = one("{a:image} \n {b:image}\nCompare them.\n{a:image}", a=PNG, b=GIF)
    assert message.content == [
        ImagePart("image/png", image=PNG),
        ImagePart("image/gif", image=GIF),
        TextPart("Compare them."),
        ImagePart("image/png", image=PNG),
    ]


@pytest.mark.parametrize(
    ("url", "media_type"),
    [
        ("https://example.com/cat.JPG?size=2", "image/jpeg"),
        ("http://example.com/cat.webp", "image/webp"),
        ("https://example.com/cat", "image/png"),
        ("https://example.com/cat.bmpx", "image/png"),
        ("data:image/gif;base64,R0lGODlh", "image/gif"),
    ],
)
def test_image_urls_are_kept_as_urls_with_a_guessed_media_type(url: str, media_type: str):
    message = one("{img:image}", img=url)
    assert message.content == [ImagePart(media_type, url=url)]


def test_an_image_path_that_exists_is_read(tmp_path):
    path = tmp_path / "picture.bin"
    path.write_bytes(JPEG)
    assert one("{img:image}", img=str(path)).content == [ImagePart("image/jpeg", image=JPEG)]
    assert one("{img:image}", img=path).content == [ImagePart("image/jpeg", image=JPEG)]


def test_an_image_path_that_does_not_exist_raises_prompt_error(tmp_path):
    with pytest.raises(PromptError, match="'img'.*existing file"):
        format_template("{img:image}", {"img": str(tmp_path / "missing.png")})


def test_bytes_that_are_no_known_image_raise_prompt_error():
    with pytest.raises(PromptError, match="'img'"):
        format_template("{img:image}", {"img": b"plain text"})


def test_image_detail_option_is_carried_to_the_part():
    message = one("{img:image(detail=high)}", img=PNG)
    assert message.content == [ImagePart("image/png", image=PNG, detail="high")]


def test_images_spec_makes_one_part_per_item():
    message = one("{imgs:images}", imgs=[PNG, "https://x.test/a.gif"])
    assert message.content == [
        ImagePart("image/png", image=PNG),
        ImagePart("image/gif", url="https://x.test/a.gif"),
    ]


def test_images_spec_rejects_a_single_image():
    with pytest.raises(PromptError, match="'imgs'"):
        format_template("{imgs:images}", {"imgs": PNG})


def test_an_empty_media_value_adds_no_part():
    assert format_template("{img:image}{clips:audios}", {"img": None, "clips": []}) == []
    assert one("hi {img:image}", img=b"").content == "hi"


def test_an_image_part_value_is_passed_through():
    part = ImagePart("image/png", url="https://x.test/a")
    assert one("{img:image}", img=part).content == [part]


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (WAV, "audio/wav"),
        (MP3_ID3, "audio/mp3"),
        (MP3_FRAME, "audio/mp3"),
        (AAC, "audio/aac"),
        (OGG, "audio/ogg"),
        (FLAC, "audio/flac"),
        (WEBM, "audio/webm"),
    ],
)
def test_audio_spec_sniffs_the_media_type_of_bytes(data: bytes, media_type: str):
    message = one("Transcribe: {clip:audio}", clip=data)
    assert message.content == [TextPart("Transcribe:"), AudioPart(media_type, data)]


def test_audio_from_a_path_is_read(tmp_path):
    path = tmp_path / "clip"
    path.write_bytes(FLAC)
    assert one("{clip:audio}", clip=str(path)).content == [AudioPart("audio/flac", FLAC)]


@pytest.mark.parametrize("value", ["https://example.com/a.mp3", b"not audio", 12])
def test_audio_that_cannot_be_used_raises_prompt_error(value: Any):
    with pytest.raises(PromptError, match="'clip'"):
        format_template("{clip:audio}", {"clip": value})


def test_sniffers_return_none_for_unknown_or_short_data():
    assert sniff_image_type(b"") is None
    assert sniff_audio_type(b"\xff") is None
    assert sniff_image_type(WAV) is None
    assert sniff_audio_type(WEBP) is None


def test_media_helpers_work_outside_templates():
    assert guess_image_type_from_url("data:text/plain,hi") == "image/png"
    assert image_part(PNG, "low").detail == "low"
    assert audio_part(bytearray(WAV)) == AudioPart("audio/wav", WAV)
    with pytest.raises(PromptError):
        image_part(3.5)


# -- MESSAGES ---------------------------------------------------------------------------


def test_messages_marker_splices_history_as_is():
    native = {"role": "user", "content": "earlier question"}
    neutral = Messages.Assistant("earlier answer")
    values = {"history": [native, neutral], "q": "now"}
    messages = format_template("SYSTEM: be kind\nMESSAGES: {history}\nUSER: {q}", values)
    assert messages == [Message("system", "be kind"), native, neutral, Message("user", "now")]
    assert messages[1] is native and messages[2] is neutral


def test_messages_marker_accepts_attribute_access_and_an_empty_history():
    @dataclass
    class Chat:
        history: list[Message]

    assert format_template("MESSAGES: {self.history}", {"self": Chat([])}) == []
    history = [Messages.User("x")]
    assert format_template("MESSAGES: {self.history}", {"self": Chat(history)}) == history


@pytest.mark.parametrize("history", ["not a list", None, [1], {"role": "user"}])
def test_messages_marker_rejects_values_that_are_not_lists_of_messages(history: Any):
    with pytest.raises(PromptError, match="'history'"):
        format_template("MESSAGES: {history}", {"history": history})


@pytest.mark.parametrize(
    "template", ["MESSAGES: {history} extra", "MESSAGES: {a}{b}", "MESSAGES:", "MESSAGES: {h:list}"]
)
def test_messages_marker_takes_exactly_one_plain_variable(template: str):
    with pytest.raises(PromptError, match="MESSAGES"):
        format_template(template, {"history": [], "a": [], "b": [], "h": []})


def test_messages_marker_with_a_missing_variable_raises_prompt_error():
    with pytest.raises(PromptError, match="'history'"):
        format_template("MESSAGES: {history}", {})


# -- properties -------------------------------------------------------------------------

MARKER_LINE = re.compile(r"^\s*(SYSTEM|USER|ASSISTANT|MESSAGES):", re.MULTILINE)
ROLE_MARKERS = {"system": "SYSTEM", "user": "USER", "assistant": "ASSISTANT"}

# Visible characters and plain spaces, without braces: text that means itself.
plain_chars = st.characters(
    whitelist_categories=("L", "N", "P", "S"), whitelist_characters=" ", blacklist_characters="{}"
)
plain_line = st.text(plain_chars, min_size=1, max_size=30).map(str.strip).filter(
    lambda line: line and not MARKER_LINE.match(line)
)
plain_body = st.lists(plain_line, min_size=1, max_size=4).map("\n".join)


@settings(max_examples=150)
@given(st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",))))
def test_text_without_braces_or_markers_round_trips_as_one_user_message(text: str):
    if MARKER_LINE.search(inspect.cleandoc(text)):
        return
    expected = inspect.cleandoc(text).strip()
    assert format_template(text, {}) == ([Message("user", expected)] if expected else [])


@settings(max_examples=150)
@given(plain_body)
def test_plain_text_round_trips_exactly(text: str):
    assert format_template(text, {}) == [Message("user", text)]


@settings(max_examples=200)
@given(st.text(), st.text())
def test_any_substituted_text_appears_verbatim_and_opens_no_message(first: str, second: str):
    messages = format_template(
        "SYSTEM: <{first}>\nUSER: <{second}> and {{x}}", {"first": first, "second": second}
    )
    assert messages == [Message("system", f"<{first}>"), Message("user", f"<{second}> and {{x}}")]


@settings(max_examples=100)
@given(st.lists(st.text(), max_size=5))
def test_list_spec_joins_any_items_verbatim(items: list[str]):
    assert format_template("[{items:list}]", {"items": items}) == [
        Message("user", "[" + "\n".join(items) + "]")
    ]


@settings(max_examples=150)
@given(st.lists(st.tuples(st.sampled_from(sorted(ROLE_MARKERS)), plain_body), max_size=6))
def test_role_markers_split_any_sequence_of_turns(turns: list[tuple[str, str]]):
    template = "\n".join(f"{ROLE_MARKERS[role]}: {body}" for role, body in turns)
    expected = [Message(role, body) for role, body in turns]  # type: ignore[arg-type]
    assert format_template(template, {}) == expected


@settings(max_examples=100)
@given(
    st.lists(st.tuples(st.sampled_from(sorted(ROLE_MARKERS)), st.text()), min_size=1, max_size=5)
)
def test_each_turn_keeps_its_own_substituted_value(turns: list[tuple[str, str]]):
    template = "\n".join(f"{ROLE_MARKERS[role]}: ({{v{i}}})" for i, (role, _) in enumerate(turns))
    values = {f"v{i}": text for i, (_, text) in enumerate(turns)}
    expected = [Message(role, f"({text})") for role, text in turns]  # type: ignore[arg-type]
    assert format_template(template, values) == expected

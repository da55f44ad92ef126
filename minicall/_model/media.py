"""Media-type sniffing and the media parts a prompt template makes.

Providers insist on a correct media type next to base64 data, and users hand us bare
bytes or file paths, so the type is read from the leading "magic" bytes. URLs are never
fetched here: an image URL travels to the provider as a URL, with a media type guessed
from its extension, and audio (which no provider takes by URL) must be bytes or a path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Union, cast

from .errors import PromptError
from .messages import AudioPart, DocumentPart, ImagePart

__all__ = [
    "MediaSource",
    "audio_part",
    "document_part",
    "guess_image_type_from_url",
    "image_part",
    "sniff_audio_type",
    "sniff_image_type",
]

MediaSource = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]
"""What a ``{x:image}`` or ``{x:audio}`` variable may hold."""

_Sniffer = Callable[[bytes], bool]


def _riff(form: bytes) -> _Sniffer:
    # RIFF containers (WAV, WebP) share the first four bytes; the form type is at 8.
    return lambda b: b[:4] == b"RIFF" and b[8:12] == form


def _prefix(*magics: bytes) -> _Sniffer:
    return lambda b: b.startswith(magics)


def _iso_brand(*brands: bytes) -> _Sniffer:
    # ISO base media files (HEIC/HEIF) open with a box whose type is "ftyp" at offset 4.
    return lambda b: b[4:8] == b"ftyp" and b[8:12] in brands


def _mpeg_frame(b: bytes) -> bool:
    # An MPEG audio frame header: 11 sync bits, then a layer field that is not 00
    # (00 there means an ADTS/AAC header instead).
    return len(b) >= 2 and b[0] == 0xFF and b[1] & 0xE0 == 0xE0 and b[1] & 0x06 != 0


def _adts_frame(b: bytes) -> bool:
    # ADTS (raw AAC): 12 sync bits and a layer field of 00.
    return len(b) >= 2 and b[0] == 0xFF and b[1] & 0xF6 == 0xF0


# Order matters only where magics overlap: RIFF forms are told apart by their form
# type, and the two MPEG sync patterns by their layer bits.
_IMAGE_MAGIC: tuple[tuple[_Sniffer, str], ...] = (
    (_prefix(b"\x89PNG\r\n\x1a\n"), "image/png"),
    (_prefix(b"\xff\xd8\xff"), "image/jpeg"),
    (_prefix(b"GIF87a", b"GIF89a"), "image/gif"),
    (_riff(b"WEBP"), "image/webp"),
    (_iso_brand(b"heic", b"heix", b"hevc", b"hevx"), "image/heic"),
    (_iso_brand(b"mif1", b"msf1", b"heif"), "image/heif"),
)

_AUDIO_MAGIC: tuple[tuple[_Sniffer, str], ...] = (
    (_riff(b"WAVE"), "audio/wav"),
    (_prefix(b"ID3"), "audio/mp3"),
    (_adts_frame, "audio/aac"),
    (_mpeg_frame, "audio/mp3"),
    (_prefix(b"OggS"), "audio/ogg"),
    (_prefix(b"fLaC"), "audio/flac"),
    (_prefix(b"\x1a\x45\xdf\xa3"), "audio/webm"),
    (lambda b: b[:4] == b"FORM" and b[8:12] in (b"AIFF", b"AIFC"), "audio/aiff"),
)

_IMAGE_EXTENSIONS: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".heic": "image/heic",
    ".heif": "image/heif",
}

_DEFAULT_IMAGE_TYPE = "image/png"
_URL_SCHEMES = ("http://", "https://", "data:")


def _sniff(data: bytes, table: tuple[tuple[_Sniffer, str], ...]) -> str | None:
    for matches, media_type in table:
        if matches(data):
            return media_type
    return None


def sniff_image_type(data: bytes) -> str | None:
    """The image media type read from ``data``'s magic bytes, or ``None`` if unknown."""
    return _sniff(data, _IMAGE_MAGIC)


def sniff_audio_type(data: bytes) -> str | None:
    """The audio media type read from ``data``'s magic bytes, or ``None`` if unknown."""
    return _sniff(data, _AUDIO_MAGIC)


def guess_image_type_from_url(url: str) -> str:
    """The media type of an image URL: a ``data:`` URL's own, else by extension.

    Unknown extensions give ``image/png``, the type every provider accepts.
    """
    if url.startswith("data:"):
        declared = url[5:].split(",", 1)[0].split(";", 1)[0].strip().lower()
        return declared if declared.startswith("image/") else _DEFAULT_IMAGE_TYPE
    path = url.split("#", 1)[0].split("?", 1)[0]
    _, ext = os.path.splitext(path)
    return _IMAGE_EXTENSIONS.get(ext.lower(), _DEFAULT_IMAGE_TYPE)


def _read_local(source: str | os.PathLike[str], what: str) -> bytes:
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise PromptError(f"{what} source is neither a URL nor an existing file: {path!r}")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise PromptError(f"cannot read {what} file {path!r}: {exc.strerror}") from None


def _as_bytes(source: object, what: str) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source)
    if isinstance(source, memoryview):
        return source.tobytes()
    if isinstance(source, (str, os.PathLike)):
        return _read_local(cast("str | os.PathLike[str]", source), what)
    kind = type(source).__name__
    raise PromptError(f"{what} source must be bytes, a URL or a file path, not {kind}")


def image_part(source: object, detail: str | None = None) -> ImagePart:
    """An :class:`ImagePart` from bytes, an ``http(s)``/``data:`` URL or a local path.

    An ``ImagePart`` is passed through unchanged. Raises :class:`PromptError` for
    unreadable files and bytes that are no known image format.
    """
    if isinstance(source, ImagePart):
        return source
    if isinstance(source, str) and source.startswith(_URL_SCHEMES):
        return ImagePart(guess_image_type_from_url(source), url=source, detail=detail)
    data = _as_bytes(source, "image")
    media_type = sniff_image_type(data)
    if media_type is None:
        raise PromptError("image bytes are not PNG, JPEG, GIF, WebP or HEIC/HEIF")
    return ImagePart(media_type, image=data, detail=detail)


def audio_part(source: object) -> AudioPart:
    """An :class:`AudioPart` from bytes or a local path (an ``AudioPart`` passes through).

    Raises :class:`PromptError` for URLs, unreadable files and unknown formats.
    """
    if isinstance(source, AudioPart):
        return source
    if isinstance(source, str) and source.startswith(_URL_SCHEMES):
        raise PromptError("audio must be bytes or a local file path; URLs are not fetched")
    data = _as_bytes(source, "audio")
    media_type = sniff_audio_type(data)
    if media_type is None:
        raise PromptError("audio bytes are not WAV, MP3, AAC, OGG, FLAC, WebM or AIFF")
    return AudioPart(media_type, data)


def document_part(source: object) -> DocumentPart:
    """A PDF :class:`DocumentPart` from bytes or a local path (a ``DocumentPart`` passes through).

    As Mirascope's ``{x:document}``: PDF only. Raises :class:`PromptError` for URLs,
    unreadable files and bytes that are not a PDF.
    """
    if isinstance(source, DocumentPart):
        return source
    if isinstance(source, str) and source.startswith(_URL_SCHEMES):
        raise PromptError("a document must be bytes or a local file path; URLs are not fetched")
    data = _as_bytes(source, "document")
    if not data.startswith(b"%PDF"):
        raise PromptError("document bytes are not a PDF (they do not start with %PDF)")
    return DocumentPart("application/pdf", data)

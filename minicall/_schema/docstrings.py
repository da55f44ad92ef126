"""Field descriptions out of docstrings, in the three styles people write.

Only two things are read: the prose before the first section (the *summary*, which
becomes a tool or schema description) and the per-name descriptions of a parameter
section. Recognised sections:

- Google: a line ``Args:`` / ``Arguments:`` / ``Parameters:`` / ``Params:`` /
  ``Attributes:`` / ``Fields:`` followed by indented ``name (type): text`` entries;
  other ``Word:`` headers (``Returns:``, ``Raises:``...) end the prose.
- NumPy: a header line underlined with dashes (``Parameters`` / ``----------``) and
  ``name : type`` entries with indented text below.
- reST: ``:param name: text``, ``:param type name: text``, ``:ivar name: text``,
  ``:var name:``, ``:cvar name:``; other ``:field:`` lines end the prose.

Continuation lines are folded into one line of text. Nothing here raises: a
docstring we cannot read yields its cleaned text as the summary and no params.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

__all__ = ["Docstring", "parse_docstring"]

# Headers whose entries describe parameters or fields (compared lower-case).
_PARAM_SECTIONS = frozenset(
    {"args", "arguments", "parameters", "params", "attributes", "fields", "keyword args",
     "keyword arguments", "other parameters"}
)
_GOOGLE_HEADER = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*$")
_NUMPY_RULE = re.compile(r"^\s*-{3,}\s*$")
_REST_FIELD = re.compile(r"^:(\w+)(?:\s+([^:]*?))?:\s*(.*)$")
_REST_PARAM_KINDS = frozenset({"param", "parameter", "arg", "argument", "key", "keyword",
                               "ivar", "var", "cvar"})
# ``name (type): text`` or ``name: text``; ``*args``/``**kwargs`` keep their stars off.
_GOOGLE_ENTRY = re.compile(r"^\**(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^\**(\w+)\s*(?::.*)?$")


@dataclass(frozen=True)
class Docstring:
    """The summary (prose before any section) and parameter descriptions by name."""

    summary: str = ""
    params: dict[str, str] = field(default_factory=dict[str, str])


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _fold(lines: list[str]) -> str:
    return " ".join(part.strip() for part in lines if part.strip())


def _google_section(lines: list[str], start: int, params: dict[str, str]) -> int:
    """Read entries after the header at ``start - 1``; return the index after them."""
    header_indent = _indent(lines[start - 1])
    entry_indent: int | None = None
    name: str | None = None
    text: list[str] = []
    i = start
    while i < len(lines):
        line = lines[i]
        if line.strip():
            ind = _indent(line)
            if ind <= header_indent:
                break
            if entry_indent is None:
                entry_indent = ind
            match = _GOOGLE_ENTRY.match(line.strip()) if ind == entry_indent else None
            if match:
                if name is not None:
                    params[name] = _fold(text)
                name, text = match.group(1), [match.group(2)]
            else:
                text.append(line)
        i += 1
    if name is not None:
        params[name] = _fold(text)
    return i


def _numpy_section(lines: list[str], start: int, params: dict[str, str]) -> int:
    """Read ``name : type`` entries from ``start`` up to the next underlined header."""
    name: str | None = None
    text: list[str] = []
    base: int | None = None
    i = start
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and line.strip() and _NUMPY_RULE.match(lines[i + 1]):
            break
        if line.strip():
            ind = _indent(line)
            if base is None:
                base = ind
            match = _NUMPY_ENTRY.match(line.strip()) if ind == base else None
            if match:
                if name is not None:
                    params[name] = _fold(text)
                name, text = match.group(1), []
            else:
                text.append(line)
        i += 1
    if name is not None:
        params[name] = _fold(text)
    return i


def _skip_numpy_section(lines: list[str], start: int) -> int:
    i = start
    while i < len(lines):
        if i + 1 < len(lines) and lines[i].strip() and _NUMPY_RULE.match(lines[i + 1]):
            break
        i += 1
    return i


def _rest_field(lines: list[str], start: int, params: dict[str, str]) -> int:
    match = _REST_FIELD.match(lines[start].strip())
    assert match is not None
    kind, arg, text = match.group(1), match.group(2), [match.group(3)]
    i = start + 1
    while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(":"):
        text.append(lines[i])
        i += 1
    if kind in _REST_PARAM_KINDS and arg:
        # ``:param int x:`` names the parameter last.
        params[arg.split()[-1].lstrip("*")] = _fold(text)
    return i


def parse_docstring(doc: str | None) -> Docstring:
    """The summary and the parameter descriptions of ``doc`` (any of the three styles)."""
    if not doc:
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    params: dict[str, str] = {}
    in_prose = True
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if i + 1 < len(lines) and stripped and _NUMPY_RULE.match(lines[i + 1]):
            in_prose = False
            if stripped.lower() in _PARAM_SECTIONS:
                i = _numpy_section(lines, i + 2, params)
            else:
                i = _skip_numpy_section(lines, i + 2)
            continue
        header = _GOOGLE_HEADER.match(stripped)
        if header and _indent(lines[i]) == 0:
            in_prose = False
            if header.group(1).lower() in _PARAM_SECTIONS:
                i = _google_section(lines, i + 1, params)
                continue
        elif stripped.startswith(":") and _REST_FIELD.match(stripped):
            in_prose = False
            i = _rest_field(lines, i, params)
            continue
        if in_prose:
            summary.append(lines[i])
        i += 1
    return Docstring("\n".join(summary).strip(), params)

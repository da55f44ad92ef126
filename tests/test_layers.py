"""The layer order of the package, and no import cycles.

Each layer may import its own layer and the layers below it, never one above. Every
import counts: module level, under ``TYPE_CHECKING`` and inside functions, because a
function-local import is still a dependency, only a later one. Imports made by name at
run time (the provider registry's ``import_module(f".{name}", __package__)``) are the
plug-in point the layers exist for and are not imports in this sense.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import minicall

PACKAGE = Path(minicall.__file__).resolve().parent

LAYERS: list[tuple[str, ...]] = [
    ("minicall.__main__", "minicall._cli"),  # the command line and its demo
    ("minicall", "minicall.llm", "minicall.retries", "minicall.batch"),  # the public faces: the root, llm, retries, batch
    ("minicall.providers", "minicall.testing"),  # provider clients; FakeServer and its formats
    ("minicall._call",),  # the provider-blind machinery
    ("minicall._codecs",),  # sans-IO: CallSpec <-> HttpRequest / bytes
    ("minicall._auth",),  # credential sources and signers
    ("minicall._http",),  # the transports
    ("minicall._framing",),  # sans-IO stream decoders: SSE, AWS event-stream
    ("minicall._schema",),  # type hints -> JSON Schema, validation, partial JSON
    ("minicall._model",),  # the neutral types: messages, CallSpec, HTTP values, errors
]
"""Top first."""


def module_name(path: Path) -> str:
    parts = ["minicall", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(name: str, source: str, is_package: bool) -> set[str]:
    """The package's own modules that ``source`` (the module ``name``) imports anywhere."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # ``from x import y`` imports the module x.y when there is one, else a name of x.
            submodules = {f"{target}.{a.name}" for a in node.names} & MODULES.keys()
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(target)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {
    name: imported(name, path.read_text(encoding="utf-8"), path.name == "__init__.py")
    for name, path in MODULES.items()
}


def layer_of(name: str) -> int:
    """The index in ``LAYERS`` of the longest prefix naming ``name``'s layer."""
    best, rank = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = name == prefix or (prefix != "minicall" and name.startswith(prefix + "."))
            if matches and len(prefix) > best:
                best, rank = len(prefix), index
    return rank


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer():
    assert [name for name in MODULES if layer_of(name) < 0] == []


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [
        f"{name} -> {target}"
        for name, targets in sorted(GRAPH.items())
        for target in sorted(targets)
        if layer_of(target) < layer_of(name)
    ]
    assert upward == []


def test_no_import_cycles_between_modules():
    assert cycles(GRAPH) == []


# -- the checker itself sees what it must -------------------------------------------------


def test_imports_under_type_checking_and_inside_functions_count():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..providers import openai\n"
        "def later():\n    from .._call import pipeline\n"
        "from . import sse\n"
    )
    assert imported("minicall._framing.eventstream", source, False) == {
        "minicall.providers.openai",
        "minicall._call.pipeline",
        "minicall._framing.sse",
    }


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set(), "c": {"a", "b"}}, []),
    ],
)
def test_cycles_are_found(graph, expected):
    assert cycles(graph) == expected


def test_layers_are_told_apart_by_the_longest_prefix():
    assert layer_of("minicall") == 1
    assert layer_of("minicall._call.send") == 3
    assert layer_of("minicall._model.http") == len(LAYERS) - 1
    assert layer_of("minicall._callx") == -1

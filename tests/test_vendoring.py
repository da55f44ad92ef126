"""minicall vendored under another package (``app/_vendor/minicall``) works as the original.

Nothing inside the package may reach ``minicall`` by its absolute name: a vendored copy
would then load another installed copy, or fail where none is installed.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import minicall

PACKAGE = Path(minicall.__file__).resolve().parent
_LOADERS = {"import_module", "__import__", "files", "find_spec"}


def _absolute_self_references(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in _LOADERS:
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names = [first.value]
                elif isinstance(first, ast.JoinedStr) and first.values:
                    head = first.values[0]
                    if isinstance(head, ast.Constant) and isinstance(head.value, str):
                        names = [head.value]
        found += [
            f"{path.relative_to(PACKAGE)}:{node.lineno}: {name}"
            for name in names
            if name == "minicall" or name.startswith("minicall.")
        ]
    return found


def test_nothing_in_the_package_names_minicall_absolutely():
    offenders = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _absolute_self_references(path)]
    assert offenders == []


def test_the_walk_catches_each_kind_of_absolute_reference(tmp_path):
    # The check above passes on an empty list: prove it would catch each form.
    bad = tmp_path / "bad.py"
    bad.write_text(
        textwrap.dedent(
            """
            import minicall.llm
            from minicall import llm
            import importlib
            from importlib import resources
            importlib.import_module("minicall.providers.openai")
            importlib.import_module(f"minicall.providers.{name}")
            resources.files("minicall")
            from . import fine
            importlib.import_module("..providers.openai", __package__)
            """
        )
    )
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path
    try:
        hits = _absolute_self_references(bad)
    finally:
        PACKAGE = saved
    assert [hit.split(": ")[1] for hit in hits] == [
        "minicall.llm",
        "minicall",
        "minicall.providers.openai",
        "minicall.providers.",
        "minicall",
    ]


_SCRIPT = """
import asyncio, os, sys

from app._vendor.minicall import llm
from app._vendor.minicall._call.registry import PROVIDERS
from app._vendor.minicall._cli.demo import MODELS
from app._vendor.minicall.testing import FakeServer, Reply

results = []
with FakeServer() as fake:
    for provider in PROVIDERS:
        client = fake.client(provider)

        @llm.call(provider, MODELS[provider], client=client)
        def plain(genre: str) -> str:
            return f"Recommend a {genre} book"

        @llm.call(provider, MODELS[provider], client=client, stream=True)
        def streamed(genre: str) -> str:
            return f"Recommend a {genre} book"

        @llm.call(provider, MODELS[provider], client=client)
        async def asynchronous(genre: str) -> str:
            return f"Recommend a {genre} book"

        fake.script(Reply("Dune"), Reply("Dune Messiah"), Reply("Children of Dune"), provider=provider)
        response = plain("fantasy")
        assert response.cost is None or response.cost >= 0  # loads the bundled price table
        text = response.content
        text += "|" + "".join(chunk.content for chunk, _ in streamed("fantasy"))
        text += "|" + asyncio.run(asynchronous("fantasy")).content
        results.append(f"{provider}={text}")

    # Without a client, one is built from the environment through the provider module.
    os.environ["OPENAI_API_KEY"] = "sk-vendored"
    os.environ["OPENAI_BASE_URL"] = fake.base_url("openai")

    @llm.call("openai", "gpt-4o-mini")
    def from_env(genre: str) -> str:
        return genre

    fake.script(Reply("from the environment"), provider="openai")
    results.append(from_env("x").content)

leaked = sorted(m for m in sys.modules if m == "minicall" or m.startswith("minicall."))
print(";".join(results))
print("leaked:", leaked)
"""


def _vendored(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    app = tmp_path / "app"
    shutil.copytree(PACKAGE, app / "_vendor" / "minicall", ignore=shutil.ignore_patterns("__pycache__"))
    (app / "__init__.py").write_text("")
    (app / "_vendor" / "__init__.py").write_text("")
    # A top-level minicall that fails on import shadows any installed copy.
    decoy = tmp_path / "decoy" / "minicall"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("raise ImportError('the decoy minicall was imported')\n")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_BASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "decoy"), str(tmp_path)])
    return tmp_path, env


def test_a_vendored_copy_calls_every_provider_without_a_top_level_minicall(tmp_path):
    root, env = _vendored(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    calls, leaked = result.stdout.strip().splitlines()
    assert leaked == "leaked: []"
    answers = calls.split(";")
    from minicall._call.registry import PROVIDERS

    assert answers[: len(PROVIDERS)] == [f"{p}=Dune|Dune Messiah|Children of Dune" for p in PROVIDERS]
    assert answers[len(PROVIDERS)] == "from the environment"


def test_the_vendored_demo_runs_as_a_module(tmp_path):
    root, env = _vendored(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "app._vendor.minicall", "demo"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "all providers answered" in result.stdout
    from minicall._call.registry import PROVIDERS

    for provider in PROVIDERS:
        assert f"== {provider} (" in result.stdout, provider
    assert "decoy" not in result.stderr


def test_the_license_travels_inside_the_package_and_the_docstring_says_so():
    root_license = (PACKAGE.parent / "LICENSE").read_text(encoding="utf-8")
    assert root_license.startswith("MIT License")
    assert (PACKAGE / "LICENSE").read_text(encoding="utf-8") == root_license
    doc = minicall.__doc__ or ""
    assert f"Version {minicall.__version__}" in doc and "MIT license" in doc and "3.10" in doc


def test_python_older_than_3_10_gets_an_import_error_naming_the_floor():
    candidates = sorted(Path(os.path.expanduser("~/.pyenv/versions")).glob("3.[6-9].*/bin/python"))
    if not candidates:
        pytest.skip("no Python older than 3.10 on this machine")
    result = subprocess.run(
        [str(candidates[-1]), "-c", "import minicall"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: minicall needs Python 3.10 or newer; this is Python 3."), last

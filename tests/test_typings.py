"""Users' prompt code type-checks under mypy and pyright: typings/pass is clean under both
strict modes, typings/pass_nonstrict under plain mypy and pyright's standard mode, and each
typings/fail case errs exactly where marked (mypy with the marked codes, pyright with any error)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TYPINGS = ROOT / "typings"
FAIL_CASES = sorted((TYPINGS / "fail").glob("*.py"))
# Cases that import the official SDKs (the conformance extra): left out where those are not
# installed (the extra Python runs of .ci/run), and checked by the main run.
_SDKS = ("openai", "anthropic", "groq", "cohere", "mistralai", "google.genai", "azure.ai.inference")
SDK_CASES = {"typings/pass/sdk_clients.py"}
try:
    _HAVE_SDKS = all(importlib.util.find_spec(name) is not None for name in _SDKS)
except ImportError:  # a parent package (google, azure) missing
    _HAVE_SDKS = False
SKIPPED = set() if _HAVE_SDKS else SDK_CASES
PASS_CASES = [str(p) for p in sorted((TYPINGS / "pass").glob("*.py")) if str(p.relative_to(ROOT)) not in SKIPPED]
pytest.importorskip("mypy")

_MARK = re.compile(r"#\s*E:\s*([\w-]+(?:\s*,\s*[\w-]+)*)")
_ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")


def _mypy(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--hide-error-context", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.stdout


def _pyright_command() -> list[str]:
    found = shutil.which("pyright", path=str(Path(sys.executable).parent)) or shutil.which("pyright")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("pyright is not installed (the dev extra brings it): CI must run it")
        pytest.skip("pyright is not installed (pip install -e '.[dev]')")
    return [found, "--pythonpath", sys.executable]


@cache
def _pyright_errors() -> dict[str, set[int]]:
    """Lines pyright flags in the package and every typings file, per file (one run: pyright
    starts slowly).

    pyproject's [tool.pyright] makes minicall/, typings/pass and typings/fail strict and
    typings/pass_nonstrict standard."""
    result = subprocess.run(
        [*_pyright_command(), "--outputjson", str(ROOT / "minicall"), str(TYPINGS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    errors: dict[str, set[int]] = {}
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            path = str(Path(diagnostic["file"]).resolve().relative_to(ROOT))
            errors.setdefault(path, set()).add(diagnostic["range"]["start"]["line"] + 1)
    return errors


def _marks(case: Path) -> set[tuple[int, str]]:
    return {
        (i, code.strip())
        for i, line in enumerate(case.read_text().splitlines(), start=1)
        for m in [_MARK.search(line)]
        if m
        for code in m.group(1).split(",")
    }


def test_pass_cases_type_check_cleanly_under_mypy_strict():
    out = _mypy("--strict", *PASS_CASES)
    assert out.strip() == "", out


def test_nonstrict_cases_type_check_cleanly_under_plain_mypy():
    # No config file: the project's [tool.mypy] is strict, which forbids unannotated functions.
    out = _mypy("--config-file", "", "--python-version", "3.10", str(TYPINGS / "pass_nonstrict"))
    assert out.strip() == "", out


def test_package_and_pass_cases_type_check_cleanly_under_pyright_strict():
    # The package too: a vendored copy is checked as the user's own code, in strict mode.
    errors = {
        path: lines
        for path, lines in _pyright_errors().items()
        if not path.startswith("typings/fail/") and path not in SKIPPED
    }
    assert errors == {}, "run: .venv/bin/pyright minicall typings"


@pytest.mark.parametrize("case", FAIL_CASES, ids=lambda p: p.name)
def test_fail_cases_err_exactly_where_marked_under_mypy(case: Path):
    expected = _marks(case)
    assert expected, f"{case.name} marks no expected error"
    found = set()
    for line in _mypy("--strict", str(case)).splitlines():
        m = _ERROR.match(line.strip())
        if m:
            found.add((int(m.group("line")), m.group("code")))
    assert found == expected


@pytest.mark.parametrize("case", FAIL_CASES, ids=lambda p: p.name)
def test_fail_cases_err_exactly_where_marked_under_pyright(case: Path):
    expected = {line for line, _code in _marks(case)}
    assert _pyright_errors().get(str(case.relative_to(ROOT)), set()) == expected

"""Users' prompt code type-checks: typings/pass is clean, typings/fail errs exactly where marked."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("mypy")

_MARK = re.compile(r"#\s*E:\s*([\w-]+(?:\s*,\s*[\w-]+)*)")
_ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")


def _mypy(*paths: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--hide-error-context", *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.stdout


def test_pass_cases_type_check_cleanly():
    out = _mypy(ROOT / "typings" / "pass")
    assert out.strip() == "", out


@pytest.mark.parametrize("case", sorted((ROOT / "typings" / "fail").glob("*.py")), ids=lambda p: p.name)
def test_fail_cases_err_exactly_where_marked(case: Path):
    expected = {
        (i, code.strip())
        for i, line in enumerate(case.read_text().splitlines(), start=1)
        for m in [_MARK.search(line)]
        if m
        for code in m.group(1).split(",")
    }
    assert expected, f"{case.name} marks no expected error"
    found = set()
    for line in _mypy(case).splitlines():
        m = _ERROR.match(line.strip())
        if m:
            found.add((int(m.group("line")), m.group("code")))
    assert found == expected

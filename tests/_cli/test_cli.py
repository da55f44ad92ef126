"""The command line: demo and providers run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys

from minicall._call.registry import PROVIDERS


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minicall", *args], capture_output=True, text=True, timeout=120, env=env
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_PROXY", "_proxy"))}


def test_demo_runs_every_provider_over_loopback():
    result = _run("demo", env=_clean_env())
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for provider in PROVIDERS:
        assert f"== {provider} (" in out
    assert "FAILED" not in out
    assert out.count("response_model   Book(title='Dune', year=1965)") == len(PROVIDERS)
    assert out.strip().endswith("all providers answered")
    assert "== batch (" in out and "polls            running 0/3, running 0/3, ended 3/3" in out
    assert "item 1           BadRequestError(" in out


def test_providers_lists_each_provider_and_whether_it_is_configured():
    env = _clean_env()
    env["OPENAI_API_KEY"] = "sk-secret-value"
    result = _run("providers", env=env)
    assert result.returncode == 0
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert set(lines) == set(PROVIDERS)
    assert lines["openai"].split()[1] == "yes"
    assert lines["anthropic"].split()[1] == "no"
    assert "ANTHROPIC_API_KEY" in lines["anthropic"]
    assert "sk-secret-value" not in result.stdout


def test_call_without_a_key_fails_cleanly_naming_the_variable():
    result = _run("call", "--provider", "openai", "--model", "gpt-4o-mini", "hi", env=_clean_env())
    assert result.returncode == 1
    assert "OPENAI_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_provider_is_refused_by_the_parser():
    result = _run("call", "--provider", "nope", "--model", "m", "hi", env=_clean_env())
    assert result.returncode == 2
    assert "invalid choice" in result.stderr

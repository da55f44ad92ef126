"""The command line: demo and providers run as a user runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from minicall._call.registry import PROVIDERS
from minicall.testing import Fault, Reply


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


# -- the call command, as a user runs it -------------------------------------------------------


def _call_env() -> dict[str, str]:
    return {**_clean_env(), "OPENAI_API_KEY": "sk-cli-secret-0123456789"}


def _call(fake, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "minicall", "call", "--provider", "openai", "--model", "gpt-4o-mini",
               "--base-url", fake.base_url("openai"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=_call_env(), input=stdin)


def test_version_names_the_package_version():
    import minicall

    result = _run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"minicall {minicall.__version__}"


def test_the_console_script_points_at_the_cli_main():
    import importlib
    from pathlib import Path

    # tomllib is 3.11+; the runs on newer Pythons check the script on 3.10's behalf
    tomllib = pytest.importorskip("tomllib")

    scripts = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, name = scripts["minicall"].partition(":")
    assert callable(getattr(importlib.import_module(module), name))


def test_call_reads_the_prompt_from_stdin_and_reports_usage_and_cost_on_stderr(fake):
    fake.script(Reply(text="hello back", input_tokens=1000, output_tokens=10))
    result = _call(fake, stdin="hello from stdin\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello back\n"
    assert fake.last.json["messages"][-1]["content"] == "hello from stdin"
    assert "1000 in, 10 out" in result.stderr and "cost $0.0001" in result.stderr
    assert "e-" not in result.stderr  # a plain decimal
    assert "sk-cli-secret" not in result.stdout + result.stderr


def test_call_settings_reach_the_request(fake):
    result = _call(fake, "--system", "be brief", "--temperature", "0.25", "--max-tokens", "7", "--json", "hi")
    assert result.returncode == 0, result.stderr
    body = fake.last.json
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert body["temperature"] == 0.25 and body["max_tokens"] == 7
    assert body["response_format"] == {"type": "json_object"}  # --json is JSON mode


@pytest.mark.parametrize("stream", [False, True])
def test_output_json_prints_the_whole_response(fake, stream):
    fake.script(Reply(text="the reply", input_tokens=3, output_tokens=2))
    result = _call(fake, "--output", "json", *(["--stream"] if stream else []), "hi")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["content"] == "the reply"
    assert data["finish_reasons"] == ["stop"] and data["id"]
    if not stream:
        assert data["usage"]["input_tokens"] == 3 and data["usage"]["output_tokens"] == 2
        assert isinstance(data["cost"], float)


def test_verbose_logs_each_attempt_once_without_a_doubled_prefix(fake):
    result = _call(fake, "-v", "hi")
    assert result.returncode == 0, result.stderr
    assert "minicall: openai gpt-4o-mini attempt 1: POST " in result.stderr
    assert "minicall: minicall" not in result.stderr
    assert "sk-cli-secret" not in result.stderr


def test_no_prompt_and_no_stdin_is_a_usage_error(fake):
    result = _call(fake, stdin="")
    assert result.returncode == 2 and "no prompt" in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_exits_130_without_a_traceback(fake):
    fake.script(Fault("hang"))
    command = [sys.executable, "-m", "minicall", "call", "--provider", "openai", "--model", "m",
               "--base-url", fake.base_url("openai"), "hi"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_call_env())
    try:
        deadline = time.monotonic() + 60
        while not fake.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.requests, "the call reached the server"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait(10)
    assert process.returncode == 130
    assert "Traceback" not in err and "interrupted" in err


def test_a_closed_pipe_ends_quietly():
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (``head -1``) is already gone
    try:
        result = subprocess.run(
            [sys.executable, "-m", "minicall", "providers"], stdout=write_end, stderr=subprocess.PIPE,
            text=True, timeout=60, env=_clean_env(),
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert result.stderr == ""


def test_demo_prints_costs_as_plain_decimals():
    result = _run("demo", env=_clean_env())
    costs = [line for line in result.stdout.splitlines() if line.strip().startswith("cost ")]
    assert costs and not any("e-" in line for line in costs)
    assert all(line.split()[1].startswith(("$0.", "unknown")) for line in costs)
    # The batch section prints a cost inside each item's line, plain too.
    items = [line for line in result.stdout.splitlines() if "(cost " in line]
    assert items and all("(cost $0." in line for line in items)
    assert not re.search(r"\de-\d", result.stdout)

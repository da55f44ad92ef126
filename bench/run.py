"""Benchmarks: minicall side by side with hand-written floors and Mirascope 1.25.7.

Usage::

    python bench/run.py [--quick] [--only SECTION ...] [--no-peers] [--results FILE]

Sections: ``import``, ``calls``, ``stream``, ``concurrency``, ``decorate``. Each
measurement runs in a fresh process (``bench/_work.py``); repetitions are interleaved
(every case once per round, the order rotating) and medians are reported with their
ratios to the floor and to Mirascope. A loopback server (``bench/server.py``) runs as
a separate process for the whole run. Peers (``mirascope[openai,anthropic]==1.25.7``)
live in a cached virtualenv outside the repo, ``/tmp/minicall-bench-venv``, created
on first use; ``--no-peers`` skips them. A full run (all sections, not ``--quick``)
rewrites the figures block of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = Path(os.environ.get("MINICALL_BENCH_VENV", "/tmp/minicall-bench-venv"))
PEERS = "mirascope[openai,anthropic]==1.25.7"
SECTIONS = ("import", "calls", "stream", "concurrency", "decorate")
START, END = "<!-- results:start -->", "<!-- results:end -->"


@dataclass
class Case:
    """One thing measured: a worker case, or (for imports) a ``python -c`` command."""

    label: str
    metric: str
    work: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    code: str = ""
    peer: bool = False
    samples: list[dict[str, float]] = field(default_factory=list)
    error: str = ""

    def median(self, metric: str | None = None) -> float | None:
        values = [s[metric or self.metric] for s in self.samples]
        return statistics.median(values) if values else None


@dataclass
class Check:
    """A target from the issue: ``num``'s metric over ``den``'s, compared to ``limit``."""

    text: str
    num: str
    den: str
    limit: float
    at_most: bool
    metric: str | None = None


@dataclass
class Section:
    name: str
    title: str
    unit: str
    higher_is_better: bool
    cases: list[Case]
    checks: list[Check]
    reps: int


# -- running one case ---------------------------------------------------------------


def _python(case: Case) -> str:
    return str(VENV / "bin" / "python") if case.peer else sys.executable


def _env(case: Case) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "PYTHON"))}
    if not case.peer:
        env["PYTHONPATH"] = str(REPO)
    return env


def _run(case: Case) -> dict[str, float]:
    if case.code:
        return _run_import(case)
    cmd = [_python(case), str(BENCH / "_work.py"), case.work, json.dumps(case.args)]
    done = subprocess.run(cmd, env=_env(case), cwd="/tmp", capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _run_import(case: Case) -> dict[str, float]:
    # Wall time from fork to reap, and the child's own peak RSS (wait4, not the
    # cumulative RUSAGE_CHILDREN, which would mix in every earlier child).
    start = time.perf_counter()
    proc = subprocess.Popen([_python(case), "-c", case.code], env=_env(case), cwd="/tmp")
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{case.code!r} exited {proc.returncode}")
    return {"ms": wall * 1e3, "rss_mb": usage.ru_maxrss / 1024}


def measure(section: Section, log: Callable[[str], None]) -> None:
    """Every case once per round, the order rotating, for ``section.reps`` rounds."""
    cases = [c for c in section.cases if not c.error]
    for rep in range(section.reps):
        shift = rep % len(cases)
        for case in cases[shift:] + cases[:shift]:
            if case.error:
                continue
            try:
                case.samples.append(_run(case))
            except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                case.error = str(exc)[:300]
                log(f"  {case.label}: FAILED: {case.error}")
        log(f"  {section.name}: round {rep + 1}/{section.reps} done")


# -- the plan -------------------------------------------------------------------------


def plan(quick: bool, peers: bool, port: int) -> list[Section]:
    """The sections and their cases (peers dropped when not wanted)."""
    n_calls = 500 if quick else 2000
    chunks = 5000
    streams = 3 if quick else 5
    reps = 3 if quick else 5
    sizes = (200,) if quick else (200, 1000)
    sections = [
        Section("import", "Import: fresh interpreter, wall time and peak RSS", "ms", False, [
            Case("python -c pass", "ms", code="pass"),
            Case("floor (json, http.client, ssl, urllib.parse, dataclasses)", "ms",
                 code="import json, http.client, ssl, urllib.parse, dataclasses"),
            Case("minicall", "ms", code="import minicall; from minicall import llm"),
            Case("mirascope+SDKs", "ms", code="from mirascope import llm", peer=True),
        ], [
            Check("minicall wall <= 1.3x floor", "minicall", "floor", 1.3, True),
            Check("mirascope wall >= 10x minicall", "mirascope+SDKs", "minicall", 10.0, False),
            Check("minicall peak RSS <= 1.3x floor", "minicall", "floor", 1.3, True, "rss_mb"),
        ], 7 if quick else 15),
        Section("calls", f"Sequential non-streaming calls over loopback keep-alive ({n_calls} per run)",
                "us_per_call", False, [
            Case("floor-openai (http.client loop)", "us_per_call", "calls.floor-openai", {"port": port, "n": n_calls}),
            Case("minicall-openai", "us_per_call", "calls.minicall-openai", {"port": port, "n": n_calls}),
            Case("mirascope-openai", "us_per_call", "calls.mirascope-openai", {"port": port, "n": n_calls}, peer=True),
            Case("floor-anthropic (http.client loop)", "us_per_call", "calls.floor-anthropic",
                 {"port": port, "n": n_calls}),
            Case("minicall-anthropic", "us_per_call", "calls.minicall-anthropic", {"port": port, "n": n_calls}),
            Case("mirascope-anthropic", "us_per_call", "calls.mirascope-anthropic", {"port": port, "n": n_calls},
                 peer=True),
        ], [
            Check("minicall-openai <= 1.15x floor", "minicall-openai", "floor-openai", 1.15, True),
            Check("minicall-anthropic <= 1.15x floor", "minicall-anthropic", "floor-anthropic", 1.15, True),
            Check("mirascope-openai >= 3x minicall", "mirascope-openai", "minicall-openai", 3.0, False),
            Check("mirascope-anthropic >= 3x minicall", "mirascope-anthropic", "minicall-anthropic", 3.0, False),
        ], reps),
        Section("stream", f"Streaming: {chunks}-chunk SSE stream, text chunks per second (median of {streams})",
                "chunks_per_s", True, [
            Case(f"floor-{p} (hand-written SSE loop)" if kind == "floor" else f"{kind}-{p}", "chunks_per_s",
                 f"stream.{kind}-{p}", {"port": port, "chunks": chunks, "streams": streams}, peer=kind == "mirascope")
            for p in ("openai", "anthropic") for kind in ("floor", "minicall", "mirascope")
        ], [
            Check(f"minicall-{p} >= 0.8x floor", f"minicall-{p}", f"floor-{p}", 0.8, False)
            for p in ("openai", "anthropic")
        ] + [
            Check(f"minicall-{p} faster than mirascope", f"minicall-{p}", f"mirascope-{p}", 1.0, False)
            for p in ("openai", "anthropic")
        ], reps),
    ]
    for size in sizes:
        batches = 3
        sections.append(Section(
            "concurrency", f"Concurrency: {size} concurrent OpenAI calls, wall time per batch (median of {batches})",
            "ms_per_batch", False, [
                Case(f"floor-asyncio@{size} (hand-written pool)", "ms_per_batch", "concurrency.floor-asyncio",
                     {"port": port, "concurrency": size, "batches": batches}),
                Case(f"minicall-async@{size}", "ms_per_batch", "concurrency.minicall-async",
                     {"port": port, "concurrency": size, "batches": batches}),
                Case(f"minicall-threads@{size} (100 threads, sync transport)", "ms_per_batch",
                     "concurrency.minicall-threads", {"port": port, "concurrency": size, "batches": batches}),
                Case(f"mirascope-async@{size}", "ms_per_batch", "concurrency.mirascope-async",
                     {"port": port, "concurrency": size, "batches": 1 if size > 200 else 2}, peer=True),
            ], [
                Check(f"minicall-async@{size} <= 1.3x asyncio baseline", f"minicall-async@{size}",
                      f"floor-asyncio@{size}", 1.3, True),
            ], reps))
    sections.append(Section("decorate", "Decoration (1000 functions) and in-memory calls (MockTransport)",
                            "us", False, [
        Case("decorate minicall", "us_per_decoration", "decorate.minicall", {"count": 1000}),
        Case("decorate mirascope", "us_per_decoration", "decorate.mirascope", {"count": 1000}, peer=True),
        Case("mock-call minicall-openai", "us_per_call", "mock.minicall-openai", {"n": n_calls}),
        Case("mock-call mirascope-openai", "us_per_call", "mock.mirascope-openai", {"n": n_calls // 2}, peer=True),
        Case("mock-call minicall-anthropic", "us_per_call", "mock.minicall-anthropic", {"n": n_calls}),
        Case("mock-call mirascope-anthropic", "us_per_call", "mock.mirascope-anthropic", {"n": n_calls // 2},
             peer=True),
    ], [
        Check("mirascope decoration / minicall", "decorate mirascope", "decorate minicall", 1.0, False),
        Check("mirascope mock call / minicall (openai)", "mock-call mirascope-openai", "mock-call minicall-openai",
              1.0, False),
        Check("mirascope mock call / minicall (anthropic)", "mock-call mirascope-anthropic",
              "mock-call minicall-anthropic", 1.0, False),
    ], reps))
    if not peers:
        for section in sections:
            section.cases = [c for c in section.cases if not c.peer]
    return sections


# -- peers and server -------------------------------------------------------------------


def ensure_peers(log: Callable[[str], None]) -> bool:
    """The cached virtualenv with Mirascope and the SDKs, created if missing."""
    python = VENV / "bin" / "python"
    probe = "import importlib.metadata as m; assert m.version('mirascope') == '1.25.7'"
    if python.exists() and subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0:
        return True
    log(f"creating {VENV} with {PEERS} (a few minutes, once)")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PEERS], check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        log(f"could not set up peers ({exc}); running without them")
        return False
    return True


class Server:
    """``bench/server.py`` in its own process; it exits when its stdin closes."""

    def __init__(self, chunks: int) -> None:
        self.proc = subprocess.Popen([sys.executable, str(BENCH / "server.py"), "--chunks", str(chunks)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- reporting ---------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def report(sections: Sequence[Section]) -> str:
    """Markdown tables: medians, ratios to the first case (the floor), and target checks."""
    out: list[str] = []
    for section in sections:
        out.append(f"### {section.title}\n")
        floor = section.cases[0] if section.name != "decorate" else None
        if section.name == "import":
            out.append("| case | wall ms | x floor | peak RSS MB | x floor |\n|---|---:|---:|---:|---:|")
            base = section.cases[1].median(), section.cases[1].median("rss_mb")
            for c in section.cases:
                wall, rss = c.median(), c.median("rss_mb")
                out.append(f"| {c.label} | {_fmt(wall)} | {_ratio(wall, base[0])} | {_fmt(rss)} | "
                           f"{_ratio(rss, base[1])} |" + (f" FAILED: {c.error}" if c.error else ""))
        else:
            out.append(f"| case | median {section.cases[0].metric if floor is None else floor.metric} | "
                       "x first row | runs |\n|---|---:|---:|---:|")
            for c in section.cases:
                base = (floor or c).median(floor.metric if floor else c.metric)
                value = c.median()
                metric_note = "" if floor is None or c.metric == floor.metric else f" ({c.metric})"
                out.append(f"| {c.label}{metric_note} | {_fmt(value)} | {_ratio(value, base) if floor else '-'} | "
                           f"{len(c.samples)} |" + (f" FAILED: {c.error}" if c.error else ""))
        out.append("")
        for check in section.checks:
            out.append(f"- {_check(section, check)}")
        out.append("")
    return "\n".join(out)


def _ratio(value: float | None, base: float | None) -> str:
    return "n/a" if value is None or not base else f"{value / base:.2f}"


def _find(section: Section, prefix: str) -> Case | None:
    for case in section.cases:
        if case.label == prefix or case.label.startswith(prefix + " "):
            return case
    return None


def _check(section: Section, check: Check) -> str:
    num, den = _find(section, check.num), _find(section, check.den)
    if num is None or den is None:
        return f"{check.text}: skipped (peer not run)"
    a, b = num.median(check.metric), den.median(check.metric)
    if a is None or b is None or not b:
        return f"{check.text}: n/a"
    ratio = a / b
    if section.higher_is_better and check.limit != 1.0 and not check.at_most:
        ok = ratio >= check.limit
    elif check.at_most:
        ok = ratio <= check.limit
    else:
        ok = ratio >= check.limit
    if check.limit == 1.0 and not check.at_most and "faster" not in check.text:
        return f"{check.text}: {ratio:.1f}x"
    return f"{check.text}: {ratio:.2f} -> {'PASS' if ok else 'MISS'}"


def machine() -> str:
    """One line on the machine the figures come from."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        mem_gb = f"{int(mem) / 1024 / 1024:.0f} GiB"
    except OSError:
        mem_gb = "?"
    return (f"{cpu}, {os.cpu_count()} cores, {mem_gb} RAM; {platform.platform()}; "
            f"Python {platform.python_version()}")


def write_results(path: Path, text: str) -> None:
    """Replace the figures block of ``path`` (or create the file around it)."""
    block = f"{START}\n{text}\n{END}"
    old = path.read_text() if path.exists() else f"# Benchmark results\n\n{START}\n{END}\n"
    if START in old and END in old:
        new = old[: old.index(START)] + block + old[old.index(END) + len(END):]
    else:
        new = old.rstrip() + "\n\n" + block + "\n"
    path.write_text(new)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="minicall benchmarks (see bench/RESULTS.md)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and calls (under 2 minutes)")
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    parser.add_argument("--no-peers", action="store_true", help="skip Mirascope and the official SDKs")
    parser.add_argument("--results", type=Path, help="write the figures block into this markdown file "
                        "(default: bench/RESULTS.md for a full run)")
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    began = time.perf_counter()
    peers = not args.no_peers and ensure_peers(log)
    server = Server(chunks=5000)
    try:
        sections = [s for s in plan(args.quick, peers, server.port) if not args.only or s.name in args.only]
        for section in sections:
            log(f"{section.title} ...")
            measure(section, log)
    finally:
        server.close()
    elapsed = time.perf_counter() - began
    command = "python bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = (f"Machine: {machine()}\n\nCommand: `{command.strip()}`; took {elapsed:.0f} s; "
            f"peers: {'mirascope 1.25.7 + ' + _peer_versions() if peers else 'not run'}\n\n{report(sections)}")
    print(text)
    target = args.results or (BENCH / "RESULTS.md" if not args.quick and not args.only else None)
    if target is not None:
        write_results(target, text)
        log(f"wrote {target}")
    return 0


def _peer_versions() -> str:
    code = "import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in ('openai', 'anthropic', 'httpx', 'pydantic')))"
    done = subprocess.run([str(VENV / "bin" / "python"), "-c", code], capture_output=True, text=True)
    return done.stdout.strip() or "?"


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark run: which suites there are, what they need running, and the one table.

Core suites measure our server beside the floor (the fake upstream called directly) and
LiteLLM's proxy, all in one run against one upstream; extra suites are the older stand-alone
benchmarks (`benchmarks.hub`, `.knowledge`, `.local_model`), run after the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import openai
import psutil
from rich.console import Console
from rich.table import Table

from benchmarks.client import stream_once
from benchmarks.measures import (
    measure_burst,
    measure_cpu,
    measure_history,
    measure_memory,
    measure_startup,
    measure_streams,
    measure_ttft,
)
from benchmarks.processes import ROOT, generator_cpu, scratch, server_cpu
from benchmarks.row import Row, number
from benchmarks.targets import LiteLLMProxy, OurServer, Upstream, litellm_requirement

__all__ = ["CORE", "EXTRAS", "Bench", "render", "run"]

MB = 1024 * 1024
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
LEVELS = ("full", "quick", "smoke")
T = TypeVar("T")


@dataclass(frozen=True)
class Suite:
    measure: Callable[[Bench], Awaitable[list[Row]]]
    servers: bool = True
    """Whether it needs our server and LiteLLM running (startup starts its own)."""


# In the order they run: startup on a quiet machine, the long stream ramp last.
CORE: dict[str, Suite] = {
    "startup": Suite(measure_startup, servers=False),
    "ttft": Suite(measure_ttft),
    "history": Suite(measure_history),
    "burst": Suite(measure_burst),
    "cpu": Suite(measure_cpu),
    "memory": Suite(measure_memory),
    "streams": Suite(measure_streams),
}
EXTRAS: dict[str, list[str]] = {
    "hub": ["-m", "benchmarks.hub"],
    "knowledge": ["-m", "benchmarks.knowledge"],
    "local_model": ["-m", "benchmarks.local_model"],
    "frontend": ["-m", "benchmarks.frontend"],
}
# Every answer shape the suites ask for (see `benchmarks.upstream`): LiteLLM's model list.
MODELS = [
    "bench-c5-d0",
    "bench-c3-d0",
    "bench-c3-d50",
    "bench-c20-d50",
    "bench-c5-d10",
    "bench-c20-d10",
    "bench-c50-d10",
    "bench-c200-d10",
    "bench-c3-d10-h1",
    "bench-c60-d50",
    "bench-c200-d50",
]


class Bench:
    """Everything a run shares: the upstream, the servers under test, and what was found."""

    def __init__(self, *, level: str, litellm: bool, work_dir: Path) -> None:
        self.level = level
        self.want_litellm = litellm
        self.work_dir = work_dir
        self.log_dir = work_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.upstream = Upstream(self.log_dir)
        self.ours: OurServer | None = None
        self.litellm: LiteLLMProxy | None = None
        self.details: dict[str, Any] = {}
        self.idle_rss: dict[str, float] = {}
        self.notes: list[str] = []
        self._sdk: openai.AsyncOpenAI | None = None

    def pick(self, full: T, quick: T, smoke: T) -> T:
        """The sample size for this run's level: full, quick, or smoke (the test's)."""
        return {"full": full, "quick": quick, "smoke": smoke}[self.level]

    async def start_servers(self) -> None:
        """Our server and LiteLLM, each measured idle after one request."""
        if self.ours is not None:
            return
        await self.upstream.ready()
        ours = OurServer(self.upstream, self.log_dir, self.work_dir / "ours")
        ours.data_dir.mkdir()
        self.ours = ours
        await ours.start()
        [conv] = await ours.conversations(1)
        await self._warm(ours, conv)
        if self.want_litellm:
            if LiteLLMProxy.available():
                proxy = LiteLLMProxy(self.upstream, self.log_dir, self.work_dir, MODELS)
                self.litellm = proxy
                await proxy.start()
                await self._warm(proxy, conv)
            else:
                self.notes.append(
                    "LiteLLM not measured: .venv-litellm is missing (`make bench` creates it)."
                )
        idle = await self.floor("idle")
        self.idle_rss["direct_sdk"] = idle["rss"] / MB

    async def _warm(self, target: Any, conv: Any) -> None:
        path, body = target.request(conv, "bench-c5-d0")
        result = await stream_once(target.endpoint, path, body, limit=60)
        if not result.ok:
            raise RuntimeError(f"{target.name} failed its first request: {result.error}")
        await asyncio.sleep(1.0)
        self.idle_rss[target.name] = target.process.rss_bytes() / MB

    def sdk_client(self) -> openai.AsyncOpenAI:
        if self._sdk is None:
            self._sdk = openai.AsyncOpenAI(
                base_url=self.upstream.url, api_key="sk-bench", max_retries=0
            )
        return self._sdk

    async def floor(self, *args: str) -> dict[str, Any]:
        """Run `benchmarks.floor` on the servers' CPU; its JSON answer."""
        cpu = server_cpu()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.floor",
            "--base-url",
            self.upstream.url,
            *args,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
        )
        out, err = await asyncio.wait_for(process.communicate(), 180)
        if process.returncode != 0:
            raise RuntimeError(f"benchmarks.floor {' '.join(args)} failed:\n{err.decode()[-2000:]}")
        return json.loads(out)

    async def stop(self) -> None:
        if self._sdk is not None:
            await self._sdk.close()
        for server in (self.litellm, self.ours):
            if server is not None:
                with contextlib.suppress(Exception):
                    await server.stop()
        await asyncio.to_thread(self.upstream.process.stop)


def _progress(line: str) -> None:
    print(f"… {line}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "commit": commit,
        "server_cpu": server_cpu(),
        "generator_cpu": generator_cpu(),
    }


async def run(names: list[str], *, level: str, litellm: bool) -> dict[str, Any]:
    """Run the named core suites; the results (rows, details, machine) as a dict."""
    began = time.monotonic()
    facts = machine()
    rows: list[Row] = []
    failures: dict[str, str] = {}
    with scratch("bench-") as work_dir:
        bench = Bench(level=level, litellm=litellm, work_dir=work_dir)
        try:
            await bench.upstream.ready()
            for name in [n for n in CORE if n in names]:
                suite = CORE[name]
                try:
                    if suite.servers and bench.ours is None:
                        begun = time.monotonic()
                        await bench.start_servers()
                        _progress(f"servers started ({time.monotonic() - begun:.1f} s)")
                    begun = time.monotonic()
                    rows.extend(await suite.measure(bench))
                    _progress(f"{name} ({time.monotonic() - begun:.1f} s)")
                except Exception as error:  # one suite failing must not lose the others
                    failures[name] = f"{type(error).__name__}: {error}"
                    _progress(f"{name} failed: {failures[name]}")
            for row in rows:  # LiteLLM's startup was timed when it started, after ours'
                if row.key == "startup" and bench.litellm is not None:
                    row.litellm = bench.litellm.startup_seconds
                    bench.details["startup"]["litellm_s"] = row.litellm
        finally:
            await bench.stop()
    facts["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "level": level,
        "duration_s": round(time.monotonic() - began, 1),
        "machine": facts,
        "litellm": litellm_requirement() if bench.litellm is not None else None,
        "rows": [row.as_json() for row in rows],
        "details": bench.details,
        "failures": failures,
        "notes": bench.notes,
        "_rows": rows,
    }


def render(results: dict[str, Any], console: Console) -> None:
    facts = results["machine"]
    rows: list[Row] = results["_rows"]
    title = (
        f"assistant benchmarks — {facts['cpus']} x {facts['cpu_model'] or 'CPU'}, "
        f"load {facts['load_average'][0]:.2f} → {facts['load_average_after'][0]:.2f}, "
        f"commit {facts['commit']}, {results['duration_s']:.0f} s"
        + ("" if results["level"] == "full" else f" ({results['level']})")
    )
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("ours", justify="right")
    table.add_column("floor (direct)", justify="right")
    table.add_column("LiteLLM", justify="right")
    table.add_column("target", justify="right")
    table.add_column("x better than LiteLLM", justify="right")
    table.add_column("", justify="center")
    for row in rows:
        verdict = row.verdict()
        style = "green" if verdict == "PASS" else "red" if verdict == "MISS" else ""
        ratio = row.vs_litellm
        table.add_row(
            row.metric,
            number(row.ours),
            number(row.floor),
            number(row.litellm),
            row.target_text(),
            f"{ratio:.1f}x" if ratio is not None else "—",
            f"[{style}]{verdict}[/{style}]" if style else verdict,
        )
    console.print(table)
    console.print(
        f"ours: `assistant serve orchestrator` pinned to CPU {facts['server_cpu']} (LiteLLM "
        f"{results['litellm'] or 'not run'}, same CPU); upstream and load generator on CPU "
        f"{facts['generator_cpu']}; PostgreSQL unpinned."
    )
    for row in rows:
        if row.note:
            console.print(f"  {row.metric.strip()}: {row.note}")
    for note in results["notes"]:
        console.print(f"[yellow]{note}[/yellow]")
    for name, failure in results["failures"].items():
        console.print(f"[red]{name} failed: {failure}[/red]")


def save(results: dict[str, Any], path: Path = RESULTS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {key: value for key, value in results.items() if not key.startswith("_")}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def run_extra(name: str) -> int:
    print(f"\n== {name} ({' '.join(EXTRAS[name])})", flush=True)
    return subprocess.call([sys.executable, *EXTRAS[name]], cwd=ROOT)

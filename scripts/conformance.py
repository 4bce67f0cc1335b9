"""Run the official MCP conformance suite against the hub's client, both revisions.

    python scripts/conformance.py [--tools DIR] [--jobs N] [--revision R ...] [--out DIR]

Each client scenario of `@modelcontextprotocol/conformance` that applies to a revision is
run on its own (`conformance client --scenario S --spec-version R`) with
`assistant mcp conformance-client` as the client, a few at a time: the suite's own
`--suite all` starts every scenario at once, which on a small machine makes clients time
out. Prints passed/total checks per scenario and revision; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REVISIONS = ("2025-11-25", "2026-07-28")
_LINE = re.compile(r"^\s*-\s+(\S+)\s+\[([^\]]*)\]")


async def _output(*command: str, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    out, _ = await process.communicate()
    return out.decode(errors="replace")


def _scenarios(listing: str, revision: str) -> list[str]:
    names: list[str] = []
    for line in listing.splitlines():
        match = _LINE.match(line)
        if match and revision in [v.strip() for v in match.group(2).split(",")]:
            names.append(match.group(1))
    return names


def _score(directory: Path) -> tuple[int, int, list[str]]:
    """(passed, scored, failed check ids) from a scenario's checks.json files."""
    passed = scored = 0
    failed: list[str] = []
    for path in directory.rglob("checks.json"):
        for check in json.loads(path.read_text()):
            if check["status"] == "SUCCESS":
                passed += 1
                scored += 1
            elif check["status"] in ("FAILURE", "WARNING"):
                scored += 1
                failed.append(check["id"])
    return passed, scored, failed


async def _run(
    conformance: str,
    client: str,
    scenario: str,
    revision: str,
    out: Path,
    env: dict[str, str],
    gate: asyncio.Semaphore,
    timeout_ms: int,
) -> tuple[str, str, int, int, list[str], float]:
    directory = out / revision / scenario.replace("/", "_")
    async with gate:
        started = time.monotonic()
        log = await _output(
            conformance,
            "client",
            "--command",
            client,
            "--scenario",
            scenario,
            "--spec-version",
            revision,
            "--timeout",
            str(timeout_ms),
            "-o",
            str(directory),
            env=env,
        )
        took = time.monotonic() - started
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "run.log").write_text(log)
    passed, scored, failed = _score(directory)
    if scored == 0:
        failed = ["no checks ran (see run.log)"]
    return revision, scenario, passed, scored, failed, took


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=Path, default=ROOT / ".tools" / "node")
    parser.add_argument("--jobs", type=int, default=max(2, (os.cpu_count() or 2) * 2))
    parser.add_argument("--revision", action="append", choices=REVISIONS)
    parser.add_argument("--out", type=Path, default=ROOT / ".tools" / "conformance-results")
    parser.add_argument("--timeout", type=int, default=120_000, help="Per client, in ms.")
    args = parser.parse_args()
    bin_dir = args.tools / "node_modules" / ".bin"
    conformance = bin_dir / "conformance"
    if not conformance.exists():
        print(f"{conformance} is missing: run `make conformance`", file=sys.stderr)
        return 2
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    assistant = Path(sys.executable).with_name("assistant")
    client = f"{assistant} mcp conformance-client"
    shutil.rmtree(args.out, ignore_errors=True)
    listing = await _output(str(conformance), "list", "--client", env=env)
    gate = asyncio.Semaphore(args.jobs)
    revisions = args.revision or list(REVISIONS)
    jobs = [
        _run(str(conformance), client, scenario, revision, args.out, env, gate, args.timeout)
        for revision in revisions
        for scenario in _scenarios(listing, revision)
    ]
    if not jobs:
        print("No client scenarios found:\n" + listing, file=sys.stderr)
        return 2
    started = time.monotonic()
    results = await asyncio.gather(*jobs)
    ok = True
    for revision in revisions:
        rows = [r for r in results if r[0] == revision]
        passed = sum(r[2] for r in rows)
        scored = sum(r[3] for r in rows)
        clean = sum(1 for r in rows if not r[4])
        print(f"\n{revision}: {passed}/{scored} checks, {clean}/{len(rows)} scenarios")
        for _, scenario, got, total, failed, took in rows:
            mark = "ok " if not failed else "FAIL"
            detail = f"  failed: {', '.join(failed)}" if failed else ""
            print(f"  {mark} {scenario:45s} {got:3d}/{total:<3d} {took:5.1f}s{detail}")
            ok = ok and not failed
    took = time.monotonic() - started
    print(f"\n{len(results)} scenario runs in {took:.0f} s; logs in {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""`python -m benchmarks [SUITE ...] [--quick] [--no-litellm] [--extras]`: one table.

Runs the core suites (all by default) against our server, the fake upstream called directly
(the floor) and LiteLLM's proxy, prints one table and writes `benchmarks/results/latest.json`.
`--extras` then runs the stand-alone benchmarks (MCP hub, knowledge store, local model).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from benchmarks.processes import generator_cpu, pin
from benchmarks.suite import CORE, EXTRAS, RESULTS, render, run, run_extra, save


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help=f"core: {', '.join(CORE)}; extra: {', '.join(EXTRAS)} (default: every core suite)",
    )
    parser.add_argument("--quick", action="store_true", help="Fewer samples (about 3 minutes).")
    parser.add_argument(
        "--smoke", action="store_true", help="The fewest samples: that the harness works."
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"default: {RESULTS}")
    parser.add_argument("--no-litellm", action="store_true", help="Leave LiteLLM out.")
    parser.add_argument("--extras", action="store_true", help="Then run the extra suites too.")
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in CORE and name not in EXTRAS]
    if unknown:
        parser.error(f"unknown suites: {', '.join(unknown)}")
    core = [name for name in args.suites if name in CORE] or ([] if args.suites else list(CORE))
    extras = [name for name in args.suites if name in EXTRAS] or (
        list(EXTRAS) if args.extras else []
    )
    level = "smoke" if args.smoke else "quick" if args.quick else "full"
    status = 0
    if core:
        # The load generator shares the upstream's CPU, never the measured server's.
        pin(generator_cpu())
        try:
            import uvloop

            results = uvloop.run(run(core, level=level, litellm=not args.no_litellm))
        except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
            import asyncio

            results = asyncio.run(run(core, level=level, litellm=not args.no_litellm))
        console = Console(width=max(Console().width, 140))
        render(results, console)
        console.print(f"results: {save(results, args.output)}")
        status = 1 if results["failures"] else 0
    for name in extras:
        status = run_extra(name) or status
    return status


if __name__ == "__main__":
    sys.exit(main())

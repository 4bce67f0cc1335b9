"""`python -m benchmarks` in its smallest form, against our server, so the harness cannot rot.

It starts the fake upstream, our server on a fresh database and the SDK floor, runs every
core suite with a handful of samples, and checks that the table and the JSON hold every
metric with a figure for ours. LiteLLM is left out (it needs `.venv-litellm`).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
METRICS = {
    "startup",
    "ttft.p50",
    "ttft.added_p50",
    "ttft.added_p99",
    "history.ratio",
    "burst.p99",
    "cpu.per_chunk",
    "memory.idle",
    "memory.per_stream",
    "streams.held",
}
# Figures that are differences (added time) may come out at or below zero on a quiet run.
SIGNED = {"ttft.added_p50", "ttft.added_p99"}


@pytest.mark.postgres
@pytest.mark.timeout(90)
def test_the_benchmark_table_has_a_figure_for_every_metric(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--no-litellm", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=80,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "assistant benchmarks" in done.stdout
    results = json.loads(output.read_text())
    assert results["failures"] == {}
    rows = {row["key"]: row for row in results["rows"]}
    assert set(rows) == METRICS
    for key, row in rows.items():
        ours = row["ours"]
        assert isinstance(ours, int | float) and math.isfinite(ours), (key, ours)
        if key not in SIGNED:
            assert ours > 0, (key, ours)
        assert row["metric"].strip() in done.stdout
        assert row["litellm"] is None
    # The floor was measured beside ours wherever it has one.
    for key in ("ttft.p50", "history.ratio", "burst.p99", "cpu.per_chunk", "memory.idle"):
        assert rows[key]["floor"] > 0, key
    assert results["machine"]["cpus"] >= 1

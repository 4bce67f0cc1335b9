"""`python -m benchmarks.frontend --smoke`, so that the browser chat's benchmark cannot rot.

It checks that both figures come out (a time to open the long conversation, and relay
lateness with every chunk delivered both ways), not how good they are: that is the
benchmark's job, on a quiet machine.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_the_front_end_benchmark_measures_opening_and_relaying(tmp_path: Path) -> None:
    output = tmp_path / "frontend.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.frontend", "--smoke", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert output.exists(), done.stdout + done.stderr
    results = json.loads(output.read_text())
    opened = results["open"]
    assert math.isfinite(opened["open_long_ms"]) and opened["open_long_ms"] > 0
    assert math.isfinite(opened["open_short_ms"]) and opened["open_short_ms"] > 0
    assert opened["frames"] > 100
    assert opened["rows_drawn_after_scrolling"] > 60  # scrolling up drew older turns
    (level,) = results["relay"]
    assert level["sse_chunks"] == level["relay_chunks"] == "100/100"
    assert level["sse_failures"] == level["relay_failures"] == 0
    assert "time to open a 1,000-message conversation" in done.stdout

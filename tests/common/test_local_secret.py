"""Secrets generated for a local setup: one value, shared by every process, owner-only."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common.settings import local_secret


def test_processes_starting_at_once_agree_on_one_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ThreadPoolExecutor(max_workers=8) as pool:
        values = set(pool.map(lambda _: local_secret(data, "jwt-secret"), range(32)))
    assert len(values) == 1
    (value,) = values
    assert len(value) >= 48
    assert stat.S_IMODE((data / "jwt-secret").stat().st_mode) == 0o600
    assert [path.name for path in data.iterdir()] == ["jwt-secret"]  # no draft left behind


def test_a_kept_secret_is_read_back_not_replaced(tmp_path: Path) -> None:
    (tmp_path / "frontend-secret-key").write_text("kept-from-last-time\n")
    assert local_secret(tmp_path, "frontend-secret-key") == "kept-from-last-time"

"""Files in a local folder: drafts renamed into place, leftovers of a crash swept."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from orchestrator.domain import NotFound
from orchestrator.storage import LocalStorage

pytestmark = pytest.mark.anyio


async def test_a_file_appears_under_its_key_only_when_committed(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    storage.open()
    upload = await storage.begin("files/abc", "text/plain")
    await upload.write(b"half ")
    assert not (tmp_path / "files" / "files" / "abc").exists()
    await upload.write(b"and whole")
    await upload.commit()
    assert b"".join([c async for c in storage.read("files/abc")]) == b"half and whole"
    assert list((tmp_path / "files" / ".incoming").iterdir()) == []

    aborted = await storage.begin("files/def", "text/plain")
    await aborted.write(b"never")
    await aborted.abort()
    assert list((tmp_path / "files" / ".incoming").iterdir()) == []
    with pytest.raises(NotFound):
        [c async for c in storage.read("files/def")]


def test_opening_sweeps_drafts_a_crash_left_behind_but_not_live_ones(tmp_path: Path) -> None:
    incoming = tmp_path / ".incoming"
    incoming.mkdir()
    stale, live = incoming / "old.part", incoming / "new.part"
    stale.write_bytes(b"x")
    live.write_bytes(b"y")
    hours_ago = time.time() - 7200
    os.utime(stale, (hours_ago, hours_ago))
    LocalStorage(tmp_path).open(stale_after=3600)
    assert sorted(p.name for p in incoming.iterdir()) == ["new.part"]


@pytest.mark.parametrize("key", ["../escape", "files/../../x", "/abs", "files/a b", ""])
async def test_a_key_outside_the_folder_is_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        await LocalStorage(tmp_path).begin(key, "text/plain")

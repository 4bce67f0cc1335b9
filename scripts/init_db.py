"""Create or upgrade the database schema (the same as `assistant db upgrade`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestrator.cli import app

if __name__ == "__main__":
    app(["db", "upgrade"])

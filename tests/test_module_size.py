"""No module of ours grows past 500 lines: past that, a module holds more than one concept.

Migrations are generated and exempt.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("orchestrator", "mcp_servers", "frontend")
MAX_LINES = 500


def _modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def test_the_packages_have_modules_to_measure() -> None:
    assert len(_modules()) > 50


def test_no_module_is_over_500_lines() -> None:
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in _modules()}
    over = {
        str(path.relative_to(ROOT)): lines for path, lines in sizes.items() if lines > MAX_LINES
    }
    assert not over, f"Modules over {MAX_LINES} lines (split them by concept): {over}"

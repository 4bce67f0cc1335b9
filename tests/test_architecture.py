"""ARCHITECTURE.md says what the import-linter contracts enforce, and names what exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "importlinter"
]["contracts"]
LAYERS = "Layers: api > runtime > adapters > domain"


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", PAGE, re.M | re.S)
    assert match, f"ARCHITECTURE.md has no section {title!r}"
    return match.group(1)


def test_the_layers_drawn_are_the_layers_enforced() -> None:
    block = re.search(r"```\n(.*?)```", _section("Layers of the orchestrator"), re.S)
    assert block, "the layers section has no code block"
    drawn = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    (contract,) = [c for c in CONTRACTS if c["name"] == LAYERS]
    assert drawn == contract["layers"]


def test_every_contract_is_listed_and_every_listed_contract_exists() -> None:
    listed = re.findall(r'^- "(.+)"$', _section("The contracts"), re.M)
    assert sorted(listed) == sorted(c["name"] for c in CONTRACTS)


def test_every_package_and_top_module_has_a_home_in_the_table() -> None:
    table = _section("Where each concern lives")
    homes = set(re.findall(r"\| `([^`]+)` \|$", table, re.M))
    orchestrator = ROOT / "orchestrator"
    parts = {
        f"orchestrator/{path.name}"
        for path in orchestrator.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.name != "__init__.py")
    }
    parts |= {"orchestrator/migrations", "mcp_servers", "frontend", "common"}
    assert parts <= homes, f"not in the table: {sorted(parts - homes)}"
    assert homes <= parts, f"in the table but not in the tree: {sorted(homes - parts)}"


def test_every_path_the_page_names_exists() -> None:
    named = set(re.findall(r"`((?:orchestrator|mcp_servers|frontend|common)/[\w/.]+)`", PAGE))
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert not missing, f"ARCHITECTURE.md names paths that do not exist: {missing}"

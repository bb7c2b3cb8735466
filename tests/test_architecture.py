"""The dependency rules only protect the slices they name: every slice must be named."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import keepwell

ROOT = Path(__file__).resolve().parents[1]


def test_every_slice_is_covered_by_the_import_contracts() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    contracts = {c["name"]: c for c in config["contracts"]}
    forbidden_for_core = set(contracts["core imports no slice"]["forbidden_modules"])
    slices = {
        f"keepwell.{m.name}"
        for m in pkgutil.iter_modules(keepwell.__path__)
        if m.ispkg and m.name not in {"core"}
    }
    assert slices <= forbidden_for_core, f"add to pyproject: {sorted(slices - forbidden_for_core)}"

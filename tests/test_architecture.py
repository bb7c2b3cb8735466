"""The layering rules (pyproject's import-linter contracts, types in tests/layering.py)
protect what they name: every slice is named, the rules find the pure modules by
themselves, and no slice module but a face reaches the web layer."""

from __future__ import annotations

import pkgutil
import re
import tomllib
from pathlib import Path
from typing import Any

import grimp
import pytest

import keepwell
from tests.layering import Allowance, _matches, pure_modules

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "keepwell"
FACES = ["keepwell.*.api", "keepwell.*.cli", "keepwell.*.*_cli", "keepwell.*.pages"]
#: Raw-connection uses left in a slice, with why: each must go (the test fails once it has).
RAW_LEFT: dict[str, str] = {}  # path -> why it still reaches a raw connection


def _config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
    linter: dict[str, Any] = config["tool"]["importlinter"]
    return linter


def _contract(kind: str) -> dict[str, Any]:
    return next(c for c in _config()["contracts"] if c["type"] == kind)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("keepwell", include_external_packages=True, cache_dir=None)


def test_every_slice_is_covered_by_the_import_contracts() -> None:
    contracts = {c["name"]: c for c in _config()["contracts"]}
    forbidden_for_core = set(contracts["core imports no slice"]["forbidden_modules"])
    slices = {
        f"keepwell.{m.name}"
        for m in pkgutil.iter_modules(keepwell.__path__)
        if m.ispkg and m.name not in {"core"}
    }
    assert slices <= forbidden_for_core, f"add to pyproject: {sorted(slices - forbidden_for_core)}"


def test_patterns_name_modules_by_their_parts() -> None:
    assert _matches("keepwell.risk.service", ["keepwell.*.service"])
    assert not _matches("keepwell.risk.service_x", ["keepwell.*.service"])
    assert _matches("keepwell.core", ["keepwell.core.**"])
    assert _matches("keepwell.core.a.b", ["keepwell.core.**"])
    assert not _matches("keepwell.corex", ["keepwell.core.**"])
    assert _matches("keepwell.success.plans_cli", ["keepwell.*.*_cli"])
    assert _matches("keepwell.risk.model", ["keepwell.{slice}.**"], "risk")
    assert not _matches("keepwell.health.model", ["keepwell.{slice}.**"], "risk")


def test_every_exception_and_declared_io_module_gives_its_reason() -> None:
    for contract in _config()["contracts"]:
        for text in contract.get("exceptions", []):
            assert Allowance.parse(text).reason
        for text in contract.get("declared_io", []):
            assert text.partition(":")[2].strip(), text
        assert "ignore_imports" not in contract, "name the exception with its reason instead"
    with pytest.raises(ValueError, match="importer -> imported: reason"):
        Allowance.parse("keepwell.a -> keepwell.b")


def test_the_pure_modules_are_found_by_the_rule_not_listed(graph: grimp.ImportGraph) -> None:
    pure = set(pure_modules(graph, _contract("pure_by_default")))
    for module in ("keepwell.health.usage", "keepwell.revenue.movements",
                   "keepwell.portfolio.directory", "keepwell.portfolio.account",
                   "keepwell.risk.forecast", "keepwell.success.rules"):  # fmt: skip
        assert module in pure
    for module in ("keepwell.health.service", "keepwell.portfolio.pages", "keepwell.success.board"):
        assert module not in pure
    assert len(pure) > 60


def test_no_slice_module_but_a_face_imports_the_web_layer(graph: grimp.ImportGraph) -> None:
    importers = {
        importer
        for module in graph.find_children("keepwell.web") | {"keepwell.web"}
        for importer in graph.find_modules_that_directly_import(module)
    }
    outside = sorted(
        m
        for m in importers
        if not m.startswith(("keepwell.web", "keepwell.server"))
        and m != "keepwell.cli"
        and not _matches(m, FACES)
    )
    assert outside == []


def test_no_face_or_slice_hides_an_import_or_uses_a_raw_connection() -> None:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(("core/", "migrations/")):
            continue
        if re.search(r"import_module|con\.con\b", path.read_text()):
            found.add(relative)
    assert found == set(RAW_LEFT)


def test_no_slice_reads_the_app_state_but_through_typed_dependencies() -> None:
    """Routes and pages take the workspace, lock and settings as typed dependencies
    (web/deps.py); only the server (which fills it) and web/state.py read ``app.state``."""
    found = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if not path.relative_to(PACKAGE).as_posix().startswith(("server/", "web/state.py"))
        and re.search(r"\bapp\.state\.", path.read_text())
    )
    assert found == []


def test_no_two_slices_ship_a_template_of_the_same_name() -> None:
    """The page toolkit searches every slice's templates/ folder in one loader, so a
    second ``team.html`` silently renders the first slice's page (a 500 on /team)."""
    root = Path(keepwell.__file__).parent
    seen: dict[str, str] = {}
    for folder in sorted(root.glob("*/templates")):
        for path in folder.rglob("*.html"):
            name = str(path.relative_to(folder))
            assert name not in seen, f"{name} in {seen.get(name)} and {folder.parent.name}"
            seen[name] = folder.parent.name


def test_no_two_routes_answer_the_same_method_and_path(sqlite_workspace: Any) -> None:
    """Two slices declaring GET /team: the first one mounted wins and the other page is
    unreachable."""
    from fastapi.routing import APIRoute

    from tests.web.helpers import make_app

    routes = [r for r in make_app(sqlite_workspace).routes if isinstance(r, APIRoute)]
    pairs = [(m, r.path) for r in routes for m in sorted(r.methods)]
    assert sorted(p for p in set(pairs) if pairs.count(p) > 1) == []

"""The floors import one way down: faces → library → engine → indexer (docs/architecture.md)."""
import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

FLOORS = {"indexer": 0, "engine": 1, "policyqa": 2, "qa_server": 3, "policyqa_cli": 3}
WEB = ("fastapi", "starlette", "uvicorn", "pydantic", "pydantic_settings", "qa_server", "policyqa_cli")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_each_floor_imports_only_the_floors_below(package):
    for path in modules(package):
        above = {name for name in imports_of(path) if FLOORS.get(name, -1) > FLOORS[package]}
        assert not above, f"{path.relative_to(ROOT)} imports {above}, a floor above it"


def test_the_library_knows_nothing_of_the_web():
    for path in modules("policyqa"):
        assert not imports_of(path) & set(WEB), path.relative_to(ROOT)


def test_only_the_engine_reads_index_arrays():
    for package in ("policyqa", "qa_server", "policyqa_cli"):
        for path in modules(package):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            imported = {a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                        and node.module in ("indexer.store", "indexer.bm25") for a in node.names}
            assert not imported & {"load_index", "StoredIndex", "LazyClauses", "score", "top_k"}, \
                path.relative_to(ROOT)


def test_no_module_keeps_a_cache_of_data():
    """Data files are read by indexer.resources and travel in Resources; the settings getter is the one cache."""
    for package in FLOORS:
        for path in modules(package):
            if path.name == "settings.py":
                continue
            text = path.read_text(encoding="utf-8")
            assert "@cache" not in text and "@lru_cache" not in text, path.relative_to(ROOT)

"""The layout tells the architecture: a pure core, services over models, thin adapters."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tracker"
ADAPTERS = [
    *sorted((PACKAGE / "api").glob("*.py")),
    *sorted((PACKAGE / "ui").glob("*.py")),
    PACKAGE / "cli.py",
]
SQL_CALLS = {"execute_sql", "select", "insert", "insert_many", "delete", "raw"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_the_core_imports_only_the_standard_library_and_the_core(path):
    allowed = sys.stdlib_module_names | {"tracker.core"}
    outside = {
        name
        for name in _imports(path)
        if name.split(".")[0] not in allowed and not name.startswith("tracker.core")
    }
    assert outside == set()


@pytest.mark.parametrize("path", ADAPTERS, ids=lambda p: p.name)
def test_adapters_never_touch_models_or_write_sql(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not _imports(path) & {"tracker.models", "peewee"}
    assert not calls & SQL_CALLS


def test_only_the_clock_module_reads_the_clock():
    readers = [
        p.name
        for p in PACKAGE.rglob("*.py")
        if "datetime.now(" in p.read_text(encoding="utf-8") and p.name != "clock.py"
    ]
    assert readers == []

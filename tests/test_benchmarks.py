"""The benchmarks in bench/ keep working as the package changes.

They import the package lazily, inside the functions a run reaches (a worker process imports
only what it measures), so neither mypy, ruff nor an import of the script notices a name that
moved: a benchmark would fail only when someone runs its set-up, maybe days later.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _package_imports(script: Path) -> list[tuple[int, str, str]]:
    imports = []
    for node in ast.walk(ast.parse(script.read_text(), str(script))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sociaalwerk_publisher"):
            imports.extend((node.lineno, node.module or "", alias.name) for alias in node.names)
    return imports


@pytest.mark.parametrize("script", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_every_name_a_benchmark_imports_from_the_package_exists(script: Path) -> None:
    missing = []
    for line, module, name in _package_imports(script):
        try:
            found = importlib.import_module(module)
        except ImportError as e:
            missing.append(f"{script.name}:{line}: {module} ({e})")
            continue
        if not hasattr(found, name):
            try:
                importlib.import_module(f"{module}.{name}")  # a submodule
            except ImportError:
                missing.append(f"{script.name}:{line}: {module}.{name}")
    assert not missing, "\n".join(missing)


def test_the_benchmarks_are_checked_at_all() -> None:
    assert len(_package_imports(BENCH / "coverage.py")) >= 10

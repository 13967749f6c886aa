"""The layout holds: services never import FastAPI or the API, models never import services, and
no services package imports one above it (the order in services/__init__.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ORDER = ["trust", "barcodes", "dock", "line", "genealogy", "quality"]
SHARED = {"errors", "config", "db", "clock", "cache", "locks"}


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, as dotted names (`from a import b` yields a and a.b)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_every_services_module_is_in_a_known_package() -> None:
    for path in modules("services"):
        parts = path.relative_to(ROOT / "services").parts
        if len(parts) == 1:
            assert path.stem in SHARED | {"__init__"}, f"{path}: put it in a package"
        else:
            assert parts[0] in ORDER, f"{path}: package {parts[0]} is not in the order"


@pytest.mark.parametrize("package", ORDER)
def test_a_package_imports_only_packages_below_it(package: str) -> None:
    allowed = set(ORDER[: ORDER.index(package) + 1])
    for path in modules(f"services/{package}"):
        for name in imported_modules(path):
            parts = name.split(".")
            if parts[0] != "services" or len(parts) < 2 or parts[1] in SHARED:
                continue
            assert parts[1] in allowed, f"{path.relative_to(ROOT)} imports {name}"


def test_shared_modules_import_no_package() -> None:
    for stem in SHARED:
        for name in imported_modules(ROOT / "services" / f"{stem}.py"):
            parts = name.split(".")
            if parts[0] == "services" and len(parts) > 1:
                assert parts[1] in SHARED, f"services/{stem}.py imports {name}"


def test_services_know_nothing_of_http_and_models_nothing_of_services() -> None:
    for path in modules("services"):
        for name in imported_modules(path):
            top = name.split(".")[0]
            assert top not in {"fastapi", "starlette", "api"}, f"{path} imports {name}"
    for path in modules("models"):
        for name in imported_modules(path):
            assert name.split(".")[0] not in {"services", "api"}, f"{path} imports {name}"

"""The test server is not part of the product: nothing in it imports stripe_local, and only the dev
dependency group installs it."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("billing_pipeline", "quotas_api")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_no_module_of_the_product_imports_the_test_server() -> None:
    importing = [str(path.relative_to(REPO)) for package in PRODUCT for path in sorted((REPO / package).rglob("*.py"))
                 if any(name.split(".")[0] == "stripe_local" for name in _imported_modules(path))]

    assert importing == []
    assert not (REPO / "billing_pipeline" / "stripe_local").exists()


def test_the_wheel_holds_the_product_and_only_the_dev_group_installs_the_test_server() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())

    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == list(PRODUCT)
    assert not any(dependency.startswith("stripe-local") for dependency in project["project"]["dependencies"])
    assert "stripe-local" in project["dependency-groups"]["dev"]
    assert project["tool"]["uv"]["sources"]["stripe-local"] == {"path": "tests/support/stripe-local", "editable": True}

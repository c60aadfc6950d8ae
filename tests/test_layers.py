"""The house's arrows point inward: the core imports no shell, and no shell another's front.

The shells meet in :mod:`ertplan.app` (the composition root) and in the service's actions; what
several of them share (number formatting, the cache) lives below them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "ertplan"
SHELLS = ("cli", "service", "web", "store", "documents", "interop")
# what a shell may not import: another shell's routes, pages or renderers
FRONTS = {
    "cli": ("ertplan.cli",),
    "web": ("ertplan.web",),
    "routers": ("ertplan.service.routers",),
    "interop": ("ertplan.interop.routers",),
}
# interop's pure mappings: hospital formats from and to the core's values, no store, no network
PURE_INTEROP = ("cds.py", "fhir.py")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name.startswith("ertplan")}


def modules_of(package: str) -> list[Path]:
    return sorted((SOURCE / package).rglob("*.py"))


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("path", modules_of("core"), ids=lambda path: path.stem)
def test_the_core_imports_no_shell(path: Path) -> None:
    shells = [f"ertplan.{shell}" for shell in SHELLS]
    found = [name for name in imported_modules(path)
             if any(_within(name, shell) for shell in shells) or name == "ertplan.app"]
    assert not found, f"{path.relative_to(SOURCE)} imports {found}"


@pytest.mark.parametrize("shell", SHELLS)
def test_no_shell_imports_another_shells_front(shell: str) -> None:
    forbidden = [prefix for front, prefixes in FRONTS.items() if front != shell
                 for prefix in prefixes]
    if shell == "service":  # the service owns its routers; it must not reach the CLI or the pages
        forbidden = [prefix for prefix in forbidden if prefix != "ertplan.service.routers"]
    found = {f"{path.relative_to(SOURCE)}: {name}" for path in modules_of(shell)
             for name in imported_modules(path)
             if any(_within(name, prefix) for prefix in forbidden)}
    assert not found, sorted(found)


@pytest.mark.parametrize("name", PURE_INTEROP)
def test_interops_mappings_import_only_the_core(name: str) -> None:
    found = [module for module in imported_modules(SOURCE / "interop" / name)
             if not (_within(module, "ertplan.core") or _within(module, "ertplan.interop.cds")
                     or _within(module, "ertplan.interop.fhir"))]
    assert not found, f"interop/{name} imports {found}"


def test_only_the_composition_root_mounts_both_the_api_and_the_pages() -> None:
    text = (SOURCE / "app.py").read_text(encoding="utf-8")
    assert "service.install(app)" in text
    assert "interop.install(app)" in text
    assert "web.install(app)" in text

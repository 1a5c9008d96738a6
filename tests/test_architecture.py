"""The layers of DESIGN.md, read from the source: beat → devices → schedules → the pure
recurrence module, alerts → devices, every app → project's kit, and project imports no app
(outside its URL wiring). Every import counts, also one inside a function; only imports for
type checking (`if TYPE_CHECKING:`) do not, since they never run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("project", "schedules", "devices", "beat", "alerts")
# What each package may import, besides itself (and anything outside the project).
ALLOWED = {
    "project": set(),
    "schedules": {"project"},
    "devices": {"schedules", "project"},
    "beat": {"devices", "schedules", "project"},
    "alerts": {"devices", "schedules", "project"},
}
URL_WIRING = {"project.urls"}  # may look up into the apps (DESIGN.md, Layout)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, known: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            found |= _imports(ast.Module(body=node.orelse, type_ignores=[]), known)
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names} & known
        found |= _imports(node, known)
    return found


def _graph() -> dict[str, set[str]]:
    paths: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py") if (ROOT / package).is_dir() else ():
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            paths[name] = path
    known = set(paths)
    return {
        name: {m for m in _imports(ast.parse(path.read_text()), known) if m in known} - {name}
        for name, path in paths.items()
    }


GRAPH = _graph()


def _package(module: str) -> str:
    return module.split(".")[0]


def test_the_graph_sees_the_code() -> None:
    assert "devices.models" in GRAPH["devices.dispatch.fanout"]
    assert "schedules.models" in GRAPH["devices.models"]


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_imports_only_the_layers_below_it(package: str) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items() if _package(module) == package
        and module not in URL_WIRING
        for target in targets
        if _package(target) != package and _package(target) not in ALLOWED[package]
    )
    assert wrong == []


def test_recurrence_is_pure() -> None:
    source = (ROOT / "schedules" / "recurrence.py").read_text()
    imported = _imports(ast.parse(source), set())
    assert not {m for m in imported if m.split(".")[0] in {"django", *PACKAGES}}, imported


def test_no_import_cycle_between_modules() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in GRAPH[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []


def test_the_beat_reaches_the_devices_only_through_dispatch_and_their_metrics() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items() if _package(module) == "beat"
        for target in targets
        if _package(target) == "devices"
        and not target.startswith("devices.dispatch") and target != "devices.metrics"
    )
    assert wrong == []

"""The package's import graph: stages point one way, and no module imports itself in a cycle.

The stages (docs/ARCHITECTURE.md), lowest first. A module may import modules of its own stage
or of a lower one; an import used only for type hints (under ``if TYPE_CHECKING:``) is not a
dependency and is not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pksim"

STAGES: tuple[tuple[str, ...], ...] = (
    ("pksim", "pksim.units", "pksim.errors", "pksim.rng", "pksim.files", "pksim.checks"),
    ("pksim.model",),
    ("pksim.library",),
    ("pksim.cohort",),
    ("pksim.dosing",),
    ("pksim.modifiers",),
    ("pksim.scenario",),
    ("pksim.contract",),
    ("pksim.engine", "pksim.mipd"),
    ("pksim.results",),
    ("pksim.cli", "pksim.__main__", "pksim.app"),
)
MAX_MODULE_LINES = 450
"""A module longer than this is doing more than one job: split it."""


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _stage(module: str) -> int:
    best = None
    for rank, prefixes in enumerate(STAGES):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[1]
            ):
                best = (rank, len(prefix))
    if best is None:
        raise AssertionError(f"{module} belongs to no stage: add it to STAGES")
    return best[0]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str) -> set[str]:
    """pksim modules imported by ``module`` at run time (lazy imports in functions included)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from package import module" depends on that module, not on the package's own
            # __init__ (which Python has already run while importing anything inside it).
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            found.update(submodules & MODULES.keys() or {node.module})
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name in MODULES and name != module}


GRAPH = {module: _imports(module) for module in MODULES}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_stages(module):
    upward = sorted(name for name in GRAPH[module] if _stage(name) > _stage(module))
    assert not upward, f"{module} (stage {_stage(module)}) imports higher stages: {upward}"


def test_no_import_cycles():
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for name in sorted(GRAPH[module]):
            if name == "pksim" or module == "pksim":
                continue  # the package root only re-exports lazily
            if state.get(name) == 1:
                cycle = [*path[path.index(name) :], name]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if name not in state:
                visit(name)
        path.pop()
        state[module] = 2

    for module in sorted(MODULES):
        if module not in state:
            visit(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines (> {MAX_MODULE_LINES})"

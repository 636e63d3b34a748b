"""pksim.mipd sits beside the engine: it may use model, library, cohort, dosing, modifiers,
scenario and contract, never the engine, the results or the CLI (the CLI imports it)."""

from __future__ import annotations

import ast
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[2] / "pksim" / "mipd"
FORBIDDEN = ("pksim.engine", "pksim.results", "pksim.cli")


def test_mipd_imports_neither_engine_nor_results_nor_cli():
    found = []
    for path in sorted(FOLDER.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [(path.name, n) for n in names if n.startswith(FORBIDDEN)]
    assert not found, found

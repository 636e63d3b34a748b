"""The first release's import paths keep working (with a warning naming the new place)."""

from __future__ import annotations

import contextlib
import importlib
import subprocess
import sys

import pytest

import pksim

PROMISED = {
    "pksim.analysis": ("target_attainment", "format_attainment", "wilson_interval"),
    "pksim.simulate": ("run",),
    "pksim.stream": ("summarize", "attainment_tables"),
    "pksim.model": ("concentrations", "concentrations_general", "steady_state_trough"),
}


@pytest.mark.parametrize("old", sorted(pksim.MOVED_MODULES))
def test_an_old_path_imports_the_new_module_with_a_warning_naming_it(old):
    code = (
        "import warnings, importlib\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    module = importlib.import_module({old!r})\n"
        "print(module.__name__)\n"
        "print(caught[0].message if caught else 'no warning')\n"
    )
    # A fresh interpreter: in this one the old name may already be in sys.modules.
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    new = pksim.MOVED_MODULES[old]
    assert out[0] == new
    assert out[1] == f"{old} moved to {new}; import it from there"


@pytest.mark.parametrize(("path", "names"), sorted(PROMISED.items()))
def test_promised_names_are_reachable_from_their_first_release_paths(path, names):
    moved = path in pksim.MOVED_MODULES
    with pytest.warns(DeprecationWarning) if moved else contextlib.nullcontext():
        if moved:
            sys.modules.pop(path, None)  # an alias entry: the new module itself stays loaded
        module = importlib.import_module(path)
    for name in names:
        assert callable(getattr(module, name)), f"{path}.{name}"

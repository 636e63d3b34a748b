"""The first run after installing is quick: every kernel is cached on disk by numba, and the
warm-up that `make` runs after installing compiles the variants the bundled scenarios use."""

import subprocess
import sys
from pathlib import Path

import pytest
from numba.core.dispatcher import Dispatcher

from pksim.engine.warmup import warm_up
from pksim.model import kernels, kernels_two_compartment

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", [kernels, kernels_two_compartment])
def test_every_kernel_is_cached_on_disk(module):
    dispatchers = [v for v in vars(module).values() if isinstance(v, Dispatcher)]
    assert dispatchers
    for dispatcher in dispatchers:
        assert type(dispatcher._cache).__name__ != "NullCache", dispatcher.py_func.__name__


def test_the_warm_up_compiles_what_a_run_calls():
    seconds = warm_up(["renal-impairment"])
    assert seconds > 0 and kernels.simulate.signatures


def test_make_warms_up_after_installing():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    install = makefile.split("$(STAMP): pyproject.toml", 1)[1].split("\n\n", 1)[0]
    assert "-m pksim.engine.warmup" in install


def test_the_warm_up_runs_as_a_module():
    done = subprocess.run(
        [sys.executable, "-m", "pksim.engine.warmup", "ln-maintenance"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0 and "compiled and cached" in done.stdout, done.stderr

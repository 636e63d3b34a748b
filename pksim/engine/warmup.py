"""Compile the simulation kernels once, ahead of the first run.

numba compiles a kernel on its first call and keeps the machine code on disk (``cache=True``):
every later process loads it in a fraction of a second. ``python -m pksim.engine.warmup``
(run by ``make`` right after installing) simulates :data:`WARM_UP_SUBJECTS` subjects of every
bundled scenario, so that every kernel variant the scenarios use is compiled and cached before
a user's first ``pksim run``. Measured in benchmarks/README.md ("First run after installing").
"""

from __future__ import annotations

import sys
import time

from pksim.engine.run import run

__all__ = ["WARM_UP_SUBJECTS", "warm_up"]

WARM_UP_SUBJECTS = 4
"""Subjects per bundled scenario: enough to call every kernel variant, quick once compiled."""
WARM_UP_SEED = 1


def warm_up(names: list[str] | None = None) -> float:
    """Simulate a few subjects of each bundled scenario (or of ``names``); the seconds taken."""
    from pksim.scenario import list_scenarios, load_scenario

    start = time.perf_counter()
    for name in names if names is not None else list_scenarios():
        run(load_scenario(name), n_subjects=WARM_UP_SUBJECTS, seed=WARM_UP_SEED)
    return time.perf_counter() - start


if __name__ == "__main__":
    seconds = warm_up(sys.argv[1:] or None)
    print(f"pksim: simulation kernels compiled and cached ({seconds:.1f} s)")

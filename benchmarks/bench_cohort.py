"""Cohort sampling speed and memory: covariates, IIV, IOV and residual error.

Workload: the bundled ``chinese-adult-ln`` population and the ``default`` parameter set.
``cohort`` = covariates + individual parameters (what "sampling a cohort" means);
``iov_28d_bid`` = IOV multipliers for 56 doses (28 days, twice daily); ``residual_28`` =
measured troughs with LLOQ flags for 28 samples per subject. Timing: wall clock, median of
repeats (fewer at large sizes); peak memory: tracemalloc peak of one separate call (NumPy
allocations are traced), in MB.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence

import numpy as np

from pksim import cohort
from pksim.library.parameters import load_parameter_set

SEED = 20261121
DAYS = 28
DOSE_TIMES = np.arange(0, DAYS * 24, 12.0)[np.newaxis, :]
POPULATION = "chinese-adult-ln"
PARAMETER_SET = "default"


def _workloads(n: int) -> dict[str, Callable[[], object]]:
    population = cohort.load_population(POPULATION)
    pset = load_parameter_set(PARAMETER_SET)
    cov = cohort.sample_covariates(population, seed=SEED, start=0, stop=n)
    conc = np.full((n, DAYS), 5.0)

    def whole_cohort() -> object:
        c = cohort.sample_covariates(population, seed=SEED, start=0, stop=n)
        return cohort.individual_parameters(pset, c, seed=SEED)

    return {
        "covariates": lambda: cohort.sample_covariates(population, seed=SEED, start=0, stop=n),
        "individual_parameters": lambda: cohort.individual_parameters(pset, cov, seed=SEED),
        "cohort": whole_cohort,
        "iov_28d_bid": lambda: cohort.iov_f_multipliers(
            pset, DOSE_TIMES, seed=SEED, start=0, stop=n
        ),
        "residual_28": lambda: cohort.residual_error(
            pset, conc, seed=SEED, start=0, lloq_ng_per_ml=1.0
        ),
    }


def _peak_mb(call: Callable[[], object]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak / 2**20


def run(sizes: Sequence[int] = (10_000, 100_000, 1_000_000)) -> list[dict]:
    """Rows {name, n, seconds, subjects_per_s, peak_mb} for every workload and size."""
    rows = []
    for n in sizes:
        repeats = 5 if n <= 100_000 else 2
        for name, call in _workloads(n).items():
            call()  # warm caches (data files, imports)
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                call()
                times.append(time.perf_counter() - start)
            seconds = statistics.median(times)
            rows.append(
                {
                    "name": name,
                    "n": n,
                    "seconds": seconds,
                    "subjects_per_s": n / seconds,
                    "peak_mb": _peak_mb(call),
                }
            )
    return rows


def format_rows(rows: Sequence[dict]) -> str:
    """A plain-text table of :func:`run` rows."""
    lines = [f"{'name':<22}{'n':>10}{'seconds':>10}{'subjects/s':>14}{'peak MB':>10}"]
    lines += [
        f"{r['name']:<22}{r['n']:>10}{r['seconds']:>10.3f}{r['subjects_per_s']:>14.3g}"
        f"{r['peak_mb']:>10.1f}"
        for r in rows
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_rows(run()))

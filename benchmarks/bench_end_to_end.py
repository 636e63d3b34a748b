"""End to end: scenario -> attainment tables for 10^5 to 10^7 subjects (issue 7).

Workload: the bundled ``ln-induction`` scenario cut to its first two regimens (3 mg once daily
and 1.5 mg twice daily), 28 days, prednisone 30 mg/day, fasted, the chinese-adult-ln cohort
with IIV, IOV and sampling-time deviation; ``basic`` without its co-medication, ``vori`` with
its voriconazole course on days 15-22 (130 clearance change points per subject).

Modes:

- ``summary``: ``pksim.stream.attainment_tables`` (what ``pksim run --summary-only`` does):
  covariates, parameters, doses, simulation, then PTA tables by regimen and by weight band,
  CYP3A5 genotype, renal impairment and co-medication, histogram percentiles; memory bounded by
  the chunk size;
- ``dataset``: the in-memory baseline, ``pksim.run`` (full Dataset) then
  ``target_attainment`` for the same groupings.

Each measurement runs in a fresh process, so sizes do not share memory: it imports pksim,
warms up (numba cache, data files) on 1000 subjects, then times the call. ``seconds`` is the
wall time of that call, ``us_per_subject`` = seconds / subjects, ``peak_mb`` the child's
peak resident memory (``ru_maxrss``, imports included) and ``base_mb`` its resident memory
after the warm-up, so ``peak_mb - base_mb`` is what the run itself added.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

SIZES = (100_000, 1_000_000)
LARGE_SIZES = (100_000, 1_000_000, 10_000_000)
WORKLOADS = ("basic", "vori")
MODES = ("summary", "dataset")
SCENARIO = "ln-induction"
SUBGROUPS = ("weight_band", "cyp3a5", "renal_impairment", "comedication")
DATASET_LIMIT = 1_000_000
"""Largest cohort run in the in-memory baseline (about 1 kB per subject and regimen)."""
ROOT = Path(__file__).resolve().parents[1]


def _scenario(workload: str):
    from pksim.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    scenario = dataclasses.replace(scenario, regimens=scenario.regimens[:2])
    if workload == "basic":
        scenario = dataclasses.replace(scenario, comedications=())
    return scenario


def _measure(workload: str, mode: str, n: int, threads: int) -> dict:
    """Run in the child process: warm up, then time one end-to-end call."""
    from pksim import engine as simulate
    from pksim.results import attainment as analysis
    from pksim.results import summary as stream

    scenario = _scenario(workload)
    groupings = [("regimen",), *(("regimen", name) for name in SUBGROUPS)]

    def summary(size: int) -> list:
        return stream.attainment_tables(scenario, size, groupings=groupings, threads=threads)

    def dataset(size: int) -> list:
        ds = simulate.run(scenario, size, threads=threads)
        return [analysis.target_attainment(ds, by=by) for by in groupings]

    call = summary if mode == "summary" else dataset
    call(1000)
    base = _rss_mb()
    start = time.perf_counter()
    tables = call(n)
    seconds = time.perf_counter() - start
    return {
        "workload": workload,
        "mode": mode,
        "n": n,
        "threads": threads,
        "seconds": seconds,
        "us_per_subject": 1e6 * seconds / n,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "base_mb": base,
        "pta_qd": float(tables[0]["pct_in_range"].iloc[0]),
    }


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(
    sizes: Sequence[int] = SIZES,
    *,
    workloads: Sequence[str] = WORKLOADS,
    modes: Sequence[str] = MODES,
    threads: Sequence[int] = (1, 2),
) -> list[dict]:
    """Rows {workload, mode, n, threads, seconds, us_per_subject, peak_mb, base_mb, pta_qd},
    each measured in its own process (the in-memory mode only up to DATASET_LIMIT)."""
    rows = []
    for workload in workloads:
        for mode in modes:
            for n in sizes:
                if mode == "dataset" and n > DATASET_LIMIT:
                    continue
                for count in threads:
                    command = [sys.executable, "-m", "benchmarks.bench_end_to_end", "--child"]
                    command += [workload, mode, str(n), str(count)]
                    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
                    if done.returncode != 0:
                        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
                    rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return rows


def format_rows(rows: Sequence[dict]) -> str:
    """A plain-text table of :func:`run` rows."""
    header = (
        f"{'workload':<9}{'mode':<9}{'subjects':>11}{'threads':>8}{'seconds':>9}"
        f"{'us/subject':>11}{'peak MB':>9}{'base MB':>9}{'PTA QD %':>10}"
    )
    lines = [header]
    for r in rows:
        lines.append(
            f"{r['workload']:<9}{r['mode']:<9}{r['n']:>11,}{r['threads']:>8}{r['seconds']:>9.2f}"
            f"{r['us_per_subject']:>11.2f}{r['peak_mb']:>9.0f}{r['base_mb']:>9.0f}"
            f"{r['pta_qd']:>10.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=4, metavar=("WORKLOAD", "MODE", "N", "THREADS"))
    parser.add_argument("--large", action="store_true", help="add 10^7 subjects (summary mode)")
    parser.add_argument("--sizes", type=int, nargs="+", help="cohort sizes")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args(argv)
    if args.child:
        workload, mode, n, threads = args.child
        print(json.dumps(_measure(workload, mode, int(n), int(threads))))
        return
    sizes = args.sizes or (LARGE_SIZES if args.large else SIZES)
    rows = run(sizes, workloads=args.workloads, modes=args.modes, threads=args.threads)
    print(format_rows(rows))


if __name__ == "__main__":
    main()

"""End to end: scenario -> result store, attainment tables and plots, against the bare kernel.

Workload: the bundled ``ln-induction`` scenario cut to its first two regimens (3 mg once daily
and 1.5 mg twice daily), 28 days, prednisone 30 mg/day, fasted, the chinese-adult-ln cohort
with IIV, IOV and sampling-time deviation; ``basic`` without its co-medication, ``vori`` with
its voriconazole course on days 15-22 (130 clearance change points per subject).

Modes (each timed in a fresh process):

- ``kernel``: the bare kernel on the same doses, the reference: ``pksim.model.
  concentrations_general`` for every regimen on chunks of 32 768 subjects with the regimen's
  dose schedule (one shared row), a per-subject bioavailability per dose (as IOV gives) and
  28 trough times per subject (the workload's, whose draws are on time), plus the clearance
  change points of the co-medication for ``vori``: the kernel calls the pipeline makes;
  parameters drawn once, not timed;
- ``cli``: ``pksim run SCENARIO -n N --out DIR``: the result store (``result.nc``), the
  attainment tables by regimen and subgroup (``summary.csv``) and the plots;
- ``cli-summary``: ``pksim run ... --summary-only`` (``summary.csv`` only);
- ``summary``: ``pksim.results.attainment_tables`` for the same groupings (the library call
  under ``--summary-only``);
- ``dataset``: the in-memory path: ``pksim.run`` then ``target_attainment`` per grouping.

Each child imports pksim (from ``--pksim PATH``, default this checkout, so an older commit can
be measured in the same session), warms up on 1000 subjects (numba cache, data files, fonts),
then times one call. ``seconds`` is its wall time (the fastest of ``--repeat`` runs taken in
turn with the other modes; ``slowest`` the slowest), ``peak_mb`` the child's peak resident
memory (``ru_maxrss``, imports included), ``base_mb`` its resident memory after the warm-up,
``cpu_seconds`` the CPU time of the call (all threads; less sensitive than the wall time to
other jobs on a shared machine); ``x kernel`` and ``CPU x`` = seconds and CPU seconds over
the kernel's for the same workload and cohort size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

SIZES = (100_000, 1_000_000)
LARGE_SIZES = (100_000, 1_000_000, 10_000_000)
WORKLOADS = ("basic", "vori")
MODES = ("kernel", "cli", "cli-summary", "summary", "dataset")
SCENARIO = "ln-induction"
SUBGROUPS = ("weight_band", "cyp3a5", "renal_impairment", "comedication")
DATASET_LIMIT = 1_000_000
"""Largest cohort run in the in-memory mode (about 1 kB per subject and regimen)."""
CHUNK_SUBJECTS = 32_768
"""Subjects per kernel call in the ``kernel`` mode (pksim's default chunk)."""
WARM_UP_SUBJECTS = 1000
ROOT = Path(__file__).resolve().parents[1]
IOV_SD = 0.2
"""Log-scale SD of the kernel mode's per-dose bioavailability."""


def scenario_text(workload: str) -> str:
    """The workload's scenario: ln-induction's text with its first two regimens only (and
    without its co-medication for ``basic``)."""
    text = (ROOT / "scenarios" / f"{SCENARIO}.toml").read_text(encoding="utf-8")
    head, *regimens = re.split(r"(?m)^\[\[regimens\]\]\n", text)
    last, rest = re.split(r"(?m)^(?=\[food\])", regimens[-1], maxsplit=1)
    regimens[-1] = last
    if workload == "basic":
        rest = re.sub(r"(?ms)^\[\[comedications\]\]\n.*?(?=^\[)", "", rest)
    return head + "".join(f"[[regimens]]\n{r}" for r in regimens[:2]) + rest


def _kernel(path: Path, n: int) -> float:
    """The bare kernel on the workload's doses (see the module docstring)."""
    import numpy as np

    from pksim import model
    from pksim.engine.plan import nominal_dose_times, prepare
    from pksim.scenario import load_scenario

    scenario = load_scenario(path)
    plan = prepare(scenario, n, None)
    table = plan.comedication
    change_times = None if table is None else np.asarray(table.change_times, dtype=np.float64)
    rng = np.random.default_rng(1)
    size = min(n, CHUNK_SUBJECTS)
    cl, v = 14.0 * rng.lognormal(0, 0.3, size), 700.0 * rng.lognormal(0, 0.3, size)
    ka, tlag, f = np.full((size, 1), 4.5), np.full(size, 0.4), np.ones(size)
    days = np.arange(1, scenario.days + 1) * 24.0
    samples = np.tile(days, (size, 1))  # per-subject rows, on time as in the workload
    multipliers = None
    if change_times is not None:
        multipliers = rng.uniform(0.3, 1.0, (size, change_times.size + 1))
    schedules = []
    for regimen in scenario.regimens:
        times = np.asarray([nominal_dose_times(scenario)[regimen.name]])
        amounts = np.full_like(times, 1.5)
        dose_f = rng.lognormal(0.0, IOV_SD, (size, times.shape[1]))
        schedules.append((times, amounts, dose_f))
    start = time.perf_counter()
    for first in range(0, n, CHUNK_SUBJECTS):
        m = min(CHUNK_SUBJECTS, n - first)
        for times, amounts, dose_f in schedules:
            model.concentrations_general(
                cl[:m],
                v[:m],
                ka[:m],
                tlag[:m],
                f[:m],
                times,
                amounts,
                samples[:m],
                dose_class=np.zeros(times.shape, dtype=np.int64),
                class_lag=np.zeros(1),
                dose_f=dose_f[:m],
                cl_change_times=change_times,
                cl_multipliers=None if multipliers is None else multipliers[:m],
            )
    return time.perf_counter() - start


def _measure(workload: str, mode: str, n: int, threads: int) -> dict:
    """Run in the child process: warm up, then time one end-to-end call."""
    folder = Path(tempfile.mkdtemp(prefix="pksim-bench-"))
    path = folder / "scenario.toml"
    path.write_text(scenario_text(workload), encoding="utf-8")
    groupings = [("regimen",), *(("regimen", name) for name in SUBGROUPS)]

    def cli(size: int, *extra: str) -> None:
        from pksim import cli as command

        argv = ["run", str(path), "-n", str(size), "--threads", str(threads)]
        argv += ["--out", str(folder / f"out-{size}"), *extra]
        with open(os.devnull, "w") as sink:
            stdout, sys.stdout = sys.stdout, sink
            try:
                status = command.main(argv)
            finally:
                sys.stdout = stdout
        if status != 0:
            raise RuntimeError(f"pksim {' '.join(argv)} exited with {status}")

    def summary(size: int) -> None:
        from pksim.results.summary import attainment_tables

        attainment_tables(path, size, groupings=groupings, threads=threads)

    def dataset(size: int) -> None:
        from pksim.engine import run
        from pksim.results.attainment import target_attainment

        ds = run(path, size, threads=threads)
        for by in groupings:
            target_attainment(ds, by=by)

    calls = {
        "cli": cli,
        "cli-summary": lambda size: cli(size, "--summary-only"),
        "summary": summary,
        "dataset": dataset,
    }
    if mode == "kernel":
        _kernel(path, WARM_UP_SUBJECTS)
        base = _rss_mb()
        cpu = _cpu_seconds()
        seconds = _kernel(path, n)
    else:
        calls[mode](WARM_UP_SUBJECTS)
        base = _rss_mb()
        cpu = _cpu_seconds()
        start = time.perf_counter()
        calls[mode](n)
        seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu
    return {
        "workload": workload,
        "mode": mode,
        "n": n,
        "threads": threads,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "us_per_subject": 1e6 * seconds / n,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "base_mb": base,
    }


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process so far, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(
    sizes: Sequence[int] = SIZES,
    *,
    workloads: Sequence[str] = WORKLOADS,
    modes: Sequence[str] = MODES,
    threads: Sequence[int] = (2,),
    repeat: int = 1,
    pksim_path: Path = ROOT,
) -> list[dict]:
    """Rows {workload, mode, n, threads, seconds, seconds_max, us_per_subject, peak_mb,
    base_mb}: each measurement in its own process with pksim imported from ``pksim_path``,
    the modes of one size taken in turn ``repeat`` times (so a busy spell on a shared machine
    hits them alike); ``seconds`` is the fastest, ``seconds_max`` the slowest, ``peak_mb`` the
    largest (the in-memory mode only up to DATASET_LIMIT)."""
    environment = dict(os.environ, PYTHONPATH=str(Path(pksim_path).resolve()))
    rows = []
    for workload in workloads:
        for n in sizes:
            runs: dict[tuple[str, int], list[dict]] = {}
            for _ in range(repeat):
                for mode in modes:
                    if mode == "dataset" and n > DATASET_LIMIT:
                        continue
                    for count in threads if mode != "kernel" else threads[:1]:
                        runs.setdefault((mode, count), []).append(
                            _child(workload, mode, n, count, environment)
                        )
            for measured in runs.values():
                best = min(measured, key=lambda row: row["seconds"])
                rows.append(
                    best
                    | {
                        "seconds_max": max(row["seconds"] for row in measured),
                        "peak_mb": max(row["peak_mb"] for row in measured),
                        "repeats": len(measured),
                    }
                )
    return rows


def _child(workload: str, mode: str, n: int, threads: int, environment: dict) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child"]
    command += [workload, mode, str(n), str(threads)]
    done = subprocess.run(
        command, cwd=tempfile.gettempdir(), env=environment, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def format_rows(rows: Sequence[dict]) -> str:
    """A plain-text table of :func:`run` rows, with each row's time over the kernel's."""
    kernel = {(r["workload"], r["n"]): r for r in rows if r["mode"] == "kernel"}
    header = (
        f"{'workload':<9}{'mode':<12}{'subjects':>11}{'threads':>8}{'seconds':>9}"
        f"{'slowest':>9}{'CPU s':>8}{'peak MB':>9}{'base MB':>9}{'x kernel':>10}{'CPU x':>7}"
    )
    lines = [header]
    for r in rows:
        reference = kernel.get((r["workload"], r["n"]))
        ratio = cpu_ratio = ""
        if reference:
            ratio = f"{r['seconds'] / reference['seconds']:.1f}"
            cpu_ratio = f"{r['cpu_seconds'] / reference['cpu_seconds']:.1f}"
        lines.append(
            f"{r['workload']:<9}{r['mode']:<12}{r['n']:>11,}{r['threads']:>8}"
            f"{r['seconds']:>9.2f}{r.get('seconds_max', r['seconds']):>9.2f}"
            f"{r['cpu_seconds']:>8.2f}{r['peak_mb']:>9.0f}{r['base_mb']:>9.0f}{ratio:>10}"
            f"{cpu_ratio:>7}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=4, metavar=("WORKLOAD", "MODE", "N", "THREADS"))
    parser.add_argument("--large", action="store_true", help="add 10^7 subjects")
    parser.add_argument("--sizes", type=int, nargs="+", help="cohort sizes")
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--repeat", type=int, default=1, help="measurements per row (best kept)")
    parser.add_argument("--pksim", type=Path, default=ROOT, help="checkout whose pksim is measured")
    args = parser.parse_args(argv)
    if args.child:
        workload, mode, n, threads = args.child
        print(json.dumps(_measure(workload, mode, int(n), int(threads))))
        return
    sizes = args.sizes or (LARGE_SIZES if args.large else SIZES)
    rows = run(
        sizes,
        workloads=args.workloads,
        modes=args.modes,
        threads=args.threads,
        repeat=args.repeat,
        pksim_path=args.pksim,
    )
    print(format_rows(rows))


if __name__ == "__main__":
    main()

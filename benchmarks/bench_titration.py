"""Dosing over time: what monitoring costs, and the issue's 10^6-subject workload.

Workload: 180 days, 3 mg/day twice daily rounded to capsules, the chinese-adult-ln cohort with
prednisone 30 mg/day (IIV, IOV, sampling-time deviation, assay error), target induction over
days 29-180, summary mode (``pksim.summarize``: streamed attainment, flat memory). ``fixed`` is
the regimen alone; ``tdm`` the same regimen with weekly proportional titration (25 draws, days
7..175, acted on the next day). ``bayesian`` (issue 13 item 5) is the regimen with MAP
Bayesian titration at 3 occasions (draws on days 7, 14 and 28, acted on the next day; each draw
fits every subject's history so far), ``proportional-3`` the same draws with the proportional
rule; they run at ``--bayesian-sizes`` (default 10^4). Each row runs in a fresh process that
warms up on 1000 subjects (numba cache, data files), then times one call: ``seconds`` wall
time, ``cpu_seconds`` all threads, ``peak_mb`` the process's peak resident memory. ``x fixed``
= seconds over the ``fixed`` row of the same size (the issue asks at most 3x); ``subjects/s``
counts subjects x regimens.

Run: ``python -m benchmarks.bench_titration [--sizes 100000 1000000] [--bayesian-sizes 10000]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

DAYS = 180
DRAW_EVERY_DAYS = 7
WARM_UP_SUBJECTS = 1000
SIZES = (100_000, 1_000_000)
BAYESIAN_SIZES = (10_000,)
BAYESIAN_DRAW_DAYS = (7, 14, 28)
"""The 3 monitoring occasions of the bayesian workload (issue 13: 3 occasions, 10^4 patients)."""
ROOT = Path(__file__).resolve().parents[1]

_REGIMEN = """
[[regimens]]
name = "{name}"
daily_dose_mg = 3
doses_per_day = 2
round_to_capsules = true
"""
_TDM = """[regimens.tdm]
sample_days = {days}
result_delay_days = 1
rule = "{rule}"
aim_ng_per_ml = 8
"""
_SCENARIO = f"""
title = "titration benchmark"
days = {DAYS}
seed = 1
[population]
name = "chinese-adult-ln"
prednisone_mg_per_day = 30
[target]
phase = "induction"
window = [29, {DAYS}]
"""
WORKLOADS = {
    "fixed": ("fixed",),
    "tdm": ("tdm",),
    "fixed+tdm": ("fixed", "tdm"),
    "proportional-3": ("proportional-3",),
    "bayesian": ("bayesian",),
}
"""Regimens of each workload (the issue's large run is ``fixed+tdm``)."""


def scenario_text(regimens: Sequence[str]) -> str:
    """The benchmark scenario with the named regimens (``fixed`` and/or ``tdm``)."""
    draws = list(range(DRAW_EVERY_DAYS, DAYS - 1, DRAW_EVERY_DAYS))
    parts = [_SCENARIO]
    for name in regimens:
        parts.append(_REGIMEN.format(name=name))
        if name == "tdm":
            parts.append(_TDM.format(days=draws, rule="proportional"))
        elif name == "proportional-3":
            parts.append(_TDM.format(days=list(BAYESIAN_DRAW_DAYS), rule="proportional"))
        elif name == "bayesian":
            parts.append(_TDM.format(days=list(BAYESIAN_DRAW_DAYS), rule="bayesian"))
    return "".join(parts)


def child(workload: str, n: int) -> dict:
    """Time one summary run in this process (the child side)."""
    import pksim
    from pksim.scenario import scenario_from_text

    scenario = scenario_from_text(scenario_text(WORKLOADS[workload]), origin="benchmark")
    pksim.summarize(scenario, WARM_UP_SUBJECTS)
    wall, cpu = time.perf_counter(), time.process_time()
    pksim.summarize(scenario, n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"workload": workload, "n": n, "seconds": wall, "cpu_seconds": cpu, "peak_mb": peak}


def run(sizes: Sequence[int] = SIZES, bayesian_sizes: Sequence[int] = BAYESIAN_SIZES) -> list[dict]:
    """Every workload at every size, each in a fresh process."""
    rows = []
    jobs = []
    for n in sizes:
        workloads = ("fixed", "tdm", "fixed+tdm") if n <= sizes[0] else ("fixed+tdm",)
        jobs += [(workload, n) for workload in workloads]
    for n in bayesian_sizes:
        jobs += [(workload, n) for workload in ("fixed", "proportional-3", "bayesian")]
    for workload, n in jobs:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_titration", "--child", workload, str(n)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def format_rows(rows: Sequence[dict]) -> str:
    fixed = {r["n"]: r["seconds"] for r in rows if r["workload"] == "fixed"}
    lines = [
        f"{'workload':>10} {'subjects':>10} {'seconds':>8} {'cpu s':>7} {'peak MB':>8} "
        f"{'x fixed':>8} {'subjects/s':>11}"
    ]
    for r in rows:
        ratio = f"{r['seconds'] / fixed[r['n']]:.2f}" if r["n"] in fixed else "-"
        per_second = r["n"] * len(WORKLOADS[r["workload"]]) / r["seconds"]
        lines.append(
            f"{r['workload']:>10} {r['n']:>10,} {r['seconds']:>8.1f} {r['cpu_seconds']:>7.1f} "
            f"{r['peak_mb']:>8.0f} {ratio:>8} {per_second:>11,.0f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=2, metavar=("WORKLOAD", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="*", type=int, default=list(SIZES))
    parser.add_argument("--bayesian-sizes", nargs="*", type=int, default=list(BAYESIAN_SIZES))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    print(format_rows(run(args.sizes, args.bayesian_sizes)))


if __name__ == "__main__":
    main()

"""Dosing over time: what monitoring costs, and the issue's 10^6-subject workload.

Workload: 180 days, 3 mg/day twice daily rounded to capsules, the chinese-adult-ln cohort with
prednisone 30 mg/day (IIV, IOV, sampling-time deviation, assay error), target induction over
days 29-180, summary mode (``pksim.summarize``: streamed attainment, flat memory). ``fixed`` is
the regimen alone; ``tdm`` the same regimen with weekly proportional titration (25 draws, days
7..175, acted on the next day). Each row runs in a fresh process that warms up on 1000
subjects (numba cache, data files), then times one call: ``seconds`` wall time, ``cpu_seconds``
all threads, ``peak_mb`` the process's peak resident memory. ``x fixed`` = seconds over the
``fixed`` row of the same size (the issue asks at most 3x); ``subjects/s`` counts subjects x
regimens.

Run: ``python -m benchmarks.bench_titration [--sizes 100000 1000000]``.
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
rule = "proportional"
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
WORKLOADS = {"fixed": ("fixed",), "tdm": ("tdm",), "fixed+tdm": ("fixed", "tdm")}
"""Regimens of each workload (the issue's large run is ``fixed+tdm``)."""


def scenario_text(regimens: Sequence[str]) -> str:
    """The benchmark scenario with the named regimens (``fixed`` and/or ``tdm``)."""
    draws = list(range(DRAW_EVERY_DAYS, DAYS - 1, DRAW_EVERY_DAYS))
    parts = [_SCENARIO]
    for name in regimens:
        parts.append(_REGIMEN.format(name=name))
        if name == "tdm":
            parts.append(_TDM.format(days=draws))
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


def run(sizes: Sequence[int] = SIZES) -> list[dict]:
    """Every workload at every size, each in a fresh process."""
    rows = []
    for n in sizes:
        workloads = ("fixed", "tdm", "fixed+tdm") if n <= sizes[0] else ("fixed+tdm",)
        for workload in workloads:
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
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return
    print(format_rows(run(args.sizes)))


if __name__ == "__main__":
    main()

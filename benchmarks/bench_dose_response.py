"""Dose response over 30 candidate doses against one fixed-dose run, in the same process.

Workload: the bundled ``ln-induction`` scenario (28 days, chinese-adult-ln cohort with IIV,
IOV, prednisone 30 mg/day, fasted) cut to one regimen: ``1.5 mg BID`` (3 mg/day twice daily,
no rounding: every candidate splits evenly, one unit run) or, in the ``-rounded`` workloads,
``0.05 mg/kg/day BID, rounded to 0.5 mg`` (candidates rounded to 0.5 mg and split 1.5 + 1 mg
and so on: one unit run per dose slot, two); ``basic`` without its co-medication, ``vori``
with its voriconazole course on days 15-22 (130 clearance change points per subject). Judged
on the scenario's target day (28), true troughs.

Modes, each timed in this process after a warm-up on 1000 subjects (numba, data files):

- ``fixed``: ``pksim.summarize`` of the scenario cut to that one regimen: one fixed dose, the
  same attainment reducer and target day (what one would run per dose without dose response);
- ``dose-response``: ``pksim.dose_response`` with 30 candidate daily doses (0.5 to 15 mg/day in
  0.5 mg steps) of the same regimen.

``ratio`` = dose response seconds / fixed seconds (wall clock), the modes taken in turn
``--repeat`` times (the fastest of each is reported); ``CPU ratio`` the same with the CPU
seconds of the process (all threads; less sensitive to other jobs on a shared machine).
Target of issue 11: at most 1.5. The peak resident memory of the process is printed at the
end: run one size per process to see that it does not grow with the cohort.
"""

from __future__ import annotations

import argparse
import re
import resource
import time
from collections.abc import Sequence

import numpy as np

from benchmarks.bench_end_to_end import ROOT, SCENARIO

REGIMEN = "1.5 mg BID"
ROUNDED = "0.05 mg/kg/day BID, rounded to 0.5 mg"
"""The ``-rounded`` workloads' regimen: candidates rounded to 0.5 mg and split by the split
rule (2.5 mg/day -> 1.5 + 1 mg), so each dose slot needs its own unit run."""
WORKLOADS = ("basic", "vori", "basic-rounded", "vori-rounded")
CANDIDATES = tuple(float(x) for x in np.arange(1, 31) * 0.5)
"""30 candidate daily doses, 0.5 to 15 mg/day."""
SIZES = (100_000, 1_000_000)
WARM_UP_SUBJECTS = 1000


def _scenario(workload: str):
    from pksim.scenario import scenario_from_text

    base, _, rounded = workload.partition("-")
    name = ROUNDED if rounded else REGIMEN
    text = (ROOT / "scenarios" / f"{SCENARIO}.toml").read_text(encoding="utf-8")
    if base == "basic":
        text = re.sub(r"(?ms)^\[\[comedications\]\]\n.*?(?=^\[)", "", text)
    head, *regimens = re.split(r"(?m)^\[\[regimens\]\]\n", text)
    kept = [r for r in regimens if f'name = "{name}"' in r]
    last, rest = re.split(r"(?m)^(?=\[food\])", regimens[-1], maxsplit=1)
    body = kept[0] if kept[0] is not regimens[-1] else last
    return scenario_from_text(head + "[[regimens]]\n" + body + rest)


def _time(call) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def run(sizes: Sequence[int] = SIZES, workloads=WORKLOADS, repeat: int = 3) -> list[dict]:
    import pksim

    rows = []
    for workload in workloads:
        scenario = _scenario(workload)
        assert len(scenario.regimens) == 1

        def fixed(n, scenario=scenario):
            return pksim.summarize(scenario, n)

        def response(n, scenario=scenario):
            return pksim.dose_response(scenario, doses_mg_per_day=CANDIDATES, n_subjects=n)

        fixed(WARM_UP_SUBJECTS), response(WARM_UP_SUBJECTS)
        for n in sizes:
            times = {"fixed": [], "dose-response": []}
            cpu = {"fixed": [], "dose-response": []}
            for _ in range(repeat):
                for mode, call in (("fixed", fixed), ("dose-response", response)):
                    wall, used = _time(lambda n=n, call=call: call(n))
                    times[mode].append(wall)
                    cpu[mode].append(used)
            best = {mode: min(values) for mode, values in times.items()}
            least = {mode: min(values) for mode, values in cpu.items()}
            rows.append(
                {
                    "workload": workload,
                    "subjects": n,
                    "fixed_s": best["fixed"],
                    "dose_response_s": best["dose-response"],
                    "ratio": best["dose-response"] / best["fixed"],
                    "cpu_ratio": least["dose-response"] / least["fixed"],
                    "spread": {m: (min(v), max(v)) for m, v in times.items()},
                }
            )
    return rows


def format_rows(rows: list[dict]) -> str:
    lines = [
        "| workload | subjects | fixed dose s | 30 candidates s | ratio | CPU ratio | spread "
        "(fixed; 30) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        (f0, f1), (d0, d1) = r["spread"]["fixed"], r["spread"]["dose-response"]
        lines.append(
            f"| {r['workload']} | {r['subjects']:,} | {r['fixed_s']:.2f} | "
            f"{r['dose_response_s']:.2f} | **{r['ratio']:.2f}** | {r['cpu_ratio']:.2f} | "
            f"{f0:.2f}-{f1:.2f}; {d0:.2f}-{d1:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(format_rows(run(args.sizes, args.workloads, args.repeat)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:.0f} MB (sizes {args.sizes})")


if __name__ == "__main__":
    main()

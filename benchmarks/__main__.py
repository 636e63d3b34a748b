"""Run every benchmark and print the tables: `python -m benchmarks [--quick]`."""

from __future__ import annotations

import argparse
import os
import platform

import numba

from benchmarks import (
    bench_cohort,
    bench_dose_response,
    bench_end_to_end,
    bench_kernel,
    bench_mipd,
    bench_titration,
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}; {os.cpu_count()} cores; numba {numba.__version__} with "
        f"{numba.get_num_threads()} threads; Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes only (smoke run)")
    parser.add_argument(
        "--large", action="store_true", help="end to end also for 10^7 subjects (summary mode)"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}\n")
    sizes = (10_000,) if args.quick else (10_000, 100_000, 1_000_000)
    print("Kernel, reference workload (28 doses, 14 troughs per subject)")
    print(bench_kernel.format_rows(bench_kernel.run(sizes, ode_subjects=5 if args.quick else 20)))
    print("\nCohort sampling (chinese-adult-ln, default parameter set)")
    print(bench_cohort.format_rows(bench_cohort.run(sizes)))
    print(
        "\nEnd to end: scenario -> store, tables and plots against the bare kernel "
        "(ln-induction, 2 regimens, 28 days; one process per row)"
    )
    if args.quick:
        rows = bench_end_to_end.run(
            (10_000,), workloads=("basic",), modes=("kernel", "cli", "cli-summary")
        )
    else:
        large = bench_end_to_end.LARGE_SIZES if args.large else bench_end_to_end.SIZES
        rows = bench_end_to_end.run(large)
    print(bench_end_to_end.format_rows(rows))
    print(
        f"\nDosing over time: weekly proportional TDM vs the same fixed regimen "
        f"({bench_titration.DAYS} days, summary mode; one process per row)"
    )
    sizes = (10_000,) if args.quick else bench_titration.SIZES
    print(bench_titration.format_rows(bench_titration.run(sizes)))
    print(
        "\nDose response: 30 candidate doses against one fixed-dose run (ln-induction, 1.5 mg BID)"
    )
    dose_sizes = (10_000,) if args.quick else bench_dose_response.SIZES
    dose_workloads = ("basic",) if args.quick else bench_dose_response.WORKLOADS
    print(bench_dose_response.format_rows(bench_dose_response.run(dose_sizes, dose_workloads)))
    print("\nMAP Bayesian individualisation (default set, 3 troughs per patient)")
    print(
        bench_mipd.format_rows(bench_mipd.run(*((500, 50, 5) if args.quick else (10_000, 200, 20))))
    )


if __name__ == "__main__":
    main()

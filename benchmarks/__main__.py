"""Run every benchmark and print the tables: `python -m benchmarks [--quick]`."""

from __future__ import annotations

import argparse
import os
import platform

import numba

from benchmarks import bench_cohort, bench_kernel


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
    args = parser.parse_args()
    print(f"machine: {machine()}\n")
    sizes = (10_000,) if args.quick else (10_000, 100_000, 1_000_000)
    print("Kernel, reference workload (28 doses, 14 troughs per subject)")
    print(bench_kernel.format_rows(bench_kernel.run(sizes, ode_subjects=5 if args.quick else 20)))
    print("\nCohort sampling (chinese-adult-ln, default parameter set)")
    print(bench_cohort.format_rows(bench_cohort.run(sizes)))


if __name__ == "__main__":
    main()

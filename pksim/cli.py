"""Command line: ``pksim run``.

Until scenario files land, ``pksim run`` prints a small demonstration: the typical steady-state
trough of 3 mg/day tacrolimus given once vs twice daily, by CYP3A5 genotype, from the exact
kernel and the analytic steady-state formula side by side.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from pksim import __version__, model

# Demonstration values: the LN synthesis of PK_REFERENCE §1.1 (60 kg, HCT 35 %, no steroid).
DEMO_CL_L_PER_H = {"*3/*3": 14.0, "*1/*3": 14.0 * 1.6, "*1/*1": 14.0 * 2.0}
DEMO_V_L, DEMO_KA_PER_H, DEMO_TLAG_H = 700.0, 4.5, 0.4
DEMO_DAILY_DOSE_MG, DEMO_DAYS = 3.0, 28


def demo() -> str:
    lines = [
        f"pksim {__version__}: typical LN patient, {DEMO_DAILY_DOSE_MG:g} mg/day, "
        f"trough (ng/mL) on day {DEMO_DAYS}",
        f"{'CYP3A5':<8} {'QD kernel':>10} {'QD analytic':>12} "
        f"{'BID kernel':>11} {'BID analytic':>13}",
    ]
    for genotype, cl in DEMO_CL_L_PER_H.items():
        row = [genotype]
        for per_day in (1, 2):
            tau = 24.0 / per_day
            times = (np.arange(DEMO_DAYS * per_day) * tau)[np.newaxis, :]
            dose = DEMO_DAILY_DOSE_MG / per_day
            day_end = model.concentrations(
                [cl],
                [DEMO_V_L],
                [DEMO_KA_PER_H],
                [DEMO_TLAG_H],
                [1.0],
                times,
                np.full_like(times, dose),
                [DEMO_DAYS * 24.0],
            )
            steady = model.steady_state_trough(
                cl, DEMO_V_L, DEMO_KA_PER_H, DEMO_TLAG_H, 1.0, dose, tau
            )
            row += [f"{day_end[0, 0]:.2f}", f"{float(steady):.2f}"]
        lines.append(f"{row[0]:<8} {row[1]:>10} {row[2]:>12} {row[3]:>11} {row[4]:>13}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pksim", description="Tacrolimus trough simulation.")
    parser.add_argument("--version", action="version", version=f"pksim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the default demonstration")
    parser.parse_args(argv)
    print(demo())
    return 0


if __name__ == "__main__":
    sys.exit(main())

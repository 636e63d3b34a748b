"""Reference workload of the Foundation issue: the exact kernel vs NumPy and solve_ivp.

One-compartment oral model with lag; CL/F 20 L/h (CV 40 %), V/F 800 L (CV 60 %), ka 4.5 /h
(CV 80 %), log-normal and diagonal; tlag 0.4 h; 1.5 mg every 12 h for 14 days (28 doses);
troughs every 24 h (14 per subject). Timing: wall clock of the simulation call only
(parameters in memory -> N x 14 troughs), median of repeats; the first, compiling call is timed
separately in a fresh process with an empty numba cache.

The two-compartment kernel runs the same schedule in the same run: CL/F 20 L/h (CV 40 %),
V1/F 100 L (CV 60 %), Q/F 50 L/h (CV 40 %), V2/F 800 L (CV 40 %), ka 4.5 /h (CV 80 %),
tlag 0.4 h; its rows give its time relative to the one-compartment kernel.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from scipy.integrate import solve_ivp

from pksim import model

N_DOSES = 28
TAU_H = 12.0
DOSE_MG = 1.5
SAMPLE_TIMES = np.arange(1, 15) * 24.0
DOSE_TIMES = np.arange(N_DOSES)[np.newaxis, :] * TAU_H
DOSE_AMOUNTS = np.full((1, N_DOSES), DOSE_MG)
SEED = 20261121


def lognormal(rng: np.random.Generator, median: float, cv: float, n: int) -> np.ndarray:
    """Log-normal draws with the given median and coefficient of variation."""
    return median * np.exp(rng.normal(0.0, math.sqrt(math.log1p(cv**2)), n))


def workload(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    return {
        "cl": lognormal(rng, 20.0, 0.4, n),
        "v": lognormal(rng, 800.0, 0.6, n),
        "ka": lognormal(rng, 4.5, 0.8, n),
        "tlag": np.full(n, 0.4),
        "f": np.ones(n),
    }


def workload_two_compartment(n: int) -> dict[str, np.ndarray]:
    """Typical two-compartment values (log-normal, diagonal) for the same schedule."""
    rng = np.random.default_rng(SEED)
    return {
        "cl": lognormal(rng, 20.0, 0.4, n),
        "v1": lognormal(rng, 100.0, 0.6, n),
        "q": lognormal(rng, 50.0, 0.4, n),
        "v2": lognormal(rng, 800.0, 0.4, n),
        "ka": lognormal(rng, 4.5, 0.8, n),
        "tlag": np.full(n, 0.4),
        "f": np.ones(n),
    }


def run_two_compartment(p: dict[str, np.ndarray]) -> np.ndarray:
    return model.concentrations_two_compartment(
        p["cl"], p["v1"], p["q"], p["v2"], p["ka"], p["tlag"], p["f"], DOSE_TIMES, DOSE_AMOUNTS,
        SAMPLE_TIMES,
    )  # fmt: skip


def run_kernel(p: dict[str, np.ndarray]) -> np.ndarray:
    return model.concentrations(
        p["cl"], p["v"], p["ka"], p["tlag"], p["f"], DOSE_TIMES, DOSE_AMOUNTS, SAMPLE_TIMES
    )


def run_numpy(p: dict[str, np.ndarray], chunk: int = 20_000) -> np.ndarray:
    """Vectorised closed-form superposition over doses (the NumPy baseline)."""
    out = np.empty((p["cl"].size, SAMPLE_TIMES.size))
    elapsed = SAMPLE_TIMES[:, None] - DOSE_TIMES[0][None, :] - 0.4  # (s, m), h since arrival
    mask = elapsed > 0
    elapsed = np.where(mask, elapsed, 0.0)
    for start in range(0, p["cl"].size, chunk):
        sl = slice(start, start + chunk)
        k = (p["cl"][sl] / p["v"][sl])[:, None, None]
        ka = p["ka"][sl][:, None, None]
        terms = (np.exp(-k * elapsed) - np.exp(-ka * elapsed)) * mask
        scale = p["f"][sl] * DOSE_MG * p["ka"][sl] / (p["ka"][sl] - k[:, 0, 0]) / p["v"][sl]
        out[sl] = terms.sum(axis=2) * scale[:, None] * 1000.0
    return out


def run_solve_ivp(p: dict[str, np.ndarray], rtol: float = 1e-8) -> np.ndarray:
    """Per-subject LSODA from dose to dose (the general ODE-tool baseline)."""
    out = np.empty((p["cl"].size, SAMPLE_TIMES.size))
    arrivals = DOSE_TIMES[0] + 0.4
    for i in range(p["cl"].size):
        k, ka, v = p["cl"][i] / p["v"][i], p["ka"][i], p["v"][i]

        def rhs(_t, y, k=k, ka=ka):
            return [-ka * y[0], ka * y[0] - k * y[1]]

        state = np.array([p["f"][i] * DOSE_MG, 0.0])
        edges = np.concatenate([arrivals, [SAMPLE_TIMES[-1]]])
        for j in range(N_DOSES):
            t0, t1 = edges[j], edges[j + 1]
            inside = SAMPLE_TIMES[(SAMPLE_TIMES > t0) & (SAMPLE_TIMES <= t1)]
            sol = solve_ivp(
                rhs,
                (t0, t1),
                state,
                method="LSODA",
                rtol=rtol,
                atol=1e-12,
                t_eval=np.unique(np.append(inside, t1)),
            )
            out[i, np.searchsorted(SAMPLE_TIMES, inside)] = sol.y[1, : inside.size] / v * 1e3
            state = sol.y[:, -1] + np.array([p["f"][i] * DOSE_MG, 0.0])
    return out


def median_seconds(function, argument, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(argument)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


FIRST_CALL_SCRIPT = """
import time
t0 = time.perf_counter()
import benchmarks.bench_kernel as b
t1 = time.perf_counter()
b.run_kernel(b.workload(10_000))
t2 = time.perf_counter()
b.run_two_compartment(b.workload_two_compartment(10_000))
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def first_call_seconds() -> tuple[float, float, float]:
    """(import s, first call incl. compile s, then the two-compartment kernel's first call s)
    in a fresh process with an empty numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = os.environ | {"NUMBA_CACHE_DIR": cache}
        output = subprocess.run(
            [sys.executable, "-c", FIRST_CALL_SCRIPT],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    imported, first, first_two = (float(x) for x in output.split())
    return imported, first, first_two


def run(sizes=(10_000, 100_000, 1_000_000), ode_subjects: int = 20) -> list[dict]:
    """Rows: implementation, n, seconds, subjects/s, ns per dose event, speed-up of the kernel."""
    imported, first, first_two = first_call_seconds()
    rows = [
        {
            "name": "kernel, first call (compile), n=1e4",
            "n": 10_000,
            "seconds": first,
            "note": f"import pksim {imported:.2f} s",
        },
        {"name": "2-cmt kernel, first call (compile), n=1e4", "n": 10_000, "seconds": first_two},
    ]
    ode_params = {key: value[:ode_subjects] for key, value in workload(ode_subjects).items()}
    ode_seconds = median_seconds(run_solve_ivp, ode_params, 1) / ode_subjects
    reference = run_kernel(ode_params)
    ode_error = np.max(np.abs(run_solve_ivp(ode_params) / reference - 1))
    for n in sizes:
        params = workload(n)
        run_kernel(params)  # warm
        repeats = 7 if n <= 100_000 else 5
        kernel = median_seconds(run_kernel, params, repeats)
        numpy_s = median_seconds(run_numpy, params, 1 if n >= 1_000_000 else 3)
        error = np.max(np.abs(run_numpy(params) / run_kernel(params) - 1))
        rows.append({"name": "pksim kernel (warm)", "n": n, "seconds": kernel})
        rows.append(
            {
                "name": "NumPy superposition",
                "n": n,
                "seconds": numpy_s,
                "note": f"max rel diff {error:.1e}",
            }
        )
        rows.append(
            {
                "name": f"solve_ivp LSODA (scaled from {ode_subjects})",
                "n": n,
                "seconds": ode_seconds * n,
                "note": f"max rel diff {ode_error:.1e}",
            }
        )
        two = workload_two_compartment(n)
        run_two_compartment(two)  # warm
        two_s = median_seconds(run_two_compartment, two, repeats)
        rows.append(
            {
                "name": "pksim 2-cmt kernel (warm)",
                "n": n,
                "seconds": two_s,
                "note": f"{two_s / kernel:.2f}x the 1-cmt kernel's time",
            }
        )
        for row in rows[-4:]:
            row["speedup"] = row["seconds"] / kernel
    for row in rows:
        row["subjects_per_s"] = row["n"] / row["seconds"]
        row["ns_per_dose"] = row["seconds"] / (row["n"] * N_DOSES) * 1e9
    return rows


def format_rows(rows: list[dict]) -> str:
    header = (
        f"{'implementation':<40} {'n':>9} {'seconds':>10} {'subjects/s':>12} "
        f"{'ns/dose':>9} {'kernel is':>10}  note"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        speed = f"{r['speedup']:.1f}x" if "speedup" in r and r["speedup"] != 1 else ""
        lines.append(
            f"{r['name']:<40} {r['n']:>9,} {r['seconds']:>10.4f} {r['subjects_per_s']:>12,.0f} "
            f"{r['ns_per_dose']:>9.1f} {speed:>10}  {r.get('note', '')}"
        )
    return "\n".join(lines)

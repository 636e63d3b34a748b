"""MAP Bayesian individualisation speed: one patient warm, many patients at once, and a scipy
baseline over the public API, in one run.

Workload: the ``default`` parameter set (IIV on CL/F, V/F, ka; proportional + additive error);
simulated patients (60 kg, 33 y, CYP3A5 *1/*3, hematocrit 35 %) on 2 mg + 1.5 mg every 12 h for 10
days, troughs before the morning dose of days 3, 6 and 9 (3 troughs; LLOQ 1 ng/mL, M3).
``single``: :func:`pksim.mipd.fit_patient` per patient (median over patients, after a warm-up
fit). ``batch``: :func:`pksim.mipd.batch_fit.fit_many` over all patients (wall clock / n).
``scipy``: BFGS with numerical gradients (scipy's default finite differences) on the same
objective, predictions through the public :func:`pksim.model.concentrations_general`, from
eta = 0; its agreement with pksim is the largest |delta eta| and the objective difference.

``two-compartment``: the same fits under ``andrews2019`` (two compartments; IIV on CL/F,
V1/F, Q/F and V2/F; proportional + additive error), patients of 50 years, serum creatinine
1.2 mg/dL, CYP3A5 *1/*3, hematocrit 35 % on the same regimen and sampling; and a posterior
forecast of 7 days with daily AUC0-24 and Cmax (500 draws) per patient.

Run: ``python -m benchmarks.bench_mipd [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy import optimize
from scipy.special import log_ndtr

from pksim.library.parameters import load_parameter_set
from pksim.mipd.batch_fit import fit_many
from pksim.mipd.fit import fit_patient
from pksim.mipd.forecast import FutureRegimen, forecast
from pksim.mipd.simulate import simulate_tdm
from pksim.model import concentrations_general

SEED = 20261129
COVARIATES = {"weight_kg": 60.0, "cyp3a5": "*1/*3", "hematocrit_pct": 35.0, "age_y": 33.0}
REGIMEN = FutureRegimen((2.0, 1.5))
LLOQ_NG_PER_ML = 1.0


TWO_COMPARTMENT_SET = "andrews2019"
TWO_COMPARTMENT_COVARIATES = {
    "age_y": 50.0,
    "serum_creatinine_mg_dl": 1.2,
    "cyp3a5": "*1/*3",
    "hematocrit_pct": 35.0,
}
FORECAST_DAYS = 7


def patients(n: int, name: str = "default", covariates=COVARIATES):
    pset = load_parameter_set(name)
    histories, _ = simulate_tdm(
        pset,
        n,
        regimen=REGIMEN,
        days=10,
        sample_days=[3, 6, 9],
        covariates=covariates,
        seed=SEED,
        lloq=LLOQ_NG_PER_ML,
    )
    return pset, histories


def timed_fits(pset, histories, n_single: int, n_batch: int):
    """After a warm-up (numba cache / compile): ``(n_single, median s, note)`` of fit_patient on
    the first ``n_single`` histories, those fits, and the seconds and fits of fit_many on the
    first ``n_batch``."""
    fit_patient(histories[0], pset)
    fit_many(histories[:2], pset)
    times, fits = [], []
    for h in histories[:n_single]:
        start = time.perf_counter()
        fits.append(fit_patient(h, pset))
        times.append(time.perf_counter() - start)
    single = (n_single, statistics.median(times), f"max {max(times) * 1e3:.1f} ms")
    start = time.perf_counter()
    many = fit_many(histories[:n_batch], pset)
    return single, fits, time.perf_counter() - start, many


def run_two_compartment(n_batch: int, n_single: int) -> list[tuple[str, int, float, str]]:
    """Single and batch fits, and forecasts with daily exposure, under andrews2019."""
    pset, histories = patients(
        max(n_batch, n_single), TWO_COMPARTMENT_SET, TWO_COMPARTMENT_COVARIATES
    )
    forecast(fit_patient(histories[0], pset), days=2, samples=10)  # warm-up
    single, fits, elapsed, many = timed_fits(pset, histories, n_single, n_batch)
    rows = [(f"two-compartment ({TWO_COMPARTMENT_SET}): fit_patient", *single)]
    agree = max(np.max(np.abs(a.eta - b.eta)) for a, b in zip(fits, many, strict=False))
    rows.append(
        (
            f"two-compartment ({TWO_COMPARTMENT_SET}): fit_many",
            n_batch,
            elapsed / n_batch,
            f"total {elapsed:.1f} s; converged {np.mean([f.converged for f in many]):.1%}; "
            f"max |d eta| vs fit_patient {agree:.1e}",
        )
    )
    times = []
    for fit in fits[: max(1, n_single // 10)]:
        start = time.perf_counter()
        forecast(fit, days=FORECAST_DAYS)
        times.append(time.perf_counter() - start)
    rows.append(
        (
            f"two-compartment: forecast {FORECAST_DAYS} d, AUC0-24/Cmax, 500 draws",
            len(times),
            statistics.median(times),
            "troughs, curves, daily exposure",
        )
    )
    return rows


def scipy_fit(history, pset, typical):
    """MAP by scipy BFGS with numerical gradients over the public API."""
    names, omega = pset.iiv_covariance()
    omega_inv = np.linalg.inv(omega)
    prop, add = pset.residual_proportional, pset.residual_additive
    y, blq, lloq = history.obs_values, history.obs_blq, history.obs_lloq

    def objective(eta):
        p = dict(typical)
        for name, e in zip(names, eta, strict=True):
            p[name] = typical[name] * np.exp(e)
        f = concentrations_general(
            [p["cl"]],
            [p["v"]],
            [p["ka"]],
            [p["tlag"]],
            [p["f"]],
            history.dose_times[None],
            history.dose_amounts[None],
            history.obs_times,
        )[0]
        var = (prop * f) ** 2 + add**2
        q = ~blq
        data = np.sum((y[q] - f[q]) ** 2 / var[q] + np.log(var[q]))
        data -= 2 * np.sum(log_ndtr((lloq[blq] - f[blq]) / np.sqrt(var[blq])))
        return data + eta @ omega_inv @ eta

    result = optimize.minimize(objective, np.zeros(len(names)), method="BFGS")
    return result.x, result.fun


def run(n_batch: int, n_single: int, n_scipy: int) -> list[tuple[str, int, float, str]]:
    pset, histories = patients(max(n_batch, n_single, n_scipy))
    single, fits, elapsed, many = timed_fits(pset, histories, n_single, n_batch)
    rows = [("single patient (fit_patient)", *single)]
    converged = np.mean([f.converged for f in many])
    rows.append(
        (
            "many patients (fit_many)",
            n_batch,
            elapsed / n_batch,
            f"total {elapsed:.1f} s; converged {converged:.1%}",
        )
    )
    typical = dict(fits[0].design.typical)
    times, deltas, gaps = [], [], []
    for h, ours in zip(histories[:n_scipy], fits, strict=False):
        start = time.perf_counter()
        eta, value = scipy_fit(h, pset, typical)
        times.append(time.perf_counter() - start)
        deltas.append(np.max(np.abs(eta - ours.eta)))
        gaps.append(value - ours.objective)
    rows.append(
        (
            "scipy BFGS, numerical gradients",
            n_scipy,
            statistics.median(times),
            f"max |d eta| {max(deltas):.1e}; OBJ scipy - pksim in "
            f"[{min(gaps):.1e}, {max(gaps):.1e}]",
        )
    )
    return rows


def format_rows(rows) -> str:
    lines = ["| implementation | patients | ms per patient | note |", "|---|---:|---:|---|"]
    lines += [f"| {name} | {n} | {s * 1e3:.2f} | {note} |" for name, n, s, note in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args()
    sizes = (500, 50, 5) if args.quick else (10_000, 200, 20)
    two = (200, 20) if args.quick else (2_000, 100)
    print(format_rows(run(*sizes) + run_two_compartment(*two)))


if __name__ == "__main__":
    main()

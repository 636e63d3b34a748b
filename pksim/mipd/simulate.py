"""Simulated TDM histories: patients with known etas, a regular regimen and measured troughs
(the parameter set's IIV and residual error), for simulate-and-recover studies, calibration
checks and benchmarks.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.library import covariates as registry
from pksim.library.parameter_set import ParameterSet
from pksim.mipd.design import design
from pksim.mipd.forecast import FutureRegimen
from pksim.mipd.history import PatientHistory
from pksim.mipd.predict import Predictor

__all__ = ["simulate_tdm"]

HOURS_PER_DAY = 24.0


Simulated = tuple[tuple[PatientHistory, ...], NDArray[np.float64]]
"""Histories and their true IIV etas (n, q)."""


def simulate_tdm(
    pset: ParameterSet,
    n: int,
    *,
    regimen: FutureRegimen,
    days: int,
    sample_days: ArrayLike,
    covariates: Mapping[str, object],
    seed: int = 0,
    lloq: float | None = None,
) -> Simulated:
    """``n`` patients on ``regimen`` for ``days`` days with a trough measured before the first
    dose of each of ``sample_days`` (days after the first dose); returns the histories and
    their true IIV etas (n, q). ``covariates``: registry name -> one value for everyone
    (categorical ones as labels). A measured value below ``lloq`` (ng/mL) is flagged BLQ."""
    rng = np.random.default_rng(seed)
    names, omega = pset.iiv_covariance()
    etas = rng.multivariate_normal(np.zeros(len(names)), omega, size=n)
    times, amounts = regimen.doses(0.0, days)
    samples = HOURS_PER_DAY * np.asarray(sample_days, dtype=float)
    values = {name: np.array([_code(name, value)]) for name, value in covariates.items()}
    histories, out_etas = [], []
    for i in range(n):
        template = _history(
            str(i + 1), times, amounts, samples, np.full(samples.size, 1.0), values, lloq
        )
        true = Predictor(design(template, pset), samples)(etas[i][None])[0]
        sd = np.hypot(pset.residual_proportional * true, pset.residual_additive)
        measured = true + sd * rng.standard_normal(samples.size)
        histories.append(_history(str(i + 1), times, amounts, samples, measured, values, lloq))
        out_etas.append(etas[i])
    return tuple(histories), np.array(out_etas)


def _code(name: str, value: object):
    covariate = registry.get(name)
    if covariate.kind == registry.CATEGORICAL:
        return covariate.categories.index(value)
    return float(value)


def _history(pid, times, amounts, samples, measured, values, lloq) -> PatientHistory:
    limit = np.full(samples.size, np.nan if lloq is None else float(lloq))
    blq = measured < limit
    return PatientHistory(
        id=pid,
        dose_times=times,
        dose_amounts=amounts,
        dose_ss=np.zeros(times.size, bool),
        dose_ii=np.full(times.size, HOURS_PER_DAY / max(1, _per_day(times))),
        dose_occasion=np.zeros(times.size, int),
        reset_times=[],
        obs_times=samples,
        obs_values=np.where(blq, np.nan, measured),
        obs_blq=blq,
        obs_lloq=limit,
        obs_occasion=np.zeros(samples.size, int),
        obs_rows=np.arange(1, samples.size + 1),
        record_times=[0.0],
        covariates=values,
    )


def _per_day(times: NDArray) -> int:
    return int(np.sum(times < HOURS_PER_DAY))

"""Posterior forecasts of one patient's troughs under a regimen continued after the history.

The posterior of the etas is approximated by the Laplace normal ``N(eta_MAP, Cov)``, or refined
by sampling-importance resampling (SIR: draws from the Laplace normal weighted by
posterior / proposal, resampled). Occasion etas keep their estimates for the doses of their
occasion and are 0 for future doses. A trough is the concentration just before the first dose
of a day (ng/mL, the true concentration: no residual error). Each forecast day (from one
first dose of the day to the next) also has its exact AUC0-24 (ng·h/mL), Cmax (ng/mL) and tmax
(h after the day's first dose), from :mod:`pksim.mipd.exposure`, for either structural model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pksim import units
from pksim.errors import shown
from pksim.mipd.exposure import AUC_UNITS, Exposure, window_exposure
from pksim.mipd.fit import Fit, objective_for
from pksim.mipd.predict import Predictor

__all__ = [
    "FutureRegimen",
    "current_regimen",
    "forecast",
    "posterior_etas",
    "regimen_exposure",
    "regimen_troughs",
]

FloatArray = NDArray[np.float64]
HOURS_PER_DAY = units.HOURS_PER_DAY
POSTERIOR_METHODS = ("laplace", "sir")
SIR_PROPOSALS_PER_DRAW = 5
"""SIR draws this many proposals per resampled eta vector."""
CURVE_STEP_H = 0.5
"""Time step (h) of the forecast curves."""
PERCENTILES = (5.0, 50.0, 95.0)
"""Percentiles of the forecast bands."""


@dataclass(frozen=True, slots=True)
class FutureRegimen:
    """The doses of one day (mg, in the order of the day), evenly spaced, repeated daily."""

    amounts_mg: tuple[float, ...]

    def __post_init__(self) -> None:
        a = self.amounts_mg
        if not a or not all(isinstance(x, int | float) and x > 0 for x in a):
            raise ValueError(f"amounts_mg must list the day's doses (mg > 0), got {shown(a)}")

    @property
    def doses_per_day(self) -> int:
        return len(self.amounts_mg)

    @property
    def interval_h(self) -> float:
        return HOURS_PER_DAY / self.doses_per_day

    @property
    def daily_mg(self) -> float:
        return float(sum(self.amounts_mg))

    @property
    def label(self) -> str:
        doses = " + ".join(f"{a:g} mg" for a in self.amounts_mg)
        if self.doses_per_day == 1:
            return f"{doses} once daily"
        return f"{doses} every {self.interval_h:g} h ({self.daily_mg:g} mg/day)"

    def doses(self, start: float, days: int) -> tuple[FloatArray, FloatArray]:
        """Dose times (h) and amounts (mg) for ``days`` days from ``start`` (h)."""
        k = np.arange(days * self.doses_per_day)
        return start + k * self.interval_h, np.tile(self.amounts_mg, days).astype(float)


def current_regimen(fit: Fit) -> tuple[FutureRegimen, float]:
    """The regimen of the last day of the history and when its next dose is due (h)."""
    h = fit.history
    if h.dose_times.size == 0:
        raise ValueError(f"patient {h.id}: no doses; give the regimen to forecast")
    last = h.dose_times[-1]
    interval = h.dose_ii[-1]
    if not interval > 0:
        gaps = np.diff(h.dose_times)
        interval = float(gaps[-1]) if gaps.size and gaps[-1] > 0 else HOURS_PER_DAY
    per_day = max(1, round(HOURS_PER_DAY / interval))
    amounts = tuple(float(a) for a in h.dose_amounts[-per_day:])
    if len(amounts) < per_day:
        amounts = (amounts[-1],) * per_day
    order = np.argsort(h.dose_times[-per_day:] % HOURS_PER_DAY, kind="stable")
    return FutureRegimen(tuple(amounts[i] for i in order)), float(last + interval)


def posterior_etas(fit: Fit, n: int, *, seed: int = 1, method: str = "laplace") -> FloatArray:
    """``n`` eta vectors (n, q) from the posterior: the MAP first, then Laplace or SIR draws."""
    if method not in POSTERIOR_METHODS:
        raise ValueError(f"method must be one of {POSTERIOR_METHODS}, got {shown(method)}")
    rng = np.random.default_rng(seed)
    q = fit.eta.size
    if q == 0:
        return np.zeros((n, 0))
    if method == "laplace":
        draws = rng.multivariate_normal(fit.eta, fit.covariance, size=n - 1)
        return np.vstack([fit.eta, draws])
    m = SIR_PROPOSALS_PER_DRAW * n
    proposals = rng.multivariate_normal(fit.eta, fit.covariance, size=m)
    objective = objective_for(fit.design)
    obj = objective(proposals, Predictor(fit.design, fit.history.obs_times)(proposals))
    centred = proposals - fit.eta
    mahalanobis = np.einsum("ri,ij,rj->r", centred, np.linalg.inv(fit.covariance), centred)
    log_w = -0.5 * obj + 0.5 * mahalanobis
    w = np.exp(log_w - log_w.max())
    picks = rng.choice(m, size=n - 1, replace=True, p=w / w.sum())
    return np.vstack([fit.eta, proposals[picks]])


def regimen_troughs(
    fit: Fit, regimen: FutureRegimen, start: float, days: int, etas: FloatArray
) -> FloatArray:
    """Troughs (r, days) before the first dose of each day 2..days+1 of ``regimen`` from
    ``start`` (h), for each eta row."""
    times, amounts = regimen.doses(start, days + 1)
    trough_times = start + HOURS_PER_DAY * np.arange(1, days + 1)
    return Predictor(fit.design, trough_times, times, amounts)(etas)


def regimen_exposure(
    fit: Fit,
    regimen: FutureRegimen,
    start: float,
    days: int,
    etas: FloatArray,
    *,
    from_day: int = 1,
) -> Exposure:
    """AUC0-24, Cmax and tmax (r, days - from_day + 1) of each day from_day..days of
    ``regimen`` from ``start`` (h; a day runs from its first dose to the next day's), for
    each eta row."""
    times, amounts = regimen.doses(start, days + 1)
    first = start + HOURS_PER_DAY * np.arange(from_day - 1, days)
    windows = np.column_stack([first, first + HOURS_PER_DAY])
    return window_exposure(fit.design, etas, windows, times, amounts)


def forecast(
    fit: Fit,
    regimen: FutureRegimen | None = None,
    *,
    days: int = 7,
    start: float | None = None,
    samples: int = 500,
    seed: int = 1,
    method: str = "laplace",
) -> xr.Dataset:
    """Forecast of ``regimen`` (default: the current one) for ``days`` days from ``start``
    (default: when the next dose is due): troughs per day and curves over the history and
    the forecast, each as the MAP prediction and posterior percentiles."""
    current, due = current_regimen(fit) if fit.history.dose_times.size else (None, 0.0)
    regimen = regimen or current
    start = due if start is None else float(start)
    etas = posterior_etas(fit, samples, seed=seed, method=method)
    troughs = regimen_troughs(fit, regimen, start, days, etas)
    times, amounts = regimen.doses(start, days + 1)
    end = start + days * HOURS_PER_DAY
    first = min(0.0, float(fit.history.record_times.min(initial=0.0)))
    grid = np.arange(first, end + CURVE_STEP_H / 2, CURVE_STEP_H)
    curve = Predictor(fit.design, grid, times, amounts)(etas)
    exposure = regimen_exposure(fit, regimen, start, days, etas)
    pct = list(PERCENTILES)
    conc = {"units": units.CONCENTRATION}
    daily = {}
    for name, values, unit, what in (
        ("auc", exposure.auc, AUC_UNITS, "AUC0-24"),
        ("cmax", exposure.cmax, units.CONCENTRATION, "Cmax"),
        ("tmax", exposure.tmax, units.TIME, "tmax after the day's first dose"),
    ):
        daily[f"{name}_map"] = ("day", values[0], {"units": unit, "long_name": f"{what}, MAP"})
        daily[f"{name}_percentile"] = (
            ("percentile", "day"),
            np.percentile(values, pct, axis=0),
            {"units": unit, "long_name": f"{what}, posterior percentiles"},
        )
    return xr.Dataset(
        {
            "trough_map": ("day", troughs[0], {**conc, "long_name": "trough, MAP"}),
            "trough_percentile": (
                ("percentile", "day"),
                np.percentile(troughs, pct, axis=0),
                {**conc, "long_name": "trough, posterior percentiles"},
            ),
            "curve_map": ("time", curve[0], {**conc, "long_name": "concentration, MAP"}),
            "curve_percentile": (
                ("percentile", "time"),
                np.percentile(curve, pct, axis=0),
                {**conc, "long_name": "concentration, posterior percentiles"},
            ),
            **daily,
        },
        coords={
            "day": ("day", np.arange(1, days + 1), {"long_name": "day of the forecast regimen"}),
            "trough_time": (
                "day",
                start + HOURS_PER_DAY * np.arange(1, days + 1),
                {"units": units.TIME},
            ),
            "time": ("time", grid, {"units": units.TIME}),
            "percentile": pct,
        },
        attrs={
            "regimen": regimen.label,
            "start_h": start,
            "posterior": method,
            "samples": samples,
            "seed": seed,
            "patient": fit.history.id,
        },
    )

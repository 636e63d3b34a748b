"""Dose options for a target trough range: the regimens a pharmacist can give, each with its
predicted trough, the probability of being in range and the time to reach it.

Candidates are the daily doses the formulation's strengths can make (``pksim.dosing.rounding``)
around the dose the MAP patient needs, for each number of doses a day the product allows
(once vs twice daily for immediate release), split by the split rule (larger dose first).
Each is continued from when the next dose is due; its trough after ``days`` days is predicted
for the MAP etas and for posterior draws (:func:`pksim.mipd.forecast.posterior_etas`):
``p_in_range`` is the fraction of draws in ``[lower, upper]`` (bounds inclusive).
``days_to_range``: the first day from which the MAP trough stays in range (None: never).
Each option also has the MAP patient's exact AUC0-24, Cmax and tmax on day ``days``
(:func:`pksim.mipd.forecast.regimen_exposure`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from pksim.dosing.rounding import can_make, split_daily_dose
from pksim.library.formulations import lookup_formulation
from pksim.library.targets import TargetRange, resolve_target
from pksim.mipd.fit import Fit
from pksim.mipd.forecast import (
    FutureRegimen,
    current_regimen,
    posterior_etas,
    regimen_exposure,
    regimen_troughs,
)

__all__ = [
    "DoseOption",
    "candidate_daily_doses",
    "dose_option",
    "dose_options",
    "first_day_in_range",
    "search_dose_options",
]

SEARCH_FACTOR = 2.5
"""Candidate daily doses span the needed dose / this to the needed dose x this."""
MAX_CANDIDATES = 40
"""Most daily-dose candidates per dosing frequency (evenly thinned when more)."""


@dataclass(frozen=True, slots=True)
class DoseOption:
    """A regimen with its MAP trough (ng/mL) and posterior median, its probability of being in
    range, the first day from which the MAP trough stays in range, and the MAP AUC0-24
    (ng·h/mL), Cmax (ng/mL) and tmax (h after the day's first dose) on the last day."""

    regimen: FutureRegimen
    trough_map: float
    trough_median: float
    p_in_range: float
    days_to_range: int | None
    auc_map: float = float("nan")
    cmax_map: float = float("nan")
    tmax_map: float = float("nan")


def dose_options(
    fit: Fit,
    target: str | TargetRange,
    *,
    formulation: str = "prograf",
    days: int = 7,
    samples: int = 400,
    seed: int = 1,
    top: int = 6,
    aim: float | None = None,
) -> list[DoseOption]:
    """The ``top`` options for ``target`` (a bundled phase name or a :class:`TargetRange`):
    by probability in range, then closeness of the MAP trough to the middle of the range; with
    an explicit ``aim`` (ng/mL, inside the range) by closeness of the MAP trough to the aim
    first (ties: probability in range)."""
    etas = posterior_etas(fit, samples, seed=seed)

    def evaluate(regimen: FutureRegimen, start: float, goal: TargetRange) -> DoseOption:
        troughs = regimen_troughs(fit, regimen, start, days, etas)
        exposure = regimen_exposure(fit, regimen, start, days, etas[:1], from_day=days)
        return dose_option(
            regimen,
            troughs[0],
            troughs[:, -1],
            goal,
            float(exposure.auc[0, 0]),
            float(exposure.cmax[0, 0]),
            float(exposure.tmax[0, 0]),
        )

    return search_dose_options(
        fit, target, evaluate, formulation=formulation, days=days, top=top, aim=aim
    )


def dose_option(
    regimen: FutureRegimen,
    point: np.ndarray,
    final: np.ndarray,
    goal: TargetRange,
    auc: float = float("nan"),
    cmax: float = float("nan"),
    tmax: float = float("nan"),
) -> DoseOption:
    """The option of ``regimen`` from its MAP troughs ``point`` (one a day, ng/mL) and the
    last day's troughs ``final`` of the posterior draws (median, fraction in ``goal``), with
    the MAP AUC0-24 (ng·h/mL), Cmax (ng/mL) and tmax (h) of the last day."""
    inside = (final >= goal.lower) & (final <= goal.upper)
    return DoseOption(
        regimen,
        float(point[-1]),
        float(np.median(final)),
        float(inside.mean()),
        first_day_in_range(point, goal),
        auc,
        cmax,
        tmax,
    )


def search_dose_options(
    fit: Fit,
    target: str | TargetRange,
    evaluate: Callable[[FutureRegimen, float, TargetRange], DoseOption],
    *,
    formulation: str,
    days: int,
    top: int,
    aim: float | None,
) -> list[DoseOption]:
    """The ``top`` of the candidate regimens of ``formulation`` (module docstring), each made
    into an option by ``evaluate(regimen, start, goal)`` (``start``: when the next dose is due,
    h), ranked as :func:`dose_options` says. Candidates centre on the daily dose that brings
    ``fit``'s MAP trough after ``days`` days on the current regimen to the middle of the range
    (or to ``aim``)."""
    goal = resolve_target(target)
    if aim is not None and not goal.lower <= aim <= goal.upper:
        raise ValueError(
            f"aim {aim:g} ng/mL is outside the target range {goal.lower:g}-{goal.upper:g} ng/mL"
        )
    product = lookup_formulation(formulation)
    strengths = product.strengths_mg
    current, start = current_regimen(fit)
    middle = 0.5 * (goal.lower + goal.upper) if aim is None else float(aim)
    now = regimen_troughs(fit, current, start, days, fit.eta[None])[0, -1]
    needed = current.daily_mg * middle / now if now > 0 else current.daily_mg
    options = []
    for per_day in product.doses_per_day:
        for daily in candidate_daily_doses(needed, strengths, per_day):
            split = split_daily_dose([daily], per_day, strengths)[0]
            options.append(evaluate(FutureRegimen(tuple(float(a) for a in split)), start, goal))
    if aim is None:
        options.sort(key=lambda o: (-o.p_in_range, abs(np.log(o.trough_map / middle))))
    else:
        options.sort(key=lambda o: (abs(np.log(o.trough_map / middle)), -o.p_in_range))
    return options[:top]


def candidate_daily_doses(needed: float, strengths: tuple[float, ...], per_day: int) -> list[float]:
    """Makeable daily doses (mg) near ``needed`` whose split gives every dose >= 1 unit."""
    step = min(strengths)
    low, high = needed / SEARCH_FACTOR, needed * SEARCH_FACTOR
    amounts = np.arange(step * per_day, max(high, step * per_day) + step / 2, step)
    ok = [float(a) for a in amounts if a >= min(low, step * per_day) and can_make(a, strengths)]
    if len(ok) > MAX_CANDIDATES:
        ok = [ok[i] for i in np.linspace(0, len(ok) - 1, MAX_CANDIDATES).round().astype(int)]
    return ok


def first_day_in_range(troughs: np.ndarray, goal: TargetRange) -> int | None:
    """The first day (1-based) from which every trough (ng/mL, one a day) is inside ``goal``
    (bounds inclusive); None when the last one is outside."""
    inside = (troughs >= goal.lower) & (troughs <= goal.upper)
    for day in range(inside.size):
        if inside[day:].all():
            return day + 1
    return None

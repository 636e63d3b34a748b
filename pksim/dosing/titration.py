"""Monitoring rules on arrays: from one measured trough per subject to the next daily dose.

Pure functions of (n,) arrays, used by the engine's titration loop
(:mod:`pksim.engine.titration`) once per draw of a :class:`~pksim.dosing.tdm.TdmPlan`:
:func:`decide` applies the plan's rule; :func:`apply_decision` writes the decided dose into the
daily dose in force from the day it takes effect until the next change that sets a dose anew,
each later phase of that span scaling or keeping it and re-rounding it for its product, and
marks the held days. Units: ng/mL, mg/day, kg, days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pksim.dosing.rounding import DOSE_RESOLUTION_MG
from pksim.dosing.schedule import Schedule, cap_and_round, give_strengths
from pksim.dosing.tdm import TdmPlan
from pksim.library import formulations

__all__ = ["Decision", "apply_decision", "decide", "decided_days", "subject_aim"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What one result decides per subject: the daily dose asked for (mg/day, before the
    product's ceilings and rounding), days to hold first, and an extra ceiling (mg/day, inf
    when none) the rule imposes."""

    daily_mg: NDArray[np.float64]
    hold_days: NDArray[np.int64]
    cap_mg: NDArray[np.float64]


def decide(
    plan: TdmPlan,
    *,
    effective_day: int,
    measured: NDArray[np.float64],
    below_lloq: NDArray[np.bool_],
    lloq_ng_per_ml: float,
    in_force: NDArray[np.float64],
    lower: NDArray[np.float64],
    upper: NDArray[np.float64],
    weight_kg: NDArray[np.float64],
    formulation: str,
    trough_per_mg: NDArray[np.float64] | None = None,
) -> Decision:
    """The rule's decision on measured troughs (ng/mL, (n,)) whose result doses from
    ``effective_day``, for subjects on ``in_force`` mg/day with target bounds
    ``lower``/``upper`` (ng/mL). ``trough_per_mg`` (n,) ng/mL per mg/day: the predicted
    steady-state trough of the ``bayesian`` rule (required by it, unused by the others)."""
    n = measured.size
    no_hold = np.zeros(n, dtype=np.int64)
    no_cap = np.full(n, np.inf)
    if plan.rule == "proportional":
        value = np.where(below_lloq, lloq_ng_per_ml, measured)
        with np.errstate(divide="ignore"):
            ratio = np.divide(subject_aim(plan, lower, upper), value)  # 0 asks the largest step
        ratio = np.clip(ratio, 1 / plan.max_fold_change, plan.max_fold_change)
        return Decision(in_force * ratio, no_hold, no_cap)
    if plan.rule == "bayesian":
        if trough_per_mg is None:
            raise ValueError("the bayesian rule needs the predicted trough per mg/day")
        with np.errstate(divide="ignore"):
            wanted = np.divide(subject_aim(plan, lower, upper), trough_per_mg)
        fold = plan.max_fold_change
        dose = np.clip(wanted, in_force / fold, in_force * fold)  # inf: the largest step up
        return Decision(np.where(np.isnan(dose), in_force, dose), no_hold, no_cap)
    if plan.rule == "steps":
        value = np.where(below_lloq, 0.0, measured)
        edges = np.array([band.from_ng_per_ml for band in plan.steps])
        band = np.searchsorted(edges, value, side="right") - 1
        change = np.array([b.change_mg_per_day for b in plan.steps])[band]
        hold = np.array([b.hold_days for b in plan.steps], dtype=np.int64)[band]
        # A step never stops the drug: at least the smallest amount that can be given.
        return Decision(np.maximum(in_force + change, DOSE_RESOLUTION_MG), hold, no_cap)
    # consensus escalation
    if effective_day < plan.from_day:
        return Decision(in_force.copy(), no_hold, no_cap)
    step = plan.step_mg_per_day
    if step is None:
        step = min(formulations.capsule_strengths(formulation))
    cap = np.maximum(plan.max_mg_per_kg_per_day * weight_kg, in_force)
    low = below_lloq | (measured < lower)
    high = ~below_lloq & (measured > upper)
    dose = np.where(low, np.minimum(in_force + step, cap), in_force)
    dose = np.where(high, np.maximum(in_force - step, DOSE_RESOLUTION_MG), dose)
    return Decision(dose, no_hold, cap)


def subject_aim(
    plan: TdmPlan, lower: NDArray[np.float64], upper: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Each subject's aim (ng/mL): the plan's ``aim_ng_per_ml``, or the middle of the
    subject's target; a subject whose own range excludes the plan's aim (the renal ceiling)
    aims at the middle of that range."""
    aim = (lower + upper) / 2
    if plan.aim_ng_per_ml is not None:
        given = plan.aim_ng_per_ml
        aim = np.where((lower <= given) & (given <= upper), given, aim)
    return aim


def decided_days(schedule: Schedule, effective_day: int) -> int:
    """The last day (inclusive) a decision taking effect on ``effective_day`` sets: the day
    before the next change that sets a dose anew, or the last day of the run."""
    first = int(schedule.phase_of_day[effective_day - 1])
    for phase in schedule.phases[first + 1 :]:
        if phase.dose == "set":
            return phase.first_day - 1
    return schedule.days


def apply_decision(
    schedule: Schedule,
    decision: Decision,
    effective_day: int,
    last: int,
    in_force: NDArray[np.float64],
    held: NDArray[np.bool_],
    weight_kg: NDArray[np.float64],
) -> None:
    """Write ``decision`` into ``in_force`` (n, days) on days ``effective_day`` .. ``last``
    (at most :func:`decided_days`; a later decision rewrites the days after its own effective
    day) and mark its held days in ``held`` (n, days)."""
    phases, first = schedule.phases, int(schedule.phase_of_day[effective_day - 1])
    value = decision.daily_mg
    for index in range(first, int(schedule.phase_of_day[last - 1]) + 1):
        phase = phases[index]
        if index > first and phase.dose == "scale":
            value = value * phase.factor
        dose = cap_and_round(
            phase, value, weight_kg, strengths=give_strengths(phase), cap_mg=decision.cap_mg
        )
        days = np.flatnonzero(schedule.phase_of_day[effective_day - 1 : last] == index)
        in_force[:, effective_day - 1 + days[0] : effective_day + days[-1]] = dose[:, np.newaxis]
    longest = int(decision.hold_days.max(initial=0))
    if longest:
        span = slice(effective_day - 1, min(effective_day - 1 + longest, schedule.days))
        offsets = np.arange(span.stop - span.start)
        held[:, span] |= offsets < decision.hold_days[:, np.newaxis]

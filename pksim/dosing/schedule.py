"""A regimen's doses over the days of a run: dose slots, the daily dose in force, amounts.

Day d (1..days) has the doses of the phase in force that day (:mod:`pksim.dosing.phases`), at
``24 (d - 1) + offset`` h with ``offset`` the dose's clock time minus that of the first dose of
the day: the first dose of every day is at the same clock time, so the trough at t = 24 d h is
the draw just before the first dose of day d + 1. A regimen without changes has one phase and
the same doses every day.

The **daily dose in force** (n, days), mg/day, follows the phases: a phase that sets a dose
gives its own (bands, ceilings and rounding, :mod:`pksim.dosing.amounts`); one that scales or
keeps the dose re-caps and re-rounds the dose before it for its product. **Held** days give no
dose; the dose in force resumes after them. The **amounts** of a day are its daily dose split
into its doses by the phase's split rule (:func:`pksim.dosing.rounding.split_daily_dose`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pksim.dosing.amounts import ceiling, intended_daily_dose, rounding_strengths
from pksim.dosing.phases import Phase
from pksim.dosing.regimen import Regimen
from pksim.dosing.rounding import round_daily_dose, split_daily_dose
from pksim.library import formulations
from pksim.units import HOURS_PER_DAY

__all__ = ["Schedule", "cap_and_round", "dose_amounts", "planned_daily_doses", "schedule"]


@dataclass(frozen=True, slots=True)
class Schedule:
    """The dose slots of a regimen over ``days`` days, shared by every subject.

    ``day``, ``slot`` and ``phase`` (m,): day 1..days, index of the dose within its day and
    index of the phase in force, of each slot; ``times`` (m,) h from the first dose, taken on
    time; ``clock`` (m,) clock time of day (h); ``phase_of_day`` (days,) and ``held`` (days,)
    the phase in force and whether the regimen holds doses, per day; ``first_column`` (days + 1,)
    the first slot of each day (and m).
    """

    phases: tuple[Phase, ...]
    day: NDArray[np.int64]
    slot: NDArray[np.int64]
    phase: NDArray[np.int64]
    times: NDArray[np.float64]
    clock: NDArray[np.float64]
    phase_of_day: NDArray[np.int64]
    held: NDArray[np.bool_]
    first_column: NDArray[np.int64]

    @property
    def days(self) -> int:
        """Days of the run."""
        return self.phase_of_day.size


def schedule(regimen: Regimen, days: int) -> Schedule:
    """The dose slots of ``regimen`` over ``days`` days (a whole number >= 1)."""
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
        raise ValueError(f"days must be a whole number >= 1, got {days!r}")
    phases = regimen.phases
    starts = np.array([p.first_day for p in phases])
    phase_of_day = np.searchsorted(starts, np.arange(1, days + 1), side="right") - 1
    per_day = np.array([phases[p].regimen.doses_per_day for p in phase_of_day], dtype=np.int64)
    first_column = np.concatenate([[0], np.cumsum(per_day)]).astype(np.int64)
    day = np.repeat(np.arange(1, days + 1, dtype=np.int64), per_day)
    phase = np.repeat(phase_of_day, per_day).astype(np.int64)
    slot = np.arange(day.size, dtype=np.int64) - first_column[day - 1]
    clocks = [np.array(p.regimen.dose_clock_h) for p in phases]
    offsets = [(c - c[0]) % HOURS_PER_DAY for c in clocks]
    clock = np.array([clocks[p][j] for p, j in zip(phase, slot, strict=True)], dtype=np.float64)
    offset = np.array([offsets[p][j] for p, j in zip(phase, slot, strict=True)])
    held = np.zeros(days, dtype=bool)
    for hold in regimen.holds:
        held[hold.first_day - 1 : min(hold.last_day, days)] = True
    return Schedule(
        phases=phases,
        day=day,
        slot=slot,
        phase=phase,
        times=HOURS_PER_DAY * (day - 1) + offset,
        clock=clock,
        phase_of_day=phase_of_day.astype(np.int64),
        held=held,
        first_column=first_column,
    )


def give_strengths(phase: Phase) -> tuple[float, ...]:
    """The units (mg) a dose decided during the run is made of: the phase's rounding, else its
    product's capsule strengths (a decided dose is always one that can be given)."""
    own = rounding_strengths(phase.regimen)
    return own if own is not None else formulations.capsule_strengths(phase.regimen.formulation)


def cap_and_round(
    phase: Phase,
    daily_mg: NDArray[np.float64],
    weight_kg: NDArray[np.float64],
    *,
    strengths: tuple[float, ...] | None,
    cap_mg: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Daily doses (mg/day) under the phase's ceilings (and ``cap_mg``), rounded to
    ``strengths`` (None: not rounded)."""
    cap = ceiling(phase.regimen, weight_kg)
    if cap_mg is not None:
        cap = np.minimum(cap, cap_mg)
    dose = np.minimum(daily_mg, cap)
    return dose if strengths is None else round_daily_dose(dose, strengths, cap)


def planned_daily_doses(
    regimen: Regimen, plan: Schedule, weight_kg: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The daily dose in force (n, days), mg/day, as the regimen plans it (holds not applied:
    see :attr:`Schedule.held`)."""
    w = np.asarray(weight_kg, dtype=np.float64)
    in_force = np.empty((w.size, plan.days))
    dose = np.zeros(w.size)
    for index, phase in enumerate(plan.phases):
        if phase.dose == "set":
            dose = intended_daily_dose(phase.regimen, w)
        else:
            dose = cap_and_round(
                phase, dose * phase.factor, w, strengths=rounding_strengths(phase.regimen)
            )
        in_force[:, plan.phase_of_day == index] = dose[:, np.newaxis]
    return in_force


def dose_amounts(
    plan: Schedule,
    in_force: NDArray[np.float64],
    held: NDArray[np.bool_],
    strengths: list[tuple[float, ...] | None],
    out: NDArray[np.float64],
    first_day: int = 1,
    last_day: int | None = None,
) -> None:
    """Fill ``out`` (n, m) with the amounts (mg) of days ``first_day`` .. ``last_day`` from
    the daily dose in force (n, days) and the held days (n|1, days): each run of days with the
    same phase is split by that phase's rule, with ``strengths[phase]`` (None: equal doses).
    The dose in force must be the same on every day of such a run (as the phases and the
    monitoring decisions write it): the run's first day is split for all of them."""
    last = plan.days if last_day is None else last_day
    day = first_day
    while day <= last:
        index = int(plan.phase_of_day[day - 1])
        end = day
        while end < last and plan.phase_of_day[end] == index:
            end += 1  # days day .. end share the phase
        k = plan.phases[index].regimen.doses_per_day
        split = split_daily_dose(in_force[:, day - 1], k, strengths[index])  # (n, k)
        amounts = np.broadcast_to(split[:, np.newaxis, :], (split.shape[0], end - day + 1, k))
        on_hold = held[:, day - 1 : end]
        if on_hold.any():
            amounts = np.where(on_hold[:, :, np.newaxis], 0.0, amounts)
        columns = slice(plan.first_column[day - 1], plan.first_column[end])
        out[:, columns] = amounts.reshape(split.shape[0], -1)
        day = end + 1

"""Dose events: per-subject dose times and amounts of a regimen, with adherence.

Dose times and the daily dose in force over the days come from the regimen's schedule
(:mod:`pksim.dosing.schedule`): day d (1..days) has the doses of its phase at
``24 (d - 1) + offset_j`` h, so the trough at t = 24 d h is just before the first dose of day
d + 1. Amounts: the subject's daily dose (:mod:`pksim.dosing.amounts`) split into the doses of
the day (:func:`pksim.dosing.rounding.split_daily_dose`), 0 mg on held days. Everything is
arrays over subjects.

Adherence (drawn from stream ``"adherence"``: one 64-bit word per subject, day and dose slot
of the day, for :data:`~pksim.dosing.regimen.MAX_DOSES_PER_DAY` slots, so subject i's behaviour
depends only on (seed, days, i) and every regimen of a scenario sees the same patients, slot by
slot): each dose is missed with probability ``missed_dose_probability`` (time NaN, amount 0 mg);
a dose taken is late with probability ``late_dose_probability`` by a delay uniform on
[0, ``late_dose_max_h``) h.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim import rng
from pksim.dosing.amounts import intended_daily_dose, rounding_strengths, subject_weights
from pksim.dosing.regimen import MAX_DOSES_PER_DAY, Regimen
from pksim.dosing.rounding import split_daily_dose
from pksim.dosing.schedule import Schedule, dose_amounts, planned_daily_doses, schedule
from pksim.units import HOURS_PER_DAY

__all__ = ["DoseEvents", "dose_events", "scheduled_dose_times"]

ADHERENCE_WORD = 2**32
"""Resolution of the adherence uniforms (32 bits each of one 64-bit draw)."""


@dataclass(frozen=True, slots=True)
class DoseEvents:
    """Dose events of one regimen for n subjects and m = days x doses_per_day dose slots.

    ``times`` (n, m) h from the first dose (NaN: missed); ``amounts`` (n, m) mg (0 when
    missed); ``clock_h`` (n, m) actual clock time of day of each dose in [0, 24) h (NaN when
    missed); ``daily_dose_mg`` (n,) intended daily dose on day 1; ``day`` (m,) day 1..days of
    each slot; ``slot`` (m,) index of the dose within its day (0 = first dose of the day);
    ``in_force`` (n, days) the daily dose in force (mg/day) when the regimen varies over time,
    else None; ``schedule`` the regimen's dose slots. Arrays are read-only.
    """

    times: NDArray[np.float64]
    amounts: NDArray[np.float64]
    clock_h: NDArray[np.float64]
    daily_dose_mg: NDArray[np.float64]
    day: NDArray[np.int64]
    slot: NDArray[np.int64]
    in_force: NDArray[np.float64] | None
    schedule: Schedule


def scheduled_dose_times(regimen: Regimen, days: int) -> NDArray[np.float64]:
    """Times (h) of the regimen's doses over ``days`` days, all taken on time (m,)."""
    return schedule(regimen, days).times


def _adherence_bits(days: int) -> rng.Sampler:
    """Sampler of (size, days, MAX_DOSES_PER_DAY) raw 64-bit words, one per dose slot: the high
    32 bits decide a missed dose, the low 32 bits lateness and delay (two independent uniforms
    with 2**-32 resolution). The shape does not depend on the regimen."""

    def sampler(generator: np.random.Generator, size: int) -> np.ndarray:
        raw = generator.bit_generator.random_raw(size * days * MAX_DOSES_PER_DAY)
        return raw.reshape(size, days, MAX_DOSES_PER_DAY)

    return sampler


def dose_events(
    regimen: Regimen, weight_kg: ArrayLike, days: int, *, seed: int, start: int
) -> DoseEvents:
    """Dose times, amounts and clock times for subjects ``start .. start + n`` over ``days`` days.

    ``weight_kg`` (n,) kg. Adherence draws come from stream ``"adherence"`` and depend only on
    (seed, subject index, days), so results do not depend on chunking or on the regimen.
    """
    plan = schedule(regimen, days)
    if isinstance(start, bool) or not isinstance(start, int | np.integer) or start < 0:
        raise ValueError(f"start must be a subject index >= 0, got {start!r}")
    w = subject_weights(weight_kg)
    n, m = w.size, plan.day.size
    daily = intended_daily_dose(regimen, w)
    in_force = None
    if regimen.varies_over_time:
        in_force = planned_daily_doses(regimen, plan, w)
        amounts = np.empty((n, m))
        strengths = [rounding_strengths(phase.regimen) for phase in plan.phases]
        dose_amounts(plan, in_force, plan.held[np.newaxis, :], strengths, amounts)
    else:
        per_dose = split_daily_dose(daily, int(regimen.doses_per_day), rounding_strengths(regimen))
        amounts = np.tile(per_dose, (1, days))

    day, slot = plan.day, plan.slot
    times = np.broadcast_to(plan.times, (n, m))
    clock_h = np.broadcast_to(plan.clock, (n, m))

    if regimen.missed_dose_probability > 0 or regimen.late_dose_max_h > 0:
        bits = rng.draw(seed, "adherence", int(start), int(start) + n, _adherence_bits(days))
        bits = bits[:, day - 1, slot]
        p_late = regimen.late_dose_probability
        if regimen.late_dose_max_h > 0 and p_late > 0:
            word = ADHERENCE_WORD
            low = (bits & np.uint64(word - 1)).astype(np.float64) / word  # uniform [0, 1)
            delay = np.where(low < p_late, low * (regimen.late_dose_max_h / p_late), 0.0)
            times = times + delay
            clock_h = clock_h + delay
            clock_h = np.where(clock_h >= HOURS_PER_DAY, clock_h - HOURS_PER_DAY, clock_h)
        missed = (bits >> np.uint64(32)) < np.uint64(
            regimen.missed_dose_probability * ADHERENCE_WORD
        )
        times = np.where(missed, np.nan, times)
        clock_h = np.where(missed, np.nan, clock_h)
        amounts = np.where(missed, 0.0, amounts)

    times = np.array(times, dtype=np.float64, order="C")  # rows contiguous, as the kernel reads
    clock_h = np.array(clock_h, dtype=np.float64, order="C")
    arrays = (times, amounts, clock_h, daily, day, slot)
    for array in (*arrays, in_force):
        if array is not None:
            array.flags.writeable = False
    return DoseEvents(*arrays, in_force=in_force, schedule=plan)

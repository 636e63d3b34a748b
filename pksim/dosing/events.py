"""Dose events: per-subject dose times and amounts of a regimen, with adherence.

Dose times: day d (1..days) has doses at ``24 (d - 1) + offset_j`` h, where ``offset_j`` is the
clock time of dose j minus that of the first dose of the day (wrapping past midnight), so the
trough at t = 24 d h is just before the first dose of day d + 1. Amounts: the subject's daily
dose (:mod:`pksim.dosing.amounts`) split into the doses of the day
(:func:`pksim.dosing.rounding.split_daily_dose`). Everything is arrays over subjects.

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
from pksim.units import HOURS_PER_DAY

__all__ = ["DoseEvents", "dose_events", "scheduled_dose_times"]

ADHERENCE_WORD = 2**32
"""Resolution of the adherence uniforms (32 bits each of one 64-bit draw)."""


@dataclass(frozen=True, slots=True)
class DoseEvents:
    """Dose events of one regimen for n subjects and m = days x doses_per_day dose slots.

    ``times`` (n, m) h from the first dose (NaN: missed); ``amounts`` (n, m) mg (0 when
    missed); ``clock_h`` (n, m) actual clock time of day of each dose in [0, 24) h (NaN when
    missed); ``daily_dose_mg`` (n,) intended daily dose; ``day`` (m,) day 1..days of each slot;
    ``slot`` (m,) index of the dose within its day (0 = first dose of the day). Arrays are
    read-only.
    """

    times: NDArray[np.float64]
    amounts: NDArray[np.float64]
    clock_h: NDArray[np.float64]
    daily_dose_mg: NDArray[np.float64]
    day: NDArray[np.int64]
    slot: NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class _Schedule:
    """The scheduled (on time) doses of ``days`` days: ``clock`` (k,) clock time of each dose of
    the day (h), ``day`` and ``slot`` (m,), ``times`` (m,) h from the first dose."""

    clock: NDArray[np.float64]
    day: NDArray[np.int64]
    slot: NDArray[np.int64]
    times: NDArray[np.float64]


def _schedule(regimen: Regimen, days: int) -> _Schedule:
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
        raise ValueError(f"days must be a whole number >= 1, got {days!r}")
    k = int(regimen.doses_per_day)
    clock = np.array(regimen.dose_clock_h)
    offsets = (clock - clock[0]) % HOURS_PER_DAY
    day = np.repeat(np.arange(1, days + 1, dtype=np.int64), k)
    slot = np.tile(np.arange(k, dtype=np.int64), days)
    return _Schedule(clock, day, slot, HOURS_PER_DAY * (day - 1) + offsets[slot])


def scheduled_dose_times(regimen: Regimen, days: int) -> NDArray[np.float64]:
    """Times (h) of the regimen's doses over ``days`` days, all taken on time (m,)."""
    return _schedule(regimen, days).times


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
    schedule = _schedule(regimen, days)
    if isinstance(start, bool) or not isinstance(start, int | np.integer) or start < 0:
        raise ValueError(f"start must be a subject index >= 0, got {start!r}")
    w = subject_weights(weight_kg)
    n, k = w.size, int(regimen.doses_per_day)
    daily = intended_daily_dose(regimen, w)
    per_dose = split_daily_dose(daily, k, rounding_strengths(regimen))

    day, slot = schedule.day, schedule.slot
    times = np.broadcast_to(schedule.times, (n, days * k))
    clock_h = np.broadcast_to(schedule.clock[slot], (n, days * k))
    amounts = np.tile(per_dose, (1, days))

    if regimen.missed_dose_probability > 0 or regimen.late_dose_max_h > 0:
        bits = rng.draw(seed, "adherence", int(start), int(start) + n, _adherence_bits(days))
        bits = bits[:, :, :k].reshape(n, days * k)
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
    for array in arrays:
        array.flags.writeable = False
    return DoseEvents(*arrays)

"""Dose rounding and splitting: daily doses made of real units (capsules, tablets, a step in mg).

Amounts are handled as whole micrograms (:data:`DOSE_RESOLUTION_MG`) in units of the greatest
common divisor of the strengths, so the arithmetic is exact.

**Rounding** (:func:`round_daily_dose`): a daily dose becomes the nearest amount that can be
made from the strengths (any counts of each); ties go up (2.75 mg with 0.5 mg units -> 3 mg).
Rounding never crosses the ceiling (the dose then goes down to the largest amount under it) and
never turns a positive dose into 0 mg (the smallest unit is given instead), unless the ceiling
is below the smallest unit.

**Splitting** (:func:`split_daily_dose`) into the doses of the day: without strengths, equal
doses. With them, the *split rule*: each dose is a whole number of units and the larger doses
come first in the day (morning). With R mg left for j doses, the next dose is the smallest
makeable amount >= R / j whose remainder is makeable; the doses are then sorted largest first.
When every multiple of the smallest unit is makeable (0.5 mg steps, Prograf 0.5/1/5 mg) this is
the most even split, the doses differing by at most one unit: 2.5 mg/day BID -> 1.5 mg + 1 mg,
3 mg/day BID -> 1.5 + 1.5 mg, 3.5 mg in three doses -> 1.5 + 1 + 1 mg. With other strength sets
it is the most even split for one or two doses a day, and a greedy approximation for three or
four.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.errors import shown
from pksim.library.cited import is_real

__all__ = [
    "DOSE_RESOLUTION_MG",
    "can_make",
    "round_daily_dose",
    "split_daily_dose",
    "whole_micrograms",
]

DOSE_RESOLUTION_MG = 0.001
"""Rounding units and capsule strengths are handled as whole micrograms."""

UNIT_TOLERANCE = 1e-6
"""Tolerance, in rounding units, for deciding ties and exact multiples (floating-point noise
such as 0.05 * 55 = 2.7500000000000004)."""


def whole_micrograms(value_mg: float) -> int | None:
    """Whole micrograms (> 0) of a mg amount, or None if it is not a whole number of them."""
    units = value_mg / DOSE_RESOLUTION_MG
    whole = round(units)
    return whole if whole > 0 and abs(units - whole) <= UNIT_TOLERANCE * max(1.0, units) else None


def _units(strengths_mg: Sequence[float]) -> tuple[int, NDArray[np.int64]]:
    """(g, strengths in units of g micrograms) with g the gcd of the strengths in micrograms."""
    if not strengths_mg:
        raise ValueError("strengths_mg must list at least one unit or capsule strength (mg)")
    ug = []
    for s in strengths_mg:
        whole = whole_micrograms(float(s)) if is_real(s) else None
        if whole is None:
            raise ValueError(
                f"strengths_mg must be whole numbers of micrograms > 0, got {shown(s)}"
            )
        ug.append(whole)
    g = math.gcd(*ug)
    return g, np.array([u // g for u in ug], dtype=np.int64)


def _reachable(units: NDArray[np.int64], limit: int) -> NDArray[np.bool_]:
    """reach[t]: t units are a sum of the unit sizes (any counts), for 0 <= t <= limit."""
    reach = np.zeros(limit + 1, dtype=bool)
    reach[0] = True
    for u in np.unique(units):
        for start in range(min(int(u), limit + 1)):
            reach[start::u] = np.logical_or.accumulate(reach[start::u])
    return reach


def can_make(amount_mg: float, strengths_mg: Sequence[float]) -> bool:
    """Whether ``amount_mg`` is a sum of the strengths (mg, any count of each), to the
    microgram: 1.5 mg from 0.5/1/5 mg capsules yes, 0.3 mg no."""
    whole = whole_micrograms(amount_mg)
    g, units = _units(strengths_mg)
    if whole is None or whole % g:
        return False
    return bool(_reachable(units, whole // g)[whole // g])


def _round_units(
    x: NDArray[np.float64],
    positive: NDArray[np.bool_],
    cap: NDArray[np.float64],
    reach: NDArray[np.bool_],
) -> NDArray[np.int64]:
    """Nearest makeable totals (ties up), at least the smallest unit where ``positive`` (the
    dose before scaling: a tiny dose may underflow to 0 units), and capped (units)."""
    made = np.flatnonzero(reach)
    hi_index = np.searchsorted(made, x - UNIT_TOLERANCE, side="left")
    hi = made[np.minimum(hi_index, made.size - 1)]
    lo = made[np.maximum(hi_index - 1, 0)]
    total = np.where(hi - x <= x - lo + UNIT_TOLERANCE, hi, lo)
    smallest = made[1] if made.size > 1 else 0
    total = np.where((total == 0) & positive, smallest, total)
    cap_units = np.floor(np.minimum(cap, made[-1]) + UNIT_TOLERANCE).astype(np.int64)
    under = made[np.searchsorted(made, cap_units, side="right") - 1]
    return np.minimum(total, under).astype(np.int64)


def round_daily_dose(
    daily_mg: ArrayLike, strengths_mg: Sequence[float], cap_mg: ArrayLike = np.inf
) -> NDArray[np.float64]:
    """Round daily doses (mg) to the nearest amount the strengths (mg) can make, ties up,
    never above ``cap_mg`` and never to 0 for a positive dose (unless the cap forces it)."""
    x_mg = np.asarray(daily_mg, dtype=np.float64)
    cap = np.broadcast_to(np.asarray(cap_mg, dtype=np.float64), x_mg.shape)
    if np.any(~np.isfinite(x_mg) | (x_mg < 0)) or np.any(np.isnan(cap) | (cap < 0)):
        raise ValueError("daily_mg must be finite and >= 0 mg, and cap_mg >= 0 mg")
    g, units = _units(strengths_mg)
    scale = 1.0 / (g * DOSE_RESOLUTION_MG)
    x = x_mg * scale
    limit = math.ceil(float(x.max(initial=0.0))) + int(units.max()) + 1
    total = _round_units(x, x_mg > 0, cap * scale, _reachable(units, limit))
    return total / scale


def _split_units(total: int, n_doses: int, reach: NDArray[np.bool_]) -> list[int]:
    """The split rule on one total (units): as equal as possible, larger doses first."""
    out, left = [], total
    for j in range(n_doses, 0, -1):
        share = -(-left // j)
        dose = next(a for a in range(share, left + 1) if reach[a] and reach[left - a])
        out.append(dose)
        left -= dose
    return sorted(out, reverse=True)


def split_daily_dose(
    daily_mg: ArrayLike, doses_per_day: int, strengths_mg: Sequence[float] | None = None
) -> NDArray[np.float64]:
    """Per-dose amounts (mg), shape (n, doses_per_day), in the order of the day.

    Without ``strengths_mg``: equal doses. With them: each daily dose must already be makeable
    (see :func:`round_daily_dose`) and is split by the split rule (2.5 mg BID -> 1.5 + 1 mg).
    """
    d = np.atleast_1d(np.asarray(daily_mg, dtype=np.float64))
    if d.ndim != 1 or np.any(~np.isfinite(d) | (d < 0)):
        raise ValueError("daily_mg must be a 1-D array of finite doses >= 0 mg")
    if (
        isinstance(doses_per_day, bool)
        or not isinstance(doses_per_day, int | np.integer)
        or doses_per_day < 1
    ):
        raise ValueError(f"doses_per_day must be a whole number >= 1, got {shown(doses_per_day)}")
    if strengths_mg is None:
        return np.repeat(d[:, None] / doses_per_day, doses_per_day, axis=1)
    g, units = _units(strengths_mg)
    scale = 1.0 / (g * DOSE_RESOLUTION_MG)
    x = d * scale
    totals = np.rint(x).astype(np.int64)
    reach = _reachable(units, int(totals.max(initial=0)))
    if np.any(np.abs(x - totals) > UNIT_TOLERANCE) or not np.all(reach[totals]):
        bad = d[(np.abs(x - totals) > UNIT_TOLERANCE) | ~reach[totals]][0]
        raise ValueError(
            f"daily dose {bad:g} mg cannot be made from strengths {tuple(strengths_mg)} mg; "
            "round it first with round_daily_dose"
        )
    if np.all(reach):  # every amount is makeable: the rule reduces to quotient and remainder
        base, extra = np.divmod(totals, doses_per_day)
        table = base[:, None] + (np.arange(doses_per_day) < extra[:, None])
        return table / scale
    unique, inverse = np.unique(totals, return_inverse=True)
    table = np.array([_split_units(int(t), doses_per_day, reach) for t in unique], dtype=np.int64)
    return table.reshape(-1, doses_per_day)[inverse.ravel()] / scale

"""Prednisone over time and its effect on tacrolimus bioavailability.

Prednisone (equivalent, mg/day) acts on F through the parameter set's effect(s) on ``f``. The
baseline dose is a covariate (its effect is already in each subject's typical F); a taper
(:class:`~pksim.library.populations.PrednisoneTaper`) changes the dose stepwise, and the change
enters the kernel as per-dose F multipliers relative to the baseline. A dose change acts
through CYP3A induction, so F follows it over days (the hepatic CYP3A turnover, as for inducing
co-medications), not at once. Time h from the first tacrolimus dose (t = 0); day d runs from
24·d to 24·(d+1) h.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.cohort.effects import covariate_factor
from pksim.library.drugs import default_turnover
from pksim.library.parameters import ParameterSet
from pksim.library.populations import PrednisoneTaper
from pksim.units import HOURS_PER_DAY

__all__ = [
    "PrednisoneTaper",
    "approach_steps",
    "follow_turnover",
    "prednisone_f_factor",
    "prednisone_f_multipliers",
    "prednisone_induction_half_life_h",
    "prednisone_mg_per_day_at",
]

FloatArray = NDArray[np.float64]


def prednisone_mg_per_day_at(
    baseline_mg: ArrayLike, taper: PrednisoneTaper | None, times_h: ArrayLike
) -> FloatArray:
    """Daily prednisone dose (mg/day) in effect at ``times_h`` ((n|1, m) h; NaN kept as NaN)."""
    p0 = np.asarray(baseline_mg, dtype=np.float64)[:, None]
    t = np.asarray(times_h, dtype=np.float64)
    if t.ndim != 2:
        raise ValueError(f"times_h must be 2-D (subjects|1, times), got shape {t.shape}")
    if taper is None or taper.step_mg == 0:
        return np.where(
            np.isnan(t), np.nan, np.broadcast_to(p0, np.broadcast_shapes(p0.shape, t.shape))
        )
    day = np.floor(t / HOURS_PER_DAY)
    steps = np.where(
        day < taper.first_step_day,
        0.0,
        np.floor((day - taper.first_step_day) / taper.every_days) + 1.0,
    )
    tapered = np.maximum(taper.floor_mg, p0 - taper.step_mg * steps)
    return np.where(p0 > taper.floor_mg, tapered, p0 + 0.0 * t)


def prednisone_induction_half_life_h() -> float:
    """Half-life (h) of the change in CYP3A induction after a prednisone dose change.

    Corticosteroids act by inducing CYP3A (van Duijnhoven 2003; Anglicheau 2003): a new dose
    changes the enzyme amount, and so F, at the hepatic CYP3A degradation rate, the turnover
    the interaction catalogue uses for inducers (``[settings.hepatic_cyp3a_half_life]`` of
    ``data/interactions.toml``: 72 h, Galetin 2006 [V]): 90 % of a step's change in about
    10 days, within PK_REFERENCE section 1.3's onset of 1-2 weeks and a little faster than its
    2-3 weeks after a taper [M].
    """
    return default_turnover().hepatic_half_life_h


def follow_turnover(
    change_times_h: ArrayLike, levels: ArrayLike, times_h: ArrayLike, half_life_h: float
) -> FloatArray:
    """A quantity following a piecewise-constant target by first-order turnover, at ``times_h``.

    The target is ``levels[0]`` before ``change_times_h[0]`` (ascending, h) and ``levels[k]``
    from ``change_times_h[k - 1]`` on; the quantity starts at steady state (``levels[0]``) and
    ``dR/dt = ln 2 / half_life_h · (target - R)`` (:func:`approach_steps`). ``half_life_h`` 0
    gives the target itself.
    """
    changes = np.asarray(change_times_h, dtype=np.float64)
    level = np.asarray(levels, dtype=np.float64)
    t = np.asarray(times_h, dtype=np.float64)
    if level.shape != (changes.size + 1,):
        raise ValueError(
            f"levels must have one value more than change_times_h ({changes.size + 1}), "
            f"got shape {level.shape}"
        )
    _check_half_life(half_life_h)
    if half_life_h == 0:
        return level[np.searchsorted(changes, t, side="right")]
    return approach_steps(changes, np.diff(level), t, half_life_h, start=level[0])


def approach_steps(
    change_times_h: ArrayLike,
    jumps: ArrayLike,
    times_h: ArrayLike,
    half_life_h: float,
    start: float = 1.0,
) -> FloatArray:
    """``start + Σ_j jumps[..., j] · (1 - exp(-kdeg (t - c_j)))`` over the steps with
    ``t >= c_j``: a quantity at steady state ``start`` whose target jumps by ``jumps[..., j]``
    at ``change_times_h[j]`` (h) and which follows it by first-order turnover,
    ``kdeg = ln 2 / half_life_h`` (> 0 h). Exact (superposition of the steps). ``jumps`` (J,)
    or (n, J); ``times_h`` (m,) or (n|1, m)."""
    kdeg = np.log(2.0) / half_life_h
    steps = np.asarray(jumps, dtype=np.float64)
    t = np.asarray(times_h, dtype=np.float64)
    out = np.full(np.broadcast_shapes((*steps.shape[:-1], 1), t.shape), start)
    for j, change in enumerate(np.asarray(change_times_h, dtype=np.float64)):
        elapsed = t - change
        reached = np.where(elapsed >= 0, -np.expm1(-kdeg * np.maximum(elapsed, 0.0)), 0.0)
        out = out + steps[..., j, None] * reached
    return out


def _check_half_life(half_life_h: float) -> None:
    if not (np.isfinite(half_life_h) and half_life_h >= 0):
        raise ValueError(f"half_life_h must be a finite number >= 0 h, got {half_life_h!r}")


def prednisone_f_factor(pset: ParameterSet, prednisone_mg_per_day: ArrayLike) -> FloatArray:
    """Relative F of the set's prednisone effect(s) at the given daily doses (1 if none)."""
    x = np.asarray(prednisone_mg_per_day, dtype=np.float64)
    return covariate_factor(pset, "f", "prednisone_mg_per_day", x)


def prednisone_f_multipliers(
    pset: ParameterSet,
    baseline_mg: ArrayLike,
    taper: PrednisoneTaper | None,
    dose_times_h: ArrayLike,
    *,
    half_life_h: float | None = None,
) -> FloatArray:
    """Per-dose F multipliers (n, m) for a prednisone taper, *relative to the baseline dose*.

    :func:`pksim.cohort.effects.typical_parameters` already puts the baseline prednisone effect
    into ``f`` (the baseline dose is taken to be at steady-state induction at t = 0); these
    multipliers go into ``dose_f`` of :func:`pksim.model.concentrations_general`. NaN dose
    times (padding) get 1.

    Each taper step moves the target ``F(new dose) / F(baseline)`` at once, and the multiplier
    follows it with first-order kinetics, ``dR/dt = kdeg (target - R)`` (enzyme turnover, as
    for inducers in :mod:`pksim.modifiers.interactions`), ``kdeg = ln 2 / half_life_h``;
    ``half_life_h`` defaults to :func:`prednisone_induction_half_life_h`, and 0 makes every
    step immediate. Exact at the dose times (superposition of the steps).
    """
    times = np.asarray(dose_times_h, dtype=np.float64)
    base = np.asarray(baseline_mg, dtype=np.float64)
    half_life = prednisone_induction_half_life_h() if half_life_h is None else half_life_h
    _check_half_life(half_life)
    f0 = prednisone_f_factor(pset, base)
    if half_life == 0 or taper is None or taper.step_mg == 0:
        mg = prednisone_mg_per_day_at(base, taper, times)
        ratio = prednisone_f_factor(pset, mg) / f0[:, None]
        return np.where(np.isnan(times), 1.0, ratio)
    above = np.where(np.isnan(base), 0.0, np.maximum(base - taper.floor_mg, 0.0))
    n_steps = int(np.ceil(above.max() / taper.step_mg)) if above.size else 0
    # step j applies from the start of day ceil(first + j * every) (as in
    # prednisone_mg_per_day_at, which counts whole days)
    step_h = [
        HOURS_PER_DAY * np.ceil(taper.first_step_day + j * taper.every_days) for j in range(n_steps)
    ]
    jumps = np.zeros((base.size, n_steps))
    for j in range(n_steps):
        before = np.maximum(taper.floor_mg, base - taper.step_mg * j)
        after = np.maximum(taper.floor_mg, base - taper.step_mg * (j + 1))
        jumps[:, j] = np.where(
            base > taper.floor_mg,
            (prednisone_f_factor(pset, after) - prednisone_f_factor(pset, before)) / f0,
            0.0,
        )
    ratio = approach_steps(step_h, jumps, times, half_life)
    return np.where(np.isnan(times), 1.0, ratio)

"""CYP3A co-medications over time: courses, the time course of their effect, clearance grids.

The cited catalogue (full steady-state effects on CL/F and F, mechanisms, half-lives) is
:mod:`pksim.library.drugs`; this module turns courses of those drugs into multipliers over time.

Time course. For each drug a *fraction of full effect* ``phi(t)`` in [0, 1] follows first-order
kinetics: while the drug is taken ``phi`` approaches 1 with rate ``k_on``; after it is stopped
``phi`` decays to 0 with rate ``k_off``, starting from the value reached (courses of the same
drug chain without stacking). The mechanism sets the rates and how ``phi`` maps to a multiplier
``m`` (``m_ss`` = full effect):

* ``reversible_inhibition``: ``phi`` is the inhibitor concentration relative to its steady
  state (accumulation and washout with the drug's own half-lives from the catalogue). Inhibition
  acts on intrinsic clearance, ``1/m = 1 + phi (1/m_ss - 1)`` (competitive inhibition,
  ``CL = CL0 / (1 + I/Ki)``).
* ``mechanism_based_inhibition`` and ``induction``: ``phi`` is the change in active CYP3A
  amount, which follows the enzyme turnover model ``dE/dt = kdeg (E_target - E) - kinact' E``;
  ``m = 1 + phi (m_ss - 1)``. Offset (re-synthesis) has ``k_off = kdeg``; induction onset has
  ``k_on = kdeg``; mechanism-based inactivation speeds the onset to ``k_on = kdeg / E_ss`` with
  ``E_ss = min(1, cl_multiplier)`` (the inactivated steady state of the same model, assuming
  CL proportional to active enzyme). ``kdeg = ln 2 / t1/2`` of hepatic (default) or intestinal
  CYP3A, configurable through :class:`Cyp3aTurnover`; an entry's ``f_turnover`` gives its F
  effect the turnover of another pool (ritonavir: gut-wall CYP3A, recovering faster than the
  liver's).
* ``none``: immediate, ``m = m_ss`` exactly while taken.

Several co-medications combine multiplicatively on CL and on F (no saturation: two strong
inhibitors together are over-predicted), except where the catalogue says that one changes the
other's exposure (``changes_exposure_of``, :class:`pksim.library.drugs.ExposureChange`): then
the victim (a reversible inhibitor, ratio ``R = 1/m_ss = 1 + [I]/Ki``) acts with
``R' = 1 + x (R - 1)`` when its exposure is changed by ``x`` (letermovir lowers voriconazole).
Over time the victim's ``phi`` is multiplied by ``1 + phi_P(t) (x - 1)``, ``phi_P`` the
perpetrator's own fraction of effect: the change of the victim's concentration follows the
perpetrator's onset and offset (the victim's own re-equilibration is not modelled on top).

For the kernel, :func:`cl_multiplier_grid` turns the continuous CL multiplier into a
piecewise-constant one on change points chosen where each drug's ``log m`` crosses equally
spaced levels; each segment carries the time average of the multiplier (Gauss-Legendre), kept
within the segment's range, so that ``|log m_grid(t) - log m(t)| <= log_tolerance`` at every
``t`` (all drugs together).
With clearances within a factor ``exp(delta)`` of each other, the concentrations differ by at
most ``(exp(delta) - 1) * max_{s <= t} C(s)`` (compare the two ODEs: the difference obeys
``e' = -k_grid e + (k - k_grid) C``). :func:`f_multipliers` evaluates the F multiplier exactly
at dose times.

Days: co-medication day ``d`` is the interval ``[24 (d - 1), 24 d)`` h after the first
tacrolimus dose (day 1 starts at t = 0, the day-``d`` trough is sampled at ``24 d``). A course
from ``start_day`` to ``stop_day`` (inclusive) is active on ``[24 (start_day - 1), 24 stop_day)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.errors import moved_names, shown
from pksim.library.cited import finite_float
from pksim.library.drugs import GENOTYPE_CLASSES, Cyp3aTurnover, default_turnover, lookup_drug

# Moved to pksim.library.drugs; importable from here until pksim.cli and the notebooks move.
from pksim.library.drugs import describe_drug as describe_drug
from pksim.library.drugs import list_drugs as list_drugs

# The course spec lives in pksim.modifiers.courses; CoMedication is importable from here too.
from pksim.modifiers.courses import CoMedication as CoMedication
from pksim.modifiers.courses import overlap_message, overlapping_courses
from pksim.modifiers.effect_time_course import EffectCourse as _Course
from pksim.modifiers.effect_time_course import Phase as _Phase

__all__ = [
    "DEFAULT_LOG_TOLERANCE",
    "ClGrid",
    "CoMedication",
    "cl_multiplier_grid",
    "f_multipliers",
]

_QUADRATURE_NODES = 6
_TAIL_LOG_FLOOR = 1e-5  # log-multiplier gap below which an asymptotic approach is not refined
DEFAULT_LOG_TOLERANCE = 0.02
"""Default bound on ``|log(CL multiplier on the grid) - log(continuous multiplier)|``.

It guarantees every concentration within ``exp(0.02) - 1 = 2 %`` of the running peak of the
exact continuous-effect solution; because each segment carries the time-averaged multiplier,
the error observed on troughs is far smaller (voriconazole days 15-22, 1.5 mg BID: at most
0.034 % over 28 days, with 130 change points)."""

_MAPPING = {"reversible_inhibition": "hyperbolic", "none": "step"}
"""How ``phi`` maps to the multiplier, by mechanism; the others (enzyme turnover): "linear"."""


@dataclass(frozen=True, slots=True)
class ClGrid:
    """Piecewise-constant CL multipliers for ``pksim.model.concentrations_general``.

    ``change_times`` (c,) h ascending; ``multipliers`` (n|1, c + 1) on the segments
    (-inf, t0), [t0, t1), ..., [t_{c-1}, inf): one row per subject of the ``expresser`` array,
    or one shared row when no drug depends on the CYP3A5 genotype. Within ``log_tolerance`` of
    the continuous multiplier (in log) for all times >= ``t_begin`` (and <= ``t_end``).
    Arrays are read-only.
    """

    change_times: NDArray[np.float64]
    multipliers: NDArray[np.float64]
    log_tolerance: float
    t_begin: float
    t_end: float = math.inf


# ----------------------------------------------------------------------------- time course


def _as_comedications(comedications: Iterable[CoMedication]) -> tuple[CoMedication, ...]:
    items = tuple(comedications)
    for item in items:
        if not isinstance(item, CoMedication):
            raise ValueError(f"co-medications must be CoMedication objects, got {shown(item)}")
    for before, after in overlapping_courses(items):
        message = overlap_message(items[before], items[after], "another course")
        raise ValueError(f"co-medications: {message}")
    return items


def _courses(
    comedications: tuple[CoMedication, ...],
    expresser: bool | int,
    turnover: Cyp3aTurnover,
    pool_of: str = "cl",
) -> list[_Course]:
    """Phases per drug for one genotype group; ``pool_of`` "cl" or "f": whose CYP3A pool
    (``turnover`` or ``f_turnover`` of the entry) sets an enzyme-turnover time course."""
    by_drug: dict[str, list[CoMedication]] = {}
    for item in comedications:
        by_drug.setdefault(item.drug, []).append(item)
    out: dict[str, _Course] = {}
    for drug_name in sorted(by_drug):
        drug = lookup_drug(drug_name)
        effect = drug.effect(expresser)
        if drug.mechanism == "reversible_inhibition":
            assert drug.onset_half_life is not None and drug.offset_half_life is not None
            k_on = math.log(2.0) / drug.onset_half_life.value
            k_off = math.log(2.0) / drug.offset_half_life.value
        elif drug.mechanism == "none":
            k_on = k_off = math.inf
        else:
            kdeg = turnover.kdeg(drug.turnover if pool_of == "cl" else drug.f_pool)
            k_off = kdeg
            k_on = kdeg
            if drug.mechanism == "mechanism_based_inhibition":
                k_on = drug.inactivation_onset_rate(kdeg, effect)
        intervals = sorted((c.start_h, c.stop_h) for c in by_drug[drug_name])
        phases: list[_Phase] = []
        t, phi = -math.inf, 0.0
        for start, stop in intervals:
            if start > t:  # off phase before this course
                off = _Phase(t, start, 0.0, k_off, phi)
                phases.append(off)
                phi = float(off.phi(np.array(start))) if math.isfinite(t) else 0.0
            if start == -math.inf:
                phi = 1.0
            on = _Phase(start, stop, 1.0, k_on, phi)
            phases.append(on)
            phi = float(on.phi(np.array(stop))) if math.isfinite(stop) else 1.0
            t = stop
        if math.isfinite(t):
            phases.append(_Phase(t, math.inf, 0.0, k_off, phi))
        mapping = _MAPPING.get(drug.mechanism, "linear")
        out[drug_name] = _Course(tuple(phases), effect.cl_multiplier, effect.f_multiplier, mapping)
    for drug_name in sorted(by_drug):
        for change in lookup_drug(drug_name).exposure_changes:
            if change.victim in out:
                victim = out[change.victim]
                modulator = (out[drug_name], change.exposure_ratio)
                out[change.victim] = replace(victim, modulators=(*victim.modulators, modulator))
    return list(out.values())


def _modulations(comedications: tuple[CoMedication, ...]) -> int:
    """Number of (perpetrator, victim) exposure changes among the co-medications' drugs."""
    names = {item.drug for item in comedications}
    return sum(
        change.victim in names for name in names for change in lookup_drug(name).exposure_changes
    )


def _genotype_rows(
    comedications: tuple[CoMedication, ...], expresser: ArrayLike
) -> tuple[tuple[bool, ...] | tuple[int, ...], np.ndarray | None]:
    """Genotype groups needing their own row, and each subject's row (None: one shared row).

    ``expresser``: CYP3A5 expresser flags (bool), or genotype classes (integers,
    :func:`pksim.library.drugs.genotype_class`); classes are needed when an entry depends on
    CYP2C19 status, and reduce to expresser flags when none does."""
    flags = np.asarray(expresser)
    drugs = [lookup_drug(c.drug) for c in comedications]
    if flags.dtype.kind in "iu" and flags.ndim <= 1:
        if any(drug.cyp2c19_dependent for drug in drugs):
            if flags.size and not (flags.min() >= 0 and flags.max() < GENOTYPE_CLASSES):
                raise ValueError(
                    "a co-medication depends on CYP2C19 status: every subject needs a known "
                    f"CYP2C19 status (genotype classes 0 to {GENOTYPE_CLASSES - 1}), got "
                    f"{sorted(set(flags.reshape(-1).tolist()))[:6]}"
                )
            if flags.ndim == 0:
                return (int(flags),), None
            return tuple(range(GENOTYPE_CLASSES)), flags.astype(np.intp)
        flags = flags % 2 == 1
    if flags.dtype != np.bool_ or flags.ndim > 1:
        raise ValueError(
            "expresser must be a bool or a 1-D bool array (CYP3A5 expresser per subject), "
            f"or integer genotype classes, got dtype {flags.dtype} and shape {flags.shape}"
        )
    if any(drug.cyp2c19_dependent for drug in drugs):
        raise ValueError(
            "a co-medication depends on CYP2C19 status: give genotype classes "
            "(pksim.library.drugs.genotype_class), not CYP3A5 expresser flags"
        )
    dependent = any(drug.genotype_dependent for drug in drugs)
    if not dependent:
        return (False,), None
    if flags.ndim == 0:
        return (bool(flags),), None
    return (False, True), flags.astype(np.intp)


def _check_times(name: str, times: ArrayLike) -> np.ndarray:
    array = np.asarray(times, dtype=np.float64)
    if array.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (s,) or 2-D (n|1, s) in h, got shape {array.shape}")
    return array


def f_multipliers(
    comedications: Iterable[CoMedication],
    dose_times: ArrayLike,
    expresser: ArrayLike = False,
    *,
    turnover: Cyp3aTurnover | None = None,
) -> NDArray[np.float64]:
    """Bioavailability multiplier of each dose from the co-medications (for ``dose_f``).

    ``dose_times`` (m,) or (n|1, m) h, NaN = no dose (multiplier 1). The effect is evaluated at
    the dose time (right-continuous: a dose given exactly when an immediate-effect drug starts
    gets the effect). Returns (1, m) or (n, m).
    """
    items = _as_comedications(comedications)
    turnover = turnover or default_turnover()
    times = _check_times("dose_times", dose_times)
    times = times[np.newaxis, :] if times.ndim == 1 else times
    given = ~np.isnan(times)
    groups, rows = _genotype_rows(items, expresser)
    if rows is not None and times.shape[0] not in (1, rows.size):
        raise ValueError(
            f"dose_times must have 1 or {rows.size} rows (one per subject), got {times.shape[0]}"
        )
    flat = np.where(given, times, 0.0).reshape(-1)
    table = np.zeros((len(groups), flat.size))
    for g, flag in enumerate(groups):
        for course in _courses(items, flag, turnover, pool_of="f"):
            if course.f_ss != 1.0:
                table[g] += course.log_multiplier(course.phi(flat), course.f_ss)
    table = table.reshape(len(groups), *times.shape)
    if rows is None:
        out = np.exp(table[0])
    elif times.shape[0] == 1:
        out = np.exp(table[rows, 0, :])
    else:
        out = np.exp(table[rows, np.arange(rows.size), :])
    return np.where(given, out, 1.0)


def _level_times(course: _Course, delta: float, t_begin: float, t_end: float) -> list[float]:
    """Change points of one drug where log(CL multiplier) crosses levels ``delta`` apart.

    The last level interval of each phase is further cut at levels halving the remaining gap
    down to ``_TAIL_LOG_FLOOR``: a phase that approaches its target for a long time (a new
    steady state, a washout) would otherwise end in one long segment carrying a biased
    average."""
    points: list[float] = []
    for phase in course.phases:
        if phase.stop <= t_begin or phase.start >= t_end:
            continue
        points.extend(t for t in (phase.start, phase.stop) if math.isfinite(t))
        if math.isinf(phase.k) or course.cl_ss == 1.0 or phase.phi_start == phase.target:
            continue
        phi_end = phase.target if math.isinf(phase.stop) else float(phase.phi(np.array(phase.stop)))
        log_start = float(course.log_multiplier(np.array(phase.phi_start), course.cl_ss))
        log_end = float(course.log_multiplier(np.array(phi_end), course.cl_ss))
        span = abs(log_end - log_start)
        steps = math.ceil(span / delta)
        fractions = list(np.arange(1, steps) / steps)
        halvings = max(0, math.ceil(math.log2(span / steps / _TAIL_LOG_FLOOR)))
        fractions.extend(1.0 - 0.5 ** np.arange(1, halvings + 1) / steps)
        if not fractions:
            continue
        levels = log_start + (log_end - log_start) * np.array(fractions)
        times = phase.time_of(course.phi_of_log(levels, course.cl_ss))
        points.extend(float(t) for t in times if phase.start < t < phase.stop)
    return points


def cl_multiplier_grid(
    comedications: Iterable[CoMedication],
    expresser: ArrayLike = False,
    *,
    turnover: Cyp3aTurnover | None = None,
    log_tolerance: float = DEFAULT_LOG_TOLERANCE,
    t_begin: float = 0.0,
    t_end: float | None = None,
) -> ClGrid:
    """Piecewise-constant CL multiplier for the kernel (``cl_change_times``, ``cl_multipliers``).

    The change points are where each drug's ``log`` multiplier crosses equally spaced levels, and
    each segment takes the mid-range value, so for every ``t`` in ``[t_begin, t_end]``
    ``|log grid(t) - log continuous(t)| <= log_tolerance`` (the tolerance is shared among the
    drugs with a gradual CL effect). Immediate (``none``) effects switch exactly at their start
    and stop. ``expresser``: bool or (n,) bools; rows are per subject only when needed.
    """
    items = _as_comedications(comedications)
    turnover = turnover or default_turnover()
    if not (isinstance(log_tolerance, int | float) and 0 < log_tolerance < 1):
        raise ValueError(f"log_tolerance must be in (0, 1), got {shown(log_tolerance)}")
    if finite_float(t_begin) is None:
        raise ValueError(f"t_begin must be a finite time in h, got {shown(t_begin)}")
    end = math.inf if t_end is None else float(t_end)
    if not end > t_begin:
        raise ValueError(f"t_end must be > t_begin ({t_begin} h), got {shown(t_end)}")
    groups, rows = _genotype_rows(items, expresser)
    per_group = [_courses(items, flag, turnover) for flag in groups]
    gradual = {
        item.drug
        for item in items
        if lookup_drug(item.drug).mechanism != "none"
        and any(lookup_drug(item.drug).effect(flag).cl_multiplier != 1.0 for flag in groups)
    }
    delta = log_tolerance / max(1, len(gradual) + _modulations(items))
    points: set[float] = set()
    for courses in per_group:
        for course in courses:
            for bound in course.grid_courses():
                points.update(_level_times(bound, delta, t_begin, end))
    change = np.array(sorted(t for t in points if t_begin < t < end))
    left = np.concatenate(([t_begin], change))
    right = np.concatenate((change, [end]))
    bounded = np.isfinite(right)
    # Gauss-Legendre nodes on each bounded segment: the segment value is the time average of
    # the multiplier, so that the integral of CL over every segment is (nearly) exact.
    nodes, weights = np.polynomial.legendre.leggauss(_QUADRATURE_NODES)
    width = (right - left)[bounded]
    at = left[bounded, None] + 0.5 * width[:, None] * (nodes[None, :] + 1.0)
    table = np.zeros((len(groups), left.size))
    for g, courses in enumerate(per_group):
        low = np.zeros(left.size)
        high = np.zeros(left.size)
        log_nodes = np.zeros(at.shape)
        for course in courses:
            if course.cl_ss == 1.0:
                continue
            phi_left = course.phi(left)
            phi_right = np.empty_like(right)
            phi_right[bounded] = course.phi(right[bounded])
            phi_right[~bounded] = course.final_phi()
            if course.mapping == "step":  # constant within each segment
                phi_right = phi_left
            ends = np.stack(
                (
                    course.log_multiplier(phi_left, course.cl_ss),
                    course.log_multiplier(phi_right, course.cl_ss),
                )
            )
            low += ends.min(axis=0)
            high += ends.max(axis=0)
            log_nodes += course.log_multiplier(course.phi(at.reshape(-1)), course.cl_ss).reshape(
                at.shape
            )
        mean = np.log(0.5 * (np.exp(log_nodes) @ weights))
        table[g] = 0.5 * (low + high)  # unbounded last segment: mid-range
        table[g, bounded] = np.clip(mean, low[bounded], high[bounded])
    multipliers = np.exp(table) if rows is None else np.exp(table)[rows]
    for array in (multipliers, change):
        array.setflags(write=False)
    return ClGrid(change, multipliers, float(log_tolerance), float(t_begin), end)


__getattr__ = moved_names(
    __name__,
    dict.fromkeys(("MECHANISMS", "Effect", "Interaction", "Mechanism"), "pksim.library.drugs")
    | {"cl_multiplier_at": "was removed: read cl_multiplier_grid(...).multipliers instead"},
)

"""Exact daily exposure of one patient: AUC over each window, Cmax and its time, per eta row.

**AUC** by mass balance, exact in closed form: between clearance changes the amount eliminated
over [a, b] is k10·∫ central dt, and it equals what was in the gut and the body at ``a`` plus
what arrived in [a, b) minus what is in the gut and the body at ``b``; so
``AUC = (total(a) + arrived - total(b)) / (k10 · V1)`` per constant-clearance segment, with the
amounts from the exact state walk (:func:`pksim.mipd.kernels.exposure_state`). Its rounding
error is that of the amounts times total / eliminated (a few units in the 13th digit for a
two-compartment set with a 20-day half-life).

**Cmax** is the largest of the concentration at a grid of :data:`CMAX_GRID_H` h, at every dose
arrival (before and just after it) and at every stationary point: in each grid cell where the
exact derivative d(central)/dt turns from positive to non-positive its root is found by Newton
steps on the exact second derivative, safeguarded by bisection (the bracket always shrinks),
to :data:`TMAX_TOLERANCE_H`. ``tmax`` is hours from the window's start.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.mipd.design import Design
from pksim.mipd.kernels import (
    N_STATE,
    STATE_CENTRAL,
    STATE_CURVATURE,
    STATE_SLOPE,
    exposure_state,
)
from pksim.mipd.predict import Predictor
from pksim.units import MG_PER_L_TO_NG_PER_ML

__all__ = [
    "AUC_UNITS",
    "CMAX_GRID_H",
    "MAX_ROOT_STEPS",
    "TMAX_TOLERANCE_H",
    "Exposure",
    "window_exposure",
]

AUC_UNITS = "ng*h/mL"
"""Units of an AUC of the whole-blood concentration."""
CMAX_GRID_H = 0.25
"""Grid step (h) on which the concentration's maxima are bracketed."""
TMAX_TOLERANCE_H = 1e-10
"""A root of the derivative is accepted when the last step moved it by less than this (h)."""
MAX_ROOT_STEPS = 60
"""Most safeguarded Newton steps per root (bisection alone reaches 1e-10 h in 32)."""

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Exposure:
    """Per eta row and window (r, w): ``auc`` ng·h/mL, ``cmax`` ng/mL, ``tmax`` h from the
    window's start."""

    auc: FloatArray
    cmax: FloatArray
    tmax: FloatArray


def window_exposure(
    design: Design,
    etas: ArrayLike,
    windows: ArrayLike,
    extra_times: ArrayLike = (),
    extra_amounts: ArrayLike = (),
) -> Exposure:
    """Exposure in each window (w, 2) [start, end] h of ``design``'s patient with the doses
    ``extra_times``/``extra_amounts`` (h, mg) after the history, for eta rows (r, q). Every
    window must lie after the last reset of the history (one piece)."""
    win = np.atleast_2d(np.asarray(windows, dtype=np.float64))
    if win.size == 0:
        empty = np.zeros((np.atleast_2d(etas).shape[0], 0))
        return Exposure(empty, empty, empty)
    if not np.all(win[:, 1] > win[:, 0]):
        raise ValueError("each exposure window needs end > start")
    predictor = Predictor(design, win.ravel(), extra_times, extra_amounts)
    if predictor.pieces.size != 1:
        raise ValueError("exposure windows must lie after the last reset of the history")
    rows = predictor.kernel_rows(np.atleast_2d(np.asarray(etas, dtype=np.float64)))
    rows["change_times"] = design.change_times
    auc = _auc(rows, win)
    cmax, tmax = _cmax(rows, win)
    return Exposure(auc, cmax, tmax - win[None, :, 0])


def _state(rows: dict, samples: FloatArray, which: NDArray[np.intp] | None = None) -> FloatArray:
    """State (n, s, 4) at ``samples`` (1|n, s) for kernel rows ``which`` (default all)."""
    pick = slice(None) if which is None else which
    n = rows["k10"][pick].size
    out = np.empty((n, samples.shape[1], N_STATE))

    def take(a: FloatArray) -> FloatArray:
        return np.ascontiguousarray(a[pick])

    exposure_state(
        take(rows["k10"]),
        take(rows["k12"]),
        take(rows["k21"]),
        take(rows["tlag"]),
        take(rows["f"]),
        take(rows["ka"]),
        take(rows["times"]),
        take(rows["amounts"]),
        take(rows["klass"]),
        take(rows["dose_f"]),
        np.ascontiguousarray(samples),
        rows["change_times"],
        take(rows["k_mult"]),
        out,
    )
    return out


def _auc(rows: dict, win: FloatArray) -> FloatArray:
    """AUC (r, w) ng·h/mL by mass balance per constant-clearance segment."""
    changes = rows["change_times"]
    bounds = [
        np.unique(np.concatenate([w, changes[(changes > w[0]) & (changes < w[1])]])) for w in win
    ]
    nodes = np.unique(np.concatenate(bounds))  # the walk needs ascending samples
    state = _state(rows, nodes[None])
    total = state[..., :3].sum(axis=2)  # (n, s): gut + central + peripheral (mg)
    arrival = rows["times"] + rows["tlag"][:, None]  # NaN for no dose
    given = rows["amounts"] * rows["f"][:, None] * rows["dose_f"]
    scale = MG_PER_L_TO_NG_PER_ML / rows["v"]
    out = np.zeros((rows["k10"].size, win.shape[0]))
    for w, b in enumerate(bounds):
        for x, y in itertools.pairwise(b):
            inside = (arrival >= x) & (arrival < y)
            arrived = np.where(inside, given, 0.0).sum(axis=1)
            seg = int(np.searchsorted(changes, x, side="right"))
            k10 = rows["k10"] * rows["k_mult"][:, seg]
            i, j = np.searchsorted(nodes, [x, y])
            out[:, w] += (total[:, i] + arrived - total[:, j]) / k10 * scale
    return out


def _cmax(rows: dict, win: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Cmax (r, w) ng/mL and its time (h)."""
    n = rows["k10"].size
    arrival = rows["times"] + rows["tlag"][:, None]
    scale = (MG_PER_L_TO_NG_PER_ML / rows["v"])[:, None]
    cmax = np.empty((n, win.shape[0]))
    tmax = np.empty((n, win.shape[0]))
    for w, (a, b) in enumerate(win):
        steps = max(1, int(np.ceil((b - a) / CMAX_GRID_H)))
        grid = np.linspace(a, b, steps + 1)
        inside = np.where((arrival >= a) & (arrival < b), arrival, np.nan)
        extra = np.concatenate([inside, np.nextafter(inside, np.inf)], axis=1)
        nodes = np.concatenate([np.broadcast_to(grid, (n, grid.size)), extra], axis=1)
        nodes = np.sort(np.where(np.isnan(nodes), b, np.minimum(nodes, b)), axis=1)
        state = _state(rows, nodes)
        conc = state[..., STATE_CENTRAL] * scale
        best = np.argmax(conc, axis=1)
        cmax[:, w] = conc[np.arange(n), best]
        tmax[:, w] = nodes[np.arange(n), best]
        slope = state[..., STATE_SLOPE]
        row, cell = np.nonzero((slope[:, :-1] > 0) & (slope[:, 1:] <= 0))
        if row.size:
            c, t = _slope_root(rows, row, nodes[row, cell], nodes[row, cell + 1])
            c = c * scale[row, 0]
            for i in np.flatnonzero(c > cmax[row, w]):  # few: the peaks above the grid
                if c[i] > cmax[row[i], w]:
                    cmax[row[i], w], tmax[row[i], w] = c[i], t[i]
    return cmax, tmax


def _slope_root(
    rows: dict, which, low: FloatArray, high: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Central amount (mg) and time (h) of the root of d(central)/dt in each bracket
    (positive at ``low``, non-positive at ``high``): Newton steps on the exact second
    derivative from the middle, a bisection wherever Newton leaves the bracket."""
    low, high = low.copy(), high.copy()
    t = 0.5 * (low + high)
    active = np.arange(t.size)
    for _ in range(MAX_ROOT_STEPS):
        state = _state(rows, t[active, None], which[active])[:, 0]
        slope, curvature = state[:, STATE_SLOPE], state[:, STATE_CURVATURE]
        rising = slope > 0
        low[active] = np.where(rising, t[active], low[active])
        high[active] = np.where(rising, high[active], t[active])
        with np.errstate(divide="ignore", invalid="ignore"):
            correction = slope / curvature
        newton = t[active] - correction
        inside = (newton >= low[active]) & (newton <= high[active])
        step = np.where(inside, newton, 0.5 * (low[active] + high[active]))
        moved = np.abs(step - t[active])
        t[active] = step
        done = (inside & (np.abs(correction) <= TMAX_TOLERANCE_H)) | (slope == 0)
        active = active[~done & (moved > 0)]
        if active.size == 0:
            break
    return _state(rows, t[:, None], which)[:, 0, STATE_CENTRAL], t

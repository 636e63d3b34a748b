"""Concentrations of one patient for many eta vectors at once, through the exact kernel.

Every row of ``eta`` (r, q) is one set of individual parameters; all rows go to the numba
kernel of :mod:`pksim.model.kernels` in one call (the finite-difference and line-search points
of the optimiser are batched this way).

Resets (``EVID`` 3/4 and steady-state doses) split the history into *pieces*: an observation is
predicted from the doses of its piece only (NONMEM forgets the earlier doses at a reset).
A steady-state dose (``SS=1``, interval ``II``) is preceded by the exact steady state of that
regimen, entered as two virtual doses one interval earlier: the steady-state gut amount
``D/(1 - exp(-ka·II))`` into the gut (class 0), and the steady-state central amount into a
second gut with ka = :data:`BOLUS_KA`, its amount scaled by ``(BOLUS_KA - k)/BOLUS_KA`` so that
the central amount is exactly ``A·exp(-k·t) - A·exp(-BOLUS_KA·t)``, whose last term is below
the smallest float64 before the steady-state dose itself arrives. Clearance before a
steady-state dose is held at its value at that dose (NONMEM computes the steady state with the
parameters of the SS record).

Under the two-compartment model (``design.two_compartment``) the peripheral amount cannot be
placed through a gut, so a steady-state piece starts with three virtual doses
(:func:`pksim.mipd.kernels.steady_state_virtual_doses`): the steady-state gut amount into the
gut one interval earlier, and two doses into the ka = :data:`BOLUS_KA` gut (one and two
intervals earlier) whose amounts are solved so that the (central, peripheral) state equals the
closed-form steady state exactly once their guts have underflowed (:data:`MIN_BOLUS_DECAY`
/ :data:`BOLUS_KA` h after the last one, before the steady-state dose arrives); from then on
the exact flow keeps it equal.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.mipd.design import Design
from pksim.mipd.kernels import (
    simulate_serial,
    simulate_serial_two_compartment,
    steady_state_virtual_doses,
)
from pksim.model import kernels

__all__ = [
    "BOLUS_KA",
    "MIN_BOLUS_DECAY",
    "SETTLE_H",
    "Predictor",
    "check_bolus_decay",
    "micro_constants",
    "steady_state_amounts",
]

BOLUS_KA = 1.0e7
"""Absorption rate constant (1/h) of the virtual gut that places the steady-state central
amount: exp(-BOLUS_KA·t) is 0 in float64 for t above 7.5e-5 h."""
MIN_BOLUS_DECAY = 746.0
"""exp(-x) underflows to 0 in float64 for x above this; BOLUS_KA·(II - lag) must exceed it."""
SETTLE_H = MIN_BOLUS_DECAY / BOLUS_KA
"""Time (h) after which a dose in the ka = BOLUS_KA gut is absorbed to the last float64."""

FloatArray = NDArray[np.float64]


class Predictor:
    """Predicts the concentrations (ng/mL) at ``sample_times`` (h, any order) of ``design``'s
    patient.

    ``extra_times``/``extra_amounts`` (h, mg): doses after the history (a forecast regimen),
    with the typical F at their time and no occasion eta.
    """

    def __init__(
        self,
        design: Design,
        sample_times: ArrayLike,
        extra_times: ArrayLike = (),
        extra_amounts: ArrayLike = (),
    ) -> None:
        h = design.history
        self.design = design
        samples = np.asarray(sample_times, dtype=np.float64)
        extra_t = np.asarray(extra_times, dtype=np.float64)
        times = np.concatenate([h.dose_times, extra_t])
        amounts = np.concatenate([h.dose_amounts, np.asarray(extra_amounts, dtype=np.float64)])
        dose_f = np.concatenate([design.dose_f, design.typical_f_at(extra_t)])
        dose_eta = np.concatenate([design.dose_eta, np.full(extra_t.size, -1)])
        ss = np.concatenate([h.dose_ss, np.zeros(extra_t.size, dtype=bool)])
        ii = np.concatenate([h.dose_ii, np.zeros(extra_t.size)])
        order = np.argsort(times, kind="stable")
        times, amounts, dose_f, dose_eta = (
            times[order],
            amounts[order],
            dose_f[order],
            dose_eta[order],
        )
        ss, ii = ss[order], ii[order]
        resets = np.unique(h.reset_times)
        piece_of_dose = np.searchsorted(resets, times, side="right")
        piece_of_sample = np.searchsorted(resets, samples, side="right")
        self.pieces = np.unique(piece_of_sample)
        n_pieces = self.pieces.size
        rows = []
        for p in self.pieces:
            rows.append(np.flatnonzero(piece_of_dose == p))
        n_virtual = 3 if design.two_compartment else 2
        virtual = [n_virtual if (rows[i].size and ss[rows[i][0]]) else 0 for i in range(n_pieces)]
        m = max([r.size + v for r, v in zip(rows, virtual, strict=True)], default=0) or 1
        s_per = [np.flatnonzero(piece_of_sample == p) for p in self.pieces]
        s = max([x.size for x in s_per], default=0) or 1
        c = design.change_times.size
        self.times = np.full((n_pieces, m), np.nan)
        self.amounts = np.zeros((n_pieces, m))
        self.klass = np.zeros((n_pieces, m), dtype=np.int64)
        self.base_f = np.ones((n_pieces, m))
        self.eta_col = np.full((n_pieces, m), -1, dtype=np.int64)
        self.samples = np.empty((n_pieces, s))
        self.k_mult = np.empty((n_pieces, c + 1))
        self.ss_piece = np.array([v > 0 for v in virtual])
        self.ss_amount = np.zeros(n_pieces)
        self.ss_tau = np.ones(n_pieces)
        self.ss_factor = np.ones(n_pieces)
        where = np.empty((samples.size, 2), dtype=np.int64)
        for i, (doses, v, idx) in enumerate(zip(rows, virtual, s_per, strict=True)):
            cols = slice(v, v + doses.size)
            self.times[i, cols] = times[doses]
            self.amounts[i, cols] = amounts[doses]
            self.base_f[i, cols] = dose_f[doses]
            self.eta_col[i, cols] = dose_eta[doses]
            factors = design.cl_factor.copy()
            if i == 0 and self.pieces[0] == 0:
                start = -math.inf
            else:
                start = resets[self.pieces[i] - 1]
                seg = int(np.searchsorted(design.change_times, start, side="right"))
                factors[:seg] = design.record_cl_factor_at(np.array([start]))[0]
            self.k_mult[i] = factors
            if v:
                first = doses[0]
                tau = ii[first]
                self.times[i, :v] = times[first] - tau
                if v == 3:  # two-compartment: bolus two intervals before, gut, bolus
                    self.times[i, 0] = times[first] - 2 * tau
                    self.klass[i, 0] = 1
                self.klass[i, v - 1] = 1
                self.base_f[i, :v] = dose_f[first]
                self.eta_col[i, :v] = dose_eta[first]
                self.ss_amount[i], self.ss_tau[i] = amounts[first], tau
                self.ss_factor[i] = factors[0]  # clearance of the SS record (held before it)
            idx = idx[np.argsort(samples[idx], kind="stable")]  # the kernel walks them in order
            st = samples[idx]
            self.samples[i, : idx.size] = st
            self.samples[i, idx.size :] = st[-1] if idx.size else 0.0
            where[idx, 0] = i
            where[idx, 1] = np.arange(idx.size)
        self.where = where
        self.n_samples = samples.size
        self.class_lag = np.zeros(2)
        names = design.eta_parameter
        self._iiv = {p: names.index(p) for p in names}
        self._t = design.typical
        self._tiled: dict[int, tuple[np.ndarray, ...]] = {}
        self._varies = bool(self.ss_piece.any() or (self.eta_col >= 0).any())
        """Amounts or per-dose F depend on the etas (steady-state doses, occasion etas)."""

    def _rows(self, r: int) -> tuple[np.ndarray, ...]:
        """times, classes, samples, clearance multipliers for r eta rows: shared (1, ...) rows
        when there is one piece, else tiled (cached per r)."""
        fixed = (self.times, self.klass, self.samples, self.k_mult)
        if self.pieces.size == 1:
            return fixed
        if r not in self._tiled:
            self._tiled[r] = tuple(np.tile(a, (r, 1)) for a in fixed)
        return self._tiled[r]

    def parameters(self, eta: ArrayLike) -> dict[str, FloatArray]:
        """Individual structural parameters (r,) for each eta row (r, q)."""
        e = np.atleast_2d(np.asarray(eta, dtype=np.float64))
        out = {}
        for p, tv in self._t.items():
            j = self._iiv.get(p)
            value = tv if p != "f" else 1.0  # F's covariate effects sit on each dose
            out[p] = value * np.exp(e[:, j]) if j is not None else np.full(e.shape[0], value)
        return out

    def __call__(self, eta: ArrayLike) -> FloatArray:
        """Concentrations (r, s) ng/mL for the eta rows (r, q)."""
        e = np.atleast_2d(np.asarray(eta, dtype=np.float64))
        r, n_p = e.shape[0], self.pieces.size
        if self.n_samples == 0:
            return np.zeros((r, 0))
        if self.design.two_compartment:
            rows = self.kernel_rows(e)
            out = np.empty((r * n_p, self.samples.shape[1]))
            simulate_serial_two_compartment(
                rows["k10"],
                rows["k12"],
                rows["k21"],
                rows["v"],
                rows["tlag"],
                rows["f"],
                rows["ka"],
                self.class_lag,
                rows["times"],
                rows["amounts"],
                rows["klass"],
                rows["dose_f"],
                rows["samples"],
                self.design.change_times,
                rows["k_mult"],
                out,
            )
            out = out.reshape(r, n_p, -1)
            return out[:, self.where[:, 0], self.where[:, 1]]
        p = self.parameters(e)
        k = np.repeat(p["cl"] / p["v"], n_p)
        v, tlag, f = (np.repeat(p[x], n_p) for x in ("v", "tlag", "f"))
        ka = np.empty((r * n_p, 2))
        ka[:, 0] = np.repeat(p["ka"], n_p)
        ka[:, 1] = BOLUS_KA
        out = np.empty((r * n_p, self.samples.shape[1]))
        times, klass, samples, k_mult = self._rows(r)
        if n_p == 1 and not self._varies:
            amounts, dose_f = self.amounts, self.base_f  # one row shared by every eta row
        else:
            occasion = np.where(self.eta_col >= 0, self.eta_col, 0)
            iov = np.where(self.eta_col[None] >= 0, np.exp(e[:, occasion]), 1.0)  # (r, P, m)
            dose_f = (self.base_f[None] * iov).reshape(r * n_p, -1)
            amounts = np.broadcast_to(self.amounts, (r, *self.amounts.shape)).copy()
            if self.ss_piece.any():
                self._steady_state(amounts, k.reshape(r, n_p), ka[:, 0].reshape(r, n_p), tlag)
        simulate_serial(
            np.ascontiguousarray(k),
            v,
            tlag,
            f,
            ka,
            self.class_lag,
            times,
            amounts.reshape(-1, amounts.shape[-1]),
            klass,
            np.ascontiguousarray(dose_f.reshape(-1, dose_f.shape[-1])),
            samples,
            self.design.change_times,
            k_mult,
            out,
        )
        out = out.reshape(r, n_p, -1)
        return out[:, self.where[:, 0], self.where[:, 1]]

    def kernel_rows(self, eta: FloatArray) -> dict[str, FloatArray]:
        """The kernel's inputs for eta rows (r, q), one row per (eta row, piece) (r·P rows):
        individual parameters (``v`` is V1/F), micro-constants k10, k12, k21 (1/h; 0, 0 for
        one compartment), ``ka`` (r·P, 1 or 2: the gut, the bolus gut of steady-state
        pieces), and the dose, sample and
        clearance rows (steady-state virtual amounts and occasion etas applied)."""
        e = np.atleast_2d(np.asarray(eta, dtype=np.float64))
        r, n_p = e.shape[0], self.pieces.size
        p = {x: np.repeat(values, n_p) for x, values in self.parameters(e).items()}
        k10, k12, k21 = micro_constants(p)
        ka = np.empty((r * n_p, 2 if self.ss_piece.any() else 1))  # the bolus gut: SS only
        ka[:, 0] = p["ka"]
        ka[:, 1:] = BOLUS_KA
        occasion = np.where(self.eta_col >= 0, self.eta_col, 0)
        iov = np.where(self.eta_col[None] >= 0, np.exp(e[:, occasion]), 1.0)  # (r, P, m)
        dose_f = (self.base_f[None] * iov).reshape(r * n_p, -1)
        amounts = np.broadcast_to(self.amounts, (r, *self.amounts.shape)).copy()
        if self.ss_piece.any():
            if self.design.two_compartment:
                self._steady_state_two(amounts, k10, k12, k21, p, n_p)
            else:
                self._steady_state(amounts, k10.reshape(r, n_p), p["ka"].reshape(r, n_p), p["tlag"])
        times, klass, samples, k_mult = (
            np.broadcast_to(a, (r, *a.shape)).reshape(r * n_p, -1)
            for a in (self.times, self.klass, self.samples, self.k_mult)
        )
        return {
            **p,
            "k10": k10,
            "k12": k12,
            "k21": k21,
            "ka": ka,
            "times": np.ascontiguousarray(times),
            "amounts": amounts.reshape(r * n_p, -1),
            "klass": np.ascontiguousarray(klass),
            "dose_f": np.ascontiguousarray(dose_f),
            "samples": np.ascontiguousarray(samples),
            "k_mult": np.ascontiguousarray(k_mult),
        }

    def _steady_state_two(self, amounts, k10, k12, k21, p, n_p) -> None:
        """Write the three virtual two-compartment steady-state doses of each SS piece into
        ``amounts`` (r, P, m)."""
        r = amounts.shape[0]
        for i in np.flatnonzero(self.ss_piece):
            rows = np.arange(r) * n_p + i
            check_bolus_decay(self.ss_tau[i], p["tlag"][rows])
            out = np.empty((r, 3))
            steady_state_virtual_doses(
                k10[rows] * self.ss_factor[i],
                k12[rows],
                k21[rows],
                p["ka"][rows],
                BOLUS_KA,
                np.full(r, self.ss_tau[i]),
                np.full(r, self.ss_amount[i]),
                SETTLE_H,
                out,
            )
            amounts[:, i, :3] = out

    def _steady_state(self, amounts: FloatArray, k: FloatArray, ka: FloatArray, tlag) -> None:
        """Write the two virtual steady-state doses of each SS piece into ``amounts`` (r, P, m)."""
        for i in np.flatnonzero(self.ss_piece):
            ke = k[:, i] * self.ss_factor[i]
            check_bolus_decay(self.ss_tau[i], tlag.reshape(-1, self.pieces.size)[:, i])
            gut, central = steady_state_amounts(ke, ka[:, i], self.ss_tau[i], self.ss_amount[i])
            amounts[:, i, 0] = gut
            amounts[:, i, 1] = central * (BOLUS_KA - ke) / BOLUS_KA


def steady_state_amounts(k, ka, tau, dose) -> tuple[FloatArray, FloatArray]:
    """Gut and central amounts (mg per unit F) just after a dose arrives at the steady state of
    ``dose`` mg every ``tau`` h (k, ka 1/h): gut D/(1 - exp(-ka tau)), central the fixed point
    A = A exp(-k tau) + gut ka T(ka, k, tau)."""
    gut = dose / -np.expm1(-ka * tau)
    central = gut * ka * _transfer(ka, k, tau) / -np.expm1(-k * tau)
    return gut, central


def micro_constants(p: dict[str, FloatArray]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """k10 = CL/V1, k12 = Q/V1, k21 = Q/V2 (1/h) from individual parameters by name; a
    one-compartment set (no ``q``) gives k12 = k21 = 0."""
    k10 = p["cl"] / p["v"]
    if "q" not in p:
        return k10, np.zeros_like(k10), np.zeros_like(k10)
    return k10, p["q"] / p["v"], p["q"] / p["v2"]


def check_bolus_decay(tau, tlag) -> None:
    """Refuse a steady-state interval not longer than the lag (the virtual central dose would
    not be absorbed completely before the steady-state dose)."""
    if np.any(BOLUS_KA * (np.asarray(tau) - np.asarray(tlag)) < MIN_BOLUS_DECAY):
        raise ValueError(
            "a steady-state dose's interval II is not longer than the lag time; allowed: II "
            "above the lag"
        )


def _transfer(ka: FloatArray, k: FloatArray, dt: float) -> FloatArray:
    """(exp(-k·dt) - exp(-ka·dt)) / (ka - k), with its ka -> k limit (see kernels.transfer)."""
    d = ka - k
    x = d * dt
    ek = np.exp(-k * dt)
    with np.errstate(divide="ignore", invalid="ignore"):
        series = -ek * np.expm1(-x) / d
        direct = (ek - np.exp(-ka * dt)) / d
    out = np.where(np.abs(x) <= kernels.TRANSFER_SERIES_LIMIT, series, direct)
    return np.where(x == 0, dt * ek, out)

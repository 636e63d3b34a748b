"""Predictions for many patients at once: each patient's own eta rows, one kernel call.

The patients' :class:`~pksim.mipd.predict.Predictor` rows (one per piece) are stacked, padded
to the longest dose and sample lists (NaN dose = none; a padded sample repeats the last one and
is dropped). Clearance change times are shared by a kernel call, so the union of the patients'
change times is used, each patient's multiplier taken on every segment of the union (exact:
its clearance is constant between its own change times). All patients must have the same etas
(names), as patients fitted under one parameter set with the same occasions do.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pksim.mipd.design import Design
from pksim.mipd.kernels import (
    simulate_serial,
    simulate_serial_two_compartment,
    steady_state_virtual_doses,
)
from pksim.mipd.predict import (
    BOLUS_KA,
    SETTLE_H,
    Predictor,
    check_bolus_decay,
    micro_constants,
    steady_state_amounts,
)

__all__ = ["BatchPredictor"]

FloatArray = NDArray[np.float64]


class BatchPredictor:
    """Concentrations (B, r, S) at each patient's observations for etas (B, r, q); columns
    beyond a patient's own ``n_obs[b]`` observations are NaN."""

    def __init__(self, designs: list[Design]) -> None:
        names = {d.eta_names for d in designs}
        if len(names) != 1:
            raise ValueError(f"a batch needs patients with the same etas, got {sorted(names)}")
        models = {d.pset.structural_model for d in designs}
        if len(models) != 1:
            raise ValueError(f"a batch needs one structural model, got {sorted(models)}")
        self.two_compartment = designs[0].two_compartment
        self.designs = designs
        singles = [Predictor(d, d.history.obs_times) for d in designs]
        self.n_obs = np.array([d.history.n_observations for d in designs])
        self.s_max = int(self.n_obs.max(initial=0))
        pieces = np.array([p.pieces.size for p in singles])
        self.pieces = pieces
        self.offset = np.concatenate([[0], np.cumsum(pieces)])
        m = max(p.times.shape[1] for p in singles)
        s = max(p.samples.shape[1] for p in singles)
        changes = np.unique(np.concatenate([d.change_times for d in designs]))
        self.change_times = changes
        inside = np.concatenate([[-np.inf], changes])  # each union segment starts here
        rows = int(self.offset[-1])
        self.times = np.full((rows, m), np.nan)
        self.amounts = np.zeros((rows, m))
        self.klass = np.zeros((rows, m), dtype=np.int64)
        self.base_f = np.ones((rows, m))
        self.eta_col = np.full((rows, m), -1, dtype=np.int64)
        self.samples = np.empty((rows, s))
        self.k_mult = np.empty((rows, changes.size + 1))
        self.ss_piece = np.zeros(rows, dtype=bool)
        self.ss_amount = np.zeros(rows)
        self.ss_tau = np.ones(rows)
        self.ss_factor = np.ones(rows)
        for b, (p, d) in enumerate(zip(singles, designs, strict=True)):
            sl = slice(self.offset[b], self.offset[b + 1])
            mb, sb = p.times.shape[1], p.samples.shape[1]
            self.times[sl, :mb] = p.times
            self.amounts[sl, :mb] = p.amounts
            self.klass[sl, :mb] = p.klass
            self.base_f[sl, :mb] = p.base_f
            self.eta_col[sl, :mb] = p.eta_col
            self.samples[sl, :sb] = p.samples
            self.samples[sl, sb:] = p.samples[:, -1:]
            # the patient's own segment of each union segment
            own = np.searchsorted(d.change_times, inside, side="right")
            self.k_mult[sl] = p.k_mult[:, own]
            self.ss_piece[sl], self.ss_amount[sl] = p.ss_piece, p.ss_amount
            self.ss_tau[sl], self.ss_factor[sl] = p.ss_tau, p.ss_factor
        self.gather = np.zeros((len(designs), max(self.s_max, 1), 2), dtype=np.int64)
        for b, p in enumerate(singles):
            self.gather[b, : p.where.shape[0], 0] = self.offset[b] + p.where[:, 0]
            self.gather[b, : p.where.shape[0], 1] = p.where[:, 1]
        self.valid = np.arange(max(self.s_max, 1))[None, :] < self.n_obs[:, None]
        names = designs[0].eta_parameter
        self._iiv = {q: names.index(q) for q in names}
        self.typical = {
            q: np.array([d.typical[q] if q != "f" else 1.0 for d in designs])
            for q in designs[0].parameter_names
        }
        self._varies = bool(self.ss_piece.any() or (self.eta_col >= 0).any())

    def parameters(self, eta: FloatArray, patients: NDArray[np.intp]) -> dict[str, FloatArray]:
        """Individual parameters (B', r) for etas (B', r, q) of ``patients``."""
        out = {}
        for q, tv in self.typical.items():
            j = self._iiv.get(q)
            out[q] = tv[patients, None] * (np.exp(eta[..., j]) if j is not None else 1.0)
            out[q] = np.broadcast_to(out[q], eta.shape[:2])
        return out

    def __call__(self, eta: FloatArray, patients: NDArray[np.intp] | None = None) -> FloatArray:
        """(B', r, S) ng/mL for etas (B', r, q) of ``patients`` (indices, default all);
        NaN beyond each patient's observations."""
        eta = np.asarray(eta, dtype=np.float64)
        sel = np.arange(len(self.designs)) if patients is None else np.asarray(patients)
        n_b, r = eta.shape[:2]
        if self.s_max == 0:
            return np.zeros((n_b, r, 0))
        pieces, offset = self.pieces[sel], self.offset[sel]
        # kernel rows in the order (patient, eta row, piece)
        lengths = r * pieces
        first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        who = np.repeat(np.arange(n_b), lengths)
        position = np.arange(int(lengths.sum())) - first[who]
        row, piece_of_row = np.divmod(position, pieces[who])
        base = offset[who] + piece_of_row
        p = self.parameters(eta, sel)
        pick = {q: np.ascontiguousarray(v[who, row]) for q, v in p.items()}
        if self.two_compartment:
            k, k12, k21 = micro_constants(pick)
        else:
            k = pick["cl"] / pick["v"]
        ka = np.empty((base.size, 2))
        ka[:, 0] = pick["ka"]
        ka[:, 1] = BOLUS_KA
        amounts = self.amounts[base]
        dose_f = self.base_f[base]
        if self._varies:
            cols = self.eta_col[base]
            e = eta[who, row]  # (rows, q)
            iov = np.take_along_axis(e, np.maximum(cols, 0), axis=1)
            dose_f = np.where(cols >= 0, dose_f * np.exp(iov), dose_f)
            ss = self.ss_piece[base]
            if ss.any():
                i = np.flatnonzero(ss)
                b = base[i]
                ke = k[i] * self.ss_factor[b]
                check_bolus_decay(self.ss_tau[b], pick["tlag"][i])
                if self.two_compartment:
                    virtual = np.empty((i.size, 3))
                    steady_state_virtual_doses(
                        ke,
                        k12[i],
                        k21[i],
                        ka[i, 0],
                        BOLUS_KA,
                        self.ss_tau[b],
                        self.ss_amount[b],
                        SETTLE_H,
                        virtual,
                    )
                    amounts[i, :3] = virtual
                else:
                    gut, central = steady_state_amounts(
                        ke, ka[i, 0], self.ss_tau[b], self.ss_amount[b]
                    )
                    amounts[i, 0] = gut
                    amounts[i, 1] = central * (BOLUS_KA - ke) / BOLUS_KA
        out = np.empty((base.size, self.samples.shape[1]))
        if self.two_compartment:
            if not self.ss_piece[base].any():
                ka = np.ascontiguousarray(ka[:, :1])  # no bolus gut: one absorption class
            kernel, rates = simulate_serial_two_compartment, (k, k12, k21)
        else:
            kernel, rates = simulate_serial, (k,)
        kernel(
            *rates,
            pick["v"],
            pick["tlag"],
            pick["f"],
            ka,
            np.zeros(2),
            self.times[base],
            amounts,
            self.klass[base],
            np.ascontiguousarray(dose_f),
            self.samples[base],
            self.change_times,
            self.k_mult[base],
            out,
        )
        return self._gather(out, r, pieces, offset, sel)

    def _gather(self, out, r, pieces, offset, sel) -> FloatArray:
        """(B', r, S) from the kernel's rows (patient, eta row, piece)."""
        # kernel row of (patient b, eta row j, piece p): start_b + j * P_b + p
        start = np.concatenate([[0], np.cumsum(r * pieces[:-1])])
        gather = self.gather[sel]
        piece = gather[:, :, 0] - offset[:, None]
        kernel_row = start[:, None, None] + np.arange(r)[None, :, None] * pieces[:, None, None]
        values = out[kernel_row + piece[:, None, :], gather[:, None, :, 1]]
        return np.where(self.valid[sel][:, None, :], values, np.nan)

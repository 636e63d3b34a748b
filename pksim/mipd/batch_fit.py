"""MAP fits of many patients at once: the algorithm of :mod:`pksim.mipd.fit`, vectorised.

Patients with the same etas (one parameter set, the same occasions) are fitted together in
groups of :data:`GROUP_SIZE`: each step evaluates every active patient's finite-difference and
line-search points in one kernel call (:class:`~pksim.mipd.batch_predict.BatchPredictor`),
and a patient leaves the active set when its own scoring has converged. Every patient gets the
same start points, steps and stopping rules as :func:`pksim.mipd.fit.fit_patient`, so a batch
fit agrees with the single fits (to the optimiser's tolerance). This is the array-level entry
point for fitting a whole cohort (e.g. MAP inside a TDM loop).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pksim.library.parameter_set import ParameterSet
from pksim.mipd.batch_predict import BatchPredictor
from pksim.mipd.design import Design, design
from pksim.mipd.fit import (
    ETA_TOLERANCE,
    GRADIENT_STEP,
    HESSIAN_STEP,
    MAX_ITERATIONS,
    MAX_STEP,
    N_STARTS,
    OBJ_TOLERANCE,
    START_SD,
    STEP_LENGTHS,
    Fit,
    fit_patient,
    residual_error,
)
from pksim.mipd.history import PatientHistory
from pksim.mipd.objective import Objective

__all__ = ["GROUP_SIZE", "fit_many"]

GROUP_SIZE = 512
"""Patients fitted together (bounds memory and the union of clearance change times)."""
NEWTON_STEPS = 3
"""Newton steps on the finite-difference Hessian after scoring (as the single fit)."""

FloatArray = NDArray[np.float64]


def fit_many(
    histories: list[PatientHistory] | tuple[PatientHistory, ...],
    pset: ParameterSet,
    *,
    starts: int = N_STARTS,
) -> list[Fit]:
    """MAP fits of ``histories`` under ``pset``, in order."""
    designs = [design(h, pset) for h in histories]
    out: list[Fit | None] = [None] * len(designs)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, d in enumerate(designs):
        if d.history.n_observations == 0 or d.n_eta == 0:
            out[i] = fit_patient(d.history, pset)
        else:
            groups.setdefault(d.eta_names, []).append(i)
    for members in groups.values():
        for start in range(0, len(members), GROUP_SIZE):
            chunk = members[start : start + GROUP_SIZE]
            for i, fit in zip(chunk, _fit_group([designs[i] for i in chunk], starts), strict=True):
                out[i] = fit
    return out  # type: ignore[return-value]


def _objective(designs: list[Design], predict: BatchPredictor) -> Objective:
    s = max(predict.s_max, 1)
    y = np.full((len(designs), 1, s), np.nan)
    blq = np.zeros((len(designs), 1, s), bool)
    lloq = np.full((len(designs), 1, s), np.nan)
    for b, d in enumerate(designs):
        n = d.history.n_observations
        y[b, 0, :n], blq[b, 0, :n], lloq[b, 0, :n] = (
            d.history.obs_values,
            d.history.obs_blq,
            d.history.obs_lloq,
        )
    omega_inv = np.linalg.inv(designs[0].omega)
    return Objective(
        y, blq, lloq, residual_error(designs[0].pset), omega_inv, predict.valid[:, None, :]
    )


def _sub(objective: Objective, idx) -> Objective:
    return Objective(
        objective.y[idx],
        objective.blq[idx],
        objective.lloq[idx],
        objective.residual,
        objective.omega_inv,
        objective.valid[idx],
    )


def _fit_group(designs: list[Design], starts: int) -> list[Fit]:
    predict = BatchPredictor(designs)
    objective = _objective(designs, predict)
    n_b, q = len(designs), designs[0].n_eta
    sd = np.sqrt(np.diag(designs[0].omega))
    candidates = np.zeros((n_b, 2 * q + 1, q))
    for j in range(q):
        candidates[:, 1 + 2 * j, j] = -START_SD * sd[j]
        candidates[:, 2 + 2 * j, j] = START_SD * sd[j]
    if "cl" in designs[0].eta_parameter:
        f0 = predict(np.zeros((n_b, 1, q)))[:, 0]
        y = objective.y[:, 0]
        ok = objective.valid[:, 0] & ~objective.blq[:, 0] & (f0 > 0) & (y > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(ok, np.log(f0 / y), 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1)
        guess = np.zeros((n_b, 1, q))
        guess[:, 0, designs[0].eta_parameter.index("cl")] = np.clip(ratio, -3 * sd[0], 3 * sd[0])
        candidates = np.concatenate([candidates, guess], axis=1)
    values = objective(candidates, predict(candidates))
    order = np.argsort(values, axis=1, kind="stable")[:, : max(1, starts)]
    best_eta = np.zeros((n_b, q))
    best_value = np.full(n_b, np.inf)
    converged = np.ones(n_b, bool)
    iterations = np.zeros(n_b, int)
    for k in range(order.shape[1]):
        eta0 = candidates[np.arange(n_b), order[:, k]]
        v0 = values[np.arange(n_b), order[:, k]]
        eta, value, n_it, ok = _scoring(eta0, v0, predict, objective)
        iterations += n_it
        better = value < best_value
        best_eta[better], best_value[better], converged[better] = (
            eta[better],
            value[better],
            ok[better],
        )
    eta, value, hess = _newton_polish(best_eta, best_value, predict, objective)
    cov = _laplace(hess, eta, predict, objective)
    f = predict(np.stack([eta, np.zeros_like(eta)], axis=1))
    data = objective.data_terms(f[:, :1])[:, 0]
    fits = []
    for b, d in enumerate(designs):
        n = d.history.n_observations
        fits.append(
            Fit(
                d,
                eta[b],
                cov[b],
                float(value[b]),
                float(data[b]),
                float(value[b] - data[b]),
                f[b, 0, :n],
                f[b, 1, :n],
                bool(converged[b]),
                int(iterations[b]),
            )
        )
    return fits


def _scoring(eta, value, predict: BatchPredictor, objective: Objective):
    n_b, q = eta.shape
    eta, value = eta.copy(), value.copy()
    active = np.arange(n_b)
    iterations = np.zeros(n_b, int)
    converged = np.zeros(n_b, bool)
    steps = np.array(STEP_LENGTHS)[None, :, None]
    for _ in range(MAX_ITERATIONS):
        if active.size == 0:
            break
        sub = _sub(objective, active)
        e = eta[active]
        g, h = _system(e, predict, sub, active)
        delta = -np.linalg.solve(h, g[..., None])[..., 0]
        largest = np.abs(delta).max(axis=1, keepdims=True)
        delta = np.where(largest > MAX_STEP, delta * MAX_STEP / largest, delta)
        trial = e[:, None, :] + steps * delta[:, None, :]
        values = sub(trial, predict(trial, active))
        j = np.argmin(values, axis=1)
        rows = np.arange(active.size)
        new_value = values[rows, j]
        iterations[active] += 1
        improved = new_value < value[active]
        gain = value[active] - new_value
        moved = np.abs(trial[rows, j] - e).max(axis=1)
        eta[active[improved]] = trial[rows, j][improved]
        value[active[improved]] = new_value[improved]
        stuck = ~improved
        converged[active[stuck]] = np.abs(delta[stuck]).max(axis=1) < 1e-4 * max(1, q)
        done = improved & (gain < OBJ_TOLERANCE) & (moved < ETA_TOLERANCE)
        converged[active[done]] = True
        active = active[~(stuck | done)]
    return eta, value, iterations, converged


def _system(eta, predict: BatchPredictor, objective: Objective, patients):
    """Gradients (B, q) and scoring matrices (B, q, q) at ``eta`` (B, q)."""
    q = eta.shape[1]
    eye = GRADIENT_STEP * np.eye(q)
    rows = np.concatenate([eta[:, None], eta[:, None] + eye, eta[:, None] - eye], axis=1)
    f = predict(rows, patients)
    jac = (f[:, 1 : q + 1] - f[:, q + 1 :]) / (2 * GRADIENT_STEP)  # (B, q, S)
    jac = np.where(np.isnan(jac), 0.0, jac)
    grad_f, weight = objective.derivatives(f[:, :1])  # (B, 1, S)
    g = np.einsum("bqs,bs->bq", jac, grad_f[:, 0]) + 2 * eta @ objective.omega_inv
    h = np.einsum("bis,bs,bjs->bij", jac, weight[:, 0], jac) + 2 * objective.omega_inv
    return g, h


def _hessian(eta, predict: BatchPredictor, objective: Objective):
    """Finite-difference Hessians (B, q, q) and gradients (B, q) of OBJ, as
    :func:`pksim.mipd.fit.hessian`."""
    n_b, q = eta.shape
    eye = np.eye(q) * HESSIAN_STEP
    offsets = [np.zeros(q)] + [eye[i] for i in range(q)] + [-eye[i] for i in range(q)]
    pairs = [(i, j) for i in range(q) for j in range(i + 1, q)]
    for i, j in pairs:
        offsets += [eye[i] + eye[j], eye[i] - eye[j], -eye[i] + eye[j], -eye[i] - eye[j]]
    rows = eta[:, None, :] + np.array(offsets)[None]
    v = objective(rows, predict(rows))
    plus, minus = v[:, 1 : q + 1], v[:, q + 1 : 2 * q + 1]
    h = np.zeros((n_b, q, q))
    h[:, np.arange(q), np.arange(q)] = (plus - 2 * v[:, :1] + minus) / HESSIAN_STEP**2
    for k, (i, j) in enumerate(pairs):
        a, b, c, e = (v[:, 2 * q + 1 + 4 * k + x] for x in range(4))
        h[:, i, j] = h[:, j, i] = (a - b - c + e) / (4 * HESSIAN_STEP**2)
    return h, (plus - minus) / (2 * HESSIAN_STEP)


def _newton_polish(eta, value, predict: BatchPredictor, objective: Objective):
    eta, value = eta.copy(), value.copy()
    h, g = _hessian(eta, predict, objective)
    active = np.ones(len(eta), bool)
    for _ in range(NEWTON_STEPS):
        positive = np.all(np.linalg.eigvalsh(h) > 0, axis=1)
        active &= positive
        if not active.any():
            break
        idx = np.flatnonzero(active)
        trial = eta[idx] - np.linalg.solve(h[idx], g[idx][..., None])[..., 0]
        sub = _sub(objective, idx)
        v = sub(trial[:, None], predict(trial[:, None], idx))[:, 0]
        better = v < value[idx]
        eta[idx[better]], value[idx[better]] = trial[better], v[better]
        active[idx[~better]] = False
        if better.any():
            hb, gb = _hessian(eta, predict, objective)  # all patients: simple, a few calls
            h[idx[better]], g[idx[better]] = hb[idx[better]], gb[idx[better]]
    return eta, value, h


def _laplace(h, eta, predict: BatchPredictor, objective: Objective) -> FloatArray:
    positive = np.all(np.linalg.eigvalsh(h) > 0, axis=1)
    if not positive.all():
        idx = np.flatnonzero(~positive)
        _, scoring = _system(eta[idx], predict, _sub(objective, idx), idx)
        h = h.copy()
        h[idx] = scoring
    cov = 2 * np.linalg.inv(h)
    return (cov + np.swapaxes(cov, 1, 2)) / 2

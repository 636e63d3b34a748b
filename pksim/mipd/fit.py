"""MAP Bayesian estimation of one patient's etas, with its Laplace uncertainty.

The objective is :class:`pksim.mipd.objective.Objective` (NONMEM's POSTHOC objective). It is
minimised by Fisher scoring: the Jacobian of the predictions is taken by central differences,
all 2q + 1 points in one kernel call, the step solves (J'WJ + 2 Omega^-1) d = -g (W: the
expected information, positive, so every step goes downhill) and a batched line search picks
the best of :data:`STEP_LENGTHS`. It starts from the best few of a batch of start points (the
typical patient, a clearance guess from the observed/predicted ratio, and +-1.5 SD on each
eta) and ends with Newton steps on the finite-difference Hessian, which is also the Laplace
approximation of the posterior: Cov(eta) = 2 H^-1 with H the Hessian of OBJ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pksim.library.parameter_set import ParameterSet
from pksim.mipd.design import Design, design
from pksim.mipd.history import PatientHistory
from pksim.mipd.objective import Objective, ResidualError
from pksim.mipd.predict import Predictor

__all__ = ["Fit", "fit_patient", "hessian"]

FloatArray = NDArray[np.float64]

GRADIENT_STEP = 1e-5
"""Central-difference step on eta (log scale) for the Jacobian of the predictions."""
HESSIAN_STEP = 1e-3
"""Step on eta for the finite-difference Hessian of OBJ."""
STEP_LENGTHS = (1.0, 0.5, 0.25, 0.1, 0.03, 0.01)
"""Fractions of the scoring step tried at once in the line search."""
MAX_STEP = 2.0
"""Largest change of one eta in one step (log scale)."""
MAX_ITERATIONS = 60
"""Scoring iterations per start."""
OBJ_TOLERANCE = 1e-6
"""Scoring stops when an iteration lowers OBJ by less than this (and the step is small);
the Newton steps that follow converge quadratically from there."""
ETA_TOLERANCE = 1e-4
"""... and no eta moves by more than this."""
START_SD = 1.5
"""Start points at +-1.5 Omega SDs of each eta."""
N_STARTS = 3
"""Best start points that are each optimised."""


@dataclass(frozen=True, slots=True, eq=False)
class Fit:
    """The MAP fit of one patient. ``eta`` (q,), ``covariance`` (q, q) Laplace; ``objective``
    = ``data_term`` + ``prior_term``; ``ipred``/``pred`` (s,) ng/mL at the observations with the
    MAP / zero etas; ``converged`` and ``iterations`` (all starts together)."""

    design: Design
    eta: FloatArray
    covariance: FloatArray
    objective: float
    data_term: float
    prior_term: float
    ipred: FloatArray
    pred: FloatArray
    converged: bool
    iterations: int

    @property
    def history(self) -> PatientHistory:
        return self.design.history

    def individual(self) -> dict[str, float]:
        """Individual parameters at baseline (L/h, L, 1/h, h, relative F)."""
        p = Predictor(self.design, []).parameters(self.eta)
        out = {name: float(values[0]) for name, values in p.items()}
        out["f"] *= self.design.typical["f"]
        return out


def residual_error(pset: ParameterSet) -> ResidualError:
    """The set's residual error (proportional fraction, additive ng/mL)."""
    return ResidualError(pset.residual_proportional, pset.residual_additive)


def objective_for(d: Design) -> Objective:
    """The MAP objective of a compiled patient."""
    h = d.history
    return Objective(
        h.obs_values, h.obs_blq, h.obs_lloq, residual_error(d.pset), np.linalg.inv(d.omega)
    )


def fit_patient(history: PatientHistory, pset: ParameterSet, *, starts: int = N_STARTS) -> Fit:
    """The MAP etas of ``history`` under ``pset`` and their Laplace covariance."""
    d = design(history, pset)
    predict = Predictor(d, history.obs_times)
    objective = objective_for(d)
    q = d.n_eta
    zero = np.zeros((1, q))
    if history.n_observations == 0 or q == 0:
        f = predict(zero)
        return Fit(
            d,
            zero[0],
            d.omega.copy(),
            float(objective(zero, f)[0]),
            float(objective.data_terms(f)[0]),
            0.0,
            f[0],
            f[0],
            True,
            0,
        )
    candidates = _start_points(d, predict, objective)
    f = predict(candidates)
    values = objective(candidates, f)
    order = np.argsort(values, kind="stable")[: max(1, starts)]
    best, iterations, converged = None, 0, True
    for i in order:
        eta, value, n, ok = _scoring(candidates[i], values[i], predict, objective)
        iterations += n
        if best is None or value < best[1]:
            best, converged = (eta, value), ok
    eta, value = best
    eta, value, h = _newton_polish(eta, value, predict, objective)
    covariance = _laplace_covariance(h, eta, predict, objective)
    f = predict(np.vstack([eta, zero]))
    data = float(objective.data_terms(f[:1])[0])
    return Fit(
        d,
        eta,
        covariance,
        float(value),
        data,
        float(value) - data,
        f[0],
        f[1],
        converged,
        iterations,
    )


def _start_points(d: Design, predict: Predictor, objective: Objective) -> FloatArray:
    q = d.n_eta
    sd = np.sqrt(np.diag(d.omega))
    rows = [np.zeros(q)]
    for j in range(q):
        for sign in (-1.0, 1.0):
            row = np.zeros(q)
            row[j] = sign * START_SD * sd[j]
            rows.append(row)
    if "cl" in d.eta_parameter:
        f0 = predict(np.zeros((1, q)))[0]
        quantified = ~objective.blq & (f0 > 0) & (objective.y > 0)
        if quantified.any():
            guess = np.zeros(q)
            ratio = np.log(f0[quantified] / objective.y[quantified]).mean()
            guess[d.eta_parameter.index("cl")] = np.clip(ratio, -3 * sd[0], 3 * sd[0])
            rows.append(guess)
    return np.array(rows)


def _scoring(eta, value, predict: Predictor, objective: Objective):
    q = eta.size
    steps = np.array(STEP_LENGTHS)[:, None]
    for iteration in range(1, MAX_ITERATIONS + 1):
        g, h = _scoring_system(eta, predict, objective)
        delta = -np.linalg.solve(h, g)
        largest = np.abs(delta).max()
        if largest > MAX_STEP:
            delta *= MAX_STEP / largest
        trial = eta + steps * delta
        values = objective(trial, predict(trial))
        j = int(np.argmin(values))
        if not values[j] < value:
            return eta, value, iteration, bool(np.abs(delta).max() < 1e-4 * max(1, q))
        gain = value - values[j]
        moved = np.abs(trial[j] - eta).max()
        eta, value = trial[j], values[j]
        if gain < OBJ_TOLERANCE and moved < ETA_TOLERANCE:
            return eta, value, iteration, True
    return eta, value, MAX_ITERATIONS, False


def _scoring_system(eta, predict: Predictor, objective: Objective):
    """Gradient of OBJ and the scoring matrix (positive definite) at ``eta``."""
    q = eta.size
    rows = np.vstack([eta, eta + GRADIENT_STEP * np.eye(q), eta - GRADIENT_STEP * np.eye(q)])
    f = predict(rows)
    jac = (f[1 : q + 1] - f[q + 1 :]).T / (2 * GRADIENT_STEP)  # (s, q)
    grad_f, weight = objective.derivatives(f[0])
    g = jac.T @ grad_f + 2 * objective.omega_inv @ eta
    h = jac.T @ (weight[:, None] * jac) + 2 * objective.omega_inv
    return g, h


def hessian(eta, predict: Predictor, objective: Objective, step: float = HESSIAN_STEP):
    """Central finite-difference Hessian (q, q) of OBJ at ``eta``, all points in one call,
    and the central-difference gradient (q,)."""
    q = eta.size
    eye = np.eye(q) * step
    rows = [eta]
    rows += [eta + eye[i] for i in range(q)] + [eta - eye[i] for i in range(q)]
    pairs = [(i, j) for i in range(q) for j in range(i + 1, q)]
    for i, j in pairs:
        rows += [
            eta + eye[i] + eye[j],
            eta + eye[i] - eye[j],
            eta - eye[i] + eye[j],
            eta - eye[i] - eye[j],
        ]
    rows = np.array(rows)
    v = objective(rows, predict(rows))
    plus, minus = v[1 : q + 1], v[q + 1 : 2 * q + 1]
    h = np.diag((plus - 2 * v[0] + minus) / step**2)
    for k, (i, j) in enumerate(pairs):
        a, b, c, e = v[2 * q + 1 + 4 * k : 2 * q + 5 + 4 * k]
        h[i, j] = h[j, i] = (a - b - c + e) / (4 * step**2)
    return h, (plus - minus) / (2 * step)


def _newton_polish(eta, value, predict: Predictor, objective: Objective, steps: int = 3):
    """Newton steps on the finite-difference Hessian while they lower OBJ."""
    h, g = hessian(eta, predict, objective)
    for _ in range(steps):
        try:
            np.linalg.cholesky(h)
        except np.linalg.LinAlgError:
            break
        trial = eta - np.linalg.solve(h, g)
        v = objective(trial[None], predict(trial[None]))[0]
        if not v < value:
            break
        eta, value = trial, v
        h, g = hessian(eta, predict, objective)
    return eta, value, h


def _laplace_covariance(h, eta, predict: Predictor, objective: Objective) -> FloatArray:
    """2 H^-1 (H: Hessian of OBJ = -2 log posterior); the scoring matrix if H is not
    positive definite (a flat or saddle direction)."""
    try:
        np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        _, h = _scoring_system(eta, predict, objective)
    cov = 2 * np.linalg.inv(h)
    return (cov + cov.T) / 2

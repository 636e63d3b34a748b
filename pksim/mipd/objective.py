"""The MAP objective: NONMEM's POSTHOC objective of one individual (FOCE-I evaluation).

For etas ``eta`` with individual predictions ``f_j`` (ng/mL) at the observations::

    OBJ(eta) = sum_quantified [ (y_j - f_j)^2 / V_j + ln V_j ]
             + sum_BLQ        [ -2 ln Phi((LLOQ_j - f_j) / sqrt(V_j)) ]          (Beal's M3)
             + eta' Omega^-1 eta

with the residual variance at the *individual* prediction (the interaction of FOCE-I),
``V_j = (prop · f_j)^2 + add^2`` (the combined error ``Y = F + F·EPS(1) + EPS(2)``; a set with
one term gives the proportional or additive model). This is -2 log of the posterior density of
``eta`` up to a constant (``n ln 2pi + ln det Omega``), so its minimum is the MAP estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import log_ndtr

__all__ = ["Objective", "ResidualError"]

FloatArray = NDArray[np.float64]
LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True, slots=True)
class ResidualError:
    """Residual error SDs: ``proportional`` (fraction, 0.2 = 20 %) and ``additive`` (ng/mL)."""

    proportional: float
    additive: float

    def __post_init__(self) -> None:
        if not (self.proportional >= 0 and self.additive >= 0) or (
            self.proportional == 0 and self.additive == 0
        ):
            raise ValueError(
                "the parameter set needs a residual error (proportional % and/or additive "
                f"ng/mL > 0), got {self.proportional:g} and {self.additive:g}"
            )

    def variance(self, f: FloatArray) -> FloatArray:
        """Residual variance (ng/mL)^2 at predictions ``f``."""
        return (self.proportional * f) ** 2 + self.additive**2

    def variance_slope(self, f: FloatArray) -> FloatArray:
        """dV/df."""
        return 2 * self.proportional**2 * f


@dataclass(frozen=True, slots=True, eq=False)
class Objective:
    """The objective of one patient, or of B patients at once: observations ``y`` (ng/mL; NaN
    where BLQ), ``blq`` flags and limits ``lloq`` (ng/mL), shaped (s,) or (B, 1, S);
    ``valid`` marks real observations (False: padding of a batch; default all); the residual
    error and the inverse of Omega (q, q). Predictions ``f`` are (r, s) or (B, r, S)."""

    y: FloatArray
    blq: NDArray[np.bool_]
    lloq: FloatArray
    residual: ResidualError
    omega_inv: FloatArray
    valid: NDArray[np.bool_] | None = None

    def _masks(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        valid = np.ones(self.blq.shape, bool) if self.valid is None else self.valid
        return valid & ~self.blq, valid & self.blq

    def data_terms(self, f: FloatArray) -> FloatArray:
        """-2 log-likelihood of the data at predictions ``f``, constants dropped (sum over the
        last axis)."""
        quantified, below = self._masks()
        var = self.residual.variance(f)
        with np.errstate(invalid="ignore"):
            terms = np.where(quantified, (self.y - f) ** 2 / var + np.log(var), 0.0)
            if below.any():
                z = (self.lloq - f) / np.sqrt(var)
                terms = terms + np.where(below, -2 * log_ndtr(z), 0.0)
        return terms.sum(axis=-1)

    def prior_terms(self, eta: FloatArray) -> FloatArray:
        """eta' Omega^-1 eta over the last axis of ``eta`` (..., q)."""
        e = np.asarray(eta)
        return np.einsum("...i,ij,...j->...", e, self.omega_inv, e)

    def __call__(self, eta: FloatArray, f: FloatArray) -> FloatArray:
        """OBJ for eta rows (..., q) with predictions ``f`` (..., s)."""
        return self.data_terms(f) + self.prior_terms(eta)

    def derivatives(self, f: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Per observation, the derivative of the data terms with respect to ``f`` and a
        non-negative curvature weight: the expected information for quantified observations
        (2/V + V'^2/V^2) and the exact curvature in z for BLQ ones (0 for padding)."""
        quantified, below = self._masks()
        var = self.residual.variance(f)
        slope = self.residual.variance_slope(f)
        r = self.y - f
        with np.errstate(invalid="ignore"):
            grad = np.where(quantified, -2 * r / var + (1 / var - r**2 / var**2) * slope, 0.0)
            weight = np.where(quantified, 2 / var + slope**2 / var**2, 0.0)
            if below.any():
                sd = np.sqrt(var)
                z = (self.lloq - f) / sd
                dz = -1 / sd - (self.lloq - f) * slope / (2 * var * sd)
                mills = np.exp(-0.5 * z**2 - 0.5 * LOG_2PI - log_ndtr(z))  # phi(z) / Phi(z)
                grad = np.where(below, -2 * mills * dz, grad)
                weight = np.where(below, 2 * mills * (z + mills) * dz**2, weight)
        return grad, weight

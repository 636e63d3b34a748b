"""Time course of one co-medication's effect: phases of its fraction of full effect ``phi``
and the mapping of ``phi`` to a multiplier (the model is in :mod:`pksim.modifiers.interactions`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["EffectCourse", "Phase"]


@dataclass(frozen=True, slots=True)
class Phase:
    """``phi(t) = target + (phi_start - target) exp(-k (t - start))`` on [start, stop)."""

    start: float
    stop: float
    target: float
    k: float  # inf for an immediate (step) effect
    phi_start: float

    def phi(self, t: np.ndarray) -> np.ndarray:
        if math.isinf(self.k) or self.phi_start == self.target:
            return np.full(np.shape(t), self.target)
        with np.errstate(over="ignore"):
            return self.target + (self.phi_start - self.target) * np.exp(-self.k * (t - self.start))

    def time_of(self, phi: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`phi` (for values strictly between phi_start and the target)."""
        return self.start + np.log((self.phi_start - self.target) / (phi - self.target)) / self.k


@dataclass(frozen=True, slots=True)
class EffectCourse:
    """One drug for one genotype group: its phases and full-effect multipliers; ``modulators``
    (perpetrator course, exposure ratio x) scale its ``phi`` by ``1 + phi_P (x - 1)``."""

    phases: tuple[Phase, ...]
    cl_ss: float
    f_ss: float
    mapping: str
    modulators: tuple[tuple[EffectCourse, float], ...] = ()

    def phi(self, t: np.ndarray) -> np.ndarray:
        """Fraction of full effect, times the exposure changes of the modulators."""
        out = self.own_phi(t)
        for course, ratio in self.modulators:
            out = out * (1.0 + course.own_phi(t) * (ratio - 1.0))
        return out

    def final_phi(self) -> float:
        """``phi`` after the last phase (t -> inf)."""
        out = self.phases[-1].target
        for course, ratio in self.modulators:
            out *= 1.0 + course.phases[-1].target * (ratio - 1.0)
        return out

    def grid_courses(self) -> list[EffectCourse]:
        """Unmodulated courses whose level times bound this one's changes in log CL multiplier:
        itself at the largest exposure (``x`` > 1 of its modulators), and per modulator its
        phases with log multiplier ``log(1 + phi_P (x - 1))`` (spans ``|log x|``, at least the
        modulation's effect on ``log m``, since ``d log(1 + x a) / d log x < 1``)."""
        if not self.modulators:
            return [self]
        largest = math.prod(max(1.0, ratio) for _, ratio in self.modulators)
        cl_largest = 1.0 / (1.0 + largest * (1.0 / self.cl_ss - 1.0))
        out = [replace(self, cl_ss=cl_largest, modulators=())]
        out.extend(
            EffectCourse(course.phases, ratio, 1.0, "linear") for course, ratio in self.modulators
        )
        return out

    def own_phi(self, t: np.ndarray) -> np.ndarray:
        starts = np.array([p.start for p in self.phases])
        which = np.searchsorted(starts, t, side="right") - 1
        out = np.empty(np.shape(t))
        for i, phase in enumerate(self.phases):
            mask = which == i
            if np.any(mask):
                out[mask] = phase.phi(t[mask])
        return out

    def log_multiplier(self, phi: np.ndarray, m_ss: float) -> np.ndarray:
        if self.mapping == "hyperbolic":
            return -np.log1p(phi * (1.0 / m_ss - 1.0))
        return np.log1p(phi * (m_ss - 1.0))

    def phi_of_log(self, level: np.ndarray, m_ss: float) -> np.ndarray:
        if self.mapping == "hyperbolic":
            return np.expm1(-level) / (1.0 / m_ss - 1.0)
        return np.expm1(level) / (m_ss - 1.0)

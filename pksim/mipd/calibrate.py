"""Calibrate a parameter set to local TDM data by Laplace marginal likelihood.

Estimated quantities (any of :data:`ESTIMABLE`, default CL/F only), each on a log scale
relative to the set's value, ``theta_k = ln(value_k / prior_k)``:

- ``cl``: the typical CL/F (L/h);
- ``iiv_cl``: the between-subject SD of ln CL/F (omega; written in the set's IIV units);
- ``residual``: the proportional residual error SD (the additive part stays the set's).

For given ``theta`` each patient's marginal likelihood is approximated at its MAP etas
(NONMEM's LAPLACIAN, FOCE with interaction):

    -2 ln L_i(theta) = OBJ_i* + n_i ln 2pi + ln det Omega + ln det(H_i / 2)

(``OBJ_i*`` the MAP objective, ``H_i`` its Hessian in eta; ``ln det(H_i/2) = -ln det Cov_i``
with the Laplace covariance of :func:`pksim.mipd.batch_fit.fit_many`). All estimated ``theta``
minimise the sum over patients jointly (Newton steps on the central-difference Hessian with a
backtracking line search). Standard errors come from the curvature:
``Cov(theta) = 2 H^-1`` with ``H`` the Hessian of the summed -2 ln L, and the delta method
gives those of the values. Covariate effects, the other IIV and IOV stay the set's. A patient
without the CYP3A5 genotype the set needs enters by its genotype mixture,
``L_i = sum_g pi_g L_ig`` (:mod:`pksim.mipd.mixture`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pksim.errors import Invalid, shown
from pksim.files import write_atomically
from pksim.library.cited import data_folder
from pksim.library.parameter_overrides import override_parameter_set
from pksim.library.parameter_set import ParameterSet
from pksim.mipd.batch_fit import fit_many
from pksim.mipd.history import PatientHistory
from pksim.mipd.mixture import fit_mixtures, needs_genotype

__all__ = [
    "DEFAULT_ESTIMATE",
    "ESTIMABLE",
    "Calibration",
    "Estimate",
    "calibrate",
    "calibrate_clearance",
    "calibrated_set",
    "calibrated_toml",
    "minus_two_log_likelihood",
    "parse_estimate",
]

ESTIMABLE = ("cl", "iiv_cl", "residual")
"""What :func:`calibrate` can estimate (see the module docstring)."""
DEFAULT_ESTIMATE = ("cl",)
"""Estimated by default: the typical CL/F only."""
LABELS = {"cl": "typical CL/F", "iiv_cl": "IIV of CL/F", "residual": "proportional error"}
THETA_BOUND = 2.5
"""Each theta stays within +-2.5 (a factor of 12 either way); an estimate at the bound means
the data do not fit the set."""
DERIVATIVE_STEP = 0.02
"""Step on theta for the central-difference gradient and Hessian of -2 ln L (large enough
that the MAP optimiser's tolerance is negligible in the differences)."""
MAX_NEWTON_STEPS = 12
"""Newton iterations of the joint search."""
MAX_THETA_STEP = 1.0
"""Largest change of one theta in one Newton step."""
LINE_SEARCH = (1.0, 0.5, 0.25, 0.1)
"""Fractions of the Newton step tried in turn."""
DECREASE_TOLERANCE = 1e-3
"""The search stops when the Newton step promises to lower -2 ln L by less than this."""
LOG_2PI = math.log(2 * math.pi)
PERCENT = 100.0

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Estimate:
    """One estimated quantity: its prior (the set's) and estimated value in ``units``, the
    standard error (delta method), and ``theta`` = ln of the ratio of the underlying scale
    (CL/F, omega SD, proportional SD) with its standard error."""

    key: str
    units: str
    prior: float
    value: float
    se: float
    theta: float
    theta_se: float

    @property
    def label(self) -> str:
        return LABELS[self.key]

    def describe(self) -> str:
        return (
            f"{self.label} {self.value:.4g} {self.units} (SE {self.se:.2g}; set {self.prior:.4g})"
        )


@dataclass(frozen=True, slots=True, eq=False)
class Calibration:
    """The estimates, the covariance of theta (k, k), -2 ln L at the estimate and at the set's
    values, the data's size, the search's diagnostics and the calibrated set (in memory)."""

    parameter_set: str
    estimates: tuple[Estimate, ...]
    theta_covariance: FloatArray
    minus_two_ll: float
    minus_two_ll_prior: float
    n_patients: int
    n_observations: int
    iterations: int
    evaluations: int
    converged: bool
    calibrated: ParameterSet

    def estimate(self, key: str) -> Estimate:
        """The estimate of ``key`` (one of :data:`ESTIMABLE`)."""
        for e in self.estimates:
            if e.key == key:
                return e
        raise KeyError(f"{key!r} was not estimated ({[e.key for e in self.estimates]})")

    @property
    def cl(self) -> float:
        """Typical CL/F of the calibrated set (L/h)."""
        return self.calibrated.typical["cl"].value

    @property
    def prior_cl(self) -> float:
        """Typical CL/F of the set before calibration (L/h)."""
        return self.estimate("cl").prior if self._has("cl") else self.cl

    @property
    def cl_se(self) -> float:
        return self.estimate("cl").se if self._has("cl") else 0.0

    @property
    def theta(self) -> float:
        return self.estimate("cl").theta if self._has("cl") else 0.0

    @property
    def theta_se(self) -> float:
        return self.estimate("cl").theta_se if self._has("cl") else 0.0

    def _has(self, key: str) -> bool:
        return any(e.key == key for e in self.estimates)

    def summary(self) -> str:
        parts = []
        for e in self.estimates:
            low, high = (e.value * math.exp(s * 1.96 * e.theta_se) for s in (-1, 1))
            if e.key == "cl":
                parts.append(
                    f"typical CL/F {e.value:.4g} L/h (SE {e.se:.2g}; 95 % {low:.3g}-{high:.3g}), "
                    f"set {self.parameter_set!r} had {e.prior:.4g} L/h"
                )
            else:
                parts.append(f"{e.describe()}")
        state = "converged" if self.converged else "NOT converged"
        return (
            "; ".join(parts)
            + f"; -2 ln L {self.minus_two_ll:.2f} (at the set's values "
            + f"{self.minus_two_ll_prior:.2f}); {self.n_patients} patients, "
            + f"{self.n_observations} observations; {self.iterations} Newton steps, "
            + f"{self.evaluations} evaluations, {state}"
        )


def parse_estimate(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"cl,iiv_cl"`` -> ("cl", "iiv_cl"), in :data:`ESTIMABLE` order; others refused."""
    items = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    bad = [s for s in items if s not in ESTIMABLE]
    if bad or not items:
        raise ValueError(
            f"estimate {shown(text)}: give a comma-separated list of {', '.join(ESTIMABLE)}"
        )
    return tuple(k for k in ESTIMABLE if k in items)


def minus_two_log_likelihood(
    histories: tuple[PatientHistory, ...],
    pset: ParameterSet,
    genotype_prior: str | Mapping[str, float] | None = None,
) -> float:
    """Laplace -2 log marginal likelihood of the data under ``pset`` (module docstring); a
    patient without the CYP3A5 genotype the set needs contributes its mixture over the
    genotypes, ``-2 ln sum_g pi_g L_g`` (:mod:`pksim.mipd.mixture`)."""
    observed = [h for h in histories if h.n_observations]
    mixed = [h for h in observed if needs_genotype(h, pset)]
    plain = [h for h in observed if not needs_genotype(h, pset)]
    total = 0.0
    for h, fit in zip(plain, fit_many(plain, pset), strict=True):
        logdet_cov = np.linalg.slogdet(fit.covariance)[1]
        logdet_omega = np.linalg.slogdet(fit.design.omega)[1]
        total += fit.objective + h.n_observations * LOG_2PI + logdet_omega - logdet_cov
    if mixed:
        for mix in fit_mixtures(mixed, pset, genotype_prior):
            log_terms = np.log(mix.prior) - 0.5 * mix.minus_two_ll
            top = log_terms.max()
            log_sum = top + math.log(np.exp(log_terms - top).sum())
            total += mix.history.n_observations * LOG_2PI - 2 * log_sum
    return float(total)


def calibrated_set(pset: ParameterSet, keys: tuple[str, ...], theta) -> ParameterSet:
    """``pset`` with each of ``keys`` scaled by ``exp(theta_k)`` (module docstring)."""
    overrides: dict[str, float] = {}
    for key, t in zip(keys, np.asarray(theta, dtype=float), strict=True):
        factor = math.exp(float(t))
        if key == "cl":
            overrides["typical.cl"] = pset.typical["cl"].value * factor
        elif key == "iiv_cl":
            overrides["iiv.cl"] = _omega_in_units(_omega_sd(pset) * factor, pset.iiv["cl"].units)
        else:
            overrides["residual.proportional"] = pset.residual["proportional"].value * factor
    return override_parameter_set(pset, overrides)


def calibrate(
    histories: tuple[PatientHistory, ...],
    pset: ParameterSet,
    estimate: str | tuple[str, ...] = DEFAULT_ESTIMATE,
    *,
    genotype_prior: str | Mapping[str, float] | None = None,
) -> Calibration:
    """Estimate ``estimate`` (of :data:`ESTIMABLE`) of ``pset`` from ``histories`` jointly
    by Laplace marginal likelihood (module docstring); patients without a needed CYP3A5
    genotype enter as mixtures with prior ``genotype_prior`` (default: the default
    population's frequencies, :func:`pksim.mipd.mixture.genotype_prior`)."""
    keys = parse_estimate(estimate)
    _check_estimable(pset, keys)
    if not any(h.n_observations for h in histories):
        raise ValueError("calibration needs observations; the data have none")
    evaluations = 0

    def objective(theta: FloatArray) -> float:
        nonlocal evaluations
        evaluations += 1
        try:
            scaled = calibrated_set(pset, keys, theta)
        except Invalid:  # beyond a plausibility limit of the overrides (e.g. 100 % error)
            return math.inf
        return minus_two_log_likelihood(histories, scaled, genotype_prior)

    k = len(keys)
    theta = np.zeros(k)
    prior_value = value = objective(theta)
    converged, iterations = False, 0
    for iterations in range(1, MAX_NEWTON_STEPS + 1):  # noqa: B007
        g, h = _derivatives(objective, theta, value)
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
            break  # next to a plausibility limit: not converged, SEs infinite
        step = _newton_step(g, h)
        if -(g @ step) / 2 < DECREASE_TOLERANCE:
            converged = True
            break
        for fraction in LINE_SEARCH:
            trial = np.clip(theta + fraction * step, -THETA_BOUND, THETA_BOUND)
            trial_value = objective(trial)
            if trial_value < value:
                theta, value = trial, trial_value
                break
        else:
            converged = bool(np.all(np.linalg.eigvalsh(h) > 0))
            break
    else:
        g, h = _derivatives(objective, theta, value)
    at_bound = [key for key, t in zip(keys, theta, strict=True) if abs(t) >= THETA_BOUND - 1e-9]
    if at_bound:
        raise ValueError(
            f"{', '.join(LABELS[key] for key in at_bound)} reached the search bound (a factor "
            f"of {math.exp(THETA_BOUND):.3g} from the set's value): the data do not fit "
            f"parameter set {pset.name!r}"
        )
    covariance = _theta_covariance(h)
    estimates = tuple(
        _estimate(pset, key, float(theta[j]), float(math.sqrt(covariance[j, j])))
        for j, key in enumerate(keys)
    )
    return Calibration(
        pset.name,
        estimates,
        covariance,
        float(value),
        float(prior_value),
        len(histories),
        sum(x.n_observations for x in histories),
        iterations,
        evaluations,
        converged,
        calibrated_set(pset, keys, theta),
    )


def calibrate_clearance(histories: tuple[PatientHistory, ...], pset: ParameterSet) -> Calibration:
    """Estimate the typical CL/F of ``pset`` only (:func:`calibrate` with ``("cl",)``)."""
    return calibrate(histories, pset, DEFAULT_ESTIMATE)


def _derivatives(objective, theta: FloatArray, value: float) -> tuple[FloatArray, FloatArray]:
    """Central-difference gradient (k,) and Hessian (k, k) of ``objective`` at ``theta``."""
    k = theta.size
    step = DERIVATIVE_STEP
    eye = np.eye(k) * step
    plus = np.array([objective(theta + eye[i]) for i in range(k)])
    minus = np.array([objective(theta - eye[i]) for i in range(k)])
    h = np.diag((plus - 2 * value + minus) / step**2)
    for i in range(k):
        for j in range(i + 1, k):
            corners = [
                objective(theta + si * eye[i] + sj * eye[j])
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))
            ]
            h[i, j] = h[j, i] = (corners[0] - corners[1] - corners[2] + corners[3]) / (4 * step**2)
    return (plus - minus) / (2 * step), h


def _newton_step(g: FloatArray, h: FloatArray) -> FloatArray:
    """The Newton step, or a gradient step scaled by the curvature where H is not positive
    definite; each component at most :data:`MAX_THETA_STEP`."""
    try:
        np.linalg.cholesky(h)
        step = -np.linalg.solve(h, g)
    except np.linalg.LinAlgError:
        step = -g / np.maximum(np.abs(np.diag(h)), 1.0)
    largest = np.abs(step).max()
    return step * (MAX_THETA_STEP / largest) if largest > MAX_THETA_STEP else step


def _theta_covariance(h: FloatArray) -> FloatArray:
    """2 H^-1; infinite variances where H is not positive definite (or not finite)."""
    if not np.all(np.isfinite(h)):
        return np.full(h.shape, np.inf)
    try:
        np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        return np.full(h.shape, np.inf)
    cov = 2 * np.linalg.inv(h)
    return (cov + cov.T) / 2


def _estimate(pset: ParameterSet, key: str, theta: float, theta_se: float) -> Estimate:
    """The estimate in the set's units, its SE by the delta method."""
    factor = math.exp(theta)
    if key == "cl":
        prior = pset.typical["cl"].value
        return Estimate(
            key, "L/h", prior, prior * factor, prior * factor * theta_se, theta, theta_se
        )
    if key == "residual":
        prior = pset.residual["proportional"].value
        value = prior * factor
        return Estimate(key, "%", prior, value, value * theta_se, theta, theta_se)
    units = pset.iiv["cl"].units
    sd = _omega_sd(pset) * factor
    value = _omega_in_units(sd, units)
    if units == "%CV":  # CV = sqrt(exp(sd^2) - 1): dCV/d ln sd = sd^2 exp(sd^2) / CV
        slope = PERCENT * sd**2 * math.exp(sd**2) / math.sqrt(math.expm1(sd**2))
    else:  # omega^2 = sd^2: d omega^2 / d ln sd = 2 sd^2
        slope = 2 * sd**2
    prior = pset.iiv["cl"].value
    return Estimate(key, units, prior, value, slope * theta_se, theta, theta_se)


def _omega_sd(pset: ParameterSet) -> float:
    names, omega = pset.iiv_covariance()
    return float(math.sqrt(omega[names.index("cl"), names.index("cl")]))


def _omega_in_units(sd: float, units: str) -> float:
    """A log-scale SD as %CV (``sqrt(exp(sd^2) - 1)``) or as omega^2."""
    return PERCENT * math.sqrt(math.expm1(sd**2)) if units == "%CV" else sd**2


def _check_estimable(pset: ParameterSet, keys: tuple[str, ...]) -> None:
    if "iiv_cl" in keys and "cl" not in pset.iiv:
        raise ValueError(f"parameter set {pset.name!r} has no IIV on CL/F to estimate")
    if "residual" in keys and pset.residual_proportional <= 0:
        raise ValueError(f"parameter set {pset.name!r} has no proportional residual error")


TABLES = {"cl": "typical.cl", "iiv_cl": "iiv.cl", "residual": "residual.proportional"}
"""The TOML table of each estimable quantity."""


def calibrated_toml(
    pset: ParameterSet,
    result: Calibration,
    data: str | os.PathLike[str],
    name: str,
    diagnostics: str = "",
) -> str:
    """The bundled TOML of ``pset`` with each estimated entry replaced by its estimate
    (evidence D; its note names the data file and the fit's diagnostics, plus
    ``diagnostics``, e.g. the VPC's summary) and a new name."""
    source = data_folder("parameters") / f"{pset.name}.toml"
    if not source.is_file():
        raise ValueError(f"parameter set {pset.name!r} is not a bundled file; cannot copy it")
    text = source.read_text(encoding="utf-8")
    for e in result.estimates:
        text = _replace_table(text, source, pset, result, e, data, diagnostics)
    text = re.sub(r'(?m)^name = ".*"$', f"name = {_quoted(name)}", text, count=1)
    return re.sub(
        r'(?m)^title = "(.*)"$',
        lambda m: f"title = {_quoted(m.group(1) + ' (calibrated)')}",
        text,
        count=1,
    )


def _replace_table(text, source, pset, result: Calibration, e: Estimate, data, extra) -> str:
    table = TABLES[e.key]
    group, item = table.split(".")
    cited = {"typical": pset.typical, "iiv": pset.iiv, "residual": pset.residual}[group][item]
    block = re.compile(rf"(?ms)^\[{re.escape(table)}\]\n.*?(?=^\[|\Z)")
    if not block.search(text):
        raise ValueError(f"{source}: no [{table}] table to replace")
    note = (
        f"Calibrated to {Path(data).name} by Laplace marginal likelihood (pksim calibrate): "
        f"{e.describe()}; fit: {result.summary()}{'; ' + extra if extra else ''}. Sources: "
        f"the structure and prior of set {pset.name!r}."
    )
    sources = "[" + ", ".join(_quoted(key) for key in cited.sources) + "]"
    new = (
        f"[{table}]\nvalue = {e.value:.6g}\nunits = {_quoted(cited.units)}\n"
        f'source = {sources}\nevidence = "D"\nnote = {_quoted(note)}\n\n'
    )
    return block.sub(lambda _: new, text, count=1)


def write_calibrated(path: str | os.PathLike[str], text: str) -> None:
    """Write the calibrated set atomically."""
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

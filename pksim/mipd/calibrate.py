"""Calibrate a parameter set's typical CL/F to local TDM data by Laplace marginal likelihood.

For a typical CL/F scaled by ``exp(theta)``, each patient's marginal likelihood is
approximated at its MAP etas (NONMEM's LAPLACIAN):

    -2 ln L_i(theta) = OBJ_i* + n_i ln 2pi + ln det Omega + ln det(H_i / 2)

(``OBJ_i*`` the MAP objective, ``H_i`` its Hessian in eta). ``theta`` minimises the sum over
patients (bounded scalar search); its standard error comes from the curvature of the sum,
``SE = sqrt(2 / d2(-2 ln L)/d theta2)``, and CL/F's from the delta method. Only the typical
CL/F is estimated; IIV, covariate effects and residual error stay the set's.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize_scalar

from pksim.files import write_atomically
from pksim.library.cited import data_folder
from pksim.library.parameter_overrides import override_parameter_set
from pksim.library.parameter_set import ParameterSet
from pksim.mipd.fit import fit_patient, hessian, objective_for
from pksim.mipd.history import PatientHistory
from pksim.mipd.predict import Predictor

__all__ = ["Calibration", "calibrate_clearance", "calibrated_toml"]

THETA_BOUND = 2.5
"""The search for log(CL/F ratio) stays within +-2.5 (a factor of 12 either way)."""
THETA_TOLERANCE = 1e-5
"""Absolute tolerance of the search on theta."""
CURVATURE_STEP = 0.01
"""Step on theta for the second difference giving the standard error."""
LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True, slots=True)
class Calibration:
    """The estimate: typical CL/F (L/h) and its SE, theta = ln(estimate / prior value), the
    -2 log marginal likelihood at the estimate and at the set's value, the data's size."""

    parameter_set: str
    prior_cl: float
    cl: float
    cl_se: float
    theta: float
    theta_se: float
    minus_two_ll: float
    minus_two_ll_prior: float
    n_patients: int
    n_observations: int

    def summary(self) -> str:
        low, high = (
            self.cl * math.exp(-1.96 * self.theta_se),
            self.cl * math.exp(1.96 * self.theta_se),
        )
        return (
            f"typical CL/F {self.cl:.4g} L/h (SE {self.cl_se:.2g}; 95 % {low:.3g}-{high:.3g}), "
            f"set {self.parameter_set!r} had {self.prior_cl:.4g} L/h; "
            f"-2 ln L {self.minus_two_ll:.2f} (at the set's value {self.minus_two_ll_prior:.2f}); "
            f"{self.n_patients} patients, {self.n_observations} observations"
        )


def minus_two_log_likelihood(histories: tuple[PatientHistory, ...], pset: ParameterSet) -> float:
    """Laplace -2 log marginal likelihood of the data under ``pset`` (see the module docstring)."""
    total = 0.0
    for h in histories:
        fit = fit_patient(h, pset, starts=1)
        d = fit.design
        if h.n_observations == 0:
            continue
        hess, _ = hessian(fit.eta, Predictor(d, h.obs_times), objective_for(d))
        sign, logdet_h = np.linalg.slogdet(hess / 2)
        if sign <= 0:
            logdet_h = np.linalg.slogdet(np.linalg.inv(fit.covariance))[1]  # scoring matrix / 2
        total += (
            fit.objective + h.n_observations * LOG_2PI + np.linalg.slogdet(d.omega)[1] + logdet_h
        )
    return float(total)


def calibrate_clearance(histories: tuple[PatientHistory, ...], pset: ParameterSet) -> Calibration:
    """Estimate the typical CL/F of ``pset`` from ``histories`` (see the module docstring)."""
    prior = pset.typical["cl"].value
    if not any(h.n_observations for h in histories):
        raise ValueError("calibration needs observations; the data have none")

    def objective(theta: float) -> float:
        scaled = override_parameter_set(pset, {"typical.cl": prior * math.exp(theta)})
        return minus_two_log_likelihood(histories, scaled)

    best = minimize_scalar(
        objective,
        bounds=(-THETA_BOUND, THETA_BOUND),
        method="bounded",
        options={"xatol": THETA_TOLERANCE},
    )
    theta = float(best.x)
    if abs(theta) > THETA_BOUND - 10 * THETA_TOLERANCE:
        raise ValueError(
            f"typical CL/F is at the search bound (x{math.exp(theta):.3g} of the "
            "set's value): the data do not fit this parameter set"
        )
    h = CURVATURE_STEP
    curvature = (objective(theta + h) - 2 * best.fun + objective(theta - h)) / h**2
    theta_se = math.sqrt(2 / curvature) if curvature > 0 else math.inf
    cl = prior * math.exp(theta)
    return Calibration(
        pset.name,
        prior,
        cl,
        cl * theta_se,
        theta,
        theta_se,
        float(best.fun),
        objective(0.0),
        len(histories),
        sum(x.n_observations for x in histories),
    )


def calibrated_toml(
    pset: ParameterSet, result: Calibration, data: str | os.PathLike[str], name: str
) -> str:
    """The bundled TOML of ``pset`` with ``[typical.cl]`` replaced by the calibrated value
    (evidence D; its note names the data file and the fit's diagnostics) and a new name."""
    source = data_folder("parameters") / f"{pset.name}.toml"
    if not source.is_file():
        raise ValueError(f"parameter set {pset.name!r} is not a bundled file; cannot copy it")
    text = source.read_text(encoding="utf-8")
    note = (
        f"Calibrated to {Path(data).name} by Laplace marginal likelihood (pksim calibrate): "
        f"{result.summary()}. Sources: the structure and prior of set {pset.name!r}."
    )
    block = re.compile(r"(?ms)^\[typical\.cl\]\n.*?(?=^\[)")
    if not block.search(text):
        raise ValueError(f"{source}: no [typical.cl] table to replace")
    sources = "[" + ", ".join(_quoted(key) for key in pset.typical["cl"].sources) + "]"
    table = (
        f'[typical.cl]\nvalue = {result.cl:.6g}\nunits = "L/h"\n'
        f'source = {sources}\nevidence = "D"\nnote = {_quoted(note)}\n\n'
    )
    text = block.sub(lambda _: table, text, count=1)
    text = re.sub(r'(?m)^name = ".*"$', f"name = {_quoted(name)}", text, count=1)
    text = re.sub(
        r'(?m)^title = "(.*)"$',
        lambda m: f"title = {_quoted(m.group(1) + ' (calibrated)')}",
        text,
        count=1,
    )
    return text


def write_calibrated(path: str | os.PathLike[str], text: str) -> None:
    """Write the calibrated set atomically."""
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

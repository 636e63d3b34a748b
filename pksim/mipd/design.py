"""A patient's history and a parameter set, compiled once into what every prediction needs.

The individual parameters are ``P = TV(covariates) · exp(eta)`` for each parameter with IIV
(log-normal, full Omega of the set), and the relative bioavailability of a dose of occasion
``o`` is multiplied by ``exp(kappa_o)`` when the set has IOV on F and the data give ``OCC``
(one occasion eta per occasion of the doses, variance the set's IOV; an occasion eta is 0 for a
dose without an occasion and for every future dose).

Covariates: CL/F follows them over time (piecewise constant between records, exact in the
kernel's clearance grid); F per dose takes the values at the dose; V/F, ka, the lag (Q/F, V2/F) take
the values of the first record (baseline).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pksim.cohort.covariates import Covariates
from pksim.cohort.effects import typical_parameters
from pksim.library import covariates as registry
from pksim.library.drugs import lookup_drug
from pksim.library.parameter_set import ParameterSet
from pksim.library.parameters import SET_LEVEL_COVARIATES
from pksim.mipd.history import PatientHistory
from pksim.model.structural import ONE_COMPARTMENT_ORAL_LAG, TWO_COMPARTMENT_ORAL_LAG
from pksim.modifiers.interactions import ClGrid, cl_multiplier_grid, f_multipliers
from pksim.modifiers.prednisone import (
    follow_turnover,
    prednisone_f_factor,
    prednisone_induction_half_life_h,
)

__all__ = [
    "STRUCTURAL_PARAMETERS",
    "SUPPORTED_MODELS",
    "TWO_COMPARTMENT_PARAMETERS",
    "Design",
    "design",
    "omega_matrix",
]

STRUCTURAL_PARAMETERS = ("cl", "v", "ka", "tlag", "f")
"""The one-compartment model's individual parameters, in order."""
TWO_COMPARTMENT_PARAMETERS = (*STRUCTURAL_PARAMETERS, "q", "v2")
"""The two-compartment model's individual parameters, in order (``v`` is V1/F)."""
SUPPORTED_MODELS = (ONE_COMPARTMENT_ORAL_LAG.name, TWO_COMPARTMENT_ORAL_LAG.name)
"""Structural models a patient can be individualised under."""

IOV_PREFIX = "iov_f"
"""Name of an occasion eta: ``iov_f[3]`` is the eta of occasion 3 on F."""

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class Design:
    """Everything a prediction of one patient needs that does not depend on the etas.

    ``typical``: the baseline typical value of each structural parameter (L/h, L, 1/h, h, 1;
    a two-compartment set adds Q/F L/h and V2/F L; ``v`` is then V1/F).
    ``eta_names``: IIV parameters (in the set's order) then occasion etas; ``eta_parameter``:
    the structural parameter each IIV eta acts on. ``omega``: their covariance matrix.
    ``change_times`` (c,) h and ``cl_factor`` (c + 1,): CL/F in each segment relative to the
    baseline. ``dose_times``/``dose_amounts``/``dose_f`` (m,): the history's doses and their
    typical relative F (covariates at the dose); ``dose_eta`` (m,): column of the occasion eta
    of each dose, -1 for none.
    """

    history: PatientHistory
    pset: ParameterSet
    typical: Mapping[str, float]
    eta_names: tuple[str, ...]
    eta_parameter: tuple[str, ...]
    omega: FloatArray
    change_times: FloatArray
    cl_factor: FloatArray
    dose_f: FloatArray
    dose_eta: NDArray[np.int64]
    comedication: ClGrid | None = None
    expresser: bool = False

    @property
    def two_compartment(self) -> bool:
        """True under the two-compartment model (Q/F and V2/F besides CL/F, V1/F, ka, lag)."""
        return self.pset.structural_model == TWO_COMPARTMENT_ORAL_LAG.name

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The structural model's individual parameters, in order."""
        return TWO_COMPARTMENT_PARAMETERS if self.two_compartment else STRUCTURAL_PARAMETERS

    @property
    def n_eta(self) -> int:
        """Number of etas (IIV then IOV)."""
        return len(self.eta_names)

    def cl_factor_at(self, times: FloatArray) -> FloatArray:
        """CL/F relative to baseline at each time (h)."""
        segment = np.searchsorted(self.change_times, np.asarray(times), side="right")
        return self.cl_factor[segment]

    def record_cl_factor_at(self, times: FloatArray) -> FloatArray:
        """CL/F relative to baseline with the covariates that hold *at* each time (h) under
        the dataset's rule (at a record time under NOCB: that record's own values)."""
        t = np.asarray(times, dtype=np.float64)
        factor = _typical(self.pset, self.history, t)["cl"] / self.typical["cl"]
        if self.comedication is not None:
            grid = self.comedication
            factor = factor * grid.multipliers[0, np.searchsorted(grid.change_times, t, "right")]
        return factor

    def typical_f_at(self, times: FloatArray) -> FloatArray:
        """Typical relative F of a dose taken at each time (h): covariates and co-medications
        at that time."""
        t = np.asarray(times, dtype=np.float64)
        f = _typical(self.pset, self.history, t)["f"] * _prednisone_turnover(
            self.pset, self.history, t
        )
        if self.history.comedications and t.size:
            f = f * f_multipliers(self.history.comedications, t, self.expresser)[0]
        return f


def omega_matrix(pset: ParameterSet, n_occasions: int) -> tuple[tuple[str, ...], FloatArray]:
    """IIV names and the block-diagonal covariance of (IIV etas, ``n_occasions`` IOV etas)."""
    names, omega = pset.iiv_covariance()
    k = len(names)
    out = np.zeros((k + n_occasions, k + n_occasions))
    out[:k, :k] = omega
    if n_occasions:
        out[k:, k:] = np.eye(n_occasions) * pset.iov_f_sd**2
    return names, out


def design(history: PatientHistory, pset: ParameterSet) -> Design:
    """Compile ``history`` under ``pset``; a covariate an effect needs but the data lack, or a
    model other than the one- and two-compartment oral models, is refused with what to give."""
    if pset.structural_model not in SUPPORTED_MODELS:
        raise ValueError(
            f"parameter set {pset.name!r} uses the structural model {pset.structural_model!r}; "
            f"individualisation supports {', '.join(repr(m) for m in SUPPORTED_MODELS)}"
        )
    _check_covariates(history, pset)
    occasions = history.occasions if pset.iov_f_sd > 0 else ()
    iiv, omega = omega_matrix(pset, len(occasions))
    names = (*iiv, *(f"{IOV_PREFIX}[{o}]" for o in occasions))
    if np.any(np.diag(omega) <= 0):
        zero = [n for n, d in zip(names, np.diag(omega), strict=True) if d <= 0]
        raise ValueError(f"parameter set {pset.name!r}: zero variance for {zero}; drop them")
    start = history.record_times[0] if history.record_times.size else 0.0
    changes = history.change_times()
    inside = _segment_points(changes)
    # one evaluation of the covariate model: baseline, each covariate segment, each dose
    tv = _typical(pset, history, np.concatenate([[start], inside, history.dose_times]))
    typical = {p: float(tv[p][0]) for p in tv}
    if changes.size:
        cl = tv["cl"][1 : 1 + inside.size] / typical["cl"]
        keep = np.flatnonzero(np.diff(cl) != 0)
        changes, cl = changes[keep], np.concatenate([cl[:1], cl[keep + 1]])
    else:
        cl = np.ones(1)
    dose_f = tv["f"][1 + inside.size :] * _prednisone_turnover(pset, history, history.dose_times)
    grid, expresser = None, False
    if history.comedications:
        expresser = _expresser(history, pset)
        grid = cl_multiplier_grid(history.comedications, expresser, t_begin=float(start))
        # one grid: the union of the covariates' and the co-medications' change times
        union = np.union1d(changes, grid.change_times)
        left = np.concatenate([[-np.inf], union])
        cl = (
            cl[np.searchsorted(changes, left, "right")]
            * grid.multipliers[0, np.searchsorted(grid.change_times, left, "right")]
        )
        changes = union
        if dose_f.size:
            dose_f = dose_f * f_multipliers(history.comedications, history.dose_times, expresser)[0]
    column = {o: len(iiv) + j for j, o in enumerate(occasions)}
    dose_eta = np.array([column.get(int(o), -1) for o in history.dose_occasion], dtype=np.int64)
    return Design(
        history, pset, typical, names, iiv, omega, changes, cl, dose_f, dose_eta, grid, expresser
    )


def _expresser(history: PatientHistory, pset: ParameterSet) -> bool:
    """True for a CYP3A5 expresser (a *1 allele at baseline), for genotype-dependent
    co-medication effects; refused when such a drug is taken and the genotype is unknown."""
    codes = history.covariates.get("cyp3a5")
    dependent = [c.drug for c in history.comedications if lookup_drug(c.drug).genotype_dependent]
    if codes is None or codes[0] == registry.UNKNOWN_CODE:
        if dependent:
            raise ValueError(
                f"patient {history.id}: the effect of {', '.join(sorted(set(dependent)))} "
                "depends on the CYP3A5 genotype; give it in the CYP3A5 column"
            )
        return False
    return bool(codes[0] >= 1)


def _check_covariates(history: PatientHistory, pset: ParameterSet) -> None:
    problems = []
    for effect in pset.effects:
        name = effect.covariate
        if name in SET_LEVEL_COVARIATES:
            continue
        values = history.covariates.get(name)
        covariate = registry.get(name)
        if values is None:
            if covariate.default is not None and not _is_nan(covariate.default):
                continue  # the registry's default holds (e.g. normal liver function)
            problems.append(f"{name} (no column)")
            continue
        unknown = (values == registry.UNKNOWN_CODE) if values.dtype == np.int8 else np.isnan(values)
        if unknown.any():
            problems.append(f"{name} (unknown)")
    if problems:
        raise ValueError(
            f"patient {history.id}: parameter set {pset.name!r} has covariate effects on "
            f"{', '.join(sorted(set(problems)))}; give a value in that column on at least one "
            "record of the patient"
        )


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _typical(
    pset: ParameterSet, history: PatientHistory, times: FloatArray
) -> dict[str, FloatArray]:
    """Typical parameters at each time (h), from the covariates at that time."""
    given = history.covariates_at(times) if history.record_times.size else {}
    used = {e.covariate for e in pset.effects}
    values = {}
    for covariate in registry.carried():
        if covariate.name in given:
            values[covariate.name] = given[covariate.name]
        elif covariate.default is None and covariate.name not in used:
            # Required by Covariates but used by no effect of the set: any valid value gives
            # the same parameters, so the first category / NaN is passed.
            fill = 0 if covariate.kind == registry.CATEGORICAL else math.nan
            values[covariate.name] = np.full(times.size, fill)
    cov = Covariates(**values)
    pk = typical_parameters(pset, cov)
    return {p: getattr(pk, p) for p in STRUCTURAL_PARAMETERS + _model_extra(pset)}


def _prednisone_turnover(
    pset: ParameterSet, history: PatientHistory, times: FloatArray
) -> FloatArray:
    """At each time (h): the set's prednisone factor on F as it follows the recorded doses by
    CYP3A turnover, over the factor of the dose recorded at that time (1 where prednisone
    does not change). As in a cohort run (:func:`pksim.modifiers.prednisone.follow_turnover`,
    the hepatic CYP3A half-life); the first record's dose is taken to be at steady state."""
    name = "prednisone_mg_per_day"
    mg = history.covariates.get(name)
    acts = any(e.parameter == "f" and e.covariate == name for e in pset.effects)
    if not acts or mg is None or times.size == 0:
        return np.ones(times.size)
    changes = history.change_times()
    inside = _segment_points(changes)
    levels = prednisone_f_factor(pset, history.covariates_at(inside)[name])
    followed = follow_turnover(changes, levels, times, prednisone_induction_half_life_h())
    return followed / prednisone_f_factor(pset, history.covariates_at(times)[name])


def _segment_points(changes: FloatArray) -> FloatArray:
    """One time (h) inside each stretch between consecutive ``changes`` (and before the first,
    after the last), where the covariates are constant."""
    return np.concatenate([changes[:1] - 1.0, (changes[1:] + changes[:-1]) / 2, changes[-1:] + 1.0])


def _model_extra(pset: ParameterSet) -> tuple[str, ...]:
    """Q/F and V2/F under the two-compartment model, else nothing."""
    if pset.structural_model == TWO_COMPARTMENT_ORAL_LAG.name:
        return TWO_COMPARTMENT_PARAMETERS[len(STRUCTURAL_PARAMETERS) :]
    return ()

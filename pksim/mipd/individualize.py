"""``pksim.individualize``: MAP Bayesian individualisation of one or many patients, as Datasets.

Each patient's Dataset holds the MAP etas with their Laplace SD and covariance, the typical and
individual parameters (with a 90 % Laplace interval, log-normal), the objective and its two
parts, and per observation the time, DV, BLQ flag, IPRED (MAP), PRED (etas 0) and IWRES.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np
import xarray as xr

from pksim import units
from pksim.library.parameter_set import ParameterSet
from pksim.library.parameters import load_parameter_set, parameter_set_from_dict
from pksim.mipd.batch_fit import fit_many
from pksim.mipd.fit import Fit, residual_error
from pksim.mipd.history import PatientHistory
from pksim.mipd.mixture import (
    fit_with_genotype_mixture,
    representative_fits,
    with_genotype_posterior,
)
from pksim.mipd.nonmem import read_nonmem, read_nonmem_text

__all__ = [
    "INTERVAL_Z",
    "combined_dataset",
    "fit_dataset",
    "fit_patients",
    "individualize",
    "read_histories",
    "resolve_parameters",
]

INTERVAL_Z = 1.6448536269514722
"""Standard normal quantile of 0.95: the reported intervals are 90 % (5th-95th percentile)."""

PARAMETER_UNITS = {
    "cl": units.CLEARANCE,
    "v": units.VOLUME,
    "ka": units.RATE_CONSTANT,
    "tlag": units.TIME,
    "f": "1",
    "q": units.CLEARANCE,
    "v2": units.VOLUME,
}
PARAMETER_NAMES = {
    "cl": "apparent clearance CL/F",
    "v": "apparent volume V/F",
    "ka": "absorption rate constant",
    "tlag": "absorption lag time",
    "f": "relative bioavailability",
    "q": "apparent inter-compartmental clearance Q/F",
    "v2": "apparent peripheral volume V2/F",
}

Data = str | os.PathLike[str] | PatientHistory | Iterable[PatientHistory]


def resolve_parameters(parameters: str | os.PathLike[str] | ParameterSet) -> ParameterSet:
    """A parameter set: a bundled name, a TOML file in the bundled format, or the object."""
    if isinstance(parameters, ParameterSet):
        return parameters
    text = str(parameters)
    if text.endswith(".toml") or os.sep in text:
        import tomllib

        path = os.fspath(parameters)
        with open(path, "rb") as handle:
            return parameter_set_from_dict(tomllib.load(handle), origin=path)
    return load_parameter_set(text)


def fit_patients(
    data: Data, parameters: str | os.PathLike[str] | ParameterSet = "default", **read_options
) -> dict[str, Fit]:
    """The MAP :class:`~pksim.mipd.fit.Fit` of each patient, by ID (file order); patients
    are fitted together (:func:`pksim.mipd.batch_fit.fit_many`)."""
    pset = resolve_parameters(parameters)
    histories = read_histories(data, **read_options)
    return {h.id: fit for h, fit in zip(histories, fit_many(histories, pset), strict=True)}


def read_histories(data: Data, **read_options) -> tuple[PatientHistory, ...]:
    """The patient histories of ``data`` (a file, one history or several)."""
    if isinstance(data, PatientHistory):
        return (data,)
    if isinstance(data, str | os.PathLike):
        return read_nonmem(data, **read_options)
    return tuple(data)


def individualize(
    data: Data,
    parameters: str | os.PathLike[str] | ParameterSet = "default",
    *,
    genotype_prior: str | Mapping[str, float] | None = None,
    **read_options,
) -> xr.Dataset:
    """MAP Bayesian individualisation of every patient of ``data``: one Dataset.

    ``data``: a NONMEM-style CSV file (:func:`pksim.mipd.read_nonmem`; ``read_options`` such as
    ``concentration_units="mg/L"`` or ``covariate_rule="locf"`` go to it), a pandas DataFrame
    with those columns, or patient histories. ``parameters``: a bundled parameter set name, a
    TOML file in the bundled format, or a :class:`~pksim.library.parameter_set.ParameterSet`.

    Per patient (dim ``patient``, the IDs in file order): ``eta``, ``eta_sd`` (dim
    ``eta_name``; NaN for an occasion eta the patient does not have), ``eta_covariance``,
    ``typical``, ``individual`` and its 5th/95th percentiles (dim ``parameter``, units in the
    coordinate ``parameter_units``), ``objective``, ``data_term``, ``prior_term``,
    ``converged``, ``iterations``. Per observation (dim ``obs``, all patients in order;
    coordinate ``obs_patient``): ``dv``, ``blq``, ``lloq``, ``ipred``, ``pred``, ``iwres``.
    ``ds.sel(patient="P1")`` is one patient; :func:`fit_dataset` gives one patient's Dataset.

    A patient without a CYP3A5 genotype, under a set whose CL/F (or a co-medication's effect)
    depends on it, is fitted under each genotype (:mod:`pksim.mipd.mixture`; prior
    ``genotype_prior``: a population name, probabilities by genotype, or None for the default
    population's frequencies); its variables are the most probable genotype's fit.
    ``genotype_posterior`` (dims ``patient``, ``genotype``) gives the posterior genotype
    probabilities (1 for a given genotype; NaN where the set does not use it) and
    ``genotype_of_fit`` the genotype of the reported fit.
    """
    if hasattr(data, "to_csv") and not isinstance(data, str | os.PathLike):
        data = read_nonmem_text(data.to_csv(index=False), name="<DataFrame>", **read_options)
    pset = resolve_parameters(parameters)
    histories = read_histories(data, **read_options)
    results = fit_with_genotype_mixture(histories, pset, genotype_prior)
    return with_genotype_posterior(combined_dataset(representative_fits(results)), results, pset)


PATIENT_VARIABLES = (
    "eta",
    "eta_sd",
    "eta_covariance",
    "omega",
    "typical",
    "individual",
    "individual_p05",
    "individual_p95",
    "objective",
    "data_term",
    "prior_term",
)
OBSERVATION_VARIABLES = ("dv", "blq", "lloq", "ipred", "pred", "iwres")


def combined_dataset(fits: list[Fit]) -> xr.Dataset:
    """The Dataset of :func:`individualize` from fits of patients under one parameter set."""
    if not fits:
        raise ValueError("no patients to individualise")
    parts = [fit_dataset(f) for f in fits]
    ids = [f.history.id for f in fits]
    names = list(dict.fromkeys(n for f in fits for n in f.design.eta_names))  # IIV, occasions
    per_patient = xr.concat(
        [
            p[list(PATIENT_VARIABLES)]
            .reindex(eta_name=names, eta_name_2=names)
            .expand_dims(patient=[i])
            for p, i in zip(parts, ids, strict=True)
        ],
        dim="patient",
        combine_attrs="drop",
    )
    observations = xr.concat(
        [
            p[list(OBSERVATION_VARIABLES)].assign_coords(obs_patient=("obs", [i] * p.sizes["obs"]))
            for p, i in zip(parts, ids, strict=True)
        ],
        dim="obs",
        combine_attrs="drop",
    )
    out = xr.merge([per_patient, observations], combine_attrs="drop")
    for name in (*PATIENT_VARIABLES, *OBSERVATION_VARIABLES):
        out[name].attrs = parts[0][name].attrs
    out["converged"] = (
        "patient",
        [f.converged for f in fits],
        {"long_name": "optimiser converged"},
    )
    out["iterations"] = ("patient", [f.iterations for f in fits], {"long_name": "scoring steps"})
    out.coords["obs_patient"].attrs = {"long_name": "patient of the observation"}
    out.attrs = {k: v for k, v in parts[0].attrs.items() if k not in PER_PATIENT_ATTRS}
    return out


def fit_dataset(fit: Fit) -> xr.Dataset:
    """The Dataset of one fit (see the module docstring)."""
    d, h = fit.design, fit.history
    names = list(d.eta_names)
    sd = np.sqrt(np.diag(fit.covariance))
    typical = dict(d.typical)
    individual = fit.individual()
    low, high = {}, {}
    for p in d.parameter_names:
        if p in d.eta_parameter:
            j = d.eta_parameter.index(p)
            low[p] = individual[p] * np.exp(-INTERVAL_Z * sd[j])
            high[p] = individual[p] * np.exp(INTERVAL_Z * sd[j])
        else:
            low[p] = high[p] = individual[p]
    params = list(d.parameter_names)
    error = residual_error(d.pset)
    var = error.variance(fit.ipred)
    iwres = np.where(h.obs_blq, np.nan, (h.obs_values - fit.ipred) / np.sqrt(var))
    par_attrs = {"units_coordinate": "parameter_units"}
    ds = xr.Dataset(
        {
            "eta": ("eta_name", fit.eta, {"long_name": "MAP eta (log scale)", "units": "1"}),
            "eta_sd": ("eta_name", sd, {"long_name": "Laplace SD of eta", "units": "1"}),
            "eta_covariance": (
                ("eta_name", "eta_name_2"),
                fit.covariance,
                {"long_name": "Laplace covariance of eta", "units": "1"},
            ),
            "omega": (
                ("eta_name", "eta_name_2"),
                d.omega,
                {"long_name": "prior covariance of eta (Omega)", "units": "1"},
            ),
            "typical": (
                "parameter",
                [typical[p] for p in params],
                {"long_name": "typical value (baseline covariates)", **par_attrs},
            ),
            "individual": (
                "parameter",
                [individual[p] for p in params],
                {"long_name": "individual MAP value (baseline)", **par_attrs},
            ),
            "individual_p05": (
                "parameter",
                [low[p] for p in params],
                {"long_name": "5th percentile (Laplace)", **par_attrs},
            ),
            "individual_p95": (
                "parameter",
                [high[p] for p in params],
                {"long_name": "95th percentile (Laplace)", **par_attrs},
            ),
            "dv": (
                "obs",
                h.obs_values,
                {"long_name": "observed concentration (NaN: BLQ)", "units": units.CONCENTRATION},
            ),
            "blq": ("obs", h.obs_blq, {"long_name": "below the limit of quantification"}),
            "lloq": (
                "obs",
                h.obs_lloq,
                {"long_name": "limit of quantification", "units": units.CONCENTRATION},
            ),
            "ipred": (
                "obs",
                fit.ipred,
                {"long_name": "individual prediction (MAP)", "units": units.CONCENTRATION},
            ),
            "pred": (
                "obs",
                fit.pred,
                {"long_name": "population prediction (etas 0)", "units": units.CONCENTRATION},
            ),
            "iwres": ("obs", iwres, {"long_name": "individual weighted residual", "units": "1"}),
            "objective": ((), fit.objective, {"long_name": "MAP objective (POSTHOC OBJ)"}),
            "data_term": ((), fit.data_term, {"long_name": "-2 log-likelihood of the data"}),
            "prior_term": ((), fit.prior_term, {"long_name": "eta' Omega^-1 eta"}),
        },
        coords={
            "eta_name": names,
            "eta_name_2": names,
            "parameter": params,
            "parameter_units": ("parameter", [PARAMETER_UNITS[p] for p in params]),
            "time": ("obs", h.obs_times, {"units": units.TIME, "long_name": "time"}),
            "row": ("obs", h.obs_rows, {"long_name": "dataset row (1 = first data row)"}),
            "occasion": ("obs", h.obs_occasion, {"long_name": "occasion (OCC, 0: none)"}),
        },
        attrs=_attrs(fit),
    )
    return ds


PER_PATIENT_ATTRS = ("id", "converged", "iterations", "clock_origin")
"""Attrs of one patient's Dataset that become variables (or drop) in the combined one."""


def _attrs(fit: Fit) -> Mapping[str, object]:
    d, h = fit.design, fit.history
    return {
        "id": h.id,
        "parameter_set": d.pset.name,
        "structural_model": d.pset.structural_model,
        "covariate_rule": h.covariate_rule,
        "converged": int(fit.converged),
        "iterations": fit.iterations,
        "objective_definition": (
            "sum[(DV-IPRED)^2/V + ln V] + sum_BLQ[-2 ln Phi((LLOQ-IPRED)/sqrt V)] + "
            "eta' Omega^-1 eta, V = (prop*IPRED)^2 + add^2 (NONMEM POSTHOC, FOCE-I, M3)"
        ),
        "residual_proportional": d.pset.residual_proportional,
        "residual_additive_ng_per_ml": d.pset.residual_additive,
        "clock_origin": h.clock_origin or "",
    }

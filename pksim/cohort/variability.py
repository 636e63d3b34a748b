"""Variability around the typical patient, and how troughs are sampled.

Between-subject variability (IIV: log-normal with the parameter set's full covariance, stream
``iiv``), between-occasion variability on F (IOV, stream ``iov``), residual (assay) error
(stream ``residual``), each subject's own scale of that within-subject variability (stream
``within_subject``: some patients are much more variable than others) and deviations of the
actual trough-draw time (stream ``sampling_time``), plus the overridable settings of all of these
(:class:`VariabilitySettings`, defaults in ``populations/_shared.toml``). Every draw is
column-stable (:func:`pksim.rng.uniform_columns`): subject i's values depend only on
(seed, i), and the first k occasions or samples do not change when more are simulated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim import rng
from pksim.cohort.covariates import Covariates
from pksim.cohort.effects import PKParameters, typical_parameters
from pksim.errors import unknown_name
from pksim.library.parameters import PK_PARAMETERS, ParameterSet
from pksim.library.populations import shared_constants

__all__ = [
    "Measurements",
    "VariabilitySettings",
    "individual_parameters",
    "iov_f_multipliers",
    "load_variability",
    "residual_error",
    "residual_uniforms",
    "sampling_time_offsets",
    "variability_settings",
    "within_subject_scale",
]


@dataclass(frozen=True, slots=True)
class VariabilitySettings:
    """How variability and monitoring are simulated.

    ``occasion_length_h``: doses whose times fall in the same [k·L, (k+1)·L) window share one
    IOV multiplier on F (24 h = one occasion per dosing day). ``lloq_ng_per_ml``: measured
    values below it are flagged. ``sampling_offset_min_h`` / ``_max_h``: trough draws are
    uniformly late or early by this much (h). ``typical_only``: no IIV, IOV, residual error
    or sampling deviation (the typical patient for each covariate set).
    """

    occasion_length_h: float
    lloq_ng_per_ml: float
    sampling_offset_min_h: float
    sampling_offset_max_h: float
    typical_only: bool = False


def variability_settings() -> dict[str, dict[str, Any]]:
    """Overridable variability settings: key -> {default, units, allowed, description, ...}."""
    out = {}
    for key, entry in shared_constants()["variability"].items():
        out[key] = {
            "default": float(entry["value"]),
            "units": entry["units"],
            "allowed": tuple(float(x) for x in entry["allowed"]),
            "description": entry.get("description", ""),
            "source": tuple(
                [entry["source"]]
                if isinstance(entry.get("source"), str)
                else entry.get("source", ())
            ),
            "evidence": entry["evidence"],
            "note": entry.get("note", ""),
        }
    out["typical_only"] = {
        "default": False,
        "units": "bool",
        "allowed": (False, True),
        "description": "Run the typical patient: no IIV, IOV, residual error or sampling deviation",
    }
    return out


def load_variability(overrides: Mapping[str, Any] | None = None) -> VariabilitySettings:
    """Variability settings with ``overrides`` applied and validated."""
    table = variability_settings()
    values = {k: v["default"] for k, v in table.items()}
    for key, value in (overrides or {}).items():
        if key not in table:
            raise ValueError(unknown_name("variability setting", key, table))
        if key == "typical_only":
            if not isinstance(value, bool):
                raise ValueError(f"typical_only must be true or false, got {value!r}")
        else:
            low, high = table[key]["allowed"]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not low <= value <= high
            ):
                raise ValueError(
                    f"variability setting {key} = {value!r} is outside the allowed "
                    f"range [{low:g}, {high:g}] {table[key]['units']}"
                )
        values[key] = value
    if values["sampling_offset_min_h"] > values["sampling_offset_max_h"]:
        raise ValueError("sampling_offset_min_h must not exceed sampling_offset_max_h")
    return VariabilitySettings(**{f.name: values[f.name] for f in fields(VariabilitySettings)})


def individual_parameters(
    pset: ParameterSet,
    cov: Covariates,
    *,
    seed: int,
    start: int = 0,
    typical_only: bool = False,
    exclude: tuple[str, ...] = (),
) -> PKParameters:
    """Individual CL/F (L/h), V/F (L), ka (1/h), lag (h), relative F (and Q/F, V2/F) of subjects
    [start, start + len(cov)): typical values times exp(eta), eta ~ N(0, Omega) with the set's
    full covariance matrix (stream ``iiv``). ``typical_only`` gives the typical values."""
    typ = typical_parameters(pset, cov, exclude=exclude)
    names, omega = pset.iiv_covariance()
    if typical_only or not names:
        return typ
    keep = [i for i, name in enumerate(names) if omega[i, i] > 0]
    values = {p: getattr(typ, p) for p in pset.pk_parameters}
    if keep:
        slots = [PK_PARAMETERS.index(names[i]) for i in keep]
        # Column j of the stream always belongs to PK_PARAMETERS[j]: draw up to the last slot.
        z = rng.normal_columns(seed, "iiv", start, start + len(cov), max(slots) + 1)
        chol = np.linalg.cholesky(omega[np.ix_(keep, keep)])
        for j, i in enumerate(keep):
            eta = z[:, slots[0]] * chol[j, 0]
            for k in range(1, j + 1):
                eta += z[:, slots[k]] * chol[j, k]
            np.exp(eta, out=eta)
            eta *= values[names[i]]
            values[names[i]] = eta
    return PKParameters(**values)


def iov_f_multipliers(
    pset: ParameterSet,
    dose_times_h: ArrayLike,
    *,
    seed: int,
    start: int,
    stop: int,
    occasion_length_h: float = 24.0,
    typical_only: bool = False,
) -> NDArray[np.float64]:
    """IOV multipliers on F, (stop - start, m), for ``dose_times_h`` ((n|1, m) h, NaN = none).

    Occasion k covers [k·L, (k+1)·L) h with L = ``occasion_length_h``; each subject draws one
    exp(kappa), kappa ~ N(0, (s_i omega_IOV)^2), per occasion (stream ``iov``): doses in the same
    occasion share it; s_i is the subject's :func:`within_subject_scale`. Occasion k's value
    does not depend on how many occasions are simulated.
    """
    times = np.asarray(dose_times_h, dtype=np.float64)
    n = stop - start
    if times.ndim != 2 or times.shape[0] not in (1, n):
        raise ValueError(f"dose_times_h must be 2-D with 1 or {n} rows, got shape {times.shape}")
    if np.any(times < 0):
        raise ValueError("dose_times_h must be >= 0 h (the first dose is at t = 0)")
    if not (math.isfinite(occasion_length_h) and occasion_length_h > 0):
        raise ValueError(f"occasion_length_h must be > 0, got {occasion_length_h!r}")
    shape = (n, times.shape[1])
    sd = pset.iov_f_sd
    missing = np.isnan(times)
    if typical_only or sd == 0 or times.size == 0 or missing.all():
        return np.ones(shape)
    any_missing = bool(missing.any())
    given = np.where(missing, 0.0, times) if any_missing else times
    occasion = (given / occasion_length_h).astype(np.intp)  # times >= 0: truncation = floor
    z = rng.normal_columns(seed, "iov", start, stop, int(occasion.max()) + 1)
    z *= (sd * within_subject_scale(pset, seed=seed, start=start, stop=stop))[:, np.newaxis]
    np.exp(z, out=z)  # one value per occasion, before it is repeated for each dose
    if occasion.shape[0] > 1:
        occasion = _shared_occasions(occasion, missing if any_missing else None)
    if occasion.shape[0] == 1:
        out = z[:, occasion[0]]
    else:
        out = np.take_along_axis(z, occasion, axis=1)
    if any_missing:
        out[np.broadcast_to(missing, shape)] = 1.0
    return out


def within_subject_scale(
    pset: ParameterSet, *, seed: int, start: int, stop: int, typical_only: bool = False
) -> NDArray[np.float64]:
    """Each subject's own scale s_i of its within-subject variability, (stop - start,).

    s_i = exp(omega_s·z_i), z_i ~ N(0, 1) (column 0 of stream ``within_subject``), omega_s the
    log-scale SD of the set's ``iov.subject_scale`` (an "eta on epsilon"): it multiplies the SD
    of the subject's IOV on F and of its residual error, so that some patients vary much more
    from one trough to the next than others, while the typical (median) patient keeps the
    set's values. All ones when the set has none or ``typical_only``.
    """
    if not 0 <= start <= stop:
        raise ValueError(f"need 0 <= start <= stop, got start={start}, stop={stop}")
    omega = pset.iov_subject_scale_sd
    if typical_only or omega == 0:
        return np.ones(stop - start)
    z = rng.normal_columns(seed, "within_subject", start, stop, 1)[:, 0]
    z *= omega
    return np.exp(z, out=z)


def _shared_occasions(occasion: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    """(1, m) when every given dose of each column falls in the same occasion, else as is.

    Usually true (late doses and draws rarely cross an occasion boundary), and one shared
    gather is much faster than a per-subject one; missed doses get 1 whatever their occasion.
    """
    candidates = [occasion[0]]
    if missing is not None:
        candidates.append(np.maximum(np.where(missing, -1, occasion).max(axis=0), 0))
    for shared in candidates:
        same = occasion == shared
        if missing is not None:
            same |= missing
        if same.all():
            return shared[np.newaxis, :]
    return occasion


@dataclass(frozen=True, slots=True)
class Measurements:
    """Simulated assay results: ``measured`` (ng/mL, never negative) and ``below_lloq``."""

    measured: NDArray[np.float64]
    below_lloq: NDArray[np.bool_]


def residual_error(
    pset: ParameterSet,
    true_conc: ArrayLike,
    *,
    seed: int,
    start: int,
    lloq_ng_per_ml: float,
    typical_only: bool = False,
    uniforms: ArrayLike | None = None,
) -> Measurements:
    """Measured concentrations (n, s) from true ones with proportional + additive error.

    The error is normal with SD s_i·sqrt((prop·C)^2 + add^2) (the distribution of
    C·(1 + eps_prop) + eps_add, scaled by the subject's :func:`within_subject_scale` s_i),
    conditioned on a non-negative result: measured = C + SD·z with
    z drawn by inverse CDF from N(0, 1) truncated at -C/SD, one uniform per sample (stream
    ``residual``). Far above the additive SD this is the usual error model; near zero it keeps
    values positive (and slightly above C on average) instead of clipping them. Values below
    ``lloq_ng_per_ml`` are flagged, never altered. NaN in, NaN out (flag False).
    ``uniforms`` (n, s) are the stream's draws of these samples when the caller has them
    (e.g. a monitoring draw of day d: column d - 1 of :func:`residual_uniforms`).
    """
    from scipy.special import ndtr, ndtri  # lazily: checking a scenario needs no scipy

    conc = np.asarray(true_conc, dtype=np.float64)
    if conc.ndim != 2:
        raise ValueError(f"true_conc must be 2-D (subjects, samples), got shape {conc.shape}")
    if np.any(conc < 0) or np.any(np.isinf(conc)):
        raise ValueError("true_conc must be finite and >= 0 ng/mL (NaN marks a missing sample)")
    if not (math.isfinite(lloq_ng_per_ml) and lloq_ng_per_ml >= 0):
        raise ValueError(f"lloq_ng_per_ml must be >= 0, got {lloq_ng_per_ml!r}")
    sd = pset.residual_proportional * conc
    np.hypot(sd, pset.residual_additive, out=sd)
    if not typical_only and pset.iov_subject_scale_sd > 0:
        stop = start + conc.shape[0]
        sd *= within_subject_scale(pset, seed=seed, start=start, stop=stop)[:, np.newaxis]
    if typical_only or not np.any(sd > 0):
        measured = conc.copy()
    else:
        u = (
            residual_uniforms(seed, start, start + conc.shape[0], conc.shape[1])
            if uniforms is None
            else np.asarray(uniforms, dtype=np.float64)
        )
        zero = ~(sd > 0)  # no error (C = 0 without additive error), or NaN
        sd[zero] = 1.0
        # p = Phi(-C/SD) + u (1 - Phi(-C/SD)): a uniform quantile of N(0, 1) truncated at -C/SD.
        low = np.divide(conc, sd)
        np.negative(low, out=low)
        ndtr(low, out=low)
        p = 1.0 - low
        p *= u
        p += low
        np.minimum(p, rng.LARGEST_BELOW_ONE, out=p)
        measured = ndtri(p)
        measured *= sd
        measured += conc
        np.maximum(measured, 0.0, out=measured)
        measured[zero] = conc[zero]
    return Measurements(measured=measured, below_lloq=measured < lloq_ng_per_ml)


def residual_uniforms(seed: int, start: int, stop: int, n_samples: int) -> NDArray[np.float64]:
    """The residual stream's uniforms of subjects [start, stop): (stop - start, n_samples),
    column j for the trough of day j + 1."""
    return rng.uniform_columns(seed, "residual", start, stop, n_samples)


def sampling_time_offsets(
    settings: VariabilitySettings, n_samples: int, *, seed: int, start: int, stop: int
) -> NDArray[np.float64]:
    """Deviation (h) of each actual sampling time from the nominal one, (stop - start, n).

    Uniform on [sampling_offset_min_h, sampling_offset_max_h] (stream ``sampling_time``);
    0 when ``typical_only``. Add it to the nominal trough times and give the result to the
    kernel as per-subject ``sample_times``. A positive offset means the draw is late: the dose
    due at the nominal time must then be moved after the draw by the caller.
    """
    lo, hi = settings.sampling_offset_min_h, settings.sampling_offset_max_h
    n = stop - start
    if settings.typical_only or lo == hi:
        return np.full((n, n_samples), 0.0 if settings.typical_only else lo)
    u = rng.uniform_columns(seed, "sampling_time", start, stop, n_samples)
    return lo + (hi - lo) * u

"""Cited virtual populations (``pksim/data/populations/*.toml``) and their shared constants.

A population file gives every setting a virtual cohort is drawn from (covariate distributions,
genotype and liver-function frequencies, prednisone), each with units, its allowed range and
its sources. The settings a covariate's distribution needs follow from the covariate registry
(:mod:`pksim.library.covariates`): a ``truncated_normal`` covariate ``x`` needs ``x_mean``,
``x_sd``, ``x_min`` and ``x_max`` in the covariate's units. ``_shared.toml`` holds what every
population shares (creatinine units, CKD-EPI 2009, the creatinine upper limit of normal,
variability defaults). This module reads and validates; the draws are in
:mod:`pksim.cohort.sampling`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from pksim.errors import unknown_name
from pksim.library import covariates as registry
from pksim.library.cited import Cited, load_references
from pksim.library.parameters import cited_value

__all__ = [
    "CYP2C19_LOF_ALLELE_FREQUENCY",
    "EXPRESSER_FRACTION",
    "LIVER_FRACTIONS",
    "STAR3_ALLELE_FREQUENCY",
    "Population",
    "PrednisoneTaper",
    "distribution_settings",
    "list_populations",
    "load_population",
    "lognormal_parameters",
    "population_settings",
    "shared_constant",
    "shared_constants",
]

EXPRESSER_FRACTION = "cyp3a5_expresser_fraction"
"""Setting: fraction of CYP3A5 expressers (*1 carriers); tied to the allele frequency."""
STAR3_ALLELE_FREQUENCY = "cyp3a5_star3_allele_frequency"
"""Setting: frequency of the CYP3A5 *3 allele (Hardy-Weinberg: expressers = 1 - q^2)."""
CYP2C19_LOF_ALLELE_FREQUENCY = "cyp2c19_lof_allele_frequency"
"""Setting: frequency of CYP2C19 loss-of-function alleles (*2 + *3; Hardy-Weinberg genotypes)."""
LIVER_FRACTIONS: Mapping[str, str] = MappingProxyType(
    {
        "elevated_enzymes": "liver_elevated_enzymes_fraction",
        "mild_impairment": "liver_mild_impairment_fraction",
        "severe_impairment": "liver_severe_impairment_fraction",
    }
)
"""Liver-function category -> the setting giving its share of the cohort (the rest: normal)."""
MIN_WINDOW_MASS = 1e-6
"""Smallest probability a truncation window may hold (numerical safety of inverse-CDF draws)."""
_SHARED_GROUPS = ("creatinine", "ckd_epi_2009", "creatinine_uln")


def _populations_dir():
    return resources.files("pksim").joinpath("data", "populations")


@cache
def shared_constants() -> Mapping[str, Any]:
    """Parsed ``data/populations/_shared.toml``: cited numbers of ``creatinine``,
    ``ckd_epi_2009`` and ``creatinine_uln`` as :class:`~pksim.library.parameters.Cited`, and the
    ``variability`` settings table as written."""
    origin = "populations/_shared.toml"
    raw = tomllib.loads(_populations_dir().joinpath("_shared.toml").read_text(encoding="utf-8"))
    out: dict[str, Any] = {}
    for group in _SHARED_GROUPS:
        out[group] = MappingProxyType(
            {k: cited_value(v, f"{group}.{k}", origin=origin) for k, v in raw[group].items()}
        )
    out["variability"] = MappingProxyType(dict(raw["variability"]))
    return MappingProxyType(out)


def shared_constant(key: str) -> Cited:
    """One cited constant of ``_shared.toml`` by ``group.name``, e.g.
    ``creatinine.umol_per_l_per_mg_per_dl``."""
    group, _, name = key.partition(".")
    table = shared_constants().get(group) if group in _SHARED_GROUPS else None
    if table is None or name not in table:
        valid = [f"{g}.{n}" for g in _SHARED_GROUPS for n in shared_constants()[g]]
        raise ValueError(unknown_name("shared constant", key, valid))
    return table[name]


def list_populations() -> list[str]:
    """Names of the bundled virtual populations."""
    return sorted(
        p.name.removesuffix(".toml")
        for p in _populations_dir().iterdir()
        if p.name.endswith(".toml") and not p.name.startswith("_")
    )


def distribution_settings(covariate: registry.Covariate) -> tuple[str, ...]:
    """The population settings the distribution of ``covariate`` needs (none if not drawn)."""
    name = covariate.name
    if covariate.virtual == registry.TRUNCATED_NORMAL:
        return (f"{name}_mean", f"{name}_sd", f"{name}_min", f"{name}_max")
    if covariate.virtual == registry.TRUNCATED_LOGNORMAL_BY_SEX:
        by_sex = [f"{name}_{m}_{s}" for s in ("female", "male") for m in ("mean", "sd")]
        return (*by_sex, f"{name}_min", f"{name}_max")
    return ()


@cache
def _population_file(name: str) -> Mapping[str, Any]:
    valid = list_populations()
    if name not in valid:
        raise ValueError(unknown_name("population", name, valid))
    origin = f"populations/{name}.toml"
    raw = tomllib.loads(_populations_dir().joinpath(f"{name}.toml").read_text(encoding="utf-8"))
    settings = {}
    for key, entry in raw["settings"].items():
        where = f"settings.{key}"
        allowed = entry.get("allowed")
        if not (isinstance(allowed, list) and len(allowed) == 2 and allowed[0] <= allowed[1]):
            raise ValueError(f"{origin}: {where}: 'allowed' must be [low, high]")
        info = {
            "units": entry["units"],
            "allowed": (float(allowed[0]), float(allowed[1])),
            "description": entry.get("description", ""),
        }
        if "derived" in entry:
            info.update(derived=entry["derived"], source=(), evidence="D")
        else:
            cited = {
                k: v for k, v in entry.items() if k in ("value", "units", "source", "evidence")
            }
            value = cited_value(cited | {"note": entry.get("note", "")}, where, origin=origin)
            info.update(
                default=value.value, source=value.sources, evidence=value.evidence, note=value.note
            )
        settings[key] = MappingProxyType(info)
    _check_distribution_settings(origin, settings)
    if EXPRESSER_FRACTION in settings:
        default = 1.0 - settings[STAR3_ALLELE_FREQUENCY]["default"] ** 2
        settings[EXPRESSER_FRACTION] = MappingProxyType(
            {**settings[EXPRESSER_FRACTION], "default": default}
        )
    return MappingProxyType(
        {
            "name": raw["name"],
            "title": raw.get("title", name),
            "description": raw.get("description", "").strip(),
            "settings": MappingProxyType(settings),
        }
    )


def _check_distribution_settings(origin: str, settings: Mapping[str, Mapping[str, Any]]) -> None:
    """Every drawn covariate of the registry has its settings, in the covariate's units."""
    for covariate in registry.carried():
        for key in distribution_settings(covariate):
            if key not in settings:
                raise ValueError(
                    f"{origin}: missing [settings.{key}]: covariate {covariate.name!r} is drawn "
                    f"{covariate.virtual} (the covariate registry), which needs "
                    f"{list(distribution_settings(covariate))}"
                )
            units = settings[key]["units"]
            if units != covariate.units:
                raise ValueError(
                    f"{origin}: settings.{key}: units must be {covariate.units!r} (the units of "
                    f"covariate {covariate.name!r}), got {units!r}"
                )


def population_settings(name: str) -> dict[str, dict[str, Any]]:
    """Overridable settings of population ``name``: key -> {default, units, allowed (low, high),
    description, source, evidence}. A derived setting also has ``derived`` (its formula)."""
    return {k: dict(v) for k, v in _population_file(name)["settings"].items()}


@dataclass(frozen=True, slots=True)
class PrednisoneTaper:
    """Stepwise prednisone taper, starting from each subject's baseline dose.

    From day ``first_step_day`` on, the daily dose drops by ``step_mg`` every ``every_days``
    days until it reaches ``floor_mg`` (it never rises: a baseline at or below the floor stays).
    ``step_mg = 0`` means a constant dose. Days count from the first tacrolimus dose (day 0).
    The doses over time are :func:`pksim.modifiers.prednisone.prednisone_mg_per_day_at`.
    """

    step_mg: float = 0.0
    every_days: float = 7.0
    first_step_day: float = 7.0
    floor_mg: float = 0.0

    def __post_init__(self) -> None:
        checks = {
            "step_mg": self.step_mg >= 0,
            "every_days": self.every_days > 0,
            "first_step_day": self.first_step_day >= 0,
            "floor_mg": self.floor_mg >= 0,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not (ok and math.isfinite(value)):
                rule = "> 0" if name == "every_days" else ">= 0"
                raise ValueError(
                    f"prednisone taper {name} must be finite and {rule}, got {value!r}"
                )


@dataclass(frozen=True, slots=True)
class Population:
    """A validated virtual population: its name and every setting (defaults + overrides)."""

    name: str
    title: str
    settings: Mapping[str, float]
    overrides: Mapping[str, float]
    citations: Mapping[str, str]

    def __getitem__(self, key: str) -> float:
        return self.settings[key]

    @property
    def references(self) -> tuple[str, ...]:
        """Citation strings of the sources behind the population's defaults."""
        return tuple(self.citations[k] for k in sorted(self.citations))

    @property
    def prednisone_taper(self) -> PrednisoneTaper | None:
        """The prednisone taper, or None when ``prednisone_taper_step_mg`` is 0."""
        s = self.settings
        if s["prednisone_taper_step_mg"] == 0:
            return None
        return PrednisoneTaper(
            step_mg=s["prednisone_taper_step_mg"],
            every_days=s["prednisone_taper_every_days"],
            first_step_day=s["prednisone_taper_first_step_day"],
            floor_mg=s["prednisone_taper_floor_mg"],
        )


def load_population(name: str, overrides: Mapping[str, Any] | None = None) -> Population:
    """Population ``name`` with ``overrides`` (setting key -> number), validated.

    A bad key gets a "did you mean"; a value outside the allowed range names the key and the
    range. Giving ``cyp3a5_expresser_fraction`` sets the *3 allele frequency to
    sqrt(1 - fraction) (Hardy-Weinberg); giving both is refused.
    """
    info = _population_file(name)
    table = info["settings"]
    overrides = dict(overrides or {})
    settings = {k: v["default"] for k, v in table.items()}
    for key, value in overrides.items():
        if key not in table:
            raise ValueError(unknown_name(f"setting of population {name!r}", key, table))
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"population {name!r}: {key} must be a finite number, got {value!r}")
        low, high = table[key]["allowed"]
        if not low <= value <= high:
            raise ValueError(
                f"population {name!r}: {key} = {value!r} is outside the allowed "
                f"range [{low:g}, {high:g}] {table[key]['units']}"
            )
        settings[key] = float(value)
    if EXPRESSER_FRACTION in overrides and STAR3_ALLELE_FREQUENCY in overrides:
        raise ValueError(
            f"population {name!r}: give {EXPRESSER_FRACTION} or {STAR3_ALLELE_FREQUENCY}, not "
            "both (they are tied by Hardy-Weinberg)"
        )
    if EXPRESSER_FRACTION in overrides:
        settings[STAR3_ALLELE_FREQUENCY] = math.sqrt(1.0 - settings[EXPRESSER_FRACTION])
    else:
        settings[EXPRESSER_FRACTION] = 1.0 - settings[STAR3_ALLELE_FREQUENCY] ** 2
    _check_population(name, settings)
    refs = load_references()
    keys = {s for k, v in table.items() if k not in overrides for s in v.get("source", ())}
    return Population(
        name=info["name"],
        title=info["title"],
        settings=MappingProxyType(settings),
        overrides=MappingProxyType({k: float(v) for k, v in overrides.items()}),
        citations=MappingProxyType({k: refs[k].citation for k in sorted(keys)}),
    )


def _check_population(name: str, s: Mapping[str, float]) -> None:
    def fail(message: str) -> ValueError:
        return ValueError(f"population {name!r}: {message}")

    for covariate in registry.carried():
        if covariate.virtual not in registry.DISTRIBUTIONS:
            continue
        base = covariate.name
        lo, hi = s[f"{base}_min"], s[f"{base}_max"]
        if lo > hi:
            raise fail(f"{base}_min ({lo:g}) must not exceed {base}_max ({hi:g})")
        by_sex = covariate.virtual == registry.TRUNCATED_LOGNORMAL_BY_SEX
        for suffix in ("_female", "_male") if by_sex else ("",):
            mean, sd = s[f"{base}_mean{suffix}"], s[f"{base}_sd{suffix}"]
            if sd == 0 and not lo <= mean <= hi:
                raise fail(
                    f"{base}_mean{suffix} ({mean:g}) must lie in [{base}_min, {base}_max] "
                    f"= [{lo:g}, {hi:g}] when {base}_sd{suffix} is 0"
                )
            if sd > 0 and _window_mass(by_sex, mean, sd, lo, hi) < MIN_WINDOW_MASS:
                raise fail(
                    f"the truncation window [{lo:g}, {hi:g}] of {base} holds almost none "
                    f"of the distribution (mean {mean:g}, SD {sd:g}); widen it or move "
                    "the mean"
                )
    total = sum(s[k] for k in LIVER_FRACTIONS.values())
    if total > 1:
        raise fail(f"liver function fractions add up to {total:g} > 1")
    if s["prednisone_mg_per_day"] > 0 and s["prednisone_mg_per_kg_per_day"] > 0:
        raise fail("give prednisone_mg_per_day or prednisone_mg_per_kg_per_day, not both")


def lognormal_parameters(mean: ArrayLike, sd: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Log-scale mu, sigma of a log-normal with arithmetic ``mean`` and ``sd``."""
    mean, sd = np.asarray(mean, dtype=float), np.asarray(sd, dtype=float)
    sigma = np.sqrt(np.log1p((sd / mean) ** 2))
    return np.log(mean) - sigma**2 / 2, sigma


def _window_mass(log_scale: bool, mean: float, sd: float, lo: float, hi: float) -> float:
    if log_scale:
        mu, sigma = lognormal_parameters(mean, sd)
        a, b = (math.log(lo) - mu) / sigma, (math.log(hi) - mu) / sigma
    else:
        a, b = (lo - mean) / sd, (hi - mean) / sd
    return _normal_cdf(b) - _normal_cdf(a)


def _normal_cdf(x: float) -> float:
    """Standard normal CDF of a scalar (math.erfc: no scipy import for checking a file)."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))

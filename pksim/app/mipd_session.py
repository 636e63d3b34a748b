"""Bayesian individualisation of one patient in the app, without widgets.

The dose history and measured troughs are a NONMEM-style CSV (docs/mipd.md), typed, uploaded or
written from the one-patient form (:func:`history_csv`: the form's covariates, its regimen from
time 0 and troughs at the end of given days). :func:`individualise` fits it as ``pksim dose``
does (:func:`pksim.mipd.mixture.fit_with_genotype_mixture`: the MAP optimiser of
:func:`pksim.individualize`, and a patient without the CYP3A5 genotype its set needs over the
genotype mixture, docs/mipd.md), forecasts the current regimen and lists the dose options
(:func:`pksim.mipd.dose_options`, or over the mixture
:func:`pksim.mipd.mixture_forecast.mixture_dose_options`); the tables are those of the
per-patient Dataset (:func:`pksim.mipd.individualize.fit_dataset`, the most probable genotype's
fit for a mixture), the plot is ``pksim dose``'s (:func:`pksim.mipd.plot.dose_figure`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from pksim import units
from pksim.library.cited import data_folder
from pksim.library.targets import TargetRange, resolve_target
from pksim.mipd import dose_options, forecast, read_nonmem_text
from pksim.mipd.fit import Fit
from pksim.mipd.individualize import fit_dataset, resolve_parameters
from pksim.mipd.mixture import MixtureFit, fit_with_genotype_mixture
from pksim.mipd.mixture_forecast import mixture_dose_options, mixture_forecast
from pksim.mipd.plot import dose_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "EXAMPLE_CSV",
    "Individualisation",
    "example_text",
    "history_csv",
    "individualisation_figure",
    "individualise",
    "parse_troughs",
]

EXAMPLE_CSV = ("patients", "example_mipd.csv")
"""The bundled example history (pksim/data), the text the page starts with."""
NONMEM_COVARIATES = {
    "sex": "SEX",
    "age_y": "AGE",
    "weight_kg": "WT",
    "hematocrit_pct": "HCT",
    "cyp3a5": "CYP3A5",
    "egfr": "EGFR",
    "prednisone_mg_per_day": "PRED",
}
"""Patient-form covariate -> its NONMEM-style column."""
TROUGHS_HELP = 'write troughs as "DAY: NG_PER_ML; ...", e.g. "4: 4.1; 7: 4.6"'


@dataclass(frozen=True, slots=True)
class Individualisation:
    """A patient's fit: ``parameters`` (typical, MAP individual and 90 % Laplace interval per
    parameter, with units), ``observations`` (time, observed, IPRED, PRED), the ``current``
    regimen's forecast, the dose ``options`` (table) and the best option's forecast. A patient
    without the CYP3A5 genotype its set needs is fitted over the genotype ``mixture``: ``fit``
    and the tables are its most probable genotype's, ``genotypes`` the prior and posterior
    probability of each genotype, the forecasts and options are over the mixture."""

    fit: Fit
    target: TargetRange
    parameters: pd.DataFrame
    observations: pd.DataFrame
    current: xr.Dataset
    options: pd.DataFrame
    best: xr.Dataset | None
    mixture: MixtureFit | None = None
    genotypes: pd.DataFrame | None = None


def example_text() -> str:
    """The bundled example history (two troughs on 1.5 mg twice daily)."""
    return data_folder(*EXAMPLE_CSV).read_text(encoding="utf-8")


def parse_troughs(text: str) -> list[tuple[int, float]]:
    """(day, trough ng/mL) pairs of ``"4: 4.1; 7: 4.6"`` (ValueError names the entry)."""
    pairs = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        day, colon, value = part.partition(":")
        try:
            pair = (int(day), float(value))
        except ValueError:
            raise ValueError(f"measured troughs: {part!r} cannot be read; {TROUGHS_HELP}") from None
        if not colon or not math.isfinite(pair[1]):
            raise ValueError(f"measured troughs: {part!r} cannot be read; {TROUGHS_HELP}")
        pairs.append(pair)
    if not pairs:
        raise ValueError(f"measured troughs: none given; {TROUGHS_HELP}")
    return pairs


def history_csv(
    covariates: dict[str, object],
    daily_dose_mg: float,
    doses_per_day: int,
    troughs: list[tuple[int, float]],
    patient_id: str = "patient",
) -> str:
    """A NONMEM-style history: ``daily_dose_mg`` in ``doses_per_day`` even doses from time 0
    up to the last trough, each trough at the end of its day (24 d h, before the next dose)."""
    last_day = max(day for day, _ in troughs)
    interval = units.HOURS_PER_DAY / doses_per_day
    given = {
        NONMEM_COVARIATES[k]: f"{v:g}" if isinstance(v, float) else v
        for k, v in covariates.items()
        if v not in (None, "")
    }
    columns = ["ID", "TIME", "AMT", "EVID", "CMT", "II", "ADDL", "DV", "MDV", *given]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    dose = daily_dose_mg / doses_per_day
    additional = last_day * doses_per_day - 1
    writer.writerow(
        [patient_id, 0, f"{dose:g}", 1, 1, f"{interval:g}", additional, ".", 1, *given.values()]
    )
    for day, value in sorted(troughs):
        hours = day * units.HOURS_PER_DAY
        writer.writerow([patient_id, f"{hours:g}", 0, 0, 2, 0, 0, f"{value:g}", 0, *given.values()])
    return out.getvalue()


def individualise(
    text: str,
    *,
    parameters: str = "default",
    target: str | TargetRange = "induction",
    formulation: str = "prograf",
    days: int = 7,
    patient_id: str | None = None,
    seed: int = 1,
    genotype_prior: str | Mapping[str, float] | None = None,
) -> Individualisation:
    """Fit the patient of the NONMEM-style ``text`` (the only one, or ``patient_id``) and
    forecast ``days`` days; without a needed CYP3A5 genotype, over the genotype mixture of
    ``genotype_prior`` (a population, ``"*3/*3=0.5,..."`` or a mapping; default the
    mixture's default population). Raises ValueError (or :class:`pksim.mipd.nonmem` 's
    Invalid, a ValueError) naming every fault of the data."""
    histories = read_nonmem_text(text, name="the dose history")
    ids = [h.id for h in histories]
    if patient_id is None and len(ids) > 1:
        raise ValueError(f"the dose history holds {len(ids)} patients; choose one: {ids[:10]}")
    chosen = ids[0] if patient_id is None else patient_id
    if chosen not in ids:
        raise ValueError(f"patient {chosen!r} is not in the dose history ({', '.join(ids)})")
    history = next(h for h in histories if h.id == chosen)
    fitted = fit_with_genotype_mixture([history], resolve_parameters(parameters), genotype_prior)
    result = fitted[chosen]
    mixture = result if isinstance(result, MixtureFit) else None
    predict, recommend = (
        (forecast, dose_options) if mixture is None else (mixture_forecast, mixture_dose_options)
    )
    goal = resolve_target(target)
    current = predict(result, days=days, seed=seed)
    options = recommend(result, goal, formulation=formulation, days=days, seed=seed)
    best = predict(result, options[0].regimen, days=days, seed=seed) if options else None
    fit = result if mixture is None else mixture.mode
    return Individualisation(
        fit,
        goal,
        _parameters(fit),
        _observations(fit),
        current,
        _options(options, days),
        best,
        mixture,
        None if mixture is None else _genotypes(mixture),
    )


def individualisation_figure(result: Individualisation) -> Figure:
    """Observed troughs, the individual prediction with its 90 % band, the target band and the
    best option's forecast (the plot of ``pksim dose``)."""
    return dose_figure(result.fit, result.current, result.best, result.target)


def _genotypes(mixture: MixtureFit) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "CYP3A5": list(mixture.genotypes),
            "prior": [f"{100 * p:.1f} %" for p in mixture.prior],
            "posterior": [f"{100 * p:.1f} %" for p in mixture.posterior],
        }
    )


def _parameters(fit: Fit) -> pd.DataFrame:
    ds = fit_dataset(fit)
    return pd.DataFrame(
        {
            "parameter": ds["parameter"].values,
            "units": ds["parameter_units"].values,
            "typical": [f"{v:.4g}" for v in ds["typical"].values],
            "individual (MAP)": [f"{v:.4g}" for v in ds["individual"].values],
            "90 % interval": [
                f"{a:.3g}-{b:.3g}"
                for a, b in zip(
                    ds["individual_p05"].values, ds["individual_p95"].values, strict=True
                )
            ],
        }
    )


def _observations(fit: Fit) -> pd.DataFrame:
    h = fit.history
    observed = [
        f"<{lloq:g}" if blq else f"{value:.3g}"
        for value, blq, lloq in zip(h.obs_values, h.obs_blq, h.obs_lloq, strict=True)
    ]
    return pd.DataFrame(
        {
            "time (h)": [f"{t:g}" for t in h.obs_times],
            "observed (ng/mL)": observed,
            "IPRED (ng/mL)": [f"{v:.3g}" for v in fit.ipred],
            "PRED (ng/mL)": [f"{v:.3g}" for v in fit.pred],
        }
    )


def _options(options, days: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "regimen": [o.regimen.label for o in options],
            f"MAP trough day {days} (ng/mL)": [f"{o.trough_map:.2f}" for o in options],
            "median (ng/mL)": [f"{o.trough_median:.2f}" for o in options],
            "P(in range)": [f"{100 * o.p_in_range:.0f} %" for o in options],
            "in range from day": [
                "-" if o.days_to_range is None else o.days_to_range for o in options
            ],
        }
    )

"""Forecasts and dose options of a genotype mixture (:class:`pksim.mipd.mixture.MixtureFit`).

Out of ``samples`` posterior draws, each genotype contributes its share by the posterior
genotype probabilities (largest remainder), drawn from its own fit by
:func:`pksim.mipd.forecast.posterior_etas` (seeded by ``(seed, genotype index)``) and
predicted under its own design by :func:`pksim.mipd.forecast.regimen_troughs`; percentiles
and probabilities in range are taken over all draws together. The point prediction ("MAP") is
the most probable genotype's MAP; the forecast Dataset has the layout of
:func:`pksim.mipd.forecast.forecast` plus the genotype posterior in its attrs.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from pksim.library.targets import TargetRange
from pksim.mipd.forecast import (
    PERCENTILES,
    FutureRegimen,
    current_regimen,
    forecast,
    posterior_etas,
    regimen_troughs,
)
from pksim.mipd.mixture import MixtureFit
from pksim.mipd.predict import Predictor
from pksim.mipd.recommend import DoseOption, dose_option, search_dose_options

__all__ = ["mixture_dose_options", "mixture_forecast"]


def _draws(mix: MixtureFit, samples: int, seed: int):
    """(fit, etas) of each genotype with at least one draw."""
    out = []
    for j, (fit, count) in enumerate(zip(mix.fits, mix.draws_per_genotype(samples), strict=True)):
        if count > 0:
            out.append((fit, posterior_etas(fit, int(count) + 1, seed=(seed, j))[1:]))
    return out


def mixture_forecast(
    mix: MixtureFit,
    regimen: FutureRegimen | None = None,
    *,
    days: int = 7,
    start: float | None = None,
    samples: int = 500,
    seed: int = 1,
) -> xr.Dataset:
    """:func:`pksim.mipd.forecast.forecast` over the genotype mixture (module docstring)."""
    mode = mix.mode
    current, due = current_regimen(mode)
    regimen = regimen or current
    start = due if start is None else float(start)
    out = forecast(mode, regimen, days=days, start=start, samples=1, seed=seed)
    times, amounts = regimen.doses(start, days + 1)
    grid = out["time"].values
    troughs, curves = [], []
    for fit, etas in _draws(mix, samples, seed):
        troughs.append(regimen_troughs(fit, regimen, start, days, etas))
        curves.append(Predictor(fit.design, grid, times, amounts)(etas))
    pct = list(PERCENTILES)
    out["trough_percentile"] = (
        ("percentile", "day"),
        np.percentile(np.concatenate(troughs), pct, axis=0),
        out["trough_percentile"].attrs,
    )
    out["curve_percentile"] = (
        ("percentile", "time"),
        np.percentile(np.concatenate(curves), pct, axis=0),
        out["curve_percentile"].attrs,
    )
    out.attrs.update(
        samples=samples,
        posterior="laplace, genotype mixture",
        genotype_posterior=", ".join(f"{g}: {p:.4f}" for g, p in mix.probabilities().items()),
        map_genotype=mix.mode_genotype,
    )
    return out


def mixture_dose_options(
    mix: MixtureFit,
    target: str | TargetRange,
    *,
    formulation: str = "prograf",
    days: int = 7,
    samples: int = 400,
    seed: int = 1,
    top: int = 6,
    aim: float | None = None,
) -> list[DoseOption]:
    """:func:`pksim.mipd.recommend.dose_options` over the genotype mixture: the same
    candidates (around the dose the most probable genotype's MAP needs), ranking and fields;
    ``p_in_range`` and the median over the mixture's draws."""
    mode = mix.mode
    draws = _draws(mix, samples, seed)

    def evaluate(regimen: FutureRegimen, start: float, goal: TargetRange) -> DoseOption:
        point = regimen_troughs(mode, regimen, start, days, mode.eta[None])[0]
        final = np.concatenate(
            [regimen_troughs(fit, regimen, start, days, etas)[:, -1] for fit, etas in draws]
        )
        return dose_option(regimen, point, final, goal)

    return search_dose_options(
        mode, target, evaluate, formulation=formulation, days=days, top=top, aim=aim
    )

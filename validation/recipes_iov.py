"""Recipes of the intra-patient variability and formulation observations
(``observations_iov.toml``): a variability run with the three formulation classes, and the
labelled Envarsus conversion, through pksim's public API."""

from __future__ import annotations

import functools

import numpy as np

from pksim.library.parameter_set import ParameterSet
from validation.patients import (
    IPV_DAYS,
    IPV_SCENARIO,
    lcp_conversion_ratio,
    pr_switch_trough_ratio,
)
from validation.recipes import Recipe

ENVARSUS_ARM = """
[[regimens]]
name = "LCP QD"
daily_dose_mg = 3
doses_per_day = 1
formulation = "envarsus"
"""
"""The Envarsus arm of :data:`FORMULATION_IPV_SCENARIO`."""

FORMULATION_IPV_SCENARIO = IPV_SCENARIO + ENVARSUS_ARM
"""The variability run of validation.patients.IPV_SCENARIO (400 virtual LN patients, IIV, IOV,
each subject's own within-subject scale, assay error, sampling-time deviation; measured troughs
on the six weekly days of IPV_DAYS) with an Envarsus arm at the US label's 80 % conversion
(3 of 4 mg/day, rounded to whole mg): the same patients on each formulation."""


@functools.cache
def _troughs(set_name: str):
    from pksim import run
    from pksim.scenario import scenario_from_text

    ds = run(scenario_from_text(FORMULATION_IPV_SCENARIO.format(set=set_name)))
    return ds["trough_measured"].sel(day=list(IPV_DAYS))


def _cvs(pset: ParameterSet, regimen: str) -> np.ndarray:
    """Per-subject CV (%) of the weekly measured troughs of ``regimen``."""
    values = _troughs(pset.name).sel(regimen=regimen).values
    return 100.0 * values.std(axis=1, ddof=1) / values.mean(axis=1)


def _tertile_ratio(pset: ParameterSet) -> float:
    low, high = np.quantile(_cvs(pset, "IR BID"), [1 / 3, 2 / 3])
    return float(high / low)


IOV_RECIPES: dict[str, Recipe] = {
    "park2021-ipv-tertile-ratio": Recipe(
        "variability run (FORMULATION_IPV_SCENARIO, IR BID, six weekly troughs); 67th / 33rd "
        "percentile of the per-subject trough CVs",
        _tertile_ratio,
    ),
    "park2021-ipv-lower-tertile": Recipe(
        "as park2021-ipv-tertile-ratio; 33rd percentile of the per-subject CVs",
        lambda p: float(np.quantile(_cvs(p, "IR BID"), 1 / 3)),
    ),
    "park2021-ipv-upper-tertile": Recipe(
        "as park2021-ipv-tertile-ratio; 67th percentile of the per-subject CVs",
        lambda p: float(np.quantile(_cvs(p, "IR BID"), 2 / 3)),
    ),
    "sablik2018-ipv-mean-controls": Recipe(
        "as park2021-ipv-tertile-ratio (IR BID; IPV read as the CV); mean of the per-subject CVs",
        lambda p: float(np.mean(_cvs(p, "IR BID"))),
    ),
    "bunthof2020-lcpt-ipv-mean": Recipe(
        "as park2021-ipv-tertile-ratio, Envarsus QD arm; mean of the per-subject CVs",
        lambda p: float(np.mean(_cvs(p, "LCP QD"))),
    ),
    "kaminska2008-advagraf-c0-ratio-day14": Recipe(
        "stable European kidney patient; 4.4 mg/day IR BID to steady state, then the same daily "
        "dose as PR QD for 14 days; trough day 14 / before",
        lambda p: pr_switch_trough_ratio(p, 2.2, 14),
    ),
    "envarsus-smpc-conversion-ratio": Recipe(
        "stable European kidney patient; Envarsus daily dose giving the IR AUC = AUC24 IR BID / "
        "AUC24 LCP QD at the same daily dose",
        lcp_conversion_ratio,
    ),
}

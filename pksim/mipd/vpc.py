"""Visual predictive check (VPC) of a parameter set against TDM data.

``replicates`` datasets are simulated from the set with the data's own design: each patient's
doses, sample times, covariates over time, co-medications and limits of quantification
(compiled by :func:`pksim.mipd.design.design`); each replicate draws the patient's etas from
``N(0, Omega)`` (IIV, and IOV for the occasions of its doses) and a residual error
``y = f + sqrt(V(f))·e``, ``V = (prop·f)^2 + add^2``. A value below the patient's LLOQ is
censored, in the data and in every replicate alike: it enters the percentiles as 0 ng/mL
(below every quantified value), so a percentile at 0 means "below the limit".

The observations are binned by the day of therapy (``binning="day"``: days since the patient's
first dose, day 1 = the first 24 h; adjacent days merged until a bin holds
:data:`MIN_PER_BIN` observations) or by the time after the last dose (``binning="tad"``:
bins at the quantiles of the observed times). In each bin the observed 5th/50th/95th
percentiles are compared with the 90 % interval (5th-95th percentile over the replicates) of
the same percentile of the simulated data. Draws depend only on (``seed``, patient index).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pksim import units
from pksim.errors import shown
from pksim.library.parameter_set import ParameterSet
from pksim.mipd.design import design
from pksim.mipd.history import PatientHistory
from pksim.mipd.mixture import genotype_prior as genotype_prior_of
from pksim.mipd.mixture import needs_genotype, with_genotype
from pksim.mipd.predict import Predictor

__all__ = ["BINNINGS", "Vpc", "visual_predictive_check", "vpc_figure"]

BINNINGS = ("day", "tad")
PERCENTILES = (5.0, 50.0, 95.0)
"""Percentiles of the observations compared in each bin."""
INTERVAL = (5.0, 95.0)
"""The simulated interval of each percentile: 90 % of the replicates."""
MIN_PER_BIN = 20
"""Fewest observations in a day bin (adjacent days are merged up to it)."""
TAD_BINS = 6
"""Bins of the time after the last dose (fewer where quantiles coincide)."""
CENSORED = 0.0
"""Value (ng/mL) a below-LLOQ observation takes in the percentiles."""
FIGURE_SIZE_IN = (8.0, 4.8)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class Vpc:
    """The check: per bin its label, middle (days or h) and number of observations; the
    observed percentiles (bins, 3) and the simulated intervals (bins, 3, 2) ng/mL."""

    binning: str
    labels: tuple[str, ...]
    middle: FloatArray
    counts: NDArray[np.int64]
    observed: FloatArray
    simulated_median: FloatArray
    simulated_interval: FloatArray
    replicates: int
    seed: int
    parameter_set: str

    @property
    def inside(self) -> NDArray[np.bool_]:
        """(bins, 3): the observed percentile lies in its simulated 90 % interval."""
        low, high = self.simulated_interval[..., 0], self.simulated_interval[..., 1]
        return (self.observed >= low) & (self.observed <= high)

    def summary(self) -> str:
        n = self.inside.size
        return (
            f"VPC ({self.replicates} replicates, {self.binning} bins, set "
            f"{self.parameter_set!r}): {int(self.inside.sum())} of {n} observed 5/50/95th "
            "percentiles inside the simulated 90 % intervals"
        )


def visual_predictive_check(
    histories: tuple[PatientHistory, ...],
    pset: ParameterSet,
    *,
    replicates: int = 200,
    seed: int = 1,
    binning: str = "day",
    genotype_prior: str | Mapping[str, float] | None = None,
) -> Vpc:
    """The VPC of ``pset`` on ``histories`` (module docstring). A patient without the CYP3A5
    genotype the set needs gets, in each replicate, a genotype drawn from ``genotype_prior``
    (:func:`pksim.mipd.mixture.genotype_prior`)."""
    if binning not in BINNINGS:
        raise ValueError(f"binning must be one of {BINNINGS}, got {shown(binning)}")
    if replicates < 20:
        raise ValueError(f"replicates must be >= 20 for 90 % intervals, got {replicates}")
    prior = genotype_prior_of(genotype_prior)
    observed_parts, simulated_parts, keys = [], [], []
    for index, h in enumerate(histories):
        if h.n_observations == 0:
            continue
        rng = np.random.default_rng([seed, index])
        f = _true_concentrations(h, pset, replicates, rng, prior)  # (replicates, s)
        sd = np.hypot(pset.residual_proportional * f, pset.residual_additive)
        y = f + sd * rng.standard_normal(f.shape)
        limit = np.where(np.isnan(h.obs_lloq), -np.inf, h.obs_lloq)
        simulated_parts.append(np.where(y < limit, CENSORED, y))
        observed_parts.append(np.where(h.obs_blq, CENSORED, h.obs_values))
        keys.append(_bin_key(h, binning))
    if not observed_parts:
        raise ValueError("the VPC needs observations; the data have none")
    observed = np.concatenate(observed_parts)
    simulated = np.concatenate(simulated_parts, axis=1)
    key = np.concatenate(keys)
    bins, labels, middle = _bins(key, binning)
    n_bins = len(labels)
    obs_pct = np.zeros((n_bins, len(PERCENTILES)))
    sim_median = np.zeros((n_bins, len(PERCENTILES)))
    sim_interval = np.zeros((n_bins, len(PERCENTILES), 2))
    counts = np.zeros(n_bins, np.int64)
    for b in range(n_bins):
        members = bins == b
        counts[b] = members.sum()
        obs_pct[b] = np.percentile(observed[members], PERCENTILES)
        per_replicate = np.percentile(simulated[:, members], PERCENTILES, axis=1)  # (3, K)
        sim_median[b] = np.median(per_replicate, axis=1)
        sim_interval[b] = np.percentile(per_replicate, INTERVAL, axis=1).T
    return Vpc(
        binning,
        labels,
        middle,
        counts,
        obs_pct,
        sim_median,
        sim_interval,
        replicates,
        seed,
        pset.name,
    )


def _true_concentrations(h, pset, replicates, rng, prior) -> FloatArray:
    """Concentrations (replicates, s) at the observations for etas drawn from N(0, Omega);
    a patient without the genotype the set needs gets a genotype per replicate drawn from
    the prior."""
    if not needs_genotype(h, pset):
        d = design(h, pset)
        etas = rng.multivariate_normal(np.zeros(d.n_eta), d.omega, size=replicates)
        return Predictor(d, h.obs_times)(etas)
    labels = [g for g, p in prior.items() if p > 0]
    which = rng.choice(len(labels), size=replicates, p=[prior[g] for g in labels])
    f = np.zeros((replicates, h.n_observations))
    for j, label in enumerate(labels):
        d = design(with_genotype(h, label), pset)
        etas = rng.multivariate_normal(np.zeros(d.n_eta), d.omega, size=replicates)
        rows = which == j
        if rows.any():
            f[rows] = Predictor(d, h.obs_times)(etas[rows])
    return f


def _bin_key(h: PatientHistory, binning: str) -> FloatArray:
    """Day of therapy (1 = the first 24 h after the first dose) or time after the last dose
    (h) of each observation."""
    if binning == "day":
        first = h.dose_times[0] if h.dose_times.size else h.obs_times[0]
        return np.floor((h.obs_times - first) / units.HOURS_PER_DAY) + 1
    before = np.searchsorted(h.dose_times, h.obs_times, side="left") - 1  # a dose at the
    # sample time comes after the sample (a trough)
    last = np.where(before >= 0, h.dose_times[np.maximum(before, 0)], np.nan)
    return h.obs_times - last


def _bins(key: FloatArray, binning: str) -> tuple[NDArray[np.int64], tuple[str, ...], FloatArray]:
    """The bin of each observation, the bins' labels and middles."""
    if binning == "tad":
        finite = np.isfinite(key)
        if not finite.all():
            raise ValueError("binning by time after dose needs a dose before every observation")
        edges = np.unique(np.percentile(key, np.linspace(0, 100, TAD_BINS + 1)))
        if edges.size < 2:
            edges = np.array([edges[0], edges[0]])
        index = np.clip(np.searchsorted(edges, key, side="right") - 1, 0, max(edges.size - 2, 0))
        labels = tuple(f"{a:.3g}-{b:.3g} h" for a, b in itertools.pairwise(edges))
        used = np.unique(index)
        remap = np.searchsorted(used, index)
        middle = np.array([np.median(key[index == u]) for u in used])
        return remap, tuple(labels[u] for u in used), middle
    days, counts = np.unique(key, return_counts=True)
    groups, current, total = [], [], 0
    for day, count in zip(days, counts, strict=True):
        current.append(day)
        total += count
        if total >= MIN_PER_BIN:
            groups.append(current)
            current, total = [], 0
    if current:
        if groups:
            groups[-1] = groups[-1] + current
        else:
            groups.append(current)
    index = np.zeros(key.size, np.int64)
    labels, middle = [], []
    for b, group in enumerate(groups):
        index[np.isin(key, group)] = b
        low, high = int(group[0]), int(group[-1])
        labels.append(f"day {low}" if low == high else f"days {low}-{high}")
        middle.append(float(np.median(key[np.isin(key, group)])))
    return index, tuple(labels), np.array(middle)


def vpc_figure(vpc: Vpc):
    """A :class:`matplotlib.figure.Figure`: per bin the simulated 90 % interval of each
    percentile (bands), its median (dashed) and the observed percentile (points and lines)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGURE_SIZE_IN, layout="constrained")
    ax = fig.add_subplot()
    x = vpc.middle
    colours = ("tab:blue", "tab:red", "tab:blue")
    for j, (p, colour) in enumerate(zip(PERCENTILES, colours, strict=True)):
        low, high = vpc.simulated_interval[:, j, 0], vpc.simulated_interval[:, j, 1]
        ax.fill_between(x, low, high, color=colour, alpha=0.18, step=None)
        ax.plot(x, vpc.simulated_median[:, j], "--", color=colour, lw=1)
        ax.plot(x, vpc.observed[:, j], "o-", color="black", ms=4, lw=1)
        outside = ~vpc.inside[:, j]
        ax.plot(x[outside], vpc.observed[outside, j], "x", color="red", ms=9, mew=2)
        ax.annotate(
            f"P{p:g}",
            (x[-1], vpc.observed[-1, j]),
            textcoords="offset points",
            xytext=(6, 0),
            fontsize=8,
        )
    ax.plot([], [], "o-", color="black", label="observed 5th / 50th / 95th percentile")
    ax.fill_between([], [], [], color="tab:blue", alpha=0.18, label="simulated 90 % interval")
    ax.plot([], [], "x", color="red", label="observed outside its interval")
    xlabel = "day of therapy" if vpc.binning == "day" else "time after the last dose (h)"
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"tacrolimus whole blood ({units.CONCENTRATION})")
    ax.set_title(vpc.summary(), fontsize=9)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, loc="upper left")
    return fig

"""A mixture prior over the CYP3A5 genotype of a patient whose genotype is unknown.

When the parameter set has a CYP3A5 effect (or the patient takes a co-medication whose effect
depends on the genotype) and the data give no genotype, the patient is fitted under each
genotype ``g`` (MAP and Laplace, :func:`pksim.mipd.batch_fit.fit_many`). The posterior
genotype probabilities are

    P(g | y) ∝ pi_g · L_g,   -2 ln L_g = OBJ_g* + ln det Omega + ln det(H_g / 2)   (+ n ln 2pi)

with ``pi_g`` the prior frequency (a population's Hardy-Weinberg genotype frequencies from its
CYP3A5*3 allele frequency, or given) and ``L_g`` the Laplace marginal likelihood of the data
under genotype ``g`` (the constant ``n ln 2pi`` is common and cancels). Forecasts and dose
options integrate over the mixture: each genotype contributes posterior draws in proportion to
its probability (largest remainder), from its own fit, through
:func:`pksim.mipd.forecast.posterior_etas` and :func:`pksim.mipd.forecast.regimen_troughs`;
the point ("MAP") prediction is the most probable genotype's MAP.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from pksim.errors import shown
from pksim.library import covariates as registry
from pksim.library.drugs import lookup_drug
from pksim.library.parameter_set import ParameterSet
from pksim.library.populations import STAR3_ALLELE_FREQUENCY, list_populations, load_population
from pksim.mipd.batch_fit import fit_many
from pksim.mipd.fit import Fit
from pksim.mipd.forecast import posterior_etas
from pksim.mipd.history import PatientHistory

__all__ = [
    "DEFAULT_GENOTYPE_POPULATION",
    "GENOTYPE",
    "MixtureFit",
    "fit_mixture",
    "fit_mixtures",
    "fit_with_genotype_mixture",
    "genotype_prior",
    "needs_genotype",
    "representative_fits",
    "with_genotype",
    "with_genotype_posterior",
]

GENOTYPE = "cyp3a5"
"""The covariate of the mixture."""
DEFAULT_GENOTYPE_POPULATION = "chinese-adult-ln"
"""Whose genotype frequencies are the prior when none is given: the default set's population
(its CYP3A5*3 allele frequency, Hardy-Weinberg)."""
PRIOR_TOLERANCE = 1e-6
"""Given prior probabilities must sum to 1 within this."""

FloatArray = NDArray[np.float64]


def _genotypes() -> tuple[str, ...]:
    """CYP3A5 genotype labels; the index of each is its code (number of *1 alleles)."""
    return registry.get(GENOTYPE).categories


def genotype_prior(spec: str | Mapping[str, float] | None = None) -> dict[str, float]:
    """Prior genotype probabilities: ``None`` (:data:`DEFAULT_GENOTYPE_POPULATION`), a
    population name (Hardy-Weinberg frequencies from its CYP3A5*3 allele frequency), a mapping
    genotype label -> probability, or the text ``"*3/*3=0.5,*1/*3=0.4,*1/*1=0.1"``. Labels
    not given have probability 0; the probabilities must sum to 1."""
    labels = _genotypes()
    if spec is None:
        spec = DEFAULT_GENOTYPE_POPULATION
    if isinstance(spec, str) and "=" not in spec:
        if spec not in list_populations():
            raise ValueError(
                f"genotype prior {shown(spec)}: give a population ({', '.join(list_populations())})"
                " or probabilities such as '*3/*3=0.5,*1/*3=0.4,*1/*1=0.1'"
            )
        q = load_population(spec)[STAR3_ALLELE_FREQUENCY]
        p = 1.0 - q
        return {labels[k]: math.comb(2, k) * p**k * q ** (2 - k) for k in range(len(labels))}
    if isinstance(spec, str):
        pairs: dict[str, float] = {}
        for part in spec.split(","):
            label, _, number = part.partition("=")
            try:
                pairs[label.strip()] = float(number)
            except ValueError:
                raise ValueError(
                    f"genotype prior {shown(part)}: give LABEL=PROBABILITY, e.g. *1/*3=0.4"
                ) from None
        spec = pairs
    bad = [k for k in spec if k not in labels]
    values = [spec.get(k, 0.0) for k in labels]
    if bad or not all(isinstance(v, int | float) and 0 <= v <= 1 for v in values):
        raise ValueError(
            f"genotype prior {shown(dict(spec))}: probabilities in [0, 1] for {list(labels)}"
        )
    if abs(sum(values) - 1) > PRIOR_TOLERANCE:
        raise ValueError(f"genotype prior {shown(dict(spec))}: probabilities must sum to 1")
    return dict(zip(labels, (float(v) for v in values), strict=True))


def needs_genotype(history: PatientHistory, pset: ParameterSet) -> bool:
    """True when the data give no CYP3A5 genotype (no column, or unknown on every record)
    and the set has a CYP3A5 effect or a co-medication's effect depends on the genotype."""
    codes = history.covariates.get(GENOTYPE)
    if codes is not None and np.any(codes != registry.UNKNOWN_CODE):
        return False
    effect = any(e.covariate == GENOTYPE for e in pset.effects)
    drug = any(lookup_drug(c.drug).genotype_dependent for c in history.comedications)
    return effect or drug


def with_genotype(history: PatientHistory, label: str) -> PatientHistory:
    """``history`` with the CYP3A5 genotype ``label`` on every record."""
    code = _genotypes().index(label)
    covariates = dict(history.covariates)
    covariates[GENOTYPE] = np.full(history.record_times.size, code, dtype=np.int8)
    return dataclasses.replace(history, covariates=covariates)


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class MixtureFit:
    """A patient fitted under each genotype of positive prior: ``genotypes``, their ``fits``,
    ``prior`` and ``posterior`` probabilities and ``minus_two_ll`` (-2 ln L_g without the
    common ``n ln 2pi``)."""

    history: PatientHistory
    genotypes: tuple[str, ...]
    fits: tuple[Fit, ...]
    prior: FloatArray
    posterior: FloatArray
    minus_two_ll: FloatArray

    @property
    def mode(self) -> Fit:
        """The fit of the most probable genotype."""
        return self.fits[int(np.argmax(self.posterior))]

    @property
    def mode_genotype(self) -> str:
        return self.genotypes[int(np.argmax(self.posterior))]

    def probabilities(self) -> dict[str, float]:
        """Posterior probability of every genotype label (0 for those of prior 0)."""
        out = dict.fromkeys(_genotypes(), 0.0)
        out.update(zip(self.genotypes, (float(p) for p in self.posterior), strict=True))
        return out

    def draws_per_genotype(self, n: int) -> NDArray[np.int64]:
        """Posterior draws of each genotype out of ``n`` (largest remainder)."""
        exact = self.posterior * n
        counts = np.floor(exact).astype(np.int64)
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[: n - int(counts.sum())]] += 1
        return counts

    def posterior_mean(
        self, parameter: str = "cl", *, method: str = "laplace", samples: int = 4000, seed: int = 1
    ) -> float:
        """Posterior mean of a baseline individual parameter, weighted over the genotypes.
        ``laplace``: each genotype's log-normal Laplace posterior, ``typical·exp(eta + var/2)``
        (biased where the posterior is skewed); ``sir``: the mean over ``samples`` draws in
        proportion to the genotype probabilities, each genotype's by sampling-importance
        resampling (:func:`pksim.mipd.forecast.posterior_etas`, seeded by (seed, index))."""
        total = 0.0
        counts = self.draws_per_genotype(samples)
        for index, (fit, weight) in enumerate(zip(self.fits, self.posterior, strict=True)):
            d = fit.design
            value = d.typical[parameter]
            if parameter not in d.eta_parameter:
                total += weight * value
                continue
            j = d.eta_parameter.index(parameter)
            if method == "laplace":
                total += weight * value * math.exp(fit.eta[j] + fit.covariance[j, j] / 2)
            elif counts[index]:
                etas = posterior_etas(
                    fit, int(counts[index]) + 1, seed=(seed, index), method=method
                )
                total += value * np.exp(etas[1:, j]).sum() / samples
        return float(total)

    def describe(self) -> str:
        parts = [
            f"{g} {p:.1%} (prior {q:.1%})"
            for g, p, q in zip(self.genotypes, self.posterior, self.prior, strict=True)
        ]
        return "CYP3A5 unknown; posterior genotype: " + ", ".join(parts)


def fit_mixture(
    history: PatientHistory, pset: ParameterSet, prior: Mapping[str, float] | None = None
) -> MixtureFit:
    """The genotype mixture of one patient (module docstring)."""
    return fit_mixtures([history], pset, prior)[0]


def fit_mixtures(
    histories: list[PatientHistory], pset: ParameterSet, prior: Mapping[str, float] | None = None
) -> list[MixtureFit]:
    """Genotype mixtures of many patients (all genotype fits in one :func:`fit_many` call)."""
    probabilities = genotype_prior(prior)
    genotypes = tuple(g for g, p in probabilities.items() if p > 0)
    expanded = [with_genotype(h, g) for h in histories for g in genotypes]
    fits = fit_many(expanded, pset)
    k = len(genotypes)
    log_prior = np.log([probabilities[g] for g in genotypes])
    out = []
    for i, h in enumerate(histories):
        own = tuple(fits[i * k : (i + 1) * k])
        m2ll = np.array([_minus_two_ll(f) for f in own])
        log_w = log_prior - 0.5 * m2ll
        w = np.exp(log_w - log_w.max())
        out.append(MixtureFit(h, genotypes, own, np.exp(log_prior), w / w.sum(), m2ll))
    return out


def fit_with_genotype_mixture(
    histories: tuple[PatientHistory, ...] | list[PatientHistory],
    pset: ParameterSet,
    prior: str | Mapping[str, float] | None = None,
) -> dict[str, Fit | MixtureFit]:
    """Each patient's MAP :class:`Fit`, or its :class:`MixtureFit` where the genotype is
    needed and unknown (:func:`needs_genotype`), by ID in order."""
    probabilities = genotype_prior(prior)
    mixed = [h for h in histories if needs_genotype(h, pset)]
    plain = [h for h in histories if not needs_genotype(h, pset)]
    results: dict[str, Fit | MixtureFit] = {}
    plain_fits = dict(zip((h.id for h in plain), fit_many(plain, pset), strict=True))
    mixture_fits = dict(
        zip((h.id for h in mixed), fit_mixtures(mixed, pset, probabilities), strict=True)
    )
    for h in histories:
        results[h.id] = plain_fits[h.id] if h.id in plain_fits else mixture_fits[h.id]
    return results


def _minus_two_ll(fit: Fit) -> float:
    """Laplace -2 ln L of one patient without ``n ln 2pi``: OBJ* + ln det Omega - ln det Cov."""
    return float(
        fit.objective
        + np.linalg.slogdet(fit.design.omega)[1]
        - np.linalg.slogdet(fit.covariance)[1]
    )


def representative_fits(results: Mapping[str, Fit | MixtureFit]) -> list[Fit]:
    """Each patient's fit, the most probable genotype's for a mixture."""
    return [r.mode if isinstance(r, MixtureFit) else r for r in results.values()]


def with_genotype_posterior(
    ds: xr.Dataset, results: Mapping[str, Fit | MixtureFit], pset: ParameterSet
) -> xr.Dataset:
    """``ds`` (dim ``patient``) with ``genotype_posterior`` (patient, genotype): the mixture's
    posterior, 1 for a given genotype, NaN where neither the set nor a co-medication uses the
    genotype; and ``genotype``: the genotype of the reported fit ("" where unknown)."""
    labels = _genotypes()
    uses = any(e.covariate == GENOTYPE for e in pset.effects)
    table = np.full((len(results), len(labels)), np.nan)
    shown_genotype = []
    for i, result in enumerate(results.values()):
        if isinstance(result, MixtureFit):
            table[i] = list(result.probabilities().values())
            shown_genotype.append(result.mode_genotype)
            continue
        codes = result.history.covariates.get(GENOTYPE)
        known = codes is not None and codes[0] != registry.UNKNOWN_CODE
        if known and (uses or result.history.comedications):
            table[i] = 0.0
            table[i, int(codes[0])] = 1.0
        shown_genotype.append(labels[int(codes[0])] if known else "")
    out = ds.assign_coords(genotype=("genotype", list(labels)))
    out["genotype_posterior"] = (
        ("patient", "genotype"),
        table,
        {"long_name": "posterior probability of the CYP3A5 genotype", "units": "1"},
    )
    out["genotype_of_fit"] = (
        "patient",
        shown_genotype,
        {"long_name": "CYP3A5 genotype of the reported fit (most probable when unknown)"},
    )
    return out

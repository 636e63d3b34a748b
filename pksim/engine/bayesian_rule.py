"""The ``bayesian`` monitoring rule: MAP Bayesian individualisation inside the titration loop.

At each draw of a :class:`~pksim.dosing.tdm.TdmPlan` with ``rule = "bayesian"``, every subject's
history is written from what a clinic knows (docs/mipd.md): the doses it prescribed so far at
their scheduled times (it does not know about missed or late doses, nor the subject's IOV or
food), the measured troughs so far at their draw times (BLQ results flagged, with the LLOQ),
the subject's baseline covariates (weight, CYP3A5 genotype, hematocrit, prednisone ...) and the
co-medication courses it takes. Its MAP etas under the scenario's own parameter set
(:func:`pksim.mipd.fit_many`, NONMEM's POSTHOC objective) give the individual parameters, and
:func:`steady_state_trough_per_mg` the trough (ng/mL) one mg/day would give at steady state
under the regimen's dose times from the effective day on (troughs are linear in the dose; the
daily dose split evenly over the day's doses; clearance and F with the co-medications in force
on the *horizon* day, the day of the next draw or the run's last day: a course the clinic knows
will start, or whose effect is still building up, is dosed for). The rule
(:func:`pksim.dosing.titration.decide`) doses to aim / that prediction.

Every subject is fitted from its own history alone: subjects are fitted together only with
subjects that take the same co-medications (so their clearance change times are the same) and
that have the same number of observations, and every step of the batched fit is a per-subject
computation, so a subject's dose does not depend on which subjects share its chunk
(tests/engine/test_bayesian_rule.py checks it at several chunk sizes).

Models: the one- and two-compartment oral models with lag (the structural model of the
scenario's set: :func:`steady_state_trough_per_mg` or
:func:`steady_state_trough_per_mg_two_compartment`, both exact; other models are refused);
prednisone tapers are not followed (the baseline dose is the clinic's covariate). Units: h,
mg, ng/mL, L, L/h.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pksim.cohort.covariates import Covariates
from pksim.dosing.bayesian_checks import BAYESIAN_MODELS
from pksim.dosing.schedule import Schedule
from pksim.library import covariates as registry
from pksim.library.parameter_set import ParameterSet
from pksim.mipd.batch_fit import fit_many
from pksim.mipd.design import STRUCTURAL_PARAMETERS, TWO_COMPARTMENT_PARAMETERS
from pksim.mipd.fit import Fit
from pksim.mipd.history import PatientHistory
from pksim.model.structural import TWO_COMPARTMENT_ORAL_LAG
from pksim.model.two_compartment import steady_state_trough_two_compartment
from pksim.modifiers.courses import CoMedication
from pksim.modifiers.interactions import f_multipliers
from pksim.units import HOURS_PER_DAY, MG_PER_L_TO_NG_PER_ML

__all__ = [
    "ClinicKnowledge",
    "clinic_knowledge",
    "history_of",
    "steady_state_trough_per_mg",
    "steady_state_trough_per_mg_two_compartment",
    "trough_per_mg",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class ClinicKnowledge:
    """What the clinic knows of n subjects besides their doses and results: the prior
    ``pset`` (the scenario's parameter set), each subject's baseline ``covariates`` (registry
    name -> (n,) values, categorical ones as codes) and the co-medication courses each takes
    (``comedications[i]``)."""

    pset: ParameterSet
    covariates: Mapping[str, np.ndarray]
    comedications: tuple[tuple[CoMedication, ...], ...]


def clinic_knowledge(
    pset: ParameterSet,
    cov: Covariates,
    courses: Sequence[CoMedication] = (),
    taking: NDArray[np.bool_] | None = None,
) -> ClinicKnowledge:
    """The clinic's view of the subjects of ``cov``: every carried covariate at baseline and
    the ``courses`` each subject takes (``taking`` (n, len(courses)), default: all)."""
    values = {c.name: np.asarray(cov[c.name]) for c in registry.carried()}
    n = np.asarray(cov.weight_kg).size
    if taking is None:
        taking = np.ones((n, len(courses)), dtype=bool)
    taken = tuple(tuple(c for c, t in zip(courses, row, strict=True) if t) for row in taking)
    return ClinicKnowledge(pset, values, taken)


def history_of(
    knowledge: ClinicKnowledge,
    i: int,
    dose_times: FloatArray,
    dose_amounts: FloatArray,
    doses_per_day: int,
    draw_times: FloatArray,
    measured: FloatArray,
    below_lloq: NDArray[np.bool_],
    lloq_ng_per_ml: float,
) -> PatientHistory:
    """Subject ``i``'s history as the clinic knows it: doses at ``dose_times`` (h, scheduled)
    of ``dose_amounts`` mg, troughs ``measured`` (ng/mL) drawn at ``draw_times`` (h), one
    covariate record at time 0 with its baseline covariates."""
    blq = np.asarray(below_lloq, dtype=bool)
    return PatientHistory(
        id=str(i + 1),
        dose_times=dose_times,
        dose_amounts=dose_amounts,
        dose_ss=np.zeros(dose_times.size, dtype=bool),
        dose_ii=np.full(dose_times.size, HOURS_PER_DAY / doses_per_day),
        dose_occasion=np.zeros(dose_times.size, dtype=np.int64),
        reset_times=(),
        obs_times=draw_times,
        obs_values=np.where(blq, np.nan, measured),
        obs_blq=blq,
        obs_lloq=np.full(draw_times.size, lloq_ng_per_ml),
        obs_occasion=np.zeros(draw_times.size, dtype=np.int64),
        obs_rows=np.arange(1, draw_times.size + 1),
        record_times=(0.0,),
        covariates={name: values[i : i + 1] for name, values in knowledge.covariates.items()},
        comedications=knowledge.comedications[i],
    )


def trough_per_mg(
    knowledge: ClinicKnowledge,
    schedule: Schedule,
    prescribed: FloatArray,
    draw_times: FloatArray,
    measured: FloatArray,
    below_lloq: NDArray[np.bool_],
    lloq_ng_per_ml: float,
    last_draw_day: int,
    effective_day: int,
    horizon_day: int,
) -> FloatArray:
    """Predicted steady-state trough (ng/mL per mg/day, (n,)) of each subject from the doses
    ``prescribed`` (n, m) mg on days 1 .. ``last_draw_day`` and its results so far (``measured``
    and ``below_lloq`` (n, k) at ``draw_times`` (n, k) h), for the regimen's dose times on
    ``effective_day`` with the clearance and F of ``horizon_day`` (its doses, and the trough at
    its end)."""
    model = knowledge.pset.structural_model
    if model not in BAYESIAN_MODELS:
        raise ValueError(
            f"the bayesian rule supports the {', '.join(repr(m) for m in BAYESIAN_MODELS)} "
            f"models (its dose step is their exact steady state); parameter set "
            f"{knowledge.pset.name!r} uses {model!r}: choose another set or another rule"
        )
    n = prescribed.shape[0]
    columns = slice(0, int(schedule.first_column[last_draw_day]))
    times = schedule.times[columns]
    today = slice(schedule.first_column[effective_day - 1], schedule.first_column[effective_day])
    clock = schedule.times[today] - (effective_day - 1) * HOURS_PER_DAY
    doses_per_day = clock.size
    fits: list[Fit | None] = [None] * n
    groups: dict[tuple, list[int]] = {}
    for i in range(n):
        key = (knowledge.comedications[i], _expresser(knowledge, i))
        groups.setdefault(key, []).append(i)
    for members in groups.values():
        histories = [
            history_of(
                knowledge,
                i,
                times,
                prescribed[i, columns],
                doses_per_day,
                draw_times[i],
                measured[i],
                below_lloq[i],
                lloq_ng_per_ml,
            )
            for i in members
        ]
        for i, fit in zip(members, fit_many(histories, knowledge.pset), strict=True):
            fits[i] = fit
    horizon = (horizon_day - 1) * HOURS_PER_DAY
    two = model == TWO_COMPARTMENT_ORAL_LAG.name
    p, f = _parameters_on(
        fits,  # type: ignore[arg-type]
        TWO_COMPARTMENT_PARAMETERS if two else STRUCTURAL_PARAMETERS,
        horizon + clock,
        horizon + HOURS_PER_DAY,
    )
    if two:
        return steady_state_trough_per_mg_two_compartment(
            p["cl"], p["v"], p["q"], p["v2"], p["ka"], p["tlag"], f, clock
        )
    return steady_state_trough_per_mg(p["cl"], p["v"], p["ka"], p["tlag"], f, clock)


def _expresser(knowledge: ClinicKnowledge, i: int) -> bool:
    codes = knowledge.covariates.get("cyp3a5")
    return bool(codes is not None and codes[i] >= 1)


def _parameters_on(
    fits: list[Fit], names: Sequence[str], dose_times: FloatArray, trough_time: float
) -> tuple[dict[str, FloatArray], FloatArray]:
    """MAP parameters ``names`` but F (n,) each (CL/F, V/F or V1/F, Q/F, V2/F L/h and L, ka
    1/h, lag h) and the relative F of each dose (n, k) at ``dose_times`` (h), with the
    clearance in force at ``trough_time`` (h)."""
    n, k = len(fits), dose_times.size
    out = {p: np.empty(n) for p in names if p != "f"}
    f = np.empty((n, k))
    for i, fit in enumerate(fits):
        d = fit.design
        scale = dict(zip(d.eta_parameter, np.exp(fit.eta[: len(d.eta_parameter)]), strict=True))
        for p in out:
            out[p][i] = d.typical[p] * scale.get(p, 1.0)
        out["cl"][i] *= d.cl_factor_at(np.array([trough_time]))[0]
        f[i] = d.typical["f"] * scale.get("f", 1.0)
        if d.history.comedications:
            f[i] *= f_multipliers(d.history.comedications, dose_times, d.expresser)[0]
    return out, f


def steady_state_trough_per_mg(
    cl: FloatArray,
    v: FloatArray,
    ka: FloatArray,
    tlag: FloatArray,
    f: FloatArray,
    clock_h: FloatArray,
    trough_clock_h: float = HOURS_PER_DAY,
) -> FloatArray:
    """Steady-state concentration (ng/mL per mg/day, (n,)) at ``trough_clock_h`` (h into the
    day) of the one-compartment oral model with lag, one mg/day split evenly over doses at
    ``clock_h`` (k,) h into each day, each with relative F ``f`` (n, k); ``cl`` L/h, ``v`` L,
    ``ka`` 1/h, ``tlag`` h (n,).

    Superposition of the doses of all earlier days: a dose absorbed for ``t`` h contributes
    ``F D ka / (V (ka - k)) (e^{-k t} - e^{-ka t})``; summed over t + 24 j (j >= 0) that is
    ``F D ka / (V (ka - k)) (e^{-k t} / (1 - e^{-24 k}) - e^{-ka t} / (1 - e^{-24 ka}))``
    (and its limit ``F D k / V (t e^{-k t} / (1 - r) + 24 e^{-k t} r / (1 - r)^2)``, r =
    e^{-24 k}, when ka = k). mg / L = 1000 ng/mL."""
    k = (cl / v)[:, None]
    ka_, v_ = ka[:, None], v[:, None]
    t = np.mod(trough_clock_h - np.asarray(clock_h)[None, :] - tlag[:, None], HOURS_PER_DAY)
    period = HOURS_PER_DAY
    rk = np.exp(-k * period)
    same = ka_ == k
    with np.errstate(divide="ignore", invalid="ignore"):
        general = (
            ka_
            / (v_ * (ka_ - k))
            * (np.exp(-k * t) / (1 - rk) - np.exp(-ka_ * t) / (1 - np.exp(-ka_ * period)))
        )
    limit = k / v_ * (t * np.exp(-k * t) / (1 - rk) + period * np.exp(-k * t) * rk / (1 - rk) ** 2)
    per_dose = np.where(same, limit, general) * f / t.shape[1]
    return MG_PER_L_TO_NG_PER_ML * per_dose.sum(axis=1)


def steady_state_trough_per_mg_two_compartment(
    cl: FloatArray,
    v1: FloatArray,
    q: FloatArray,
    v2: FloatArray,
    ka: FloatArray,
    tlag: FloatArray,
    f: FloatArray,
    clock_h: FloatArray,
    trough_clock_h: float = HOURS_PER_DAY,
) -> FloatArray:
    """Steady-state concentration (ng/mL per mg/day, (n,)) at ``trough_clock_h`` (h into the
    day) of the two-compartment oral model with lag, one mg/day split evenly over doses at
    ``clock_h`` (k,) h into each day, each with relative F ``f`` (n, k); ``cl``, ``q`` L/h,
    ``v1``, ``v2`` L, ``ka`` 1/h, ``tlag`` h (n,).

    Each dose's share is the exact steady-state trough of a once-daily regimen
    (:func:`pksim.model.steady_state_trough_two_compartment`, tau = 24 h): a dose at ``c`` h
    with lag ``tlag`` seen at ``trough_clock_h`` is the once-daily dose at 0 h with lag
    ``tlag + c + 24 - trough_clock_h`` seen just before the next dose (the lag is taken
    modulo 24 h there); troughs add over the doses."""
    n, k = f.shape
    lag = tlag[:, None] + np.asarray(clock_h)[None, :] + (HOURS_PER_DAY - trough_clock_h)
    per_dose = steady_state_trough_two_compartment(
        *(np.repeat(x, k) for x in (cl, v1, q, v2, ka)),
        lag.ravel(),
        f.ravel(),
        np.full(n * k, 1.0 / k),
        np.full(n * k, HOURS_PER_DAY),
    )
    return per_dose.reshape(n, k).sum(axis=1)

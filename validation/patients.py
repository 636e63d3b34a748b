"""Typical patients, CYP3A5 genotype mixes and the computations the recipes share
(:mod:`validation.recipes`): ratios with and without a co-medication, dose-normalised troughs,
prednisone withdrawal, ritonavir courses, and the variability run for intra-patient variability.
Everything goes through pksim's public API (:mod:`validation.exposure`, :func:`pksim.run`).
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np

from pksim.library.drugs import lookup_drug
from pksim.library.parameter_set import ParameterSet
from validation.exposure import (
    HOURS_PER_DAY,
    STEADY_DAYS,
    Course,
    Patient,
    Segment,
    concentrations,
    metric,
    steady,
)

EAST_ASIAN = {"*3/*3": 0.52, "*1/*3": 0.40, "*1/*1": 0.08}
"""CYP3A5 genotype mix of Han Chinese (PK_REFERENCE section 1.2, Hardy-Weinberg at *3 allele
frequency 0.72 [D]); also used for Japanese cohorts without a genotype split."""
EXPRESSERS = {"*1/*3": 0.40, "*1/*1": 0.08}
"""The expressers of :data:`EAST_ASIAN` (*1 carriers), in their relative proportions."""
NON = {"*3/*3": 1.0}
EUROPEAN = {"*3/*3": 0.89, "*1/*3": 0.105, "*1/*1": 0.005}
"""European mix: *3 allele frequency 0.943 (Zhou 2017, PK_REFERENCE section 3) under HWE [D]."""

LN = Patient(weight_kg=55.0, age_y=43.0, genotypes=EAST_ASIAN, prednisone_mg_per_day=10.0)
"""Japanese/Chinese woman with lupus nephritis on maintenance: weight and prednisone assumed
(not in the abstracts: 55 kg, prednisone 10 mg/day)."""
KIDNEY_ASIAN = Patient(
    weight_kg=60.0,
    age_y=45.0,
    female=False,
    hematocrit_pct=38.0,
    serum_creatinine_mg_dl=1.3,
    egfr=55.0,
    prednisone_mg_per_day=5.0,
    genotypes=EAST_ASIAN,
)
"""Stable East Asian kidney transplant recipient (assumed: 60 kg, 45 y, HCT 38 %, creatinine
1.3 mg/dL, prednisone 5 mg/day)."""
KIDNEY_EUROPEAN = replace(KIDNEY_ASIAN, weight_kg=75.0, age_y=50.0, genotypes=EUROPEAN)
"""Stable European kidney or liver transplant recipient (assumed: 75 kg, 50 y)."""
EARLY_KIDNEY = replace(KIDNEY_ASIAN, hematocrit_pct=30.0, prednisone_mg_per_day=20.0)
"""First weeks after kidney transplantation (assumed: HCT 30 %, prednisone 20 mg/day)."""

BID, QD = 12.0, 24.0
CCBS = ("nifedipine", "amlodipine", "felodipine")


def metric_of(pset, patient, course, name, genotypes=None):
    if genotypes is not None:
        patient = replace(patient, genotypes=genotypes)
    return metric(pset, patient, course, name)


def with_drug(course: Course, drug: str, expresser: bool) -> Course:
    effect = lookup_drug(drug).effect(expresser)
    return replace(course, cl_multiplier=effect.cl_multiplier, f_multiplier=effect.f_multiplier)


def drug_ratio(pset, patient, drug, name="trough", genotypes=None, tau=BID):
    """Steady-state metric with / without ``drug`` at the same dose, per genotype, mixed."""
    genotypes = genotypes or patient.genotypes
    total = sum(genotypes.values())
    out = 0.0
    for genotype, weight in genotypes.items():
        p = replace(patient, genotypes={genotype: 1.0})
        base = steady(1.0, tau)
        changed = with_drug(base, drug, genotype != "*3/*3")
        out += weight / total * metric_of(pset, p, changed, name) / metric_of(pset, p, base, name)
    return out


def clf_ratio(drug, genotypes):
    """CL/F ratio (with / without) from the catalogue effect, genotype-weighted."""
    total = sum(genotypes.values())
    out = 0.0
    for genotype, weight in genotypes.items():
        e = lookup_drug(drug).effect(genotype != "*3/*3")
        out += weight / total * e.cl_multiplier / e.f_multiplier
    return out


def switch(first: Segment, second: Segment) -> Course:
    return Course((first, second))


def pr_switch_trough_ratio(pset: ParameterSet, dose_mg: float, days: int) -> float:
    """Trough of a stable European kidney patient ``days`` days after a 1:1 switch from
    ``dose_mg`` mg IR BID at steady state to the same daily dose as PR QD, over the trough
    before."""
    course = switch(Segment(dose_mg, BID, STEADY_DAYS), Segment(2 * dose_mg, QD, days, "pr"))
    return metric_of(pset, KIDNEY_EUROPEAN, course, "trough") / metric_of(
        pset, KIDNEY_EUROPEAN, steady(dose_mg, BID), "trough"
    )


def lcp_conversion_ratio(pset: ParameterSet) -> float:
    """The Envarsus daily dose giving the IR AUC, per mg/day IR, of a stable European kidney
    patient: AUC24 IR BID / AUC24 LCP QD at the same daily dose."""
    return (
        2.0
        * metric_of(pset, KIDNEY_EUROPEAN, steady(1.0, BID), "auc")
        / metric_of(pset, KIDNEY_EUROPEAN, steady(2.0, QD, "lcp"), "auc")
    )


def c0_per_mg_kg(pset, patient, genotypes, daily_mg_per_kg, *, drug=None):
    """Dose- and weight-normalised trough (ng/mL per mg/kg/day) of BID dosing."""
    daily = daily_mg_per_kg * patient.weight_kg
    course = steady(daily / 2.0, BID)
    out = 0.0
    total = sum(genotypes.values())
    for genotype, weight in genotypes.items():
        p = replace(patient, genotypes={genotype: 1.0})
        c = course if drug is None else with_drug(course, drug, genotype != "*3/*3")
        out += weight / total * metric_of(pset, p, c, "trough") / daily_mg_per_kg
    return out


def prednisone_withdrawal(pset, patient, mg):
    on = replace(patient, prednisone_mg_per_day=mg)
    off = replace(patient, prednisone_mg_per_day=0.0)
    return lambda name: (
        metric_of(pset, off, steady(2.0, BID), name) / metric_of(pset, on, steady(2.0, BID), name)
    )


def ritonavir_held(pset: ParameterSet) -> float:
    """Lowest trough / baseline while tacrolimus is held from 12 h before a 5-day ritonavir
    course (*3/*3 on 2 mg BID; the catalogue's CL multiplier at full strength from the course's
    start)."""
    e = lookup_drug("nirmatrelvir_ritonavir").effect(False)
    start = STEADY_DAYS * HOURS_PER_DAY
    course = Course(
        (Segment(2.0, BID, STEADY_DAYS + 5),),
        cl_changes=((start, e.cl_multiplier),),
        stop_dosing_h=start - 12.0,
    )
    times = [start - 12.0 + 12.0 * k for k in range(11)]
    c = concentrations(pset, replace(KIDNEY_ASIAN, genotypes=NON), course, times, "*3/*3")
    return float(c[1:].min() / c[0])


def ritonavir_continued(pset: ParameterSet) -> float:
    """Trough after a 5-day ritonavir course with tacrolimus continued / baseline (*3/*3):
    the catalogue's CL multiplier from the first dose of the course, its F multiplier on the
    course's doses (as a separate absorption class would; here a second segment)."""
    from validation.exposure import concentrations

    e = lookup_drug("nirmatrelvir_ritonavir").effect(False)
    start = STEADY_DAYS * HOURS_PER_DAY
    patient = replace(KIDNEY_ASIAN, genotypes=NON)
    before = Course((Segment(2.0, BID, STEADY_DAYS),))
    baseline = concentrations(pset, patient, before, [start], "*3/*3")[0]
    boosted = Course(
        (Segment(2.0, BID, STEADY_DAYS), Segment(2.0 * e.f_multiplier, BID, 5)),
        cl_changes=((start, e.cl_multiplier),),
    )
    after = concentrations(pset, patient, boosted, [start + 5 * HOURS_PER_DAY], "*3/*3")[0]
    return float(after / baseline)


IPV_SCENARIO = """
title = "validation: intra-patient variability of measured troughs"
subjects = 400
days = 90
seed = 20261129
[parameters]
name = "{set}"
[population]
prednisone_mg_per_day = 5
[output]
measured = true
[[regimens]]
name = "IR BID"
daily_dose_mg = 4
doses_per_day = 2
[[regimens]]
name = "PR QD"
daily_dose_mg = 4
doses_per_day = 1
formulation = "advagraf"
"""
"""A variability run (IIV, IOV, assay error, sampling-time deviation as the set and the
population give them) of 400 virtual Chinese LN patients on 4 mg/day; measured troughs on
days 55, 62, ..., 90 (six weekly TDM samples at steady state for every bundled set, an
assumption: the sources' sample counts are not in the abstracts)."""

IPV_DAYS = (55, 62, 69, 76, 83, 90)
IPV_THRESHOLD_PERCENT = 22.5
"""The CV cut-off of wu2011 (fraction of patients with a trough CV above 22.5 %)."""


def ipv_cvs(pset: ParameterSet, regimen: str):
    """Per-subject CV (%) of the measured weekly troughs of ``regimen``."""
    values = ipv_troughs(pset.name).sel(regimen=regimen).values
    return 100.0 * values.std(axis=1, ddof=1) / values.mean(axis=1)


@functools.cache
def ipv_troughs(set_name: str):
    """Measured troughs (regimen, subject, day) of the variability run on :data:`IPV_DAYS`."""
    from pksim import run
    from pksim.scenario import scenario_from_text

    ds = run(scenario_from_text(IPV_SCENARIO.format(set=set_name)))
    return ds["trough_measured"].sel(day=list(IPV_DAYS))


def fraction_above(pset: ParameterSet, regimen: str) -> float:
    return float(np.mean(ipv_cvs(pset, regimen) > IPV_THRESHOLD_PERCENT))

"""How each published observation is simulated: one recipe per observation id.

A recipe turns a parameter set into the predicted value, in the observation's units, with the
typical-patient tools of :mod:`validation.exposure` (pksim's public API). ``assumed`` says what
the source did not give and the recipe had to choose (stated once, never tuned to a result).
A recipe raises :class:`NotSimulated` with the reason when pksim lacks the feature (a drug not
in the catalogue, dose titration, per-subject variability statistics).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

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


class NotSimulated(Exception):
    """pksim cannot simulate this observation; the message says what is missing."""


@dataclass(frozen=True)
class Recipe:
    assumed: str
    predict: Callable[[ParameterSet], float]


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


def _m(pset, patient, course, name, genotypes=None):
    if genotypes is not None:
        patient = replace(patient, genotypes=genotypes)
    return metric(pset, patient, course, name)


def _with(course: Course, drug: str, expresser: bool) -> Course:
    effect = lookup_drug(drug).effect(expresser)
    return replace(course, cl_multiplier=effect.cl_multiplier, f_multiplier=effect.f_multiplier)


def _drug_ratio(pset, patient, drug, name="trough", genotypes=None, tau=BID):
    """Steady-state metric with / without ``drug`` at the same dose, per genotype, mixed."""
    genotypes = genotypes or patient.genotypes
    total = sum(genotypes.values())
    out = 0.0
    for genotype, weight in genotypes.items():
        p = replace(patient, genotypes={genotype: 1.0})
        base = steady(1.0, tau)
        with_drug = _with(base, drug, genotype != "*3/*3")
        out += weight / total * _m(pset, p, with_drug, name) / _m(pset, p, base, name)
    return out


def _clf_ratio(drug, genotypes):
    """CL/F ratio (with / without) from the catalogue effect, genotype-weighted."""
    total = sum(genotypes.values())
    out = 0.0
    for genotype, weight in genotypes.items():
        e = lookup_drug(drug).effect(genotype != "*3/*3")
        out += weight / total * e.cl_multiplier / e.f_multiplier
    return out


def _switch(first: Segment, second: Segment) -> Course:
    return Course((first, second))


def _c0_per_mg_kg(pset, patient, genotypes, daily_mg_per_kg, *, drug=None):
    """Dose- and weight-normalised trough (ng/mL per mg/kg/day) of BID dosing."""
    daily = daily_mg_per_kg * patient.weight_kg
    course = steady(daily / 2.0, BID)
    out = 0.0
    total = sum(genotypes.values())
    for genotype, weight in genotypes.items():
        p = replace(patient, genotypes={genotype: 1.0})
        c = course if drug is None else _with(course, drug, genotype != "*3/*3")
        out += weight / total * _m(pset, p, c, "trough") / daily_mg_per_kg
    return out


def _prednisone_withdrawal(pset, patient, mg):
    on = replace(patient, prednisone_mg_per_day=mg)
    off = replace(patient, prednisone_mg_per_day=0.0)
    return lambda name: _m(pset, off, steady(2.0, BID), name) / _m(pset, on, steady(2.0, BID), name)


def _ritonavir_held(pset: ParameterSet) -> float:
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


def _not(reason: str) -> Callable[[ParameterSet], float]:
    def predict(_pset: ParameterSet) -> float:
        raise NotSimulated(reason)

    return predict


MISSING_DRUG = "drug not in pksim's interaction catalogue"
TITRATION = "doses titrated to target troughs (TDM); pksim simulates fixed doses"

RECIPES: dict[str, Recipe] = {
    "uchida2010-ln-auc024": Recipe(
        "LN woman, 55 kg, prednisone 10 mg/day, East Asian CYP3A5 mix; 3 mg QD with a meal; "
        "AUC over the 24-h interval at steady state",
        lambda p: _m(p, LN, steady(3.0, QD, food="with_meal"), "auc"),
    ),
    "uchida2010-ln-cmax": Recipe(
        "as uchida2010-ln-auc024; Cmax",
        lambda p: _m(p, LN, steady(3.0, QD, food="with_meal"), "cmax"),
    ),
    "uchida2010-ln-tmax": Recipe(
        "as uchida2010-ln-auc024; tmax",
        lambda p: _m(p, LN, steady(3.0, QD, food="with_meal"), "tmax"),
    ),
    "nephroncp2009-ln-conc-3mg": Recipe(
        "as uchida2010 (LN woman), 3 mg QD with the evening meal; sample 12 h after the dose",
        lambda p: _m(p, LN, steady(3.0, QD, food="with_meal"), "c12"),
    ),
    "xenobiotica2015-ln-c12-ratio-cyp3a5": Recipe(
        "LN woman, same once-daily dose in both groups; C12 of expressers / non-expressers",
        lambda p: (
            _m(p, LN, steady(3.0, QD), "c12", EXPRESSERS) / _m(p, LN, steady(3.0, QD), "c12", NON)
        ),
    ),
    "dai2024-mn-trough-diff-le1mo": Recipe(
        "Chinese MN adult 60 kg, 0.05 mg/kg/day BID (1.5 mg BID), prednisone 0.5 mg/kg/day "
        "(30 mg); trough on day 14, expressers minus non-expressers, untitrated",
        lambda p: (
            _m(
                p,
                replace(KIDNEY_ASIAN, prednisone_mg_per_day=30.0),
                Course((Segment(1.5, BID, 14),)),
                "trough",
                EXPRESSERS,
            )
            - _m(
                p,
                replace(KIDNEY_ASIAN, prednisone_mg_per_day=30.0),
                Course((Segment(1.5, BID, 14),)),
                "trough",
                NON,
            )
        ),
    ),
    "dai2024-mn-trough-diff-1to6mo": Recipe("—", _not(TITRATION)),
    "etm2015-c0d-12mo-cyp3a5-13": Recipe(
        "stable East Asian kidney patient (60 kg), *1/*3, 0.08 mg/kg/day BID",
        lambda p: _c0_per_mg_kg(p, KIDNEY_ASIAN, {"*1/*3": 1.0}, 0.08),
    ),
    "etm2015-c0d-12mo-cyp3a5-33": Recipe(
        "as above, *3/*3, 0.05 mg/kg/day", lambda p: _c0_per_mg_kg(p, KIDNEY_ASIAN, NON, 0.05)
    ),
    "etm2015-c0d-24mo-cyp3a5-13": Recipe(
        "as above, *1/*3, 0.07 mg/kg/day",
        lambda p: _c0_per_mg_kg(p, KIDNEY_ASIAN, {"*1/*3": 1.0}, 0.07),
    ),
    "etm2015-c0d-24mo-cyp3a5-33": Recipe(
        "as above, *3/*3, 0.04 mg/kg/day", lambda p: _c0_per_mg_kg(p, KIDNEY_ASIAN, NON, 0.04)
    ),
    "miura2011-aucd-nonexpresser": Recipe(
        "stable East Asian kidney patient, *3/*3, BID; AUC0-12 per mg of the dose",
        lambda p: _m(p, KIDNEY_ASIAN, steady(1.0, BID), "auc", NON),
    ),
    "miura2011-aucd-expresser": Recipe(
        "as above, expressers", lambda p: _m(p, KIDNEY_ASIAN, steady(1.0, BID), "auc", EXPRESSERS)
    ),
    "miura2011-cmaxd-nonexpresser": Recipe(
        "as above, Cmax per mg", lambda p: _m(p, KIDNEY_ASIAN, steady(1.0, BID), "cmax", NON)
    ),
    "miura2011-cmaxd-expresser": Recipe(
        "as above, expressers", lambda p: _m(p, KIDNEY_ASIAN, steady(1.0, BID), "cmax", EXPRESSERS)
    ),
    "ogasawara2013-c0d-ratio": Recipe(
        "stable East Asian kidney patient, same BID dose; trough *3/*3 / expressers",
        lambda p: (
            _m(p, KIDNEY_ASIAN, steady(1.0, BID), "trough", NON)
            / _m(p, KIDNEY_ASIAN, steady(1.0, BID), "trough", EXPRESSERS)
        ),
    ),
    "susomboon2022-aucd-cyp3a5-day7": Recipe(
        "early kidney transplant (HCT 30 %, prednisone 20 mg/day), 1 mg BID from day 0; "
        "AUC0-12 on day 7, *3/*3 / expressers",
        lambda p: (
            _m(p, EARLY_KIDNEY, Course((Segment(1.0, BID, 7),)), "auc", NON)
            / _m(p, EARLY_KIDNEY, Course((Segment(1.0, BID, 7),)), "auc", EXPRESSERS)
        ),
    ),
    "wu2011-ir-trough-maintenance": Recipe(
        "stable kidney patient, East Asian mix (cohort country not given), 4.7 mg/day BID",
        lambda p: _m(p, KIDNEY_ASIAN, steady(2.35, BID), "trough"),
    ),
    "wu2011-advagraf-c0-ratio-day7": Recipe(
        "as above; 4.7 mg/day IR BID to steady state, then the same daily dose as PR QD for 7 "
        "days; trough day 7 / before",
        lambda p: (
            _m(
                p,
                KIDNEY_ASIAN,
                _switch(Segment(2.35, BID, STEADY_DAYS), Segment(4.7, QD, 7, "pr")),
                "trough",
            )
            / _m(p, KIDNEY_ASIAN, steady(2.35, BID), "trough")
        ),
    ),
    "hougardy2011-advagraf-c0d-ratio": Recipe(
        "stable European kidney patient; steady-state trough per mg, PR QD / IR BID",
        lambda p: (
            _m(p, KIDNEY_EUROPEAN, steady(2.0, QD, "pr"), "trough")
            / _m(p, KIDNEY_EUROPEAN, steady(1.0, BID), "trough")
        ),
    ),
    "transplres2016-advagraf-dose-ratio-13": Recipe(
        "stable East Asian kidney patient, *1/*3; dose ratio for equal trough = IR BID trough / "
        "PR QD trough at the same daily dose (linear kinetics)",
        lambda p: (
            _m(p, KIDNEY_ASIAN, steady(1.0, BID), "trough", {"*1/*3": 1.0})
            / _m(p, KIDNEY_ASIAN, steady(2.0, QD, "pr"), "trough", {"*1/*3": 1.0})
        ),
    ),
    "transplres2016-advagraf-dose-ratio-33": Recipe(
        "as above, *3/*3",
        lambda p: (
            _m(p, KIDNEY_ASIAN, steady(1.0, BID), "trough", NON)
            / _m(p, KIDNEY_ASIAN, steady(2.0, QD, "pr"), "trough", NON)
        ),
    ),
    "livertx2020-advagraf-c0d-expresser": Recipe(
        "stable European liver patient, expressers; PR QD / IR BID trough at the same daily dose",
        lambda p: (
            _m(p, KIDNEY_EUROPEAN, steady(2.0, QD, "pr"), "trough", EXPRESSERS)
            / _m(p, KIDNEY_EUROPEAN, steady(1.0, BID), "trough", EXPRESSERS)
        ),
    ),
    "livertx2020-advagraf-c0d-nonexpresser": Recipe(
        "as above, non-expressers",
        lambda p: (
            _m(p, KIDNEY_EUROPEAN, steady(2.0, QD, "pr"), "trough", NON)
            / _m(p, KIDNEY_EUROPEAN, steady(1.0, BID), "trough", NON)
        ),
    ),
    "livertx2011-advagraf-c0-ratio": Recipe(
        "stable European liver patient; 3.7 mg/day IR BID, then 1:1 PR QD for 12 weeks",
        lambda p: (
            _m(
                p,
                KIDNEY_EUROPEAN,
                _switch(Segment(1.85, BID, STEADY_DAYS), Segment(3.7, QD, 84, "pr")),
                "trough",
            )
            / _m(p, KIDNEY_EUROPEAN, steady(1.85, BID), "trough")
        ),
    ),
    "gaber2013-lcpt-conversion-ratio": Recipe(
        "stable US kidney patient (European mix); LCP daily dose giving the IR AUC = AUC24 IR "
        "BID / AUC24 LCP QD at the same daily dose",
        lambda p: (
            2.0
            * _m(p, KIDNEY_EUROPEAN, steady(1.0, BID), "auc")
            / _m(p, KIDNEY_EUROPEAN, steady(2.0, QD, "lcp"), "auc")
        ),
    ),
    "kamar2019-lcpt-vs-pr-day7": Recipe(
        "early kidney transplant (European mix); dose-normalised AUC24 LCP / PR on day 7 of "
        "once-daily dosing",
        lambda p: (
            _m(
                p,
                replace(EARLY_KIDNEY, genotypes=EUROPEAN),
                Course((Segment(1.0, QD, 7, "lcp"),)),
                "auc",
            )
            / _m(
                p,
                replace(EARLY_KIDNEY, genotypes=EUROPEAN),
                Course((Segment(1.0, QD, 7, "pr"),)),
                "auc",
            )
        ),
    ),
    "kamar2019-lcpt-vs-pr-day14": Recipe(
        "as above, day 14",
        lambda p: (
            _m(
                p,
                replace(EARLY_KIDNEY, genotypes=EUROPEAN),
                Course((Segment(1.0, QD, 14, "lcp"),)),
                "auc",
            )
            / _m(
                p,
                replace(EARLY_KIDNEY, genotypes=EUROPEAN),
                Course((Segment(1.0, QD, 14, "pr"),)),
                "auc",
            )
        ),
    ),
    "better2021-lcpt-vs-pr-c0d": Recipe(
        "kidney patient (European mix); steady-state trough per mg, LCP QD / PR QD",
        lambda p: (
            _m(p, KIDNEY_EUROPEAN, steady(1.0, QD, "lcp"), "trough")
            / _m(p, KIDNEY_EUROPEAN, steady(1.0, QD, "pr"), "trough")
        ),
    ),
    "martial2021-envarsus-auc": Recipe(
        "stable European liver patient 81.5 kg, Envarsus 2 mg QD at steady state; AUC0-24",
        lambda p: _m(p, replace(KIDNEY_EUROPEAN, weight_kg=81.5), steady(2.0, QD, "lcp"), "auc"),
    ),
    "annpharm2023-vori-c0d-increase-nonexpresser": Recipe(
        "stable East Asian kidney patient, *3/*3; steady-state trough with / without "
        "voriconazole at the same dose; percent increase",
        lambda p: 100.0 * (_drug_ratio(p, KIDNEY_ASIAN, "voriconazole", genotypes=NON) - 1.0),
    ),
    "annpharm2023-vori-c0d-increase-expresser": Recipe(
        "as above, expressers",
        lambda p: (
            100.0 * (_drug_ratio(p, KIDNEY_ASIAN, "voriconazole", genotypes=EXPRESSERS) - 1.0)
        ),
    ),
    "annpharm2023-vori-c0d-nonexpresser": Recipe(
        "as above, *3/*3 on voriconazole, BID; trough per mg/kg/day",
        lambda p: _c0_per_mg_kg(p, KIDNEY_ASIAN, NON, 0.03, drug="voriconazole"),
    ),
    "annpharm2023-vori-c0d-expresser": Recipe(
        "as above, expressers",
        lambda p: _c0_per_mg_kg(p, KIDNEY_ASIAN, EXPRESSERS, 0.03, drug="voriconazole"),
    ),
    "cjcp2024-vori-c0-ratio": Recipe(
        "stable East Asian kidney patient; voriconazole added and the tacrolimus dose cut to "
        "the midpoint of 50-87.5 % (68.75 %); steady-state trough ratio",
        lambda p: 0.6875 * _drug_ratio(p, KIDNEY_ASIAN, "voriconazole"),
    ),
    "zhao2022-vori-c0d-fold": Recipe(
        "stable East Asian kidney patient; C0/D with / without voriconazole",
        lambda p: _drug_ratio(p, KIDNEY_ASIAN, "voriconazole"),
    ),
    "zhou2025-vori-clf-ratio": Recipe(
        "catalogue effect, East Asian mix: (CL multiplier / F multiplier)",
        lambda p: _clf_ratio("voriconazole", EAST_ASIAN),
    ),
    "zhou2025-posa-clf-ratio": Recipe(
        "catalogue effect, East Asian mix", lambda p: _clf_ratio("posaconazole", EAST_ASIAN)
    ),
    "zhou2025-itra-clf-ratio": Recipe(
        "catalogue effect, East Asian mix", lambda p: _clf_ratio("itraconazole", EAST_ASIAN)
    ),
    "yan2025-nmvr-tac-held": Recipe(
        "stable kidney patient *3/*3 on 2 mg BID; tacrolimus held from 12 h before a 5-day "
        "ritonavir course (catalogue CL effect at full strength at once); lowest trough / "
        "baseline over the course",
        _ritonavir_held,
    ),
    "naganawa2024-nmvr-c0-fold": Recipe(
        "as above, tacrolimus continued (catalogue CL and F effects on the course's doses); "
        "trough after 5 days / baseline",
        lambda p: _ritonavir_continued(p),
    ),
    "pmid37924724-nmvr-c0": Recipe(
        "baseline C0 4.2 ng/mL times the predicted fold change of naganawa2024",
        lambda p: 4.2 * _ritonavir_continued(p),
    ),
    "kropeit2017-letermovir-auc": Recipe(
        "stable East Asian kidney patient; steady-state AUC0-12 with / without letermovir",
        lambda p: _drug_ratio(p, KIDNEY_ASIAN, "letermovir", "auc"),
    ),
    "kropeit2017-letermovir-cmax": Recipe(
        "as above, Cmax", lambda p: _drug_ratio(p, KIDNEY_ASIAN, "letermovir", "cmax")
    ),
    "hikasa2020-letermovir-on-vori": Recipe(
        "stable East Asian kidney patient on voriconazole; trough with / without letermovir "
        "(catalogue effects multiply)",
        lambda p: _drug_ratio(p, KIDNEY_ASIAN, "letermovir"),
    ),
    "itagaki2004-lansoprazole-auc-all": Recipe(
        "—", _not(MISSING_DRUG + " (lansoprazole; CYP2C19 genotype)")
    ),
    "itagaki2004-lansoprazole-auc-cyp2c19-mutant": Recipe(
        "—", _not(MISSING_DRUG + " (lansoprazole; CYP2C19 genotype)")
    ),
    "itagaki2004-lansoprazole-auc-cyp2c19-wt": Recipe(
        "—", _not(MISSING_DRUG + " (lansoprazole; CYP2C19 genotype)")
    ),
    "miedziaszczyk2024-omeprazole-auc06": Recipe("—", _not(MISSING_DRUG + " (omeprazole)")),
    "ldlt2009-rabeprazole-c0d": Recipe("—", _not(MISSING_DRUG + " (rabeprazole)")),
    "li2017-wuzhi-c0d-expressers": Recipe(
        "stable East Asian kidney patient, expressers; steady-state trough with / without "
        "Wuzhi (catalogue effect)",
        lambda p: _drug_ratio(p, KIDNEY_ASIAN, "wuzhi_capsule", genotypes=EXPRESSERS),
    ),
    "li2017-wuzhi-aucd-expressers": Recipe(
        "as above, AUC0-12",
        lambda p: _drug_ratio(p, KIDNEY_ASIAN, "wuzhi_capsule", "auc", EXPRESSERS),
    ),
    "li2017-wuzhi-cmaxd-expressers": Recipe(
        "as above, Cmax",
        lambda p: _drug_ratio(p, KIDNEY_ASIAN, "wuzhi_capsule", "cmax", EXPRESSERS),
    ),
    "qu2022-wuzhi-clf-donor-expresser": Recipe(
        "catalogue effect (recipient genotype stands in for donor genotype)",
        lambda p: _clf_ratio("wuzhi_capsule", EXPRESSERS),
    ),
    "qu2022-wuzhi-clf-donor-nonexpresser": Recipe(
        "catalogue effect", lambda p: _clf_ratio("wuzhi_capsule", NON)
    ),
    "chenhsu2000-rifampin-dose": Recipe(
        "stable kidney patient; dose ratio for the same trough = 1 / (trough ratio with "
        "rifampicin)",
        lambda p: 1.0 / _drug_ratio(p, KIDNEY_ASIAN, "rifampicin"),
    ),
    "prograf-rifampin-f": Recipe(
        "catalogue F multiplier of rifampicin",
        lambda p: lookup_drug("rifampicin").effect(False).f_multiplier,
    ),
    "susomboon2022-diltiazem-expressers": Recipe(
        "steady-state AUC0-12 with / without low-dose diltiazem, expressers",
        lambda p: _drug_ratio(p, EARLY_KIDNEY, "diltiazem_low_dose", "auc", EXPRESSERS),
    ),
    "susomboon2022-diltiazem-nonexpressers": Recipe(
        "as above, non-expressers",
        lambda p: _drug_ratio(p, EARLY_KIDNEY, "diltiazem_low_dose", "auc", NON),
    ),
    "zuo2013-amlodipine-expressers": Recipe(
        "catalogue effect: CL/F without / with amlodipine, expressers",
        lambda p: 1.0 / _clf_ratio("amlodipine", EXPRESSERS),
    ),
    "zong2024-ccb-c0d-increase": Recipe(
        "stable East Asian kidney patient; mean of the steady-state trough ratios of nifedipine, "
        "amlodipine and felodipine",
        lambda p: sum(_drug_ratio(p, KIDNEY_ASIAN, d) for d in CCBS) / len(CCBS),
    ),
    "vanduijnhoven2003-pred5-withdrawal-retro": Recipe(
        "stable European kidney patient; steady-state trough at prednisone 0 / 5 mg/day",
        lambda p: _prednisone_withdrawal(p, KIDNEY_EUROPEAN, 5.0)("trough"),
    ),
    "vanduijnhoven2003-pred10-withdrawal-retro": Recipe(
        "as above, 10 mg/day", lambda p: _prednisone_withdrawal(p, KIDNEY_EUROPEAN, 10.0)("trough")
    ),
    "vanduijnhoven2003-pred10-withdrawal-prosp": Recipe(
        "as above, 10 mg/day", lambda p: _prednisone_withdrawal(p, KIDNEY_EUROPEAN, 10.0)("trough")
    ),
    "vanduijnhoven2003-pred5-withdrawal-auc": Recipe(
        "as above, AUC0-12, 5 mg/day",
        lambda p: _prednisone_withdrawal(p, KIDNEY_EUROPEAN, 5.0)("auc"),
    ),
    "jacobson2012-elderly-c0d": Recipe(
        "kidney patient, same weight and dose; steady-state trough at age 75 / age 26",
        lambda p: (
            _m(p, replace(KIDNEY_EUROPEAN, age_y=75.0), steady(1.0, BID), "trough")
            / _m(p, replace(KIDNEY_EUROPEAN, age_y=26.0), steady(1.0, BID), "trough")
        ),
    ),
}


def _ritonavir_continued(pset: ParameterSet) -> float:
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


def _ipv_cvs(pset: ParameterSet, regimen: str):
    """Per-subject CV (%) of the measured weekly troughs of ``regimen``."""
    values = _ipv_troughs(pset.name).sel(regimen=regimen).values
    return 100.0 * values.std(axis=1, ddof=1) / values.mean(axis=1)


@functools.cache
def _ipv_troughs(set_name: str):
    """Measured troughs (regimen, subject, day) of the variability run on :data:`IPV_DAYS`."""
    from pksim import run
    from pksim.scenario import scenario_from_text

    ds = run(scenario_from_text(IPV_SCENARIO.format(set=set_name)))
    return ds["trough_measured"].sel(day=list(IPV_DAYS))


def _fraction_above(pset: ParameterSet, regimen: str) -> float:
    return float(np.mean(_ipv_cvs(pset, regimen) > IPV_THRESHOLD_PERCENT))


RECIPES["wu2011-ipv-bid"] = Recipe(
    "variability run (IPV_SCENARIO: 400 virtual LN patients, 4 mg/day IR BID, six weekly "
    "measured troughs); fraction with a trough CV above 22.5 %",
    lambda p: _fraction_above(p, "IR BID"),
)
RECIPES["wu2011-ipv-qd"] = Recipe(
    "as wu2011-ipv-bid, Advagraf QD", lambda p: _fraction_above(p, "PR QD")
)
RECIPES["mo2019-ipv-median-cv"] = Recipe(
    "as wu2011-ipv-bid (IR BID); median of the individual trough CVs",
    lambda p: float(np.median(_ipv_cvs(p, "IR BID"))),
)

"""Recipes for the interaction observations that need pksim's own time course of an effect
(ritonavir courses with tacrolimus held or continued) or a CYP2C19 status (proton-pump
inhibitors): :mod:`validation.ddi_courses` simulates them with the catalogue's clearance grid
and per-dose bioavailability, as a scenario run would. Merged into
:data:`validation.recipes.RECIPES` (these ids replace the entries there).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pksim.library.parameter_set import ParameterSet
from pksim.modifiers.interactions import CoMedication
from validation.ddi_courses import concentrations_with
from validation.exposure import steady
from validation.patients import (
    BID,
    EARLY_KIDNEY,
    EAST_ASIAN,
    KIDNEY_ASIAN,
    drug_ratio,
    metric_of,
    with_drug,
)
from validation.recipes import Recipe, _not

HOURS_PER_DAY = 24.0
STEADY_DAYS = 90
"""Days of tacrolimus before a co-medication course starts (steady state for every set)."""
RITONAVIR = "nirmatrelvir_ritonavir"
RITONAVIR_DAYS = 5
"""A Paxlovid course: 5 days."""
TACROLIMUS_BID_MG = 2.0
"""Stable kidney patient's dose in the ritonavir recipes (2 mg every 12 h; ratios do not
depend on it: linear kinetics)."""
CYP2C19_EAST_ASIAN = {"normal": 0.37, "intermediate": 0.48, "poor": 0.15}
"""CYP2C19 status mix of East Asians (loss-of-function allele frequency 0.39 under
Hardy-Weinberg; the bundled Chinese populations' setting, Yang 2013 / Fricke-Galindo 2016)."""
ITAGAKI_DOSE_MG = 2.0
ITAGAKI_AUC_END_H = 8.0
"""Itagaki 2004: tacrolimus 2 mg single dose, AUC0-8, after lansoprazole 30 mg/day x 4 days."""

_NON = "*3/*3"
_PATIENT = replace(KIDNEY_ASIAN, genotypes={_NON: 1.0})


def _bid_times(first_h: float, stop_h: float) -> np.ndarray:
    return np.arange(first_h, stop_h, 12.0)


def ritonavir_held(pset: ParameterSet) -> float:
    """Lowest trough / baseline while tacrolimus is held from 12 h before a 5-day ritonavir
    course (*3/*3, 2 mg BID; last dose 24 h before the course, baseline the trough 12 h
    before it); samples every 12 h through the course."""
    start = STEADY_DAYS * HOURS_PER_DAY
    doses = _bid_times(0.0, start - 12.0)
    course = (CoMedication(RITONAVIR, STEADY_DAYS + 1, STEADY_DAYS + RITONAVIR_DAYS),)
    samples = start - 12.0 + 12.0 * np.arange(2 * RITONAVIR_DAYS + 1)
    c = concentrations_with(
        pset, _PATIENT, _NON, doses, np.full(doses.size, TACROLIMUS_BID_MG), course, samples
    )
    return float(c[1:].min() / c[0])


def ritonavir_continued(pset: ParameterSet, sample_day: float, last_dose_day: float) -> float:
    """Trough ``sample_day`` days after a 5-day ritonavir course started / baseline, tacrolimus
    2 mg BID continued through day ``last_dose_day`` of the course (*3/*3)."""
    start = STEADY_DAYS * HOURS_PER_DAY
    doses = _bid_times(0.0, start + last_dose_day * HOURS_PER_DAY)
    course = (CoMedication(RITONAVIR, STEADY_DAYS + 1, STEADY_DAYS + RITONAVIR_DAYS),)
    samples = [start, start + sample_day * HOURS_PER_DAY]
    c = concentrations_with(
        pset, _PATIENT, _NON, doses, np.full(doses.size, TACROLIMUS_BID_MG), course, samples
    )
    return float(c[1] / c[0])


def lansoprazole_auc_ratio(pset: ParameterSet, cyp2c19: dict[str, float]) -> float:
    """AUC0-8 ratio (with / without lansoprazole 30 mg/day for 4 days) of a single 2 mg dose,
    East Asian CYP3A5 mix, mixed over the CYP2C19 statuses ``cyp2c19`` (weights)."""
    dose = np.array([0.0])
    grid = np.linspace(0.0, ITAGAKI_AUC_END_H, 321)
    course = (CoMedication("lansoprazole", -3.0, 1.0),)
    total = sum(EAST_ASIAN.values()) * sum(cyp2c19.values())
    out = 0.0
    for genotype, weight in EAST_ASIAN.items():
        patient = replace(KIDNEY_ASIAN, genotypes={genotype: 1.0})
        for status, share in cyp2c19.items():
            amounts = np.array([ITAGAKI_DOSE_MG])
            alone = concentrations_with(pset, patient, genotype, dose, amounts, (), grid, status)
            both = concentrations_with(pset, patient, genotype, dose, amounts, course, grid, status)
            ratio = np.trapezoid(both, grid) / np.trapezoid(alone, grid)
            out += weight * share / total * ratio
    return float(out)


HIKASA_WEEK_DAYS = 7
"""Hikasa 2020: median C0/D in the week before letermovir and in its second week."""


def letermovir_on_voriconazole(pset: ParameterSet) -> float:
    """Mean trough in the second week of letermovir / in the week before, on voriconazole from
    day 1 and tacrolimus 2 mg BID throughout (same dose: the C0/D ratio); letermovir from day
    ``STEADY_DAYS + 1``; catalogue time courses, letermovir lowering voriconazole's exposure
    (``changes_exposure_of``); East Asian CYP3A5 mix."""
    start = STEADY_DAYS
    end = start + 2 * HIKASA_WEEK_DAYS
    doses = _bid_times(0.0, end * HOURS_PER_DAY)
    course = (
        CoMedication("voriconazole", 1, end),
        CoMedication("letermovir", start + 1, end),
    )
    before = HOURS_PER_DAY * np.arange(start - HIKASA_WEEK_DAYS + 1, start + 1)
    second = HOURS_PER_DAY * np.arange(start + HIKASA_WEEK_DAYS + 1, end + 1)
    samples = np.concatenate((before, second))
    total = sum(EAST_ASIAN.values())
    out = 0.0
    for genotype, weight in EAST_ASIAN.items():
        patient = replace(KIDNEY_ASIAN, genotypes={genotype: 1.0})
        amounts = np.full(doses.size, TACROLIMUS_BID_MG)
        c = concentrations_with(pset, patient, genotype, doses, amounts, course, samples)
        out += weight / total * c[HIKASA_WEEK_DAYS:].mean() / c[:HIKASA_WEEK_DAYS].mean()
    return float(out)


CHENHSU_FLUCONAZOLE = "fluconazole_100mg"
"""Chenhsu 2000 stopped 'empiric fluconazole' when rifampin started, dose not given: the
catalogue's lower dose is assumed (fluconazole_200mg would give about three times more)."""


def dose_ratio_rifampicin_for_fluconazole(pset: ParameterSet) -> float:
    """Dose ratio for the same steady-state trough when rifampicin replaces fluconazole:
    trough on fluconazole / trough on rifampicin at the same dose, East Asian CYP3A5 mix."""
    total = sum(EAST_ASIAN.values())
    out = 0.0
    for genotype, weight in EAST_ASIAN.items():
        patient = replace(KIDNEY_ASIAN, genotypes={genotype: 1.0})
        base = steady(1.0, BID)
        expresser = genotype != "*3/*3"
        on_fluconazole = with_drug(base, CHENHSU_FLUCONAZOLE, expresser)
        on_rifampicin = with_drug(base, "rifampicin", expresser)
        out += (
            weight
            / total
            * metric_of(pset, patient, on_fluconazole, "trough")
            / metric_of(pset, patient, on_rifampicin, "trough")
        )
    return out


DDI_RECIPES: dict[str, Recipe] = {
    "hikasa2020-letermovir-on-vori": Recipe(
        "stable East Asian kidney patient on voriconazole (from day 1), 2 mg BID; letermovir "
        "added after 90 days; mean trough in its second week / in the week before (catalogue "
        "time courses; letermovir lowers voriconazole's exposure x0.56, so voriconazole's "
        "effect ratio R becomes 1 + 0.56 (R - 1))",
        letermovir_on_voriconazole,
    ),
    "chenhsu2000-rifampin-dose": Recipe(
        "stable East Asian kidney patient; rifampicin started and fluconazole stopped together "
        "(fluconazole 100 mg/day assumed: dose not given); dose ratio for the same trough = "
        "steady-state trough on fluconazole / on rifampicin",
        dose_ratio_rifampicin_for_fluconazole,
    ),
    "yan2025-nmvr-tac-held": Recipe(
        "stable kidney patient *3/*3 on 2 mg BID; last tacrolimus dose 24 h before a 5-day "
        "ritonavir course, baseline the trough 12 h before it; catalogue time course (onset "
        "from residual CYP3A activity, recovery by resynthesis); lowest 12-hourly trough / "
        "baseline over the course",
        ritonavir_held,
    ),
    "guzmancordero2024-nmvr-held-min-ratio": Recipe(
        "as yan2025-nmvr-tac-held (the same hold and course; lowest 12-hourly trough / baseline)",
        ritonavir_held,
    ),
    "lumlertgul2006-fluconazole-aucd-ratio": Recipe(
        "early kidney transplant (East Asian mix); steady-state AUC0-12 ratio with / without "
        "fluconazole, mean of the 100 and 200 mg/day entries (the cohort's split not given)",
        lambda p: (
            0.5
            * (
                drug_ratio(p, EARLY_KIDNEY, "fluconazole_100mg", "auc")
                + drug_ratio(p, EARLY_KIDNEY, "fluconazole_200mg", "auc")
            )
        ),
    ),
    "naganawa2024-nmvr-c0-fold": Recipe(
        "as above, tacrolimus 2 mg BID continued through the 5-day course (catalogue CL grid "
        "and per-dose F); trough after 5 days / baseline",
        lambda p: ritonavir_continued(p, RITONAVIR_DAYS, RITONAVIR_DAYS),
    ),
    "pmid37924724-nmvr-c0": Recipe(
        "baseline C0 4.2 ng/mL times the trough ratio on the morning of day 7 (tacrolimus "
        "continued through day 5 of the course, none on day 6)",
        lambda p: 4.2 * ritonavir_continued(p, 6.0, RITONAVIR_DAYS),
    ),
    "itagaki2004-lansoprazole-auc-all": Recipe(
        "single 2 mg dose after 4 days of lansoprazole (catalogue effect, time course); AUC0-8 "
        "with / without; East Asian CYP3A5 and CYP2C19 mixes (37 % normal, 48 % intermediate, "
        "15 % poor)",
        lambda p: lansoprazole_auc_ratio(p, CYP2C19_EAST_ASIAN),
    ),
    "itagaki2004-lansoprazole-auc-cyp2c19-mutant": Recipe(
        "as above, CYP2C19 intermediate and poor metabolisers (East Asian proportions)",
        lambda p: lansoprazole_auc_ratio(p, {"intermediate": 0.48, "poor": 0.15}),
    ),
    "itagaki2004-lansoprazole-auc-cyp2c19-wt": Recipe(
        "as above, CYP2C19 normal metabolisers",
        lambda p: lansoprazole_auc_ratio(p, {"normal": 1.0}),
    ),
    "ldlt2009-rabeprazole-c0d": Recipe(
        "stable East Asian patient; steady-state trough with / without rabeprazole (catalogue "
        "effect)",
        lambda p: drug_ratio(p, KIDNEY_ASIAN, "rabeprazole"),
    ),
    "miedziaszczyk2024-omeprazole-auc06": Recipe(
        "—",
        _not(
            "omeprazole is not in pksim's interaction catalogue (no genotype-resolved "
            "magnitude verified; the catalogue points to lansoprazole as its analogue)"
        ),
    ),
}

"""How each published observation is simulated: one recipe per observation id.

A recipe turns a parameter set into the predicted value, in the observation's units, with the
typical-patient tools of :mod:`validation.exposure` (pksim's public API). ``assumed`` says what
the source did not give and the recipe had to choose (stated once, never tuned to a result).
A recipe raises :class:`NotSimulated` with the reason when pksim lacks the feature (a drug not
in the catalogue or a CYP2C19 genotype, dose titration to a target).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from pksim.library.drugs import lookup_drug
from pksim.library.parameter_set import ParameterSet
from validation.exposure import STEADY_DAYS, Course, Segment, steady
from validation.patients import (
    BID,
    CCBS,
    EARLY_KIDNEY,
    EAST_ASIAN,
    EUROPEAN,
    EXPRESSERS,
    KIDNEY_ASIAN,
    KIDNEY_EUROPEAN,
    LN,
    NON,
    QD,
    c0_per_mg_kg,
    clf_ratio,
    drug_ratio,
    fraction_above,
    ipv_cvs,
    lcp_conversion_ratio,
    metric_of,
    pr_switch_trough_ratio,
    prednisone_withdrawal,
    switch,
)


class NotSimulated(Exception):
    """pksim cannot simulate this observation; the message says what is missing."""


@dataclass(frozen=True)
class Recipe:
    assumed: str
    predict: Callable[[ParameterSet], float]


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
        lambda p: metric_of(p, LN, steady(3.0, QD, food="with_meal"), "auc"),
    ),
    "uchida2010-ln-cmax": Recipe(
        "as uchida2010-ln-auc024; Cmax",
        lambda p: metric_of(p, LN, steady(3.0, QD, food="with_meal"), "cmax"),
    ),
    "uchida2010-ln-tmax": Recipe(
        "as uchida2010-ln-auc024; tmax",
        lambda p: metric_of(p, LN, steady(3.0, QD, food="with_meal"), "tmax"),
    ),
    "nephroncp2009-ln-conc-3mg": Recipe(
        "as uchida2010 (LN woman), 3 mg QD with the evening meal; sample 12 h after the dose",
        lambda p: metric_of(p, LN, steady(3.0, QD, food="with_meal"), "c12"),
    ),
    "xenobiotica2015-ln-c12-ratio-cyp3a5": Recipe(
        "LN woman, same once-daily dose in both groups; C12 of expressers / non-expressers",
        lambda p: (
            metric_of(p, LN, steady(3.0, QD), "c12", EXPRESSERS)
            / metric_of(p, LN, steady(3.0, QD), "c12", NON)
        ),
    ),
    "dai2024-mn-trough-diff-le1mo": Recipe(
        "Chinese MN adult 60 kg, 0.05 mg/kg/day BID (1.5 mg BID), prednisone 0.5 mg/kg/day "
        "(30 mg); trough on day 14, expressers minus non-expressers, untitrated",
        lambda p: (
            metric_of(
                p,
                replace(KIDNEY_ASIAN, prednisone_mg_per_day=30.0),
                Course((Segment(1.5, BID, 14),)),
                "trough",
                EXPRESSERS,
            )
            - metric_of(
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
        lambda p: c0_per_mg_kg(p, KIDNEY_ASIAN, {"*1/*3": 1.0}, 0.08),
    ),
    "etm2015-c0d-12mo-cyp3a5-33": Recipe(
        "as above, *3/*3, 0.05 mg/kg/day", lambda p: c0_per_mg_kg(p, KIDNEY_ASIAN, NON, 0.05)
    ),
    "etm2015-c0d-24mo-cyp3a5-13": Recipe(
        "as above, *1/*3, 0.07 mg/kg/day",
        lambda p: c0_per_mg_kg(p, KIDNEY_ASIAN, {"*1/*3": 1.0}, 0.07),
    ),
    "etm2015-c0d-24mo-cyp3a5-33": Recipe(
        "as above, *3/*3, 0.04 mg/kg/day", lambda p: c0_per_mg_kg(p, KIDNEY_ASIAN, NON, 0.04)
    ),
    "miura2011-aucd-nonexpresser": Recipe(
        "stable East Asian kidney patient, *3/*3, BID; AUC0-12 per mg of the dose",
        lambda p: metric_of(p, KIDNEY_ASIAN, steady(1.0, BID), "auc", NON),
    ),
    "miura2011-aucd-expresser": Recipe(
        "as above, expressers",
        lambda p: metric_of(p, KIDNEY_ASIAN, steady(1.0, BID), "auc", EXPRESSERS),
    ),
    "miura2011-cmaxd-nonexpresser": Recipe(
        "as above, Cmax per mg", lambda p: metric_of(p, KIDNEY_ASIAN, steady(1.0, BID), "cmax", NON)
    ),
    "miura2011-cmaxd-expresser": Recipe(
        "as above, expressers",
        lambda p: metric_of(p, KIDNEY_ASIAN, steady(1.0, BID), "cmax", EXPRESSERS),
    ),
    "ogasawara2013-c0d-ratio": Recipe(
        "stable East Asian kidney patient, same BID dose; trough *3/*3 / expressers",
        lambda p: (
            metric_of(p, KIDNEY_ASIAN, steady(1.0, BID), "trough", NON)
            / metric_of(p, KIDNEY_ASIAN, steady(1.0, BID), "trough", EXPRESSERS)
        ),
    ),
    "susomboon2022-aucd-cyp3a5-day7": Recipe(
        "early kidney transplant (HCT 30 %, prednisone 20 mg/day), 1 mg BID from day 0; "
        "AUC0-12 on day 7, *3/*3 / expressers",
        lambda p: (
            metric_of(p, EARLY_KIDNEY, Course((Segment(1.0, BID, 7),)), "auc", NON)
            / metric_of(p, EARLY_KIDNEY, Course((Segment(1.0, BID, 7),)), "auc", EXPRESSERS)
        ),
    ),
    "wu2011-ir-trough-maintenance": Recipe(
        "stable kidney patient, East Asian mix (cohort country not given), 4.7 mg/day BID",
        lambda p: metric_of(p, KIDNEY_ASIAN, steady(2.35, BID), "trough"),
    ),
    "wu2011-advagraf-c0-ratio-day7": Recipe(
        "as above; 4.7 mg/day IR BID to steady state, then the same daily dose as PR QD for 7 "
        "days; trough day 7 / before",
        lambda p: (
            metric_of(
                p,
                KIDNEY_ASIAN,
                switch(Segment(2.35, BID, STEADY_DAYS), Segment(4.7, QD, 7, "pr")),
                "trough",
            )
            / metric_of(p, KIDNEY_ASIAN, steady(2.35, BID), "trough")
        ),
    ),
    "hougardy2011-advagraf-c0d-ratio": Recipe(
        "stable European kidney patient; steady-state trough per mg, PR QD / IR BID",
        lambda p: (
            metric_of(p, KIDNEY_EUROPEAN, steady(2.0, QD, "pr"), "trough")
            / metric_of(p, KIDNEY_EUROPEAN, steady(1.0, BID), "trough")
        ),
    ),
    "transplres2016-advagraf-dose-ratio-13": Recipe(
        "stable East Asian kidney patient, *1/*3; dose ratio for equal trough = IR BID trough / "
        "PR QD trough at the same daily dose (linear kinetics)",
        lambda p: (
            metric_of(p, KIDNEY_ASIAN, steady(1.0, BID), "trough", {"*1/*3": 1.0})
            / metric_of(p, KIDNEY_ASIAN, steady(2.0, QD, "pr"), "trough", {"*1/*3": 1.0})
        ),
    ),
    "transplres2016-advagraf-dose-ratio-33": Recipe(
        "as above, *3/*3",
        lambda p: (
            metric_of(p, KIDNEY_ASIAN, steady(1.0, BID), "trough", NON)
            / metric_of(p, KIDNEY_ASIAN, steady(2.0, QD, "pr"), "trough", NON)
        ),
    ),
    "livertx2020-advagraf-c0d-expresser": Recipe(
        "stable European liver patient, expressers; PR QD / IR BID trough at the same daily dose",
        lambda p: (
            metric_of(p, KIDNEY_EUROPEAN, steady(2.0, QD, "pr"), "trough", EXPRESSERS)
            / metric_of(p, KIDNEY_EUROPEAN, steady(1.0, BID), "trough", EXPRESSERS)
        ),
    ),
    "livertx2020-advagraf-c0d-nonexpresser": Recipe(
        "as above, non-expressers",
        lambda p: (
            metric_of(p, KIDNEY_EUROPEAN, steady(2.0, QD, "pr"), "trough", NON)
            / metric_of(p, KIDNEY_EUROPEAN, steady(1.0, BID), "trough", NON)
        ),
    ),
    "livertx2011-advagraf-c0-ratio": Recipe(
        "stable European liver patient; 3.7 mg/day IR BID, then 1:1 PR QD for 12 weeks",
        lambda p: pr_switch_trough_ratio(p, 1.85, 84),
    ),
    "gaber2013-lcpt-conversion-ratio": Recipe(
        "stable US kidney patient (European mix); LCP daily dose giving the IR AUC = AUC24 IR "
        "BID / AUC24 LCP QD at the same daily dose",
        lcp_conversion_ratio,
    ),
    "kamar2019-lcpt-vs-pr-day7": Recipe(
        "early kidney transplant (European mix); dose-normalised AUC24 LCP / PR on day 7 of "
        "once-daily dosing",
        lambda p: (
            metric_of(
                p,
                replace(EARLY_KIDNEY, genotypes=EUROPEAN),
                Course((Segment(1.0, QD, 7, "lcp"),)),
                "auc",
            )
            / metric_of(
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
            metric_of(
                p,
                replace(EARLY_KIDNEY, genotypes=EUROPEAN),
                Course((Segment(1.0, QD, 14, "lcp"),)),
                "auc",
            )
            / metric_of(
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
            metric_of(p, KIDNEY_EUROPEAN, steady(1.0, QD, "lcp"), "trough")
            / metric_of(p, KIDNEY_EUROPEAN, steady(1.0, QD, "pr"), "trough")
        ),
    ),
    "martial2021-envarsus-auc": Recipe(
        "stable European liver patient 81.5 kg, Envarsus 2 mg QD at steady state; AUC0-24",
        lambda p: metric_of(
            p, replace(KIDNEY_EUROPEAN, weight_kg=81.5), steady(2.0, QD, "lcp"), "auc"
        ),
    ),
    "annpharm2023-vori-c0d-increase-nonexpresser": Recipe(
        "stable East Asian kidney patient, *3/*3; steady-state trough with / without "
        "voriconazole at the same dose; percent increase",
        lambda p: 100.0 * (drug_ratio(p, KIDNEY_ASIAN, "voriconazole", genotypes=NON) - 1.0),
    ),
    "annpharm2023-vori-c0d-increase-expresser": Recipe(
        "as above, expressers",
        lambda p: 100.0 * (drug_ratio(p, KIDNEY_ASIAN, "voriconazole", genotypes=EXPRESSERS) - 1.0),
    ),
    "annpharm2023-vori-c0d-nonexpresser": Recipe(
        "as above, *3/*3 on voriconazole, BID; trough per mg/kg/day",
        lambda p: c0_per_mg_kg(p, KIDNEY_ASIAN, NON, 0.03, drug="voriconazole"),
    ),
    "annpharm2023-vori-c0d-expresser": Recipe(
        "as above, expressers",
        lambda p: c0_per_mg_kg(p, KIDNEY_ASIAN, EXPRESSERS, 0.03, drug="voriconazole"),
    ),
    "cjcp2024-vori-c0-ratio": Recipe(
        "stable East Asian kidney patient; voriconazole added and the tacrolimus dose cut to "
        "the midpoint of 50-87.5 % (68.75 %); steady-state trough ratio",
        lambda p: 0.6875 * drug_ratio(p, KIDNEY_ASIAN, "voriconazole"),
    ),
    "zhao2022-vori-c0d-fold": Recipe(
        "stable East Asian kidney patient; C0/D with / without voriconazole",
        lambda p: drug_ratio(p, KIDNEY_ASIAN, "voriconazole"),
    ),
    "zhou2025-vori-clf-ratio": Recipe(
        "catalogue effect, East Asian mix: (CL multiplier / F multiplier)",
        lambda p: clf_ratio("voriconazole", EAST_ASIAN),
    ),
    "zhou2025-posa-clf-ratio": Recipe(
        "catalogue effect, East Asian mix", lambda p: clf_ratio("posaconazole", EAST_ASIAN)
    ),
    "zhou2025-itra-clf-ratio": Recipe(
        "catalogue effect, East Asian mix", lambda p: clf_ratio("itraconazole", EAST_ASIAN)
    ),
    "kropeit2017-letermovir-auc": Recipe(
        "stable East Asian kidney patient; steady-state AUC0-12 with / without letermovir",
        lambda p: drug_ratio(p, KIDNEY_ASIAN, "letermovir", "auc"),
    ),
    "kropeit2017-letermovir-cmax": Recipe(
        "as above, Cmax", lambda p: drug_ratio(p, KIDNEY_ASIAN, "letermovir", "cmax")
    ),
    "li2017-wuzhi-c0d-expressers": Recipe(
        "stable East Asian kidney patient, expressers; steady-state trough with / without "
        "Wuzhi (catalogue effect)",
        lambda p: drug_ratio(p, KIDNEY_ASIAN, "wuzhi_capsule", genotypes=EXPRESSERS),
    ),
    "li2017-wuzhi-aucd-expressers": Recipe(
        "as above, AUC0-12",
        lambda p: drug_ratio(p, KIDNEY_ASIAN, "wuzhi_capsule", "auc", EXPRESSERS),
    ),
    "li2017-wuzhi-cmaxd-expressers": Recipe(
        "as above, Cmax",
        lambda p: drug_ratio(p, KIDNEY_ASIAN, "wuzhi_capsule", "cmax", EXPRESSERS),
    ),
    "qu2022-wuzhi-clf-donor-expresser": Recipe(
        "catalogue effect (recipient genotype stands in for donor genotype)",
        lambda p: clf_ratio("wuzhi_capsule", EXPRESSERS),
    ),
    "qu2022-wuzhi-clf-donor-nonexpresser": Recipe(
        "catalogue effect", lambda p: clf_ratio("wuzhi_capsule", NON)
    ),
    "prograf-rifampin-f": Recipe(
        "catalogue F multiplier of rifampicin",
        lambda p: lookup_drug("rifampicin").effect(False).f_multiplier,
    ),
    "susomboon2022-diltiazem-expressers": Recipe(
        "steady-state AUC0-12 with / without low-dose diltiazem, expressers",
        lambda p: drug_ratio(p, EARLY_KIDNEY, "diltiazem_low_dose", "auc", EXPRESSERS),
    ),
    "susomboon2022-diltiazem-nonexpressers": Recipe(
        "as above, non-expressers",
        lambda p: drug_ratio(p, EARLY_KIDNEY, "diltiazem_low_dose", "auc", NON),
    ),
    "zuo2013-amlodipine-expressers": Recipe(
        "catalogue effect: CL/F without / with amlodipine, expressers",
        lambda p: 1.0 / clf_ratio("amlodipine", EXPRESSERS),
    ),
    "zong2024-ccb-c0d-increase": Recipe(
        "stable East Asian kidney patient; mean of the steady-state trough ratios of nifedipine, "
        "amlodipine and felodipine",
        lambda p: sum(drug_ratio(p, KIDNEY_ASIAN, d) for d in CCBS) / len(CCBS),
    ),
    "vanduijnhoven2003-pred5-withdrawal-retro": Recipe(
        "stable European kidney patient; steady-state trough at prednisone 0 / 5 mg/day",
        lambda p: prednisone_withdrawal(p, KIDNEY_EUROPEAN, 5.0)("trough"),
    ),
    "vanduijnhoven2003-pred10-withdrawal-retro": Recipe(
        "as above, 10 mg/day", lambda p: prednisone_withdrawal(p, KIDNEY_EUROPEAN, 10.0)("trough")
    ),
    "vanduijnhoven2003-pred10-withdrawal-prosp": Recipe(
        "as above, 10 mg/day", lambda p: prednisone_withdrawal(p, KIDNEY_EUROPEAN, 10.0)("trough")
    ),
    "vanduijnhoven2003-pred5-withdrawal-auc": Recipe(
        "as above, AUC0-12, 5 mg/day",
        lambda p: prednisone_withdrawal(p, KIDNEY_EUROPEAN, 5.0)("auc"),
    ),
    "jacobson2012-elderly-c0d": Recipe(
        "kidney patient, same weight and dose; steady-state trough at age 75 / age 26",
        lambda p: (
            metric_of(p, replace(KIDNEY_EUROPEAN, age_y=75.0), steady(1.0, BID), "trough")
            / metric_of(p, replace(KIDNEY_EUROPEAN, age_y=26.0), steady(1.0, BID), "trough")
        ),
    ),
}


RECIPES["wu2011-ipv-bid"] = Recipe(
    "variability run (IPV_SCENARIO: 400 virtual LN patients, 4 mg/day IR BID, six weekly "
    "measured troughs); fraction with a trough CV above 22.5 %",
    lambda p: fraction_above(p, "IR BID"),
)
RECIPES["wu2011-ipv-qd"] = Recipe(
    "as wu2011-ipv-bid, Advagraf QD", lambda p: fraction_above(p, "PR QD")
)
RECIPES["mo2019-ipv-median-cv"] = Recipe(
    "as wu2011-ipv-bid (IR BID); median of the individual trough CVs",
    lambda p: float(np.median(ipv_cvs(p, "IR BID"))),
)
from validation.recipes_cov import COV_RECIPES  # noqa: E402
from validation.recipes_ddi import DDI_RECIPES  # noqa: E402  (imports Recipe from here)
from validation.recipes_iov import IOV_RECIPES  # noqa: E402

RECIPES.update(IOV_RECIPES)
RECIPES.update(DDI_RECIPES)
RECIPES.update(COV_RECIPES)

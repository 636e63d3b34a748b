"""Why a published point lies outside pksim's prediction, as far as it is understood
(structure, evidence, missing feature): shown next to a point in docs/validation.md only where
it is outside. Kept apart from the scoring (:mod:`validation.report`)."""

from __future__ import annotations

WHY_OUTSIDE: dict[str, str] = {
    "uchida2010-ln-auc024": "evidence: the with-meal effect (F x0.61: 16 healthy men, one morning "
    "dose after a 10 h fast, Prograf label) is applied on top of a patient CL/F; taken fasting "
    "the sets give 158 (default, prednisone 10 mg/day assumed), 88 (andrews2019), 176 "
    "(bergmann2014) and 163 (lu2015) ng*h/mL. The label's only patient data (11 liver "
    "transplant patients, AUC -27 %) would still leave the sets below; andrews2019: CL/F 23 "
    "L/h is high even fasting",
    "uchida2010-ln-cmax": "structure: one compartment: V/F 700 L caps the peak (8.6 ng/mL even "
    "fasting); the with-meal F x0.61 and ka x0.25 lower it further",
    "uchida2010-ln-tmax": "evidence: observed 4-8 h after supper; the with-meal ka x0.25 and "
    "lag +0.5 h reproduce the healthy-volunteer morning-meal delay (tmax x1.9-2.8 against "
    "x2.1-2.3, Huppertz 2021, Bekersky 2001a) but not these patients' later evening peak "
    "(evening dosing is not modelled)",
    "ogasawara2013-c0d-ratio": "evidence: CYP3A5 factor (1.6-2.0 or 1.63) below the 2.3-fold "
    "of this Japanese cohort",
    "wu2011-ir-trough-maintenance": "evidence: default CL/F 14 L/h (steroid-free synthesis) "
    "is low for stable transplant patients on steroids",
    "hougardy2011-advagraf-c0d-ratio": "evidence: Advagraf relative F is the label's 1:1 in "
    "non-expressers (x0.773 in CYP3A5 expressers, LiverConversion2020), which this mostly "
    "non-expresser cohort, titrated over 6 months (dose +29 %, C0 -22 %), undercuts; other "
    "conversion cohorts (LiverPhase3QD2011, Wu 2011, TransplRes2016 *3/*3) agree with 1:1",
    "annpharm2023-vori-c0d-nonexpresser": "evidence: the set's baseline C0/D is low (CL/F of "
    "the transplant set); the voriconazole ratio itself is set from this source",
    "annpharm2023-vori-c0d-expresser": "evidence: the set's baseline C0/D is low; the "
    "voriconazole ratio itself is set from this source",
    "cjcp2024-vori-c0-ratio": "evidence: the Chinese kidney-patient effect (x3.3 expressers, "
    "x4.2 non-expressers, Ann Pharmacother 2023) with the dose cut at the midpoint of 50-87.5 % "
    "gives more than this 11-patient cohort's 2.33",
    "zhao2022-vori-c0d-fold": "evidence: this cohort's about 6-fold (real-world dosing) exceeds "
    "the x3.3-4.2 per CYP3A5 group of Ann Pharmacother 2023 that pksim uses",
    "zhou2025-vori-clf-ratio": "evidence: the population estimate (lung transplant, partly "
    "titrated) is weaker than the kidney cohorts' x3.3-4.2",
    "zhou2025-posa-clf-ratio": "evidence: posaconazole suspension in lung transplant acts far "
    "less than the healthy-volunteer tablet ratio x4.6",
    "wu2011-ipv-bid": "evidence: the within-subject level (median trough CV about 24 %, of "
    "which the residual error gives about 21 % and the IOV on F about 10 %) agrees with Mo 2019 "
    "(median 20.5 %), Sablik 2018 (mean 23.6 %) and Park 2021, not with this very stable "
    "cohort 6 years after transplantation (troughs per CV not given); each subject's own scale "
    "widens the spread but keeps the median (andrews2019: its immunoassay additive error "
    "0.88 ng/mL dominates at the low troughs it predicts)",
    "wu2011-ipv-qd": "evidence: IOV does not depend on the formulation: a lower once-daily "
    "variability is reported by this cohort and small series but not quantified well enough to "
    "set a factor, and in pksim the trough CV is mostly residual error, which a formulation "
    "factor on IOV could not lower",
    "mo2019-ipv-median-cv": "evidence: the set's immunoassay additive error (0.88 ng/mL) "
    "dominates at the low troughs it predicts",
    "park2021-ipv-lower-tertile": "evidence: the first post-transplant year (early months, dose "
    "changes) varies more than the stable phase simulated (six weekly troughs at one dose)",
    "park2021-ipv-upper-tertile": "evidence: the set's immunoassay additive error (0.88 ng/mL) "
    "dominates at the low troughs it predicts",
    "sablik2018-ipv-mean-controls": "evidence: the set's immunoassay additive error "
    "(0.88 ng/mL) dominates at the low troughs it predicts",
    "yan2025-nmvr-tac-held": "evidence/recipe: the baseline is the trough 12 h after the last "
    "dose and the dose 12 h before the course is skipped, so the trough falls 14-28 % (by the "
    "set's own half-life) before ritonavir starts; under near-complete inactivation (CL x0.061, "
    "Erba 2023) it falls little after that",
    "naganawa2024-nmvr-c0-fold": "evidence: the tacrolimus-specific F x2.04 (Erba 2023: one "
    "case, V/F against a literature reference) with near-zero clearance raises a continued "
    "trough about 4-5-fold in 5 days at the sets' own half-lives; the >10-fold of these cases "
    "needs a larger F rise (at most 1/F0, about 4-6) or a shorter baseline half-life",
    "pmid37924724-nmvr-c0": "evidence: as naganawa2024-nmvr-c0-fold (the rise needs a larger F "
    "effect than the one case of Erba 2023 gives; this source's own fit, CL x0.35 / F x18.7, "
    "kept 35 % of clearance and no longer sets pksim)",
    "li2017-wuzhi-c0d-expressers": "missing feature: Wuzhi acts more strongly in expressers",
    "chenhsu2000-rifampin-dose": "evidence: the label's induction (measured at steady state "
    "after 18 days, Hebert 1999) plus stopping fluconazole at the assumed 100 mg/day gives "
    "about 4.6-4.9-fold; the case's >10-fold needs its unstated fluconazole dose to be "
    "200 mg/day (about 10-fold) or stronger induction in this patient",
    "zong2024-ccb-c0d-increase": "evidence: nifedipine x1.25 [M] and amlodipine (x2.2 in "
    "expressers only, healthy volunteers) differ from these patients' pooled +42-46 %",
    "jacobson2012-elderly-c0d": "missing feature: no age effect on CL/F in the set",
    "hesselink2003-pred-m1-vs-m4-c0d": "evidence: the within-patient comparison also spans "
    "months 1 to 4 after transplantation, when CL/F falls for other reasons (time after "
    "transplantation, rising hematocrit), which pksim does not model; the month-1 prednisone "
    "dose is not in the abstract (20 mg/day assumed)",
    "dai2024-mn-trough-diff-le1mo": "evidence: lower exposure of the set at these doses shrinks "
    "the genotype difference",
    "etm2015-c0d-12mo-cyp3a5-13": "evidence: CL/F of the transplant set (23 L/h, no steroid "
    "covariate; BSA term held at 1.93 m2) is high for these patients",
    "etm2015-c0d-12mo-cyp3a5-33": "as etm2015-c0d-12mo-cyp3a5-13",
    "etm2015-c0d-24mo-cyp3a5-13": "as etm2015-c0d-12mo-cyp3a5-13",
    "etm2015-c0d-24mo-cyp3a5-33": "as etm2015-c0d-12mo-cyp3a5-13",
    "miura2011-cmaxd-expresser": "structure: V1/F 692 L without the lean-body-weight term "
    "gives a low peak",
    "vanduijnhoven2003-pred10-withdrawal-retro": "missing feature: the set has no steroid "
    "covariate",
    "vanduijnhoven2003-pred10-withdrawal-prosp": "missing feature: the set has no steroid "
    "covariate",
    "vanduijnhoven2003-pred5-withdrawal-retro": "missing feature: the set has no steroid covariate",
    "vanduijnhoven2003-pred5-withdrawal-auc": "missing feature: the set has no steroid covariate",
}
"""Why a point lies outside, as far as it is understood (structure, evidence, missing feature);
shown next to a point only where it is outside."""


_SLOW_PR = (
    "structure: the prolonged-release ka multiplier (x0.17, relative to IR ka 4.5 1/h) on this "
    "set's ka 0.35 1/h spreads absorption over days, so once daily comes out flatter and higher"
)

_FED_PEAK = (
    "evidence: the with-meal F x0.61 and ka x0.25 lower the peak to a third; taken fasting it "
    "is {fasting} ng/mL, inside. ka x0.25 was sized on one-compartment absorption [D]: on a "
    "two-compartment set with slow ka it lowers a single dose's Cmax to x0.18-0.23 of fasting, "
    "more than the label's x0.29"
)
_NO_CYP3A5 = "missing covariate: Lu 2015 has no CYP3A5 effect (not tested; a Chinese cohort mix)"
_LU2015_WHY = {
    ("lu2015", "uchida2010-ln-cmax"): _FED_PEAK.format(fasting=15.1),
    ("lu2015", "uchida2010-ln-tmax"): "structure: V1/F 22.7 L equilibrates with V2/F within "
    "minutes (distribution half-life 0.16 h), so the peak follows the absorption input: tmax "
    "1.0 h fasting, 1.9 h with the with-meal ka x0.25; observed 4-8 h after supper",
    **{
        ("lu2015", point): _NO_CYP3A5
        for point in (
            "xenobiotica2015-ln-c12-ratio-cyp3a5",
            "dai2024-mn-trough-diff-le1mo",
            "etm2015-c0d-24mo-cyp3a5-33",
            "ogasawara2013-c0d-ratio",
            "susomboon2022-aucd-cyp3a5-day7",
        )
    },
    **{
        ("lu2015", point): _SLOW_PR.replace("0.35 1/h", "0.419 1/h")
        for point in (
            "wu2011-advagraf-c0-ratio-day7",
            "hougardy2011-advagraf-c0d-ratio",
            "transplres2016-advagraf-dose-ratio-13",
            "transplres2016-advagraf-dose-ratio-33",
            "livertx2020-advagraf-c0d-expresser",
            "livertx2020-advagraf-c0d-nonexpresser",
            "livertx2011-advagraf-c0-ratio",
        )
    },
    ("lu2015", "wu2011-ir-trough-maintenance"): "evidence: CL/F 18.4 L/h (early liver transplant "
    "patients, MEIA) is low for these stable kidney patients; no CYP3A5 or steroid effect",
    ("lu2015", "wu2011-ipv-bid"): "evidence: the set's residual error (39.8 %, pooled MEIA troughs "
    "and HPLC-MS profiles) acts as assay error, so most subjects' trough CV exceeds 22.5 %",
    ("lu2015", "wu2011-ipv-qd"): "as wu2011-ipv-bid (residual error 39.8 %); uniform IOV",
    ("lu2015", "mo2019-ipv-median-cv"): "as wu2011-ipv-bid (residual error 39.8 %)",
    ("lu2015", "jacobson2012-elderly-c0d"): "missing covariate: age was tested in Lu 2015 (36 of "
    "112 patients 65 y or older) and not retained",
}
"""Reasons for the Lu 2015 set (:data:`PARAMETER_SETS`), merged into :data:`WHY_OUTSIDE_BY_SET`."""
_UNIFORM_LOW_CV = (
    "evidence: residual error 18.3 % and no IOV give every subject the same, lower "
    "within-subject CV (no subject scale in this set)"
)
_NO_STEROID = "missing feature: the set has no steroid covariate"

WHY_OUTSIDE_BY_SET: dict[tuple[str, str], str] = {
    ("bergmann2014", "wu2011-advagraf-c0-ratio-day7"): _SLOW_PR,
    ("bergmann2014", "hougardy2011-advagraf-c0d-ratio"): _SLOW_PR,
    ("bergmann2014", "transplres2016-advagraf-dose-ratio-13"): _SLOW_PR,
    ("bergmann2014", "transplres2016-advagraf-dose-ratio-33"): _SLOW_PR,
    ("bergmann2014", "livertx2020-advagraf-c0d-expresser"): _SLOW_PR,
    ("bergmann2014", "livertx2020-advagraf-c0d-nonexpresser"): _SLOW_PR,
    ("bergmann2014", "livertx2011-advagraf-c0-ratio"): _SLOW_PR,
    ("bergmann2014", "kaminska2008-advagraf-c0-ratio-day14"): _SLOW_PR,
    ("bergmann2014", "wu2011-ipv-qd"): _SLOW_PR + "; IOV does not depend on the formulation",
    ("bergmann2014", "wu2011-ir-trough-maintenance"): "evidence: CL/F at the 180-day cap "
    "(about 15 L/h at 60 kg) is low for these patients",
    ("bergmann2014", "dai2024-mn-trough-diff-le1mo"): "evidence: untitrated doses at the set's "
    "higher exposure widen the genotype difference",
    ("bergmann2014", "jacobson2012-elderly-c0d"): "missing feature: the set has no age effect",
    ("bergmann2014", "park2021-ipv-lower-tertile"): _UNIFORM_LOW_CV,
    ("bergmann2014", "park2021-ipv-upper-tertile"): _UNIFORM_LOW_CV,
    ("bergmann2014", "sablik2018-ipv-mean-controls"): _UNIFORM_LOW_CV,
    ("bergmann2014", "uchida2010-ln-cmax"): _FED_PEAK.format(fasting=11.8),
    ("andrews2019", "uchida2010-ln-cmax"): "structure: V1/F 692 L without its lean-body-weight "
    "term (about x0.6 for small women) gives a low peak, 6.0 ng/mL even fasting",
    **_LU2015_WHY,
    # covariates (age, prednisone, albumin)
    ("default", "dai2024-mn-trough-diff-le1mo"): "evidence: the age effect (reference 33 y, the "
    "LN cohort) lowers CL/F of the 45-year-old patient assumed here by about 12 %, and the "
    "untitrated genotype difference widens with exposure",
    ("andrews2019", "hesselink2003-pred-vs-none-c0d-m1"): _NO_STEROID,
    ("bergmann2014", "hesselink2003-pred-vs-none-c0d-m1"): _NO_STEROID,
    ("andrews2019", "hesselink2003-pred-m1-vs-m4-c0d"): _NO_STEROID,
    ("bergmann2014", "hesselink2003-pred-m1-vs-m4-c0d"): _NO_STEROID,
    ("bergmann2014", "andrews2019-age-clf-65-25"): "missing feature: the set has no age effect",
    ("bergmann2014", "passey2011-age-clf-70-30"): "missing feature: the set has no age effect",
    ("default", "livertx2020-advagraf-c0d-nonexpresser"): "evidence: the age effect (lower CL/F "
    "at 50 y) flattens the profile, so the QD / BID trough ratio drifts towards 1 (at the edge: "
    "1.25-fold the published); Advagraf relative F is the label's 1:1",
}
"""Reasons that hold for one set only; they take precedence over :data:`WHY_OUTSIDE`."""

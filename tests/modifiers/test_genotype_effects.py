"""CYP2C19-dependent co-medications (proton-pump inhibitors) through the genotype classes.

References: Itagaki 2004 (tacrolimus AUC +29 % with lansoprazole in CYP2C19 normal
metabolisers, +81 % with mutant alleles; rabeprazole minimal), Hosohata 2009 (rabeprazole: no
change in any CYP2C19 or CYP3A5 group); Yang 2013 (Chinese Han CYP2C19 *2 + *3 = 0.39).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pksim import cohort
from pksim.engine import run
from pksim.library import drugs
from pksim.modifiers import comedication
from pksim.modifiers import interactions as ix
from pksim.scenario import load_scenario

PUBLISHED_AUC_RATIO = {"normal": 1.29, "intermediate": 1.81, "poor": 1.81}
"""Itagaki 2004: lansoprazole 30 mg/day, tacrolimus AUC0-8 ratio by CYP2C19 status."""


def test_genotype_classes_combine_cyp3a5_and_cyp2c19():
    classes = drugs.genotype_class(np.array([False, True, False, True]), np.array([0, 0, 2, -1]))
    np.testing.assert_array_equal(classes, [0, 1, 4, -1])
    assert drugs.GENOTYPE_CLASSES == 6
    np.testing.assert_array_equal(classes % 2, [0, 1, 0, 1])  # expresser survives unknown


def test_lansoprazole_effect_follows_cyp2c19_and_not_cyp3a5():
    drug = drugs.lookup_drug("兰索拉唑")
    assert drug.cyp2c19_dependent and drug.genotype_dependent
    for code, phenotype in enumerate(drugs.CYP2C19_PHENOTYPES):
        for expresser in (0, 1):
            effect = drug.effect(expresser + 2 * code)
            assert effect.exposure_ratio == pytest.approx(PUBLISHED_AUC_RATIO[phenotype])
    with pytest.raises(ValueError, match="depends on CYP2C19"):
        drug.effect(True)
    with pytest.raises(ValueError, match="0 to 5"):
        drug.effect(6)
    assert "CYP2C19 poor metabolisers" in drugs.describe_drug("lansoprazole")


def test_rabeprazole_is_neutral_and_omeprazole_points_to_the_catalogue():
    drug = drugs.lookup_drug("rabeprazole")
    assert not drug.genotype_dependent and drug.direction == "neutral"
    assert all(drug.effect(g).exposure_ratio == 1.0 for g in range(drugs.GENOTYPE_CLASSES))
    with pytest.raises(ValueError, match="nearest catalogued analogue"):
        drugs.lookup_drug("omeprazole")
    with pytest.raises(ValueError, match="lansoprazole, rabeprazole"):
        drugs.lookup_drug("PPI")


def test_cyp3a5_only_drugs_give_the_same_grid_from_flags_or_classes():
    """Integer classes reduce to expresser flags when no drug depends on CYP2C19: the grid
    (and so every existing scenario's numbers) is the one the flags give, bit for bit."""
    course = [ix.CoMedication("voriconazole", start_day=2.0, stop_day=10.0)]
    flags = ix.cl_multiplier_grid(course, np.array([False, True, True]), t_end=480.0)
    classes = ix.cl_multiplier_grid(course, np.array([0, 3, 5]), t_end=480.0)
    np.testing.assert_array_equal(flags.change_times, classes.change_times)
    np.testing.assert_array_equal(flags.multipliers, classes.multipliers)


def test_lansoprazole_acts_on_f_and_reaches_the_published_ratio_per_cyp2c19_status():
    """Onset half-life 1.5 h: a day after the start each dose's F multiplier is the published
    AUC0-8 ratio (a single-dose first-pass effect, placed on F); clearance is untouched."""
    course = [ix.CoMedication("lansoprazole", start_day=1.0)]
    classes = np.arange(drugs.GENOTYPE_CLASSES)
    f = ix.f_multipliers(course, np.array([[48.0]] * classes.size), classes)
    for g in classes:
        phenotype = drugs.CYP2C19_PHENOTYPES[g // 2]
        assert f[g, 0] == pytest.approx(PUBLISHED_AUC_RATIO[phenotype], rel=1e-3)
    grid = ix.cl_multiplier_grid(course, classes, t_end=96.0)
    np.testing.assert_array_equal(grid.multipliers, 1.0)


def test_virtual_cohort_cyp2c19_follows_hardy_weinberg():
    pop = cohort.load_population("chinese-adult-ln")
    p = pop["cyp2c19_lof_allele_frequency"]
    assert p == 0.39
    n = 200_000
    cov = cohort.sample_covariates(pop, seed=3, start=0, stop=n)
    shares = np.bincount(cov.cyp2c19, minlength=3) / n
    expected = np.array([(1 - p) ** 2, 2 * p * (1 - p), p**2])
    np.testing.assert_allclose(shares, expected, atol=4 * np.sqrt(0.25 / n))
    # Independent of CYP3A5 (different stream columns).
    both = np.mean((cov.cyp2c19 == 2) & (cov.cyp3a5 == 0))
    assert both == pytest.approx(shares[2] * np.mean(cov.cyp3a5 == 0), abs=0.005)


def test_unknown_cyp2c19_is_refused_only_where_a_drug_needs_it():
    cov = cohort.Covariates(
        weight_kg=np.full(2, 60.0),
        sex=np.zeros(2),
        age_y=np.full(2, 30.0),
        hematocrit_pct=np.full(2, 35.0),
        egfr=np.full(2, 100.0),
        serum_creatinine_mg_dl=np.full(2, 0.7),
        cyp3a5=np.array([0, 1]),
    )
    assert cov.labels("cyp2c19").tolist() == ["unknown", "unknown"]
    genotype = comedication.genotype_classes(cov)
    np.testing.assert_array_equal(genotype % 2, [0, 1])


def test_lansoprazole_scenario_troughs_rise_by_cyp2c19_status(tmp_path: Path):
    """Typical patients on 1.5 mg BID, lansoprazole from day 15: the day-28 / day-14 trough
    ratio is the published AUC ratio of the subject's CYP2C19 status (an F effect scales
    every steady-state concentration alike; within 1 %); normal metabolisers rise least."""
    path = tmp_path / "ppi.toml"
    path.write_text(
        'schema_version = 1\ntitle = "PPI"\nsubjects = 300\ndays = 28\nseed = 5\n'
        '[population]\nname = "chinese-adult-ln"\nage_y_mean = 33\nage_y_sd = 0\n'  # reference age
        '[[regimens]]\nname = "1.5 mg BID"\ndaily_dose_mg = 3\ndoses_per_day = 2\n'
        '[[comedications]]\ndrug = "lansoprazole"\nstart_day = 15\n',
        encoding="utf-8",
    )
    scenario = load_scenario(path)
    scenario = scenario.replace(variability=cohort.load_variability({"typical_only": True}))
    ds = run(scenario)
    trough = ds["trough"].values[0]
    ratio = trough[:, 27] / trough[:, 13]
    status = ds["cyp2c19"].values
    for label, phenotype in zip(("NM", "IM", "PM"), drugs.CYP2C19_PHENOTYPES, strict=True):
        group = ratio[status == label]
        assert group.size > 10
        np.testing.assert_allclose(group, PUBLISHED_AUC_RATIO[phenotype], rtol=0.01)
    assert np.median(ratio[status == "NM"]) < np.median(ratio[status == "IM"])


def test_ritonavir_inactivates_cyp3a_within_hours_and_recovers_over_days():
    """Turnover model with the cited residual activity E_ss = 0.042 (Greenblatt 2009): onset
    rate kdeg / E_ss (t1/2 = 72 h x 0.042 = 3.0 h), recovery at kdeg (t1/2 72 h). The CL
    multiplier (linear in the inactivated fraction phi) is within 1 % of its full x0.061 a day
    after the start, and halfway back 72 h after the stop."""
    drug = drugs.lookup_drug("ritonavir")
    turnover = drugs.default_turnover()
    kdeg = turnover.kdeg("hepatic")
    assert drug.inactivation_onset_rate(kdeg, drug.effect(False)) == pytest.approx(kdeg / 0.042)
    course = [ix.CoMedication("ritonavir", start_day=1.0, stop_day=5.0)]  # 5 days from t = 0
    stop = course[0].stop_h
    grid = ix.cl_multiplier_grid(course, False, t_end=600.0)

    def at(t):
        return grid.multipliers[0, np.searchsorted(grid.change_times, t, side="right")]

    full = drug.effect(False).cl_multiplier
    phi_24 = 1.0 - np.exp(-kdeg / 0.042 * 24.0)
    assert phi_24 > 0.99
    assert at(24.0) == pytest.approx(1.0 + phi_24 * (full - 1.0), rel=0.03)
    assert at(12.0) < 1.0 + 0.9 * (full - 1.0)  # > 90 % of the effect within 12 h
    back = 1.0 + 0.5 * (full - 1.0)  # phi halves over one enzyme half-life after the stop
    assert at(stop + 72.0) == pytest.approx(back, rel=0.03)


def test_other_mechanism_based_inhibitors_keep_the_clearance_proxy_onset():
    drug = drugs.lookup_drug("clarithromycin")
    assert drug.residual_activity is None
    kdeg = drugs.default_turnover().kdeg(drug.turnover)
    effect = drug.effect(False)
    assert drug.inactivation_onset_rate(kdeg, effect) == kdeg / min(1.0, effect.cl_multiplier)


def test_ritonavir_f_effect_recovers_with_gut_wall_cyp3a_and_cl_with_the_liver():
    """f_turnover = "intestinal": the F multiplier of a dose 23 h after the stop (one
    intestinal CYP3A half-life) is halfway back; the CL multiplier then is still about
    80 % of its effect (hepatic t1/2 72 h: 2**(-23/72) = 0.80)."""
    drug = drugs.lookup_drug("paxlovid")
    effect = drug.effect(False)
    course = [ix.CoMedication("ritonavir", start_day=1.0, stop_day=5.0)]
    stop = course[0].stop_h
    f = ix.f_multipliers(course, np.array([stop - 1.0, stop + 23.0]), False)[0]
    assert f[0] == pytest.approx(effect.f_multiplier, rel=1e-6)
    assert f[1] == pytest.approx(1.0 + 0.5 * (effect.f_multiplier - 1.0), rel=1e-6)
    grid = ix.cl_multiplier_grid(course, False, t_end=stop + 48.0)
    cl = grid.multipliers[0, np.searchsorted(grid.change_times, stop + 23.0, side="right")]
    expected = 1.0 + 2 ** (-23.0 / 72.0) * (effect.cl_multiplier - 1.0)
    assert cl == pytest.approx(expected, rel=0.03)

"""One co-medication changing another's exposure (letermovir lowers voriconazole): the scaling
law R' = 1 + x (R - 1) against hand computations, its time course against an independent
evaluation of the catalogue half-lives, and pairs without a declaration still multiplying."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pksim.library.drugs import lookup_drug
from pksim.modifiers import interactions as ix

LETERMOVIR_ON_VORI = 0.56
"""Voriconazole AUC ratio with letermovir (catalogue, Prevymis label as quoted)."""


def _grid_value(grid: ix.ClGrid, t: float, row: int = 0) -> float:
    segment = np.searchsorted(grid.change_times, t, side="right")
    return float(np.atleast_2d(grid.multipliers)[row, segment])


@pytest.mark.parametrize("expresser", [False, True])
def test_steady_state_follows_the_scaling_law(expresser):
    vori = lookup_drug("voriconazole").effect(expresser)
    leter = lookup_drug("letermovir").effect(expresser)
    ratio = 1.0 / vori.cl_multiplier  # R = 1 + [I]/Ki
    expected = leter.cl_multiplier / (1.0 + LETERMOVIR_ON_VORI * (ratio - 1.0))
    both = (ix.CoMedication("voriconazole", 1, 300), ix.CoMedication("letermovir", 1, 300))
    grid = ix.cl_multiplier_grid(both, expresser)
    assert _grid_value(grid, 290 * 24.0) == pytest.approx(expected, rel=1e-6)
    # the hand numbers for non-expressers: R = 4.2093, R' = 1 + 0.56 x 3.2093 = 2.7972
    if not expresser:
        assert 1.0 / expected == pytest.approx(1.78 * 2.797208, rel=1e-6)


def test_pair_without_a_declaration_still_multiplies():
    assert not any(c.victim == "itraconazole" for c in lookup_drug("letermovir").exposure_changes)
    pair = (ix.CoMedication("itraconazole", 1, 300), ix.CoMedication("letermovir", 1, 300))
    grid = ix.cl_multiplier_grid(pair, False)
    expected = (
        lookup_drug("itraconazole").effect(False).cl_multiplier
        * lookup_drug("letermovir").effect(False).cl_multiplier
    )
    assert _grid_value(grid, 290 * 24.0) == pytest.approx(expected, rel=1e-6)


def test_victim_alone_and_perpetrator_alone_are_unchanged():
    for name in ("voriconazole", "letermovir"):
        grid = ix.cl_multiplier_grid((ix.CoMedication(name, 1, 300),), True)
        expected = lookup_drug(name).effect(True).cl_multiplier
        assert _grid_value(grid, 290 * 24.0) == pytest.approx(expected, rel=1e-6)


def _phi(t, start, stop, half_on, half_off):
    """Independent first-order onset/offset of one course started from zero."""
    k_on, k_off = math.log(2) / half_on, math.log(2) / half_off
    on = np.where(t < start, 0.0, 1.0 - np.exp(-k_on * np.clip(t - start, 0, None)))
    at_stop = 1.0 - math.exp(-k_on * (stop - start))
    off = at_stop * np.exp(-k_off * np.clip(t - stop, 0, None))
    return np.where(t < stop, on, off)


def test_time_course_within_tolerance_of_the_continuous_combination():
    """Letermovir from day 10 to 25 on voriconazole days 1-40: the grid stays within its log
    tolerance of ``m_L(t) / (1 + phi_V(t) (1 + phi_L(t) (x - 1)) (R - 1))``."""
    vori, leter = lookup_drug("voriconazole"), lookup_drug("letermovir")
    r_vori = 1.0 / vori.effect(False).cl_multiplier
    r_leter = 1.0 / leter.effect(False).cl_multiplier
    t = np.linspace(0.0, 45 * 24.0, 20001)
    phi_v = _phi(t, 0.0, 40 * 24.0, vori.onset_half_life.value, vori.offset_half_life.value)
    phi_l = _phi(t, 9 * 24.0, 25 * 24.0, leter.onset_half_life.value, leter.offset_half_life.value)
    exposure = 1.0 + phi_l * (LETERMOVIR_ON_VORI - 1.0)
    continuous = 1.0 / (1.0 + phi_v * exposure * (r_vori - 1.0)) / (1.0 + phi_l * (r_leter - 1.0))
    both = (ix.CoMedication("voriconazole", 1, 40), ix.CoMedication("letermovir", 10, 25))
    grid = ix.cl_multiplier_grid(both, False)
    on_grid = np.atleast_2d(grid.multipliers)[0, np.searchsorted(grid.change_times, t, "right")]
    error = np.abs(np.log(on_grid) - np.log(continuous))
    assert error.max() <= grid.log_tolerance * (1 + 1e-9)
    # while letermovir is taken the combination is well below the product of the two effects
    day20 = np.searchsorted(t, 20 * 24.0)
    product = 1.0 / (r_vori * r_leter)
    assert continuous[day20] > 1.3 * product


def test_f_multipliers_use_the_scaled_victim_effect():
    """Voriconazole's effect sits on CL/F (F x1): the F multipliers of the pair are exactly 1."""
    both = (ix.CoMedication("voriconazole", 1, 40), ix.CoMedication("letermovir", 10, 25))
    f = ix.f_multipliers(both, np.arange(0.0, 40 * 24.0, 12.0), False)
    assert np.all(f == 1.0)


def test_cohort_run_with_both_drugs_scales_instead_of_multiplying():
    """Engine run (voriconazole-start, everyone treated): letermovir raises the last-day trough
    of voriconazole takers far less than it raises troughs without voriconazole (a product of
    effects would raise both about alike)."""
    from pksim.engine import run
    from pksim.modifiers.comedication_plans import ComedicationPlan
    from pksim.scenario import load_scenario

    scenario = load_scenario("voriconazole-start")

    def last_day(*names):
        plans = tuple(ComedicationPlan(ix.CoMedication(name, 1)) for name in names)
        return run(scenario.replace(comedications=plans), n_subjects=8)["trough"].isel(day=-1)

    alone = last_day("letermovir").values / last_day().values
    on_vori = last_day("voriconazole", "letermovir").values / last_day("voriconazole").values
    assert np.all(alone > 1.5)
    assert np.all((on_vori > 1.0) & (on_vori < 0.8 * alone))


def test_mipd_comed_both_drugs_use_the_shared_grid():
    """A NONMEM record with ``Vfend+Prevymis``: MIPD predictions equal the public model on the
    modifiers' grid (the same as a cohort run's), and the grid's late value is the hand value."""
    from pksim.library.parameters import load_parameter_set
    from pksim.mipd import read_nonmem_text
    from pksim.mipd.design import design
    from pksim.mipd.predict import Predictor
    from pksim.model import concentrations_general

    pset = load_parameter_set("default")
    text = (
        "ID,TIME,AMT,EVID,II,ADDL,DV,WT,CYP3A5,HCT,COMED,AGE\n"
        "1,0,2,1,12,59,.,60,*3/*3,35,Vfend+Prevymis,33\n"
        "1,700,0,0,0,0,9,60,*3/*3,35,Vfend+Prevymis,33\n"
    )
    (h,) = read_nonmem_text(text)
    assert sorted(c.drug for c in h.comedications) == ["letermovir", "voriconazole"]
    ours = Predictor(design(h, pset), h.obs_times)(np.zeros((1, 3)))[0]
    grid = ix.cl_multiplier_grid(h.comedications, False, t_begin=0.0)
    f = ix.f_multipliers(h.comedications, h.dose_times, False)
    t = {k: v.value for k, v in pset.typical.items()}
    ref = concentrations_general(
        t["cl"],
        t["v"],
        t["ka"],
        t["tlag"],
        1.0,
        h.dose_times[None],
        h.dose_amounts[None],
        h.obs_times,
        dose_f=f,
        cl_change_times=grid.change_times,
        cl_multipliers=grid.multipliers,
    )[0]
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    r_vori = 1.0 / lookup_drug("voriconazole").effect(False).cl_multiplier
    hand = 1.0 / (1.78 * (1.0 + LETERMOVIR_ON_VORI * (r_vori - 1.0)))
    assert _grid_value(grid, 690.0) == pytest.approx(hand, rel=1e-3)

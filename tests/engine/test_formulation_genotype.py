"""A formulation whose relative F depends on CYP3A5 genotype (Advagraf: lower in expressers,
LiverConversion2020) reaches the kernel through the chunk: expressers' prolonged-release doses
carry the multiplier, non-expressers' and every immediate-release dose do not."""

import numpy as np
import pytest

from pksim import run
from pksim.engine.chunk import regimen_kernel_inputs
from pksim.engine.plan import prepare
from pksim.library.formulations import lookup_formulation
from pksim.scenario import scenario_from_text

SCENARIO = """
title = "formulation F by CYP3A5 genotype"
subjects = 60
days = 14
seed = 3
[population]
prednisone_mg_per_day = 0
[variability]
typical_only = true
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


def test_expressers_prolonged_release_doses_carry_the_genotype_multiplier():
    plan = prepare(scenario_from_text(SCENARIO), None, None)
    inputs = regimen_kernel_inputs(plan, 0, 60)
    expresser = inputs.expresser
    assert expresser.any() and not expresser.all()
    ir, pr = (r.arguments["dose_f"] for r in inputs.regimens)
    assert np.all(ir == 1.0)
    multiplier = lookup_formulation("advagraf").relative_f_for(True)
    pr = np.broadcast_to(pr, (60, pr.shape[1]))
    np.testing.assert_array_equal(pr[~expresser], 1.0)
    np.testing.assert_allclose(pr[expresser], multiplier, rtol=1e-15)


def test_expressers_pr_troughs_fall_by_the_multiplier_and_nothing_else_moves(monkeypatch):
    """Linear kinetics: F x m on every PR dose makes the expressers' PR troughs exactly m times
    those of the same run without the genotype effect; everything else is unchanged."""
    from pksim.library.formulations import Formulation

    multiplier = lookup_formulation("advagraf").relative_f_for(True)
    assert multiplier == pytest.approx(0.773)
    with_effect = run(scenario_from_text(SCENARIO))
    monkeypatch.setattr(Formulation, "expresser_f_multiplier", property(lambda _self: 1.0))
    without = run(scenario_from_text(SCENARIO))
    expresser = with_effect["cyp3a5_expresser"].values
    assert expresser.any() and not expresser.all()
    pr, pr0 = (d["trough"].sel(regimen="PR QD").values for d in (with_effect, without))
    np.testing.assert_allclose(pr[expresser], multiplier * pr0[expresser], rtol=1e-12)
    np.testing.assert_array_equal(pr[~expresser], pr0[~expresser])
    np.testing.assert_array_equal(
        with_effect["trough"].sel(regimen="IR BID").values,
        without["trough"].sel(regimen="IR BID").values,
    )

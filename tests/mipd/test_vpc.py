"""The visual predictive check: data simulated from the model fall inside its bands, data
simulated with CL/F doubled do not; the replicates keep the data's design."""

from __future__ import annotations

import numpy as np
import pytest

from pksim.library.parameter_overrides import override_parameter_set
from pksim.library.parameters import load_parameter_set
from pksim.mipd.forecast import FutureRegimen
from pksim.mipd.simulate import simulate_tdm
from pksim.mipd.vpc import visual_predictive_check, vpc_figure

COVARIATES = {
    "weight_kg": 60.0,
    "cyp3a5": "*1/*3",
    "hematocrit_pct": 35.0,
    "age_y": 33.0,
}
SEEDS = range(1, 7)


def _data(pset, seed, n=150):
    histories, _ = simulate_tdm(
        pset,
        n,
        regimen=FutureRegimen((2.0, 1.5)),
        days=10,
        sample_days=[3, 6, 9],
        covariates=COVARIATES,
        seed=seed,
        lloq=1.5,
    )
    return histories


def test_data_from_the_model_fall_inside_and_doubled_clearance_does_not():
    """Over six datasets (150 patients, 3 troughs, LLOQ 1.5 ng/mL: some censored), at least
    75 % of the observed percentiles lie in their 90 % intervals (nominal 90 %; the three
    percentiles of a dataset are correlated); with CL/F doubled at most 10 %."""
    model = load_parameter_set("default")
    doubled = override_parameter_set(model, {"typical.cl": 28.0})
    inside = {"model": 0, "doubled": 0}
    total = 0
    for seed in SEEDS:
        for name, truth in (("model", model), ("doubled", doubled)):
            check = visual_predictive_check(_data(truth, seed), model, seed=seed, replicates=100)
            inside[name] += int(check.inside.sum())
        total += check.inside.size
    assert check.labels == ("day 4", "day 7", "day 10")
    assert inside["model"] >= 0.75 * total
    assert inside["doubled"] <= 0.1 * total


def test_censoring_replicates_and_figure():
    model = load_parameter_set("default")
    histories = _data(model, 1, n=60)
    assert any(h.obs_blq.any() for h in histories)
    check = visual_predictive_check(histories, model, replicates=50, seed=3)
    again = visual_predictive_check(histories, model, replicates=50, seed=3)
    np.testing.assert_array_equal(check.simulated_interval, again.simulated_interval)
    assert check.counts.sum() == sum(h.n_observations for h in histories)
    low, high = check.simulated_interval[..., 0], check.simulated_interval[..., 1]
    assert np.all(low <= check.simulated_median) and np.all(check.simulated_median <= high)
    by_tad = visual_predictive_check(histories, model, replicates=50, binning="tad")
    assert by_tad.labels == ("12-12 h",)  # troughs: 12 h after the evening dose
    figure = vpc_figure(check)
    assert figure.axes[0].get_xlabel() == "day of therapy"
    with pytest.raises(ValueError, match="binning"):
        visual_predictive_check(histories, model, binning="week")

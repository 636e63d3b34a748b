"""The ``bayesian`` monitoring rule under two-compartment parameter sets (andrews2019): its
steady-state trough per mg/day against pksim.model's exact concentrations over 2000 days and a
matrix-exponential steady state, the dose it decides from each MAP fit, and chunk invariance."""

import numpy as np
import pytest

import pksim
import pksim.engine.bayesian_rule as bayesian_rule
import pksim.engine.titration as engine_titration
from pksim.dosing.amounts import ceiling
from pksim.dosing.rounding import round_daily_dose
from pksim.engine.bayesian_rule import steady_state_trough_per_mg_two_compartment
from pksim.model import concentrations_two_compartment
from tests import naive
from tests.engine.test_bayesian_rule import COMPARISON, STRENGTHS, VORICONAZOLE_HALF, cohort

ANDREWS = '[parameters]\nname = "andrews2019"'
STEADY_STATE_DAYS = 2000
"""Days of 1 mg/day simulated for the reference steady state (andrews2019's terminal
half-life is about two weeks, V2/F 5340 L against Q/F 11.6 L/h: 2000 days are over 100
half-lives)."""
DRAWS = (3, 7, 14)
AIM = 8.0

BAYESIAN_BID = """
[[regimens]]
name = "bayesian"
daily_dose_mg = 3
doses_per_day = 2
round_to_capsules = true
[regimens.tdm]
sample_days = [3, 7, 14]
result_delay_days = 1
rule = "bayesian"
aim_ng_per_ml = 8
"""


def reference_per_mg(p, clock, f_per_dose, trough_clock=24.0):
    """ng/mL per mg/day at ``trough_clock`` h into the last of 2000 days of 1 mg/day split
    over ``clock``, by pksim.model's exact two-compartment concentrations."""
    days = np.arange(STEADY_STATE_DAYS)
    times = (24.0 * days[:, None] + np.asarray(clock)[None, :]).ravel()
    amounts = np.full(times.size, 1.0 / len(clock))
    return concentrations_two_compartment(
        *(np.array([p[x]]) for x in ("cl", "v", "q", "v2", "ka", "tlag")), np.ones(1),
        times[None, :], amounts[None, :],
        np.array([[24.0 * (STEADY_STATE_DAYS - 1) + trough_clock]]),
        dose_f=np.tile(np.asarray(f_per_dose, float), STEADY_STATE_DAYS)[None, :],
    )[0, 0]  # fmt: skip


@pytest.mark.parametrize(
    ("p", "clock", "f", "trough_clock"),
    [
        (dict(cl=12.0, v=200.0, q=30.0, v2=600.0, ka=4.5, tlag=0.4), (0.0,), (0.8,), 24.0),
        (dict(cl=20.0, v=90.0, q=70.0, v2=900.0, ka=1.1, tlag=0.0), (0.0, 12.0), (0.8, 0.5), 24.0),
        (
            dict(cl=5.0, v=300.0, q=10.0, v2=300.0, ka=0.8, tlag=1.5),
            (2.0, 11.0, 23.5),
            (1, 1, 1),
            24.0,
        ),
        (dict(cl=9.0, v=150.0, q=40.0, v2=500.0, ka=2.0, tlag=0.7), (0.0, 12.0), (1.0, 0.9), 11.5),
    ],
)
def test_steady_state_formula_matches_exact_concentrations(p, clock, f, trough_clock):
    """Doses at several clock times with their own F, lags that carry a dose's absorption into
    the next day, a trough before the day's end."""
    got = steady_state_trough_per_mg_two_compartment(
        *(np.array([p[x]]) for x in ("cl", "v", "q", "v2", "ka", "tlag")),
        np.array([f], dtype=float), np.array(clock), trough_clock,
    )[0]  # fmt: skip
    assert got == pytest.approx(
        reference_per_mg(p, clock, np.array(f, float), trough_clock), rel=1e-8
    )


def test_formula_matches_the_matrix_exponential_steady_state():
    p = dict(cl=15.0, v=120.0, q=50.0, v2=700.0, ka=3.0, tlag=0.6)
    got = steady_state_trough_per_mg_two_compartment(
        *(np.array([p[x]]) for x in ("cl", "v", "q", "v2", "ka", "tlag")),
        np.full((1, 2), 0.9), np.array([0.0, 12.0]),
    )[0]  # fmt: skip
    expected = naive.steady_state_trough_two_compartment(
        p["cl"], p["v"], p["q"], p["v2"], p["ka"], p["tlag"], 0.9, 0.5, 12.0
    )
    assert got == pytest.approx(expected, rel=1e-10)


@pytest.fixture(scope="module")
def captured(monkeypatch_module):
    """A run under andrews2019, every prediction the rule acted on and every MAP fit."""
    calls, fits = [], []
    original_trough, original_fit = engine_titration.trough_per_mg, bayesian_rule.fit_many

    def recording_trough(*args, **kwargs):
        out = original_trough(*args, **kwargs)
        calls.append(out)
        return out

    def recording_fit(histories, pset):
        out = original_fit(histories, pset)
        fits.append({int(f.history.id) - 1: f for f in out})
        return out

    monkeypatch_module.setattr(engine_titration, "trough_per_mg", recording_trough)
    monkeypatch_module.setattr(bayesian_rule, "fit_many", recording_fit)
    scenario = cohort(BAYESIAN_BID, n=10, parameters=ANDREWS)
    ds = pksim.run(scenario)
    return ds.sel(regimen="bayesian"), calls, fits, scenario.regimens[0].phases[0].regimen


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_dose_reaches_the_aim_for_a_patient_whose_etas_are_the_map(captured):
    """For every subject and draw: a patient with the MAP parameters on the decided
    (unrounded) dose, BID, has the aim as its steady-state trough (pksim.model over 2000 days
    and the matrix-exponential steady state); the rule's dose is that dose within x2, rounded
    to capsules under the regimen's mg/kg ceiling (subjects whose range holds the aim)."""
    ds, calls, fits, regimen = captured
    assert ds.attrs["parameter_set"] == "andrews2019"
    assert len(calls) == len(DRAWS)
    merged, checked = [{} for _ in DRAWS], 0
    k = 0
    for group in fits:  # one fit_many call per (co-medication, genotype) group and draw
        if merged[k] and set(group) & set(merged[k]):
            k += 1
        merged[k].update(group)
    for k, day in enumerate(DRAWS):
        assert sorted(merged[k]) == list(range(ds.sizes["subject"]))
        for i, fit in merged[k].items():
            p = fit.individual()
            dose = AIM / calls[k][i]
            steady = reference_per_mg(p, (0.0, 12.0), np.full(2, p["f"])) * dose
            assert steady == pytest.approx(AIM, rel=1e-8)
            matrix = naive.steady_state_trough_two_compartment(
                p["cl"], p["v"], p["q"], p["v2"], p["ka"], p["tlag"], p["f"], dose / 2, 12.0
            )
            assert matrix == pytest.approx(AIM, rel=1e-9)
            s = ds.isel(subject=i)
            if bool(s.renal_impairment):
                continue  # its own range (3-4 ng/mL) excludes the aim: it aims at 3.5
            before = float(s.realised_daily_dose_mg.sel(day=day))
            cap = ceiling(regimen, np.array([float(s.weight_kg)]))
            asked = np.minimum(np.clip(dose, before / 2, before * 2), cap)
            expected = round_daily_dose(asked, STRENGTHS, cap)
            assert float(s.realised_daily_dose_mg.sel(day=day + 2)) == expected[0]
            checked += 1
    assert checked >= 2 * len(DRAWS)


def test_bit_identical_at_any_chunking_and_threads_two_compartment():
    """As for the one-compartment sets: a subject's dose does not depend on its chunk."""
    scenario = cohort(COMPARISON + VORICONAZOLE_HALF, n=24, days=18, parameters=ANDREWS)
    whole = pksim.run(scenario)
    assert 0 < (whole.comedication.values == "none").sum() < 24
    for kwargs in ({"chunk_subjects": 1}, {"chunk_subjects": 7, "threads": 2}):
        other = pksim.run(scenario, **kwargs)
        for name in ("trough", "trough_measured", "realised_daily_dose_mg", "dose_changes"):
            np.testing.assert_array_equal(other[name].values, whole[name].values)

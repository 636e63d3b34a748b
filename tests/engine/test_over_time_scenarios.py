"""The bundled scenarios over time: each run small, its troughs reproduced from the realised
doses by an independent 50-digit superposition, and its clinical point checked."""

import numpy as np
import pytest

import pksim
from pksim.dosing.rounding import split_daily_dose
from pksim.library import formulations
from pksim.scenario import scenario_from_text, scenario_path
from tests import naive

NO_IOV = """
[parameters.overrides]
"iov.f" = 0
[variability]
sampling_offset_min_h = 0
sampling_offset_max_h = 0
"""


def run(name, n=40, edit=("", "")):
    text = scenario_path(name).read_text().replace(*edit) + NO_IOV
    return pksim.run(scenario_from_text(text, origin=name), n_subjects=n)


def reference_troughs(subject, regimen, products, per_day):
    """Troughs of one subject from its realised daily doses: each day's doses at the product's
    clock offsets, amounts by the split rule, F (for the subject's CYP3A5 genotype), ka and lag
    of the product (no pksim kernel)."""
    days = subject.day.values
    times, amounts, classes = [], [], []
    for day, daily in zip(days, subject.realised_daily_dose_mg.sel(regimen=regimen).values,
                          strict=True):  # fmt: skip
        product, k = products(day), per_day(day)
        split = split_daily_dose([daily], k, formulations.capsule_strengths(product))[0]
        for j in range(k):
            times.append(24.0 * (day - 1) + 24.0 * j / k)
            amounts.append(split[j])
            classes.append(0 if product == "prograf" else 1)
    forms = [formulations.lookup_formulation(p) for p in ("prograf", "advagraf")]
    expresser = bool(subject.cyp3a5_expresser)  # Advagraf's F depends on CYP3A5 genotype
    ka = np.array([[float(subject.ka) * float(f.ka_multiplier.value) for f in forms]])
    return naive.concentrations_general_reference(
        [float(subject.cl)], [float(subject.v)], ka, [float(subject.tlag)], [float(subject.f)],
        np.array([times]), np.array([amounts]), np.array([24.0 * days]),
        dose_class=np.array([classes]), class_lag=np.array([float(f.lag.value) for f in forms]),
        dose_f=np.array([[forms[c].relative_f_for(expresser) for c in classes]]),
    )[0]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "products", "per_day"),
    [
        ("consensus-escalation", lambda d: "prograf", lambda d: 2),
        ("tdm-proportional", lambda d: "prograf", lambda d: 2),
        ("prograf-to-advagraf", lambda d: "prograf" if d < 29 else "advagraf",
         lambda d: 2 if d < 29 else 1),
    ],
)  # fmt: skip
def test_troughs_follow_from_the_realised_doses(name, products, per_day):
    ds = run(name, n=12)
    for regimen in ds.regimen.values:
        for i in (0, 5, 11):
            subject = ds.isel(subject=i)
            expected = reference_troughs(subject, regimen, products, per_day)
            got = subject.trough.sel(regimen=regimen).values
            np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_consensus_escalation_raises_doses_only_from_day_57_within_0_1_mg_per_kg():
    ds = run("consensus-escalation", n=300)
    given = ds.realised_daily_dose_mg.sel(regimen="weight bands + consensus escalation")
    start = ds.daily_dose_mg.sel(regimen="weight bands + consensus escalation")
    assert bool((given.sel(day=slice(1, 57)) == start).all())
    assert bool((given.sel(day=112) <= np.maximum(0.1 * ds.weight_kg, start) + 1e-9).all())
    fixed = ds.trough.sel(regimen="weight bands, no monitoring", day=112).median()
    escalated = ds.trough.sel(regimen="weight bands + consensus escalation", day=112).median()
    assert float(escalated) > float(fixed)


def test_proportional_tdm_reaches_the_aim_after_one_adjustment():
    """One draw on day 7, acted on from day 9 without the two-fold bound: the median trough at
    steady state is the aim (with the bound, patients far below range need two steps); renal
    impairment puts a subject's range at 3-4 ng/mL, and its aim in the middle of it."""
    one_draw = (
        "sample_days = [7, 14, 21, 28, 35, 42, 49]",
        "sample_days = [7]\nmax_fold_change = 10",
    )
    ds = run("tdm-proportional", n=400, edit=one_draw)
    tdm = ds.trough.sel(regimen="3 mg/day BID + proportional TDM")
    renal = ds.renal_impairment.values
    assert float(tdm.isel(subject=~renal).sel(day=42).median()) == pytest.approx(8.0, abs=0.5)
    assert float(tdm.isel(subject=renal).sel(day=42).median()) == pytest.approx(3.5, abs=0.3)
    assert float(ds.trough.sel(regimen="3 mg/day BID, fixed", day=42).median()) < 6


def test_voriconazole_cut_is_one_third_rounded_and_tdm_moves_towards_the_aim():
    ds = run("voriconazole-dose-cut", n=300)
    cut = ds.realised_daily_dose_mg.sel(regimen="cut to 1/3 on day 15")
    np.testing.assert_array_equal(cut.sel(day=14), 3.0)
    np.testing.assert_array_equal(cut.sel(day=15), 1.0)  # 3 x 0.3333 -> 1 mg (0.5 mg units)
    with_tdm = ds.trough.sel(regimen="cut to 1/3 on day 15 + TDM", day=35).median()
    without = ds.trough.sel(regimen="cut to 1/3 on day 15", day=35).median()
    assert abs(float(with_tdm) - 8) < abs(float(without) - 8)


def test_paxlovid_hold_gives_no_doses_on_days_15_to_19():
    ds = run("paxlovid-hold", n=100)
    held = ds.realised_daily_dose_mg.sel(regimen="hold days 15-19")
    np.testing.assert_array_equal(held.sel(day=slice(15, 19)), 0.0)
    np.testing.assert_array_equal(held.sel(day=20), 2.0)
    continued = ds.trough.sel(regimen="continue 2 mg/day", day=19)
    assert bool((ds.trough.sel(regimen="hold days 15-19", day=19) < continued).all())


def test_prograf_to_advagraf_keeps_the_daily_dose_one_to_one():
    ds = run("prograf-to-advagraf", n=50)
    given = ds.realised_daily_dose_mg.sel(regimen="switch 1:1 on day 29")
    np.testing.assert_array_equal(given.sel(day=slice(29, 56)), 3.0)
    assert ds.attrs["dose_times_h"].count("672.0") == 2  # day 29: once daily from 08:00

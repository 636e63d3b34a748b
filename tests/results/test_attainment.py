"""Attainment tables checked against hand-constructed answers, direct numpy and published values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from pksim import contract
from pksim.results import format_attainment, target_attainment, wilson_interval
from tests.synthetic import synthetic_dataset


def _one_day(values, **kwargs):
    """Dataset with one regimen, one day and the given troughs (ng/mL), all on target 6-10."""
    trough = np.asarray(values, dtype=np.float64)[None, :, None]
    return synthetic_dataset(trough, renal_fraction=0.0, **kwargs)


# --- attainment with known answers -------------------------------------------------------------


def test_exactly_37_of_100_in_range():
    """37 troughs inside 6-10 ng/mL (limits included), 40 under, 23 over: 37 %, 40 %, 23 %."""
    values = np.concatenate(
        [np.linspace(6.0, 10.0, 37), np.linspace(0.5, 5.99, 40), np.linspace(10.01, 30.0, 23)]
    )
    rng = np.random.default_rng(1)
    table = target_attainment(_one_day(rng.permutation(values)))
    assert len(table) == 1
    row = table.iloc[0]
    assert row["n"] == 100
    assert row["pct_in_range"] == pytest.approx(37.0)
    assert row["pct_below"] == pytest.approx(40.0)
    assert row["pct_above"] == pytest.approx(23.0)
    assert (row["first_day"], row["last_day"]) == (1, 1)


def test_percentiles_of_1_to_100():
    """Type-7 percentiles of 1..100 are 1 + 99 q: 5.95, 25.75, 50.5, 75.25, 95.05 (analytic)."""
    rng = np.random.default_rng(2)
    table = target_attainment(_one_day(rng.permutation(np.arange(1.0, 101.0))))
    row = table.iloc[0]
    expected = {"p5": 5.95, "p25": 25.75, "median": 50.5, "p75": 75.25, "p95": 95.05}
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, rel=1e-12), name


def test_percentiles_of_a_single_subject():
    table = target_attainment(_one_day([7.5]))
    row = table.iloc[0]
    assert [row[c] for c in ("p5", "p25", "median", "p75", "p95")] == [7.5] * 5
    assert row["pct_in_range"] == 100.0


def test_limits_are_inclusive():
    table = target_attainment(_one_day([6.0, 10.0, np.nextafter(6.0, 0), np.nextafter(10.0, 11)]))
    row = table.iloc[0]
    assert (row["pct_in_range"], row["pct_below"], row["pct_above"]) == (50.0, 25.0, 25.0)


def test_per_subject_renal_ceiling():
    """Renal impairment: target <= 4 ng/mL, so 5 ng/mL is above for them, below for others."""
    trough = np.array([5.0, 3.0, 5.0, 3.0, 8.0])[None, :, None]
    ds = synthetic_dataset(trough, renal_fraction=0.4)  # subjects 0 and 1 are renal-impaired
    assert ds["renal_impairment"].values.tolist() == [True, True, False, False, False]
    table = target_attainment(ds, by="renal_impairment")
    renal = table[table["renal_impairment"]].iloc[0]
    other = table[~table["renal_impairment"]].iloc[0]
    assert (renal["pct_in_range"], renal["pct_above"], renal["pct_below"]) == (50.0, 50.0, 0.0)
    assert other["pct_in_range"] == pytest.approx(100 / 3)
    assert other["pct_below"] == pytest.approx(200 / 3)
    assert "≤ 4 ng/mL (n=2)" in table.attrs["target"]


def test_target_override_applies_to_everyone():
    trough = np.array([5.0, 3.0, 5.0, 3.0, 8.0])[None, :, None]
    ds = synthetic_dataset(trough, renal_fraction=0.4)
    row = target_attainment(ds, target=(3, 6)).iloc[0]
    assert row["pct_in_range"] == 80.0
    assert row["pct_above"] == 20.0
    assert "3\N{EN DASH}6 ng/mL" in target_attainment(ds, target=(3, 6)).attrs["target"]
    open_ended = target_attainment(ds, target=(4.0, float("inf"))).iloc[0]
    assert open_ended["pct_in_range"] == 60.0


# --- days and windows ----------------------------------------------------------------------------


def _three_days():
    # subject: day1, day2, day3 (target 6-10)
    trough = np.array(
        [
            [7.0, 7.0, 7.0],  # in range every day
            [7.0, 7.0, 12.0],  # above on day 3
            [5.0, 7.0, 7.0],  # below on day 1
            [5.0, 12.0, 7.0],  # below on day 1 and above on day 2
        ]
    )[None, :, :]
    return synthetic_dataset(trough, renal_fraction=0.0)


def test_default_day_is_the_last_without_target_attrs():
    table = target_attainment(_three_days())
    row = table.iloc[0]
    assert (row["first_day"], row["last_day"]) == (3, 3)
    assert (row["pct_in_range"], row["pct_above"], row["pct_below"]) == (75.0, 25.0, 0.0)
    assert row["median"] == 7.0


def _with_target_days(ds, first, last, window):
    return ds.assign_attrs(
        {
            contract.TARGET_FIRST_DAY: first,
            contract.TARGET_LAST_DAY: last,
            contract.TARGET_IS_WINDOW: int(window),
        }
    )


def test_default_days_are_the_target_days_in_the_attrs():
    """A run's Dataset says which days its scenario's [target] judges; that is the default."""
    ds = _three_days()
    window = target_attainment(_with_target_days(ds, 1, 3, True))
    pd.testing.assert_frame_equal(window, target_attainment(ds, window=(1, 3)))
    assert window.attrs["window"] and window.iloc[0]["pct_in_range"] == 25.0
    day = target_attainment(_with_target_days(ds, 2, 2, False))
    pd.testing.assert_frame_equal(day, target_attainment(ds, day=2))
    assert not day.attrs["window"]
    explicit = target_attainment(_with_target_days(ds, 1, 3, True), day=3)
    assert (explicit.iloc[0]["first_day"], explicit.iloc[0]["last_day"]) == (3, 3)
    with pytest.raises(ValueError, match=r"target days .* not all in its days 1..3; pass day="):
        target_attainment(_with_target_days(ds, 2, 5, True))


def test_chosen_day():
    row = target_attainment(_three_days(), day=1).iloc[0]
    assert (row["pct_in_range"], row["pct_below"]) == (50.0, 50.0)
    assert row["median"] == pytest.approx(6.0)


def test_window_in_range_on_every_day():
    ds = _three_days()
    row = target_attainment(ds, window=(1, 3)).iloc[0]
    assert row["pct_in_range"] == 25.0  # only subject 0
    assert row["pct_below"] == 50.0  # subjects 2 and 3
    assert row["pct_above"] == 50.0  # subjects 1 and 3 (3 is both below and above)
    assert row["n"] == 4
    pooled = ds["trough"].values.ravel()
    assert row["median"] == pytest.approx(np.percentile(pooled, 50))
    assert row["p95"] == pytest.approx(np.percentile(pooled, 95))
    assert (row["first_day"], row["last_day"]) == (1, 3)
    two = target_attainment(ds, window=(2, 3)).iloc[0]
    assert two["pct_in_range"] == 50.0  # subjects 0 and 2
    same = target_attainment(ds, window=(2, 2)).iloc[0]
    assert same["pct_in_range"] == target_attainment(ds, day=2).iloc[0]["pct_in_range"]


# --- subgroups against direct numpy --------------------------------------------------------------


def test_subgroups_match_direct_numpy():
    ds = synthetic_dataset(n_subjects=500, days=5, regimens=("3 mg QD", "1.5 mg BID", "bands"))
    table = target_attainment(ds, by=("regimen", "cyp3a5", "weight_band"), day=4)
    trough = ds["trough"].sel(day=4).values
    lower, upper = ds["target_lower"].values, ds["target_upper"].values
    genotype, band = ds["cyp3a5"].values, ds["weight_band"].values
    assert table["n"].sum() == 3 * 500
    for row in table.itertuples(index=False):
        r = list(ds["regimen"].values).index(row.regimen)
        mask = (genotype == row.cyp3a5) & (band == row.weight_band)
        values = trough[r, mask]
        assert row.n == mask.sum()
        for name, q in (("p5", 5), ("p25", 25), ("median", 50), ("p75", 75), ("p95", 95)):
            assert getattr(row, name) == pytest.approx(np.percentile(values, q), rel=1e-12)
        inside = (values >= lower[mask]) & (values <= upper[mask])
        assert row.pct_in_range == pytest.approx(100 * inside.mean())
        assert row.pct_below == pytest.approx(100 * (values < lower[mask]).mean())
        assert row.pct_above == pytest.approx(100 * (values > upper[mask]).mean())
        ci = stats.binomtest(int(inside.sum()), int(mask.sum())).proportion_ci(method="wilson")
        assert row.pct_in_range_ci_low == pytest.approx(100 * ci.low, abs=1e-9)
        assert row.pct_in_range_ci_high == pytest.approx(100 * ci.high, abs=1e-9)


def test_group_order():
    """Regimens keep Dataset order; "none" first; "< 60 kg" before "≥ 60 kg"; genotypes sorted."""
    ds = synthetic_dataset(comedications=[{"drug": "voriconazole", "start_day": 5}])
    table = target_attainment(ds, by=("comedication", "weight_band"))
    assert list(dict.fromkeys(table["regimen"])) == ["3 mg QD", "1.5 mg BID"]
    first = table[table["regimen"] == "3 mg QD"]
    assert list(first["comedication"]) == ["none", "none", "voriconazole", "voriconazole"]
    assert list(first["weight_band"]) == ["< 60 kg", "≥ 60 kg"] * 2
    genotypes = target_attainment(ds, by="cyp3a5")["cyp3a5"].tolist()
    assert genotypes == ["*1/*1", "*1/*3", "*3/*3"] * 2


def test_regimen_need_not_be_named():
    ds = synthetic_dataset(n_subjects=50, days=2)
    a = target_attainment(ds, by=("cyp3a5",))
    b = target_attainment(ds, by=("regimen", "cyp3a5"))
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns[:3]) == ["regimen", "cyp3a5", "n"]


@settings(max_examples=40)
@given(
    trough=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(1, 30), st.integers(1, 4)),
        elements=st.floats(0.0, 40.0, allow_nan=False),
    ),
    lower=st.floats(0.0, 10.0),
    width=st.floats(0.5, 10.0),
)
def test_property_partition_and_interval(trough, lower, width):
    """On one day below + in range + above = 100 %, and the CI brackets the estimate."""
    ds = synthetic_dataset(trough, renal_fraction=0.0)
    table = target_attainment(ds, target=(lower, lower + width))
    total = table["pct_in_range"] + table["pct_below"] + table["pct_above"]
    np.testing.assert_allclose(total, 100.0)
    assert (table["pct_in_range_ci_low"] <= table["pct_in_range"] + 1e-9).all()
    assert (table["pct_in_range_ci_high"] >= table["pct_in_range"] - 1e-9).all()
    assert (table["p5"] <= table["median"]).all() and (table["median"] <= table["p95"]).all()
    assert (table["n"] == trough.shape[1]).all()
    last = trough[:, :, -1]
    np.testing.assert_allclose(table["median"], np.median(last, axis=1), rtol=1e-12)


# --- measured troughs and the LLOQ ---------------------------------------------------------------


def test_measured_below_lloq():
    """Below-LLOQ values count under a positive lower limit, inside a range starting at 0."""
    ds = _one_day([np.nan, np.nan, 7.0, 8.0, 12.0])
    ds["trough_measured"].values[:] = np.array([np.nan, np.nan, 7.0, 8.0, 12.0])[None, :, None]
    ds["below_lloq"].values[:] = np.array([True, True, False, False, False])[None, :, None]
    row = target_attainment(ds.drop_vars("trough"), measured=True).iloc[0]
    assert (row["pct_below"], row["pct_in_range"], row["pct_above"]) == (40.0, 40.0, 20.0)
    assert row["pct_below_lloq"] == 40.0
    assert np.isnan(row["p5"]) and np.isnan(row["p25"])  # these fall among the BLQ values
    assert row["median"] == 7.0
    assert row["p75"] == 8.0  # position 4 * 0.75 = 3 of [BLQ, BLQ, 7, 8, 12]
    assert row["p95"] == pytest.approx(8.0 + 0.8 * (12.0 - 8.0))  # position 3.8
    renal = target_attainment(ds, measured=True, target=(0.0, 4.0)).iloc[0]
    assert renal["pct_in_range"] == 40.0
    assert "<LLOQ" in format_attainment(target_attainment(ds, measured=True))


def test_measured_nan_without_flag_is_refused():
    ds = _one_day([7.0, 8.0])
    ds["trough_measured"].values[0, 0, 0] = np.nan
    ds["below_lloq"].values[:] = False
    with pytest.raises(ValueError, match="not flagged in below_lloq"):
        target_attainment(ds, measured=True)


# --- Wilson interval ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_published_examples(k, n, low, high):
    """Newcombe RG, Stat Med 1998;17:857-872, Table II, method 3 (score, no continuity corr.)."""
    lo, hi = wilson_interval(k, n)
    assert float(lo) == pytest.approx(low, abs=5e-5)
    assert float(hi) == pytest.approx(high, abs=5e-5)


@settings(max_examples=60)
@given(n=st.integers(1, 5000), data=st.data(), confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_matches_scipy(n, data, confidence):
    """Against scipy.stats.binomtest(...).proportion_ci(method="wilson"), an independent code."""
    k = data.draw(st.integers(0, n))
    lo, hi = wilson_interval(k, n, confidence=confidence)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert float(lo) == pytest.approx(ci.low, abs=1e-12)
    assert float(hi) == pytest.approx(ci.high, abs=1e-12)


def test_wilson_vectorised_and_empty():
    lo, hi = wilson_interval([0, 5, 0], [10, 10, 0])
    assert lo.shape == (3,) and np.isnan(lo[2]) and np.isnan(hi[2])
    assert lo[0] == 0.0 and hi[1] > 0.5 > lo[1]


@pytest.mark.parametrize(
    ("k", "n", "confidence", "match"),
    [
        (5, 3, 0.95, "successes <= n"),
        (-1, 3, 0.95, "successes <= n"),
        (1, 3, 1.0, "confidence"),
        (1, 3, True, "confidence"),
        (np.nan, 3, 0.95, "finite"),
    ],
)
def test_wilson_bad_input(k, n, confidence, match):
    with pytest.raises(ValueError, match=match):
        wilson_interval(k, n, confidence=confidence)


# --- errors --------------------------------------------------------------------------------------


def test_unknown_subgroup_suggests_and_lists():
    ds = synthetic_dataset(n_subjects=10, days=2)
    with pytest.raises(ValueError, match=r'did you mean "cyp3a5"\?.*weight_band'):
        target_attainment(ds, by=("regimen", "cyp3a4"))
    with pytest.raises(ValueError, match=r"'weight_band'.*valid: .*regimen, renal_impairment, s"):
        target_attainment(ds.drop_vars("weight_band"), by="weight_band")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"by": "weight_kg"}, "continuous"),
        ({"by": ("cyp3a5", "cyp3a5")}, "twice"),
        ({"by": 3}, "by must be"),
        ({"day": 9}, r"day 9 is not in the dataset; allowed: integers 1\.\.4"),
        ({"day": 2.0}, "day must be a day number"),
        ({"day": True}, "day must be a day number"),
        ({"window": (3, 2)}, "first_day"),
        ({"window": (1, 7)}, "day 7 is not in the dataset"),
        ({"window": 3}, "window must be"),
        ({"window": (1, 2), "day": 2}, "either day or window"),
        ({"target": (10, 6)}, "lower < upper"),
        ({"target": (-1, 6)}, "lower < upper"),
        ({"target": ("6", 10)}, "target lower must be a number"),
        ({"target": 6}, "target must be"),
        ({"measured": "yes"}, "measured must be"),
    ],
)
def test_bad_arguments(kwargs, match):
    ds = synthetic_dataset(n_subjects=10, days=4)
    with pytest.raises(ValueError, match=match):
        target_attainment(ds, **kwargs)


def test_bad_datasets():
    ds = synthetic_dataset(n_subjects=10, days=2)
    with pytest.raises(ValueError, match=r"xarray\.Dataset"):
        target_attainment(ds["trough"])
    with pytest.raises(ValueError, match="no variable 'trough'"):
        target_attainment(ds.drop_vars("trough"))
    with pytest.raises(ValueError, match="must have dims"):
        target_attainment(ds.isel(day=0))
    with pytest.raises(ValueError, match="pass target"):
        target_attainment(ds.drop_vars(["target_lower", "target_upper"]))
    assert len(target_attainment(ds.drop_vars(["target_lower"]), target=(6, 10))) == 2
    broken = ds.copy(deep=True)
    broken["trough"].values[0, 0, -1] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        target_attainment(broken)
    with pytest.raises(ValueError, match="missing values"):
        target_attainment(ds.assign_coords(sex=("subject", [None] + ["F"] * 9)), by="sex")


# --- formatting ----------------------------------------------------------------------------------


def test_format_attainment():
    rng = np.random.default_rng(3)
    values = np.concatenate([np.full(37, 8.0), np.full(40, 3.0), np.full(23, 15.0)])
    text = format_attainment(target_attainment(_one_day(rng.permutation(values))))
    lines = text.splitlines()
    assert lines[0] == "Whole-blood trough concentration (ng/mL) on day 1"
    assert lines[1] == "target: induction 6\N{EN DASH}10 ng/mL"
    header, rule, row = lines[2], lines[3], lines[4]
    for name in ("regimen", "n", "median", "p5", "p95", "in range %", "95% CI", "below %"):
        assert name in header
    assert len(rule) >= len(row.rstrip())
    assert row.split() == [
        "3",
        "mg",
        "QD",
        "100",
        "8.00",
        "3.00",
        "3.00",
        "8.00",
        "15.00",
        "37.0",
        "28.2\N{EN DASH}46.8",
        "40.0",
        "23.0",
    ]


def test_format_subgroups_and_window():
    ds = synthetic_dataset(n_subjects=60, days=6)
    text = format_attainment(target_attainment(ds, by=("renal_impairment",), window=(4, 6)))
    assert "in range on every day of days 4\N{EN DASH}6" in text.splitlines()[0]
    assert "renal_impairment" in text
    assert " yes " in text and " no " in text


def test_format_bad_table():
    with pytest.raises(ValueError, match="DataFrame"):
        format_attainment("table")
    with pytest.raises(ValueError, match="lacks columns"):
        format_attainment(pd.DataFrame({"regimen": ["a"]}))

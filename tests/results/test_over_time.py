"""Attainment over time against independent references: plain Python loops over every subject
and day of small hand-made Datasets (counts, first in-range day, time in range, ever above and
below, dose changes) and ``numpy.percentile`` (percentiles of days and doses); any chunking
gives identical counts (hypothesis); the Dataset and the streamed paths agree on every bundled
scenario.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

import pksim
from pksim import contract
from pksim.results import dose_course
from pksim.results.over_time import OverTimeReducer
from pksim.results.over_time_spec import dataset_over_time_spec
from pksim.results.over_time_tables import assemble_over_time
from tests.synthetic import synthetic_dataset

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))
PARTS = ("daily", "weekly", "summary")


def _with_doses(ds: xr.Dataset, seed: int = 3) -> xr.Dataset:
    """``ds`` with a realised daily dose (0.5 mg steps, some held days) and dose changes."""
    rng = np.random.default_rng(seed)
    shape = ds["trough"].shape
    doses = 0.5 * rng.integers(2, 10, shape[:2])[:, :, None] * np.ones(shape[2])
    step_day = rng.integers(0, shape[2], shape[:2])
    later = np.arange(shape[2])[None, None, :] >= step_day[:, :, None]
    doses = np.where(later, doses + 0.5, doses)
    doses[:, ::3, 2] = 0.0  # every third subject holds day 3
    out = ds.copy()
    out[contract.REALISED_DAILY_DOSE] = (("regimen", "subject", "day"), doses)
    out[contract.DOSE_CHANGES] = (("regimen", "subject"), rng.integers(0, 3, shape[:2]))
    return out


def _reference(ds: xr.Dataset, by: str | None, first: int, last: int, above=15.0, below=3.0):
    """Everything by plain loops: per (regimen, level) dicts of the numbers of the tables."""
    trough = ds["trough"].transpose("regimen", "subject", "day")
    days = [int(d) for d in ds["day"].values if first <= int(d) <= last]
    lower, upper = ds["target_lower"].values, ds["target_upper"].values
    changes = ds.get(contract.DOSE_CHANGES)
    out = {}
    for r, regimen in enumerate(ds["regimen"].values):
        for i in range(ds.sizes["subject"]):
            level = "all" if by is None else ds[by].values[i]
            entry = out.setdefault(
                (str(regimen), level),
                {"n": 0, "daily": {d: [0, 0, 0] for d in days}, "weeks": {}, "first": []}
                | {"tir": [], "above": 0, "below": 0, "changes": 0, "changed": 0},
            )
            entry["n"] += 1
            hits = []
            for d in days:
                value = float(trough.sel(day=d).values[r, i])
                hit = lower[i] <= value <= upper[i]
                hits.append(hit)
                entry["daily"][d][0] += hit
                entry["daily"][d][1] += value < lower[i]
                entry["daily"][d][2] += value > upper[i]
            for week in sorted({(d - 1) // 7 + 1 for d in days}):
                every = all(h for h, d in zip(hits, days, strict=True) if (d - 1) // 7 + 1 == week)
                entry["weeks"][week] = entry["weeks"].get(week, 0) + every
            entry["first"].append(next((d for h, d in zip(hits, days, strict=True) if h), math.inf))
            entry["tir"].append(100.0 * sum(hits) / len(days))
            values = [float(trough.sel(day=d).values[r, i]) for d in days]
            entry["above"] += any(v > above for v in values)
            entry["below"] += any(v < below for v in values)
            if changes is not None:
                count = int(changes.transpose("regimen", "subject").values[r, i])
                entry["changes"] += count
                entry["changed"] += count > 0
    return out, days


def _check_against_reference(result, reference, days, by):
    ref, _ = reference
    for (regimen, level), entry in ref.items():
        pick = result.daily["regimen"] == regimen
        if by is not None:
            pick &= result.daily[by] == level
        daily = result.daily[pick].set_index("day")
        assert list(daily.index) == days
        n = entry["n"]
        assert (daily["n"] == n).all()
        for d in days:
            hits, low, high = entry["daily"][d]
            assert daily.loc[d, "pct_in_range"] == pytest.approx(100.0 * hits / n, abs=1e-12)
            assert daily.loc[d, "pct_below"] == pytest.approx(100.0 * low / n, abs=1e-12)
            assert daily.loc[d, "pct_above"] == pytest.approx(100.0 * high / n, abs=1e-12)
        pick = result.weekly["regimen"] == regimen
        if by is not None:
            pick &= result.weekly[by] == level
        weekly = result.weekly[pick].set_index("week")
        for week, count in entry["weeks"].items():
            assert weekly.loc[week, "pct_in_range_every_day"] == pytest.approx(100.0 * count / n)
        pick = result.summary["regimen"] == regimen
        if by is not None:
            pick &= result.summary[by] == level
        (row,) = result.summary[pick].to_dict("records")
        first = np.array(entry["first"])
        assert row["pct_never_in_range"] == pytest.approx(100.0 * np.isinf(first).mean())
        for name, q in (("p25", 25), ("median", 50), ("p75", 75)):
            expected = _percentile_with_never(first, q)
            assert row[f"first_in_range_day_{name}"] == pytest.approx(expected)
            tir = np.percentile(entry["tir"], q)
            assert row[f"pct_time_in_range_{name}"] == pytest.approx(tir, rel=1e-12)
        assert row["pct_time_in_range_mean"] == pytest.approx(np.mean(entry["tir"]), rel=1e-12)
        assert row["pct_ever_above"] == pytest.approx(100.0 * entry["above"] / n)
        assert row["pct_ever_below"] == pytest.approx(100.0 * entry["below"] / n)
        assert row["mean_dose_changes"] == pytest.approx(entry["changes"] / n)
        assert row["pct_dose_changed"] == pytest.approx(100.0 * entry["changed"] / n)


def _percentile_with_never(first: np.ndarray, q: float) -> float:
    """numpy's linear percentile of the first in-range days; with subjects never in range
    (inf), the same order statistics, inf when the percentile interpolates towards one."""
    if np.isfinite(first).all():
        return float(np.percentile(first, q))
    ordered = np.sort(first)
    position = (ordered.size - 1) * q / 100.0
    low = math.floor(position)
    a, b = ordered[low], ordered[min(low + 1, ordered.size - 1)]
    if position == low or a == b:
        return float(a)
    return math.inf if math.isinf(b) else float(a + (b - a) * (position - low))


# --------------------------------------------------------------------------- hand-made Datasets


def _hand_made() -> xr.Dataset:
    """Two regimens, six subjects, ten days, troughs chosen to hit every case: in range from
    day 1, reaching the range late, never in range, above 15, below 3, a renal-impaired
    subject (target 0-4), a bound exactly on a limit."""
    a = [
        [7, 7, 7, 7, 7, 7, 7, 7, 7, 7],  # always in range
        [1, 2, 4, 5, 6, 8, 9, 11, 16, 9],  # reaches day 5, above 15 on day 9
        [2, 2, 2, 2, 2, 2.5, 2, 2, 2, 2],  # never (target 6-10), always below 3
        [10, 10.0001, 10, 15, 5.9999, 6, 6, 6, 6, 6],  # limits inclusive; 15 is not above 15
        [3, 3.5, 4, 4.5, 4, 3, 2, 1, 0.5, 0],  # renal: 0-4
        [20, 18, 16, 14, 12, 10, 8, 6, 4, 2],  # over-exposed first
    ]
    b = [[x * 1.2 for x in row] for row in a]
    ds = synthetic_dataset(np.array([a, b]), renal_fraction=0.0)
    renal = np.array([False, False, False, False, True, False])
    ds["target_lower"] = ("subject", np.where(renal, 0.0, 6.0))
    ds["target_upper"] = ("subject", np.where(renal, 4.0, 10.0))
    ds = ds.assign_coords(renal_impairment=("subject", renal))
    ds = ds.assign_coords(cyp3a5=("subject", np.array(["*1/*1", "*3/*3"] * 3, dtype=object)))
    return ds


@pytest.mark.parametrize("by", [None, "cyp3a5"])
@pytest.mark.parametrize("span", [None, (3, 9)])
def test_hand_made_dataset_against_loops(by, span):
    ds = _with_doses(_hand_made())
    result = pksim.attainment_over_time(
        ds, by="regimen" if by is None else ("regimen", by), span=span
    )
    first, last = span or (1, 10)
    reference = _reference(ds, by, first, last)
    _check_against_reference(result, reference, reference[1], by)
    assert result.summary.attrs["first_day"] == first and result.summary.attrs["last_day"] == last


def test_hand_made_known_answers():
    """A few numbers worked out by hand from the troughs of :func:`_hand_made`."""
    result = pksim.attainment_over_time(_hand_made())
    row = result.summary.iloc[0]  # regimen A, everyone
    # first in-range days: 1, 5, never, 1, 1 (renal: 3 <= 4), 6 -> sorted 1 1 1 5 6 inf
    assert row["pct_never_in_range"] == pytest.approx(100 / 6)
    assert row["first_in_range_day_median"] == 3.0  # between 1 and 5
    assert row["first_in_range_day_p75"] == pytest.approx(5.75)  # 5 + 0.75 * (6 - 5)
    # ever above 15: subjects 2 (16) and 6 (20, 18, 16); ever below 3: 2, 3, 5 and 6
    assert row["pct_ever_above"] == pytest.approx(200 / 6)
    assert row["pct_ever_below"] == pytest.approx(400 / 6)
    day1 = result.daily.iloc[0]
    assert day1["day"] == 1 and day1["pct_in_range"] == pytest.approx(300 / 6)  # 1, 4, 5
    assert row["mean_dose_changes"] == 0.0 and row["pct_dose_changed"] == 0.0  # none known
    # strictly below 2: subjects 2 (1) and 5 (1, 0.5, 0), not 3 and 6 (exactly 2)
    strict = pksim.attainment_over_time(_hand_made(), below_ng_per_ml=2.0).summary.iloc[0]
    assert strict["pct_ever_below"] == pytest.approx(200 / 6)
    assert result.dose is None and not result.dose_varies


def test_weekly_every_day_rule():
    """Week 2 of a ten-day span has days 8-10 only; every evaluated day must be in range."""
    result = pksim.attainment_over_time(_hand_made())
    weekly = result.weekly[result.weekly["regimen"] == result.weekly["regimen"].iloc[0]]
    assert list(weekly["week"]) == [1, 2]
    assert list(weekly["first_day"]) == [1, 8] and list(weekly["last_day"]) == [7, 10]
    assert list(weekly["days_evaluated"]) == [7, 3]
    # week 1: subject 1 only (subject 4 leaves on day 2, renal subject 5 on day 4)
    assert weekly["pct_in_range_every_day"].iloc[0] == pytest.approx(100 / 6)
    # week 2: subjects 1, 4 (6, 6, 6) and the renal subject 5 (1, 0.5, 0: within 0-4)
    assert weekly["pct_in_range_every_day"].iloc[1] == pytest.approx(300 / 6)


def test_dose_percentiles_are_numpys():
    ds = _with_doses(_hand_made())
    dose = pksim.attainment_over_time(ds).dose
    values = ds[contract.REALISED_DAILY_DOSE].transpose("regimen", "subject", "day").values
    for r, regimen in enumerate(ds["regimen"].values):
        rows = dose[dose["regimen"] == regimen]
        for t, row in enumerate(rows.itertuples()):
            for name, q in (("p5", 5), ("p25", 25), ("median", 50), ("p75", 75), ("p95", 95)):
                assert getattr(row, f"dose_{name}") == pytest.approx(
                    np.percentile(values[r, :, t], q), rel=1e-15
                )
            assert row.pct_no_dose == pytest.approx(100.0 * (values[r, :, t] == 0).mean())
    assert dose.attrs["percentiles"].startswith("exact")
    assert pksim.attainment_over_time(ds).dose_varies


def test_many_distinct_doses_use_the_histogram(monkeypatch):
    monkeypatch.setattr(dose_course, "EXACT_DOSE_LIMIT", 4)
    ds = _with_doses(synthetic_dataset(n_subjects=50, days=5))
    values = ds[contract.REALISED_DAILY_DOSE].values * np.linspace(1.0, 1.5, 50)[None, :, None]
    ds[contract.REALISED_DAILY_DOSE] = (("regimen", "subject", "day"), values)
    dose = pksim.attainment_over_time(ds).dose
    assert dose.attrs["percentiles"].startswith("histogram")
    expected = np.percentile(values[0, :, 0], 50)
    assert dose["dose_median"].iloc[0] == pytest.approx(
        expected, rel=dose_course.DOSE_BINS.relative_error
    )


def test_measured_troughs_below_lloq_count_as_zero():
    ds = synthetic_dataset(n_subjects=40, days=6)
    result = pksim.attainment_over_time(ds, measured=True, below_ng_per_ml=1.5)
    measured = np.where(ds["below_lloq"].values, 0.0, ds["trough_measured"].values)
    assert result.summary["pct_ever_below"].iloc[0] == pytest.approx(
        100.0 * (measured[0] < 1.5).any(axis=1).mean()
    )
    assert result.daily.attrs["variable"] == "trough_measured"


def test_target_override_and_limits():
    ds = _hand_made()
    result = pksim.attainment_over_time(ds, target=(5.0, 12.0), above_ng_per_ml=19.0)
    trough = ds["trough"].values[0]
    assert result.daily["pct_in_range"].iloc[0] == pytest.approx(
        100.0 * ((trough[:, 0] >= 5) & (trough[:, 0] <= 12)).mean()
    )
    assert result.summary["pct_ever_above"].iloc[0] == pytest.approx(100 / 6)  # only 20 > 19
    assert result.summary["above_ng_per_ml"].iloc[0] == 19.0
    assert "override" in result.daily.attrs["target"]


# --------------------------------------------------------------------------- merging


def _reduce_in_chunks(ds: xr.Dataset, spec, cuts: list[int]):
    reducer = OverTimeReducer(spec)
    bounds = [0, *cuts, ds.sizes["subject"]]
    total = None
    for start, stop in itertools.pairwise(bounds):
        part = reducer.reduce(ds.isel(subject=slice(start, stop)))
        total = part if total is None else reducer.merge(total, part)
    return total


@given(
    seed=st.integers(0, 2**16),
    n=st.integers(2, 40),
    cuts=st.lists(st.floats(0.01, 0.99), max_size=5),
    with_doses=st.booleans(),
    exact_limit=st.sampled_from([3, 1024]),
)
def test_any_chunking_gives_identical_counts(seed, n, cuts, with_doses, exact_limit):
    ds = synthetic_dataset(n_subjects=n, days=9, seed=seed)
    if with_doses:
        ds = _with_doses(ds, seed)
    spec = dataset_over_time_spec(
        ds,
        [("regimen",), ("regimen", "cyp3a5"), ("regimen", "weight_band", "renal_impairment")],
        span=None,
        measured=False,
        target=None,
        above_ng_per_ml=9.0,
        below_ng_per_ml=4.0,
    )
    positions = sorted({max(1, min(n - 1, int(c * n))) for c in cuts})
    original = dose_course.EXACT_DOSE_LIMIT
    dose_course.EXACT_DOSE_LIMIT = exact_limit  # hypothesis and monkeypatch do not mix
    try:
        whole = assemble_over_time(spec, OverTimeReducer(spec).reduce(ds), target_label="x")
        pieces = assemble_over_time(spec, _reduce_in_chunks(ds, spec, positions), target_label="x")
    finally:
        dose_course.EXACT_DOSE_LIMIT = original
    for a, b in zip(whole, pieces, strict=True):
        for part in PARTS:
            pd.testing.assert_frame_equal(getattr(a, part), getattr(b, part), check_exact=True)
        if with_doses:
            pd.testing.assert_frame_equal(a.dose, b.dose, check_exact=True)
            assert a.dose.attrs == b.dose.attrs
        else:
            assert a.dose is None and b.dose is None


# --------------------------------------------------------------------------- the two paths


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_dataset_and_streamed_paths_agree(path):
    scenario = pksim.load_scenario(path)
    ds = pksim.run(scenario, 120, 11)
    reference = pksim.attainment_over_time(ds, by=("regimen", "cyp3a5"))
    streamed = pksim.summarize_over_time(
        scenario, 120, 11, by=("regimen", "cyp3a5"), chunk_subjects=50, threads=2
    )
    for part in PARTS:
        pd.testing.assert_frame_equal(
            getattr(reference, part), getattr(streamed, part), check_exact=True
        )
        assert getattr(reference, part).attrs == getattr(streamed, part).attrs
    day = scenario.days
    attainment = pksim.target_attainment(ds, by=("regimen", "cyp3a5"), day=day)
    last = reference.daily[reference.daily["day"] == day]
    np.testing.assert_array_equal(last["pct_in_range"], attainment["pct_in_range"])


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"span": (0, 5)}, r"span: day 0 is not in the dataset; allowed: integers 1..10"),
        ({"span": (6, 5)}, r"first_day \(6\) must be <= last_day \(5\)"),
        ({"span": 5}, r"span must be \(first_day, last_day\)"),
        ({"span": (1.5, 5)}, r"span must hold day numbers"),
        ({"above_ng_per_ml": -1}, r"above_ng_per_ml must be a finite concentration > 0"),
        ({"below_ng_per_ml": "3"}, r"below_ng_per_ml must be a concentration in ng/mL"),
        ({"by": "weight_kg"}, r"continuous \(float\) coordinate"),
        ({"by": "genotype"}, r"unknown grouping"),
        ({"measured": 1}, r"measured must be True or False"),
        ({"target": (5, 4)}, r"0 <= lower < upper"),
    ],
)
def test_bad_arguments_are_named(arguments, message):
    with pytest.raises(ValueError, match=message):
        pksim.attainment_over_time(_hand_made(), **arguments)


def test_bad_datasets_are_named():
    with pytest.raises(ValueError, match=r"must be an xarray\.Dataset"):
        pksim.attainment_over_time(pd.DataFrame())
    with pytest.raises(ValueError, match="no variable 'trough_measured'"):
        pksim.attainment_over_time(_hand_made().drop_vars("trough_measured"), measured=True)
    bad = _hand_made()
    bad[contract.REALISED_DAILY_DOSE] = (("regimen", "subject"), np.ones((2, 6)))
    with pytest.raises(ValueError, match="realised_daily_dose_mg must have dims"):
        pksim.attainment_over_time(bad)
    bad = _with_doses(_hand_made())
    bad[contract.REALISED_DAILY_DOSE][0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite doses >= 0"):
        pksim.attainment_over_time(bad)
    bad = _with_doses(_hand_made())
    bad[contract.DOSE_CHANGES] = bad[contract.DOSE_CHANGES].astype(float)
    with pytest.raises(ValueError, match="dose_changes must hold whole numbers"):
        pksim.attainment_over_time(bad)
    bad = _hand_made()
    bad["trough"][0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        pksim.attainment_over_time(bad)

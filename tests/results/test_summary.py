"""Streamed attainment tables and chunked stores: equal to the in-memory path, bounded memory.

The reference for every streamed table is ``pksim.target_attainment`` on the full Dataset of
``pksim.run`` (the whole cohort as one chunk, tested against published and analytic values in
test_attainment.py); percentiles from the histogram are checked against numpy's exact
percentiles with the documented error bound.
"""

import math
import sys
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import pksim
from pksim import cli
from pksim.engine import store
from pksim.results import summary as stream
from pksim.results.percentiles import PERCENTILES, TABLE_BINS
from pksim.results.summary_csv import CONCENTRATION_DECIMALS, rounded
from pksim.scenario import scenario_from_text
from tests.engine.test_run import SMALL

N = 240
CHUNK = 37  # not a divisor of N nor of the random block size


@pytest.fixture(scope="module")
def scenario():
    return scenario_from_text(SMALL)


@pytest.fixture(scope="module")
def dataset(scenario):
    return pksim.run(scenario, n_subjects=N)


CASES = [
    {},
    {"by": ("regimen", "cyp3a5")},
    {"by": ("regimen", "comedication", "renal_impairment"), "day": 5},
    {"by": "weight_band", "window": (3, 8), "measured": True},
    {"measured": True, "target": (2.0, 8.0)},
]


def _reference(dataset, kwargs):
    """target_attainment on the full Dataset, with the same (default) days."""
    return pksim.target_attainment(dataset, **kwargs)


@pytest.mark.parametrize("kwargs", CASES)
def test_exact_summary_equals_target_attainment_on_the_full_dataset(scenario, dataset, kwargs):
    reference = _reference(dataset, kwargs)
    got = stream.summarize(scenario, N, percentiles="exact", chunk_subjects=CHUNK, **kwargs)
    assert got.attrs["percentiles"].startswith("exact")
    pd.testing.assert_frame_equal(got, reference, check_exact=True)
    assert got.attrs == reference.attrs
    if not kwargs:  # the scenario's default (the last day, 10), made explicit
        pd.testing.assert_frame_equal(got, pksim.target_attainment(dataset, day=10))


@pytest.mark.parametrize("kwargs", CASES)
def test_histogram_summary_has_exact_counts_and_percentiles_within_the_bound(
    scenario, dataset, kwargs
):
    reference = _reference(dataset, kwargs)
    got = stream.summarize(scenario, N, chunk_subjects=CHUNK, **kwargs)
    columns = list(PERCENTILES)
    pd.testing.assert_frame_equal(
        got.drop(columns=columns), reference.drop(columns=columns), check_exact=True
    )
    np.testing.assert_allclose(
        got[columns].to_numpy(),
        reference[columns].to_numpy(),
        rtol=stream.HISTOGRAM_RELATIVE_ERROR,
        atol=0,
    )
    assert "histogram" in got.attrs["percentiles"]
    got.attrs.pop("percentiles"), reference.attrs.pop("percentiles")
    assert got.attrs == reference.attrs


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 400), min_size=1, max_size=4),
    mu=st.floats(-2.0, 3.5),
    sigma=st.floats(0.01, 2.0),
    seed=st.integers(0, 2**32 - 1),
    zeros=st.integers(0, 5),
)
def test_histogram_percentiles_are_within_half_a_bin_of_numpy(sizes, mu, sigma, seed, zeros):
    """Log-normal troughs (plus some exact zeros) split over chunks: every percentile from the
    summed histograms is within HISTOGRAM_RELATIVE_ERROR of numpy's exact linear percentile."""
    generator = np.random.default_rng(seed)
    chunks = [np.clip(generator.lognormal(mu, sigma, size), 1e-3, 1e3) for size in sizes]
    chunks[0][: min(zeros, sizes[0])] = 0.0
    histogram = sum(np.bincount(TABLE_BINS.index(c), minlength=TABLE_BINS.size) for c in chunks)
    got = TABLE_BINS.percentiles(histogram)
    values = np.concatenate(chunks)
    for name, q in PERCENTILES.items():
        exact = np.percentile(values, q)
        assert abs(got[name] - exact) <= stream.HISTOGRAM_RELATIVE_ERROR * exact, name


def test_histogram_keeps_zero_exact_and_refuses_to_guess_outside_its_range():
    histogram = np.bincount(
        TABLE_BINS.index(np.array([0.0, 0.0, 0.0, 5e-6, 2e4])), minlength=TABLE_BINS.size
    )
    got = TABLE_BINS.percentiles(histogram)
    assert got["p5"] == 0.0 and got["median"] == 0.0
    assert math.isnan(got["p95"])  # between 5e-6 (underflow) and 2e4 (overflow)
    with pytest.raises(ValueError, match="NaN"):
        TABLE_BINS.index(np.array([1.0, np.nan]))
    assert (
        stream.HISTOGRAM_RELATIVE_ERROR == TABLE_BINS.relative_error == pytest.approx(2.3e-4, 0.01)
    )


def test_summary_memory_does_not_grow_with_the_cohort(scenario):
    """Peak traced memory for 16 chunks stays that of 4 chunks (it would grow 4x if troughs
    were kept); the exact mode, which keeps them, does grow."""

    def peak(n, percentiles):
        tracemalloc.start()
        stream.summarize(scenario, n, chunk_subjects=256, percentiles=percentiles, threads=1)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    stream.summarize(scenario, 256, chunk_subjects=256)  # warm caches
    small, large = peak(4 * 256, "histogram"), peak(16 * 256, "histogram")
    assert large < 1.2 * small
    assert peak(16 * 256, "exact") > peak(4 * 256, "exact") + 8 * 12 * 256 * 2  # 8 B x kept


@pytest.mark.parametrize(
    ("target", "days"), [("day = 4", (4, 4, False)), ("window = [3, 6]", (3, 6, True))]
)
def test_summary_and_dataset_default_to_the_scenario_target(target, days):
    text = SMALL.replace("seed = 7", f"seed = 7\n[target]\nphase = 'induction'\n{target}")
    with_target = scenario_from_text(text)
    got = stream.summarize(with_target, 50, percentiles="exact")
    assert set(got.first_day) == {days[0]} and got.attrs["last_day"] == days[1]
    assert got.attrs["window"] is days[2]
    pd.testing.assert_frame_equal(got, pksim.target_attainment(pksim.run(with_target, 50)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": ("regimen", "cyp3a")}, 'did you mean "cyp3a5"'),
        ({"by": "weight_kg"}, "continuous"),
        ({"day": 11}, "day 11 is not in the scenario; allowed: integers 1..10"),
        ({"day": 2, "window": (1, 3)}, "either day or window"),
        ({"window": (5, 3)}, "must be <="),
        ({"percentiles": "approx"}, "valid: exact, histogram"),
        ({"target": (5, 1)}, "0 <= lower < upper"),
        ({"threads": 0}, "threads must be"),
    ],
)
def test_bad_summary_arguments(scenario, kwargs, message):
    with pytest.raises(ValueError, match=message):
        stream.summarize(scenario, 20, **kwargs)


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_store_holds_exactly_the_in_memory_dataset(tmp_path, suffix, scenario):
    text = SMALL + "profiles = true\nprofile_step_h = 12\n"
    with_profiles = scenario_from_text(text)
    reference = pksim.run(with_profiles, n_subjects=90)
    path = tmp_path / f"result{suffix}"
    for _ in range(2):  # the second run replaces the first store
        with pksim.run(with_profiles, n_subjects=90, chunk_subjects=CHUNK, store=path) as ds:
            xr.testing.assert_identical(ds.load(), reference)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_interrupted_store_write_leaves_nothing_and_keeps_the_old_store(tmp_path, suffix, dataset):
    path = tmp_path / f"result{suffix}"
    store.write(path, [dataset.isel(subject=slice(0, 10))], attrs={"old": 1})

    def chunks():
        yield dataset.isel(subject=slice(0, 20))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.write(path, chunks(), attrs={})
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    with store.open_store(path) as old:
        assert old.sizes["subject"] == 10 and old.attrs["old"] == 1


def test_store_path_errors(scenario, monkeypatch, tmp_path):
    with pytest.raises(ValueError, match=r"did you mean \"\.zarr\""):
        pksim.run(scenario, n_subjects=5, store=tmp_path / "x.zar")
    with pytest.raises(ValueError, match="either lazy=True or store"):
        pksim.run(scenario, n_subjects=5, store=tmp_path / "x.nc", lazy=True)
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'pksim\[zarr\]'"):
        pksim.run(scenario, n_subjects=5, store=tmp_path / "x.zarr")
    assert not list(tmp_path.iterdir())


def test_cli_summary_only_matches_the_dataset_path(tmp_path, capsys):
    full, summary_only = tmp_path / "full", tmp_path / "summary"
    common = ["run", "-n", "120", "--seed", "5", "--no-plots", "--chunk-subjects", "50"]
    assert cli.main([*common, "--out", str(full)]) == 0
    assert cli.main([*common, "--summary-only", "--out", str(summary_only)]) == 0
    printed = capsys.readouterr().out
    assert "percentiles: histogram" in printed and "in range %" in printed
    over_time = ["over_time.csv", "over_time_summary.csv", "over_time_weekly.csv"]
    assert sorted(p.name for p in summary_only.iterdir()) == sorted(
        ["pksim-manifest.json", "summary.csv", *over_time]
    )
    a = pd.read_csv(full / "summary.csv", comment="#")
    b = pd.read_csv(summary_only / "summary.csv", comment="#")
    pd.testing.assert_frame_equal(a, b)  # the same reducer over the same chunks
    assert set(b.subgroup) >= {"all", "cyp3a5", "weight_band"}
    # ...and the tables of the stored result, recomputed in memory, agree with it.
    with store.open_store(full / "result.nc") as ds:
        reference = pksim.results.tidy_summary(
            [
                pksim.target_attainment(ds.load(), by=by)
                for by in ("regimen", "weight_band", "cyp3a5", "renal_impairment", "comedication")
            ]
        )
    columns = list(PERCENTILES)  # summary.csv is rounded for reading (summary_csv.rounded)
    pd.testing.assert_frame_equal(
        a.drop(columns=columns),
        rounded(reference).drop(columns=columns).astype({"level": str}),
        check_dtype=False,
    )
    half_step = 0.5 * 10.0**-CONCENTRATION_DECIMALS
    np.testing.assert_allclose(
        a[columns], reference[columns], rtol=stream.HISTOGRAM_RELATIVE_ERROR, atol=half_step
    )


def test_cli_writes_zarr_on_request(tmp_path):
    assert cli.main(["run", "-n", "30", "--no-plots", "--zarr", "--out", str(tmp_path)]) == 0
    with store.open_store(tmp_path / "result.zarr") as ds:
        assert ds.sizes["subject"] == 30 and ds.trough.attrs["units"] == "ng/mL"

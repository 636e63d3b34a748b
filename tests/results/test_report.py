"""One pass of ``pksim run``: the store, the tables and the plot data come from the same chunks,
equal what the in-memory Dataset gives, and only what is asked for is simulated.

References: ``pksim.run``'s in-memory Dataset, ``pksim.target_attainment`` on it, and numpy's
own percentiles of its troughs and profiles.
"""

from __future__ import annotations

import dataclasses
import importlib
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import pksim
from pksim.cohort import variability
from pksim.engine import prepare
from pksim.engine.store import open_store
from pksim.results import summary
from pksim.results.percentiles import PERCENTILES, RIBBON_BINS, TABLE_BINS
from pksim.results.plots import save_plots, write_plots
from pksim.results.report import SUBGROUPS, run_report
from pksim.scenario import scenario_from_text
from tests.engine.test_run import SMALL

engine_run = importlib.import_module("pksim.engine.run")  # the module (pksim.engine.run is also
# the name of the run function in pksim.engine)
N = 240
CHUNK = 37
WITH_PROFILES = SMALL + "profiles = true\nprofile_step_h = 6\n"
GROUPINGS = [("regimen",), *(("regimen", name) for name in SUBGROUPS)]


@pytest.fixture(scope="module")
def scenario():
    return scenario_from_text(WITH_PROFILES)


@pytest.fixture(scope="module")
def reference(scenario):
    return pksim.run(scenario, n_subjects=N)


@pytest.fixture(scope="module")
def stored(scenario, tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "result.nc"
    report = run_report(scenario, N, store=path, plots=True, chunk_subjects=CHUNK)
    return path, report


def test_the_store_holds_exactly_the_in_memory_dataset(stored, reference):
    path, report = stored
    with open_store(path) as ds:
        xr.testing.assert_identical(ds.load(), reference)
    assert report.attrs == reference.attrs


def test_tables_are_those_of_the_dataset(stored, reference):
    _, report = stored
    assert len(report.tables) == len(GROUPINGS)
    columns = list(PERCENTILES)
    for table, by in zip(report.tables, GROUPINGS, strict=True):
        expected = pksim.target_attainment(reference, by=by)
        pd.testing.assert_frame_equal(
            table.drop(columns=columns), expected.drop(columns=columns), check_exact=True
        )
        np.testing.assert_allclose(
            table[columns], expected[columns], rtol=TABLE_BINS.relative_error, atol=0
        )


def test_trough_course_is_numpys_percentiles_of_every_day(stored, reference):
    """Split by co-medication: the scenario gives rifampicin to only some subjects."""
    course = stored[1].trough_course
    taking = reference.comedication.values
    assert course.regimens == tuple(reference.regimen.values)
    assert course.levels == tuple((level,) for level in ("none", "rifampicin"))
    np.testing.assert_array_equal(course.axis, reference.day.values)
    troughs = reference.trough.transpose("regimen", "subject", "day").values
    for j, (level,) in enumerate(course.levels):
        for name, q in PERCENTILES.items():
            expected = np.percentile(troughs[:, taking == level], q, axis=1)  # (regimen, day)
            got = course.percentiles[name][:, j, :]
            np.testing.assert_allclose(got, expected, rtol=TABLE_BINS.relative_error, atol=0)


def test_ribbons_are_numpys_percentiles_at_every_time(stored, reference):
    ribbons = stored[1].ribbons
    np.testing.assert_array_equal(ribbons.axis, reference.time.values)
    profiles = reference.concentration.transpose("regimen", "subject", "time").values
    for name, q in PERCENTILES.items():
        expected = np.percentile(profiles, q, axis=1)
        got = ribbons.percentiles[name][:, 0, :]
        np.testing.assert_allclose(got, expected, rtol=RIBBON_BINS.relative_error, atol=0)
    assert (ribbons.percentiles["p95"][:, 0, 0] == 0.0).all()  # no dose absorbed at t = 0


def test_same_report_whatever_the_chunking_and_threads(stored, scenario):
    _, report = stored
    again = run_report(scenario, N, plots=True, chunk_subjects=100, threads=2)
    for a, b in zip(report.tables, again.tables, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    for name in PERCENTILES:
        np.testing.assert_array_equal(
            report.trough_course.percentiles[name], again.trough_course.percentiles[name]
        )
        np.testing.assert_array_equal(
            report.ribbons.percentiles[name], again.ribbons.percentiles[name]
        )


def test_a_summary_simulates_only_what_its_tables_need(scenario, monkeypatch):
    """No assay error, no profiles, only the grouping coordinates; every day (the attainment
    over time), though the attainment reducer itself asks for the target day only."""
    asked = []
    original = engine_run.dataset_chunk

    def spy(plan, start, stop, **outputs):
        asked.append(outputs)
        return original(plan, start, stop, **outputs)

    def no_assay_error(*args, **kwargs):
        raise AssertionError("the assay error was drawn")

    monkeypatch.setattr(engine_run, "dataset_chunk", spy)
    monkeypatch.setattr(variability, "residual_error", no_assay_error)
    report = run_report(scenario, N, chunk_subjects=CHUNK, threads=1)
    assert report.trough_course is None and report.ribbons is None
    assert asked and all(
        outputs["measured"] is False
        and outputs["profiles"] is False
        and outputs["days"] == (1, 10)
        and outputs["coordinates"] == frozenset(SUBGROUPS)
        for outputs in asked
    )
    summary.summarize(scenario, N, by="cyp3a5", chunk_subjects=CHUNK, threads=1)
    assert asked[-1]["coordinates"] == {"cyp3a5", "renal_impairment"}
    unasked = scenario.replace(output=dataclasses.replace(scenario.output, measured=False))
    assert "trough_measured" not in pksim.run(unasked, 10)  # a run draws none unasked
    asking = scenario.replace(output=dataclasses.replace(scenario.output, measured=True))
    with pytest.raises(AssertionError, match="assay error"):
        pksim.run(asking, 10)  # where measured troughs are asked for, they are drawn
    with pytest.raises(AssertionError, match="assay error"):
        summary.summarize(scenario, N, measured=True, chunk_subjects=CHUNK, threads=1)


def test_reduce_run_needs_a_store_or_a_reducer(scenario):
    with pytest.raises(ValueError, match="needs a store or at least one reducer"):
        engine_run.reduce_run(prepare(scenario, 10, None), ())


def test_memory_of_a_stored_run_with_plots_does_not_grow_with_the_cohort(tmp_path):
    """12 more chunks raise the peak of traced memory by less than one chunk's troughs:
    nothing of the cohort is kept between chunks, neither for the tables nor for the plots
    (exact percentiles, which keep the evaluated troughs, would exceed it)."""
    scenario = scenario_from_text(SMALL)
    chunk = 1024
    trough_bytes = chunk * len(scenario.regimens) * scenario.days * 8

    def peak(chunks: int, percentiles: str = "histogram") -> int:
        tracemalloc.start()
        run_report(
            scenario,
            chunks * chunk,
            store=tmp_path / f"r{chunks}.nc",
            plots=True,
            percentiles=percentiles,
            chunk_subjects=chunk,
            threads=1,
        )
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    peak(1)  # warm caches
    assert peak(16) - peak(4) < trough_bytes
    assert peak(16, "exact") - peak(4, "exact") > 12 * chunk * len(scenario.regimens) * 8


def test_report_plots_are_the_dataset_plots(stored, reference, tmp_path):
    _, report = stored
    from_report = write_plots(
        tmp_path / "report",
        report.tables,
        report.attrs,
        trough_course=report.trough_course,
        ribbons=report.ribbons,
        subgroup_titles=report.subgroup_titles,
    )
    from_dataset = save_plots(reference, tmp_path / "dataset")
    assert [p.name for p in from_report] == [p.name for p in from_dataset]
    assert "trough_course.png" in {p.name for p in from_report}
    assert "concentration_ribbons.png" in {p.name for p in from_report}

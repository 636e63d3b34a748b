"""Attainment over time in ``pksim run``: computed in the same pass as everything else, equal to
``pksim.attainment_over_time`` on the in-memory Dataset for every grouping, written as CSV
files, and drawn (the PTA course always, the realised dose only when it varies).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pksim
from pksim import cli, contract
from pksim.results.over_time_tables import OVER_TIME_FILES, tidy_over_time
from pksim.results.report import SUBGROUPS, run_report
from pksim.results.time_figures import (
    dose_course_figure,
    pta_over_time_figure,
    write_time_plots,
)
from pksim.scenario import DEFAULT_SCENARIO, scenario_from_text
from tests.engine.test_run import SMALL

N = 90
CHUNK = 40
GROUPINGS = ["regimen", *(("regimen", name) for name in SUBGROUPS)]


@pytest.fixture(scope="module")
def scenario():
    return scenario_from_text(SMALL)


@pytest.fixture(scope="module")
def dataset(scenario):
    return pksim.run(scenario, N)


@pytest.fixture(scope="module")
def with_doses(dataset):
    """The run with a realised dose that varies: held on day 4, +1 mg/day from day 7 for the
    even subjects."""
    doses = dataset[contract.DAILY_DOSE].values[:, :, None] * np.ones(dataset.sizes["day"])
    doses[:, :, 3] = 0.0
    doses[:, ::2, 6:] += 1.0
    out = dataset.copy()
    out[contract.REALISED_DAILY_DOSE] = (("regimen", "subject", "day"), doses)
    out[contract.DOSE_CHANGES] = (
        ("regimen", "subject"),
        (np.arange(N) % 2 == 0)[None, :] * [[1], [1]],
    )
    return out


def test_the_report_holds_the_in_memory_answer_for_every_grouping(scenario, dataset):
    report = run_report(scenario, N, chunk_subjects=CHUNK, threads=2)
    assert len(report.over_time) == len(GROUPINGS)
    for result, by in zip(report.over_time, GROUPINGS, strict=True):
        reference = pksim.attainment_over_time(dataset, by=by)
        for part in ("daily", "weekly", "summary"):
            pd.testing.assert_frame_equal(
                getattr(result, part), getattr(reference, part), check_exact=True
            )
    assert report.over_time[0].daily["day"].tolist()[: scenario.days] == list(
        range(1, scenario.days + 1)
    )


def test_a_one_day_run_has_no_attainment_over_time(scenario):
    one_day = scenario.replace(days=1, target=scenario.target)
    assert run_report(one_day, 20).over_time == ()


def test_the_cli_writes_the_tidy_tables(tmp_path, dataset):
    out = tmp_path / "out"
    assert cli.main(["run", "-n", str(N), "--seed", "7", "--no-plots", "--out", str(out)]) == 0
    scenario_ds = pksim.run(DEFAULT_SCENARIO, N, 7)
    results = [pksim.attainment_over_time(scenario_ds, by=by) for by in GROUPINGS]
    for part, name in OVER_TIME_FILES.items():
        written = pd.read_csv(out / name)
        expected = tidy_over_time(results, part)
        assert list(written.columns) == list(expected.columns)
        pd.testing.assert_frame_equal(
            written.drop(columns=["level"]),
            expected.drop(columns=["level"]),
            check_dtype=False,
            check_exact=False,
            rtol=1e-14,
        )
    assert not (out / "realised_dose.csv").exists()  # no realised doses in this run


def test_pta_figure(dataset):
    result = pksim.attainment_over_time(dataset)
    fig = pta_over_time_figure(result, dataset.attrs)
    top, bottom = fig.axes[:2]
    assert [line.get_label() for line in top.get_lines()] == list(dataset["regimen"].values)
    np.testing.assert_array_equal(
        top.get_lines()[0].get_ydata(), result.daily["pct_in_range"].iloc[: dataset.sizes["day"]]
    )
    assert top.get_ylim()[0] == 0.0 and top.get_ylim()[1] >= 100.0
    assert len(bottom.get_lines()) == 2 * dataset.sizes["regimen"]  # below and above
    title = fig.get_suptitle()
    assert dataset.attrs["title"] in title and f"n = {N}" in title and "seed 7" in title
    with pytest.raises(ValueError, match="compute it with by='regimen'"):
        pta_over_time_figure(pksim.attainment_over_time(dataset, by=("regimen", "cyp3a5")), {})


def test_dose_figure_and_files(with_doses, tmp_path):
    result = pksim.attainment_over_time(with_doses)
    assert result.dose_varies
    fig = dose_course_figure(result.dose, with_doses.attrs)
    assert len(fig.axes) >= with_doses.sizes["regimen"]
    first = result.dose[result.dose["regimen"] == result.dose["regimen"].iloc[0]]
    assert (first.loc[first["day"] == 4, "pct_no_dose"] == 100.0).all()
    written = write_time_plots(tmp_path, result, with_doses.attrs)
    assert [p.name for p in written] == ["pta_over_time.png", "realised_dose.png"]
    assert all(p.stat().st_size > 0 for p in written)
    steady = pksim.attainment_over_time(with_doses.drop_vars(contract.REALISED_DAILY_DOSE))
    assert [p.name for p in write_time_plots(tmp_path / "b", steady, {})] == ["pta_over_time.png"]
    assert result.summary["pct_dose_changed"].iloc[0] == pytest.approx(50.0)
    with pytest.raises(ValueError, match="dose table"):
        dose_course_figure(None, {})

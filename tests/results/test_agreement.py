"""One attainment answer: for every bundled scenario, with its own ``[target]`` and with a
``[target]`` window, ``target_attainment(run(s))`` and ``summarize(s)`` agree on every regimen.

The in-memory table (the whole Dataset reduced at once, exact percentiles; checked against
analytic and published values in test_attainment.py) is the reference: the streamed table with
exact percentiles must equal it bit for bit, and with histogram percentiles must have the same
subjects and percentages and percentiles within the histogram's documented relative error.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pksim
from pksim.results.percentiles import HISTOGRAM_RELATIVE_ERROR, PERCENTILES

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.toml"))
N_SUBJECTS = 300
SEED = 20261129
CHUNK = 128  # several chunks per run
COUNTS = ["regimen", "n", "pct_in_range", "pct_below", "pct_above"]
COUNTS += ["pct_in_range_ci_low", "pct_in_range_ci_high", "first_day", "last_day"]


def _with_window(scenario):
    """The scenario judged on a window of eight days in its middle."""
    first = max(1, scenario.days // 2)
    window = (first, min(scenario.days, first + 7))
    target = dataclasses.replace(scenario.target, day=None, window=window)
    return scenario.replace(target=target), window


def test_every_bundled_scenario_is_checked():
    """Every bundled scenario, with a day target and with a window target among them."""
    assert len(SCENARIOS) >= 8
    windows = [pksim.load_scenario(path).target.window is not None for path in SCENARIOS]
    assert any(windows) and not all(windows)


@pytest.mark.parametrize("windowed", [False, True], ids=["own target", "window"])
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_in_memory_and_streamed_attainment_agree(path, windowed):
    scenario = pksim.load_scenario(path)
    if windowed:
        scenario, (first, last) = _with_window(scenario)
    else:
        first, last = pksim.contract.target_days(scenario)
        windowed = scenario.target.window is not None
    reference = pksim.target_attainment(pksim.run(scenario, N_SUBJECTS, SEED))
    assert list(reference["regimen"]) == [r.name for r in scenario.regimens]
    assert (reference["n"] == N_SUBJECTS).all()
    assert set(reference["first_day"]) == {first} and set(reference["last_day"]) == {last}
    assert reference.attrs["window"] is windowed

    exact = pksim.summarize(
        scenario, N_SUBJECTS, seed=SEED, percentiles="exact", chunk_subjects=CHUNK
    )
    pd.testing.assert_frame_equal(exact, reference, check_exact=True)
    assert exact.attrs == reference.attrs

    streamed = pksim.summarize(scenario, N_SUBJECTS, seed=SEED, chunk_subjects=CHUNK)
    pd.testing.assert_frame_equal(streamed[COUNTS], reference[COUNTS], check_exact=True)
    columns = list(PERCENTILES)
    np.testing.assert_allclose(
        streamed[columns], reference[columns], rtol=HISTOGRAM_RELATIVE_ERROR, atol=0
    )

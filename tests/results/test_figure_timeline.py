"""The trough course marks dose changes: scheduled changes, holds, monitoring draws and the
doses set on their results, at the days the scenario gives (a day d's first dose at x = d - 1)."""

import json

import numpy as np

from pksim import contract
from pksim.results.figures import course_figure
from pksim.results.report import run_report
from pksim.scenario import scenario_from_text

SCENARIO = """
days = 30
[[regimens]]
name = "fixed"
daily_dose_mg = 3
doses_per_day = 2
[[regimens]]
name = "changing"
daily_dose_mg = 3
doses_per_day = 2
changes = [ { day = 20, daily_dose_mg = 4 } ]
holds = [ { first_day = 10, last_day = 12 } ]
[regimens.tdm]
sample_days = [7, 25]
rule = "proportional"
[target]
phase = "induction"
"""


def test_the_course_marks_changes_holds_and_monitoring():
    report = run_report(scenario_from_text(SCENARIO), 50, 1, plots=True)
    timeline = json.loads(report.attrs[contract.DOSE_TIMELINE])
    assert timeline == {
        "changing": {
            "changes": [20],
            "holds": [[10, 12]],
            "tdm_draws": [7, 25],
            "tdm_effective": [9, 27],
        }
    }
    fig = course_figure(report.trough_course, report.attrs)
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    for kind in ("scheduled dose change", "doses held", "monitoring draw (trough)",
                 "doses set by a monitoring result"):  # fmt: skip
        assert labels.count(kind) == 1, labels
    fixed, changing = fig.axes[:2]
    assert not any(line.get_linestyle() == "--" for line in fixed.get_lines())
    dashed = [line.get_xdata()[0] for line in changing.get_lines() if line.get_linestyle() == "--"]
    dotted = [line.get_xdata()[0] for line in changing.get_lines() if line.get_linestyle() == ":"]
    assert dashed == [19] and dotted == [8, 26]
    (hold,) = [p for p in changing.patches if p.get_label() == "doses held"]
    np.testing.assert_allclose([hold.get_x(), hold.get_x() + hold.get_width()], [9, 12])

"""What the app computes, without a browser: runs, side-by-side tables, downloads, speed, and
the one-patient prediction against the closed-form one-compartment model."""

from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd
import pytest

from pksim.app import patient, session
from pksim.app.i18n import LANGUAGES, TEXT, text
from pksim.app.scenario_form import bundled_mapping
from pksim.errors import ScenarioError
from pksim.library.parameters import load_parameter_set
from pksim.results.report import run_report
from pksim.scenario import load_scenario

WARM_UPDATE_S = 1.0
"""An update of 2000 subjects must take well under this once the kernels are compiled."""
UPDATE_SUBJECTS = 2000


@pytest.fixture(scope="module")
def outcome():
    mapping = bundled_mapping("ln-induction") | {"subjects": 400}
    return session.simulate(session.scenario_text(mapping, "test"))


def test_the_apps_run_is_pksim_runs(outcome):
    scenario = load_scenario("ln-induction")
    expected = run_report(scenario, 400, scenario.seed).tables
    for got, want in zip(outcome.report.tables, expected, strict=True):
        pd.testing.assert_frame_equal(got, want)


def test_regimens_side_by_side(outcome):
    table = outcome.report.tables[0]
    wide = session.comparison(table)
    assert list(wide.columns) == list(table["regimen"])
    for row in table.itertuples():
        assert wide.loc["% in range", row.regimen] == f"{row.pct_in_range:.1f}"
        assert wide.loc["median (ng/mL)", row.regimen] == f"{row.median:.2f}"
    by_cyp = session.subgroup_table(outcome, "cyp3a5")
    pivot = session.subgroup_comparison(by_cyp)
    for row in by_cyp.itertuples():
        assert pivot.loc[row.cyp3a5, row.regimen] == f"{row.pct_in_range:.1f}"
    assert "cyp3a5" in session.split_subgroups(outcome)
    with pytest.raises(ValueError, match="no table by 'sex'"):
        session.subgroup_table(outcome, "sex")


def test_downloads(outcome):
    data = session.csv_bytes(outcome.report)
    assert data.startswith(b"\xef\xbb\xbf")
    csv = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert list(csv.columns[:4]) == ["regimen", "subgroup", "level", "n"]
    workbook = pd.read_excel(io.BytesIO(session.excel_bytes(outcome.report)), sheet_name=None)
    assert list(workbook)[:2] == ["by regimen", "by weight_band"]
    assert workbook["by regimen"]["pct_in_range"].tolist() == pytest.approx(
        outcome.report.tables[0]["pct_in_range"].tolist()
    )
    report = session.report_bytes(outcome).decode("utf-8")
    assert report.startswith("<!DOCTYPE html>") and "pksim app" in report


def test_a_bad_scenario_gets_every_problem():
    mapping = bundled_mapping("ln-maintenance")
    mapping["regimens"][0]["daily_dose_mg"] = 3000
    mapping["days"] = 0
    with pytest.raises(ScenarioError) as raised:
        session.simulate(session.scenario_text(mapping, "test"))
    lines = [str(line) for line in raised.value.problems]
    assert any(line.startswith("days:") for line in lines)
    assert any("regimens[0].daily_dose_mg: 3000 mg/day is implausible" in line for line in lines)


def test_a_warm_update_of_2000_subjects_is_well_under_a_second():
    session.warm_up()
    mapping = bundled_mapping("ln-induction") | {"subjects": UPDATE_SUBJECTS}
    times = []
    for dose in (2.0, 3.0, 4.0):
        mapping["regimens"][0]["daily_dose_mg"] = dose
        start = time.perf_counter()
        session.simulate(session.scenario_text(mapping, "test"))
        times.append(time.perf_counter() - start)
    assert min(times) < WARM_UPDATE_S, times


def test_one_patient_matches_the_closed_form_model():
    """The reference patient of the default set (60 kg, 33 y, CYP3A5 *3/*3, hematocrit 35 %, no
    prednisone) on 1.5 mg BID: troughs = the sum of one-compartment oral doses with lag."""
    form = patient.PatientForm(
        weight_kg=60, age_y=33, hematocrit_pct=35, cyp3a5="*3/*3", prednisone_mg_per_day=0, days=7
    )
    prediction = patient.predict(form)
    typical = load_parameter_set("default").typical
    cl, v, ka, lag = (float(typical[k].value) for k in ("cl", "v", "ka", "tlag"))
    k = cl / v
    dose_mg = form.daily_dose_mg / form.doses_per_day
    dose_times = np.arange(0.0, 24.0 * form.days, 24.0 / form.doses_per_day)
    mg_per_l_to_ng_per_ml = 1000.0

    def concentration(t: float) -> float:
        since = t - dose_times - lag
        since = since[since > 0]
        shape = np.exp(-k * since) - np.exp(-ka * since)
        return float(np.sum(dose_mg * ka / (v * (ka - k)) * shape) * mg_per_l_to_ng_per_ml)

    expected = [concentration(24.0 * day) for day in range(1, form.days + 1)]
    np.testing.assert_allclose(prediction.troughs["trough_ng_per_ml"], expected, rtol=1e-10)
    assert prediction.troughs["day"].tolist() == list(range(1, form.days + 1))
    assert patient.patient_figure(prediction, (6, 10)).axes


def test_one_patient_mistakes_name_the_field_not_a_temporary_folder():
    with pytest.raises(ScenarioError) as raised:
        patient.predict(patient.PatientForm(weight_kg=5000, drug="no such drug"))
    message = str(raised.value)
    assert "column 'weight_kg': 5000 is outside the plausible range" in message
    assert "unknown co-medication 'no such drug'" in message
    assert "/tmp" not in message and "pksim-patient-" not in message


def test_every_interface_text_has_both_languages():
    for key, values in TEXT.items():
        assert len(values) == len(LANGUAGES) and all(v.strip() for v in values), key
    assert text("run", "zh") == "运行"
    with pytest.raises(ValueError, match="language must be one of"):
        text("run", "fr")


def test_over_time_results_when_doses_vary():
    mapping = bundled_mapping("paxlovid-hold") | {"subjects": 150}
    run = session.simulate(session.scenario_text(mapping, "test"))
    figures = session.over_time_figures(run)
    titles = [fig.get_suptitle() or fig.texts[0].get_text() for fig in figures]
    assert len(figures) == 2, titles  # PTA over time, and the realised dose (held days)
    dose = run.report.over_time[0].dose
    held = dose[
        (dose["day"] >= 15) & (dose["day"] <= 19) & (dose["regimen"] != "continue 2 mg/day")
    ]
    assert (held["pct_no_dose"] == 100).all()
    table = session.over_time_table(run)
    for row in run.report.over_time[0].summary.itertuples():
        assert f"<td>{row.regimen}</td>" in table and f"{row.pct_never_in_range:.1f}" in table
    workbook = pd.read_excel(io.BytesIO(session.excel_bytes(run.report)), sheet_name=None)
    sheets = ["over time, summary", "over time, daily", "realised dose"]
    assert list(workbook)[-3:] == sheets
    summary = workbook["over time, summary"]
    overall = summary[summary["subgroup"] == "all"]
    assert overall["pct_never_in_range"].tolist() == pytest.approx(
        run.report.over_time[0].summary["pct_never_in_range"].tolist()
    )
    one_day = session.simulate(session.scenario_text(bundled_mapping("new") | {"days": 1}, "t"))
    assert session.over_time_figures(one_day) == [] and session.over_time_table(one_day) == ""

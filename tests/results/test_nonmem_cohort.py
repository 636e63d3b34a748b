"""Simulated cohorts written as NONMEM-style data: the reader takes every file, and the written
doses integrated with the written true parameters give the cohort's true troughs."""

from __future__ import annotations

import csv
from collections import defaultdict

import numpy as np
import pytest

import pksim
from pksim.mipd import read_nonmem
from pksim.model import concentrations_general, concentrations_two_compartment
from pksim.results.nonmem_cohort import cohort_file_names
from pksim.scenario import scenario_from_text

write_cohort_nonmem = pksim.write_cohort_nonmem  # the public name

N = 24
RTOL = 1e-9

HEAD = """schema_version = 1
title = "cohort export"
subjects = 24
days = {days}
seed = 7

[population]
name = "chinese-adult-ln"
prednisone_mg_per_day = 20

[target]
phase = "maintenance"

[output]
measured = true
"""

FIXED = (
    HEAD.format(days=8)
    + """
[variability]
sampling_offset_min_h = -1
sampling_offset_max_h = 1
lloq_ng_per_ml = 4.0

[food]
condition = "fasted"
fraction_against_rule = 0.3

[[regimens]]
name = "3 mg/day BID, late and missed doses"
daily_dose_mg = 3
doses_per_day = 2
missed_dose_probability = 0.1
late_dose_max_h = 2
"""
)

OVER_TIME = (
    HEAD.format(days=14)
    + """
[[regimens]]
name = "BID, switch to Advagraf day 5, hold 8-9, 4 mg from day 11"
daily_dose_mg = 3
doses_per_day = 2
round_to_capsules = true
changes = [
  { day = 5, formulation = "advagraf", doses_per_day = 1 },
  { day = 11, daily_dose_mg = 4 },
]
holds = [ { first_day = 8, last_day = 9 } ]
"""
)

MONITORED = (
    HEAD.format(days=12)
    + """
[[regimens]]
name = "proportional TDM"
daily_dose_mg = 3
doses_per_day = 2
round_to_capsules = true
[regimens.tdm]
sample_days = [3, 7]
result_delay_days = 1
rule = "proportional"
aim_ng_per_ml = 4.5

[[regimens]]
name = "bayesian TDM"
daily_dose_mg = 3
doses_per_day = 2
round_to_capsules = true
[regimens.tdm]
sample_days = [3, 7]
result_delay_days = 1
rule = "bayesian"
aim_ng_per_ml = 4.5
"""
)

COMEDICATED = (
    HEAD.format(days=12)
    + """
[[regimens]]
name = "2 mg/day BID"
daily_dose_mg = 2
doses_per_day = 2

[[comedications]]
drug = "nirmatrelvir_ritonavir"
start_day = 4
stop_day = 8
fraction = 0.5

[[comedications]]
drug = "voriconazole"
start_day = 6
fraction = 0.5
"""
)

TWO_COMPARTMENT = (
    HEAD.format(days=6)
    + """
[parameters]
name = "andrews2019"

[[regimens]]
name = "QD Advagraf"
daily_dose_mg = 4
doses_per_day = 1
formulation = "advagraf"
"""
)

CASES = {
    "fixed": FIXED,
    "over_time": OVER_TIME,
    "monitored": MONITORED,
    "comedicated": COMEDICATED,
    "two_compartment": TWO_COMPARTMENT,
}


def _rows_by_id(path):
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = defaultdict(list)
    for row in rows:
        out[int(row["ID"])].append(row)
    return out


def _column(rows, name, where=None):
    return np.array([float(r[name]) for r in rows if where is None or where(r)])


def _reintegrate(rows):
    """Troughs of one subject's rows from its written doses and SIM_ columns alone."""
    doses = [r for r in rows if r["EVID"] == "1"]
    obs_t = _column(rows, "TIME", lambda r: r["EVID"] == "0")
    times, amounts = _column(doses, "TIME"), _column(doses, "AMT")
    ka, lag, f = _column(doses, "SIM_KA"), _column(doses, "SIM_TLAG"), _column(doses, "SIM_F")
    record_t = _column(rows, "TIME")
    unique, first = np.unique(record_t, return_index=True)
    cl = _column(rows, "SIM_CL")[first]  # NOCB: the CL/F of the interval ending at the record
    m = times.size
    kwargs = dict(
        dose_class=np.arange(m)[None, :],
        class_lag=lag,
        dose_f=f[None, :],
        cl_change_times=unique[:-1] if unique.size > 1 else None,
        cl_multipliers=cl[None, :] if unique.size > 1 else None,
    )
    common = (ka[None, :], [0.0], [1.0], times[None, :], amounts[None, :], obs_t)
    if "SIM_V" in rows[0]:
        return concentrations_general([1.0], [float(rows[0]["SIM_V"])], *common, **kwargs)[0]
    v1, q, v2 = (float(rows[0][c]) for c in ("SIM_V1", "SIM_Q", "SIM_V2"))
    return concentrations_two_compartment([1.0], [v1], [q], [v2], *common, **kwargs)[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_written_doses_reproduce_the_true_troughs(case, tmp_path):
    scenario = scenario_from_text(CASES[case])
    ds = pksim.run(scenario)
    written = write_cohort_nonmem(ds, tmp_path)
    assert set(written) == {r.name for r in scenario.regimens}
    for regimen, path in written.items():
        histories = read_nonmem(path)  # the reader takes it as written
        assert [h.id for h in histories] == [str(i) for i in range(1, N + 1)]
        by_id = _rows_by_id(path)
        true = ds["trough"].sel(regimen=regimen).values
        measured = ds["trough_measured"].sel(regimen=regimen).values
        for i, h in enumerate(histories):
            rows = by_id[i + 1]
            np.testing.assert_array_equal(
                h.dose_times, _column(rows, "TIME", lambda r: r["EVID"] == "1")
            )
            np.testing.assert_array_equal(
                _column(rows, "SIM_IPRED", lambda r: r["EVID"] == "0"), true[i]
            )
            np.testing.assert_array_equal(
                _column(rows, "DV", lambda r: r["EVID"] == "0"), measured[i]
            )
            np.testing.assert_allclose(_reintegrate(rows), true[i], rtol=RTOL, atol=0)


def test_the_written_doses_are_the_doses_simulated(tmp_path):
    """Holds give no dose, a formulation switch halves the doses a day, monitoring changes
    the amounts: the written doses show it (not just a trough that happens to agree)."""
    scenario = scenario_from_text(OVER_TIME)
    (path,) = write_cohort_nonmem(scenario, tmp_path).values()
    for h in read_nonmem(path):
        day = (h.dose_times // 24).astype(int) + 1
        assert not np.isin(day, [8, 9]).any()
        assert np.sum(day == 4) == 2 and np.sum(day == 5) == 1
        assert set(h.dose_amounts[day >= 11].tolist()) == {4.0}
        assert set(h.dose_amounts[day < 5].tolist()) == {1.5}
    scenario = scenario_from_text(MONITORED)
    ds = pksim.run(scenario)
    paths = write_cohort_nonmem(scenario, tmp_path / "tdm")
    for regimen, path in paths.items():
        realised = ds["realised_daily_dose_mg"].sel(regimen=regimen).values
        for i, h in enumerate(read_nonmem(path)):
            day = (h.dose_times // 24).astype(int)
            given = np.bincount(day, weights=h.dose_amounts, minlength=scenario.days)
            np.testing.assert_allclose(given, realised[i], rtol=1e-12)


def test_comedication_courses_read_back(tmp_path):
    scenario = scenario_from_text(COMEDICATED)
    ds = pksim.run(scenario)
    (path,) = write_cohort_nonmem(scenario, tmp_path).values()
    labels = ds["comedication"].values
    for label, h in zip(labels, read_nonmem(path), strict=True):
        courses = {c.drug: (c.start_day, c.stop_day) for c in h.comedications}
        expected = {}
        if "nirmatrelvir_ritonavir" in str(label):
            expected["nirmatrelvir_ritonavir"] = (4.0, 8.0)
        if "voriconazole" in str(label):
            expected["voriconazole"] = (6.0, None)
        assert courses == expected


def test_sparse_days_and_chunks_do_not_change_the_rows(tmp_path):
    scenario = scenario_from_text(FIXED)
    one = write_cohort_nonmem(scenario, tmp_path / "a", days=[3, 8], chunk_subjects=5)
    whole = write_cohort_nonmem(scenario, tmp_path / "b", days=[8, 3])
    for a, b in zip(one.values(), whole.values(), strict=True):
        assert a.read_text() == b.read_text()
        obs = [r for rows in _rows_by_id(a).values() for r in rows if r["EVID"] == "0"]
        assert len(obs) == 2 * N


def test_individualize_recovers_the_true_clearance(tmp_path):
    text = (
        HEAD.format(days=10).replace("subjects = 24", "subjects = 60")
        + """
[[regimens]]
name = "3 mg/day BID"
daily_dose_mg = 3
doses_per_day = 2
"""
    )
    scenario = scenario_from_text(text)
    (path,) = write_cohort_nonmem(scenario, tmp_path, days=[3, 7, 10]).values()
    fits = pksim.individualize(path, scenario.parameter_set)
    estimated = fits["individual"].sel(parameter="cl").values
    true = np.array([float(rows[0]["SIM_CL"]) for rows in _rows_by_id(path).values()])
    assert np.corrcoef(np.log(estimated), np.log(true))[0, 1] > 0.8


def test_bad_inputs_are_refused_clearly(tmp_path):
    scenario = scenario_from_text(FIXED)
    with pytest.raises(ValueError, match=r"unknown regimen 'nope'.*valid"):
        write_cohort_nonmem(scenario, tmp_path, regimens=["nope"])
    with pytest.raises(ValueError, match="days must be whole days from 1 to 8"):
        write_cohort_nonmem(scenario, tmp_path, days=[0, 3])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="is not a folder"):
        write_cohort_nonmem(scenario, blocker)
    with pytest.raises(ValueError, match="cannot create the folder"):
        write_cohort_nonmem(scenario, blocker / "below")
    with pytest.raises(ValueError, match="rows per file"):
        write_cohort_nonmem(scenario, tmp_path, n_subjects=2_000_000)
    assert list(tmp_path.iterdir()) == [blocker]


def test_nothing_half_written_when_a_chunk_fails(tmp_path, monkeypatch):
    from pksim.results import nonmem_cohort

    scenario = scenario_from_text(FIXED)
    calls = []
    real = nonmem_cohort.chunk_records

    def failing(plan, start, stop, regimens):
        calls.append(start)
        if len(calls) > 1:
            raise RuntimeError("disk on fire")
        return real(plan, start, stop, regimens)

    monkeypatch.setattr(nonmem_cohort, "chunk_records", failing)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_cohort_nonmem(scenario, tmp_path, chunk_subjects=5)
    assert list(tmp_path.iterdir()) == []


def test_a_changed_dataset_is_refused(tmp_path):
    scenario = scenario_from_text(FIXED)
    ds = pksim.run(scenario)
    ds["trough"][0, 3, 2] += 1e-9
    with pytest.raises(ValueError, match="not those of its scenario simulated again"):
        write_cohort_nonmem(ds, tmp_path)


def test_file_names_are_unique_and_plain():
    assert cohort_file_names(["3 mg/day BID", "3 mg/day  BID", "Ä"]) == [
        "3-mg-day-bid.csv",
        "3-mg-day-bid-2.csv",
        "regimen.csv",
    ]


def test_a_file_too_large_for_the_reader_is_written_with_a_warning(tmp_path, monkeypatch):
    from pksim.results import nonmem_cohort

    monkeypatch.setattr(nonmem_cohort, "MAX_DATASET_BYTES", 1000)
    with pytest.warns(UserWarning, match="more than pksim.mipd.read_nonmem reads"):
        (path,) = write_cohort_nonmem(scenario_from_text(FIXED), tmp_path).values()
    assert path.stat().st_size > 1000


def test_pksim_run_writes_the_cohort_with_nonmem(tmp_path, capsys):
    from pksim.cli import EXIT_BAD_INPUT, EXIT_OK, main

    scenario = tmp_path / "s.toml"
    scenario.write_text(FIXED)
    out, nonmem = tmp_path / "out", tmp_path / "nm"
    argv = ["run", str(scenario), "-n", "6", "--out", str(out), "--no-plots"]
    assert main([*argv, "--nonmem", str(nonmem)]) == EXIT_OK
    assert "wrote NONMEM-style datasets" in capsys.readouterr().out
    (path,) = nonmem.iterdir()
    assert len(read_nonmem(path)) == 6
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main([*argv, "--out", str(tmp_path / "out2"), "--nonmem", str(blocker)]) == (
        EXIT_BAD_INPUT
    )
    assert "is not a folder" in capsys.readouterr().err
    assert not (tmp_path / "out2").exists()  # refused before the run


MIPD_READY = (
    HEAD.format(days=20).replace(
        "prednisone_mg_per_day = 20",
        """prednisone_mg_per_day = 30
prednisone_taper_step_mg = 5
prednisone_taper_every_days = 3
prednisone_taper_first_step_day = 5
prednisone_taper_floor_mg = 10""",
    )
    + """
[parameters]
name = "default"
[parameters.overrides]
"iov.f" = 0

[food]
condition = "fasted"

[[regimens]]
name = "3 mg/day BID"
daily_dose_mg = 3
doses_per_day = 2
"""
)
"""What the MAP model describes too: no IOV, no random food, the IR product (the prednisone
taper is a time-varying PRED column)."""


def _mipd_troughs(path, pset):
    """Each subject's troughs through pksim.mipd's design and predictor, at the etas that
    give its true parameters (SIM_ columns of its first record and first dose)."""
    from pksim.mipd.design import design
    from pksim.mipd.predict import Predictor

    by_id = _rows_by_id(path)
    out = []
    for h in read_nonmem(path):
        d = design(h, pset)
        rows = by_id[int(h.id)]
        dose = next(r for r in rows if r["EVID"] == "1")
        true = {"cl": rows[0]["SIM_CL"], "v": rows[0]["SIM_V"], "ka": dose["SIM_KA"]}
        true |= {"tlag": dose["SIM_TLAG"], "f": dose["SIM_F"]}
        typical = dict(d.typical) | {"f": d.dose_f[0]}  # F's covariates sit on the doses
        eta = [np.log(float(true[p]) / typical[p]) for p in d.eta_parameter]
        out.append(Predictor(d, h.obs_times)(np.array(eta))[0])
    return np.array(out)


def test_the_mipd_prediction_path_gives_the_true_troughs(tmp_path):
    scenario = scenario_from_text(MIPD_READY)
    ds = pksim.run(scenario)
    (path,) = write_cohort_nonmem(ds, tmp_path / "a").values()
    true = ds["trough"].values[0]
    np.testing.assert_allclose(_mipd_troughs(path, scenario.parameter_set), true, rtol=RTOL)
    # a co-medication course: its clearance grid is rebuilt from COMED, so within its tolerance
    from pksim.modifiers.interactions import DEFAULT_LOG_TOLERANCE

    course = '\n[[comedications]]\ndrug = "nirmatrelvir_ritonavir"\nstart_day = 4\nstop_day = 8\n'
    scenario = scenario_from_text(MIPD_READY + course)
    ds = pksim.run(scenario)
    (path,) = write_cohort_nonmem(ds, tmp_path / "b").values()
    predicted = _mipd_troughs(path, scenario.parameter_set)
    error = np.abs(predicted / ds["trough"].values[0] - 1)
    assert 0 < error.max() < DEFAULT_LOG_TOLERANCE


def test_a_patient_table_cohort_keeps_its_patient_ids(tmp_path):
    table = tmp_path / "patients.csv"
    table.write_text(
        "patient_id,sex,age_y,weight_kg,hematocrit_pct,cyp3a5,egfr,cyp2c19\n"
        'LN-001,female,28,52.5,33.0,*3/*3,90,poor\n"B, ""2""",male,41,70,40,unknown,60,\n',
        encoding="utf-8",
    )
    text = FIXED.replace(
        'name = "chinese-adult-ln"', 'name = "chinese-adult-ln"\npatients_csv = "patients.csv"'
    )
    scenario = scenario_from_text(text.replace("subjects = 24", "subjects = 2"), base_dir=tmp_path)
    ds = pksim.run(scenario)
    (path,) = write_cohort_nonmem(scenario, tmp_path / "nm").values()
    by_id = _rows_by_id(path)
    assert [rows[0]["SIM_PATIENT_ID"] for rows in by_id.values()] == ["LN-001", 'B, "2"']
    assert by_id[1][0]["CYP2C19"] == "poor"
    assert by_id[2][0]["CYP3A5"] in {"0", "1", "2"}  # imputed with the run's seed, written
    histories = read_nonmem(path)
    for i, rows in enumerate(by_id.values()):
        np.testing.assert_allclose(_reintegrate(rows), ds["trough"].values[0, i], rtol=RTOL)
    assert histories[1].covariates["weight_kg"][0] == 70.0


@pytest.mark.parametrize("name", pksim.scenario.list_scenarios())
def test_every_bundled_scenario_reads_back_and_reintegrates(name, tmp_path):
    for path in write_cohort_nonmem(name, tmp_path, n_subjects=3).values():
        assert len(read_nonmem(path)) == 3
        for rows in _rows_by_id(path).values():
            true = _column(rows, "SIM_IPRED", lambda r: r["EVID"] == "0")
            np.testing.assert_allclose(_reintegrate(rows), true, rtol=RTOL, atol=0)

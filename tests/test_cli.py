"""Command line: outputs, exit codes, messages, atomic writes."""

from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

from pksim import cli, files
from pksim.cohort import variability
from pksim.results.course import CourseReducer
from pksim.scenario import scenario_path


def test_run_writes_result_summary_and_plots(tmp_path, capsys):
    assert cli.main(["run", "-n", "60", "--seed", "3", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "3 mg QD" in printed and "in range %" in printed
    ds = xr.open_dataset(tmp_path / "result.nc", engine="h5netcdf")
    assert ds.sizes["subject"] == 60 and ds.attrs["seed"] == 3
    assert ds.trough.attrs["units"] == "ng/mL"
    ds.close()
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert {"regimen", "subgroup", "level", "pct_in_range"} <= set(summary.columns)
    assert set(summary.subgroup) >= {"all", "cyp3a5"}
    assert (tmp_path / "trough_distribution.png").stat().st_size > 0
    assert not list(tmp_path.glob(".*.tmp"))


def test_run_reads_nothing_back(tmp_path, monkeypatch, capsys):
    """Tables and plots come from the pass that writes the store: no file is opened again."""

    def no_reading(*args, **kwargs):
        raise AssertionError("a result was read back")

    monkeypatch.setattr(xr, "open_dataset", no_reading)
    monkeypatch.setattr(xr, "open_zarr", no_reading)
    assert cli.main(["run", "-n", "80", "--out", str(tmp_path), "--chunk-subjects", "30"]) == 0
    assert "in range %" in capsys.readouterr().out
    assert (tmp_path / "result.nc").is_file() and (tmp_path / "trough_course.png").is_file()


def test_run_does_only_what_is_asked(tmp_path, monkeypatch):
    """--no-plots reduces no percentile course; --summary-only draws no assay error."""

    def forbidden(*args, **kwargs):
        raise AssertionError("work that no output needs")

    monkeypatch.setattr(CourseReducer, "reduce", forbidden)
    assert cli.main(["run", "-n", "40", "--no-plots", "--out", str(tmp_path / "a")]) == 0
    assert not list((tmp_path / "a").glob("*.png"))
    monkeypatch.setattr(variability, "residual_error", forbidden)
    assert cli.main(["run", "-n", "40", "--summary-only", "--out", str(tmp_path / "b")]) == 0
    assert cli.main(["run", "-n", "40", "--no-plots", "--out", str(tmp_path / "c")]) == 0
    asking = tmp_path / "measured.toml"  # a scenario whose [output] asks for measured troughs
    asking.write_text(scenario_path("ln-induction").read_text() + "\n[output]\nmeasured = true\n")
    with pytest.raises(AssertionError, match="no output needs"):  # the store holds them
        cli.main(["run", str(asking), "-n", "40", "--no-plots", "--out", str(tmp_path / "d")])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "ln-inducton"], 'did you mean "ln-induction"'),
        (["run", "-n", "0"], "n_subjects must be"),
        (["describe", "voriconazol"], 'did you mean "voriconazole"'),
        (["validate", "missing.toml"], "no such file"),
    ],
)
def test_bad_input_exits_2_with_a_message(argv, message, capsys, tmp_path):
    assert cli.main([*argv, *(["--out", str(tmp_path)] if argv[0] == "run" else [])]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_invalid_scenario_lists_every_problem(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('titel = "x"\n[[regimens]]\nname = "a"\ndaily_dose_mg = -3\n', encoding="utf-8")
    assert cli.main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and 'did you mean "title"' in err and "regimens[0].daily_dose_mg" in err


def test_validate_list_and_describe(capsys):
    assert cli.main(["validate", "ln-induction"]) == 0
    assert "valid (4 regimens" in capsys.readouterr().out
    assert cli.main(["list", "drugs"]) == 0
    assert "voriconazole" in capsys.readouterr().out
    assert cli.main(["describe", "伏立康唑"]) == 0
    assert "voriconazole" in capsys.readouterr().out.lower()
    assert cli.main(["describe", "default"]) == 0


def test_atomic_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "result.nc"
    target.write_text("old")

    def fail(path: Path) -> None:
        path.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        files.write_atomically(target, fail)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["result.nc"]

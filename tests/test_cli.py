"""Command line: outputs, exit codes, messages, atomic writes, the output folder."""

import errno
import hashlib
import importlib
import json
import os
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

from pksim import cli, files
from pksim.cohort import variability
from pksim.results import output_folder
from pksim.results.course import CourseReducer
from pksim.scenario import MAX_SUBJECTS, scenario_path
from tests.faults.common import tmpfs

SMALL = ["run", "-n", "20", "--chunk-subjects", "10", "--threads", "1"]
"""A small run (two chunks)."""
OVER_TIME = ["over_time.csv", "over_time_summary.csv", "over_time_weekly.csv"]
"""The attainment-over-time tables every run of more than one day writes."""


@pytest.fixture
def no_simulation(monkeypatch):
    """Fails a test that simulates: a refusal must come before any work."""

    def refuse(*args, **kwargs):
        raise AssertionError("simulated although the run was to be refused")

    monkeypatch.setattr(importlib.import_module("pksim.engine.run"), "map_chunks", refuse)


def test_run_writes_result_summary_and_plots(tmp_path, capsys):
    assert cli.main(["run", "-n", "60", "--seed", "3", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "3 mg QD" in printed and "in range %" in printed
    ds = xr.open_dataset(tmp_path / "result.nc", engine="h5netcdf")
    assert ds.sizes["subject"] == 60 and ds.attrs["seed"] == 3
    assert ds.trough.attrs["units"] == "ng/mL"
    ds.close()
    summary = pd.read_csv(tmp_path / "summary.csv", comment="#")
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


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_manifest_lists_every_published_file_with_its_checksum(tmp_path):
    out = tmp_path / "out"
    assert cli.main([*SMALL, "--out", str(out)]) == 0
    manifest = json.loads((out / "pksim-manifest.json").read_text())
    assert manifest["written_by"] == "pksim run" and manifest["run"]["n_subjects"] == 20
    on_disk = {p.name for p in out.iterdir()} - {"pksim-manifest.json"}
    assert set(manifest["files"]) == on_disk >= {"result.nc", "summary.csv", "trough_course.png"}
    for name, entry in manifest["files"].items():
        data = (out / name).read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert _names(tmp_path) == ["out"]  # no lock, no hidden folder left beside


def test_a_run_replaces_the_whole_set_of_files(tmp_path):
    """A summary-only run after a full one leaves no result store or plots of the first."""
    out = tmp_path / "out"
    assert cli.main([*SMALL, "--out", str(out)]) == 0
    assert cli.main([*SMALL, "--zarr", "--no-plots", "--out", str(out)]) == 0
    assert _names(out) == sorted(["pksim-manifest.json", "result.zarr", "summary.csv", *OVER_TIME])
    assert cli.main([*SMALL, "--summary-only", "--out", str(out)]) == 0
    assert _names(out) == sorted(["pksim-manifest.json", "summary.csv", *OVER_TIME])
    assert _names(tmp_path) == ["out"]


def test_a_folder_with_files_pksim_did_not_write_is_refused(tmp_path, no_simulation, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "result.nc").write_text("an old result")
    assert cli.main([*SMALL, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "notes.txt" in err and "did not write" in err and "result.nc" not in err
    assert _names(out) == ["notes.txt", "result.nc"] and _names(tmp_path) == ["mine"]


def test_files_that_are_not_pksims_are_never_removed(tmp_path, monkeypatch):
    """An operating system's folder file is kept; a file put in the folder during the run is
    moved into the new one."""
    out = tmp_path / "out"
    assert cli.main([*SMALL, "--no-plots", "--out", str(out)]) == 0
    (out / ".DS_Store").write_text("finder")
    progress = cli.ProgressBar.__call__

    def user_adds_a_file(self, done, total):
        (out / "notes.txt").write_text("written during the run")
        return progress(self, done, total)

    monkeypatch.setattr(cli.ProgressBar, "__call__", user_adds_a_file)
    assert cli.main([*SMALL, "--no-plots", "--seed", "9", "--out", str(out)]) == 0
    assert (out / ".DS_Store").read_text() == "finder"
    assert (out / "notes.txt").read_text() == "written during the run"
    assert json.loads((out / "pksim-manifest.json").read_text())["run"]["seed"] == 9
    assert _names(tmp_path) == ["out"]


@pytest.mark.parametrize(
    ("make", "out", "message"),
    [
        (lambda d: (d / "f").write_text("x"), "f", "exists and is a file, not a folder"),
        (lambda d: (d / "f").write_text("x"), "f/sub", "a part of this path is a file"),
        (lambda d: (d / "here").mkdir(), "here", "holds the current folder"),
    ],
)
def test_the_output_folder_is_checked_before_simulating(
    make, out, message, tmp_path, no_simulation, monkeypatch, capsys
):
    make(tmp_path)
    if out == "here":
        monkeypatch.chdir(tmp_path / "here")
    assert cli.main([*SMALL, "--summary-only", "--out", str(tmp_path / out)]) == 2
    assert message in capsys.readouterr().err


def test_a_read_only_file_system_is_found_before_simulating(tmp_path, no_simulation, capsys):
    with tmpfs(tmp_path / "ro", 2**20, "ro") as mount_point:
        assert cli.main([*SMALL, "--summary-only", "--out", str(mount_point / "out")]) == 2
        assert "read-only file system" in capsys.readouterr().err


def test_a_mount_point_is_refused(tmp_path, no_simulation, capsys):
    with tmpfs(tmp_path / "m", 2**20) as mount_point:
        assert cli.main([*SMALL, "--summary-only", "--out", str(mount_point)]) == 2
        assert "mount point" in capsys.readouterr().err and not list(mount_point.iterdir())


def test_permission_denied_in_plain_words(tmp_path, no_simulation, capsys):
    denied = PermissionError(errno.EACCES, "Permission denied", str(tmp_path))
    text = output_folder.plain_message(denied, tmp_path / "out")
    assert "permission denied" in text and "choose another --out" in text
    if os.geteuid() == 0:
        return  # root may write anywhere: the real case needs another user
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert cli.main([*SMALL, "--summary-only", "--out", str(locked / "out")]) == 2
    assert "permission denied" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--zarr", "--summary-only"], "--summary-only does not write"),
        (["--threads", "2", "--workers", "2"], "drop --threads"),
        (["-n", str(MAX_SUBJECTS + 1)], f"from 1 to {MAX_SUBJECTS:,}"),
    ],
)
def test_options_that_would_do_nothing_are_refused(extra, message, tmp_path, no_simulation, capsys):
    assert cli.main(["run", *extra, "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err and not list(tmp_path.iterdir())


def test_the_stale_lock_of_a_dead_run_is_taken_over(tmp_path):
    lock = tmp_path / ".out.pksim-lock"
    lock.write_text(json.dumps({"pid": _dead_pid(), "host": "here", "since": "yesterday"}))
    assert cli.main([*SMALL, "--summary-only", "--out", str(tmp_path / "out")]) == 0
    assert _names(tmp_path) == ["out"]


def test_a_held_lock_keeps_a_run_out(tmp_path, no_simulation, capsys):
    with files.exclusive_lock(tmp_path / ".out.pksim-lock"):
        assert cli.main([*SMALL, "--out", str(tmp_path / "out")]) == 2
    assert f"another pksim run (PID {os.getpid()}" in capsys.readouterr().err
    assert _names(tmp_path) == []


def test_temporaries_of_runs_that_are_gone_are_removed(tmp_path):
    """Beside a file written atomically: a dead process's temporary and an old one without an
    owner go; a live process's, another host's recent one and a recent one without owner stay."""
    host, old = files.host_id(), time.time() - 2 * files.STALE_AFTER_S
    names = {
        "dead": f".result.nc.{'a' * 12}.{_dead_pid()}@{host}.tmp",
        "live": f".result.nc.{'b' * 12}.{os.getpid()}@{host}.tmp",
        "other host": f".result.nc.{'c' * 12}.{_dead_pid()}@00000000.tmp",
        "old, no owner": f".result.nc.{'d' * 12}.tmp",
        "recent, no owner": f".result.nc.{'e' * 12}.tmp",
        "another file's": f".summary.csv.{'f' * 12}.{_dead_pid()}@{host}.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x" * 1000)
    os.utime(tmp_path / names["old, no owner"], (old, old))
    files.write_atomically(tmp_path / "result.nc", lambda path: path.write_text("new"))
    kept = {"live", "other host", "recent, no owner", "another file's"}
    assert _names(tmp_path) == sorted(["result.nc", *(names[k] for k in kept)])


def _dead_pid() -> int:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def test_without_an_atomic_swap_the_folder_is_still_replaced_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "exchange", lambda first, second: False)
    out = tmp_path / "out"
    for seed in ("1", "2"):
        assert cli.main([*SMALL, "--no-plots", "--seed", seed, "--out", str(out)]) == 0
    assert json.loads((out / "pksim-manifest.json").read_text())["run"]["seed"] == 2
    assert _names(out) == sorted(["pksim-manifest.json", "result.nc", "summary.csv", *OVER_TIME])
    assert _names(tmp_path) == ["out"]


def test_an_interrupt_between_the_two_renames_publishes_the_new_result(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(files, "exchange", lambda first, second: False)
    out = tmp_path / "out"
    assert cli.main([*SMALL, "--summary-only", "--seed", "1", "--out", str(out)]) == 0
    rename = os.rename

    def interrupted_after(source, destination):
        rename(source, destination)
        if Path(destination).name.endswith(files.PREVIOUS_SUFFIX):  # the previous one parked
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "rename", interrupted_after)
    assert cli.main([*SMALL, "--summary-only", "--seed", "2", "--out", str(out)]) == 130
    assert "the new result was published" in capsys.readouterr().err
    assert json.loads((out / "pksim-manifest.json").read_text())["run"]["seed"] == 2
    assert _names(tmp_path) == ["out"]


def test_a_previous_result_parked_by_a_killed_run_is_put_back(tmp_path, monkeypatch, capsys):
    """SIGKILL between the two renames leaves the previous result parked and the new one
    staged; the next run into the folder (here refused: the disk looks full) puts the previous
    one back and removes the other."""
    out = tmp_path / "out"
    assert cli.main([*SMALL, "--summary-only", "--seed", "1", "--out", str(out)]) == 0
    before = (out / "summary.csv").read_bytes()
    owner = f"{_dead_pid()}@{files.host_id()}"
    os.rename(out, tmp_path / f".out.{'a' * 12}.{owner}.old")
    staged = tmp_path / f".out.pksim-new.{'b' * 12}.{owner}"
    staged.mkdir()
    (staged / "summary.csv").write_text("the new result, never published")
    monkeypatch.setattr(files, "free_bytes", lambda path: 0)
    assert cli.main([*SMALL, "--summary-only", "--out", str(out)]) == 2
    assert "not enough free space" in capsys.readouterr().err
    assert (out / "summary.csv").read_bytes() == before
    assert _names(tmp_path) == ["out"]

"""The command line as a pharmacist meets it: plain messages, every file checked, one line per
catalogue entry, descriptions with their evidence and sources, quick start."""

import ast
import errno
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from pksim import cli
from pksim.errors import os_error_text
from pksim.library.cited import EVIDENCE_TAGS, data_folder
from pksim.library.drugs import list_drugs
from pksim.results import output_folder
from tests.test_cli import SMALL, no_simulation  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[1]
RAW_TEXT = ("[Errno", "o_flags", "codec can't decode", "Traceback")
"""Pieces of a system's or library's own error text that no message may show."""


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert not any(raw in err for raw in RAW_TEXT), err
    return err


# --------------------------------------------------------------------------- messages


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: (d / "s.toml").mkdir(), "is a folder, not a scenario file"),
        (lambda d: (d / "s.toml").write_text(""), "is empty: give a scenario file"),
        (lambda d: (d / "s.toml").write_text(" \n\n"), "is empty: give a scenario file"),
        (lambda d: (d / "s.toml").write_bytes(b"\xff\xfe t"), "is not a text file in UTF-8"),
        (lambda d: (d / "s.toml").write_text("# a note\n"), "holds no settings, only comments"),
    ],
)
def test_unreadable_scenarios_in_plain_words(make, message, tmp_path, capsys):
    make(tmp_path)
    assert cli.main(["validate", str(tmp_path / "s.toml")]) == 2
    err = _err(capsys)
    assert message in err and "is required" not in err and "no such file" not in err


def test_validate_checks_every_file(tmp_path, capsys):
    (tmp_path / "empty.toml").write_text("")
    (tmp_path / "folder").mkdir()
    files = ["ln-induction", str(tmp_path / "empty.toml"), str(tmp_path / "folder"), "missing"]
    assert cli.main(["validate", *files, "renal-impairment"]) == 2
    captured = capsys.readouterr()
    assert captured.out.count(": valid (") == 2  # the first and the last
    for name in files[1:]:
        assert name in captured.err
    assert "3 of 5 files are not valid" in captured.err


def test_errors_that_are_not_about_a_file_keep_their_words():
    message = "the Dask scheduler at tcp://x:1 has had no workers for 1 s"
    assert os_error_text(TimeoutError(message)) == message


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (FileExistsError(errno.EEXIST, "File exists", "/x/out"), "'/x/out' already exists"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/x/a"), "is a folder"),
        (OSError(errno.EROFS, "Read-only file system", "/m"), "read-only file system"),
        (
            OSError(
                "Unable to synchronously create file (unable to open file: name = "
                "'/x/r.nc', errno = 13, error message = 'Permission denied', flags = 13, "
                "o_flags = 242)"
            ),
            "permission denied: you may not read or write '/x/r.nc'",
        ),
    ],
)
def test_os_errors_in_plain_words(error, expected):
    text = os_error_text(error)
    assert expected in text and not any(raw in text for raw in RAW_TEXT)


def test_an_os_error_reaching_the_command_line_is_put_plainly(monkeypatch, capsys):
    def fails(args):
        raise FileExistsError(errno.EEXIST, "File exists", "/somewhere/out")

    monkeypatch.setattr(cli, "command_list", fails)
    assert cli.main(["list"]) == 2
    assert "'/somewhere/out' already exists" in _err(capsys)


def test_an_output_folder_not_writable_is_found_before_simulating(
    tmp_path,
    no_simulation,  # noqa: F811 (the fixture imported above)
    monkeypatch,
    capsys,
):
    """A read-only folder (root writes anywhere, so access is denied here by hand)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        output_folder.os,
        "access",
        lambda path, mode: Path(path) != locked and real_access(path, mode),
    )
    assert cli.main([*SMALL, "--summary-only", "--out", str(locked)]) == 2
    assert "is read-only for you; nothing was simulated" in _err(capsys)
    assert cli.main([*SMALL, "--summary-only", "--out", str(locked / "new")]) == 2
    assert "does not let you create files in it" in _err(capsys)


def test_an_out_path_through_a_dangling_link_is_named(tmp_path, no_simulation, capsys):  # noqa: F811
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    assert cli.main([*SMALL, "--summary-only", "--out", str(tmp_path / "link" / "out")]) == 2
    err = _err(capsys)
    assert f"{tmp_path / 'link'} is a link to {tmp_path / 'nowhere'}, which does not exist" in err
    assert "File exists" not in err


# --------------------------------------------------------------------------- describe, list


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("伏立康座", 'did you mean "voriconazole"'),  # a Chinese name with a typo
        ("azoles", "names several catalogue entries; choose one of"),  # a drug group
        ("fluconazole", "fluconazole_100mg, fluconazole_200mg"),
        ("prednisone", "set population.prednisone_mg_per_day"),  # a covariate, not a drug
        ("ln-inducton", 'did you mean "ln-induction"'),
    ],
)
def test_describe_suggests_what_the_scenario_validator_suggests(name, message, capsys):
    assert cli.main(["describe", name]) == 2
    assert message in _err(capsys)


def test_list_gives_one_line_of_description_per_entry(capsys):
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    entries = [line for line in lines if line.startswith("  ")]
    assert len(entries) > 40 and all(len(line.split()) >= 2 for line in entries)
    text = "\n".join(lines)
    assert "Voriconazole (azole antifungal)" in text
    assert re.search(r"ln-induction +LN induction: ", text)
    assert re.search(r"han2013 +Han 2013, Korean adult kidney transplant.*\[I\]", text)
    assert "Dose with a high-fat meal" in text and "Envarsus XR" in text
    assert len(lines) == len(entries) + len(cli.LIST_KINDS)


@pytest.mark.parametrize("name", ["default", "voriconazole", "chinese-adult-ln"])
def test_describe_explains_the_evidence_tags(name, capsys):
    assert cli.main(["describe", name]) == 0
    out = capsys.readouterr().out
    for tag, meaning in EVIDENCE_TAGS.items():
        assert f"[{tag}] {meaning}" in out


def test_describe_cites_only_files_that_are_in_the_repository(capsys):
    """A citation naming a file (``docs/PK_REFERENCE.md``) names one the repository holds."""
    names = [*list_drugs(), "default", "han2013", "hao2018", "zuo2013", "healthy-volunteer"]
    for name in names:
        assert cli.main(["describe", name]) == 0
    cited = set(re.findall(r"[\w./-]+\.md\b", capsys.readouterr().out))
    assert cited, "expected the literature compilation to be cited by its file"
    for path in cited:
        assert (ROOT / path).is_file(), f"describe cites {path}, which is not in the repository"


def test_every_bundled_scenario_reports_the_days_its_title_promises():
    """A title that compares days ("day 28 vs day 112") gets a table for each."""
    from pksim.results.report import reported_days
    from pksim.scenario import load_scenario

    checked = 0
    for path in sorted(data_folder("scenarios").iterdir()):
        if not path.name.endswith(".toml"):
            continue
        title = tomllib.loads(path.read_text(encoding="utf-8"))["title"]
        compared = re.search(r"\bday (\d+) vs day (\d+)", title)
        promised = {int(day) for day in compared.groups()} if compared else set()
        scenario = load_scenario(str(path))
        assert promised <= set(reported_days(scenario)), (path.name, title)
        checked += bool(promised)
    assert checked  # prednisone-taper: day 28 vs day 112


# --------------------------------------------------------------------------- outputs


def test_output_files_have_ordinary_permissions(tmp_path, capsys):
    umask = os.umask(0o022)
    try:
        assert cli.main([*SMALL, "--out", str(tmp_path / "out")]) == 0
    finally:
        os.umask(umask)
    out = tmp_path / "out"
    assert (out.stat().st_mode & 0o777) == 0o755
    for path in out.rglob("*"):
        expected = 0o755 if path.is_dir() else 0o644
        assert (path.stat().st_mode & 0o777) == expected, path


def test_summary_csv_reads_in_excel_and_pandas(tmp_path, capsys):
    scenario = tmp_path / "s.toml"
    text = data_folder("scenarios", "ln-induction.toml").read_text(encoding="utf-8")
    scenario.write_text(text.replace('name = "3 mg QD"', 'name = "#1: 3 mg QD, 他克莫司"'))
    assert cli.main([*SMALL, str(scenario), "--seed", "4", "--out", str(tmp_path / "o")]) == 0
    raw = (tmp_path / "o" / "summary.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf#")  # a BOM: Excel reads UTF-8
    header = [line for line in raw.decode("utf-8-sig").splitlines() if line.startswith("#")]
    joined = "\n".join(header)
    assert all("," not in line for line in header)  # one cell per line in Excel
    for piece in ("subjects: 20", "seed: 4", "parameter set: default", "pksim version:"):
        assert piece in joined
    assert "median: ng/mL" in joined and "pct_in_range: % of subjects" in joined
    table = pd.read_csv(tmp_path / "o" / "summary.csv", comment="#")
    assert table.regimen.iloc[0] == "#1: 3 mg QD, 他克莫司"
    assert {"regimen", "subgroup", "level", "n", "median"} <= set(table.columns)
    for name in ("median", "p5", "p95"):
        assert (table[name] == table[name].round(2)).all()
    for name in ("pct_in_range", "pct_below", "pct_in_range_ci_low"):
        assert (table[name] == table[name].round(1)).all()


def test_the_same_run_writes_the_same_summary(tmp_path, capsys):
    for name in ("a", "b"):
        assert (
            cli.main([*SMALL, "--summary-only", "--seed", "2", "--out", str(tmp_path / name)]) == 0
        )
    assert (tmp_path / "a" / "summary.csv").read_bytes() == (
        tmp_path / "b" / "summary.csv"
    ).read_bytes()


# --------------------------------------------------------------------------- quick start

HEAVY = ("numba", "xarray", "matplotlib", "scipy.special", "scipy.stats", "pandas")
"""Libraries a simulation needs and a quick command does not (numba imports scipy's core)."""


@pytest.mark.parametrize(
    ("argv", "allowed"),
    [
        (["--version"], ()),
        (["list"], ()),
        (["describe", "voriconazole"], ()),
        (["describe", "azoles"], ()),
        (["validate", "ln-induction", "renal-impairment"], ("numba",)),
    ],
)
def test_quick_commands_leave_the_heavy_libraries_alone(argv, allowed):
    """--version, list, describe and validate start without the simulation's libraries."""
    code = (
        "import sys\nfrom pksim import cli\ntry:\n    cli.main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n"
        f"print(sorted(set(sys.modules) & set({HEAVY!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    loaded = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert set(loaded) <= set(allowed), f"{argv}: imported {loaded}; {done.stderr}"


@pytest.mark.parametrize("days", ["[0]", "[29]", "[28, 28]", "[true]", "28"])
def test_compare_days_must_be_days_of_the_run(days, tmp_path, capsys):
    text = data_folder("scenarios", "ln-induction.toml").read_text(encoding="utf-8")
    (tmp_path / "s.toml").write_text(text + f"\n[output]\ncompare_days = {days}\n")
    assert cli.main(["validate", str(tmp_path / "s.toml")]) == 2
    assert "output.compare_days: must be a list of distinct whole days from 1 to 28" in (
        _err(capsys)
    )

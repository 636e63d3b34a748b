"""Two runs into one output folder: the second is refused while the first runs."""

from __future__ import annotations

from pksim import cli
from tests.faults.common import NEW_SEED, PREVIOUS_SEED, contents, drive, leftovers, run_args


def test_a_second_run_into_a_busy_folder_is_refused(previous_run, references, tmp_path, capsys):
    out = previous_run
    first = drive(tmp_path, ["pause=simulate"], run_args(NEW_SEED, out))
    first.wait_for_point()
    assert cli.main(run_args(PREVIOUS_SEED + 10, out, "--no-plots")) == 2
    err = capsys.readouterr().err
    assert "another pksim run" in err and f"PID {first.process.pid}" in err, err
    assert contents(out) == references["previous"]
    first.resume()
    code, _, err = first.finish()
    assert code == 0, err
    assert contents(out) == references["new"]
    assert leftovers(out.parent, out) == []

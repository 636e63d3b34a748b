"""SIGTERM, SIGHUP and SIGKILL at every stage of a run into a folder holding a previous result.

After each, the folder holds the complete previous result or the complete new one, never a mix
(compared file by file with runs that were not interrupted). A run stopped by SIGTERM or SIGHUP
cleans up at once and says so (exit 128 + signal number); after SIGKILL, whose leftovers no
process can remove, the next run into the folder removes them and publishes its result.
"""

from __future__ import annotations

import signal

import pytest

from pksim import cli
from tests.faults.common import (
    NEW_SEED,
    SIGNALS,
    contents,
    drive,
    leftovers,
    messages,
    run_args,
)

POINTS = ("simulate", "store", "plot", "publish", "published")
"""Fault points of tests/faults/driver.py, in the order a run reaches them."""
CASES = [
    ("simulate", "SIGTERM"),
    ("simulate", "SIGKILL"),
    ("store", "SIGTERM"),
    ("store", "SIGHUP"),
    ("store", "SIGKILL"),
    ("plot", "SIGTERM"),
    ("plot", "SIGKILL"),
    ("publish", "SIGTERM"),
    ("publish", "SIGKILL"),
    ("published", "SIGTERM"),
    ("published", "SIGKILL"),
]


@pytest.mark.parametrize(("point", "name"), CASES)
def test_a_signal_leaves_one_complete_result(point, name, previous_run, references, tmp_path):
    out, parent = previous_run, previous_run.parent
    driven = drive(tmp_path, [f"pause={point}"], run_args(NEW_SEED, out))
    driven.wait_for_point()
    driven.signal(SIGNALS[name])
    code, _, err = driven.finish()
    published = point == "published"
    assert contents(out) == references["new" if published else "previous"]
    if name == "SIGKILL":
        assert code == -signal.SIGKILL
        assert cli.main(run_args(NEW_SEED, out)) == 0  # the next run into the folder
        assert contents(out) == references["new"]
    else:
        assert code == 128 + SIGNALS[name], err
        assert "Traceback" not in err and len(messages(err)) == 1, err
        assert name in err
        assert ("nothing was published" in err) != published and "was published" in err
    assert leftovers(parent, out) == []


def test_every_point_is_tested():
    assert {point for point, _ in CASES} == set(POINTS)
    assert {name for _, name in CASES} == set(SIGNALS)

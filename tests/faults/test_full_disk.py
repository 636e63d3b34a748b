"""A file system that fills up: refused before simulating when the result clearly cannot fit,
one clear message (exit 2) when it fills up while writing, and nothing left behind.

The file system is a small tmpfs mounted for the test (needs root; skipped otherwise). Runs
that fill it up run in their own process: a full disk used to crash the process inside HDF5.
"""

from __future__ import annotations

import importlib
import shutil

import pytest

from pksim import cli
from tests.faults.common import (
    NEW_SEED,
    contents,
    drive,
    leftovers,
    messages,
    run_args,
    tmpfs,
)

DISK_BYTES = 8 * 2**20
"""Size of the test's file system: the small previous result and the new one fit."""


@pytest.fixture
def disk(tmp_path):
    with tmpfs(tmp_path / "disk", DISK_BYTES) as mount_point:
        yield mount_point


@pytest.fixture
def previous_on_disk(disk, references):
    out = disk / "parent" / "out"
    shutil.copytree(references["previous_folder"], out)
    return out


def test_a_result_that_cannot_fit_is_refused_before_simulating(
    previous_on_disk, references, monkeypatch, capsys
):
    def no_simulation(*args, **kwargs):
        raise AssertionError("simulated although the result cannot fit")

    monkeypatch.setattr(importlib.import_module("pksim.engine.run"), "map_chunks", no_simulation)
    out = previous_on_disk
    assert cli.main(["run", "-n", "20000", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not enough free space" in err and "MB" in err, err
    assert contents(out) == references["previous"]
    assert leftovers(out.parent, out) == []


@pytest.mark.parametrize(
    ("hooks", "extra"),
    [
        (["fill=simulate:60000"], ()),  # the store does not fit from its first chunk
        (["fill=store:30000"], ()),  # the disk fills up between two chunks of the store
        (["fill=plot:20000"], ()),  # the store and the summary fit, the plots do not
        (["fill=store:30000"], ("--zarr",)),
    ],
    ids=["store-start", "store-middle", "plots", "zarr"],
)
def test_a_disk_that_fills_up_while_writing(
    hooks, extra, previous_on_disk, references, disk, tmp_path
):
    out = previous_on_disk
    driven = drive(tmp_path, hooks, run_args(NEW_SEED, out, *extra), FAULT_BALLAST=str(disk / "b"))
    code, _, err = driven.finish()
    assert driven.marker.exists(), "the disk was never filled"
    assert code == 2, err
    assert "Traceback" not in err and len(messages(err)) == 1, err
    assert "not enough free space" in err, err
    (disk / "b").unlink()
    assert contents(out) == references["previous"]
    assert leftovers(out.parent, out) == []


def test_the_size_estimate_is_close_to_the_store_and_reserved_space_is_given_back(tmp_path):
    from pksim.engine import prepare
    from pksim.engine.run import stored_size

    out = tmp_path / "out"
    assert cli.main([*run_args(NEW_SEED, out), "--no-plots"]) == 0
    store = out / "result.nc"
    size = store.stat().st_size
    estimate = stored_size(prepare("ln-induction", 60, NEW_SEED))
    assert 0.8 * size < estimate < 1.5 * size
    assert store.stat().st_blocks * 512 < size + 2**16  # no block reserved past the end

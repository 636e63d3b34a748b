"""Reference results of the fault tests: the complete previous and new results of a run."""

from __future__ import annotations

import shutil

import pytest

from pksim import cli
from tests.faults.common import NEW_SEED, PREVIOUS_SEED, contents, run_args


@pytest.fixture(scope="session")
def references(tmp_path_factory):
    """The folder of a complete run with the previous seed and the contents of both runs."""
    root = tmp_path_factory.mktemp("references")
    for name, seed in (("previous", PREVIOUS_SEED), ("new", NEW_SEED)):
        assert cli.main(run_args(seed, root / name / "out")) == 0
    return {
        "previous_folder": root / "previous" / "out",
        "previous": contents(root / "previous" / "out"),
        "new": contents(root / "new" / "out"),
    }


@pytest.fixture
def previous_run(tmp_path, references):
    """An output folder holding the complete previous result, alone in its parent."""
    out = tmp_path / "parent" / "out"
    shutil.copytree(references["previous_folder"], out)
    return out

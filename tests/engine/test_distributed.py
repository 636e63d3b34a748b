"""Reproducibility at any partitioning: chunks, threads, numba threads, 1/2/4 Dask workers.

The reference is the same scenario simulated in one chunk in this thread; every other way of
running it must give a bit-identical Dataset (``xr.testing.assert_identical``) and an
identical attainment table. The scenario has a co-medication taken by half of the cohort, so
chunks of one subject hold only takers or only non-takers (the case where the clearance grid
used to depend on the chunk's composition).
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numba
import pandas as pd
import pytest
import xarray as xr

import pksim
from pksim import cli
from pksim.engine import distributed
from pksim.results import summary as stream
from pksim.scenario import scenario_from_text
from tests.engine.test_run import SMALL

N = 64
needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None, reason="dask.distributed not installed"
)


@pytest.fixture(scope="module")
def scenario():
    return scenario_from_text(SMALL)


@pytest.fixture(scope="module")
def reference(scenario):
    return pksim.run(scenario, n_subjects=N, chunk_subjects=N)


@pytest.fixture(scope="module")
def reference_table(scenario):
    return stream.summarize(scenario, N, by=("regimen", "comedication"), chunk_subjects=N)


def test_chunks_of_one_subject_and_threads_give_identical_results(scenario, reference):
    xr.testing.assert_identical(pksim.run(scenario, n_subjects=N, chunk_subjects=1), reference)
    xr.testing.assert_identical(
        pksim.run(scenario, n_subjects=N, chunk_subjects=5, threads=3), reference
    )


def test_threads_are_safe_under_numbas_workqueue_layer():
    """The workqueue layer aborts the process when parallel kernels are launched from two
    threads at once; with it, threads=4 must fall back to one chunk at a time."""
    code = (
        "import numba, pksim, xarray as xr\n"
        "from pksim.scenario import scenario_from_text\n"
        "from tests.engine.test_run import SMALL\n"
        "sc = scenario_from_text(SMALL)\n"
        "a = pksim.run(sc, n_subjects=40, chunk_subjects=4, threads=4)\n"
        "assert numba.threading_layer() == 'workqueue'\n"
        "xr.testing.assert_identical(a, pksim.run(sc, n_subjects=40, threads=1))\n"
    )
    environment = os.environ | {"NUMBA_THREADING_LAYER": "workqueue"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def test_numba_thread_count_does_not_change_results(scenario, reference):
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = pksim.run(scenario, n_subjects=N, chunk_subjects=N)
    finally:
        numba.set_num_threads(before)
    xr.testing.assert_identical(single, reference)


def test_summary_is_identical_whatever_the_chunking_and_threads(scenario, reference_table):
    for options in ({"chunk_subjects": 1}, {"chunk_subjects": 7, "threads": 2}):
        got = stream.summarize(scenario, N, by=("regimen", "comedication"), **options)
        pd.testing.assert_frame_equal(got, reference_table, check_exact=True)


@needs_dask
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_dask_threaded_workers_give_identical_results(
    scenario, reference, reference_table, workers
):
    with distributed.connect(workers=workers, processes=False) as client:
        got = pksim.run(scenario, n_subjects=N, chunk_subjects=9, client=client)
        table = stream.summarize(
            scenario, N, by=("regimen", "comedication"), chunk_subjects=9, client=client
        )
        lazy = pksim.run(scenario, n_subjects=N, chunk_subjects=9, lazy=True)
        assert lazy.trough.chunks is not None and lazy.trough.chunksizes["subject"][0] == 9
        computed = lazy.compute()
    xr.testing.assert_identical(got, reference)
    pd.testing.assert_frame_equal(table, reference_table, check_exact=True)
    xr.testing.assert_identical(computed, reference)


@needs_dask
def test_dask_worker_processes_by_address_and_cli(scenario, reference, tmp_path, capsys):
    """Two worker processes (results pickled across processes), reached by address."""
    distributed_module = distributed.require()
    with distributed_module.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        address = cluster.scheduler_address
        got = pksim.run(scenario, n_subjects=N, chunk_subjects=10, client=address)
        code = cli.main(
            ["run", "-n", "50", "--summary-only", "--dask", address, "--out", str(tmp_path)]
        )
    xr.testing.assert_identical(got, reference)
    assert code == 0 and "in range %" in capsys.readouterr().out
    summary = pd.read_csv(tmp_path / "summary.csv", comment="#")
    local = stream.attainment_tables("ln-induction", 50, groupings=[("regimen",)])[0]
    assert summary.query("subgroup == 'all'").n.tolist() == local.n.tolist()


def test_without_dask_the_error_says_what_to_install(scenario, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'pksim\[dask\]'"):
        pksim.run(scenario, n_subjects=5, client="tcp://127.0.0.1:1")
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'pksim\[dask\]'"):
        pksim.run(scenario, n_subjects=5, lazy=True)
    assert cli.main(["run", "-n", "5", "--workers", "2", "--out", str(tmp_path)]) == 2
    assert "pip install 'pksim[dask]'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@needs_dask
def test_bad_dask_arguments(scenario):
    with pytest.raises(ValueError, match="client must be"):
        pksim.run(scenario, n_subjects=5, client=42)
    with pytest.raises(ValueError, match="leave out client"):
        pksim.run(scenario, n_subjects=5, client="tcp://127.0.0.1:1", lazy=True)
    with pytest.raises(ValueError, match="either a scheduler address or a number"):
        with distributed.connect("tcp://127.0.0.1:1", 2):
            pass
    with pytest.raises(ValueError, match="workers must be"):
        with distributed.connect(workers=0):
            pass

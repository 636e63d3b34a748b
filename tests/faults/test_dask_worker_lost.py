"""Fault injection on Dask: a lost worker costs time, not the run.

A run on a cluster of two worker processes has every worker killed (``os._exit``) after its
first chunk came back, so the shared run data (the plan) and the chunks in flight are lost;
the workers' nannies start new ones. The run must finish with a Dataset bit-identical to a run
without faults. Where the cluster cannot finish (a chunk keeps killing its workers, or no
worker is left), the run stops with one :class:`~pksim.engine.distributed.ClusterFailure`
naming what happened, and the command line prints it in one line.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import pytest
import xarray as xr

import pksim
from pksim import cli
from pksim.engine import distributed, execution
from pksim.engine.chunk import stored_chunk
from pksim.engine.plan import prepare
from pksim.scenario import scenario_from_text
from tests.engine.test_run import SMALL

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None, reason="dask.distributed not installed"
)

N = 60
CHUNK = 5
"""12 chunks: several are in flight (2 per worker) when the workers are killed."""
ALLOWED_FAILURES = 0
"""Deaths of its worker a task survives before the scheduler gives up on it (Dask's default is
3; 0 makes the chunk that kills its worker fail at once)."""


@pytest.fixture(scope="module")
def scenario():
    return scenario_from_text(SMALL)


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes under nannies (which restart a dead worker)."""
    dask_distributed = distributed.require()
    with (
        dask_distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        dask_distributed.Client(local) as client,
    ):
        yield local, client


def _kill_every_worker(client) -> list[str]:
    """Kill every worker process now (the nannies start new ones); their addresses."""
    addresses = list(client.nthreads())
    for address in addresses:
        try:
            client.run(os._exit, 1, workers=[address])
        except OSError:  # the worker died before it could answer
            pass
    return addresses


def test_killing_every_worker_mid_run_costs_time_not_the_run(scenario, cluster):
    _, client = cluster
    reference = pksim.run(scenario, n_subjects=N, chunk_subjects=N)
    killed: list[str] = []

    def kill_once(done: int, total: int) -> None:
        if not killed:
            killed.extend(_kill_every_worker(client))

    got = pksim.run(scenario, n_subjects=N, chunk_subjects=CHUNK, client=client, progress=kill_once)
    assert len(killed) == 2
    assert not set(killed) & set(client.nthreads()), "the killed workers were replaced"
    xr.testing.assert_identical(got, reference)


def test_restarting_the_workers_mid_run_costs_time_not_the_run(scenario, cluster):
    """``Client.restart`` cancels every future of the cluster, the shared plan included: the
    run submits the plan and the cancelled chunks again."""
    _, client = cluster
    reference = pksim.run(scenario, n_subjects=N, chunk_subjects=N)
    restarted: list[bool] = []

    def restart_once(done: int, total: int) -> None:
        if not restarted:
            client.restart()
            restarted.append(True)

    got = pksim.run(
        scenario, n_subjects=N, chunk_subjects=CHUNK, client=client, progress=restart_once
    )
    assert restarted
    xr.testing.assert_identical(got, reference)


def _kills_its_worker(plan, start: int, stop: int):
    """A chunk task that kills the worker process running it (an out-of-memory kill)."""
    if start == 0:
        os._exit(1)
    return stored_chunk(plan, start, stop)


def test_a_chunk_that_keeps_killing_its_workers_gives_one_clear_message(scenario):
    dask_distributed = distributed.require()
    import dask

    plan = prepare(scenario, 2 * CHUNK, None)
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}),
        dask_distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        dask_distributed.Client(local) as client,
        pytest.raises(distributed.ClusterFailure) as caught,
    ):
        list(
            execution.map_chunks(_kills_its_worker, plan, CHUNK, mapper=distributed.mapper(client))
        )
    message = str(caught.value)
    assert f"subjects 0-{CHUNK - 1}" in message
    assert f"killed the Dask worker running them {ALLOWED_FAILURES + 1} time" in message
    assert "chunk_subjects" in message and "\n" not in message


def test_no_worker_left_gives_one_clear_message(scenario):
    """Workers without nannies do not come back: the run waits ``no_workers_timeout_s``, then
    stops naming the scheduler and the subjects done."""
    dask_distributed = distributed.require()
    plan = prepare(scenario, 4 * CHUNK, None)
    with (
        dask_distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as local,
        dask_distributed.Client(local) as client,
    ):
        retired: list[bool] = []

        def retire_once(done: int, total: int) -> None:
            if not retired:
                local.scale(0)
                retired.append(True)

        mapper = functools.partial(distributed.ordered_map, client, no_workers_timeout_s=1.0)
        with pytest.raises(distributed.ClusterFailure) as caught:
            list(
                execution.map_chunks(stored_chunk, plan, CHUNK, mapper=mapper, progress=retire_once)
            )
    message = str(caught.value)
    assert f"Dask scheduler at {local.scheduler_address} has had no workers for 1 s" in message
    assert f"of {4 * CHUNK} subjects" in message


def test_a_lost_scheduler_gives_one_clear_message(scenario):
    dask_distributed = distributed.require()
    plan = prepare(scenario, 4 * CHUNK, None)
    with (
        dask_distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as local,
        dask_distributed.Client(local) as client,
    ):
        address = local.scheduler_address

        def close_once(done: int, total: int) -> None:
            if local.status.name == "running":
                local.close()

        with pytest.raises(distributed.ClusterFailure) as caught:
            list(
                execution.map_chunks(
                    stored_chunk,
                    plan,
                    CHUNK,
                    mapper=distributed.mapper(client),
                    progress=close_once,
                )
            )
    message = str(caught.value)
    assert message.startswith(f"lost the connection to the Dask scheduler at {address} while ")
    assert f"of {4 * CHUNK} subjects done" in message


def test_the_command_line_prints_a_cluster_failure_in_one_line(monkeypatch, tmp_path, capsys):
    """A scheduler without workers: ``pksim run --dask`` exits 2 with the message, no
    traceback, nothing written."""
    dask_distributed = distributed.require()
    monkeypatch.setattr(distributed, "NO_WORKERS_TIMEOUT_S", 1.0)
    with dask_distributed.LocalCluster(
        n_workers=0, processes=False, dashboard_address=":0"
    ) as local:
        code = cli.main(
            [
                "run",
                "-n",
                "20",
                "--summary-only",
                "--dask",
                local.scheduler_address,
                "--out",
                str(tmp_path / "out"),
            ]
        )
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT
    assert err.startswith("pksim run: the Dask scheduler at ") and err.count("\n") == 1
    assert "has had no workers for 1 s" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()

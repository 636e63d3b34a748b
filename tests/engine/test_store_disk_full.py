"""Zarr's sibling metadata tasks that fail on a full disk are not printed a second time."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os

import pytest

from pksim.engine import store


def _leave_a_failed_task_unretrieved(error: BaseException) -> None:
    """Run a task that raises ``error`` and drop it without awaiting it, as Zarr's
    ``as_completed`` loop does with the siblings of the first failure."""

    async def fail():
        raise error

    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(fail())
        loop.run_until_complete(asyncio.sleep(0))
        assert task.done()
        del task
        gc.collect()
    finally:
        loop.close()


@pytest.fixture
def asyncio_logger():
    logger = logging.getLogger("asyncio")
    before = list(logger.filters)
    yield logger
    logger.filters[:] = before


def _reports(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if store.UNRETRIEVED_TASK_MESSAGE in r.getMessage()]


def test_without_the_filter_asyncio_prints_an_unretrieved_disk_full_task(asyncio_logger, caplog):
    # The premise: without the filter, the copy is printed (so the next test can fail).
    disk_full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "store.zarr/.zmetadata")
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        _leave_a_failed_task_unretrieved(disk_full)
    assert len(_reports(caplog)) == 1


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_after_a_full_disk_only_other_failures_are_printed(asyncio_logger, caplog, code):
    store._silence_sibling_disk_full_tasks()
    store._silence_sibling_disk_full_tasks()  # installed once
    assert sum(isinstance(f, store._SiblingDiskFullFilter) for f in asyncio_logger.filters) == 1
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        _leave_a_failed_task_unretrieved(OSError(code, os.strerror(code), "x/.zattrs"))
        assert _reports(caplog) == []
        _leave_a_failed_task_unretrieved(OSError(errno.EACCES, "permission denied", "x"))
        _leave_a_failed_task_unretrieved(ValueError("a bug"))
    assert len(_reports(caplog)) == 2

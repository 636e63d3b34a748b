"""``python -m tests.faults.driver HOOK... -- ARGS``: ``pksim ARGS`` with faults hooked in.

A hook is ``pause=POINT`` (at POINT, create the file ``$FAULT_MARKER`` and wait until
``$FAULT_GO`` exists, so that the test can signal the process there), ``fill=POINT:BYTES``
(at POINT, fill the file system of ``$FAULT_BALLAST`` with that file, leaving BYTES free) or
``no-space-guard`` (the store writer believes the disk is empty: a full disk then fails inside
HDF5 itself). The points of a run, in order:

- ``simulate``: the first chunk has been simulated, nothing is written yet;
- ``store``: the first chunk is in the result store's temporary file, the next one is coming;
- ``plot``: the result store and summary.csv are written, the first plot too;
- ``publish``: everything is written, the output folder is about to be swapped in;
- ``published``: the new folder is in place, the previous one not yet removed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

WAIT_S = 120.0
"""Longest wait for the test's go-ahead (a test signals the process long before)."""


def at_point(action: Callable[[], None]) -> Callable[[], None]:
    """``action`` the first time the returned function is called, then nothing."""
    done = []

    def hit() -> None:
        if not done:
            done.append(True)
            action()

    return hit


def pause() -> None:
    Path(os.environ["FAULT_MARKER"]).touch()
    go = Path(os.environ["FAULT_GO"])
    deadline = time.monotonic() + WAIT_S
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def fill(leave: int) -> Callable[[], None]:
    def action() -> None:
        ballast = Path(os.environ["FAULT_BALLAST"])
        stat = os.statvfs(ballast.parent)
        free = stat.f_bavail * stat.f_frsize
        with open(ballast, "ab") as file:
            if free > leave:
                file.write(b"\0" * (free - leave))
        Path(os.environ["FAULT_MARKER"]).touch()

    return action


def hook(point: str, action: Callable[[], None]) -> None:
    """Call ``action`` (once) when the run reaches ``point``."""
    hit = at_point(action)
    if point == "simulate":
        from pksim import cli

        progress = cli.ProgressBar.__call__

        def on_progress(self, done, total):
            hit()
            return progress(self, done, total)

        cli.ProgressBar.__call__ = on_progress
    elif point == "store":
        from pksim.engine import store

        write = store.write

        def on_write(path, chunks, *, attrs):
            def hooked():
                for index, chunk in enumerate(chunks):
                    if index == 1:
                        hit()
                    yield chunk

            return write(path, hooked(), attrs=attrs)

        store.write = on_write
    elif point == "plot":
        from pksim.results import plots

        save = plots._save

        def on_save(fig, path):
            save(fig, path)
            hit()

        plots._save = on_save
    elif point == "publish":
        from pksim import files

        exchange = files.exchange

        def on_exchange(first, second):
            hit()
            return exchange(first, second)

        files.exchange = on_exchange
    elif point == "published":
        from pksim.results import output_folder

        discard = output_folder.discard

        def on_discard(*args, **kwargs):
            hit()
            return discard(*args, **kwargs)

        output_folder.discard = on_discard
    else:
        raise SystemExit(f"unknown point {point!r}")


def main(argv: list[str]) -> int:
    split = argv.index("--")
    for spec in argv[:split]:
        if spec == "no-space-guard":
            from pksim import files

            files.free_bytes = lambda path: 2**62
        elif spec.startswith("pause="):
            hook(spec.removeprefix("pause="), pause)
        elif spec.startswith("fill="):
            point, leave = spec.removeprefix("fill=").split(":")
            hook(point, fill(int(leave)))
        else:
            raise SystemExit(f"unknown hook {spec!r}")
    from pksim import cli

    return cli.main(argv[split + 1 :])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

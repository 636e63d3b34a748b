"""Shared pieces of the fault tests: the runs, the driver process, the folder's contents."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL_RUN = ("-n", "60", "--chunk-subjects", "20", "--threads", "1")
"""A run of three chunks: small, but with a store written in several appends."""
PREVIOUS_SEED, NEW_SEED = 1, 2
MANIFEST = "pksim-manifest.json"
START_TIMEOUT_S = 120.0
"""Longest wait for a driven process to reach its fault point (it takes a few seconds)."""


def run_args(seed: int, out: Path, *extra: str) -> list[str]:
    """``pksim`` arguments of the small run with ``seed`` into ``out``."""
    return ["run", *SMALL_RUN, "--seed", str(seed), "--out", str(out), *extra]


def contents(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) -> its SHA-256; a manifest by the files it
    lists (its creation time differs between runs of the same result)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        data = path.read_bytes()
        if path.name == MANIFEST:
            data = json.dumps(json.loads(data)["files"], sort_keys=True).encode()
        found[str(path.relative_to(folder))] = hashlib.sha256(data).hexdigest()
    return found


def leftovers(parent: Path, out: Path) -> list[str]:
    """Anything in ``parent`` besides the output folder, and anything hidden inside it."""
    outside = [p.name for p in parent.iterdir() if p != out]
    inside = [str(p.relative_to(out)) for p in out.rglob(".*")] if out.is_dir() else []
    return sorted(outside + inside)


def messages(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are not the progress bar."""
    return [line for line in stderr.splitlines() if line.strip() and "simulating [" not in line]


@dataclass
class Driven:
    """A ``pksim`` process run by tests/faults/driver.py with fault hooks."""

    process: subprocess.Popen
    marker: Path
    go: Path

    def wait_for_point(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.marker.exists():
            if self.process.poll() is not None:
                out, err = self.process.communicate()
                raise AssertionError(f"exited {self.process.returncode} first:\n{out}\n{err}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError("the fault point was never reached")
            time.sleep(0.02)

    def signal(self, number: int) -> None:
        os.kill(self.process.pid, number)

    def resume(self) -> None:
        self.go.touch()

    def finish(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=START_TIMEOUT_S)
        return self.process.returncode, out, err


def drive(work: Path, hooks: list[str], argv: list[str], **env: str) -> Driven:
    """Start ``pksim argv`` under the driver with ``hooks``; files of the hooks go in ``work``."""
    marker, go = work / "reached", work / "go"
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FAULT_MARKER": str(marker),
        "FAULT_GO": str(go),
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.driver", *hooks, "--", *argv],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Driven(process, marker, go)


SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGHUP": signal.SIGHUP, "SIGKILL": signal.SIGKILL}


@contextlib.contextmanager
def tmpfs(mount_point: Path, size: int, *options: str) -> Iterator[Path]:
    """A fresh tmpfs of ``size`` bytes mounted at ``mount_point`` (created) for the block; the
    test is skipped where mounting is not allowed (it needs root)."""
    mount_point.mkdir(parents=True, exist_ok=True)
    settings = ",".join([f"size={size}", *options])
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", settings, "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)

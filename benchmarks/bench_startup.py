"""Start-up of the quick commands and the first run after installing, each in a fresh process.

`python -m benchmarks.bench_startup [SOURCE_TREE ...]`: the median and fastest of
:data:`REPEATS` runs of each quick command for each source tree (default: this one), then the
first `pksim run` with numba's cache of this tree emptied, the same run again, the warm-up
that `make` runs after installing and the first run after it. Empties this tree's numba cache
(``pksim/model/__pycache__/*.nbi|nbc``; the next run rebuilds it).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 7
QUICK_COMMANDS = (
    ("--version",),
    ("list",),
    ("describe", "voriconazole"),
    ("describe", "default"),
    ("validate", "ln-induction"),
)
FIRST_RUN = ("-m", "pksim", "run", "ln-induction", "-n", "1000", "--summary-only")


def _seconds(arguments: tuple[str, ...], tree: Path, out: Path | None = None) -> float:
    extra = ("--out", str(out)) if out is not None else ()
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *arguments, *extra],
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=out.parent if out is not None else tree,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - start


def quick_commands(tree: Path) -> None:
    for command in QUICK_COMMANDS:
        times = []
        for _ in range(REPEATS):
            try:
                times.append(_seconds(("-m", "pksim", *command), tree))
            except subprocess.CalledProcessError:
                times.append(float("nan"))
        print(
            f"{tree}  pksim {' '.join(command):24s} median {statistics.median(times):.2f} s, "
            f"fastest {min(times):.2f} s"
        )


def first_run(tree: Path, out: Path) -> None:
    def empty_cache() -> None:
        for path in (tree / "pksim" / "model" / "__pycache__").glob("*.nb[ic]"):
            path.unlink()

    empty_cache()
    cold, again = _seconds(FIRST_RUN, tree, out), _seconds(FIRST_RUN, tree, out)
    empty_cache()
    warm_up = _seconds(("-m", "pksim.engine.warmup"), tree)
    after = _seconds(FIRST_RUN, tree, out)
    print(f"first run, nothing compiled {cold:.1f} s; the same run again {again:.1f} s")
    print(f"warm-up after installing {warm_up:.1f} s; first run after it {after:.1f} s")


if __name__ == "__main__":
    import tempfile

    for tree in [Path(t).resolve() for t in sys.argv[1:]] or [ROOT]:
        quick_commands(tree)
    with tempfile.TemporaryDirectory() as folder:
        first_run(ROOT, Path(folder) / "out")

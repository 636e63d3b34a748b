"""Write a simulated cohort as NONMEM-style datasets, one CSV per regimen, that
:func:`pksim.mipd.read_nonmem`, NONMEM, nlmixr2 or mrgsolve read (docs/mipd.md, "Simulated
cohorts as NONMEM data").

Every dose event of every subject is written exactly as simulated (fixed regimens, scheduled
changes and holds, formulation switches, doses decided by monitoring, missed and late doses),
with a row per trough (``DV`` the measured trough, ng/mL), the covariates, the co-medication
courses (``COMED``) and the simulation's truth in ``SIM_`` columns (the reader skips them):
integrating the written doses with the written true parameters gives the cohort's true troughs.

The cohort is simulated again, chunk by chunk, and each chunk's rows are appended to hidden
temporary files that replace the targets only once every regimen is complete.
"""

from __future__ import annotations

import argparse
import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from pksim import contract, files
from pksim.dosing.events import scheduled_dose_times
from pksim.engine.dose_records import chunk_records
from pksim.engine.execution import DEFAULT_CHUNK_SUBJECTS
from pksim.engine.plan import Plan, prepare
from pksim.errors import shown, unknown_name
from pksim.mipd.nonmem import MAX_DATASET_BYTES
from pksim.results.cohort_rows import cohort_columns, regimen_lines
from pksim.scenario import Scenario, scenario_from_text

__all__ = [
    "MAX_ROWS_PER_FILE",
    "add_nonmem_argument",
    "check_cohort_nonmem",
    "cohort_file_names",
    "write_cohort_nonmem",
    "write_for_run",
]

MAX_ROWS_PER_FILE = 20_000_000
"""Most rows written to one file (about 4-5 GB of text at about 235 bytes a row): a larger
cohort is refused before anything is simulated (write fewer subjects or fewer trough days)."""


def write_cohort_nonmem(
    source: Scenario | str | os.PathLike[str] | xr.Dataset,
    directory: str | os.PathLike[str],
    *,
    regimens: Sequence[str] | None = None,
    n_subjects: int | None = None,
    seed: int | None = None,
    days: Sequence[int] | None = None,
    chunk_subjects: int = DEFAULT_CHUNK_SUBJECTS,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Path]:
    """Write one NONMEM-style CSV per regimen into ``directory``; return {regimen: path}.

    ``source``: a scenario (object, file or bundled name; ``n_subjects`` and ``seed``
    override its own), or a Dataset of :func:`pksim.run` (its scenario, subjects and seed;
    the cohort is simulated again and must give the Dataset's troughs bit for bit).
    ``regimens``: the regimens' names (default: all). ``days``: the days whose troughs are
    written as observations (default: every day). Files are named after the regimens
    (:func:`cohort_file_names`); an existing file of that name is replaced, nothing else in
    ``directory`` is touched, and on any error no file is left half-written.
    """
    plan, dataset = _plan(source, n_subjects, seed)
    scenario = plan.scenario
    chosen, day_index = check_cohort_nonmem(plan, directory, regimens=regimens, days=days)
    names = cohort_file_names([scenario.regimens[i].name for i in chosen])
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"cannot create the folder {shown(str(directory))}: {error}") from None
    targets = [directory / name for name in names]
    temporaries = [files.temporary_path(t, files.TEMPORARY_SUFFIX) for t in targets]
    try:
        _write(plan, chosen, day_index, temporaries, dataset, chunk_subjects, progress)
        for temporary, target in zip(temporaries, targets, strict=True):
            os.replace(temporary, target)
    except OSError as error:
        raise ValueError(f"cannot write into {shown(str(directory))}: {error}") from None
    finally:
        for temporary in temporaries:
            files.remove(temporary)
    for target in targets:
        if target.stat().st_size > MAX_DATASET_BYTES:
            warnings.warn(
                f"{target} is {target.stat().st_size / 2**20:.0f} MiB, more than "
                f"pksim.mipd.read_nonmem reads ({MAX_DATASET_BYTES // 2**20} MiB); NONMEM, "
                "nlmixr2 and mrgsolve read it, and fewer subjects or trough days make a file "
                "pksim reads",
                stacklevel=2,
            )
    return {scenario.regimens[i].name: t for i, t in zip(chosen, targets, strict=True)}


def check_cohort_nonmem(
    plan: Plan,
    directory: str | os.PathLike[str],
    *,
    regimens: Sequence[str] | None = None,
    days: Sequence[int] | None = None,
) -> tuple[list[int], np.ndarray]:
    """Refuse, before anything is simulated, what :func:`write_cohort_nonmem` would refuse:
    an unknown regimen or day, a ``directory`` that is a file, a file above
    :data:`MAX_ROWS_PER_FILE` rows. Returns the regimens' indices and the 0-based days."""
    chosen = _chosen(plan.scenario, regimens)
    day_index = _days(plan.scenario, days)
    _check_size(plan, chosen, day_index.size)
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{shown(str(directory))} exists and is not a folder; give a folder")
    return chosen, day_index


def add_nonmem_argument(parser: argparse.ArgumentParser) -> None:
    """``pksim run --nonmem DIR``."""
    parser.add_argument(
        "--nonmem",
        metavar="DIR",
        help="also write the cohort as NONMEM-style datasets into DIR, one CSV per regimen: "
        "every dose as simulated, the measured troughs, the covariates and the true "
        "parameters (docs/mipd.md; the cohort is simulated a second time for it)",
    )


def write_for_run(
    plan: Plan,
    directory: str | os.PathLike[str],
    chunk_subjects: int = DEFAULT_CHUNK_SUBJECTS,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """``pksim run --nonmem DIR``: write the run's cohort; what was written, in words."""
    written = write_cohort_nonmem(
        plan.scenario,
        directory,
        n_subjects=plan.n_subjects,
        seed=plan.seed,
        chunk_subjects=chunk_subjects,
        progress=progress,
    )
    return "wrote NONMEM-style datasets (docs/mipd.md): " + ", ".join(map(str, written.values()))


def cohort_file_names(regimens: Sequence[str]) -> list[str]:
    """File name of each regimen's dataset: its name in lower case, runs of other characters
    than letters and digits as ``-``, ``.csv`` (``-2``, ``-3`` ... where two would clash)."""
    out: list[str] = []
    for name in regimens:
        stem = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "regimen"
        candidate, k = stem, 1
        while f"{candidate}.csv" in out:
            k += 1
            candidate = f"{stem}-{k}"
        out.append(f"{candidate}.csv")
    return out


def _plan(source, n_subjects, seed) -> tuple[Plan, xr.Dataset | None]:
    if not isinstance(source, xr.Dataset):
        return prepare(source, n_subjects, seed), None
    attrs = source.attrs
    if "scenario" not in attrs or "seed" not in attrs:
        raise ValueError(
            "the Dataset has no 'scenario' and 'seed' attrs; give the Dataset that pksim.run "
            "returned (or the scenario, with n_subjects and seed)"
        )
    origin = str(attrs.get("scenario_origin", "<dataset>"))
    base = Path(origin).parent if Path(origin).exists() else Path(".")
    scenario = scenario_from_text(attrs["scenario"], origin=origin, base_dir=base)
    n = int(source.sizes["subject"]) if n_subjects is None else n_subjects
    return prepare(scenario, n, int(attrs["seed"]) if seed is None else seed), source


def _chosen(scenario: Scenario, regimens: Sequence[str] | None) -> list[int]:
    names = [r.name for r in scenario.regimens]
    if regimens is None:
        return list(range(len(names)))
    if isinstance(regimens, str):
        regimens = [regimens]
    chosen = []
    for name in regimens:
        if name not in names:
            raise ValueError(unknown_name("regimen", name, names))
        chosen.append(names.index(name))
    if not chosen:
        raise ValueError(f"regimens is empty; give one or more of {names}")
    return sorted(set(chosen))


def _days(scenario: Scenario, days: Sequence[int] | None) -> np.ndarray:
    if days is None:
        return np.arange(scenario.days)
    values = list(days)
    bad = [
        d
        for d in values
        if isinstance(d, bool) or not isinstance(d, int | np.integer) or not 1 <= d <= scenario.days
    ]
    if bad or not values:
        raise ValueError(
            f"days must be whole days from 1 to {scenario.days} (the scenario's days), "
            f"got {shown(bad or values)}"
        )
    return np.unique(np.asarray(values, dtype=np.intp)) - 1


def _check_size(plan: Plan, chosen: list[int], n_days: int) -> None:
    """Refuse a file of more than :data:`MAX_ROWS_PER_FILE` rows (an upper estimate)."""
    scenario = plan.scenario
    changes = 0 if plan.comedication is None else plan.comedication.change_times.size
    extra = changes + 2 * len(scenario.comedications)
    for i in chosen:
        regimen = scenario.regimens[i]
        per_subject = scheduled_dose_times(regimen, scenario.days).size + n_days + extra
        rows = per_subject * plan.n_subjects
        if rows > MAX_ROWS_PER_FILE:
            raise ValueError(
                f"regimen {regimen.name!r}: about {rows:,} rows for {plan.n_subjects:,} "
                f"subjects, above the limit of {MAX_ROWS_PER_FILE:,} rows per file; write "
                "fewer subjects (n_subjects / -n) or fewer trough days (days)"
            )


def _write(plan, chosen, day_index, temporaries, dataset, chunk_subjects, progress) -> None:
    """Simulate chunk by chunk and append each regimen's rows to its temporary file."""
    scenario = plan.scenario
    handles = []
    try:
        columns = None
        for temporary in temporaries:
            handles.append(open(temporary, "x", encoding="utf-8", newline="\n"))
        n = plan.n_subjects
        step = max(1, int(chunk_subjects))
        for start in range(0, n, step):
            stop = min(n, start + step)
            chunk = chunk_records(plan, start, stop, tuple(chosen))
            if columns is None:
                columns = cohort_columns(scenario, list(chunk.regimens[0].disposition))
                for handle in handles:
                    handle.write(",".join(columns.header) + "\n")
            for i, records, handle in zip(chosen, chunk.regimens, handles, strict=True):
                if dataset is not None:
                    _check_reproduced(dataset, scenario.regimens[i].name, records, start, stop)
                handle.write("\n".join(regimen_lines(scenario, columns, chunk, records, day_index)))
                handle.write("\n")
            if progress is not None:
                progress(stop, n)
    finally:
        for handle in handles:
            handle.close()


def _check_reproduced(dataset: xr.Dataset, regimen: str, records, start: int, stop: int) -> None:
    given = dataset[contract.TROUGH].sel(regimen=regimen).isel(subject=slice(start, stop))
    given_days = np.asarray(given["day"].values, dtype=np.intp) - 1
    again = records.trough[:, given_days]
    if not np.array_equal(np.asarray(given.transpose("subject", "day").values), again):
        raise ValueError(
            f"the Dataset's troughs of {regimen!r} (subjects {start}-{stop - 1}) are not those "
            "of its scenario simulated again (a Dataset changed after the run, or made by "
            "another pksim version?); write the cohort from the scenario instead"
        )

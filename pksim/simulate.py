"""Orchestration: one :class:`~pksim.scenario.Scenario` -> an ``xarray.Dataset`` of troughs.

The cohort is simulated in chunks of subjects. For every chunk, covariates and individual
parameters are drawn once; then for each regimen the dose events, the per-dose bioavailability
(food, formulation, IOV, prednisone taper, co-medications) and the clearance over time (liver
function, co-medications) are built and handed to the exact kernel. Every random draw of
subject i depends only on (seed, i), and everything else a subject sees (the clearance change
points included) depends only on the scenario, so the result does not depend on the chunk
size, on threads or on Dask workers (bit-identical), and every regimen sees the same patients
(common random numbers).

``run`` returns the whole Dataset in memory (the default), streams it to a Zarr or NetCDF
store chunk by chunk (``store=``), or returns it backed by Dask arrays (``lazy=True``).
Attainment tables over any cohort size, in bounded memory, come from
:func:`pksim.stream.summarize`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np
import xarray as xr

from pksim import __version__, cohort, covariates, food, interactions, model, rng, targets
from pksim.regimen import Regimen, dose_events
from pksim.scenario import Scenario, load_scenario

HOURS_PER_DAY = 24.0
DEFAULT_CHUNK_SUBJECTS = 8 * rng.BLOCK_SIZE
"""Subjects simulated together (32 768, whole random blocks): bounds memory to roughly
2 kB per subject, regimen and day of the chunks in flight."""
MAX_PROFILE_VALUES = 200_000_000
"""Largest regimen x subject x time profile array kept in memory (8 bytes each)."""
CHUNKS_IN_FLIGHT_PER_WORKER = 2
"""Chunks submitted ahead per thread or Dask worker thread: keeps workers busy while bounding
the results waiting in memory."""

TROUGH_LONG_NAME = "Whole-blood trough concentration"
MEASURED_LONG_NAME = "Measured whole-blood trough (with assay error)"

MAX_DEFAULT_THREADS = 8
"""Cap of the default ``threads`` (memory grows with the chunks simulated at once)."""
THREADSAFE_LAYERS = ("omp", "tbb")
"""numba threading layers whose parallel kernels may be launched from several threads."""

Progress = Callable[[int, int], None]

SUBJECT_COORDINATES = (
    "weight_kg",
    "sex",
    "age_y",
    "hematocrit_pct",
    "egfr",
    "serum_creatinine_mg_dl",
    "cyp3a5",
    "cyp3a5_expresser",
    "liver_function",
    "prednisone_mg_per_day",
    "renal_impairment",
    "weight_band",
    "comedication",
)
"""Per-subject coordinates of the result (plus ``patient_id`` for a CSV cohort)."""


# --------------------------------------------------------------------------- run


def run(
    scenario: Scenario | str | Path,
    n_subjects: int | None = None,
    seed: int | None = None,
    *,
    chunk_subjects: int = DEFAULT_CHUNK_SUBJECTS,
    progress: Progress | None = None,
    store: str | Path | None = None,
    threads: int | None = None,
    client: Any = None,
    lazy: bool = False,
) -> xr.Dataset:
    """Simulate a scenario (an object, a file path or a bundled scenario name).

    ``n_subjects`` and ``seed`` override the scenario's. ``progress(done, total)`` is called
    after each chunk. Returns the Dataset described in DESIGN.md: ``trough`` (ng/mL,
    regimen x subject x day) and its measured counterpart, per-subject covariates as
    coordinates, units and provenance in attrs. The numbers are bit-identical whatever
    ``chunk_subjects``, ``threads`` or Dask workers.

    Parameters
    ----------
    chunk_subjects
        Subjects simulated together; memory grows with it (and with ``threads``): roughly
        150-200 MB per chunk being simulated at the default size, 2 regimens and 28 days.
    store
        A path ending in ``.zarr`` (Zarr v2 format, needs ``pip install 'pksim[zarr]'``) or
        ``.nc`` (NetCDF4 through h5netcdf): the Dataset is written chunk by chunk, under a
        temporary name renamed at the end (an interrupted run leaves nothing), so memory stays
        bounded by the chunk size. Returns the Dataset opened lazily from the store (values
        are read when used; close it when done).
    threads
        Chunks simulated at the same time in this process (default: one per CPU core, at most
        :data:`MAX_DEFAULT_THREADS`). Each chunk's kernel call is parallel with numba's threads
        on its own; the threads overlap the NumPy work of one chunk with another. Where
        numba's threading layer cannot be entered from several threads at once (the
        ``workqueue`` fallback, without OpenMP or TBB), chunks run one at a time.
    client
        A ``dask.distributed.Client`` or a scheduler address: chunks run as tasks on that
        cluster and come back here (into memory or into ``store``). Needs
        ``pip install 'pksim[dask]'``.
    lazy
        Return the Dataset backed by Dask arrays, one task per chunk, computed only when
        values are used (on the active Dask scheduler, e.g. the last ``Client`` created).
        Needs ``pip install 'pksim[dask]'``. Exclusive with ``store``.
    """
    plan = prepare(scenario, n_subjects, seed)
    _check_execution(chunk_subjects, threads)
    if not isinstance(lazy, bool):
        raise ValueError(f"lazy must be True or False, got {lazy!r}")
    if plan.scenario.output.profiles:
        points = len(plan.scenario.regimens) * plan.n_subjects * plan.profile_times.size
        if points > MAX_PROFILE_VALUES and store is None and not lazy:
            raise ValueError(
                f"concentration profiles would hold {points:,} values (limit "
                f"{MAX_PROFILE_VALUES:,}): lower the subject count, raise "
                "output.profile_step_h, or write them to a store (store='result.zarr')"
            )
    if lazy:
        if store is not None:
            raise ValueError("give either lazy=True or store=..., not both")
        if client is not None:
            raise ValueError(
                "lazy=True returns Dask arrays computed on the active Dask scheduler (the last "
                "Client created); leave out client, or drop lazy=True to run on that client now"
            )
        from pksim import distributed

        return distributed.lazy_dataset(plan, chunk_subjects)
    if store is not None:
        from pksim import store as stores

        path = stores.check_store_path(store)
        chunks = map_chunks(
            dataset_chunk,
            plan,
            chunk_subjects,
            threads=threads,
            client=client,
            progress=progress,
        )
        stores.write(path, chunks, attrs=provenance(plan))
        return stores.open_store(path)
    chunks = map_chunks(
        dataset_chunk, plan, chunk_subjects, threads=threads, client=client, progress=progress
    )
    return _assemble(chunks, plan.n_subjects).assign_attrs(provenance(plan))


def _assemble(chunks: Iterator[xr.Dataset], n_subjects: int) -> xr.Dataset:
    """One Dataset from the chunks (in subject order), filled into arrays allocated once."""
    first = next(chunks)
    if first.sizes["subject"] == n_subjects:
        return first
    full = {}
    for name, variable in first.variables.items():
        if "subject" in variable.dims:
            shape = tuple(
                n_subjects if dim == "subject" else size for dim, size in variable.sizes.items()
            )
            full[name] = np.empty(shape, dtype=variable.dtype)
    for chunk in itertools.chain([first], chunks):
        start = int(chunk["subject"].values[0])
        for name, values in full.items():
            variable = chunk.variables[name]
            if variable.dtype != values.dtype:
                raise RuntimeError(f"chunks disagree on the dtype of {name!r}: a pksim bug")
            axis = variable.dims.index("subject")
            index = (slice(None),) * axis + (slice(start, start + chunk.sizes["subject"]),)
            values[index] = variable.values
    return xr.Dataset(
        {
            name: (variable.dims, full[name], variable.attrs)
            for name, variable in first.data_vars.items()
        },
        coords={
            name: (
                coord.dims,
                full[name] if name in full else coord.values,
                coord.attrs,
            )
            for name, coord in first.coords.items()
        },
    )


def _check_execution(chunk_subjects: int, threads: int | None) -> None:
    threads = default_threads() if threads is None else threads
    for name, value in (("chunk_subjects", chunk_subjects), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True, slots=True)
class ComedicationTable:
    """Clearance multipliers of every co-medication combination on one shared time grid.

    ``change_times`` (c,) h; ``table`` (combinations, 2, c + 1) multipliers per combination and
    CYP3A5 expresser status (row 1 = expresser); ``combos`` (combinations, k) bool, which
    drugs each combination takes. The grid is the union of every possible combination's
    change points, so it does not depend on which subjects share a chunk.
    """

    change_times: np.ndarray
    table: np.ndarray
    combos: np.ndarray


@dataclass(frozen=True, slots=True)
class Plan:
    """What every chunk of one run shares: the scenario, seed, size and precomputed grids."""

    scenario: Scenario
    seed: int
    n_subjects: int
    comedication: ComedicationTable | None
    profile_times: np.ndarray
    label_dtypes: dict[str, np.dtype]


def prepare(scenario: Scenario | str | Path, n_subjects: int | None, seed: int | None) -> Plan:
    """Validate the run arguments and precompute what all chunks share."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    n = scenario.subjects if n_subjects is None else n_subjects
    seed = scenario.seed if seed is None else seed
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n_subjects must be a whole number >= 1, got {n!r}")
    if scenario.patients is not None and n > len(scenario.patients):
        raise ValueError(
            f"n_subjects ({n}) exceeds the {len(scenario.patients)} patients of the CSV table"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}")
    return Plan(
        scenario=scenario,
        seed=int(seed),
        n_subjects=int(n),
        comedication=_comedication_table(scenario),
        profile_times=profile_times(scenario),
        label_dtypes=_label_dtypes(scenario),
    )


def profile_times(scenario: Scenario) -> np.ndarray:
    """Times (h) of the concentration profiles: every ``profile_step_h`` over the whole run."""
    step = scenario.output.profile_step_h
    return np.arange(0.0, scenario.days * HOURS_PER_DAY + step / 2, step)


def _possible_combinations(scenario: Scenario) -> np.ndarray:
    """(combinations, k) bool: every set of co-medications a subject may take."""
    options = [
        (True,) if plan.fraction == 1.0 else (False,) if plan.fraction == 0.0 else (False, True)
        for plan in scenario.comedications
    ]
    combos = list(itertools.product(*options))
    return np.array(combos, dtype=bool).reshape(len(combos), len(options))


def _comedication_table(scenario: Scenario) -> ComedicationTable | None:
    if not scenario.comedications:
        return None
    combos = _possible_combinations(scenario)
    end_h = scenario.days * HOURS_PER_DAY
    both = np.array([False, True])
    grids = []
    for combo in combos:
        courses = [p.course for p, used in zip(scenario.comedications, combo, strict=True) if used]
        if not courses:
            grids.append((np.empty(0), np.ones((2, 1))))
            continue
        grid = interactions.cl_multiplier_grid(courses, both, t_begin=0.0, t_end=end_h)
        table = np.broadcast_to(grid.table, (2, grid.change_times.size + 1))
        grids.append((grid.change_times, table))
    change_times = np.unique(np.concatenate([times for times, _ in grids]))
    starts = np.concatenate([[-np.inf], change_times])
    table = np.stack(
        # Segment s of the union grid starts at starts[s]; take the combination's segment there.
        [own[:, np.searchsorted(times, starts, side="right")] for times, own in grids]
    )
    return ComedicationTable(change_times, table, combos)


def _comedication_labels_all(scenario: Scenario) -> list[str]:
    names = [plan.course.drug for plan in scenario.comedications]
    return [
        " + ".join(n for n, used in zip(names, combo, strict=True) if used) or "none"
        for combo in _possible_combinations(scenario)
    ]


def _weight_band_edges(scenario: Scenario) -> list[float]:
    return sorted(
        {
            band.below_kg
            for r in scenario.regimens
            for band in r.weight_bands
            if band.below_kg is not None
        }
        or set(targets.weight_band_edges_kg())
    )


def _weight_band_labels(edges: Sequence[float]) -> list[str]:
    labels = [f"< {edges[0]:g} kg"]
    labels += [f"{low:g}-{high:g} kg" for low, high in itertools.pairwise(edges)]
    labels.append(f"≥ {edges[-1]:g} kg")
    return labels


def _label_dtypes(scenario: Scenario) -> dict[str, np.dtype]:
    """Fixed-width string dtypes of the label coordinates, wide enough for every level, so
    chunks agree (appending to a store and Dask chunks need one dtype)."""
    possible = {
        "weight_band": _weight_band_labels(_weight_band_edges(scenario)),
        "comedication": _comedication_labels_all(scenario),
    }
    if scenario.patients is not None and scenario.patients.patient_id is not None:
        possible["patient_id"] = list(scenario.patients.patient_id)
    return {name: np.asarray(labels).dtype for name, labels in possible.items()}


# --------------------------------------------------------------------------- one chunk


@dataclass(frozen=True, slots=True)
class ChunkArrays:
    """Simulated arrays of subjects [start, stop) (see :func:`simulate_arrays`).

    ``trough`` (regimen, subject, day) ng/mL on ``days``; ``measured``/``below_lloq`` the same
    shape, or None when not asked for; ``daily_dose_mg`` (regimen, subject); ``target_lower``
    and ``target_upper`` (subject,) ng/mL; ``coords`` name -> (subject,) array;
    ``profiles`` (regimen, subject, time) ng/mL or None.
    """

    start: int
    stop: int
    days: np.ndarray
    trough: np.ndarray
    measured: np.ndarray | None
    below_lloq: np.ndarray | None
    daily_dose_mg: np.ndarray
    target_lower: np.ndarray
    target_upper: np.ndarray
    coords: dict[str, np.ndarray]
    profiles: np.ndarray | None


def simulate_chunk(scenario: Scenario, seed: int, start: int, stop: int) -> xr.Dataset:
    """Dataset for subjects [start, stop) (see :func:`run`), without the run's attrs."""
    return dataset_chunk(prepare(scenario, stop, seed), start, stop)


def dataset_chunk(plan: Plan, start: int, stop: int) -> xr.Dataset:
    """Dataset of subjects [start, stop) of a prepared run."""
    return chunk_dataset(plan, simulate_arrays(plan, start, stop))


def simulate_arrays(
    plan: Plan,
    start: int,
    stop: int,
    *,
    days: tuple[int, int] | None = None,
    measured: bool = True,
    coordinates: Collection[str] | None = None,
    profiles: bool = True,
) -> ChunkArrays:
    """Simulate subjects [start, stop) of a prepared run.

    ``days`` ``(first, last)`` inclusive limits the troughs returned (default: every day);
    ``measured`` False skips the assay error; ``coordinates`` names the subject coordinates
    wanted (default: all); ``profiles`` False skips concentration profiles. Whatever is
    returned is bit-identical to the same values of a full simulation.
    """
    scenario, seed = plan.scenario, plan.seed
    first, last = (1, scenario.days) if days is None else days
    pset, variability = scenario.parameter_set, scenario.variability
    typical_only = variability.typical_only
    cov = _covariates(scenario, seed, start, stop)
    pk = cohort.individual_parameters(pset, cov, seed=seed, start=start, typical_only=typical_only)
    expresser = np.asarray(cov.cyp3a5) > 0
    cl = pk.cl * covariates.liver_cl_multiplier(pset, cov.liver_function)
    day_numbers = np.arange(1, scenario.days + 1)
    offsets = cohort.sampling_time_offsets(
        variability, scenario.days, seed=seed, start=start, stop=stop
    )
    sample_times = day_numbers * HOURS_PER_DAY + offsets
    # The assay error of day d uses the d-th residual draw: simulate days 1..last for it.
    sampled = slice(0, last) if measured else slice(first - 1, last)
    kept = slice(first - 1 - sampled.start, last - sampled.start)
    taking = _comedication_mask(scenario, seed, start, stop)
    combo = _combination_index(plan, taking)
    change_times, cl_multipliers = _comedication_clearance(plan, combo, expresser)
    taper = scenario.population.prednisone_taper
    with_profiles = profiles and scenario.output.profiles

    all_events = [
        dose_events(regimen, cov.weight_kg, scenario.days, seed=seed, start=start)
        for regimen in scenario.regimens
    ]
    doses = [_shared_rows(_dose_times_after_draws(e, sample_times), e.amounts) for e in all_events]
    all_times = [times for times, _ in doses]
    rows = max(times.shape[0] for times in all_times)
    # One IOV call for every regimen's doses: the same draws, made once.
    all_iov = np.split(
        cohort.iov_f_multipliers(
            pset,
            np.concatenate([np.broadcast_to(t, (rows, t.shape[1])) for t in all_times], axis=1),
            seed=seed,
            start=start,
            stop=stop,
            occasion_length_h=variability.occasion_length_h,
            typical_only=typical_only,
        ),
        np.cumsum([times.shape[1] for times in all_times])[:-1],
        axis=1,
    )

    troughs, measured_values, below, daily, profile_values = [], [], [], [], []
    for regimen, events, (times, amounts), iov in zip(
        scenario.regimens, all_events, doses, all_iov, strict=True
    ):
        conditions = _food_conditions(scenario, regimen, events, seed, start, stop)
        absorption = food.absorption_arrays(pk.ka, conditions, regimen.formulation)
        dose_f = absorption.dose_f * iov
        if taper is not None:
            dose_f = dose_f * covariates.prednisone_f_multipliers(
                pset, cov.prednisone_mg_per_day, taper, times
            )
        if plan.comedication is not None:
            dose_f = dose_f * _comedication_f(plan, combo, expresser, times)
        arguments = dict(
            dose_class=absorption.dose_class,
            class_lag=absorption.class_lag,
            dose_f=dose_f,
            cl_change_times=change_times,
            cl_multipliers=cl_multipliers,
        )
        inputs = (cl, pk.v, absorption.ka, pk.tlag, pk.f, times, amounts)
        true = model.concentrations_general(*inputs, sample_times[:, sampled], **arguments)
        if measured:
            observed = cohort.residual_error(
                pset,
                true,
                seed=seed,
                start=start,
                lloq_ng_per_ml=variability.lloq_ng_per_ml,
                typical_only=typical_only,
            )
            measured_values.append(observed.measured[:, kept])
            below.append(observed.below_lloq[:, kept])
        troughs.append(true[:, kept])
        daily.append(events.daily_dose_mg)
        if with_profiles:
            profile_values.append(
                model.concentrations_general(*inputs, plan.profile_times, **arguments)
            )

    renal = targets.is_renal_impaired(
        cov.egfr, cov.serum_creatinine_mg_dl, cov.serum_creatinine_uln_mg_dl
    )
    target = scenario.target
    lower, upper = targets.subject_target_bounds(
        target.target, renal if target.renal_ceiling else np.zeros_like(renal)
    )
    names = SUBJECT_COORDINATES if coordinates is None else coordinates
    coords = {name: _subject_coordinate(name, plan, cov, renal, expresser, combo) for name in names}
    if coordinates is None and cov.patient_id is not None:
        coords["patient_id"] = _subject_coordinate("patient_id", plan, cov, renal, expresser, combo)
    return ChunkArrays(
        start=start,
        stop=stop,
        days=day_numbers[first - 1 : last],
        trough=np.stack(troughs),
        measured=np.stack(measured_values) if measured else None,
        below_lloq=np.stack(below) if measured else None,
        daily_dose_mg=np.stack(daily),
        target_lower=lower,
        target_upper=upper,
        coords=coords,
        profiles=np.stack(profile_values) if with_profiles else None,
    )


def _covariates(scenario: Scenario, seed: int, start: int, stop: int) -> covariates.Covariates:
    if scenario.patients is not None:
        return scenario.patients.slice(start, stop)
    return cohort.sample_covariates(scenario.population, seed=seed, start=start, stop=stop)


def _comedication_mask(scenario: Scenario, seed: int, start: int, stop: int) -> np.ndarray:
    """(n, k) bool: which subjects take each co-medication (stream ``comedication``)."""
    k = len(scenario.comedications)
    fractions = np.array([plan.fraction for plan in scenario.comedications])
    if k == 0 or np.all(fractions == 1.0):
        return np.ones((stop - start, k), dtype=bool)

    def sampler(generator: np.random.Generator, size: int) -> np.ndarray:
        return generator.random((size, len(rng.STREAMS)))  # fixed width: columns never move

    uniform = rng.draw(seed, "comedication", start, stop, sampler)[:, :k]
    return uniform < fractions


def _combination_index(plan: Plan, taking: np.ndarray) -> np.ndarray:
    """(n,) index of each subject's co-medication combination in the plan's table."""
    if plan.comedication is None:
        return np.zeros(taking.shape[0], dtype=np.intp)
    combos = plan.comedication.combos
    weights = 1 << np.arange(combos.shape[1])
    lookup = np.full(1 << combos.shape[1], -1, dtype=np.intp)
    lookup[combos @ weights] = np.arange(combos.shape[0])
    return lookup[taking @ weights]


def _comedication_clearance(
    plan: Plan, combo: np.ndarray, expresser: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(cl_change_times, cl_multipliers): one shared row when every subject has the same."""
    table = plan.comedication
    if table is None:
        return None, None
    row = combo * 2 + expresser
    rows = table.table.reshape(-1, table.change_times.size + 1)
    distinct = np.unique(row)
    if np.all(rows[distinct] == rows[distinct[:1]]):
        return table.change_times, rows[distinct[:1]]
    return table.change_times, rows[row]


def _comedication_f(
    plan: Plan, combo: np.ndarray, expresser: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """Per-dose F multipliers (n|1, m) from each subject's co-medications."""
    scenario = plan.scenario
    combos = plan.comedication.combos
    dose_f = np.ones((1, times.shape[1]))
    for index in np.unique(combo):
        courses = [
            p.course for p, used in zip(scenario.comedications, combos[index], strict=True) if used
        ]
        if not courses:
            continue
        f = interactions.f_multipliers(courses, times, expresser)
        members = combo == index
        dose_f = f if members.all() else np.where(members[:, None], f, dose_f)
    return dose_f


def _food_conditions(scenario: Scenario, regimen: Regimen, events, seed, start, stop):
    """Condition code of every dose, (n|1, m)."""
    plan = scenario.food
    if plan.meals:
        clock = [int(c[:2]) + int(c[3:]) / 60.0 for c in regimen.dose_clock_times]
        per_slot = food.conditions_from_schedule(clock, plan.meals)
        planned = [per_slot[slot] for slot in events.slot]
    else:
        planned = [plan.condition] * events.slot.size
    return food.draw_dose_conditions(
        planned,
        seed=seed,
        start=start,
        stop=stop,
        fraction_against_rule=plan.fraction_against_rule,
        violation=plan.violation,
    )


def _shared_rows(times: np.ndarray, amounts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1, m) dose times and amounts when every subject has the same (fixed-dose regimens
    taken on time): the kernel then reads one shared row, with the same numbers."""
    if times.shape[0] > 1 and (amounts == amounts[:1]).all() and (times == times[:1]).all():
        return times[:1], amounts[:1]  # (NaN != NaN: a missed dose keeps rows per subject)
    return times, amounts


def _dose_times_after_draws(events, sample_times: np.ndarray) -> np.ndarray:
    """Dose times with a late trough draw respected: the dose due then waits for the draw."""
    times = np.array(events.times, order="C")  # the kernel wants rows contiguous
    columns = np.flatnonzero((events.slot == 0) & (events.day >= 2))
    previous = events.day[columns] - 2  # the trough of the day before that dose
    step = columns[0] if columns.size else 0
    if np.array_equal(columns, np.arange(step, times.shape[1], step or 1)) and np.array_equal(
        previous, np.arange(columns.size)
    ):  # day-major slots: the first doses of days 2.. are every step-th column, in place
        view = times[:, step::step]
        np.maximum(view, sample_times[:, : columns.size], out=view)  # a missed (NaN) stays NaN
    else:
        times[:, columns] = np.maximum(times[:, columns], sample_times[:, previous])
    return times


# --------------------------------------------------------------------------- coordinates

_COORDINATE_ATTRS: dict[str, dict[str, str]] = {
    "subject": {"long_name": "Subject index"},
    "weight_kg": {"units": "kg", "long_name": "Body weight"},
    "sex": {"long_name": "Sex"},
    "age_y": {"units": "years", "long_name": "Age"},
    "hematocrit_pct": {"units": "%", "long_name": "Hematocrit"},
    "egfr": {"units": "mL/min/1.73 m2", "long_name": "eGFR (CKD-EPI)"},
    "serum_creatinine_mg_dl": {"units": "mg/dL", "long_name": "Serum creatinine"},
    "cyp3a5": {"long_name": "CYP3A5 genotype"},
    "cyp3a5_expresser": {"long_name": "CYP3A5 expresser (*1 carrier)"},
    "liver_function": {"long_name": "Liver function"},
    "prednisone_mg_per_day": {"units": "mg/day", "long_name": "Prednisone at start"},
    "renal_impairment": {"long_name": "Renal impairment (consensus)"},
    "weight_band": {"long_name": "Weight band"},
    "comedication": {"long_name": "Co-medication"},
    "patient_id": {"long_name": "Patient"},
}


def _subject_coordinate(name: str, plan: Plan, cov, renal, expresser, combo) -> np.ndarray:
    """One per-subject coordinate (subject,) of a chunk."""
    if name in ("sex", "cyp3a5", "liver_function"):
        return cov.labels(name) if name != "sex" else np.where(cov.sex == 1, "M", "F")
    if name == "cyp3a5_expresser":
        return expresser
    if name == "renal_impairment":
        return renal
    if name == "weight_band":
        edges = _weight_band_edges(plan.scenario)
        labels = np.asarray(_weight_band_labels(edges), dtype=plan.label_dtypes[name])
        return labels[np.searchsorted(edges, cov.weight_kg, side="right")]
    if name == "comedication":
        labels = _comedication_labels_all(plan.scenario)
        return np.asarray(labels, dtype=plan.label_dtypes[name])[combo]
    if name == "patient_id":
        return np.asarray(cov.patient_id, dtype=plan.label_dtypes[name])
    if name in SUBJECT_COORDINATES:
        return np.asarray(getattr(cov, name))
    raise ValueError(
        f"unknown subject coordinate {name!r}; valid: {[*SUBJECT_COORDINATES, 'patient_id']}"
    )


def chunk_dataset(plan: Plan, arrays: ChunkArrays) -> xr.Dataset:
    """The Dataset of one chunk from its arrays (variables and coordinates, no run attrs)."""
    scenario = plan.scenario
    target = scenario.target.target
    dims = ("regimen", "subject", "day")
    trough_attrs = {"units": "ng/mL", "long_name": TROUGH_LONG_NAME}
    variables = {
        "trough": (dims, arrays.trough, trough_attrs),
        "trough_measured": (
            dims,
            arrays.measured,
            trough_attrs | {"long_name": MEASURED_LONG_NAME},
        ),
        "below_lloq": (
            dims,
            arrays.below_lloq,
            {
                "long_name": "Measured trough below the assay LLOQ",
                "lloq_ng_per_ml": scenario.variability.lloq_ng_per_ml,
            },
        ),
        "daily_dose_mg": (
            ("regimen", "subject"),
            arrays.daily_dose_mg,
            {"units": "mg/day", "long_name": "Intended daily dose"},
        ),
        "target_lower": (
            "subject",
            arrays.target_lower,
            {"units": "ng/mL", "long_name": "Target lower bound", "source": target.source},
        ),
        "target_upper": (
            "subject",
            arrays.target_upper,
            {"units": "ng/mL", "long_name": "Target upper bound", "source": target.source},
        ),
    }
    coords: dict[str, Any] = {
        "subject": ("subject", np.arange(arrays.start, arrays.stop), _COORDINATE_ATTRS["subject"])
    }
    coords |= {
        name: ("subject", values, _COORDINATE_ATTRS[name]) for name, values in arrays.coords.items()
    }
    coords |= {
        "regimen": ("regimen", [r.name for r in scenario.regimens], {"long_name": "Regimen"}),
        "day": (
            "day",
            arrays.days,
            {
                "long_name": "Day of treatment",
                "units": "day",
                "description": "trough at t = 24·day h, just before any dose given then",
            },
        ),
    }
    if arrays.profiles is not None:
        variables["concentration"] = (
            ("regimen", "subject", "time"),
            arrays.profiles,
            {"units": "ng/mL", "long_name": "Whole-blood concentration"},
        )
        coords["time"] = (
            "time",
            plan.profile_times,
            {"units": "h", "long_name": "Time since first dose"},
        )
    return xr.Dataset(variables, coords=coords)


# --------------------------------------------------------------------------- execution


def chunk_bounds(n_subjects: int, chunk_subjects: int) -> list[tuple[int, int]]:
    """[(start, stop), ...] covering subjects 0..n_subjects in chunks of ``chunk_subjects``."""
    return [
        (start, min(n_subjects, start + chunk_subjects))
        for start in range(0, n_subjects, chunk_subjects)
    ]


def map_chunks(
    task: Callable[..., Any],
    plan: Plan,
    chunk_subjects: int,
    *,
    threads: int | None = None,
    client: Any = None,
    progress: Progress | None = None,
    arguments: tuple = (),
) -> Iterator[Any]:
    """``task(plan, start, stop, *arguments)`` for every chunk, results in subject order.

    Runs in this thread, in ``threads`` threads, or as tasks on a Dask ``client`` (a
    ``Client`` or a scheduler address); a bounded number of chunks is in flight at a time.
    """
    _check_execution(chunk_subjects, threads)
    threads = default_threads() if threads is None else threads
    bounds = chunk_bounds(plan.n_subjects, chunk_subjects)
    if client is not None:
        from pksim import distributed

        results = distributed.ordered_map(client, task, plan, bounds, arguments)
    elif threads > 1 and len(bounds) > 1:
        results = _threaded_map(task, plan, bounds, arguments, threads)
    else:
        results = (task(plan, start, stop, *arguments) for start, stop in bounds)
    for (_, stop), result in zip(bounds, results, strict=True):
        if progress is not None:
            progress(stop, plan.n_subjects)
        yield result


def _threaded_map(
    task: Callable[..., Any],
    plan: Plan,
    bounds: Iterable[tuple[int, int]],
    arguments: tuple,
    threads: int,
) -> Iterator[Any]:
    bounds = list(bounds)
    # The first chunk runs here: it starts numba's threading layer, which tells whether
    # kernels may be launched from several threads at once.
    yield task(plan, *bounds[0], *arguments)
    if numba.threading_layer() not in THREADSAFE_LAYERS:
        for start, stop in bounds[1:]:
            yield task(plan, start, stop, *arguments)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pksim") as pool:
        yield from ordered_results(
            lambda start, stop: pool.submit(task, plan, start, stop, *arguments),
            bounds[1:],
            threads * CHUNKS_IN_FLIGHT_PER_WORKER,
        )


def ordered_results(
    submit: Callable[[int, int], Any], bounds: Iterable[tuple[int, int]], window: int
) -> Iterator[Any]:
    """Results of ``submit(start, stop)`` futures in chunk order, at most ``window`` in flight.

    Finished results never pile up ahead of the one being collected; futures still pending
    when the consumer stops (or fails) are cancelled.
    """
    pending: list[Any] = []
    try:
        for start, stop in bounds:
            pending.append(submit(start, stop))
            if len(pending) >= window:
                yield pending.pop(0).result()
        while pending:
            yield pending.pop(0).result()
    finally:
        for future in pending:
            future.cancel()


# --------------------------------------------------------------------------- provenance


def _nominal_dose_times(scenario: Scenario) -> dict[str, list[float]]:
    """Scheduled dose times (h) of each regimen, for marking doses on plots."""
    out = {}
    for regimen in scenario.regimens:
        punctual = dataclasses.replace(regimen, missed_dose_probability=0.0, late_dose_max_h=0.0)
        events = dose_events(punctual, np.array([60.0]), scenario.days, seed=0, start=0)
        out[regimen.name] = [float(t) for t in events.times[0]]
    return out


def provenance(plan: Plan) -> dict[str, object]:
    """Dataset attrs: the scenario, seed, parameter set and its references, pksim version."""
    scenario, seed, n = plan.scenario, plan.seed, plan.n_subjects
    target = scenario.target
    references = sorted({*scenario.parameter_set.references, *scenario.population.references})
    return {
        "title": scenario.title,
        "pksim_version": __version__,
        "scenario": scenario.text,
        "scenario_origin": scenario.origin,
        "seed": int(seed),
        "n_subjects": int(n),
        "days": int(scenario.days),
        "population": scenario.population.name,
        "parameter_set": scenario.parameter_set.name,
        "references": "\n".join(references),
        "target_phase": target.phase or "custom",
        "target_label": target.target.label,
        "target_day": target.day if target.day is not None else int(scenario.days),
        "target_window": json.dumps(target.window),
        "comedications": json.dumps(
            [
                {
                    "drug": p.course.drug,
                    "start_day": p.course.start_day if np.isfinite(p.course.start_day) else None,
                    "stop_day": p.course.stop_day,
                    "fraction": p.fraction,
                }
                for p in scenario.comedications
            ]
        ),
        "food": json.dumps(
            {
                "condition": scenario.food.condition,
                "meals": [[m.clock_h, m.kind] for m in scenario.food.meals],
                "fraction_against_rule": scenario.food.fraction_against_rule,
            }
        ),
        "dose_times_h": json.dumps(_nominal_dose_times(scenario)),
        "typical_only": int(scenario.variability.typical_only),
    }


def default_threads() -> int:
    """Default ``threads``: the CPU cores this process may use, at most MAX_DEFAULT_THREADS."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_THREADS, cores))

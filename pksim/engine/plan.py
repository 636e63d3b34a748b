"""The plan of a run: the one place that resolves the subject count and seed and precomputes
what every chunk shares (co-medication grid, profile times, label widths, nominal doses)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pksim import contract
from pksim.dosing.events import scheduled_dose_times
from pksim.errors import shown
from pksim.library import targets
from pksim.modifiers.comedication import ComedicationTable, combination_labels, comedication_table
from pksim.scenario import MAX_SEED, MAX_SUBJECTS, Scenario, load_scenario
from pksim.units import HOURS_PER_DAY


@dataclass(frozen=True, slots=True)
class Plan:
    """What every chunk of one run shares: the scenario, seed, size and precomputed grids."""

    scenario: Scenario
    seed: int
    n_subjects: int
    comedication: ComedicationTable | None
    profile_times: np.ndarray
    label_dtypes: dict[str, np.dtype]
    weight_band_edges: tuple[float, ...]


def prepare(scenario: Scenario | str | Path, n_subjects: int | None, seed: int | None) -> Plan:
    """Validate the run arguments and precompute what all chunks share."""
    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    elif not isinstance(scenario, Scenario):
        raise ValueError(
            "scenario must be a Scenario (pksim.load_scenario), a scenario file or the name of "
            f"a bundled scenario, got {shown(scenario)}"
        )
    n = check_n_subjects(scenario.subjects if n_subjects is None else n_subjects)
    seed = check_seed(scenario.seed if seed is None else seed)
    if scenario.patients is not None and n > len(scenario.patients):
        raise ValueError(
            f"n_subjects ({n}) exceeds the {len(scenario.patients)} patients of the CSV table"
        )
    edges = weight_band_edges(scenario)
    return Plan(
        scenario=scenario,
        seed=seed,
        n_subjects=n,
        comedication=comedication_table(scenario.comedications, scenario.days),
        profile_times=profile_times(scenario),
        label_dtypes=_label_dtypes(scenario, edges),
        weight_band_edges=edges,
    )


def check_n_subjects(n_subjects: object) -> int:
    """``n_subjects`` (``-n``) as an int, or ValueError unless it is a whole number from 1 to
    :data:`~pksim.scenario.MAX_SUBJECTS` (the limit of a scenario's ``subjects``)."""
    if (
        isinstance(n_subjects, bool)
        or not isinstance(n_subjects, int | np.integer)
        or not 1 <= int(n_subjects) <= MAX_SUBJECTS
    ):
        raise ValueError(
            f"n_subjects must be a whole number from 1 to {MAX_SUBJECTS:,}, got {shown(n_subjects)}"
        )
    return int(n_subjects)


def check_seed(seed: object) -> int:
    """``seed`` (``--seed``) as an int, or ValueError unless it is a whole number from 0 to
    :data:`~pksim.scenario.MAX_SEED` (the limit of a scenario's ``seed``)."""
    whole = isinstance(seed, int | np.integer) and not isinstance(seed, bool)
    if not whole or not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to 2**64 - 1, got {shown(seed)}")
    return int(seed)


def profile_times(scenario: Scenario) -> np.ndarray:
    """Times (h) of the concentration profiles: every ``profile_step_h`` over the whole run."""
    step = scenario.output.profile_step_h
    return np.arange(0.0, scenario.days * HOURS_PER_DAY + step / 2, step)


def weight_band_edges(scenario: Scenario) -> tuple[float, ...]:
    """Weight-band edges (kg) for the ``weight_band`` coordinate: the regimens' own bands,
    else the consensus bands."""
    return tuple(
        sorted(
            {
                band.below_kg
                for r in scenario.regimens
                for band in r.weight_bands
                if band.below_kg is not None
            }
            or set(targets.weight_band_edges_kg())
        )
    )


def weight_band_labels(edges: Sequence[float]) -> list[str]:
    """One label per band: "< a kg", "a-b kg", …, "≥ z kg"."""
    labels = [f"< {edges[0]:g} kg"]
    labels += [f"{low:g}-{high:g} kg" for low, high in itertools.pairwise(edges)]
    labels.append(f"≥ {edges[-1]:g} kg")
    return labels


def _label_dtypes(scenario: Scenario, edges: Sequence[float]) -> dict[str, np.dtype]:
    """Fixed-width string dtypes of the label coordinates, wide enough for every level, so
    chunks agree (appending to a store and Dask chunks need one dtype)."""
    possible = {
        "weight_band": weight_band_labels(edges),
        "comedication": combination_labels(scenario.comedications),
    }
    if scenario.patients is not None and scenario.patients.patient_id is not None:
        possible["patient_id"] = list(scenario.patients.patient_id)
    return {name: np.asarray(labels).dtype for name, labels in possible.items()}


def nominal_dose_times(scenario: Scenario) -> dict[str, list[float]]:
    """Scheduled dose times (h) of each regimen, taken on time, for marking doses on plots."""
    return {
        regimen.name: [float(t) for t in scheduled_dose_times(regimen, scenario.days)]
        for regimen in scenario.regimens
    }


def provenance(plan: Plan) -> dict[str, object]:
    """The provenance attrs of a run's Dataset (:func:`pksim.contract.provenance`)."""
    scenario = plan.scenario
    return contract.provenance(scenario, plan.seed, plan.n_subjects, nominal_dose_times(scenario))

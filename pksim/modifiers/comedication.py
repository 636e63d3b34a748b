"""Co-medication combinations of a scenario: who takes what, and the clearance and F they see.

A scenario's co-medications may each be taken by a fraction of the cohort, so a subject takes
one *combination* of them. Every possible combination's clearance multipliers are laid on one
shared time grid (the union of every combination's change points), so the grid does not
depend on which subjects share a chunk, and a subject's clearance row is one table lookup.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pksim import rng
from pksim.library.drugs import GENOTYPE_CLASSES, genotype_class, lookup_drug
from pksim.modifiers import interactions
from pksim.units import HOURS_PER_DAY

if TYPE_CHECKING:
    from pksim.cohort.covariates import Covariates
    from pksim.modifiers.comedication_plans import ComedicationPlan

COMEDICATION_DRAW_WIDTH = 8
"""Uniform draws per subject in stream ``comedication`` (column j decides co-medication j).
A fixed width, at least the scenario limit of co-medications: adding a co-medication or a
random stream never moves which subjects take the others."""
NO_COMEDICATION = "none"
"""Label of the combination that takes no co-medication."""


@dataclass(frozen=True, slots=True)
class ComedicationTable:
    """Clearance multipliers of every co-medication combination on one shared time grid.

    ``change_times`` (c,) h; ``table`` (combinations, g, c + 1) multipliers per combination and
    genotype: g = 2 (CYP3A5 expresser status, row 1 = expresser) or, when a drug depends on
    CYP2C19 status, g = :data:`~pksim.library.drugs.GENOTYPE_CLASSES` (row = genotype class);
    ``combos`` (combinations, k) bool, which drugs each combination takes; ``labels`` one text
    per combination ("a + b", or "none").
    """

    change_times: np.ndarray
    table: np.ndarray
    combos: np.ndarray
    labels: tuple[str, ...]

    @property
    def by_cyp2c19(self) -> bool:
        """True when rows are genotype classes (a drug depends on CYP2C19 status)."""
        return self.table.shape[1] == GENOTYPE_CLASSES


def genotype_classes(cov: Covariates) -> np.ndarray:
    """(n,) genotype class of each subject (:func:`pksim.library.drugs.genotype_class`): CYP3A5
    expresser + 2 x CYP2C19 code; negative where CYP2C19 status is unknown."""
    return genotype_class(np.asarray(cov.cyp3a5) > 0, cov.cyp2c19)


def _subject_genotypes(table: ComedicationTable, genotype: np.ndarray) -> np.ndarray:
    """Row within a combination for each subject: the class, or the expresser flag (0/1)."""
    genotype = np.asarray(genotype).astype(np.intp)
    if not table.by_cyp2c19:
        return genotype % 2
    if genotype.size and genotype.min() < 0:
        raise ValueError(
            "a co-medication depends on CYP2C19 status, which is unknown for "
            f"{int((genotype < 0).sum())} subject(s): give cyp2c19 (or let it be imputed)"
        )
    return genotype


def possible_combinations(plans: Sequence[ComedicationPlan]) -> np.ndarray:
    """(combinations, k) bool: every set of co-medications a subject may take."""
    options = [
        (True,) if plan.fraction == 1.0 else (False,) if plan.fraction == 0.0 else (False, True)
        for plan in plans
    ]
    combos = list(itertools.product(*options))
    return np.array(combos, dtype=bool).reshape(len(combos), len(options))


def combination_labels(plans: Sequence[ComedicationPlan]) -> list[str]:
    """One label per possible combination, in :func:`possible_combinations` order."""
    names = [plan.course.drug for plan in plans]
    return [
        " + ".join(n for n, used in zip(names, combo, strict=True) if used) or NO_COMEDICATION
        for combo in possible_combinations(plans)
    ]


def comedication_table(plans: Sequence[ComedicationPlan], days: int) -> ComedicationTable | None:
    """The shared table of a scenario's co-medications over ``days`` days (None without any)."""
    if not plans:
        return None
    combos = possible_combinations(plans)
    end_h = days * HOURS_PER_DAY
    by_cyp2c19 = any(lookup_drug(plan.course.drug).cyp2c19_dependent for plan in plans)
    groups = np.arange(GENOTYPE_CLASSES) if by_cyp2c19 else np.array([False, True])
    grids = []
    for combo in combos:
        courses = [p.course for p, used in zip(plans, combo, strict=True) if used]
        if not courses:
            grids.append((np.empty(0), np.ones((groups.size, 1))))
            continue
        grid = interactions.cl_multiplier_grid(courses, groups, t_begin=0.0, t_end=end_h)
        table = np.broadcast_to(grid.multipliers, (groups.size, grid.change_times.size + 1))
        grids.append((grid.change_times, table))
    change_times = np.unique(np.concatenate([times for times, _ in grids]))
    starts = np.concatenate([[-np.inf], change_times])
    table = np.stack(
        # Segment s of the union grid starts at starts[s]; take the combination's segment there.
        [own[:, np.searchsorted(times, starts, side="right")] for times, own in grids]
    )
    return ComedicationTable(change_times, table, combos, tuple(combination_labels(plans)))


def draw_taking(plans: Sequence[ComedicationPlan], seed: int, start: int, stop: int) -> np.ndarray:
    """(n, k) bool: which subjects [start, stop) take each co-medication (stream
    ``comedication``, :data:`COMEDICATION_DRAW_WIDTH` columns)."""
    k = len(plans)
    if k > COMEDICATION_DRAW_WIDTH:
        raise ValueError(f"at most {COMEDICATION_DRAW_WIDTH} co-medications are supported, got {k}")
    fractions = np.array([plan.fraction for plan in plans])
    if k == 0 or np.all(fractions == 1.0):
        return np.ones((stop - start, k), dtype=bool)

    def sampler(generator: np.random.Generator, size: int) -> np.ndarray:
        return generator.random((size, COMEDICATION_DRAW_WIDTH))

    uniform = rng.draw(seed, "comedication", start, stop, sampler)[:, :k]
    return uniform < fractions


def combination_index(table: ComedicationTable | None, taking: np.ndarray) -> np.ndarray:
    """(n,) index of each subject's co-medication combination in ``table``."""
    if table is None:
        return np.zeros(taking.shape[0], dtype=np.intp)
    combos = table.combos
    weights = 1 << np.arange(combos.shape[1])
    lookup = np.full(1 << combos.shape[1], -1, dtype=np.intp)
    lookup[combos @ weights] = np.arange(combos.shape[0])
    return lookup[taking @ weights]


def clearance_rows(
    table: ComedicationTable | None, combo: np.ndarray, genotype: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(cl_change_times, cl_multipliers) for the kernel: one shared row when every subject has
    the same. ``genotype``: CYP3A5 expresser flags, or classes (:func:`genotype_classes`)."""
    if table is None:
        return None, None
    row = combo * table.table.shape[1] + _subject_genotypes(table, genotype)
    rows = table.table.reshape(-1, table.change_times.size + 1)
    distinct = np.unique(row)
    if np.all(rows[distinct] == rows[distinct[:1]]):
        return table.change_times, rows[distinct[:1]]
    return table.change_times, rows[row]


def dose_f_multipliers(
    plans: Sequence[ComedicationPlan],
    table: ComedicationTable,
    combo: np.ndarray,
    genotype: np.ndarray,
    times: np.ndarray,
) -> np.ndarray:
    """Per-dose F multipliers (n|1, m) from each subject's co-medications. ``genotype``: CYP3A5
    expresser flags, or genotype classes (:func:`genotype_classes`)."""
    rows = _subject_genotypes(table, genotype)
    expresser = rows if table.by_cyp2c19 else rows == 1
    dose_f = np.ones((1, times.shape[1]))
    for index in np.unique(combo):
        courses = [p.course for p, used in zip(plans, table.combos[index], strict=True) if used]
        if not courses:
            continue
        f = interactions.f_multipliers(courses, times, expresser)
        members = combo == index
        dose_f = f if members.all() else np.where(members[:, None], f, dose_f)
    return dose_f

"""Dose response: the troughs of every candidate daily dose of one fixed regimen, in one pass.

For a fixed schedule the model is linear in the dose amounts, whatever the clearance grid,
per-dose bioavailability (food, formulation, IOV, prednisone, co-medication), absorption
classes or adherence: a missed dose is absent at every dose and a late one is late at every
dose. So the troughs of a candidate whose dose j of the day is ``a_j`` mg are exactly
``sum_j a_j R_j``, with ``R_j`` the troughs of 1 mg in every dose of slot j of the day (and
nothing else). The k = ``doses_per_day`` unit runs, each over only that slot's dose columns,
cost about one ordinary run (more where clearance changes often: each run walks every change
point); every candidate then costs k multiply-adds per trough. When every candidate splits its
daily dose evenly (no rounding, one dose a day, or fixed doses that happen to split evenly:
decided from the regimen, the same for every chunk) one run with 1 mg in every dose suffices:
the troughs are ``a R``.

The amounts of a candidate come from the regimen's own rules for that dose
(:mod:`pksim.dosing.amounts`, :mod:`pksim.dosing.rounding`): the candidate replaces the
regimen's dose (mg/day, or mg/kg/day times each subject's weight), then the regimen's
ceilings, rounding to capsules or steps and the split rule apply (2.5 mg/day BID with 0.5 mg
steps -> 1.5 + 1 mg). Held days give no dose at any candidate. A regimen whose dose changes
during the run (``changes``) or is decided by monitoring (``tdm``) is refused: its later doses
are not a function of one candidate dose (a change sets its own dose; monitoring decides from
measured troughs, which are not linear in the dose).

The candidate troughs equal those of running the regimen with that dose through
:func:`pksim.run` to rounding (about 1e-15 relative: the sum is taken in another order), and
every subject's numbers depend only on the seed and the subject, as in a run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pksim.checks import unknown_name_message
from pksim.cohort import variability
from pksim.dosing.amounts import intended_daily_dose, rounding_strengths
from pksim.dosing.regimen import Regimen
from pksim.dosing.rounding import split_daily_dose
from pksim.engine.chunk import (
    RegimenInputs,
    regimen_kernel_inputs,
    subject_coordinates,
    subject_targets,
)
from pksim.engine.plan import Plan
from pksim.errors import Invalid, shown
from pksim.scenario import Scenario

__all__ = [
    "DOSE_UNITS",
    "MAX_CANDIDATES",
    "CandidateChunk",
    "DoseGrid",
    "DoseRequest",
    "candidate_chunk",
    "dose_grid",
    "dose_request",
    "slot_amounts",
    "unit_responses",
]

MAX_CANDIDATES = 500
"""Most candidate doses of one dose response: the counts kept per chunk grow with it (one
trough histogram per candidate and subgroup level, 320 kB each), and a grid finer than 1 in
500 steps of the plausible dose range says nothing more."""

PER_DAY, PER_KG = "mg/day", "mg/kg/day"
DOSE_UNITS = (PER_DAY, PER_KG)
"""Units of a candidate grid: a daily dose for everyone, or a dose per kg of body weight."""
_DOSE_FIELD = {PER_DAY: "daily_dose_mg", PER_KG: "mg_per_kg_per_day"}


@dataclass(frozen=True, slots=True)
class DoseGrid:
    """Candidate doses, ascending and distinct, in ``units`` (mg/day or mg/kg/day)."""

    values: tuple[float, ...]
    units: str

    def __post_init__(self) -> None:
        if self.units not in DOSE_UNITS:
            raise ValueError(unknown_name_message("dose units", str(self.units), DOSE_UNITS))
        if not self.values or list(self.values) != sorted(set(self.values)):
            raise ValueError("candidate doses must be distinct and ascending")


def dose_grid(doses_mg_per_day: Any = None, doses_mg_per_kg_per_day: Any = None) -> DoseGrid:
    """The candidates from exactly one of the two arguments (numbers, any order), sorted; a
    ValueError names what is wrong (not numbers, not > 0, repeated, too many)."""
    given = [
        (units, value)
        for units, value in ((PER_DAY, doses_mg_per_day), (PER_KG, doses_mg_per_kg_per_day))
        if value is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "give the candidate doses as exactly one of doses_mg_per_day or "
            f"doses_mg_per_kg_per_day, got {len(given)}"
        )
    units, raw = given[0]
    name = "doses_" + _DOSE_FIELD[units].replace("daily_dose_mg", "mg_per_day")
    if isinstance(raw, str | bytes) or np.ndim(raw) > 1:
        raise ValueError(f"{name} must be a list of numbers ({units}), got {shown(raw)}")
    items = list(np.atleast_1d(np.asarray(raw, dtype=object)))
    values = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float | np.integer | np.floating):
            raise ValueError(f"{name} must hold numbers ({units}), got {shown(item)}")
        value = float(item)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be finite and > 0 {units}, got {value:g}")
        values.append(value)
    if not values:
        raise ValueError(f"{name} must list at least one dose ({units})")
    if len(values) > MAX_CANDIDATES:
        raise ValueError(f"{name}: at most {MAX_CANDIDATES} candidate doses, got {len(values)}")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{name} lists {', '.join(f'{v:g}' for v in repeated)} more than once")
    return DoseGrid(tuple(sorted(values)), units)


@dataclass(frozen=True, slots=True)
class DoseRequest:
    """A checked dose response: the scenario's regimen at ``regimen_index``, the regimen with
    each candidate dose (``candidates``, in the order of ``grid``), the days ``first_day`` ..
    ``last_day`` judged, whether the ``measured`` troughs are (assay error), the subject
    ``coordinates`` wanted, and whether every candidate gives every subject equal doses in
    every slot of the day (``even_split``: then one unit run over all the doses suffices)."""

    regimen_index: int
    grid: DoseGrid
    candidates: tuple[Regimen, ...]
    first_day: int
    last_day: int
    measured: bool
    coordinates: tuple[str, ...] = ()
    even_split: bool = False

    @property
    def regimen(self) -> Regimen:
        return self.candidates[0]


def dose_request(
    scenario: Scenario,
    regimen: str | None,
    grid: DoseGrid,
    *,
    days: tuple[int, int],
    measured: bool,
    coordinates: Sequence[str] = (),
) -> DoseRequest:
    """Check that ``regimen`` (a name of the scenario's regimens; None: its only regimen) has a
    fixed dose schedule and that every candidate dose is a valid dose of it."""
    names = [r.name for r in scenario.regimens]
    if regimen is None:
        if len(names) > 1:
            raise ValueError(
                f"the scenario has {len(names)} regimens: name the one whose dose to vary "
                f"(regimen=...); valid: {', '.join(repr(n) for n in names)}"
            )
        index = 0
    elif regimen not in names:
        raise ValueError(unknown_name_message("regimen", str(regimen), names))
    else:
        index = names.index(regimen)
    chosen = scenario.regimens[index]
    why = []
    if chosen.changes:
        days_list = ", ".join(str(c.day) for c in chosen.changes)
        why.append(f"it changes its dose or schedule during the run (changes from day {days_list})")
    if chosen.tdm is not None:
        why.append("its doses are decided by monitoring (tdm), from measured troughs")
    if why:
        raise ValueError(
            f"regimen {chosen.name!r} cannot have a dose response: {' and '.join(why)}, so its "
            "troughs are not those of one daily dose; use a regimen with one dose for the "
            "whole run (holds are allowed)"
        )
    field = _DOSE_FIELD[grid.units]
    candidates = []
    for value in grid.values:
        dose = {"daily_dose_mg": None, "mg_per_kg_per_day": None, "weight_bands": ()}
        dose[field] = value
        try:
            candidates.append(dataclasses.replace(chosen, **dose))
        except Invalid as error:
            raise ValueError(
                f"candidate dose {value:g} {grid.units} of regimen {chosen.name!r}: "
                + "; ".join(error.problems)
            ) from None
    return DoseRequest(
        regimen_index=index,
        grid=grid,
        candidates=tuple(candidates),
        first_day=days[0],
        last_day=days[1],
        measured=measured,
        coordinates=tuple(coordinates),
        even_split=all(_splits_evenly(candidate) for candidate in candidates),
    )


def _splits_evenly(candidate: Regimen) -> bool:
    """Whether the candidate's doses of the day are equal for every subject, whatever the
    weight: one dose a day, no rounding (equal doses), or a daily dose that does not depend on
    the weight and splits evenly. Decided from the regimen alone, so the same for every chunk
    (a subject's numbers never depend on the chunk it is in)."""
    if candidate.doses_per_day == 1 or rounding_strengths(candidate) is None:
        return True
    if candidate.daily_dose_mg is None or candidate.max_mg_per_kg_per_day is not None:
        return False
    _, per_dose = slot_amounts(candidate, np.ones(1))
    return bool(np.all(per_dose == per_dose[:, :1]))


def slot_amounts(
    candidate: Regimen, weight_kg: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The daily dose (n,) mg/day under ``candidate`` (bands, ceilings, rounding) and the
    amounts (n, k) mg of the doses of the day (the split rule), as
    :func:`pksim.dosing.events.dose_events` makes them; (1,) and (1, k) when every subject
    gets the same."""
    if candidate.daily_dose_mg is not None and candidate.max_mg_per_kg_per_day is None:
        weight_kg = weight_kg[:1]  # nothing depends on the weight: one subject says it all
    daily = intended_daily_dose(candidate, weight_kg)
    if (daily == daily[:1]).all():
        daily = daily[:1]
    per_dose = split_daily_dose(daily, int(candidate.doses_per_day), rounding_strengths(candidate))
    return daily, per_dose


def unit_responses(
    inputs: RegimenInputs, spec: Any, samples: NDArray[np.float64], *, by_slot: bool = True
) -> NDArray[np.float64]:
    """Troughs (k, n, s) ng/mL at ``samples`` (n, s) h of 1 mg in every dose of slot j of the
    day (j = 0..k-1) and no other dose; held days give none. ``by_slot`` False: (1, n, s), 1 mg
    in every dose."""
    events = inputs.events
    k = int(inputs.regimen.doses_per_day) if by_slot else 1
    given = ~events.schedule.held[events.day - 1]
    out = np.empty((k, samples.shape[0], samples.shape[1]))
    for j in range(k):
        columns = np.flatnonzero(((events.slot == j) | (not by_slot)) & given)
        arguments = dict(inputs.arguments)
        for name in ("dose_class", "dose_f"):
            arguments[name] = np.ascontiguousarray(arguments[name][:, columns])
        times = np.ascontiguousarray(inputs.times[:, columns])
        out[j] = spec.simulate(inputs.individual, times, np.ones(times.shape), samples, **arguments)
    return out


@dataclass(frozen=True, slots=True)
class CandidateChunk:
    """The candidates' troughs of subjects [start, stop), made from the unit responses.

    ``responses`` (k, n, s) ng/mL per mg in each dose slot (:func:`unit_responses`) on the
    days judged, or (1, n, s) per mg in every dose when the request splits evenly;
    ``amounts`` per candidate (n|1, k) mg (or (n|1, 1), the dose of every slot); ``daily``
    per candidate (n|1,) mg/day, the daily dose given; ``lower``/``upper`` (n,) ng/mL each
    subject's target; ``coords`` the subject coordinates asked for; ``residual`` (n, s) the
    assay-error draws of the days judged and ``measure_settings`` (parameter set, LLOQ ng/mL,
    typical only, seed) when the measured troughs are judged, else None.
    """

    start: int
    responses: NDArray[np.float64]
    amounts: tuple[NDArray[np.float64], ...]
    daily: tuple[NDArray[np.float64], ...]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    renal_impairment: NDArray[np.bool_]
    coords: dict[str, np.ndarray]
    residual: NDArray[np.float64] | None
    measure_settings: tuple[Any, float, bool, int] | None = None

    @property
    def n_subjects(self) -> int:
        return self.responses.shape[1]

    def troughs(self, candidate: int) -> NDArray[np.float64]:
        """True troughs (n, s) ng/mL of candidate ``candidate``: sum over slots of amount x
        unit response."""
        amounts = self.amounts[candidate]
        total = amounts[:, 0:1] * self.responses[0]
        for j in range(1, self.responses.shape[0]):
            total += amounts[:, j : j + 1] * self.responses[j]
        return total

    def all_troughs(self) -> NDArray[np.float64]:
        """True troughs (candidate, n, s) ng/mL of every candidate: the same arithmetic as
        :meth:`troughs`, element by element, so the same numbers."""
        rows = max(a.shape[0] for a in self.amounts)
        amounts = np.stack([np.broadcast_to(a, (rows, a.shape[1])) for a in self.amounts])
        total = amounts[:, :, 0:1] * self.responses[0]
        for j in range(1, self.responses.shape[0]):
            total += amounts[:, :, j : j + 1] * self.responses[j]
        return total

    def measured(self, candidate: int) -> variability.Measurements:
        """The candidate's troughs with the assay error of the days judged (the draws a run
        of that dose makes) and their below-LLOQ flags."""
        if self.measure_settings is None:
            raise ValueError("this chunk was made for the true troughs (measured=False)")
        pset, lloq, typical_only, seed = self.measure_settings
        return variability.residual_error(
            pset,
            self.troughs(candidate),
            seed=seed,
            start=self.start,
            lloq_ng_per_ml=lloq,
            typical_only=typical_only,
            uniforms=self.residual,
        )


def candidate_chunk(plan: Plan, start: int, stop: int, request: DoseRequest) -> CandidateChunk:
    """The unit responses, candidate amounts, targets and coordinates of subjects
    [start, stop) for ``request``."""
    scenario = plan.scenario
    settings = scenario.variability
    inputs = regimen_kernel_inputs(plan, start, stop, [request.regimen_index])
    samples = inputs.sample_times[:, request.first_day - 1 : request.last_day]
    even = request.even_split
    responses = unit_responses(inputs.regimens[0], inputs.spec, samples, by_slot=not even)
    weight = np.asarray(inputs.cov.weight_kg, dtype=np.float64)
    amounts, daily = [], []
    for candidate in request.candidates:
        given, per_dose = slot_amounts(candidate, weight)
        amounts.append(per_dose[:, :1] if even else per_dose)  # even: the dose of every slot
        daily.append(given)
    renal_flags, lower, upper = subject_targets(scenario, inputs.cov)
    residual, measure_settings = None, None
    if request.measured:
        measure_settings = (
            scenario.parameter_set,
            settings.lloq_ng_per_ml,
            settings.typical_only,
            plan.seed,
        )
        if not settings.typical_only:
            residual = variability.residual_uniforms(plan.seed, start, stop, request.last_day)
            residual = residual[:, request.first_day - 1 :]
    return CandidateChunk(
        start=start,
        responses=responses,
        amounts=tuple(amounts),
        daily=tuple(daily),
        lower=lower,
        upper=upper,
        renal_impairment=renal_flags,
        coords=subject_coordinates(plan, inputs, renal_flags, request.coordinates),
        residual=residual,
        measure_settings=measure_settings,
    )

"""Monitoring inside the simulation: each subject's doses decided from its own measured troughs.

For a regimen with a :class:`~pksim.dosing.tdm.TdmPlan`, the draws are visited in order. The
trough of draw k is the sum of the contributions of the dose segments before it: segment j
holds the doses of days ``[e_{j-1}, e_j)`` (``e_j`` the first day dosed on draw j's result),
which are final once draw j - 1 is decided. Each segment is integrated once by the exact kernel
at the remaining draws' times (troughs are linear in the amounts, whatever the clearance grid,
per-dose F or absorption), so monitoring costs about one extra pass over the doses. The result
is measured with the assay error of that day (the same residual draw as the day's measured
trough, so every regimen sees the same assay errors) and the rule
(:mod:`pksim.dosing.titration`) sets the doses from the effective day on.

The decided amounts are then integrated in full by the caller, so every reported trough comes
from the realised dose list; a draw's value equals that day's final trough to rounding.

The ``bayesian`` rule also needs each subject's predicted trough per mg/day, from a MAP fit of
what the clinic knows (``clinic``; :mod:`pksim.engine.bayesian_rule`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pksim.cohort.variability import Measurements
from pksim.dosing.events import DoseEvents
from pksim.dosing.schedule import dose_amounts, give_strengths
from pksim.dosing.tdm import TdmPlan
from pksim.dosing.titration import apply_decision, decide, decided_days
from pksim.engine.bayesian_rule import ClinicKnowledge, trough_per_mg
from pksim.model.structural import StructuralModel

__all__ = ["Measure", "Titration", "titrate"]

Measure = Callable[[NDArray[np.float64], int], Measurements]
"""``measure(true, day)``: the assay results of true troughs (n, 1) ng/mL drawn at the end of
``day``, with that day's residual draws."""

DOSE_ARGUMENTS = ("dose_class", "dose_f")
"""Kernel keywords that hold one value per dose (sliced with the doses of a segment)."""


@dataclass(frozen=True, slots=True)
class Titration:
    """What monitoring realised: ``amounts`` (n, m) mg per dose slot; ``in_force`` (n, days)
    mg/day and ``held`` (n, days); ``changes`` (n,) draws whose result changed the dose (or held
    it); ``measured`` (n, draws) ng/mL, the results acted on."""

    amounts: NDArray[np.float64]
    in_force: NDArray[np.float64]
    held: NDArray[np.bool_]
    changes: NDArray[np.int64]
    measured: NDArray[np.float64]

    @property
    def realised_daily_dose(self) -> NDArray[np.float64]:
        """The daily dose given each day (n, days), mg/day: 0 on held days."""
        return np.where(self.held, 0.0, self.in_force)


def titrate(
    plan: TdmPlan,
    spec: StructuralModel,
    individual: Mapping[str, Any],
    events: DoseEvents,
    dose_times: NDArray[np.float64],
    kernel_arguments: Mapping[str, Any],
    sample_times: NDArray[np.float64],
    *,
    measure: Measure,
    lloq_ng_per_ml: float,
    target_bounds: tuple[NDArray[np.float64], NDArray[np.float64]],
    weight_kg: NDArray[np.float64],
    clinic: ClinicKnowledge | None = None,
) -> Titration:
    """Run ``plan`` for the subjects of ``events`` (their doses at ``dose_times`` (n|1, m) h,
    with ``kernel_arguments`` as for :meth:`StructuralModel.simulate`) and return the realised
    doses. ``sample_times`` (n, days) h are the daily draw times; ``measure`` gives the assay
    results of a draw; ``clinic`` what the clinic knows of the subjects (the bayesian rule
    needs it)."""
    if plan.rule == "bayesian" and clinic is None:
        raise ValueError("the bayesian rule needs what the clinic knows (clinic)")
    schedule = events.schedule
    n = weight_kg.size
    amounts = np.array(np.broadcast_to(events.amounts, (n, schedule.day.size)))
    in_force = np.array(events.in_force)
    held = np.array(np.broadcast_to(schedule.held, in_force.shape))
    strengths = [give_strengths(phase) for phase in schedule.phases]
    days, effective = np.array(plan.sample_days), plan.effective_days()
    draw_times = sample_times[:, days - 1]
    running = np.zeros((n, days.size))
    measured = np.empty((n, days.size))
    below = np.zeros((n, days.size), dtype=bool)
    prescribed = None  # the doses ordered (none missed), for the bayesian rule
    if plan.rule == "bayesian":
        prescribed = np.zeros_like(amounts)
        dose_amounts(schedule, in_force, held, strengths, prescribed)
    changes = np.zeros(n, dtype=np.int64)
    segment_first_day = 1
    for k, (day, first_effective) in enumerate(zip(plan.sample_days, effective, strict=True)):
        columns = slice(
            schedule.first_column[segment_first_day - 1], schedule.first_column[first_effective - 1]
        )
        running[:, k:] += _segment(
            spec, individual, dose_times, amounts, kernel_arguments, columns, draw_times[:, k:]
        )
        result = measure(running[:, k : k + 1], day)
        measured[:, k] = result.measured[:, 0]
        below[:, k] = result.below_lloq[:, 0]
        before = in_force[:, day - 1].copy()
        per_mg = None
        if clinic is not None and prescribed is not None:
            per_mg = trough_per_mg(
                clinic,
                schedule,
                prescribed,
                draw_times[:, : k + 1],
                measured[:, : k + 1],
                below[:, : k + 1],
                lloq_ng_per_ml,
                day,
                first_effective,
                plan.sample_days[k + 1] if k + 1 < len(plan.sample_days) else schedule.days,
            )
        decision = decide(
            plan,
            effective_day=first_effective,
            measured=measured[:, k],
            below_lloq=result.below_lloq[:, 0],
            lloq_ng_per_ml=lloq_ng_per_ml,
            in_force=before,
            lower=target_bounds[0],
            upper=target_bounds[1],
            weight_kg=weight_kg,
            formulation=schedule.phases[schedule.phase_of_day[day - 1]].regimen.formulation,
            trough_per_mg=per_mg,
        )
        # The days up to the next draw's effect are final; the next decision rewrites the rest.
        last = decided_days(schedule, first_effective)
        until = last if k + 1 == len(effective) else min(last, effective[k + 1] - 1)
        apply_decision(schedule, decision, first_effective, until, in_force, held, weight_kg)
        changes += (in_force[:, first_effective - 1] != before) | (decision.hold_days > 0)
        longest = int(decision.hold_days.max(initial=0))
        for out in (amounts,) if prescribed is None else (amounts, prescribed):
            dose_amounts(schedule, in_force, held, strengths, out, first_effective, until)
            if longest:  # a hold may reach past the rebuilt days, into planned ones
                _zero_held(out, schedule, held, first_effective, first_effective + longest - 1)
        segment_first_day = first_effective
    return Titration(amounts, in_force, held, changes, measured)


def _segment(spec, individual, dose_times, amounts, arguments, columns, draw_times):
    """Troughs (n, s) at ``draw_times`` from the doses in ``columns`` alone."""
    sliced = dict(arguments)
    for name in DOSE_ARGUMENTS:
        sliced[name] = np.ascontiguousarray(arguments[name][:, columns])
    return spec.simulate(
        individual,
        np.ascontiguousarray(dose_times[:, columns]),
        np.ascontiguousarray(amounts[:, columns]),
        draw_times,
        **sliced,
    )


def _zero_held(amounts, schedule, held, first_day: int, last_day: int) -> None:
    """No dose on the held days among days ``first_day`` .. ``last_day``."""
    last_day = min(last_day, schedule.days)
    columns = slice(schedule.first_column[first_day - 1], schedule.first_column[last_day])
    days = schedule.day[columns] - 1
    view = amounts[:, columns]
    view[held[:, days]] = 0.0

"""The phases of a regimen that changes over time: the regimen in force from each change day.

Built and checked when a :class:`~pksim.dosing.regimen.Regimen` with ``changes``, ``holds`` or
``tdm`` is made (see :mod:`pksim.dosing.over_time` for what a change may set). Each phase's
regimen is itself a valid Regimen without changes; a change keeps the first dose of the day at
the same clock time, so the daily trough stays the draw just before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pksim.dosing.clock import format_clock
from pksim.dosing.dose_spec import bands_from_tables
from pksim.dosing.over_time import DOSE_FORM_KEYS, DoseChange, Hold, over_time_problems
from pksim.dosing.rounding import can_make
from pksim.dosing.tdm import TdmPlan
from pksim.errors import Problems, collect, shown
from pksim.library import formulations
from pksim.units import HOURS_PER_DAY

__all__ = ["Phase", "build_phases", "run_problems"]


@dataclass(frozen=True, slots=True)
class Phase:
    """The regimen in force from the first dose of ``first_day``: ``regimen`` (without changes,
    holds or monitoring), and how its daily dose follows from the one before: ``dose`` "set"
    (its own dose form), "scale" (the dose in force x ``factor``) or "keep" (the dose in force,
    re-capped and re-rounded for the new product)."""

    first_day: int
    regimen: Any
    dose: str
    factor: float


def build_phases(r: Any, problems: Problems) -> tuple[Phase, ...]:
    """The phases of ``r``; every problem of a change under ``changes[i]``."""
    for name, kind in (("changes", DoseChange), ("holds", Hold)):
        value = getattr(r, name)
        if not isinstance(value, tuple) or not all(isinstance(v, kind) for v in value):
            problems.add(name, f"must be a tuple of {kind.__name__} (or tables in a scenario)")
    if r.tdm is not None and not isinstance(r.tdm, TdmPlan):
        problems.add("tdm", f"must be a TdmPlan (or a [regimens.tdm] table), got {shown(r.tdm)}")
    if problems:
        return ()
    base = replace(r, changes=(), holds=(), tdm=None)
    phases = [Phase(1, base, "set", 1.0)]
    for i, change in enumerate(r.changes):
        before = phases[-1].regimen
        settings = _phase_settings(before, change)
        found = Problems()
        regimen = collect(found, "", replace, before, **settings)
        if regimen is not None and regimen.dose_clock_times[0] != base.dose_clock_times[0]:
            found.add(
                "dose_clock_times",
                f"the first dose of the day must stay at {base.dose_clock_times[0]} (the trough "
                f"is drawn just before it), got {list(regimen.dose_clock_times)}",
            )
        if regimen is not None and regimen.formulation != before.formulation:
            _check_switch(regimen, found)
        problems.extend(f"changes[{i}]", found)
        if regimen is not None:
            dose = "set" if change.sets_dose else "keep" if change.dose_factor is None else "scale"
            phases.append(Phase(change.day, regimen, dose, change.dose_factor or 1.0))
    return tuple(phases)


def _phase_settings(before: Any, change: DoseChange) -> dict[str, Any]:
    """The fields a change sets on the regimen in force: a new dose form clears the others,
    a new dose count alone spaces the doses evenly from the same first clock time."""
    settings = dict(change.settings)
    if change.sets_dose:
        for key in DOSE_FORM_KEYS:
            settings.setdefault(key, () if key == "weight_bands" else None)
        if "weight_bands" in change.settings:
            found = Problems()
            settings["weight_bands"] = bands_from_tables(settings["weight_bands"], found)
    if "doses_per_day" in settings and "dose_clock_times" not in settings:
        doses = settings["doses_per_day"]
        if isinstance(doses, int) and not isinstance(doses, bool) and doses >= 1:
            first = before.dose_clock_h[0]
            settings["dose_clock_times"] = tuple(
                format_clock((first + j * HOURS_PER_DAY / doses) % HOURS_PER_DAY)
                for j in range(doses)
            )
    elif "dose_clock_times" in settings and "doses_per_day" not in settings:
        settings["doses_per_day"] = None
    if "round_to_mg" in settings:
        settings.setdefault("round_to_capsules", False)
    elif settings.get("round_to_capsules") is True:
        settings["round_to_mg"] = None
    return settings


def _check_switch(regimen: Any, problems: Problems) -> None:
    """A switch to another product must be able to give the dose: a fixed dose that is not
    rounded must split into amounts its capsules make."""
    if regimen.daily_dose_mg is None or regimen.round_to_mg or regimen.round_to_capsules:
        return
    per_dose = regimen.daily_dose_mg / regimen.doses_per_day
    strengths = formulations.capsule_strengths(regimen.formulation)
    if not can_make(per_dose, strengths):
        listed = ", ".join(f"{s:g}" for s in strengths)
        problems.add(
            "formulation",
            f"{regimen.formulation} cannot give {per_dose:g} mg per dose ({listed} mg units); "
            "give round_to_capsules = true or a dose its capsules make",
        )


def run_problems(
    regimen: Any, days: int, target_bounds: tuple[float, float] | None, problems: Problems
) -> None:
    """Problems of a regimen's changes, holds and monitoring in a run of ``days`` days with
    the target ``(lower, upper)`` ng/mL (None: unknown), under the regimen's keys."""
    over_time_problems(regimen.changes, regimen.holds, days, problems)
    plan = regimen.tdm
    if plan is None:
        return
    found = Problems()
    plan.day_problems(days, target_bounds, found)
    problems.extend("tdm", found)
    for i, hold in enumerate(regimen.holds):
        inside = [d for d in plan.sample_days if hold.first_day <= d <= hold.last_day]
        if inside:
            problems.add(
                f"holds[{i}]",
                f"days {hold.first_day}..{hold.last_day} contain the monitoring draws of days "
                f"{inside}: a trough drawn while doses are held does not reflect the dose; move "
                "the draw or the hold",
            )

"""A scenario in words, for people who do not read TOML: one sentence per part.

Used by the shareable report (:mod:`pksim.results.html_report`) and the app. Every sentence is
made from the validated :class:`~pksim.scenario.Scenario`, so it says what is simulated, not
what the file happened to spell.
"""

from __future__ import annotations

import math

from pksim.dosing.regimen import Regimen
from pksim.library.targets import RENAL_RANGE, TargetRange, load_targets
from pksim.modifiers.comedication_plans import ComedicationPlan
from pksim.scenario import Scenario

__all__ = ["describe_comedication", "describe_regimen", "describe_scenario"]

PERCENT = 100.0
"""Fractions are shown as percentages."""


def describe_scenario(scenario: Scenario, n_subjects: int, seed: int) -> list[tuple[str, str]]:
    """(heading, sentence) pairs: cohort, parameter set, each regimen, food, co-medications,
    target and what is judged."""
    kind = "patients of a patient table" if scenario.patients is not None else "virtual subjects"
    cohort = (
        f"{n_subjects:,} {kind} of the population {scenario.population.name!r} "
        f"({scenario.population.title}), followed for {scenario.days} days; random seed {seed}."
    )
    if scenario.variability.typical_only:
        cohort += " Typical patients only: no between-subject or between-occasion variability."
    lines = [
        ("Cohort", cohort),
        (
            "Parameter set",
            f"{scenario.parameter_set.name!r}: {scenario.parameter_set.title} "
            f"(structural model {scenario.parameter_set.structural_model})" + _overrides(scenario),
        ),
    ]
    lines += [(f"Regimen {i + 1}", describe_regimen(r)) for i, r in enumerate(scenario.regimens)]
    lines.append(("Food", _food(scenario)))
    if scenario.comedications:
        lines += [("Co-medication", describe_comedication(p)) for p in scenario.comedications]
    else:
        lines.append(("Co-medication", "none"))
    lines.append(("Target", _target(scenario)))
    return lines


def describe_regimen(regimen: Regimen) -> str:
    """One sentence: name, dose rule, doses a day and clock times, formulation, limits,
    rounding and adherence."""
    if regimen.daily_dose_mg is not None:
        dose = f"{regimen.daily_dose_mg:g} mg/day"
    elif regimen.mg_per_kg_per_day is not None:
        dose = f"{regimen.mg_per_kg_per_day:g} mg/kg/day"
    else:
        bands, low = [], None
        for band in regimen.weight_bands:
            amount = (
                f"{band.daily_dose_mg:g} mg/day"
                if band.daily_dose_mg is not None
                else f"{band.mg_per_kg_per_day:g} mg/kg/day"
            )
            if band.below_kg is None:
                where = f"from {low:g} kg" if low is not None else "every weight"
            elif low is None:
                where = f"below {band.below_kg:g} kg"
            else:
                where = f"{low:g} to {band.below_kg:g} kg"
            bands.append(f"{where}: {amount}")
            low = band.below_kg
        dose = "by weight band (" + "; ".join(bands) + ")"
    times = ", ".join(regimen.dose_clock_times)
    count = len(regimen.dose_clock_times)
    parts = [f"{regimen.name!r}: {dose} in {count} dose{'' if count == 1 else 's'} a day ({times})"]
    parts.append(f"formulation {regimen.formulation}")
    if regimen.max_daily_dose_mg is not None:
        parts.append(f"at most {regimen.max_daily_dose_mg:g} mg/day")
    if regimen.max_mg_per_kg_per_day is not None:
        parts.append(f"at most {regimen.max_mg_per_kg_per_day:g} mg/kg/day")
    if regimen.round_to_mg is not None:
        parts.append(f"rounded to {regimen.round_to_mg:g} mg")
    if regimen.round_to_capsules:
        parts.append("rounded to the capsule strengths")
    if regimen.missed_dose_probability:
        parts.append(f"{PERCENT * regimen.missed_dose_probability:g} % of doses missed")
    if regimen.late_dose_max_h:
        parts.append(
            f"{PERCENT * regimen.late_dose_probability:g} % of doses late by up to "
            f"{regimen.late_dose_max_h:g} h"
        )
    return ", ".join(parts) + "."


def describe_comedication(plan: ComedicationPlan) -> str:
    """One sentence: drug, days taken, share of the cohort."""
    course = plan.course
    start = (
        "long established"
        if not math.isfinite(course.start_day)
        else f"from day {course.start_day:g}"
    )
    stop = "to the end" if course.stop_day is None else f"to day {course.stop_day:g}"
    return f"{course.drug}, {start} {stop}, taken by {PERCENT * plan.fraction:g} % of the cohort."


def _overrides(scenario: Scenario) -> str:
    if not scenario.parameter_overrides:
        return "."
    changed = ", ".join(f"{k} = {v:g}" for k, v in scenario.parameter_overrides.items())
    return f"; overridden: {changed}."


def _food(scenario: Scenario) -> str:
    plan = scenario.food
    if plan.meals:
        meals = ", ".join(f"{m.kind} meal at {_clock(m.clock_h)}" for m in plan.meals)
        text = f"daily meals: {meals}; each dose's condition follows from its clock time"
    else:
        text = f"every dose {str(plan.condition).replace('_', ' ')}"
    if plan.fraction_against_rule:
        text += (
            f"; {PERCENT * plan.fraction_against_rule:g} % of doses taken "
            f"{plan.violation.replace('_', ' ')} instead"
        )
    return text + "."


def _clock(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _target(scenario: Scenario) -> str:
    plan = scenario.target
    target = plan.target
    text = f"{target.label} range {_range(target)}"
    if plan.renal_ceiling:
        renal = load_targets()[RENAL_RANGE]
        text += f"; renal-impaired subjects judged against {_range(renal)} instead"
    if plan.window is not None:
        text += f"; in range on every day from day {plan.window[0]} to day {plan.window[1]}"
    else:
        day = scenario.days if plan.day is None else plan.day
        text += f"; judged on the trough of day {day}"
    return text + "."


def _range(target: TargetRange) -> str:
    if target.lower == 0:
        return f"at most {target.upper:g} ng/mL"
    return f"{target.lower:g}-{target.upper:g} ng/mL"

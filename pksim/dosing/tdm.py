"""Therapeutic drug monitoring: the ``[regimens.tdm]`` table of a regimen, validated.

A trough is drawn at the end of each of ``sample_days`` (the draw just before the first dose of
the next day, at the scenario's sampling time and with the parameter set's assay error and
LLOQ: the *measured* trough of that day). Its result changes the dose from the first dose of
day ``sample_day + 1 + result_delay_days``. The rule sets the new daily dose (mg/day), which is
then capped by the regimen's ceilings and rounded to what the product can give (the regimen's
rounding, else its capsule strengths):

- ``proportional``: dose x aim / measured (troughs are linear in dose), kept within a factor
  ``max_fold_change`` of the dose in force. ``aim_ng_per_ml`` defaults to the middle of each
  subject's target range; a subject whose own range excludes the aim (the renal range of
  3-4 ng/mL) aims at the middle of that range. A result below the LLOQ counts as the LLOQ.
- ``steps``: a user table of contiguous trough bands, each with a change in mg/day and
  optionally days to hold first (``{ from_ng_per_ml = 15, change_mg_per_day = -1,
  hold_days = 1 }``). A result below the LLOQ falls in the first band.
- ``consensus-escalation``: the LN consensus (DOMAIN.md): for doses from ``from_day`` on
  (default day 57, after two months), a trough below the target's lower bound raises the dose
  by ``step_mg_per_day`` up to ``max_mg_per_kg_per_day`` (0.1 mg/kg/day), one above the upper
  bound lowers it by the same step; a result acted on before ``from_day`` keeps the dose.
- ``bayesian``: model-informed precision dosing (docs/mipd.md): from every result so far, the
  doses prescribed and the covariates and co-medications the clinic knows, each subject's MAP
  parameters under the scenario's own parameter set; the new dose is aim / the predicted
  steady-state trough per mg/day, kept within ``max_fold_change`` of the dose in force
  (``aim_ng_per_ml`` as for ``proportional``; the engine computes the prediction,
  :mod:`pksim.engine.bayesian_rule`).

Units: days are run days, concentrations ng/mL, doses mg/day.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pksim.checks import check_keys, get_number, get_str
from pksim.errors import Invalid, Problems, shown

__all__ = [
    "CONSENSUS_ESCALATION_FROM_DAY",
    "CONSENSUS_MAX_MG_PER_KG_PER_DAY",
    "DEFAULT_MAX_FOLD_CHANGE",
    "DEFAULT_RESULT_DELAY_DAYS",
    "RULES",
    "StepBand",
    "TdmPlan",
]

RULES = ("proportional", "steps", "consensus-escalation", "bayesian")
"""The dose rules a monitoring plan may name."""

DEFAULT_RESULT_DELAY_DAYS = 1
"""Days from the draw to the first dose given on its result: a morning trough is reported the
same day and acted on from the next day's doses."""

DEFAULT_MAX_FOLD_CHANGE = 2.0
"""Default bound of one proportional adjustment (new dose within [dose / 2, dose x 2]): a
user-set safety bound, not a literature value, so that one low result (near the LLOQ) cannot
multiply a dose many-fold; set ``max_fold_change`` to change it."""

CONSENSUS_ESCALATION_FROM_DAY = 57
"""First day the consensus escalates: "if there is no improvement after 2 months" (eight weeks,
days 1..56), Chinese expert consensus on tacrolimus in lupus nephritis (DOMAIN.md, seeds/)."""

CONSENSUS_MAX_MG_PER_KG_PER_DAY = 0.1
"""Where the consensus escalation stops: "increase gradually up to 0.1 mg/kg/day" (DOMAIN.md)."""

MAX_SAMPLES = 100
"""Most trough draws of one plan (about two a week for a year)."""

MAX_STEP_BANDS = 10
"""Most bands of a step table."""

MAX_TROUGH_NG_PER_ML = 100.0
"""Largest band edge or aim (ng/mL): ten times the top of every consensus target range, a guard
against an edge typed in other units."""

MAX_CHANGE_MG_PER_DAY = 20.0
"""Largest dose step of a rule (mg/day): twice the consensus maximum (0.1 mg/kg/day at 100 kg)."""

MAX_HOLD_DAYS = 14
"""Longest hold a step may order (days)."""

MAX_FOLD_CHANGE = 10.0
"""Largest ``max_fold_change`` of the proportional and bayesian rules: beyond ten-fold a
single result would be trusted more than any clinician does."""

TDM_KEYS = (
    "sample_days",
    "result_delay_days",
    "rule",
    "aim_ng_per_ml",
    "max_fold_change",
    "steps",
    "from_day",
    "step_mg_per_day",
    "max_mg_per_kg_per_day",
)
_RULE_KEYS = {
    "proportional": ("aim_ng_per_ml", "max_fold_change"),
    "steps": ("steps",),
    "consensus-escalation": ("from_day", "step_mg_per_day", "max_mg_per_kg_per_day"),
    "bayesian": ("aim_ng_per_ml", "max_fold_change"),
}
_STEP_KEYS = ("from_ng_per_ml", "to_ng_per_ml", "change_mg_per_day", "hold_days")
_STEP_EXAMPLE = (
    "[{ from_ng_per_ml = 0, to_ng_per_ml = 6, change_mg_per_day = 0.5 }, "
    "{ from_ng_per_ml = 6, to_ng_per_ml = 10, change_mg_per_day = 0 }, "
    "{ from_ng_per_ml = 10, change_mg_per_day = -0.5 }]"
)


@dataclass(frozen=True, slots=True)
class StepBand:
    """Troughs ``from_ng_per_ml <= C < to_ng_per_ml`` (no upper edge: None) change the daily
    dose by ``change_mg_per_day`` after holding ``hold_days`` days."""

    from_ng_per_ml: float
    to_ng_per_ml: float | None
    change_mg_per_day: float
    hold_days: int = 0


@dataclass(frozen=True, slots=True)
class TdmPlan:
    """A validated monitoring plan (see the module docstring). ``aim_ng_per_ml`` None: the
    middle of each subject's target; ``step_mg_per_day`` None: the product's smallest unit."""

    sample_days: tuple[int, ...]
    rule: str
    result_delay_days: int = DEFAULT_RESULT_DELAY_DAYS
    aim_ng_per_ml: float | None = None
    max_fold_change: float = DEFAULT_MAX_FOLD_CHANGE
    steps: tuple[StepBand, ...] = ()
    from_day: int = CONSENSUS_ESCALATION_FROM_DAY
    step_mg_per_day: float | None = None
    max_mg_per_kg_per_day: float = CONSENSUS_MAX_MG_PER_KG_PER_DAY

    def effective_days(self) -> tuple[int, ...]:
        """The first day dosed on each draw's result."""
        return tuple(day + 1 + self.result_delay_days for day in self.sample_days)

    def __post_init__(self) -> None:
        found = Problems()
        _settings(self.as_table(), found)
        if found:
            raise Invalid("tdm", found)

    def as_table(self) -> dict[str, Any]:
        """The plan as a ``[regimens.tdm]`` table (the keys of its rule)."""
        table: dict[str, Any] = {
            "sample_days": list(self.sample_days),
            "rule": self.rule,
            "result_delay_days": self.result_delay_days,
        }
        for key in _RULE_KEYS.get(self.rule, ()):
            value = getattr(self, key)
            if key == "steps":
                value = [{k: v for k, v in asdict(band).items() if v is not None} for band in value]
            if value is not None:
                table[key] = value
        return table

    def day_problems(
        self, days: int, target_bounds: tuple[float, float] | None, problems: Problems
    ) -> None:
        """Problems of the plan in a run of ``days`` days with the target ``(lower, upper)``
        ng/mL (None: unknown), under ``problems``' keys relative to the plan's table."""
        last = days - 1 - self.result_delay_days
        late = [d for d in self.sample_days if d > last]
        if late:
            problems.add(
                "sample_days",
                f"draws on days {late} are acted on after the run's last day ({days}); with "
                f"result_delay_days = {self.result_delay_days} the last useful draw is day "
                f"{last}",
            )
        if self.aim_ng_per_ml is not None and target_bounds is not None:
            lower, upper = target_bounds
            if not lower <= self.aim_ng_per_ml <= upper:
                problems.add(
                    "aim_ng_per_ml",
                    f"must lie in the scenario's target range {lower:g}-{upper:g} ng/mL, got "
                    f"{self.aim_ng_per_ml:g}",
                )

    @classmethod
    def from_mapping(cls, table: Any, where: str, problems: Problems) -> TdmPlan | None:
        """The plan of one ``[regimens.tdm]`` table, or None after recording every problem."""
        if not isinstance(table, Mapping):
            problems.add(where, f"must be a table of monitoring settings, got {shown(table)}")
            return None
        found = Problems()
        settings = _settings(table, found)
        problems.extend(where, found)
        return None if found else cls(**settings)


def _settings(table: Mapping, found: Problems) -> dict[str, Any]:
    """The plan's fields from a ``[regimens.tdm]`` table; every problem into ``found``."""
    check_keys(table, TDM_KEYS, "", found)
    rule = get_str(table, "rule", "", found, choices=RULES, kind="monitoring rule")
    if rule is not None:
        for key in set(TDM_KEYS[3:]) - set(_RULE_KEYS[rule]):
            if key in table:
                found.add(
                    key,
                    f"does not apply to rule {shown(rule)}; it takes {', '.join(_RULE_KEYS[rule])}",
                )
    days = _sample_days(table.get("sample_days"), found)
    delay = get_number(
        table,
        "result_delay_days",
        "",
        found,
        default=DEFAULT_RESULT_DELAY_DAYS,
        minimum=0,
        integer=True,
        units="days",
    )
    settings: dict[str, Any] = {}
    if rule in ("proportional", "bayesian"):
        settings["aim_ng_per_ml"] = get_number(
            table,
            "aim_ng_per_ml",
            "",
            found,
            default=None,
            minimum=0,
            exclusive_minimum=True,
            maximum=MAX_TROUGH_NG_PER_ML,
            units="ng/mL",
        )
        settings["max_fold_change"] = get_number(
            table,
            "max_fold_change",
            "",
            found,
            default=DEFAULT_MAX_FOLD_CHANGE,
            minimum=1,
            exclusive_minimum=True,
            maximum=MAX_FOLD_CHANGE,
        )
    elif rule == "steps":
        settings["steps"] = _step_bands(table.get("steps"), found)
    elif rule == "consensus-escalation":
        settings["from_day"] = get_number(
            table,
            "from_day",
            "",
            found,
            default=CONSENSUS_ESCALATION_FROM_DAY,
            minimum=1,
            integer=True,
            units="day",
        )
        settings["step_mg_per_day"] = get_number(
            table,
            "step_mg_per_day",
            "",
            found,
            default=None,
            minimum=0,
            exclusive_minimum=True,
            maximum=MAX_CHANGE_MG_PER_DAY,
            units="mg/day",
        )
        settings["max_mg_per_kg_per_day"] = get_number(
            table,
            "max_mg_per_kg_per_day",
            "",
            found,
            default=CONSENSUS_MAX_MG_PER_KG_PER_DAY,
            minimum=0,
            exclusive_minimum=True,
            maximum=1,
            units="mg/kg/day",
        )
    if days and delay is not None:
        gaps = [b - a for a, b in itertools.pairwise(days)]
        if gaps and delay >= min(gaps):
            found.add(
                "result_delay_days",
                f"must be shorter than the shortest gap between draws ({min(gaps)} days), "
                f"so each result is acted on before the next draw; got {delay}",
            )
    return dict(sample_days=days, rule=rule, result_delay_days=delay, **settings)


def _sample_days(value: Any, problems: Problems) -> tuple[int, ...]:
    example = "e.g. sample_days = [7, 14, 28]"
    if value is None:
        problems.add("sample_days", f"is required, {example}")
        return ()
    if (
        not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(d, int) and not isinstance(d, bool) for d in value)
    ):
        problems.add(
            "sample_days", f"must be a non-empty list of whole days, {example}; got {shown(value)}"
        )
        return ()
    if len(value) > MAX_SAMPLES:
        problems.add("sample_days", f"at most {MAX_SAMPLES} draws, got {len(value)}")
        return ()
    if value[0] < 1 or any(b <= a for a, b in itertools.pairwise(value)):
        problems.add("sample_days", f"must be days >= 1 in increasing order, got {list(value)}")
        return ()
    return tuple(value)


def _step_bands(value: Any, problems: Problems) -> tuple[StepBand, ...]:
    if (
        not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(band, Mapping) for band in value)
    ):
        problems.add("steps", f"must be a list of trough bands, e.g. steps = {_STEP_EXAMPLE}")
        return ()
    if len(value) > MAX_STEP_BANDS:
        problems.add("steps", f"at most {MAX_STEP_BANDS} bands, got {len(value)}")
        return ()
    bands = []
    for i, table in enumerate(value):
        where = f"steps[{i}]"
        found = Problems()
        check_keys(table, _STEP_KEYS, "", found)
        low = get_number(
            table,
            "from_ng_per_ml",
            "",
            found,
            minimum=0,
            maximum=MAX_TROUGH_NG_PER_ML,
            units="ng/mL",
        )
        high = get_number(
            table,
            "to_ng_per_ml",
            "",
            found,
            default=None,
            minimum=0,
            maximum=MAX_TROUGH_NG_PER_ML,
            units="ng/mL",
        )
        change = get_number(
            table,
            "change_mg_per_day",
            "",
            found,
            minimum=-MAX_CHANGE_MG_PER_DAY,
            maximum=MAX_CHANGE_MG_PER_DAY,
            units="mg/day",
        )
        hold = get_number(
            table,
            "hold_days",
            "",
            found,
            default=0,
            minimum=0,
            maximum=MAX_HOLD_DAYS,
            integer=True,
            units="days",
        )
        if low is not None and high is not None and high <= low:
            found.add("to_ng_per_ml", f"must be above from_ng_per_ml ({low:g}), got {high:g}")
        problems.extend(where, found)
        if not found:
            bands.append(
                StepBand(
                    float(low), None if high is None else float(high), float(change), int(hold)
                )
            )
    if len(bands) != len(value):
        return ()
    if bands[0].from_ng_per_ml != 0:
        first = bands[0].from_ng_per_ml
        problems.add(
            "steps[0].from_ng_per_ml",
            f"must be 0 so that every trough falls in a band, got {first:g}",
        )
    for i, (a, b) in enumerate(itertools.pairwise(bands)):
        if a.to_ng_per_ml is None or a.to_ng_per_ml != b.from_ng_per_ml:
            gap = (
                "overlaps"
                if a.to_ng_per_ml is None or a.to_ng_per_ml > b.from_ng_per_ml
                else ("leaves a gap after")
            )
            problems.add(
                f"steps[{i + 1}].from_ng_per_ml",
                f"{b.from_ng_per_ml:g} {gap} steps[{i}] (to {shown(a.to_ng_per_ml)} ng/mL); each "
                "band must start where the one before ends, in increasing order",
            )
    if bands[-1].to_ng_per_ml is not None:
        problems.add(
            f"steps[{len(bands) - 1}]",
            "the last band must have no to_ng_per_ml, so that every trough falls in a band",
        )
    return tuple(bands)

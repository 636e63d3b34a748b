"""A regimen's dosing over time as form fields: dose changes, holds and the monitoring plan.

The scenario keys (``changes``, ``holds``, ``[regimens.tdm]``; scenarios/README.md "Dosing over
time") are shown as short texts a pharmacist can type:

- changes: ``"15: x0.3333; 29: advagraf, 1/day; 43: 5 mg"``, one entry per day; an entry sets
  a new daily dose (``5 mg`` mg/day, ``0.05 mg/kg`` mg/kg/day), a dose factor (``x0.3333``),
  a formulation (its name), doses a day (``1/day``) and a ceiling (``max 6 mg``);
- holds: ``"15-19; 30"`` (days, inclusive);
- monitoring: a rule (``none``, ``proportional``, ``steps``, ``consensus-escalation``), the
  sample days ``"7, 14, 21"``, the result delay, the aim and largest fold change
  (proportional) and the step table ``"0-6: +0.5; 6-10: 0; 10-15: -0.5; 15-: -1 hold 1"``
  (ng/mL bands: change in mg/day, optional hold in days).

Keys the texts cannot say (a change's weight bands, clock times or rounding; the consensus
rule's settings) are kept from the file. Nothing is validated here beyond reading the texts:
the scenario loader checks every value and names the dotted key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pksim.dosing import tdm as tdm_plan

__all__ = [
    "NO_TDM",
    "TDM_RULES",
    "OverTimeForm",
    "over_time_form",
    "write_over_time",
]

NO_TDM = "none"
"""Monitoring choice of a regimen without a ``[regimens.tdm]`` table."""
TDM_RULES = (NO_TDM, *tdm_plan.RULES)
"""Monitoring choices the form offers: none, or every rule of pksim/dosing/tdm.py."""
FORM_TDM_KEYS = (
    "sample_days",
    "result_delay_days",
    "rule",
    "aim_ng_per_ml",
    "max_fold_change",
    "steps",
)
"""``[regimens.tdm]`` keys the form shows; the others are kept from the file while the rule is
unchanged."""
RULE_ONLY_KEYS = tuple(key for key in tdm_plan.TDM_KEYS if key not in FORM_TDM_KEYS)
"""Settings of the consensus rule the form keeps from the file (dropped on a rule change)."""
CHANGES_HELP = (
    'write changes as "DAY: ITEM, ...; ...", e.g. "15: x0.3333; 29: advagraf, 1/day; 43: 5 mg"; '
    "an item is a daily dose (5 mg, 0.05 mg/kg), a factor (x0.5), a formulation, doses a day "
    "(1/day) or a ceiling (max 6 mg)"
)
HOLDS_HELP = 'write holds as "FIRST-LAST; ...", e.g. "15-19; 30" (days, inclusive)'
STEPS_HELP = (
    'write steps as "FROM-TO: CHANGE; ...; FROM-: CHANGE hold DAYS", e.g. '
    '"0-6: +0.5; 6-10: 0; 10-15: -0.5; 15-: -1 hold 1" (ng/mL, mg/day, days)'
)
_NUMBER = r"([-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?)"
_ITEMS = (
    (re.compile(rf"^[x\u00d7*]\s*{_NUMBER}$", re.I), "dose_factor"),
    (re.compile(rf"^{_NUMBER}\s*mg\s*/\s*kg(?:\s*/\s*day)?$", re.I), "mg_per_kg_per_day"),
    (re.compile(rf"^max\s*{_NUMBER}\s*mg(?:\s*/\s*day)?$", re.I), "max_daily_dose_mg"),
    (re.compile(rf"^{_NUMBER}\s*mg(?:\s*/\s*day)?$", re.I), "daily_dose_mg"),
    (re.compile(rf"^{_NUMBER}\s*/\s*day$", re.I), "doses_per_day"),
)
"""A change item's pattern -> the change key it sets (the formulation is any other word)."""
_STEP = re.compile(rf"^{_NUMBER}\s*-\s*{_NUMBER}?\s*:\s*{_NUMBER}(?:\s*hold\s*{_NUMBER})?$", re.I)


@dataclass(frozen=True, slots=True)
class OverTimeForm:
    """A regimen's changes, holds and monitoring as the form shows them (texts as in the
    module docstring; ``result_delay_days``, ``aim_ng_per_ml``, ``max_fold_change`` None:
    not given)."""

    changes: str = ""
    holds: str = ""
    rule: str = NO_TDM
    sample_days: str = ""
    result_delay_days: int | None = None
    aim_ng_per_ml: float | None = None
    max_fold_change: float | None = None
    steps: str = ""

    @property
    def used(self) -> bool:
        """Whether the regimen changes over time at all."""
        return bool(self.changes.strip() or self.holds.strip() or self.rule != NO_TDM)


def over_time_form(table: Mapping[str, Any]) -> OverTimeForm:
    """The over-time fields of a regimen table."""
    tdm = table.get("tdm")
    form = OverTimeForm(
        changes="; ".join(_change_text(c) for c in table.get("changes", [])),
        holds="; ".join(_hold_text(h) for h in table.get("holds", [])),
    )
    if not isinstance(tdm, Mapping):
        return form
    return OverTimeForm(
        changes=form.changes,
        holds=form.holds,
        rule=str(tdm.get("rule", NO_TDM)),
        sample_days=", ".join(_fmt(d) for d in tdm.get("sample_days", [])),
        result_delay_days=tdm.get("result_delay_days"),
        aim_ng_per_ml=tdm.get("aim_ng_per_ml"),
        max_fold_change=tdm.get("max_fold_change"),
        steps="; ".join(_step_text(s) for s in tdm.get("steps", [])),
    )


def write_over_time(
    form: OverTimeForm,
    table: dict[str, Any],
    original: Mapping[str, Any],
    where: str,
    problems: list[str],
) -> None:
    """Write ``form`` into the regimen ``table`` (in place), keeping what the form cannot say
    from the ``original`` regimen table; unreadable texts are added to ``problems``."""
    kept = {c.get("day"): c for c in original.get("changes", []) if isinstance(c, Mapping)}
    changes = _parse_entries(form.changes, f"{where}.changes", _change, problems)
    for change in changes:
        extra = kept.get(change["day"], {})
        change.update({k: v for k, v in extra.items() if k not in change and k not in _SAID})
    _put(table, "changes", changes)
    _put(table, "holds", _parse_entries(form.holds, f"{where}.holds", _hold, problems))
    if form.rule == NO_TDM:
        table.pop("tdm", None)
        return
    old = original.get("tdm")
    tdm = {k: v for k, v in (old if isinstance(old, Mapping) else {}).items()}
    if tdm.get("rule") != form.rule:
        tdm = {k: v for k, v in tdm.items() if k not in RULE_ONLY_KEYS}
    for key in FORM_TDM_KEYS:
        tdm.pop(key, None)
    try:
        tdm["sample_days"] = [_whole(d) for d in form.sample_days.replace(";", ",").split(",")]
    except ValueError:
        problems.append(
            f"{where}.tdm.sample_days: {form.sample_days!r} is not a list of days; "
            'write e.g. "7, 14, 21"'
        )
    if form.result_delay_days is not None:
        tdm["result_delay_days"] = form.result_delay_days
    tdm["rule"] = form.rule
    if form.aim_ng_per_ml is not None:
        tdm["aim_ng_per_ml"] = form.aim_ng_per_ml
    if form.max_fold_change is not None:
        tdm["max_fold_change"] = form.max_fold_change
    if form.steps.strip():
        tdm["steps"] = _parse_entries(form.steps, f"{where}.tdm.steps", _step, problems)
    table["tdm"] = tdm


# --- texts -------------------------------------------------------------------------------------

_SAID = ("day", "daily_dose_mg", "mg_per_kg_per_day", "dose_factor", "formulation")
_SAID += ("doses_per_day", "max_daily_dose_mg")
"""Change keys the text says (the others are kept from the file)."""


def _change_text(change: Mapping[str, Any]) -> str:
    items = []
    if "daily_dose_mg" in change:
        items.append(f"{_fmt(change['daily_dose_mg'])} mg")
    if "mg_per_kg_per_day" in change:
        items.append(f"{_fmt(change['mg_per_kg_per_day'])} mg/kg")
    if "dose_factor" in change:
        items.append(f"x{_fmt(change['dose_factor'])}")
    if "formulation" in change:
        items.append(str(change["formulation"]))
    if "doses_per_day" in change:
        items.append(f"{_fmt(change['doses_per_day'])}/day")
    if "max_daily_dose_mg" in change:
        items.append(f"max {_fmt(change['max_daily_dose_mg'])} mg")
    return f"{_fmt(change.get('day', math.nan))}: {', '.join(items)}".rstrip()


def _change(text: str) -> dict[str, Any]:
    day, colon, rest = text.partition(":")
    if not colon:
        raise ValueError(text)
    change: dict[str, Any] = {"day": _whole(day)}
    for item in (i.strip() for i in rest.split(",")):
        if not item:
            continue
        for pattern, key in _ITEMS:
            found = pattern.match(item)
            if found:
                value = _number(found.group(1))
                whole = value.is_integer() and key != "dose_factor"
                change[key] = int(value) if whole else value
                break
        else:
            if not re.fullmatch(r"[A-Za-z][\w-]*", item):
                raise ValueError(text)
            change["formulation"] = item
    return change


def _hold_text(hold: Mapping[str, Any]) -> str:
    first, last = hold.get("first_day", math.nan), hold.get("last_day", math.nan)
    return _fmt(first) if first == last else f"{_fmt(first)}-{_fmt(last)}"


def _hold(text: str) -> dict[str, int]:
    first, dash, last = text.partition("-")
    return {"first_day": _whole(first), "last_day": _whole(last if dash else first)}


def _step_text(step: Mapping[str, Any]) -> str:
    upper = _fmt(step["to_ng_per_ml"]) if "to_ng_per_ml" in step else ""
    change = float(step.get("change_mg_per_day", 0.0))
    text = f"{_fmt(step.get('from_ng_per_ml', 0))}-{upper}: {'+' if change > 0 else ''}"
    text += _fmt(step.get("change_mg_per_day", 0))
    return text + (f" hold {_fmt(step['hold_days'])}" if "hold_days" in step else "")


def _step(text: str) -> dict[str, float]:
    found = _STEP.match(text)
    if not found:
        raise ValueError(text)
    low, high, change, hold = found.groups()
    step: dict[str, Any] = {"from_ng_per_ml": _plain(low)}
    if high is not None:
        step["to_ng_per_ml"] = _plain(high)
    step["change_mg_per_day"] = _plain(change)
    if hold is not None:
        step["hold_days"] = _whole(hold)
    return step


_HELP = {"changes": CHANGES_HELP, "holds": HOLDS_HELP, "steps": STEPS_HELP}


def _parse_entries(text: str, where: str, parse, problems: list[str]) -> list[dict[str, Any]]:
    entries = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        try:
            entries.append(parse(part))
        except ValueError:
            problems.append(f"{where}: {part!r} cannot be read; {_HELP[where.rsplit('.')[-1]]}")
    return entries


def _put(table: dict[str, Any], key: str, entries: list[dict[str, Any]]) -> None:
    if entries:
        table[key] = entries
    else:
        table.pop(key, None)


def _fmt(value: Any) -> str:
    """A number as short text that reads back to the same value."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _number(text: str) -> float:
    value = float(text.strip())
    if math.isnan(value):
        raise ValueError(text)
    return value


def _plain(text: str) -> int | float:
    value = _number(text)
    return int(value) if value.is_integer() else value


def _whole(text: str) -> int:
    value = _number(text)
    if not value.is_integer():
        raise ValueError(text)
    return int(value)

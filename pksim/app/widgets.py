"""Panel widgets of the app's forms: translatable labels, one regimen row, one co-medication row.

Each row turns its widgets into the plain form objects of :mod:`pksim.app.scenario_form`;
nothing here validates (the scenario loader does).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import panel as pn

from pksim.app.i18n import text
from pksim.app.over_time_form import TDM_RULES, OverTimeForm
from pksim.app.scenario_form import (
    DOSE_KINDS,
    ROUND_CAPSULES,
    ROUND_NONE,
    ComedicationForm,
    RegimenForm,
)
from pksim.library import drugs, formulations

__all__ = ["ComedicationRow", "Labels", "RegimenRow", "drug_names", "retitle"]

ROUNDING_CHOICES = (ROUND_NONE, "0.5", "1", ROUND_CAPSULES)
"""Rounding offered by the form: none, to 0.5 mg or 1 mg, or to capsule strengths."""
DOSES_PER_DAY = (1, 2, 3, 4)
"""Doses a day a regimen may have (the scenario format's limits)."""
NARROW, MEDIUM, WIDE = 90, 130, 220
"""Widget widths (px)."""


class Labels:
    """Widgets whose label (``name``) or text is interface text, relabelled on a language
    switch."""

    def __init__(self, language: str = "en"):
        self.language = language
        self._entries: list[tuple[object, str, str, str]] = []

    def add(self, widget, key: str, attribute: str = "name", template: str = "{}"):
        """Label ``widget`` with text ``key`` (set on ``attribute``, formatted by
        ``template``, e.g. "### {}" for a heading); returns the widget."""
        setattr(widget, attribute, template.format(text(key, self.language)))
        self._entries.append((widget, key, attribute, template))
        return widget

    def t(self, key: str) -> str:
        """Text ``key`` in the current language."""
        return text(key, self.language)

    def switch(self, language: str) -> None:
        """Relabel every registered widget in ``language``."""
        self.language = language
        for widget, key, attribute, template in self._entries:
            setattr(widget, attribute, template.format(text(key, language)))


def retitle(tabs: pn.Tabs, titled: list[tuple[str, object]]) -> None:
    """Give ``tabs`` new titles, keeping the open tab. Panel reuses a tab whose content is
    unchanged, title included, so each page is put in a fresh wrapper."""
    active = tabs.active
    tabs[:] = [(title, pn.Column(page, sizing_mode="stretch_width")) for title, page in titled]
    tabs.active = active


def drug_names() -> list[str]:
    """Every catalogue name and alias (Chinese names included), for the drug field's
    suggestions."""
    names = []
    for name in drugs.list_drugs():
        names.append(name)
        names += list(drugs.lookup_drug(name).aliases)
    return sorted(dict.fromkeys(names), key=str.casefold)


class RegimenRow:
    """One regimen: name, dose (mg/day, mg/kg/day or weight bands), doses a day, formulation,
    rounding and a ceiling."""

    def __init__(self, form: RegimenForm, labels: Labels, on_remove: Callable[[RegimenRow], None]):
        self.labels = labels
        self.name = labels.add(pn.widgets.TextInput(value=form.name, width=WIDE), "regimen_name")
        self.kind = labels.add(
            pn.widgets.Select(options=self._kinds(), value=form.dose_kind, width=MEDIUM),
            "dose_kind",
        )
        self.amount = labels.add(
            pn.widgets.FloatInput(value=form.amount, start=0, step=0.5, width=NARROW), "amount"
        )
        self.bands = labels.add(pn.widgets.TextInput(value=form.bands, width=WIDE), "bands")
        self.doses = labels.add(
            pn.widgets.Select(options=list(DOSES_PER_DAY), value=form.doses_per_day, width=NARROW),
            "doses_per_day",
        )
        self.formulation = labels.add(
            pn.widgets.Select(
                options=formulations.list_formulations(), value=form.formulation, width=MEDIUM
            ),
            "formulation",
        )
        rounding = list(dict.fromkeys((*ROUNDING_CHOICES, form.rounding)))
        self.rounding = labels.add(
            pn.widgets.Select(options=rounding, value=form.rounding, width=NARROW), "rounding"
        )
        self.ceiling = labels.add(
            pn.widgets.FloatInput(value=form.max_daily_dose_mg, start=0, width=NARROW),
            "max_daily",
        )
        self.remove = labels.add(
            pn.widgets.Button(button_type="light", width=NARROW, align="end"), "remove"
        )
        self.remove.on_click(lambda event: on_remove(self))
        self.kind.param.watch(lambda event: self._show_dose(), "value")
        self._show_dose()
        self.over_time = OverTimeInputs(form.over_time, labels)
        self.layout = pn.Column(
            pn.Row(
                self.name,
                self.kind,
                self.amount,
                self.bands,
                self.doses,
                self.formulation,
                self.rounding,
                self.ceiling,
                self.remove,
            ),
            self.over_time.layout,
            css_classes=["regimen-row"],
        )

    def _kinds(self) -> dict[str, str]:
        return {self.labels.t(kind): kind for kind in DOSE_KINDS}

    def relabel(self) -> None:
        """Translate the dose-kind choices (the labels are handled by :class:`Labels`)."""
        value = self.kind.value
        self.kind.options = self._kinds()
        self.kind.value = value

    def _show_dose(self) -> None:
        bands = self.kind.value == "weight_bands"
        self.amount.visible, self.bands.visible = not bands, bands

    def form(self) -> RegimenForm:
        """The row's values."""
        return RegimenForm(
            name=self.name.value,
            dose_kind=self.kind.value,
            amount=_number(self.amount.value),
            bands=self.bands.value,
            doses_per_day=int(self.doses.value),
            formulation=self.formulation.value,
            rounding=self.rounding.value,
            max_daily_dose_mg=_number(self.ceiling.value),
            over_time=self.over_time.form(),
        )


class OverTimeInputs:
    """A regimen's dose changes, holds and monitoring plan (texts of
    :mod:`pksim.app.over_time_form`), in a card that is open when the regimen uses them."""

    def __init__(self, form: OverTimeForm, labels: Labels):
        add = labels.add
        self.changes = add(pn.widgets.TextInput(value=form.changes, width=2 * WIDE), "changes")
        self.holds = add(pn.widgets.TextInput(value=form.holds, width=MEDIUM), "holds")
        self.rule = add(
            pn.widgets.Select(options=list(TDM_RULES), value=form.rule, width=WIDE), "tdm_rule"
        )
        self.samples = add(pn.widgets.TextInput(value=form.sample_days, width=WIDE), "sample_days")
        self.delay = add(
            pn.widgets.IntInput(value=form.result_delay_days, start=0, width=NARROW),
            "result_delay",
        )
        self.aim = add(
            pn.widgets.FloatInput(value=form.aim_ng_per_ml, start=0, width=NARROW), "aim"
        )
        self.fold = add(
            pn.widgets.FloatInput(value=form.max_fold_change, start=1, width=NARROW), "max_fold"
        )
        self.steps = add(pn.widgets.TextInput(value=form.steps, width=2 * WIDE), "steps")
        self.rule.param.watch(lambda event: self._show_rule(), "value")
        self._show_rule()
        self.layout = add(
            pn.Card(
                pn.Row(self.changes, self.holds),
                pn.Row(self.rule, self.samples, self.delay, self.aim, self.fold),
                self.steps,
                collapsed=not form.used,
                css_classes=["over-time"],
                margin=(0, 10, 8, 10),
            ),
            "over_time",
            "title",
        )

    def _show_rule(self) -> None:
        rule = self.rule.value
        monitored = rule != TDM_RULES[0]
        self.samples.visible = self.delay.visible = monitored
        self.aim.visible = self.fold.visible = rule == "proportional"
        self.steps.visible = rule == "steps"

    def form(self) -> OverTimeForm:
        """The card's values."""
        delay = self.delay.value
        return OverTimeForm(
            changes=self.changes.value,
            holds=self.holds.value,
            rule=self.rule.value,
            sample_days=self.samples.value,
            result_delay_days=None if delay is None else int(delay),
            aim_ng_per_ml=_number(self.aim.value),
            max_fold_change=_number(self.fold.value),
            steps=self.steps.value,
        )


class ComedicationRow:
    """One co-medication course: drug by any name, days, share of the cohort."""

    def __init__(
        self,
        form: ComedicationForm,
        labels: Labels,
        names: list[str],
        on_remove: Callable[[ComedicationRow], None],
    ):
        self.drug = labels.add(
            pn.widgets.AutocompleteInput(
                value=form.drug,
                options=names,
                restrict=False,
                case_sensitive=False,
                min_characters=1,
                search_strategy="includes",
                width=WIDE,
            ),
            "drug",
        )
        self.start = labels.add(
            pn.widgets.TextInput(value=form.start_day, width=NARROW), "start_day"
        )
        self.stop = labels.add(pn.widgets.TextInput(value=form.stop_day, width=MEDIUM), "stop_day")
        self.fraction = labels.add(
            pn.widgets.FloatInput(value=form.fraction, start=0, end=1, step=0.1, width=NARROW),
            "fraction",
        )
        self.remove = labels.add(
            pn.widgets.Button(button_type="light", width=NARROW, align="end"), "remove"
        )
        self.remove.on_click(lambda event: on_remove(self))
        self.layout = pn.Row(self.drug, self.start, self.stop, self.fraction, self.remove)

    def form(self) -> ComedicationForm:
        """The row's values."""
        fraction = _number(self.fraction.value)
        return ComedicationForm(
            drug=self.drug.value,
            start_day=self.start.value,
            stop_day=self.stop.value,
            fraction=1.0 if fraction is None else fraction,
        )


def _number(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)

"""The dose-response page: one regimen of the cohort page's scenario over a grid of candidate
daily doses; the table with the best dose and its plot (:mod:`pksim.app.dose_session`)."""

from __future__ import annotations

import asyncio
import textwrap

import panel as pn

from pksim.app import dose_session
from pksim.app.scenario_form import FormError
from pksim.app.views import PLOT_DPI, TABLE_CSS, CohortPage
from pksim.app.widgets import NARROW, WIDE, Labels
from pksim.errors import ScenarioError
from pksim.results.dose_response import DEFAULT_MAX_ABOVE_PCT
from pksim.results.dose_response_report import dose_response_figure

__all__ = ["DoseResponsePage"]

UNITS = ("mg/day", dose_session.PER_KG_UNITS)
"""Units of the candidate doses."""
FIGURE_MIN_WIDTH_IN = 9.0
"""Narrowest the dose-response figure is drawn (inches; one panel is 5 in wide)."""
TITLE_CHARACTERS = 100
"""The figure's one-line title (it names the target ranges and days) is wrapped at this many
characters, so that none of it is cut off."""


class DoseResponsePage:
    """Regimen, candidates and the over-exposure limit in; table, best dose and plot out."""

    def __init__(self, labels: Labels, cohort: CohortPage):
        self.labels, self.cohort = labels, cohort
        add = labels.add
        self.intro = add(pn.pane.Markdown(), "dose_intro", "object")
        self.regimen = add(pn.widgets.Select(width=WIDE + 60), "dose_regimen")
        self.doses = add(
            pn.widgets.TextInput(value=dose_session.DEFAULT_DOSES, width=WIDE), "candidates"
        )
        self.units = add(
            pn.widgets.Select(options=list(UNITS), value=UNITS[0], width=NARROW + 30), "units"
        )
        self.max_above = add(
            pn.widgets.FloatInput(value=DEFAULT_MAX_ABOVE_PCT, start=0, end=100, width=NARROW),
            "max_above",
        )
        self.button = add(pn.widgets.Button(button_type="primary", width=WIDE), "compute")
        self.button.on_click(self._compute)
        self.progress = pn.indicators.Progress(value=0, max=100, width=WIDE, visible=False)
        self.message = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["dose-problems"]
        )
        self.best = pn.pane.Markdown("", css_classes=["best-dose"])
        self.table = pn.pane.HTML("", stylesheets=[TABLE_CSS], css_classes=["dose-table"])
        self.plot = pn.Column(css_classes=["dose-plot"])
        self.refresh()
        self.layout = pn.Column(
            self.intro,
            pn.Row(self.regimen, self.doses, self.units, self.max_above),
            pn.Row(self.button, self.progress),
            self.message,
            self.best,
            self.table,
            self.plot,
        )

    def refresh(self) -> None:
        """Offer the cohort page's current regimens."""
        names = [row.name.value for row in self.cohort.regimen_rows]
        value = self.regimen.value
        self.regimen.options = names
        self.regimen.value = value if value in names else (names[0] if names else None)

    async def _compute(self, event: object = None) -> None:
        self.message.visible = False
        self.refresh()
        try:
            text = self.cohort.scenario_text()
        except FormError as error:
            self._problems(error.problems)
            return
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:
            loop.call_soon_threadsafe(setattr, self.progress, "value", round(100 * done / total))

        self.button.disabled, self.progress.visible = True, True
        try:
            ds = await asyncio.to_thread(
                dose_session.respond,
                text,
                self.regimen.value,
                self.doses.value,
                per_kg=self.units.value == dose_session.PER_KG_UNITS,
                max_above_pct=float(self.max_above.value or 0.0),
                progress=progress,
            )
        except ScenarioError as error:
            self._problems([str(line) for line in error.problems])
            return
        except ValueError as error:
            self._problems([str(error)])
            return
        finally:
            self.button.disabled, self.progress.visible = False, False
        self.best.object = f"**{dose_session.best_text(ds)}**"
        self.table.object = dose_session.dose_table(ds).to_html(index=False)
        figure = dose_response_figure(ds)
        width, height = figure.get_size_inches()
        figure.set_size_inches(max(width, FIGURE_MIN_WIDTH_IN), height + 0.3)
        figure.suptitle(textwrap.fill(figure.get_suptitle(), TITLE_CHARACTERS))
        self.plot[:] = [
            pn.pane.Matplotlib(figure, dpi=PLOT_DPI, tight=False, format="png", width=900)
        ]

    def _problems(self, problems: list[str]) -> None:
        lines = "\n".join(f"- {p}" for p in problems)
        self.message.object = f"**{self.labels.t('problem')}**\n\n{lines}"
        self.message.visible = True

"""The cohort page: choose or build a scenario, run it, read and download the results.

The form is :mod:`pksim.app.widgets`; what a run does is :mod:`pksim.app.session`. A run is
simulated in a worker thread (the page stays responsive and its progress bar moves); its
results replace the previous ones only when it has finished.
"""

from __future__ import annotations

import asyncio
import html
import io
import tomllib
from typing import Any

import panel as pn

from pksim.app import session
from pksim.app.scenario_form import (
    MEALS_FROM_FILE,
    PHASES,
    ComedicationForm,
    FormError,
    RegimenForm,
    ScenarioForm,
    bundled_mapping,
    form_from_mapping,
    mapping_from_form,
)
from pksim.app.widgets import (
    NARROW,
    WIDE,
    ComedicationRow,
    Labels,
    RegimenRow,
    drug_names,
    retitle,
)
from pksim.errors import ScenarioError
from pksim.library import food, parameters, populations
from pksim.results.html_report import attainment_html
from pksim.scenario import DEFAULT_SCENARIO, list_scenarios

__all__ = ["CohortPage"]

TABLE_CSS = """
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 2px 6px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f0f0f0; }
"""
PLOT_DPI = 96
"""Resolution of the plots on screen (the report and ``pksim run`` use their own)."""


class CohortPage:
    """Scenario form, run button with progress, result tabs and downloads."""

    def __init__(self, labels: Labels):
        self.labels = labels
        self.outcome: session.Outcome | None = None
        self.runs = 0
        self.original: dict[str, Any] = {}
        self.drug_names = drug_names()
        add = labels.add
        self.choice = add(
            pn.widgets.Select(options=self._choices(), value=DEFAULT_SCENARIO, width=WIDE),
            "scenario",
        )
        self.upload = add(pn.widgets.FileInput(accept=".toml", width=WIDE), "upload")
        self.upload.param.watch(lambda e: self._open_file(), "value")
        self.title = add(pn.widgets.TextInput(width=2 * WIDE), "title")
        self.subjects = add(pn.widgets.IntInput(start=1, width=NARROW), "subjects")
        self.days = add(pn.widgets.IntInput(start=1, width=NARROW), "days")
        self.seed = add(pn.widgets.IntInput(start=0, width=NARROW), "seed")
        self.population = add(
            pn.widgets.Select(options=populations.list_populations(), width=WIDE), "population"
        )
        self.settings_box = pn.Column()
        self.settings_card = add(
            pn.Card(self.settings_box, collapsed=True, width=3 * WIDE),
            "population_settings",
            "title",
        )
        self.parameter_set = add(
            pn.widgets.Select(options=parameters.list_parameter_sets(), width=WIDE), "parameter_set"
        )
        self.regimen_rows: list[RegimenRow] = []
        self.regimen_box = pn.Column()
        self.add_regimen = add(pn.widgets.Button(button_type="default"), "add_regimen")
        self.add_regimen.on_click(lambda e: self._add_regimen(RegimenForm(name="new regimen")))
        self.food = add(pn.widgets.Select(width=WIDE), "food")
        self.comedication_rows: list[ComedicationRow] = []
        self.comedication_box = pn.Column()
        self.add_comedication = add(pn.widgets.Button(button_type="default"), "add_comedication")
        self.add_comedication.on_click(lambda e: self._add_comedication(ComedicationForm("")))
        self.phase = add(pn.widgets.Select(options=list(PHASES), width=NARROW + 30), "target")
        self.lower = add(pn.widgets.FloatInput(start=0, width=NARROW), "lower")
        self.upper = add(pn.widgets.FloatInput(start=0, width=NARROW), "upper")
        self.target_day = add(pn.widgets.IntInput(start=1, width=NARROW + 60), "target_day")
        self.phase.param.watch(lambda e: self._show_custom(), "value")
        self.run_button = add(pn.widgets.Button(button_type="primary", width=WIDE), "run")
        self.run_button.on_click(self._run)
        self.progress = pn.indicators.Progress(value=0, max=100, width=WIDE, visible=False)
        self.status = pn.pane.Markdown("", css_classes=["run-status"])
        self.message = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["problems"]
        )
        self._build_results()
        self.choice.param.watch(lambda e: self.load(e.new), "value")
        self.population.param.watch(lambda e: self._fill_settings(), "value")
        self.load(DEFAULT_SCENARIO)
        self.layout = pn.Column(
            pn.Row(self.choice, self.upload, self.title),
            pn.Row(self.subjects, self.days, self.seed, self.population, self.parameter_set),
            self.settings_card,
            self._heading("regimens"),
            self.regimen_box,
            self.add_regimen,
            pn.Row(self.food, self.phase, self.lower, self.upper, self.target_day),
            self._heading("comedications"),
            self.comedication_box,
            self.add_comedication,
            pn.Row(self.run_button, self.progress, self.status),
            self.message,
            self.results,
            self.downloads,
        )

    # --- the form ----------------------------------------------------------------------------

    def _choices(self) -> dict[str, str]:
        return {self.labels.t("new_scenario"): "new", **{n: n for n in list_scenarios()}}

    def _heading(self, key: str) -> pn.pane.Markdown:
        return self.labels.add(pn.pane.Markdown(), key, "object", "#### {}")

    def load(self, name: str) -> None:
        """Fill the form from a bundled scenario (or a new one)."""
        self.source = name
        self.fill(bundled_mapping(name))

    def _open_file(self) -> None:
        data = self.upload.value
        if not data:
            return
        try:
            mapping = tomllib.loads(data.decode("utf-8"))
            form_from_mapping(mapping)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, TypeError, ValueError) as error:
            self._problems([f"{self.upload.filename}: not a scenario file ({error})"])
            return
        self.message.visible = False
        self.source = self.upload.filename
        self.fill(mapping)

    def fill(self, mapping: dict[str, Any]) -> None:
        """Fill the form from a parsed scenario file."""
        self.original = mapping
        form = form_from_mapping(self.original)
        self.title.value, self.subjects.value = form.title, form.subjects
        self.days.value, self.seed.value = form.days, form.seed
        self.population.value, self.parameter_set.value = form.population, form.parameter_set
        self._fill_settings()
        self.regimen_rows.clear()
        self.regimen_box.clear()
        for regimen in form.regimens:
            self._add_regimen(regimen)
        conditions = food.list_conditions()
        self.food.options = (
            [MEALS_FROM_FILE, *conditions] if form.food == MEALS_FROM_FILE else conditions
        )
        self.food.value = form.food
        self.comedication_rows.clear()
        self.comedication_box.clear()
        for course in form.comedications:
            self._add_comedication(course)
        self.phase.value = form.phase
        self.lower.value, self.upper.value = form.lower, form.upper
        self.target_day.value = form.target_day
        self._show_custom()

    def _fill_settings(self) -> None:
        given = self.original.get("population", {})
        self.setting_inputs = {}
        for key, entry in populations.population_settings(self.population.value).items():
            low, high = entry["allowed"]
            self.setting_inputs[key] = pn.widgets.FloatInput(
                name=f"{key} ({entry['units']})",
                value=float(given.get(key, entry["default"])),
                start=low,
                end=high,
                width=WIDE,
                description=entry["description"],
            )
        self.initial_settings = {k: w.value for k, w in self.setting_inputs.items()}
        self.settings_box[:] = [pn.GridBox(*self.setting_inputs.values(), ncols=3)]

    def _add_regimen(self, form: RegimenForm) -> None:
        row = RegimenRow(form, self.labels, self._remove_regimen)
        self.regimen_rows.append(row)
        self.regimen_box.append(row.layout)

    def _remove_regimen(self, row: RegimenRow) -> None:
        self.regimen_rows.remove(row)
        self.regimen_box.remove(row.layout)

    def _add_comedication(self, form: ComedicationForm) -> None:
        row = ComedicationRow(form, self.labels, self.drug_names, self._remove_comedication)
        self.comedication_rows.append(row)
        self.comedication_box.append(row.layout)

    def _remove_comedication(self, row: ComedicationRow) -> None:
        self.comedication_rows.remove(row)
        self.comedication_box.remove(row.layout)

    def _show_custom(self) -> None:
        custom = self.phase.value == "custom"
        self.lower.visible = self.upper.visible = custom

    def relabel(self) -> None:
        """Translate what :class:`Labels` does not reach: choices and result tab titles."""
        value = self.choice.value
        self.choice.options = self._choices()
        self.choice.value = value
        for row in self.regimen_rows:
            row.relabel()
        retitle(self.results, [(self.labels.t(key), pane) for key, pane in self.result_tabs])
        if self.outcome is None:
            self.status.object = self.labels.t("no_result")

    def form(self) -> ScenarioForm:
        """The form's values."""
        changed = {
            key: widget.value
            for key, widget in self.setting_inputs.items()
            if widget.value != self.initial_settings[key] and widget.value is not None
        }
        return ScenarioForm(
            title=self.title.value,
            subjects=int(self.subjects.value or 0),
            days=int(self.days.value or 0),
            seed=int(self.seed.value or 0),
            population=self.population.value,
            parameter_set=self.parameter_set.value,
            regimens=tuple(row.form() for row in self.regimen_rows),
            food=self.food.value,
            comedications=tuple(row.form() for row in self.comedication_rows),
            phase=self.phase.value,
            lower=self.lower.value,
            upper=self.upper.value,
            target_day=self.target_day.value,
            population_settings=changed,
        )

    def scenario_text(self) -> str:
        """The scenario file the form describes (raises :class:`FormError`)."""
        mapping = mapping_from_form(self.form(), self.original)
        return session.scenario_text(mapping, f"based on {self.source}")

    # --- running -----------------------------------------------------------------------------

    async def _run(self, event: object = None) -> None:
        self.message.visible = False
        try:
            text = self.scenario_text()
        except FormError as error:
            self._problems(error.problems)
            return
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:
            loop.call_soon_threadsafe(setattr, self.progress, "value", round(100 * done / total))

        self.run_button.disabled = True
        self.progress.value, self.progress.visible = 0, True
        self.status.object = self.labels.t("running")
        try:
            outcome = await asyncio.to_thread(session.simulate, text, progress=progress)
        except ScenarioError as error:
            self._problems([str(line) for line in error.problems])
            self.status.object = ""
            return
        except (ValueError, OSError) as error:
            self._problems([str(error)])
            self.status.object = ""
            return
        finally:
            self.run_button.disabled = False
            self.progress.visible = False
        self.show(outcome)

    def _problems(self, problems: list[str]) -> None:
        lines = "\n".join(f"- {p}" for p in problems)
        self.message.object = f"**{self.labels.t('problem')}**\n\n{lines}"
        self.message.visible = True

    # --- results -----------------------------------------------------------------------------

    def _build_results(self) -> None:
        self.table = pn.pane.HTML("", stylesheets=[TABLE_CSS], css_classes=["attainment"])
        self.side_by_side = pn.pane.HTML("", stylesheets=[TABLE_CSS], css_classes=["compare"])
        self.plots = pn.Column(css_classes=["plots"])
        self.subgroup = self.labels.add(pn.widgets.Select(width=WIDE), "subgroup")
        self.subgroup.param.watch(lambda e: self._subgroup_chosen(), "value")
        self.subgroup_view = pn.Column()
        self.over_time = pn.Column(css_classes=["over-time-results"])
        self.result_tabs = [
            ("attainment", self.table),
            ("compare", self.side_by_side),
            ("plots", self.plots),
            ("over_time_tab", self.over_time),
            ("subgroups", pn.Column(self.subgroup, self.subgroup_view)),
        ]
        self.drawn: set[str] = set()
        self.results = pn.Tabs(*((self.labels.t(k), p) for k, p in self.result_tabs), dynamic=True)
        self.results.param.watch(lambda e: self._draw_open_tab(), "active")
        buttons = {
            "download_toml": (self._toml_file, "scenario.toml"),
            "download_csv": (self._csv_file, "summary.csv"),
            "download_xlsx": (self._excel_file, "summary.xlsx"),
            "download_report": (self._report_file, "report.html"),
        }
        self.download_buttons = {
            key: self.labels.add(
                pn.widgets.FileDownload(
                    callback=make, filename=name, button_type="default", width=WIDE, label=""
                ),
                key,
                "label",
            )
            for key, (make, name) in buttons.items()
        }
        for key in ("download_csv", "download_xlsx", "download_report"):
            self.download_buttons[key].disabled = True
        self.downloads = pn.Row(*self.download_buttons.values())

    def show(self, outcome: session.Outcome) -> None:
        """Display a finished run."""
        self.outcome = outcome
        self.runs += 1
        report = outcome.report
        overall = report.tables[0]
        self.table.object = f"<p>{html.escape(str(overall.attrs['target']))}</p>" + attainment_html(
            overall
        )
        self.side_by_side.object = session.comparison(overall).to_html(classes="compare")
        self.drawn = set()  # plots are drawn when their tab is opened (drawing is the slow part)
        self.plots[:], self.subgroup_view[:] = [], []  # never an old plot beside a new table
        self.over_time[:] = []
        split = session.split_subgroups(outcome)
        self.subgroup.options = {report.subgroup_titles.get(s, s): s for s in split}
        self.subgroup.value = split[0] if split else None
        self._draw_open_tab()
        n = int(report.attrs["n_subjects"])
        self.status.object = self.labels.t("done").format(k=self.runs, n=n, s=outcome.seconds)
        for button in self.download_buttons.values():
            button.disabled = False

    def _draw_open_tab(self) -> None:
        if self.outcome is None:
            return
        key = self.result_tabs[self.results.active][0]
        if key in self.drawn:
            return
        self.drawn.add(key)
        if key == "plots":
            self.plots[:] = [_figure(fig) for fig in session.main_figures(self.outcome)]
        elif key == "subgroups":
            self._show_subgroup()
        elif key == "over_time_tab":
            self.over_time[:] = [
                *(_figure(fig) for fig in session.over_time_figures(self.outcome)),
                pn.pane.HTML(session.over_time_table(self.outcome), stylesheets=[TABLE_CSS]),
            ]

    def _subgroup_chosen(self) -> None:
        self.drawn.discard("subgroups")
        self._draw_open_tab()

    def _show_subgroup(self) -> None:
        if self.outcome is None or not self.subgroup.value:
            self.subgroup_view[:] = []
            return
        table = session.subgroup_table(self.outcome, self.subgroup.value)
        figure = session.subgroup_figure(self.outcome, self.subgroup.value)
        self.subgroup_view[:] = [
            pn.pane.HTML(
                session.subgroup_comparison(table).to_html(index_names=False)
                + attainment_html(table),
                stylesheets=[TABLE_CSS],
            ),
            _figure(figure),
        ]

    def _toml_file(self) -> io.BytesIO:
        try:
            text = self.scenario_text()
        except FormError:
            text = self.outcome.text if self.outcome else session.scenario_text(self.original, "")
        return io.BytesIO(text.encode("utf-8"))

    def _csv_file(self) -> io.BytesIO:
        return io.BytesIO(session.csv_bytes(self.outcome.report))

    def _excel_file(self) -> io.BytesIO:
        return io.BytesIO(session.excel_bytes(self.outcome.report))

    def _report_file(self) -> io.BytesIO:
        return io.BytesIO(session.report_bytes(self.outcome))


def _figure(figure) -> pn.pane.Matplotlib:
    return pn.pane.Matplotlib(figure, dpi=PLOT_DPI, tight=False, format="png", width=900)

"""The one-patient page's Bayesian individualisation: dose history and measured troughs in
(typed, uploaded as a NONMEM-style CSV, or written from the page's covariates and dose), the
MAP fit, the individual prediction with its band, and the dose options out
(:mod:`pksim.app.mipd_session`)."""

from __future__ import annotations

import asyncio
import html
from dataclasses import asdict

import panel as pn

from pksim.app import mipd_session
from pksim.app.mipd_session import NONMEM_COVARIATES
from pksim.app.widgets import NARROW, WIDE, Labels

__all__ = ["IndividualisationPanel"]

FORECAST_DAYS = 7
"""Days forecast by default (the dose options' trough is judged on the last)."""


class IndividualisationPanel:
    """Measured troughs and the history CSV in; parameters, fit, plot and options out.
    ``page`` is the :class:`~pksim.app.patient_view.PatientPage` whose covariates, dose,
    formulation, parameter set and target are used."""

    def __init__(self, labels: Labels, page):
        self.labels, self.page = labels, page
        add = labels.add
        self.heading = add(pn.pane.Markdown(), "mipd_heading", "object", "### {}")
        self.intro = add(pn.pane.Markdown(), "mipd_intro", "object")
        self.troughs = add(pn.widgets.TextInput(value="4: 4.1; 7: 4.6", width=WIDE), "troughs")
        self.write = add(pn.widgets.Button(button_type="default", width=WIDE), "write_history")
        self.write.on_click(lambda event: self._write_history())
        self.upload = add(pn.widgets.FileInput(accept=".csv", width=WIDE), "upload_history")
        self.upload.param.watch(lambda event: self._open_file(), "value")
        self.history = add(
            pn.widgets.TextAreaInput(value=mipd_session.example_text(), height=150, width=3 * WIDE),
            "history",
        )
        self.days = add(
            pn.widgets.IntInput(value=FORECAST_DAYS, start=1, end=60, width=NARROW), "forecast"
        )
        self.button = add(pn.widgets.Button(button_type="primary", width=WIDE), "fit")
        self.button.on_click(self._fit)
        self.message = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["mipd-problems"]
        )
        self.results = pn.Column(css_classes=["mipd-results"])
        self.result: mipd_session.Individualisation | None = None
        self.layout = pn.Column(
            self.heading,
            self.intro,
            pn.Row(self.troughs, self.write, self.upload),
            self.history,
            pn.Row(self.days, self.button),
            self.message,
            self.results,
        )

    def _write_history(self) -> None:
        self.message.visible = False
        form = self.page.form()
        values = asdict(form)
        try:
            troughs = mipd_session.parse_troughs(self.troughs.value)
        except ValueError as error:
            self._problems([str(error)])
            return
        self.history.value = mipd_session.history_csv(
            {k: values[k] for k in NONMEM_COVARIATES},
            form.daily_dose_mg,
            form.doses_per_day,
            troughs,
        )

    def _open_file(self) -> None:
        if not self.upload.value:
            return
        try:
            self.history.value = self.upload.value.decode("utf-8-sig")
        except UnicodeDecodeError:
            self._problems([f"{self.upload.filename}: not a UTF-8 text (CSV) file"])

    async def _fit(self, event: object = None) -> None:
        self.message.visible = False
        page = self.page
        self.button.disabled = True
        try:
            result = await asyncio.to_thread(
                mipd_session.individualise,
                self.history.value,
                parameters=page.parameter_set.value,
                target=page.target.value,
                formulation=page.formulation.value,
                days=int(self.days.value or FORECAST_DAYS),
            )
        except ValueError as error:
            self._problems([str(error)])
            return
        finally:
            self.button.disabled = False
        self._show(result)

    def relabel(self) -> None:
        """Show the last fit's headings in the current language (the plot is kept)."""
        if self.result is not None:
            self._show(self.result, figure=self.results[1])

    def _show(self, result: mipd_session.Individualisation, figure=None) -> None:
        from pksim.app.views import TABLE_CSS

        self.result = result
        t = self.labels.t
        fit, target = result.fit, result.target
        status = t("converged") if fit.converged else t("not_converged")
        summary = (
            f"<p>{html.escape(fit.history.id)}: {html.escape(fit.design.pset.name)}, "
            f"{fit.history.n_observations} {t('observations')}, {status}. "
            f"{t('target')}: {html.escape(target.label)} {target.lower:g}-{target.upper:g} "
            "ng/mL</p>"
        )
        if result.genotypes is not None:
            summary += (
                f"<h4>{t('genotype_posterior')}</h4>"
                + result.genotypes.to_html(index=False, classes="mipd-genotypes")
                + f"<p>{t('genotype_mode')}: {html.escape(result.mixture.mode_genotype)}. "
                + f"{t('genotype_note')}</p>"
            )
        tables = (
            summary
            + f"<h4>{t('map_parameters')}</h4>"
            + result.parameters.to_html(index=False, classes="mipd-parameters")
            + f"<h4>{t('fit_table')}</h4>"
            + result.observations.to_html(index=False, classes="mipd-fit")
        )
        options = f"<h4>{t('dose_options')}</h4>" + result.options.to_html(
            index=False, classes="mipd-options"
        )
        self.results[:] = [
            pn.pane.HTML(tables, stylesheets=[TABLE_CSS]),
            figure
            or pn.pane.Matplotlib(
                mipd_session.individualisation_figure(result), dpi=96, tight=False, width=900
            ),
            pn.pane.HTML(options, stylesheets=[TABLE_CSS]),
        ]

    def _problems(self, problems: list[str]) -> None:
        lines = "\n".join(f"- {p}" for p in problems)
        self.message.object = f"**{self.labels.t('problem')}**\n\n{lines}"
        self.message.visible = True

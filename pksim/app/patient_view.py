"""The one-patient page: covariates and dose history in, the typical trough course out; below
it, Bayesian individualisation from measured troughs (:mod:`pksim.app.mipd_view`)."""

from __future__ import annotations

import panel as pn

from pksim.app.mipd_view import IndividualisationPanel
from pksim.app.patient import PatientForm, patient_figure, predict
from pksim.app.views import TABLE_CSS
from pksim.app.widgets import NARROW, WIDE, Labels, drug_names
from pksim.errors import ScenarioError
from pksim.library import formulations, parameters
from pksim.library.targets import RENAL_RANGE, load_targets

__all__ = ["PatientPage"]

GENOTYPES = ("*3/*3", "*1/*3", "*1/*1", "unknown")
"""CYP3A5 genotypes a patient table accepts."""
TARGET_PHASES = ("induction", "maintenance", RENAL_RANGE)
"""Target ranges the patient's course is drawn against (``pksim/data/targets.toml``)."""


class PatientPage:
    """Patient form, predict button, the predicted course and the troughs by day."""

    def __init__(self, labels: Labels):
        self.labels = labels
        add = labels.add
        d = PatientForm()
        self.sex = add(
            pn.widgets.Select(options=["female", "male"], value=d.sex, width=NARROW), "sex"
        )
        self.age = add(pn.widgets.FloatInput(value=d.age_y, start=0, width=NARROW), "age")
        self.weight = add(pn.widgets.FloatInput(value=d.weight_kg, start=0, width=NARROW), "weight")
        self.hematocrit = add(
            pn.widgets.FloatInput(value=d.hematocrit_pct, start=0, width=NARROW), "hematocrit"
        )
        self.cyp3a5 = add(
            pn.widgets.Select(options=list(GENOTYPES), value=d.cyp3a5, width=NARROW), "cyp3a5"
        )
        self.egfr = add(pn.widgets.FloatInput(value=d.egfr, start=0, width=WIDE), "egfr")
        self.prednisone = add(
            pn.widgets.FloatInput(value=d.prednisone_mg_per_day, start=0, width=WIDE), "prednisone"
        )
        self.dose = add(
            pn.widgets.FloatInput(value=d.daily_dose_mg, start=0, step=0.5, width=NARROW),
            "daily_dose",
        )
        self.doses = add(
            pn.widgets.Select(options=[1, 2, 3, 4], value=d.doses_per_day, width=NARROW),
            "doses_per_day",
        )
        self.formulation = add(
            pn.widgets.Select(
                options=formulations.list_formulations(), value=d.formulation, width=WIDE
            ),
            "formulation",
        )
        self.days = add(pn.widgets.IntInput(value=d.days, start=1, width=NARROW), "days")
        self.parameter_set = add(
            pn.widgets.Select(
                options=parameters.list_parameter_sets(), value=d.parameter_set, width=WIDE
            ),
            "parameter_set",
        )
        self.drug = add(
            pn.widgets.AutocompleteInput(
                options=drug_names(),
                restrict=False,
                case_sensitive=False,
                min_characters=1,
                search_strategy="includes",
                width=WIDE,
            ),
            "drug",
        )
        self.drug_start = add(
            pn.widgets.FloatInput(value=d.drug_start_day, width=NARROW), "start_day"
        )
        self.drug_stop = add(pn.widgets.FloatInput(value=None, width=WIDE), "stop_day")
        self.target = add(
            pn.widgets.Select(options=list(TARGET_PHASES), value=TARGET_PHASES[0], width=WIDE),
            "target",
        )
        self.button = add(pn.widgets.Button(button_type="primary", width=WIDE), "predict")
        self.button.on_click(self._predict)
        self.message = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["patient-problems"]
        )
        self.plot = pn.Column(css_classes=["patient-plot"])
        self.troughs = pn.pane.HTML("", css_classes=["patient-troughs"], stylesheets=[TABLE_CSS])
        self.intro = add(pn.pane.Markdown(), "patient_intro", "object")
        self.individualisation = IndividualisationPanel(labels, self)
        self.layout = pn.Column(
            self.intro,
            pn.Row(
                self.sex,
                self.age,
                self.weight,
                self.hematocrit,
                self.cyp3a5,
                self.egfr,
                self.prednisone,
            ),
            pn.Row(self.dose, self.doses, self.formulation, self.days, self.parameter_set),
            pn.Row(self.drug, self.drug_start, self.drug_stop, self.target),
            self.button,
            self.message,
            self.plot,
            self.troughs,
            self.individualisation.layout,
        )

    def form(self) -> PatientForm:
        """The page's values."""
        return PatientForm(
            sex=self.sex.value,
            age_y=self.age.value,
            weight_kg=self.weight.value,
            hematocrit_pct=self.hematocrit.value,
            cyp3a5=self.cyp3a5.value,
            egfr=self.egfr.value,
            prednisone_mg_per_day=self.prednisone.value or 0.0,
            daily_dose_mg=self.dose.value,
            doses_per_day=int(self.doses.value),
            formulation=self.formulation.value,
            days=int(self.days.value or 1),
            parameter_set=self.parameter_set.value,
            drug=self.drug.value or "",
            drug_start_day=self.drug_start.value if self.drug_start.value is not None else 1.0,
            drug_stop_day=self.drug_stop.value,
        )

    def _target_range(self) -> tuple[float, float]:
        target = load_targets()[self.target.value]
        return (target.lower, target.upper)

    def _predict(self, event: object = None) -> None:
        self.message.visible = False
        try:
            prediction = predict(self.form())
        except ScenarioError as error:
            lines = "\n".join(f"- {line}" for line in error.problems)
            self.message.object = f"**{self.labels.t('problem')}**\n\n{lines}"
            self.message.visible = True
            return
        self.plot[:] = [
            pn.pane.Matplotlib(
                patient_figure(prediction, self._target_range()), dpi=96, tight=False, width=900
            )
        ]
        table = prediction.troughs.rename(columns={"trough_ng_per_ml": "trough (ng/mL)"})
        self.troughs.object = f"<h4>{self.labels.t('trough_by_day')}</h4>" + table.to_html(
            index=False, float_format="{:.2f}".format
        )

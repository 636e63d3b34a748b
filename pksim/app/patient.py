"""One patient: covariates and doses in, the typical predicted trough course out.

The patient is written as a one-row patient table and a scenario with ``typical_only = true``
(no between-subject or between-occasion variability, no assay error) in a temporary folder,
loaded with :func:`pksim.load_scenario` and simulated with :func:`pksim.run`: the same
validation and model as every other run, so a bad covariate gets the patient-table message.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pksim import contract
from pksim.app.toml_text import to_toml
from pksim.engine import run
from pksim.errors import ScenarioError
from pksim.scenario import load_scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PatientForm", "Prediction", "patient_figure", "predict"]

PROFILE_STEP_H = 0.5
"""Time step (h) of the predicted concentration curve."""
PATIENT_CSV, SCENARIO_TOML = "patient.csv", "patient.toml"
COVARIATE_COLUMNS = (
    "sex",
    "age_y",
    "weight_kg",
    "hematocrit_pct",
    "cyp3a5",
    "egfr",
    "prednisone_mg_per_day",
)
"""The patient-table columns the form fills (the others take their defaults)."""


@dataclass(frozen=True, slots=True)
class PatientForm:
    """One patient's covariates (units in the names; ``egfr`` None: derived) and dose history:
    a daily dose in ``doses_per_day`` doses of ``formulation`` for ``days`` days, with an
    optional co-medication from ``drug_start_day`` to ``drug_stop_day``."""

    sex: str = "female"
    age_y: float = 35.0
    weight_kg: float = 57.0
    hematocrit_pct: float = 35.0
    cyp3a5: str = "*3/*3"
    egfr: float | None = 90.0
    prednisone_mg_per_day: float = 0.0
    daily_dose_mg: float = 3.0
    doses_per_day: int = 2
    formulation: str = "prograf"
    days: int = 14
    parameter_set: str = "default"
    drug: str = ""
    drug_start_day: float = 1.0
    drug_stop_day: float | None = None


@dataclass(frozen=True, slots=True)
class Prediction:
    """The typical patient's troughs by day and concentration curve (ng/mL)."""

    troughs: pd.DataFrame
    time_h: np.ndarray
    concentration: np.ndarray
    scenario_text: str


def patient_files(form: PatientForm) -> tuple[str, str]:
    """(patient table, scenario file) texts of ``form``."""
    values = asdict(form)
    row = {c: "" if values[c] is None else values[c] for c in COVARIATE_COLUMNS}
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=["patient_id", *COVARIATE_COLUMNS])
    writer.writeheader()
    writer.writerow({"patient_id": "patient", **row})
    scenario = {
        "schema_version": 1,
        "title": "One patient (typical prediction)",
        "days": form.days,
        "population": {"patients_csv": PATIENT_CSV},
        "parameters": {"name": form.parameter_set},
        "variability": {"typical_only": True},
        "regimens": [
            {
                "name": f"{form.daily_dose_mg:g} mg/day in {form.doses_per_day}",
                "daily_dose_mg": form.daily_dose_mg,
                "doses_per_day": form.doses_per_day,
                "formulation": form.formulation,
            }
        ],
        "output": {"profiles": True, "profile_step_h": PROFILE_STEP_H},
    }
    if form.drug.strip():
        course: dict[str, object] = {"drug": form.drug.strip(), "start_day": form.drug_start_day}
        if form.drug_stop_day is not None:
            course["stop_day"] = form.drug_stop_day
        scenario["comedications"] = [course]
    return table.getvalue(), to_toml(scenario)


def predict(form: PatientForm) -> Prediction:
    """Simulate the typical patient of ``form`` (raises :class:`pksim.ScenarioError` naming
    every bad value)."""
    table, text = patient_files(form)
    with tempfile.TemporaryDirectory(prefix="pksim-patient-") as folder:
        (Path(folder) / PATIENT_CSV).write_text(table, encoding="utf-8")
        path = Path(folder) / SCENARIO_TOML
        path.write_text(text, encoding="utf-8")
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:  # name the fields, not the temporary folder
            lines = [str(line).replace(f"{folder}/", "") for line in error.problems]
            raise ScenarioError("the patient", lines) from None
    ds = run(scenario)
    trough = ds[contract.TROUGH].isel(regimen=0, subject=0)
    troughs = pd.DataFrame({"day": trough["day"].values, "trough_ng_per_ml": trough.values})
    concentration = ds[contract.CONCENTRATION].isel(regimen=0, subject=0)
    return Prediction(troughs, concentration["time"].values, concentration.values, text)


def patient_figure(prediction: Prediction, target: tuple[float, float] | None = None) -> Figure:
    """Concentration over time with the daily troughs marked (and the target band)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.add_subplot()
    days = prediction.time_h / 24.0
    ax.plot(days, prediction.concentration, color="tab:blue", linewidth=1, label="concentration")
    ax.plot(
        prediction.troughs["day"],
        prediction.troughs["trough_ng_per_ml"],
        "o",
        color="black",
        markersize=4,
        label="trough (end of day)",
    )
    if target is not None:
        ax.axhspan(
            *target,
            color="tab:green",
            alpha=0.15,
            label=f"target {target[0]:g}-{target[1]:g} ng/mL",
        )
    ax.set_xlabel("Days since first dose")
    ax.set_ylabel("Whole-blood concentration (ng/mL)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    ax.set_title("Typical patient: predicted concentration and troughs", fontsize="medium")
    return fig

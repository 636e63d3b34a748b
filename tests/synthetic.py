"""Synthetic result Datasets that follow the ``pksim.run`` output contract.

Used by the analysis and plot tests so they do not depend on the simulator: troughs can be
given explicitly (known answers) or drawn from a lognormal around a regimen-specific median.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

REGIMENS = ("3 mg QD", "1.5 mg BID")
GENOTYPES = ("*1/*1", "*1/*3", "*3/*3")
TARGET = (6.0, 10.0)
RENAL_CEILING = 4.0


def synthetic_dataset(
    trough: np.ndarray | None = None,
    *,
    regimens: tuple[str, ...] = REGIMENS,
    n_subjects: int = 200,
    days: int = 14,
    seed: int = 7,
    renal_fraction: float = 0.1,
    with_concentration: bool = False,
    hours_per_sample: float = 2.0,
    comedications: list[dict] | None = None,
) -> xr.Dataset:
    """A Dataset with dims regimen x subject x day (+ time when ``with_concentration``).

    ``trough`` (regimen, subject, day) in ng/mL overrides the random troughs; its shape then
    sets the number of regimens, subjects and days. Renal-impaired subjects (the first
    ``round(renal_fraction * n)``) get the target ``0-4`` ng/mL, all others ``6-10`` ng/mL.
    """
    rng = np.random.default_rng(seed)
    if trough is not None:
        trough = np.asarray(trough, dtype=np.float64)
        n_regimens, n_subjects, days = trough.shape
        regimens = tuple(regimens[:n_regimens]) + tuple(
            f"regimen {i}" for i in range(len(regimens), n_regimens)
        )
    else:
        medians = np.linspace(5.0, 9.0, len(regimens))[:, None, None]
        rise = 1.0 - np.exp(-np.arange(1, days + 1) / 3.0)
        trough = medians * rise * rng.lognormal(0.0, 0.4, (len(regimens), n_subjects, 1))
        trough = trough * rng.lognormal(0.0, 0.1, trough.shape)

    subject = np.arange(n_subjects)
    weight = rng.normal(62.0, 10.0, n_subjects).clip(38.0, 110.0)
    genotype = np.array(GENOTYPES, dtype=object)[rng.integers(0, 3, n_subjects)]
    renal = np.zeros(n_subjects, dtype=bool)
    renal[: round(renal_fraction * n_subjects)] = True
    comeds = comedications if comedications is not None else []
    comed_label = " + ".join(c["drug"] for c in comeds) or "none"
    comedication = np.where(np.arange(n_subjects) % 2 == 0, comed_label, "none").astype(object)

    troughs = xr.DataArray(
        trough,
        dims=("regimen", "subject", "day"),
        attrs={"units": "ng/mL", "long_name": "Whole-blood trough concentration"},
    )
    measured = troughs * rng.lognormal(0.0, 0.15, trough.shape)
    measured.attrs = {"units": "ng/mL", "long_name": "Measured whole-blood trough concentration"}
    below = measured < 1.0
    ds = xr.Dataset(
        {
            "trough": troughs,
            "trough_measured": measured.where(~below),
            "below_lloq": below,
            "target_lower": (
                "subject",
                np.where(renal, 0.0, TARGET[0]),
                {"units": "ng/mL", "long_name": "Target trough, lower limit", "source": "test"},
            ),
            "target_upper": (
                "subject",
                np.where(renal, RENAL_CEILING, TARGET[1]),
                {"units": "ng/mL", "long_name": "Target trough, upper limit", "source": "test"},
            ),
            "daily_dose_mg": (
                ("regimen", "subject"),
                np.full((len(regimens), n_subjects), 3.0),
                {"units": "mg/day", "long_name": "Daily dose"},
            ),
        },
        coords={
            "regimen": ("regimen", np.array(regimens, dtype=object)),
            "subject": subject,
            "day": ("day", np.arange(1, days + 1), {"units": "day", "long_name": "Day"}),
            "weight_kg": ("subject", weight, {"units": "kg", "long_name": "Body weight"}),
            "sex": ("subject", np.where(subject % 2 == 0, "F", "M").astype(object)),
            "cyp3a5": ("subject", genotype),
            "cyp3a5_expresser": ("subject", genotype != "*3/*3"),
            "renal_impairment": ("subject", renal),
            "weight_band": (
                "subject",
                np.where(weight < 60.0, "< 60 kg", "≥ 60 kg").astype(object),
            ),
            "comedication": ("subject", comedication),
        },
        attrs={
            "title": "Synthetic test result",
            "seed": seed,
            "parameter_set": "synthetic",
            "target_label": "induction 6\N{EN DASH}10 ng/mL",
            "comedications": json.dumps(comeds),
        },
    )
    if with_concentration:
        time = np.arange(0.0, 24.0 * days + hours_per_sample, hours_per_sample)
        phase = (time % 24.0) / 24.0
        shape = 1.0 + 0.8 * np.exp(-4.0 * phase) - 0.3 * phase
        conc = trough[:, :, :1] * shape[None, None, :]
        ds["concentration"] = xr.DataArray(
            conc,
            dims=("regimen", "subject", "time"),
            attrs={"units": "ng/mL", "long_name": "Whole-blood concentration"},
        )
        ds = ds.assign_coords(
            time=("time", time, {"units": "h", "long_name": "Time after first dose"})
        )
        ds.attrs["dose_times_h"] = json.dumps(
            {
                name: [24.0 * d / per_day for d in range(days * per_day)]
                for name, per_day in zip(regimens, (1, 2) * len(regimens), strict=False)
            }
        )
    return ds

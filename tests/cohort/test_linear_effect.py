"""The linear covariate form (1 + coefficient·(x - reference)/scale) and the Bergmann 2014 set
that uses it, against its covariate equation written out here (Table 2 footnote)."""

import numpy as np
import pytest

from pksim.cohort import Covariates, typical_parameters
from pksim.library import parameters as P


def _covariates(hematocrit):
    n = len(hematocrit)
    return Covariates(
        weight_kg=np.array([50.0, 70.0, 90.0][:n]),
        sex=np.zeros(n, dtype=int),
        age_y=np.full(n, 40.0),
        hematocrit_pct=np.asarray(hematocrit, dtype=float),
        egfr=np.full(n, 90.0),
        serum_creatinine_mg_dl=np.full(n, 0.8),
        cyp3a5=np.array([0, 1, 2][:n]),
        liver_function=np.zeros(n, dtype=int),
        prednisone_mg_per_day=np.zeros(n),
    )


def test_bergmann_clearance_is_its_published_equation():
    """CL/F = 25.5 x 1.60^expresser x (1 - 1.01 (HCT - 0.33)) x (WT/70)^0.75 x
    (1 - 0.0021 (min(POD, 180) - 22.7)), POD fixed at 180 days."""
    pset = P.load_parameter_set("bergmann2014")
    cov = _covariates([25.0, 33.0, 45.0])
    hct = np.array([0.25, 0.33, 0.45])
    weight = np.array([50.0, 70.0, 90.0])
    expresser = np.array([1.0, 1.60, 1.60])
    expected = (
        25.5
        * expresser
        * (1 - 1.01 * (hct - 0.33))
        * (weight / 70) ** 0.75
        * (1 - 0.0021 * (180 - 22.7))
    )
    typical = typical_parameters(pset, cov)
    np.testing.assert_allclose(typical.cl, expected, rtol=1e-12)
    np.testing.assert_allclose(typical.v, 113.0)
    np.testing.assert_allclose(typical.q, 67.9)
    np.testing.assert_allclose(typical.v2, 1060.0)


def test_a_linear_factor_that_is_not_positive_is_refused():
    raw = {
        "name": "t",
        "title": "t",
        "population": "p",
        "evidence": "D",
        "typical": {
            k: {"value": v, "units": u, "source": "Bergmann2014", "evidence": "D"}
            for (k, u), v in zip(P.TYPICAL_UNITS.items(), (10.0, 500.0, 4.0, 0.5), strict=True)
        },
        "effects": [
            {
                "parameter": "cl",
                "covariate": "hematocrit_pct",
                "form": "linear",
                "coefficient": {
                    "value": -5.0,
                    "units": "1",
                    "source": "Bergmann2014",
                    "evidence": "D",
                },
                "reference": {
                    "value": 33.0,
                    "units": "%",
                    "source": "Bergmann2014",
                    "evidence": "D",
                },
                "scale": {"value": 100.0, "units": "%", "source": "Bergmann2014", "evidence": "D"},
            }
        ],
    }
    pset = P.parameter_set_from_dict(raw)
    typical_parameters(pset, _covariates([40.0]))  # 1 - 5 x 0.07 = 0.65: fine
    with pytest.raises(ValueError, match="not a finite positive factor for subject 1"):
        typical_parameters(pset, _covariates([40.0, 60.0]))  # 1 - 5 x 0.27 < 0
    raw["effects"][0]["scale"]["value"] = 0.0
    with pytest.raises(ValueError, match=r"effects\[0\].scale: must not be 0"):
        P.parameter_set_from_dict(raw)

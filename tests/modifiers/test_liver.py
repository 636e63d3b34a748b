"""Liver function on clearance: per-category multipliers and a time-varying grid."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pksim.cohort.covariates import LIVER_FUNCTION
from pksim.library.parameters import load_parameter_set
from pksim.modifiers import liver

DEFAULT = load_parameter_set("default")


def test_liver_function_multiplier_and_time_varying_grid():
    """Prograf label: oral CL/F 0.016 (severe, Pugh > 10) vs 0.034 L/h/kg (mild), and mild
    hepatic impairment not substantially different from normal; Lu 2015 ALT effect
    exp(-0.0237 * 120 / 40) for enzymes at 3 x ULN."""
    codes = np.arange(len(LIVER_FUNCTION))
    got = liver.liver_cl_multiplier(DEFAULT, codes)
    assert got == pytest.approx([1.0, math.exp(-0.0237 * 3), 1.0, 0.016 / 0.034], abs=0.001)
    times, mult = liver.liver_cl_grid(DEFAULT, [240.0], [[0, 3], [3, 0]])
    assert times.tolist() == [240.0]
    np.testing.assert_allclose(mult, [[1, 0.47], [1, 1 / 0.47]])
    with pytest.raises(ValueError, match="shape"):
        liver.liver_cl_grid(DEFAULT, [240.0], [[0, 3, 3]])
    with pytest.raises(ValueError, match=r"codes must be in 0..3"):
        liver.liver_cl_grid(DEFAULT, [240.0], [[0, 4]])

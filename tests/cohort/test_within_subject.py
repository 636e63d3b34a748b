"""Each subject's own scale of within-subject variability (``iov.subject_scale``): drawn
reproducibly from the subject's own stream, log-normal with median 1, multiplying the SDs of the
subject's IOV on F and of its residual error (an "eta on epsilon")."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pksim import cohort, rng
from pksim.library.parameters import load_parameter_set, override_parameter_set
from tests.cohort.reference import DEFAULT

OMEGA = math.sqrt(math.log1p(0.378**2))
"""Log-scale SD of the default set's subject scale (37.8 %CV, Park 2021 tertiles)."""


def test_the_default_set_gives_each_subject_its_own_scale():
    assert DEFAULT.iov_subject_scale_sd == pytest.approx(OMEGA)
    s = cohort.within_subject_scale(DEFAULT, seed=11, start=0, stop=200_000)
    log_s = np.log(s)
    assert np.median(s) == pytest.approx(1.0, abs=0.01)  # the typical subject keeps the set's SD
    assert log_s.std() == pytest.approx(OMEGA, rel=0.01)
    assert s.std() / s.mean() == pytest.approx(0.378, rel=0.02)  # the %CV of the data file
    # Park 2021's tertile cut-offs 24.6 % and 33.7 % are 1.37 times apart: so are the scale's.
    low, high = np.quantile(s, [1 / 3, 2 / 3])
    assert high / low == pytest.approx(33.7 / 24.6, rel=0.02)


@given(
    seed=st.integers(0, 2**32),
    start=st.integers(0, 9000),
    size=st.integers(0, 300),
    cut=st.integers(0, 300),
)
def test_a_subjects_scale_does_not_depend_on_the_chunk(seed, start, size, cut):
    whole = cohort.within_subject_scale(DEFAULT, seed=seed, start=start, stop=start + size)
    cut = min(cut, size)
    parts = np.concatenate(
        [
            cohort.within_subject_scale(DEFAULT, seed=seed, start=start, stop=start + cut),
            cohort.within_subject_scale(DEFAULT, seed=seed, start=start + cut, stop=start + size),
        ]
    )
    np.testing.assert_array_equal(whole, parts)
    z = rng.normal_columns(seed, "within_subject", start, start + size, 1)[:, 0]
    np.testing.assert_array_equal(whole, np.exp(DEFAULT.iov_subject_scale_sd * z))


def test_it_scales_the_iov_sd_subject_by_subject():
    """log(IOV multiplier of occasion k) = s_i x omega_IOV x z_ik exactly, z from stream iov."""
    doses = np.arange(0, 10 * 24, 12.0)[None, :]
    n = 50
    m = cohort.iov_f_multipliers(DEFAULT, doses, seed=3, start=100, stop=100 + n)
    s = cohort.within_subject_scale(DEFAULT, seed=3, start=100, stop=100 + n)
    z = rng.normal_columns(3, "iov", 100, 100 + n, 10)
    expected = np.exp(DEFAULT.iov_f_sd * s[:, None] * z)
    np.testing.assert_allclose(m[:, 0::2], expected, rtol=1e-14)
    # Across subjects, Var(log m) = omega_IOV^2 E[s^2] = omega_IOV^2 exp(2 omega_s^2).
    many = cohort.iov_f_multipliers(DEFAULT, doses[:, :1], seed=4, start=0, stop=200_000)
    assert np.log(many).var() == pytest.approx(
        DEFAULT.iov_f_sd**2 * math.exp(2 * OMEGA**2), rel=0.02
    )


def test_it_scales_the_residual_sd_subject_by_subject():
    """Far above the additive SD the measured trough is C + s_i SD(C) Phi^-1(u)."""
    from scipy.special import erfc, ndtri

    n, conc = 40, 10.0
    true = np.full((n, 3), conc)
    out = cohort.residual_error(DEFAULT, true, seed=8, start=7, lloq_ng_per_ml=0.0)
    s = cohort.within_subject_scale(DEFAULT, seed=8, start=7, stop=7 + n)
    u = cohort.variability.residual_uniforms(8, 7, 7 + n, 3)
    sd = s[:, None] * math.hypot(DEFAULT.residual_proportional * conc, DEFAULT.residual_additive)
    low = 0.5 * erfc(conc / sd / math.sqrt(2))  # Phi(-C/SD): the truncation at 0
    expected = conc + sd * ndtri(low + u * (1 - low))
    np.testing.assert_allclose(out.measured, expected, rtol=1e-12)


def test_high_and_low_variability_patients_differ_in_their_trough_cv():
    """Subjects with a large scale have measured troughs that vary more: the subject's CV of
    repeated measurements of one true trough is proportional to its scale."""
    n, k = 2000, 400
    out = cohort.residual_error(
        DEFAULT, np.full((n, k), 10.0), seed=5, start=0, lloq_ng_per_ml=0.0
    ).measured
    cv = out.std(axis=1) / out.mean(axis=1)
    s = cohort.within_subject_scale(DEFAULT, seed=5, start=0, stop=n)
    typical = math.hypot(DEFAULT.residual_proportional * 10.0, DEFAULT.residual_additive) / 10.0
    modest = s < 2.0  # far from the truncation at 0
    np.testing.assert_allclose(cv[modest], s[modest] * typical, rtol=0.12)


def test_no_scale_without_the_parameter_or_for_the_typical_patient():
    uniform = override_parameter_set(DEFAULT, {"iov.subject_scale": 0})
    assert np.all(cohort.within_subject_scale(uniform, seed=1, start=0, stop=10) == 1)
    assert np.all(
        cohort.within_subject_scale(DEFAULT, seed=1, start=0, stop=10, typical_only=True) == 1
    )
    other = load_parameter_set("andrews2019")  # its publication gives no such spread
    assert other.iov_subject_scale_sd == 0
    with pytest.raises(ValueError, match="need 0 <= start <= stop"):
        cohort.within_subject_scale(DEFAULT, seed=1, start=5, stop=2)


def test_the_parameter_is_checked_when_read_and_overridden():
    from pksim.errors import Invalid
    from pksim.library.parameters import parameter_set_from_dict

    assert override_parameter_set(DEFAULT, {"iov.subject_scale": 50}).iov_subject_scale_sd == (
        pytest.approx(math.sqrt(math.log1p(0.25)))
    )
    with pytest.raises(Invalid, match=r"iov.subject_scale: must be >= 0 and <= 1000 %CV"):
        override_parameter_set(DEFAULT, {"iov.subject_scale": -1})
    import tomllib

    from pksim.library.cited import data_folder

    data = tomllib.loads((data_folder("parameters") / "default.toml").read_text())
    data["iov"]["subject_scale"]["value"] = -5.0
    with pytest.raises(ValueError, match=r"iov.subject_scale: must be >= 0"):
        parameter_set_from_dict(data, origin="default.toml")
    data["iov"]["subjects"] = data["iov"].pop("subject_scale")
    with pytest.raises(ValueError, match="subject_scale"):
        parameter_set_from_dict(data, origin="default.toml")

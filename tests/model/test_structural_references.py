"""Every registered structural model against its naive reference (tests/naive.py, solve_ivp).

Generic over :data:`pksim.model.structural.STRUCTURAL_MODELS`: a new model is tested here as
soon as it is registered and has an entry in ``naive.MODEL_REFERENCES``.
"""

import numpy as np
import pytest

from pksim.model.structural import STRUCTURAL_MODELS
from tests import naive

RTOL = 1e-8
"""Agreement with the ODE reference (solve_ivp at rtol 1e-12)."""

STEADY_STATE_HORIZON_H = 6000.0
"""Regular dosing this long reaches steady state for every example in naive.MODEL_REFERENCES
(over 100 half-lives of their slowest process); choose new examples to keep it so."""

CASES = [
    (name, index)
    for name in sorted(STRUCTURAL_MODELS)
    for index in range(len(naive.MODEL_REFERENCES[name].examples))
]


def _schedule(rng):
    """Irregular doses over 4 days with a missed (NaN) dose; samples at and between doses."""
    times = np.sort(rng.uniform(0, 96, 9))
    times[4] = np.nan
    amounts = rng.choice([0.5, 1.0, 1.5, 3.0], 9)
    samples = np.concatenate([[-1.0, 0.0], times[[0, 2, 6]], np.sort(rng.uniform(0, 140, 12))])
    return times, amounts, samples


@pytest.mark.parametrize(("name", "index"), CASES)
def test_model_matches_its_naive_reference(name, index):
    spec = STRUCTURAL_MODELS[name]
    example = naive.MODEL_REFERENCES[name].examples[index]
    times, amounts, samples = _schedule(np.random.default_rng(100 + index))
    got = spec.simulate(
        {k: np.array([value]) for k, value in example.items()},
        times[np.newaxis, :],
        amounts[np.newaxis, :],
        samples,
    )[0]
    expected = naive.MODEL_REFERENCES[name].concentrations(example, times, amounts, samples)
    assert np.all(got[samples <= np.nanmin(times)] == 0.0)
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize(("name", "index"), CASES)
def test_steady_state_trough_is_the_limit_of_regular_dosing(name, index):
    """The analytic steady state (where a model has one) equals the simulated trough after
    :data:`STEADY_STATE_HORIZON_H` of regular dosing."""
    spec = STRUCTURAL_MODELS[name]
    if spec.steady_state is None:
        pytest.skip(f"{name} has no steady-state function")
    example = naive.MODEL_REFERENCES[name].examples[index]
    dose, tau = 1.5, 12.0
    n_doses = int(STEADY_STATE_HORIZON_H / tau)
    times = np.arange(n_doses + 1)[np.newaxis, :] * tau
    simulated = spec.simulate(
        {k: np.array([value]) for k, value in example.items()},
        times,
        np.full_like(times, dose),
        [n_doses * tau],
    )[0, 0]
    values = [example[k] for k in spec.parameter_names]
    np.testing.assert_allclose(spec.steady_state(*values, dose, tau), simulated, rtol=1e-9)

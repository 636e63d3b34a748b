"""The run's own arguments (``n_subjects``, ``seed``) are held to the limits of a scenario file,
so that Python and the command line refuse what the loader refuses."""

import numpy as np
import pytest

from pksim.engine.plan import check_n_subjects, check_seed, prepare
from pksim.scenario import MAX_SEED, MAX_SUBJECTS, load_scenario


@pytest.mark.parametrize("good", [1, 3, MAX_SUBJECTS, np.int64(7), np.uint8(2)])
def test_whole_subject_counts_within_the_limit_are_accepted(good):
    assert check_n_subjects(good) == int(good)
    assert type(check_n_subjects(good)) is int


@pytest.mark.parametrize("bad", [0, -1, MAX_SUBJECTS + 1, 10**400, True, 3.0, "3", None, [3]])
def test_other_subject_counts_are_refused(bad):
    with pytest.raises(
        ValueError, match=r"n_subjects must be a whole number from 1 to 100,000,000"
    ):
        check_n_subjects(bad)


@pytest.mark.parametrize("good", [0, 1, MAX_SEED, np.uint64(MAX_SEED)])
def test_seeds_of_64_bits_are_accepted(good):
    assert check_seed(good) == int(good)


@pytest.mark.parametrize("bad", [-1, MAX_SEED + 1, 10**400, False, 1.0, "1"])
def test_other_seeds_are_refused(bad):
    with pytest.raises(ValueError, match=r"seed must be a whole number from 0 to 2\*\*64 - 1"):
        check_seed(bad)


def test_prepare_uses_the_same_checks():
    scenario = load_scenario("ln-maintenance")
    assert prepare(scenario, None, None).n_subjects == scenario.subjects
    with pytest.raises(ValueError, match="n_subjects must be"):
        prepare(scenario, MAX_SUBJECTS + 1, None)
    with pytest.raises(ValueError, match="seed must be"):
        prepare(scenario, 10, 2**64)


def test_prepare_names_a_scenario_of_the_wrong_type():
    with pytest.raises(ValueError, match=r"scenario must be a Scenario .* got 42"):
        prepare(42, 10, None)

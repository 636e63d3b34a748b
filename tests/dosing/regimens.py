"""Shared helpers of the dosing tests: a regimen from a scenario table, its problems, events."""

import numpy as np

from pksim.dosing.events import dose_events
from pksim.dosing.regimen import Regimen
from pksim.errors import Problems

WHERE = "regimens[2]"


def load(**table):
    """The regimen of a ``[[regimens]]`` table; the test fails (with the problems) if refused."""
    problems = Problems()
    regimen = Regimen.from_mapping(table, WHERE, problems)
    assert regimen is not None and not problems, list(problems)
    return regimen


def problems_of(table, where=WHERE):
    """Every problem found in a ``[[regimens]]`` table (no regimen is made when there is one)."""
    problems = Problems()
    regimen = Regimen.from_mapping(table, where, problems)
    assert (regimen is None) == bool(problems)
    return list(problems)


def events(regimen, weights, days=3, seed=11, start=0):
    return dose_events(regimen, np.asarray(weights, dtype=float), days, seed=seed, start=start)

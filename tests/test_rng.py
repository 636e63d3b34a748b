import numpy as np
import pytest
import xarray as xr

import pksim
from pksim import rng
from pksim.scenario import scenario_from_text


def normal_pair(generator, size):
    return generator.standard_normal((size, 2))


def test_draws_do_not_depend_on_chunking():
    whole = rng.draw(7, "iiv", 0, 10_000, normal_pair)
    pieces = [rng.draw(7, "iiv", a, b, normal_pair) for a, b in [(0, 3), (3, 4097), (4097, 10_000)]]
    np.testing.assert_array_equal(whole, np.concatenate(pieces))


def test_seed_and_stream_change_the_draws():
    a = rng.draw(7, "iiv", 0, 100, normal_pair)
    assert not np.array_equal(a, rng.draw(8, "iiv", 0, 100, normal_pair))
    assert not np.array_equal(a, rng.draw(7, "iov", 0, 100, normal_pair))


def test_empty_range_keeps_trailing_shape():
    assert rng.draw(1, "iiv", 5, 5, normal_pair).shape == (0, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"stream": "nope"}, "unknown random stream"), ({"seed": -1}, "non-negative integer")],
)
def test_bad_arguments_are_named(kwargs, message):
    args = {"seed": 1, "stream": "iiv"} | kwargs
    with pytest.raises(ValueError, match=message):
        rng.draw(args["seed"], args["stream"], 0, 10, normal_pair)


def test_columns_keep_their_values_when_more_are_drawn():
    """Column j of a stream is the same whatever the width: appending moves nothing."""
    for columns in (rng.uniform_columns, rng.normal_columns):
        narrow = columns(3, "residual", 10, 5000, 4)
        wide = columns(3, "residual", 10, 5000, 9)
        np.testing.assert_array_equal(wide[:, :4], narrow)


def test_every_stream_states_its_layout():
    assert set(rng.STREAM_LAYOUTS) == set(rng.STREAMS)
    assert len(set(rng.STREAMS.values())) == len(rng.STREAMS)


EVERY_STREAM = """
title = "uses every random stream"
days = 4
seed = 17

[population]
name = "chinese-adult-ln"

[variability]
sampling_offset_min_h = -1.0
sampling_offset_max_h = 1.0

[[regimens]]
name = "3 mg/day, doses missed and late"
daily_dose_mg = 3
doses_per_day = 2
missed_dose_probability = 0.1
late_dose_max_h = 2.0

[food]
condition = "fasted"
fraction_against_rule = 0.3

[[comedications]]
drug = "voriconazole"
start_day = 2
fraction = 0.5

[[comedications]]
drug = "rifampicin"
start_day = 1
fraction = 0.3

[output]
measured = true
"""


def test_registering_a_new_stream_changes_no_existing_draw(monkeypatch):
    """Every stream's width is its own constant: a new stream (say for a dose-adjustment rule)
    leaves every draw of every existing stream, and so a whole run, bit-identical. (The
    co-medication draw width used to be the number of streams.)"""
    scenario = scenario_from_text(EVERY_STREAM)
    used = set()
    original = rng.block_generator

    def recording(seed, stream, block):
        used.add(stream)
        return original(seed, stream, block)

    monkeypatch.setattr(rng, "block_generator", recording)
    before = pksim.run(scenario, n_subjects=300, chunk_subjects=128)
    assert used == set(rng.STREAMS), "the scenario must exercise every registered stream"
    draws = {s: rng.uniform_columns(17, s, 0, 300, 5) for s in rng.STREAMS}

    monkeypatch.setattr(rng, "STREAMS", {**rng.STREAMS, "dose_adjustment": 9, "another": 10})
    after = pksim.run(scenario, n_subjects=300, chunk_subjects=128)
    xr.testing.assert_identical(before.drop_attrs(), after.drop_attrs())
    for stream, values in draws.items():
        np.testing.assert_array_equal(rng.uniform_columns(17, stream, 0, 300, 5), values)

import numpy as np
import pytest

from pksim import rng


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

"""Shared test configuration."""

from hypothesis import settings

# Numba compiles (or loads its cache) on first use, so the first example of a property can be
# slow: timing deadlines would make the suite flaky without testing anything. Examples are
# derived from a hash of each test (derandomize) and no example database is replayed, so every
# run tests the same examples and the suite cannot go red at random; widen the search with
# explicit @example cases or a larger max_examples, not with luck.
settings.register_profile("pksim", deadline=None, derandomize=True, database=None)
settings.load_profile("pksim")

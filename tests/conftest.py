"""Shared test configuration."""

from hypothesis import settings

# Numba compiles (or loads its cache) on first use, so the first example of a property can be
# slow: timing deadlines would make the suite flaky without testing anything.
settings.register_profile("pksim", deadline=None, derandomize=False)
settings.load_profile("pksim")

"""Checks of the array-level model API: every input validated before any numba code runs.

Shared by every structural model's entry point (``pksim.model.concentrations_general``,
``pksim.model.concentrations_two_compartment``): shapes, dtypes (real numbers: integer or float
arrays; bool, complex, strings, objects and ragged nested lists are refused) and ranges, each
refusal naming the argument and what is allowed; then the dose rows sorted by dose time and the
samples sorted, ready for a kernel. Units: time h, dose mg, volume L, clearance L/h, 1/h.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.model import kernels

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Bound:
    """The allowed values of a per-subject parameter: finite and above ``lower`` (or equal to
    it when ``inclusive``); ``what`` says so in the refusal, e.g. "finite and > 0 (L/h)"."""

    lower: float
    inclusive: bool
    what: str


@dataclass(frozen=True, slots=True)
class KernelEvents:
    """Validated event inputs of a kernel, dose rows sorted by dose time, samples sorted.

    times, amounts, klass, dose_f: (n|1, m) h, mg, class index (int64), multiplier;
    class_lag: (K,) h; samples: (n|1, s) h ascending, ``sample_order`` the permutation that
    sorted them (None if they were sorted); change_times: (c,) h; k_mult: (n|1, c + 1).
    """

    times: Array
    amounts: Array
    klass: NDArray[np.int64]
    dose_f: Array
    class_lag: Array
    samples: Array
    sample_order: NDArray[np.intp] | None
    change_times: Array
    k_mult: Array

    def unsort(self, out: Array) -> Array:
        """``out`` (n, s), computed at the sorted samples, back in the caller's sample order."""
        if self.sample_order is None:
            return out
        unsorted = np.empty_like(out)
        np.put_along_axis(unsorted, np.broadcast_to(self.sample_order, out.shape), out, axis=1)
        return unsorted


_DTYPE_HINTS = {
    "b": "bool is not a number here",
    "c": "complex numbers are not allowed",
    "O": "an object array: mixed types, None or ragged rows? convert to float first",
    "U": "strings are not numbers",
    "S": "bytes are not numbers",
}


def _real_array(name: str, value: ArrayLike) -> np.ndarray:
    """``value`` as an array of real numbers (integer or float dtype), as given."""
    try:
        array = np.asarray(value)  # keeps 0-D, unlike ascontiguousarray
    except (ValueError, TypeError):  # a ragged nested sequence
        raise ValueError(
            f"{name} must be a rectangular array of numbers (rows of equal length), got a "
            f"ragged or unreadable {type(value).__name__}"
        ) from None
    if array.dtype.kind not in "iuf":
        hint = _DTYPE_HINTS.get(array.dtype.kind, "not a real number type")
        raise ValueError(
            f"{name} must hold real numbers (an integer or float array), got dtype "
            f"{array.dtype} ({hint})"
        )
    return array


def _float_array(name: str, value: ArrayLike, ndim: int | tuple[int, ...]) -> Array:
    array = _real_array(name, value).astype(np.float64, copy=False)
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in allowed:
        dims = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{name} must be {dims}, got an array of shape {array.shape}")
    return array


def _check_range(name: str, array: Array, *, lower: float, inclusive: bool, what: str) -> None:
    """Raise unless every value is finite and above ``lower`` (or equal when inclusive)."""
    if array.size == 0:
        return
    low, high = array.min(), array.max()  # NaN propagates into both and fails below
    if (low >= lower if inclusive else low > lower) and high < np.inf:
        return
    bad = ~np.isfinite(array) | ((array < lower) if inclusive else (array <= lower))
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = index[0] if len(index) == 1 else index
    raise ValueError(f"{name} must be {what}; got {float(array[index])} at index {where}")


def _subject_vector(
    name: str, value: ArrayLike, n: int, *, lower: float, inclusive: bool, what: str
) -> Array:
    array = _float_array(name, value, (0, 1))
    if array.ndim == 0:
        array = np.full(n, float(array))
    if array.shape != (n,):
        raise ValueError(f"{name} must have one value per subject ({n}), got shape {array.shape}")
    _check_range(name, array, lower=lower, inclusive=inclusive, what=what)
    return array


def _subject_rows(name: str, array: np.ndarray, n: int) -> None:
    if array.shape[0] not in (1, n):
        raise ValueError(
            f"{name} must have one row per subject ({n}) or a single shared row, "
            f"got shape {array.shape}"
        )


def _sorted_doses(times: Array, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort every row by dose time (NaN = no dose, last); reorder the companions alike.

    Rows whose given doses are already in order are passed on as they are (the kernel skips
    NaN entries wherever they stand).
    """
    if kernels.rows_ascending(times):
        return (times, *others)
    key = np.where(np.isnan(times), np.inf, times)
    shape = np.broadcast_shapes(times.shape, *(a.shape for a in others))
    order = np.argsort(np.broadcast_to(key, shape), axis=1, kind="stable")
    return tuple(
        np.ascontiguousarray(np.take_along_axis(np.broadcast_to(a, shape), order, axis=1))
        for a in (times, *others)
    )


def _sorted_samples(samples: Array) -> tuple[Array, np.ndarray | None]:
    """Samples sorted along the last axis, and the permutation to undo (None if sorted)."""
    if np.all(samples[:, 1:] >= samples[:, :-1]):
        return samples, None
    order = np.argsort(samples, axis=1, kind="stable")
    return np.ascontiguousarray(np.take_along_axis(samples, order, axis=1)), order


def _class_indices(value: ArrayLike, m: int, n: int, n_classes: int) -> NDArray[np.int64]:
    """``dose_class`` as (n|1, m) int64 indices in [0, n_classes): integers, or floats with
    whole values; anything else is refused, never truncated."""
    raw = _real_array("dose_class", value)
    if raw.ndim != 2 or raw.shape[1] != m:
        raise ValueError(f"dose_class must be (n|1, {m}) like dose_times, got shape {raw.shape}")
    _subject_rows("dose_class", raw, n)
    if raw.dtype.kind == "f":
        bad = ~np.isfinite(raw) | (raw != np.round(raw))
        if np.any(bad):
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                "dose_class must hold whole numbers (absorption class indices; 1.0 is accepted, "
                f"0.7 is not); got {float(raw[index])} at index {index}"
            )
    bad = (raw < 0) | (raw >= n_classes)
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"dose_class values must be in [0, {n_classes}) (columns of ka); got "
            f"{raw[index]} at index {index}"
        )
    return np.ascontiguousarray(raw, dtype=np.int64)


def _names(names: list[str]) -> str:
    """'a, b and c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _subject_count(**arrays: ArrayLike) -> int:
    """Number of subjects, from the per-subject parameters (or the dose rows if all scalar)."""
    times = arrays.pop("dose_times")
    lengths = {name: np.shape(value)[0] for name, value in arrays.items() if np.ndim(value)}
    if len(set(lengths.values())) > 1:
        found = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(
            f"{_names(list(arrays))} must have one value per subject (the same length); got {found}"
        )
    return next(iter(lengths.values())) if lengths else np.shape(times)[0]


def _clearance_grid(
    change_times: ArrayLike | None, multipliers: ArrayLike | None, n: int
) -> tuple[Array, Array]:
    if change_times is None and multipliers is None:
        return np.empty(0), np.ones((1, 1))
    if change_times is None or multipliers is None:
        raise ValueError("cl_change_times and cl_multipliers must be given together")
    changes = _float_array("cl_change_times", change_times, 1)
    _check_range("cl_change_times", changes, lower=-np.inf, inclusive=False, what="finite (h)")
    if np.any(np.diff(changes) <= 0):
        raise ValueError("cl_change_times must be strictly ascending")
    k_mult = _float_array("cl_multipliers", multipliers, 2)
    if k_mult.shape[1] != changes.size + 1:
        raise ValueError(
            f"cl_multipliers must have len(cl_change_times) + 1 = {changes.size + 1} columns "
            f"(one per segment), got shape {k_mult.shape}"
        )
    _subject_rows("cl_multipliers", k_mult, n)
    _check_range("cl_multipliers", k_mult, lower=0.0, inclusive=False, what="finite and > 0")
    return changes, k_mult


KA_BOUND = Bound(0.0, inclusive=False, what="finite and > 0 (1/h)")
"""Absorption rate constants, one per subject and absorption class."""
CL_BOUND = Bound(0.0, inclusive=False, what="finite and > 0 (L/h)")
"""Apparent clearance CL/F."""
V_BOUND = Bound(0.0, inclusive=False, what="finite and > 0 (L)")
"""Apparent volume V/F."""
TLAG_BOUND = Bound(0.0, inclusive=True, what="finite and >= 0 (h)")
"""Absorption lag time."""
F_BOUND = Bound(0.0, inclusive=False, what="finite and > 0 (relative bioavailability)")
"""Relative bioavailability (a multiplier on the dose; may exceed 1)."""
POSITIVE = Bound(0.0, inclusive=False, what="finite and > 0")
"""A steady-state argument that must be positive (cl, v, ka, f, tau)."""
NON_NEGATIVE = Bound(0.0, inclusive=True, what="finite and >= 0")
"""A steady-state argument that may be zero (tlag, dose)."""


def _ka_table(ka: Array, n: int) -> Array:
    """``ka`` as (n, K), one column per absorption class, range checked."""
    if ka.ndim == 0:
        ka = np.full((n, 1), float(ka))
    elif ka.ndim == 1:
        ka = ka[:, np.newaxis]
    if ka.shape[0] != n:
        raise ValueError(f"ka must have one row per subject ({n}), got shape {ka.shape}")
    if ka.shape[1] == 0:
        raise ValueError(
            f"ka must have at least one column (one per absorption class), got shape {ka.shape}"
        )
    _check_range("ka", ka, lower=KA_BOUND.lower, inclusive=False, what=KA_BOUND.what)
    return ka


def _doses(times: Array, amounts: Array, n: int) -> None:
    """Dose rows (n|1, m): times finite or NaN (no dose), amounts >= 0 where a time is given."""
    _subject_rows("dose_times", times, n)
    if amounts.shape != times.shape:
        raise ValueError(
            f"dose_amounts must have the shape of dose_times {times.shape}, got {amounts.shape}"
        )
    if np.isinf(times).any():
        _check_range(
            "dose_times",
            np.nan_to_num(times, nan=0.0, posinf=np.inf, neginf=-np.inf),
            lower=-np.inf,
            inclusive=False,
            what="finite or NaN (NaN = no dose)",
        )
    if not (amounts.size == 0 or (amounts.min() >= 0.0 and amounts.max() < np.inf)):
        # Slow path only when something is off: amounts behind a NaN time are ignored.
        _check_range(
            "dose_amounts",
            np.where(np.isnan(times), 0.0, amounts),
            lower=0.0,
            inclusive=True,
            what="finite and >= 0 (mg) wherever a dose time is given",
        )


def checked_inputs(
    parameters: Mapping[str, tuple[ArrayLike, Bound]],
    dose_times: ArrayLike,
    dose_amounts: ArrayLike,
    sample_times: ArrayLike,
    *,
    dose_class: ArrayLike | None,
    class_lag: ArrayLike | None,
    dose_f: ArrayLike | None,
    cl_change_times: ArrayLike | None,
    cl_multipliers: ArrayLike | None,
) -> tuple[dict[str, Array], KernelEvents]:
    """Every input of a model entry point checked, in the order of its signature.

    ``parameters``: the model's per-subject parameters in signature order, name -> (value,
    bound); the one named ``ka`` is the (n,) or (n, K) absorption table (always > 0), the
    others (n,) or scalars (broadcast). Returns the parameters as float64 arrays ((n,), ``ka``
    (n, K)) and the kernel's events. Raises ValueError naming the first bad argument.
    """
    times = _float_array("dose_times", dose_times, 2)
    amounts = _float_array("dose_amounts", dose_amounts, 2)
    raw = {"ka": _float_array("ka", parameters["ka"][0], (0, 1, 2))}
    for name, (value, _) in parameters.items():
        if name != "ka":
            raw[name] = _float_array(name, value, (0, 1))
    n = _subject_count(**{name: raw[name] for name in parameters}, dose_times=times)
    checked = {"ka": _ka_table(raw["ka"], n)}
    for name, (_, bound) in parameters.items():
        if name != "ka":
            checked[name] = _subject_vector(
                name, raw[name], n, lower=bound.lower, inclusive=bound.inclusive, what=bound.what
            )
    n_classes = checked["ka"].shape[1]
    _doses(times, amounts, n)

    klass = (
        np.zeros((1, times.shape[1]), dtype=np.int64)
        if dose_class is None
        else _class_indices(dose_class, times.shape[1], n, n_classes)
    )
    lag = np.zeros(n_classes) if class_lag is None else _float_array("class_lag", class_lag, 1)
    if lag.shape != (n_classes,):
        raise ValueError(
            f"class_lag must have one value per ka column ({n_classes}), got shape {lag.shape}"
        )
    _check_range("class_lag", lag, lower=0.0, inclusive=True, what="finite and >= 0 (h)")
    per_dose_f = (
        np.ones((1, times.shape[1])) if dose_f is None else (_float_array("dose_f", dose_f, 2))
    )
    if dose_f is not None:
        if per_dose_f.shape[1] != times.shape[1]:
            raise ValueError(f"dose_f must be (n|1, {times.shape[1]}), got {per_dose_f.shape}")
        _subject_rows("dose_f", per_dose_f, n)
        _check_range("dose_f", per_dose_f, lower=0.0, inclusive=False, what="finite and > 0")

    samples = _float_array("sample_times", sample_times, (1, 2))
    samples = samples[np.newaxis, :] if samples.ndim == 1 else samples
    _subject_rows("sample_times", samples, n)
    _check_range("sample_times", samples, lower=-np.inf, inclusive=False, what="finite (h)")

    changes, k_mult = _clearance_grid(cl_change_times, cl_multipliers, n)

    times, amounts, klass, per_dose_f = _sorted_doses(times, amounts, klass, per_dose_f)
    samples, order = _sorted_samples(samples)
    events = KernelEvents(times, amounts, klass, per_dose_f, lag, samples, order, changes, k_mult)
    return checked, events


def broadcast_scalars(
    names: tuple[str, ...], values: tuple[ArrayLike, ...]
) -> tuple[dict[str, Array], tuple[int, ...]]:
    """Scalars or 1-D arrays of one length (a steady-state function's arguments), broadcast
    against each other: contiguous 1-D float64 arrays by name (range not checked), and the
    broadcast shape (``()`` when all are scalars)."""
    given = [_float_array(name, value, (0, 1)) for name, value in zip(names, values, strict=True)]
    try:
        broadcast = np.broadcast_arrays(*given)
    except ValueError:
        shapes = ", ".join(f"{name} {a.shape}" for name, a in zip(names, given, strict=True))
        raise ValueError(
            f"{_names(list(names))} must be scalars or 1-D arrays of one length; got {shapes}"
        ) from None
    arrays = {
        name: np.ascontiguousarray(a.reshape(-1)) for name, a in zip(names, broadcast, strict=True)
    }
    return arrays, broadcast[0].shape


def check_range(name: str, array: Array, bound: Bound) -> None:
    """Raise, naming ``name``, unless every value of ``array`` is within ``bound``."""
    _check_range(name, array, lower=bound.lower, inclusive=bound.inclusive, what=bound.what)

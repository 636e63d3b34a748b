"""One-compartment oral model with lag: the validated, array-level public API.

Units: time h, dose mg, volume L, clearance L/h, rate constants 1/h, concentration ng/mL.
``f`` is a *relative* bioavailability multiplier on the dose (the model is apparent: CL/F and
V/F refer to the reference F), so it may exceed 1, e.g. when an inhibitor raises F.

Padding convention for per-subject dose lists of different lengths: a NaN dose time means
"no dose"; its amount is ignored. Rows need not be sorted. Every input is checked here, with a
message naming the argument and what is allowed, before any numba code runs: its shape, its
dtype (real numbers: integer or float arrays; bool, complex, strings, objects and ragged nested
lists are refused) and its range. Class indices (``dose_class``) are integers, or floats with
whole values (``1.0``, as ``np.zeros`` makes them); ``0.7`` is refused, never truncated.

Because the gut is a separate compartment, the concentration is continuous in time: a sample
taken at exactly a dose time is the value just before that dose (the trough convention), and
a lag time shifts when the dose reaches the gut, not the dose time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.model import kernels

__all__ = ["concentrations", "concentrations_general", "steady_state_trough"]

Array = NDArray[np.float64]


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


def concentrations(
    cl: ArrayLike,
    v: ArrayLike,
    ka: ArrayLike,
    tlag: ArrayLike,
    f: ArrayLike,
    dose_times: ArrayLike,
    dose_amounts: ArrayLike,
    sample_times: ArrayLike,
) -> Array:
    """Whole-blood concentrations (ng/mL), exact for the one-compartment oral model with lag.

    Parameters
    ----------
    cl, v, ka, tlag, f
        Per subject, shape (n,) (a scalar is broadcast): apparent clearance CL/F (L/h, > 0),
        apparent volume V/F (L, > 0), absorption rate constant (1/h, > 0), lag time (h, >= 0)
        and relative bioavailability (> 0; may exceed 1).
    dose_times, dose_amounts
        Shape (n, m), or (1, m) for a schedule shared by all subjects: dose times (h) and
        amounts (mg, >= 0). NaN time = no dose (padding for shorter dose lists).
    sample_times
        Shape (s,), h, any order.

    Returns
    -------
    ndarray (n, s)
        Concentration in ng/mL at each sample time; a sample at a dose time is pre-dose.
    """
    return concentrations_general(
        cl, v, ka, tlag, f, dose_times, dose_amounts, _float_array("sample_times", sample_times, 1)
    )


def concentrations_general(
    cl: ArrayLike,
    v: ArrayLike,
    ka: ArrayLike,
    tlag: ArrayLike,
    f: ArrayLike,
    dose_times: ArrayLike,
    dose_amounts: ArrayLike,
    sample_times: ArrayLike,
    *,
    dose_class: ArrayLike | None = None,
    class_lag: ArrayLike | None = None,
    dose_f: ArrayLike | None = None,
    cl_change_times: ArrayLike | None = None,
    cl_multipliers: ArrayLike | None = None,
) -> Array:
    """Concentrations (ng/mL) with per-dose absorption and piecewise-constant clearance.

    As :func:`concentrations`, plus:

    ka
        (n,) or (n, K): one absorption rate constant per subject and absorption class (1/h).
    sample_times
        (s,) shared, or (n, s) / (1, s) per subject (h).
    dose_class
        (n|1, m) integers in [0, K): the absorption class of each dose (default 0).
    class_lag
        (K,) extra lag (h, >= 0) added to ``tlag`` for doses of each class (default 0).
    dose_f
        (n|1, m) per-dose bioavailability multiplier (> 0, default 1), on top of ``f``.
    cl_change_times, cl_multipliers
        (c,) strictly ascending times (h) and (n|1, c + 1) multipliers (> 0) on ``cl`` in the
        segments (-inf, t0), [t0, t1), ..., [t_{c-1}, inf). Integration stays exact.
    """
    times = _float_array("dose_times", dose_times, 2)
    amounts = _float_array("dose_amounts", dose_amounts, 2)
    ka_table = _float_array("ka", ka, (0, 1, 2))
    cl, v, tlag, f = (
        _float_array(name, value, (0, 1))
        for name, value in (("cl", cl), ("v", v), ("tlag", tlag), ("f", f))
    )
    n = _subject_count(cl=cl, v=v, ka=ka_table, tlag=tlag, f=f, dose_times=times)
    if ka_table.ndim == 0:
        ka_table = np.full((n, 1), float(ka_table))
    elif ka_table.ndim == 1:
        ka_table = ka_table[:, np.newaxis]
    if ka_table.shape[0] != n:
        raise ValueError(f"ka must have one row per subject ({n}), got shape {ka_table.shape}")
    if ka_table.shape[1] == 0:
        raise ValueError(
            f"ka must have at least one column (one per absorption class), got shape "
            f"{ka_table.shape}"
        )
    _check_range("ka", ka_table, lower=0.0, inclusive=False, what="finite and > 0 (1/h)")
    n_classes = ka_table.shape[1]
    cl_ = _subject_vector("cl", cl, n, lower=0.0, inclusive=False, what="finite and > 0 (L/h)")
    v_ = _subject_vector("v", v, n, lower=0.0, inclusive=False, what="finite and > 0 (L)")
    tlag_ = _subject_vector("tlag", tlag, n, lower=0.0, inclusive=True, what="finite and >= 0 (h)")
    f_ = _subject_vector(
        "f", f, n, lower=0.0, inclusive=False, what="finite and > 0 (relative bioavailability)"
    )

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
    out = np.empty((n, samples.shape[1]))
    kernels.simulate(
        cl_ / v_,
        v_,
        tlag_,
        f_,
        ka_table,
        lag,
        times,
        amounts,
        klass,
        per_dose_f,
        samples,
        changes,
        k_mult,
        out,
    )
    if order is not None:
        unsorted = np.empty_like(out)
        np.put_along_axis(unsorted, np.broadcast_to(order, out.shape), out, axis=1)
        out = unsorted
    return out


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


def _subject_count(**arrays: ArrayLike) -> int:
    """Number of subjects, from the per-subject parameters (or the dose rows if all scalar)."""
    times = arrays.pop("dose_times")
    lengths = {name: np.shape(value)[0] for name, value in arrays.items() if np.ndim(value)}
    if len(set(lengths.values())) > 1:
        found = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(
            f"cl, v, ka, tlag and f must have one value per subject (the same length); got {found}"
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


def steady_state_trough(
    cl: ArrayLike,
    v: ArrayLike,
    ka: ArrayLike,
    tlag: ArrayLike,
    f: ArrayLike,
    dose: ArrayLike,
    tau: ArrayLike,
) -> Array:
    """Analytic steady-state trough (ng/mL) of ``dose`` mg every ``tau`` h.

    The concentration just before a dose once infinitely many doses have been given.
    Arguments broadcast against each other (scalars or 1-D arrays); units as in
    :func:`concentrations`; ``dose`` >= 0 mg, ``tau`` > 0 h.
    """
    names = ("cl", "v", "ka", "tlag", "f", "dose", "tau")
    given = [
        _float_array(name, value, (0, 1))
        for name, value in zip(names, (cl, v, ka, tlag, f, dose, tau), strict=True)
    ]
    try:
        values = np.broadcast_arrays(*given)
    except ValueError:
        shapes = ", ".join(f"{name} {a.shape}" for name, a in zip(names, given, strict=True))
        raise ValueError(
            f"cl, v, ka, tlag, f, dose and tau must be scalars or 1-D arrays of one length; "
            f"got {shapes}"
        ) from None
    arrays = {
        name: np.ascontiguousarray(a.reshape(-1)) for name, a in zip(names, values, strict=True)
    }
    for name in ("cl", "v", "ka", "f", "tau"):
        _check_range(name, arrays[name], lower=0.0, inclusive=False, what="finite and > 0")
    for name in ("tlag", "dose"):
        _check_range(name, arrays[name], lower=0.0, inclusive=True, what="finite and >= 0")
    out = np.empty(arrays["cl"].size)
    kernels.steady_state_trough(
        arrays["cl"] / arrays["v"],
        arrays["v"],
        arrays["ka"],
        arrays["tlag"],
        arrays["f"],
        arrays["dose"],
        arrays["tau"],
        out,
    )
    return out.reshape(values[0].shape)

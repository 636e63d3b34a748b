"""Structural models: one spec per model, a registry by name, and the one call the engine makes.

A parameter set names its structural model (``structural_model`` in its TOML, default
:data:`ONE_COMPARTMENT_ORAL_LAG`); the engine looks the spec up here and calls
:meth:`StructuralModel.simulate` with the individual parameters by name, so the engine never
names a model's function. Adding a model is one :class:`StructuralModel` entry in
:data:`STRUCTURAL_MODELS`, one numba kernel behind its validated entry point, and one naive
reference in ``tests/naive.py`` (see "Where to add a structural model" in docs/ARCHITECTURE.md).

Units: time h, dose mg, volume L, clearance L/h, rate constants 1/h, concentration ng/mL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pksim.errors import unknown_name
from pksim.model import (
    concentrations_general,
    concentrations_two_compartment,
    steady_state_trough,
    steady_state_trough_two_compartment,
)

__all__ = [
    "ONE_COMPARTMENT_ORAL_LAG",
    "STRUCTURAL_MODELS",
    "TWO_COMPARTMENT_ORAL_LAG",
    "ModelParameter",
    "SimulateFunction",
    "StructuralModel",
    "structural_model",
]


SimulateFunction = Callable[..., NDArray[np.float64]]
"""The validated array entry point of a structural model (in front of its numba kernel).

Positional: the model's individual parameters in :attr:`StructuralModel.parameters` order,
each (n,) per subject (a scalar is broadcast; ``ka`` may be (n, K), one column per absorption
class), then ``dose_times`` and ``dose_amounts`` (n|1, m) (h, mg; NaN time = no dose) and
``sample_times`` (s,) or (n|1, s) (h). Keywords, as in
:func:`pksim.model.concentrations_general`: ``dose_class``, ``class_lag``, ``dose_f``,
``cl_change_times``, ``cl_multipliers``. Returns (n, s) concentrations in ng/mL, a sample at a
dose time taken before that dose.
"""


@dataclass(frozen=True, slots=True)
class ModelParameter:
    """One individual parameter of a structural model: its name, units and long name."""

    name: str
    units: str
    long_name: str


@dataclass(frozen=True, slots=True)
class StructuralModel:
    """A structural model: what it needs (parameters with units) and the function that runs it.

    ``simulate_function`` follows :data:`SimulateFunction`; ``steady_state`` (optional) is the
    analytic steady-state trough ``(*parameters, dose mg, tau h) -> ng/mL``. ``references``
    are keys of ``pksim/data/references.toml``: published population models of this structure.
    """

    name: str
    description: str
    parameters: tuple[ModelParameter, ...]
    simulate_function: SimulateFunction
    steady_state: Callable[..., NDArray[np.float64]] | None
    references: tuple[str, ...]

    def __post_init__(self) -> None:
        names = self.parameter_names
        if not self.name or len(set(names)) != len(names):
            raise ValueError(
                f"structural model {self.name!r}: needs a name and unique parameter names, "
                f"got {list(names)}"
            )

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the individual parameters, in the entry point's positional order."""
        return tuple(p.name for p in self.parameters)

    @property
    def units(self) -> Mapping[str, str]:
        """Units of each parameter, by name."""
        return MappingProxyType({p.name: p.units for p in self.parameters})

    def simulate(
        self,
        individual: Mapping[str, ArrayLike],
        dose_times: ArrayLike,
        dose_amounts: ArrayLike,
        sample_times: ArrayLike,
        **events: ArrayLike | None,
    ) -> NDArray[np.float64]:
        """Concentrations (ng/mL), (n, s): the model's parameters taken from ``individual`` by
        name (extra entries are ignored), then the doses, samples and ``events`` keywords of
        :class:`SimulateFunction`."""
        missing = [name for name in self.parameter_names if name not in individual]
        if missing:
            raise ValueError(
                f"structural model {self.name!r} needs the individual parameters "
                f"{list(self.parameter_names)}; missing {missing} (given: {sorted(individual)})"
            )
        values = [individual[name] for name in self.parameter_names]
        return self.simulate_function(*values, dose_times, dose_amounts, sample_times, **events)


ONE_COMPARTMENT_ORAL_LAG = StructuralModel(
    name="one-compartment-oral-lag",
    description=(
        "One compartment, first-order absorption after a lag time, linear elimination; "
        "apparent CL/F and V/F; per-dose absorption classes and bioavailability; "
        "piecewise-constant clearance. Exact closed-form integration between events."
    ),
    parameters=(
        ModelParameter("cl", "L/h", "apparent clearance CL/F"),
        ModelParameter("v", "L", "apparent volume of distribution V/F"),
        ModelParameter("ka", "1/h", "first-order absorption rate constant"),
        ModelParameter("tlag", "h", "absorption lag time"),
        ModelParameter("f", "1", "relative bioavailability (1 = reference)"),
    ),
    simulate_function=concentrations_general,
    steady_state=steady_state_trough,
    references=("Han2013", "Zuo2013"),
)
"""The model of every bundled parameter set (and the default when a set names none)."""

TWO_COMPARTMENT_ORAL_LAG = StructuralModel(
    name="two-compartment-oral-lag",
    description=(
        "Two compartments (central V1, peripheral V2, inter-compartmental clearance Q), "
        "first-order absorption after a lag time, linear elimination from the central "
        "compartment; apparent CL/F, V1/F, Q/F, V2/F; per-dose absorption classes and "
        "bioavailability; piecewise-constant clearance (Q, V1, V2 unchanged). Exact closed-form "
        "integration between events."
    ),
    parameters=(
        ModelParameter("cl", "L/h", "apparent clearance CL/F"),
        ModelParameter("v1", "L", "apparent central volume of distribution V1/F"),
        ModelParameter("q", "L/h", "apparent inter-compartmental clearance Q/F"),
        ModelParameter("v2", "L", "apparent peripheral volume of distribution V2/F"),
        ModelParameter("ka", "1/h", "first-order absorption rate constant"),
        ModelParameter("tlag", "h", "absorption lag time"),
        ModelParameter("f", "1", "relative bioavailability (1 = reference)"),
    ),
    simulate_function=concentrations_two_compartment,
    steady_state=steady_state_trough_two_compartment,
    references=("Andrews2019",),
)
"""The structure of the published adult tacrolimus population models: the bundled sets
``andrews2019``, ``bergmann2014`` and ``lu2015`` declare it."""

STRUCTURAL_MODELS: Mapping[str, StructuralModel] = MappingProxyType(
    {model.name: model for model in (ONE_COMPARTMENT_ORAL_LAG, TWO_COMPARTMENT_ORAL_LAG)}
)
"""Every structural model, by name."""


def structural_model(name: str) -> StructuralModel:
    """The structural model ``name``; an unknown name lists the known ones (with a suggestion)."""
    model = STRUCTURAL_MODELS.get(name)
    if model is None:
        raise ValueError(unknown_name("structural model", name, STRUCTURAL_MODELS))
    return model

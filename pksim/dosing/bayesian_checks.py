"""Whether a scenario can run the ``bayesian`` monitoring rule (:mod:`pksim.dosing.tdm`).

The rule individualises each subject with :mod:`pksim.mipd`, which fits the one-compartment
oral model with lag of an immediate-release product: a parameter set with another structural
model, or a regimen giving another product, is refused at validation (with what to change)
rather than dosed from a misspecified prior.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pksim.errors import Problems
from pksim.library.formulations import lookup_formulation
from pksim.library.parameter_set import ParameterSet
from pksim.model.structural import ONE_COMPARTMENT_ORAL_LAG

__all__ = ["IR_PK_CLASS", "bayesian_problems"]

IR_PK_CLASS = "ir"
"""The formulations file's class of immediate-release products (data/formulations.toml)."""


def bayesian_problems(regimens: Sequence[Any], pset: ParameterSet, problems: Problems) -> None:
    """Problems of the regimens (``regimens[i]`` keys) whose monitoring rule is ``bayesian``
    under the parameter set ``pset``."""
    model = ONE_COMPARTMENT_ORAL_LAG.name
    for index, regimen in enumerate(regimens):
        if regimen.tdm is None or regimen.tdm.rule != "bayesian":
            continue
        where = f"regimens[{index}]"
        if pset.structural_model != model:
            problems.add(
                f"{where}.tdm.rule",
                f"the bayesian rule individualises with the {model} model (pksim.mipd); "
                f"parameter set {pset.name!r} uses {pset.structural_model!r}: choose a "
                "one-compartment parameter set or another rule",
            )
        products = {phase.regimen.formulation for phase in regimen.phases}
        other = sorted(p for p in products if lookup_formulation(p).pk_class != IR_PK_CLASS)
        if other:
            problems.add(
                f"{where}.formulation",
                "the bayesian rule's model is that of immediate-release tacrolimus; "
                f"{', '.join(other)} is not: give an immediate-release product or another rule",
            )

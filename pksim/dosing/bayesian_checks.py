"""Whether a scenario can run the ``bayesian`` monitoring rule (:mod:`pksim.dosing.tdm`).

The rule individualises each subject with :mod:`pksim.mipd`, which fits the one- and
two-compartment oral models with lag of an immediate-release product: a parameter set with
another structural model, or a regimen giving another product, is refused at validation (with
what to change) rather than dosed from a misspecified prior.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pksim.errors import Problems
from pksim.library.formulations import lookup_formulation
from pksim.library.parameter_set import ParameterSet
from pksim.model.structural import ONE_COMPARTMENT_ORAL_LAG, TWO_COMPARTMENT_ORAL_LAG

__all__ = ["BAYESIAN_MODELS", "IR_PK_CLASS", "bayesian_problems"]

BAYESIAN_MODELS = (ONE_COMPARTMENT_ORAL_LAG.name, TWO_COMPARTMENT_ORAL_LAG.name)
"""Structural models the rule can fit and dose exactly (pksim.engine.bayesian_rule)."""

IR_PK_CLASS = "ir"
"""The formulations file's class of immediate-release products (data/formulations.toml)."""


def bayesian_problems(regimens: Sequence[Any], pset: ParameterSet, problems: Problems) -> None:
    """Problems of the regimens (``regimens[i]`` keys) whose monitoring rule is ``bayesian``
    under the parameter set ``pset``."""
    for index, regimen in enumerate(regimens):
        if regimen.tdm is None or regimen.tdm.rule != "bayesian":
            continue
        where = f"regimens[{index}]"
        if pset.structural_model not in BAYESIAN_MODELS:
            problems.add(
                f"{where}.tdm.rule",
                f"the bayesian rule individualises with the {' or '.join(BAYESIAN_MODELS)} "
                f"model (pksim.mipd); parameter set {pset.name!r} uses "
                f"{pset.structural_model!r}: choose a set with one of those models or another "
                "rule",
            )
        products = {phase.regimen.formulation for phase in regimen.phases}
        other = sorted(p for p in products if lookup_formulation(p).pk_class != IR_PK_CLASS)
        if other:
            problems.add(
                f"{where}.formulation",
                "the bayesian rule's model is that of immediate-release tacrolimus; "
                f"{', '.join(other)} is not: give an immediate-release product or another rule",
            )

"""pksim: tacrolimus trough simulation for virtual patient cohorts.

Unrelated to the PBPK product PK-Sim® of Open Systems Pharmacology.

The package's folders are the stages of the data flow (see docs/ARCHITECTURE.md):
``library`` (cited catalogues) -> ``scenario`` -> ``cohort`` -> ``dosing`` -> ``modifiers``
-> ``model`` -> ``engine`` -> ``contract`` (the Dataset) -> ``results`` -> ``cli``.

The top-level names are imported on first use, so ``import pksim`` (or ``pksim.model``) stays
light and does not load xarray, pandas or matplotlib.
"""

import importlib.abc
import importlib.machinery
import sys
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pksim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

_EXPORTS = {
    "Scenario": "pksim.scenario",
    "ScenarioError": "pksim.scenario",
    "load_scenario": "pksim.scenario",
    "run": "pksim.engine",
    "summarize": "pksim.results",
    "target_attainment": "pksim.results",
    "format_attainment": "pksim.results",
    "attainment_over_time": "pksim.results",
    "summarize_over_time": "pksim.results",
    "dose_response": "pksim.results.dose_response",
    "individualize": "pksim.mipd",
    "write_cohort_nonmem": "pksim.results.nonmem_cohort",
}

MOVED_MODULES = {
    "pksim.analysis": "pksim.results",
    "pksim.simulate": "pksim.engine",
    "pksim.stream": "pksim.results",
    "pksim.plot": "pksim.results.plots",
    "pksim.catalogue": "pksim.library.cited",
    "pksim.parameters": "pksim.library.parameters",
    "pksim.targets": "pksim.library.targets",
    "pksim.formulations": "pksim.library.formulations",
    "pksim.food": "pksim.library.food",
    "pksim.interactions": "pksim.modifiers.interactions",
    "pksim.covariates": "pksim.cohort",
    "pksim.regimen": "pksim.dosing.regimen",
    "pksim.kernels": "pksim.model.kernels",
    "pksim.store": "pksim.engine.store",
    "pksim.distributed": "pksim.engine.distributed",
}
"""Import paths of the first release -> where that code lives now. Importing an old path
gives the new module (with a DeprecationWarning naming it), so user code keeps working."""

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'pksim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves an old import path of :data:`MOVED_MODULES` to the module that replaced it."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED_MODULES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        import warnings

        new = MOVED_MODULES[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=3
        )
        return import_module(new)

    def exec_module(self, module) -> None:
        """The new module is already executed."""


if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModuleFinder())

"""pksim: tacrolimus trough simulation for virtual patient cohorts.

Unrelated to the PBPK product PK-Sim® of Open Systems Pharmacology.

The top-level names are imported on first use, so ``import pksim`` (or ``pksim.model``) stays
light and does not load xarray, pandas or matplotlib.
"""

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
    "run": "pksim.simulate",
    "summarize": "pksim.stream",
    "target_attainment": "pksim.analysis",
    "format_attainment": "pksim.analysis",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'pksim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)

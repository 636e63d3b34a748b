"""pksim: tacrolimus trough simulation for virtual patient cohorts.

Unrelated to the PBPK product PK-Sim® of Open Systems Pharmacology.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pksim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from pksim.analysis import format_attainment, target_attainment
from pksim.scenario import Scenario, ScenarioError, load_scenario
from pksim.simulate import run

__all__ = [
    "Scenario",
    "ScenarioError",
    "__version__",
    "format_attainment",
    "load_scenario",
    "run",
    "target_attainment",
]

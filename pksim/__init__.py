"""pksim: tacrolimus trough simulation for virtual patient cohorts.

Unrelated to the PBPK product PK-Sim® of Open Systems Pharmacology.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pksim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

"""Model-informed precision dosing: NONMEM-style data, MAP Bayesian individualisation,
forecasts and dose recommendations for one patient at a time (see docs/mipd.md)."""

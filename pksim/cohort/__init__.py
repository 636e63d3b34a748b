"""The cohort: covariates (virtual or from a patient file), individual PK parameters and the
variability around them (IIV, IOV, residual error)."""

"""Small parameter sets for the MAP tests (values are test inputs, not literature values)."""

from __future__ import annotations

from pksim.library.parameters import parameter_set_from_dict

SOURCE = {"source": "Han2013", "evidence": "D"}


def cited(value, units):
    return {"value": value, "units": units, **SOURCE}


def toy_set(
    *,
    iiv=None,
    correlation=None,
    proportional=20.0,
    additive=0.0,
    iov_f=None,
    cl=14.0,
    v=700.0,
    ka=4.5,
    tlag=0.4,
    effects=(),
):
    """A one-compartment set with IIV variances ``iiv`` (name -> omega^2)."""
    data = {
        "name": "toy",
        "title": "test set",
        "population": "test",
        "evidence": "D",
        "typical": {
            "cl": cited(cl, "L/h"),
            "v": cited(v, "L"),
            "ka": cited(ka, "1/h"),
            "tlag": cited(tlag, "h"),
        },
        "iiv": {k: cited(w, "omega2") for k, w in (iiv or {"cl": 0.09}).items()},
        "effects": list(effects),
    }
    return set_from_data(
        data,
        "<toy>",
        proportional=proportional,
        additive=additive,
        correlation=correlation,
        iov_f=iov_f,
    )


def set_from_data(data, origin, *, proportional=0.0, additive=0.0, correlation=None, iov_f=None):
    """The parameter set of ``data`` (typical values, IIV) with a proportional (%) and an
    additive (ng/mL) residual error, IIV correlations (``"a,b"`` -> r) and IOV on F (omega^2),
    each only where given (non-zero)."""
    residual = {}
    if proportional:
        residual["proportional"] = cited(proportional, "%")
    if additive:
        residual["additive"] = cited(additive, "ng/mL")
    data = {**data, "residual": residual}
    if correlation:
        data["iiv_correlation"] = {k: cited(r, "1") for k, r in correlation.items()}
    if iov_f:
        data["iov"] = {"f": cited(iov_f, "omega2")}
    return parameter_set_from_dict(data, origin=origin)

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
        "residual": {},
        "effects": list(effects),
    }
    if proportional:
        data["residual"]["proportional"] = cited(proportional, "%")
    if additive:
        data["residual"]["additive"] = cited(additive, "ng/mL")
    if correlation:
        data["iiv_correlation"] = {k: cited(r, "1") for k, r in correlation.items()}
    if iov_f:
        data["iov"] = {"f": cited(iov_f, "omega2")}
    return parameter_set_from_dict(data, origin="<toy>")

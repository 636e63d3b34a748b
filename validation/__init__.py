"""pksim held against published tacrolimus observations (issue 12, item 6).

``observations.toml`` and ``observations_<area>.toml`` (published values, cited),
``recipes.py`` and the ``recipes_<area>.py`` it gathers (how each is simulated through pksim's
public API), ``report.py`` (scoring, docs/validation.md and its figure). Run
``python -m validation`` or ``make validate``.
"""

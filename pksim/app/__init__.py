"""The pharmacist's desk: a local web app on Panel (``pksim app``).

A cohort page (choose a bundled scenario or build one, dose changes, holds and monitoring
included, run it, read the attainment table, the regimens side by side, the plots, attainment
over time and the subgroups, download the scenario file, the table as CSV or Excel and the
shareable report), a dose-response page (one regimen over candidate doses, the best dose) and
a one-patient page (covariates and doses in, the typical trough course out; measured troughs
in, the Bayesian fit and the dose options out), in English or Chinese. Built on the public API only
(:mod:`pksim.app.session`, :mod:`pksim.app.patient`); Panel is imported when the app is made,
so ``import pksim.app`` stays light. See docs/app.md.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["DEFAULT_PORT", "create_app", "serve"]

DEFAULT_PORT = 5006
"""Port of the local app (Panel's own default)."""


def create_app(language: str = "en") -> Any:
    """The app's page for one browser session (a Panel layout)."""
    import panel as pn

    from pksim.app.dose_view import DoseResponsePage
    from pksim.app.i18n import LANGUAGES
    from pksim.app.patient_view import PatientPage
    from pksim.app.views import CohortPage
    from pksim.app.widgets import Labels, retitle

    labels = Labels(language)
    cohort, patient = CohortPage(labels), PatientPage(labels)
    dose = DoseResponsePage(labels, cohort)
    about = labels.add(pn.pane.Markdown(), "about", "object")
    switch = pn.widgets.RadioButtonGroup(
        options={name: code for code, name in LANGUAGES.items()},
        value=language,
        css_classes=["language"],
    )
    heading = labels.add(pn.pane.Markdown(), "app_title", "object", "## {}")
    tab_keys = (
        ("cohort_tab", cohort.layout),
        ("dose_tab", dose.layout),
        ("patient_tab", patient.layout),
        ("about_tab", about),
    )
    tabs = pn.Tabs(*((labels.t(k), p) for k, p in tab_keys), dynamic=False)

    def switch_language(event: Any) -> None:
        with pn.io.hold():  # one message to the browser, not one per label
            labels.switch(event.new)
            retitle(tabs, [(labels.t(k), p) for k, p in tab_keys])
            cohort.relabel()
            patient.individualisation.relabel()

    switch.param.watch(switch_language, "value")
    tabs.param.watch(lambda event: dose.refresh(), "active")
    cohort.relabel()
    return pn.Column(pn.Row(heading, pn.Spacer(), switch), tabs, sizing_mode="stretch_width")


def serve(port: int = DEFAULT_PORT, *, show: bool = True, address: str = "localhost") -> None:
    """Serve the app on ``address:port`` until interrupted, opening a browser when ``show``;
    the kernels compile in the background meanwhile, so the first run is quick."""
    import panel as pn

    from pksim.app.session import warm_up

    threading.Thread(target=warm_up, name="pksim-warm-up", daemon=True).start()
    pn.serve(
        {"/": create_app},
        port=port,
        address=address,
        show=show,
        title="pksim",
        websocket_origin=[f"{address}:{port}", f"127.0.0.1:{port}", f"localhost:{port}"],
    )

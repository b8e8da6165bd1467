"""Widgets: ipywidgets classes that bind sliders to parameter sets and show the package's results.

Callbacks only read widget values, call kernels (:mod:`atmp_hta.benefit_risk`) and charts
(:mod:`atmp_hta.charts`), and write widget values. They hold no maths and do no file I/O beyond listing
and reading the bundled parameter files when a set is picked.
"""

__all__ = ["BenefitRiskDashboard"]


def __getattr__(name):  # lazy: importing atmp_hta.widgets must not import ipywidgets until needed
    if name == "BenefitRiskDashboard":
        from atmp_hta.widgets.benefit_risk import BenefitRiskDashboard

        return BenefitRiskDashboard
    raise AttributeError(name)

"""Widgets: ipywidgets classes that bind sliders to parameter sets and show the package's results.

Callbacks only read widget values, call kernels (:mod:`atmp_hta.benefit_risk`, the planners) and charts,
and write widget values. They hold no maths and do no file I/O beyond reading the bundled parameter files
when a set is picked.
"""

__all__ = ["BenefitRiskDashboard", "SheddingPlannerDashboard", "SurrogatePlannerDashboard"]

_WHERE = {
    "BenefitRiskDashboard": "atmp_hta.widgets.benefit_risk",
    "SheddingPlannerDashboard": "atmp_hta.widgets.shedding",
    "SurrogatePlannerDashboard": "atmp_hta.widgets.surrogate",
}


def __getattr__(name):  # lazy: importing atmp_hta.widgets must not import ipywidgets until needed
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)

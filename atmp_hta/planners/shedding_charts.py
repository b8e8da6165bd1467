"""Altair charts for the shedding planner. They only draw tables made by :mod:`atmp_hta.planners.shedding`.

- :func:`decay_chart` — observations with censored values marked at the LOQ, and fitted mean curves;
- :func:`clearance_km_chart` — Kaplan–Meier curve of time to clearance with its band and censoring ticks;
- :func:`schedule_comparison_chart` — operating characteristics of alternative schedules side by side;
- :func:`mitigation_chart` — the recommended precaution period next to published label periods.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from atmp_hta.exceptions import invalid
from atmp_hta.planners.shedding.clearance import ClearanceKM

__all__ = ["decay_chart", "clearance_km_chart", "schedule_comparison_chart", "mitigation_chart",
           "SCHEDULE_METRICS"]

SCHEDULE_METRICS = {
    "p_peak_captured": "P(peak captured)",
    "clearance_bias_days": "Bias of median clearance (days)",
    "expected_samples": "Expected samples per study",
    "expected_cost": "Expected cost per study",
    "p_false_clearance_study": "P(≥1 false clearance per study)",
}


def _need(df, cols, name, where):
    if not isinstance(df, pd.DataFrame):
        raise invalid(name, "a DataFrame", type(df).__name__, where)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise invalid(name, f"a table with columns {cols}", f"a table without {missing}", where)


def decay_chart(observations, curves=None, title="Vector DNA over time", time_label="Day"):
    """Observed log10 concentrations (censored values drawn at the LOQ as open down-triangles) and fitted curves.

    Parameters
    ----------
    observations : DataFrame
        ``time, log10_value, censored, loq`` (e.g. ``DecayFit.data``); an optional ``series`` column (matrix,
        model or subject group) colours the points.
    curves : DataFrame, optional
        ``time, log10_predicted`` (e.g. ``DecayFit.curve_frame()``), optional ``series``/``model`` column.

    Examples
    --------
    >>> obs = pd.DataFrame({"time": [0, 7, 14], "log10_value": [5.0, 3.1, None],
    ...                     "censored": [False, False, True], "loq": [2.0, 2.0, 2.0]})
    >>> decay_chart(obs).to_dict()["layer"][0]["mark"]["type"]
    'point'
    """
    where = "decay_chart"
    _need(observations, ["time", "log10_value", "censored", "loq"], "observations", where)
    obs = observations.copy()
    obs["shown_log10"] = obs["log10_value"].where(~obs["censored"].astype(bool), obs["loq"])
    obs["status"] = obs["censored"].astype(bool).map({True: "below LOQ (censored)", False: "quantified"})
    color = alt.Color("series:N", title=None) if "series" in obs else alt.value("#1f4e79")
    x = alt.X("time:Q", title=time_label)
    points = alt.Chart(obs).mark_point(size=55, filled=False).encode(
        x=x, y=alt.Y("shown_log10:Q", title="log10 copies/mL"),
        shape=alt.Shape("status:N", title=None, scale=alt.Scale(
            domain=["quantified", "below LOQ (censored)"], range=["circle", "triangle-down"])),
        color=color,
        tooltip=["time:Q", "log10_value:Q", "censored:N", "loq:Q"])
    layers = [points]
    loq = obs[["loq"]].drop_duplicates()
    if len(loq) == 1:
        layers.append(alt.Chart(loq).mark_rule(strokeDash=[4, 4], color="grey").encode(
            y="loq:Q", tooltip=[alt.Tooltip("loq:Q", title="LOQ (log10)")]))
    if curves is not None:
        _need(curves, ["time", "log10_predicted"], "curves", where)
        series = "series" if "series" in curves else ("model" if "model" in curves else None)
        ccolor = alt.Color(f"{series}:N", title=None) if series else alt.value("#c0392b")
        layers.append(alt.Chart(curves).mark_line().encode(
            x="time:Q", y="log10_predicted:Q", color=ccolor))
    return alt.layer(*layers).properties(title=title, width=420, height=260)


def clearance_km_chart(km, title="Time to clearance (Kaplan–Meier)", time_label="Day"):
    """Step curve of the fraction still shedding, its confidence band, censoring ticks and the median.

    Parameters
    ----------
    km : ClearanceKM, or DataFrame ``time, still_shedding, lower, upper``
        With a DataFrame, an optional second table can be passed as ``km.censored`` only via ClearanceKM.

    Examples
    --------
    >>> from atmp_hta.planners.shedding import clearance_km
    >>> tab = pd.DataFrame({"clearance_time": [10, 20, 30, None], "cleared": [True, True, True, False],
    ...                     "censoring_time": [None, None, None, 25.0]})
    >>> spec = clearance_km_chart(clearance_km(tab)).to_dict()
    >>> [layer["mark"]["type"] for layer in spec["layer"]][:2]
    ['area', 'line']
    """
    where = "clearance_km_chart"
    curve = km if isinstance(km, pd.DataFrame) else getattr(km, "curve", None)
    _need(curve, ["time", "still_shedding", "lower", "upper"], "km", where)
    x = alt.X("time:Q", title=time_label)
    band = alt.Chart(curve).mark_area(opacity=0.2, interpolate="step-after", color="#1f4e79").encode(
        x=x, y=alt.Y("lower:Q", title="Fraction still shedding", scale=alt.Scale(domain=[0, 1])), y2="upper:Q")
    line = alt.Chart(curve).mark_line(interpolate="step-after", color="#1f4e79").encode(
        x=x, y="still_shedding:Q",
        tooltip=["time:Q", "still_shedding:Q", "lower:Q", "upper:Q"]
        + [c for c in ("n_at_risk", "n_cleared", "n_censored") if c in curve])
    layers = [band, line]
    censored = getattr(km, "censored", None)
    if isinstance(censored, pd.DataFrame) and len(censored):
        layers.append(alt.Chart(censored).mark_tick(color="black", thickness=1.5, size=10).encode(
            x="time:Q", y="still_shedding:Q", tooltip=[alt.Tooltip("time:Q", title="censored at")]))
    median = km.median if isinstance(km, ClearanceKM) else None  # a bare curve table has no median
    if median is not None and np.isfinite(median):
        # with its interval, lower limit first, an unbounded limit as "not reached" (ClearanceKM.median_text)
        med = pd.DataFrame({"time": [median], "label": [km.median_text(unit="")]})
        layers.append(alt.Chart(med).mark_rule(strokeDash=[4, 3], color="#c0392b").encode(
            x="time:Q", tooltip=["label:N"]))
    return alt.layer(*layers).properties(title=title, width=420, height=260)


def schedule_comparison_chart(summary, metrics=None, title="Schedules compared"):
    """Bars of each metric by schedule (colour: matrix), one panel per metric.

    Parameters
    ----------
    summary : DataFrame
        Output of ``compare_schedules`` / ``DesignSimulation.summary``.
    metrics : mapping column -> label, optional
        Defaults to :data:`SCHEDULE_METRICS`. Per-study totals (``matrix == "all"``) are shown for samples,
        cost and study-level false clearance; per-matrix rows for the others.

    Examples
    --------
    >>> s = pd.DataFrame({"schedule": ["a", "b"], "matrix": ["semen", "semen"], "p_peak_captured": [0.9, 0.5]})
    >>> schedule_comparison_chart(s, {"p_peak_captured": "P(peak)"}).to_dict()["facet"]["row"]["field"]
    'metric'
    """
    where = "schedule_comparison_chart"
    metrics = dict(SCHEDULE_METRICS if metrics is None else metrics)
    _need(summary, ["schedule", "matrix"], "summary", where)
    present = [m for m in metrics if m in summary.columns]
    if not present:
        raise invalid("metrics", f"columns of summary, some of {list(metrics)}", list(summary.columns), where)
    long = summary.melt(id_vars=["schedule", "matrix"], value_vars=present, var_name="metric_column",
                        value_name="value").dropna(subset=["value"])
    long["metric"] = long["metric_column"].map(metrics)
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("schedule:N", title=None, sort=list(dict.fromkeys(summary["schedule"]))),
        xOffset="matrix:N",
        y=alt.Y("value:Q", title=None),
        color=alt.Color("matrix:N", title="Matrix"),
        tooltip=["schedule:N", "matrix:N", "metric:N", alt.Tooltip("value:Q", format=".3g")],
    ).properties(width=360, height=110).facet(
        row=alt.Row("metric:N", title=None, sort=[metrics[m] for m in present]),
    ).resolve_scale(y="independent").properties(title=title)


def mitigation_chart(table, title="Precaution period: recommended vs labels"):
    """Horizontal bars of ``period_days`` by product; the recommendation highlighted.

    Examples
    --------
    >>> t = pd.DataFrame({"kind": ["recommended", "label"], "product": ["planned", "Roctavian"],
    ...                   "period_days": [154.0, 183.0], "period_text": ["154 d", "6 months"]})
    >>> mitigation_chart(t).to_dict()["mark"]["type"]
    'bar'
    """
    _need(table, ["kind", "product", "period_days"], "table", "mitigation_chart")
    tooltip = [c for c in ("product", "period_text", "derivation", "source", "verified") if c in table]
    return alt.Chart(table).mark_bar().encode(
        y=alt.Y("product:N", title=None, sort=list(table["product"])),
        x=alt.X("period_days:Q", title="Days after dosing"),
        color=alt.Color("kind:N", title=None,
                        scale=alt.Scale(domain=["recommended", "label"], range=["#c0392b", "#7f8c8d"])),
        tooltip=tooltip,
    ).properties(title=title, width=380, height=30 * max(len(table), 2))

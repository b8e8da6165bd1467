"""Altair charts of cost-effectiveness results: tornado, two-way map, threshold, CE plane, CEAC/CEAF, EVPPI.

Like :mod:`atmp_hta.charts`, every chart is built from *named datasets*: ``<name>_tables(...)`` returns the
tables (and title) the chart shows and ``<name>(...)`` the finished chart, so a dashboard can swap data with
:func:`atmp_hta.charts.updated_spec`. Charts only consume result tables (from :mod:`atmp_hta.cea`,
:mod:`atmp_hta.voi`, :mod:`atmp_hta.sensitivity`); they compute no model quantity. A cloud of PSA draws is
thinned to at most ``max_points`` for display (every k-th draw), which changes no result.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from atmp_hta.charts import FONT, LOSS_COLOUR, NEUTRAL_COLOUR, _finish, _named
from atmp_hta.sensitivity import two_way_contour

__all__ = [
    "tornado_tables",
    "tornado_chart",
    "two_way_tables",
    "two_way_chart",
    "threshold_tables",
    "threshold_chart",
    "ce_plane_tables",
    "ce_plane_chart",
    "ceac_tables",
    "ceac_chart",
    "evppi_tables",
    "evppi_chart",
]

STATUS_LABELS = {"ND": "Efficient frontier", "ED": "Extendedly dominated", "D": "Dominated"}


def _require(table, columns, what):
    missing = [c for c in columns if c not in getattr(table, "columns", ())]
    if missing:
        raise ValueError(f"The table given to {what} must have columns {list(columns)}; missing {missing}.")


# --------------------------------------------------------------------------------------------- tornado
def tornado_tables(tornado: pd.DataFrame, outcome_label: str | None = None, max_bars: int = 15):
    """Bars of a :func:`atmp_hta.sensitivity.tornado_table`: one low and one high segment per parameter."""
    _require(tornado, ["parameter", "low_value", "high_value", "result_low", "result_high", "base_result",
                       "swing"], "tornado_tables")
    t = tornado.sort_values("swing", ascending=False, kind="stable").head(max_bars)
    rows = []
    for r in t.itertuples():
        for end, value, result in (("low", r.low_value, r.result_low), ("high", r.high_value, r.result_high)):
            rows.append({"parameter": r.parameter, "end": f"{end} value", "value": value, "start": r.base_result,
                         "result": result, "text": f"{value:.4g}"})
    bars = pd.DataFrame(rows)
    base = pd.DataFrame({"base_result": [float(t["base_result"].iloc[0])]}) if len(t) else pd.DataFrame(
        {"base_result": [0.0]})
    outcome = outcome_label or (str(t["outcome"].iloc[0]) if "outcome" in t and len(t) else "outcome")
    return {"tornado_bars": bars, "tornado_base": base}, f"One-way sensitivity of {outcome}"


def tornado_chart(tornado: pd.DataFrame, outcome_label: str | None = None, width=520, height=None,
                  max_bars: int = 15):
    """Tornado diagram: each parameter's low and high value, bars from the base-case result."""
    tables, title = tornado_tables(tornado, outcome_label, max_bars)
    order = list(pd.unique(tables["tornado_bars"]["parameter"])) if len(tables["tornado_bars"]) else []
    y = alt.Y("parameter:N", sort=order, title=None, axis=alt.Axis(labelLimit=240))
    colour = alt.Color("end:N", scale=alt.Scale(domain=["low value", "high value"],
                                                range=[NEUTRAL_COLOUR, LOSS_COLOUR]), title=None)
    bars = _named("tornado_bars").mark_bar(height=16, opacity=0.85).encode(
        y=y, x=alt.X("start:Q", title=outcome_label or "result"), x2="result:Q", color=colour,
        tooltip=["parameter:N", "end:N", alt.Tooltip("value:Q", format=".4g"),
                 alt.Tooltip("result:Q", format=",.4g")],
    )
    rule = _named("tornado_base").mark_rule(color="#333").encode(x="base_result:Q")
    height = height or max(80, 26 * max(len(order), 1))
    return _finish(bars + rule, tables, title, width, height)


def _number(value: float) -> str:
    """A value as people read it: thousands separated for large numbers, 4 significant digits otherwise."""
    return f"{value:,.0f}" if abs(value) >= 1_000 else f"{value:.4g}"


def _edges(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell boundaries of grid points: half-way to each neighbour, half a step beyond the ends."""
    mid = (values[1:] + values[:-1]) / 2
    first, last = values[0] - (mid[0] - values[0]), values[-1] + (values[-1] - mid[-1])
    return np.r_[first, mid], np.r_[mid, last]


# ---------------------------------------------------------------------------------------- two-way
def two_way_tables(two_way: pd.DataFrame, outcome: str | None = None, target: float = 0.0):
    """Tables of a two-way map from an :func:`atmp_hta.sensitivity.two_way` table (e.g.
    :func:`atmp_hta.hta_model.two_way`).

    ``two_way_cells``: one cell per grid point (its result, the cell spanning half-way to its neighbours);
    ``two_way_contour``: the segments where the outcome crosses ``target``, from
    :func:`atmp_hta.sensitivity.two_way_contour`; ``two_way_base``: the base case, if the table records it.
    """
    _require(two_way, ["x_parameter", "x_value", "y_parameter", "y_value", "outcome", "result"], "two_way_tables")
    outcomes = list(pd.unique(two_way["outcome"]))
    outcome = outcome if outcome is not None else outcomes[0] if len(outcomes) == 1 else None
    if outcome not in outcomes:
        raise ValueError(f"The table given to two_way_tables has outcomes {outcomes}; pass outcome= one of them.")
    t = two_way[two_way["outcome"] == outcome]
    xs, ys = np.unique(t["x_value"].to_numpy(float)), np.unique(t["y_value"].to_numpy(float))
    x_low, x_high = _edges(xs)
    y_low, y_high = _edges(ys)
    ix, iy = np.searchsorted(xs, t["x_value"].to_numpy(float)), np.searchsorted(ys, t["y_value"].to_numpy(float))
    cells = pd.DataFrame({"x": t["x_value"].to_numpy(float), "y": t["y_value"].to_numpy(float),
                          "x_low": x_low[ix], "x_high": x_high[ix], "y_low": y_low[iy], "y_high": y_high[iy],
                          "result": t["result"].to_numpy(float)})
    contour = two_way_contour(t, outcome, target)[["x", "y", "x2", "y2"]]
    tables = {"two_way_cells": cells, "two_way_contour": contour}
    if {"x_base_value", "y_base_value", "base_result"} <= set(t.columns) and len(t):
        r = t.iloc[0]
        tables["two_way_base"] = pd.DataFrame({"x": [float(r["x_base_value"])], "y": [float(r["y_base_value"])],
                                               "result": [float(r["base_result"])],
                                               "label": [f"base case ({_number(float(r['base_result']))})"]})
    x_name, y_name = str(t["x_parameter"].iloc[0]), str(t["y_parameter"].iloc[0])
    return tables, f"Two-way: {x_name} × {y_name}"


def two_way_chart(two_way: pd.DataFrame, outcome_label: str | None = None, *, x_label: str | None = None,
                  y_label: str | None = None, outcome: str | None = None, target: float = 0.0, width=480,
                  height=320):
    """Heat map of an outcome over two parameters (diverging colours centred on ``target``), the line where
    the outcome equals ``target`` (e.g. incremental NMB = 0: the decision changes across it) and the base case."""
    tables, title = two_way_tables(two_way, outcome, target)
    t = two_way[two_way["outcome"] == (outcome or two_way["outcome"].iloc[0])]
    x_title = x_label or str(t["x_parameter"].iloc[0])
    y_title = y_label or str(t["y_parameter"].iloc[0])
    label = outcome_label or str(t["outcome"].iloc[0])
    x = alt.X("x_low:Q", title=x_title, scale=alt.Scale(zero=False, nice=False))
    y = alt.Y("y_low:Q", title=y_title, scale=alt.Scale(zero=False, nice=False))
    layers = [_named("two_way_cells").mark_rect().encode(
        x=x, x2="x_high:Q", y=y, y2="y_high:Q",
        color=alt.Color("result:Q", title=label, scale=alt.Scale(scheme="redblue", domainMid=float(target))),
        tooltip=[alt.Tooltip("x:Q", title=x_title, format=",.4g"), alt.Tooltip("y:Q", title=y_title, format=",.4g"),
                 alt.Tooltip("result:Q", title=label, format=",.0f")])]
    layers.append(_named("two_way_contour").mark_rule(color="#111", strokeWidth=2.5).encode(
        x="x:Q", y="y:Q", x2="x2:Q", y2="y2:Q"))
    if "two_way_base" in tables:
        layers.append(_named("two_way_base").mark_point(shape="diamond", size=140, filled=True, color="#111",
                                                        stroke="white", strokeWidth=1).encode(
            x="x:Q", y="y:Q", tooltip=["label:N"]))
        layers.append(_named("two_way_base").mark_text(align="left", dx=9, dy=-9, font=FONT, fontSize=11,
                                                       color="#111").encode(x="x:Q", y="y:Q", text="label:N"))
    line = f"black line: {label} = {_number(float(target))}" if len(tables["two_way_contour"]) else (
        f"{label} does not cross {_number(float(target))} here")
    return _finish(alt.layer(*layers), tables, f"{title} ({line})", width, height)


# ---------------------------------------------------------------------------------------- threshold
def threshold_tables(curve: pd.DataFrame, thresholds: pd.DataFrame, target: float | None = None):
    """Tables of a threshold chart.

    Parameters
    ----------
    curve : DataFrame
        An :func:`atmp_hta.sensitivity.one_way` table over one parameter (e.g.
        :func:`atmp_hta.hta_model.one_way_curve`): columns ``parameter, value, result`` (and ``base_value,
        base_result`` to mark the base case).
    thresholds : DataFrame
        The :func:`atmp_hta.sensitivity.threshold_analysis` table of the same parameter (e.g.
        :func:`atmp_hta.hta_model.threshold_analysis`): ``threshold, target``.
    target : float, optional
        The level the thresholds cross (default: the table's ``target``, else 0).
    """
    _require(curve, ["parameter", "value", "result"], "threshold_tables")
    _require(thresholds, ["threshold", "target"], "threshold_tables")
    if target is None:
        target = float(thresholds["target"].iloc[0]) if len(thresholds) else 0.0
    line = curve[["value", "result"]].sort_values("value").reset_index(drop=True)
    points = pd.DataFrame({"threshold": thresholds["threshold"].to_numpy(float), "target": float(target)})
    points["label"] = [f"threshold {_number(v)}" for v in points["threshold"]]
    tables = {"threshold_curve": line, "threshold_points": points,
              "threshold_target": pd.DataFrame({"target": [float(target)]})}
    if {"base_value", "base_result"} <= set(curve.columns) and len(curve):
        b = curve.iloc[0]
        tables["threshold_base"] = pd.DataFrame({"value": [float(b["base_value"])],
                                                 "result": [float(b["base_result"])],
                                                 "label": [f"base case {_number(float(b['base_value']))}"]})
    parameter = str(curve["parameter"].iloc[0]) if len(curve) else "parameter"
    return tables, f"Threshold analysis: {parameter}"


def threshold_chart(curve: pd.DataFrame, thresholds: pd.DataFrame, outcome_label: str | None = None, *,
                    parameter_label: str | None = None, target: float | None = None, width=480, height=280):
    """The outcome against one parameter, the target level dashed, each threshold marked and labelled."""
    tables, title = threshold_tables(curve, thresholds, target)
    x_title = parameter_label or (str(curve["parameter"].iloc[0]) if len(curve) else "value")
    y_title = outcome_label or (str(curve["outcome"].iloc[0]) if "outcome" in curve and len(curve) else "result")
    x = alt.X("value:Q", title=x_title, scale=alt.Scale(zero=False))
    y = alt.Y("result:Q", title=y_title)
    layers = [
        _named("threshold_target").mark_rule(strokeDash=[5, 4], color="#777").encode(y="target:Q"),
        _named("threshold_curve").mark_line(strokeWidth=2, color=NEUTRAL_COLOUR).encode(
            x=x, y=y, tooltip=[alt.Tooltip("value:Q", title=x_title, format=",.4g"),
                               alt.Tooltip("result:Q", title=y_title, format=",.0f")]),
        _named("threshold_points").mark_rule(color=LOSS_COLOUR, strokeWidth=1.5).encode(x="threshold:Q"),
        _named("threshold_points").mark_point(size=70, filled=True, color=LOSS_COLOUR).encode(
            x="threshold:Q", y="target:Q", tooltip=["label:N"]),
        _named("threshold_points").mark_text(align="left", dx=6, dy=-10, font=FONT, fontSize=12,
                                             fontWeight="bold", color=LOSS_COLOUR).encode(
            x="threshold:Q", y="target:Q", text="label:N"),
    ]
    if "threshold_base" in tables:
        layers.append(_named("threshold_base").mark_point(shape="diamond", size=110, filled=True,
                                                          color="#111").encode(x="value:Q", y="result:Q"))
        layers.append(_named("threshold_base").mark_text(align="right", dx=-8, dy=-8, font=FONT, fontSize=11,
                                                         color="#111").encode(x="value:Q", y="result:Q",
                                                                              text="label:N"))
    n = len(tables["threshold_points"])
    note = "no threshold in this range" if n == 0 else "dashed: the target level"
    return _finish(alt.layer(*layers), tables, f"{title} ({note})", width, height)


# ---------------------------------------------------------------------------------------- CE plane
def ce_plane_tables(draws: pd.DataFrame, icers: pd.DataFrame | None = None, wtp: float | None = None,
                    max_points: int = 2_000):
    """Tables of the cost-effectiveness plane.

    Parameters
    ----------
    draws : DataFrame
        Columns ``strategy, cost, effect`` (one row per draw × strategy; e.g. a tidy PSA table), or
        ``strategy, incremental_cost, incremental_effect`` for an incremental plane.
    icers : DataFrame, optional
        :func:`atmp_hta.cea.icer_table` of the mean costs and effects: points and the efficient frontier.
    wtp : float, optional
        Draw the willingness-to-pay line through the cheapest frontier strategy (needs ``icers``).
    max_points : int
        At most this many draws per strategy are shown (every k-th).
    """
    incremental = {"incremental_cost", "incremental_effect"} <= set(draws.columns)
    x, y = ("incremental_effect", "incremental_cost") if incremental else ("effect", "cost")
    _require(draws, ["strategy", x, y], "ce_plane_tables")
    parts = []
    for _, group in draws.groupby("strategy", sort=False):
        step = max(1, int(np.ceil(len(group) / max_points)))
        parts.append(group.iloc[::step])
    cloud = pd.concat(parts, ignore_index=True)[["strategy", x, y]].rename(columns={x: "x", y: "y"})
    tables = {"ce_draws": cloud}
    if icers is not None:
        _require(icers, ["strategy", "cost", "effect", "status", "icer"], "ce_plane_tables")
        points = icers[["strategy", "cost", "effect", "status", "icer"]].rename(columns={"effect": "x", "cost": "y"})
        points["status_label"] = points["status"].map(STATUS_LABELS)
        tables["ce_means"] = points
        frontier = points[points["status"] == "ND"].sort_values("y")
        tables["ce_frontier"] = frontier[["strategy", "x", "y"]]
        if wtp is not None and len(frontier):
            x0, y0 = float(frontier["x"].iloc[0]), float(frontier["y"].iloc[0])
            xs = np.array([min(cloud["x"].min(), points["x"].min()), max(cloud["x"].max(), points["x"].max())])
            tables["ce_wtp"] = pd.DataFrame({"x": xs, "y": y0 + float(wtp) * (xs - x0)})
    title = "Cost-effectiveness plane" + (" (incremental)" if incremental else "")
    return tables, title


def ce_plane_chart(draws: pd.DataFrame, icers: pd.DataFrame | None = None, wtp: float | None = None,
                   effect_label="QALYs", cost_label="Cost", width=480, height=340, max_points: int = 2_000):
    """Scatter of PSA draws per strategy, with mean points, efficient frontier and a WTP line if given."""
    tables, title = ce_plane_tables(draws, icers, wtp, max_points)
    prefix = "Incremental " if {"incremental_cost", "incremental_effect"} <= set(draws.columns) else ""
    x = alt.X("x:Q", title=f"{prefix}{effect_label}", scale=alt.Scale(zero=bool(prefix)))
    y = alt.Y("y:Q", title=f"{prefix}{cost_label}", scale=alt.Scale(zero=bool(prefix)))
    layers = [_named("ce_draws").mark_circle(size=9, opacity=0.25).encode(
        x=x, y=y, color=alt.Color("strategy:N", title="Strategy"))]
    if "ce_frontier" in tables:
        layers.append(_named("ce_frontier").mark_line(color="#222", strokeWidth=1.5).encode(x=x, y=y, order="y:Q"))
        layers.append(_named("ce_means").mark_point(size=110, filled=True, color="#222").encode(
            x=x, y=y,
            shape=alt.Shape("status_label:N", title="Status", scale=alt.Scale(
                domain=list(STATUS_LABELS.values()), range=["circle", "diamond", "cross"])),
            tooltip=["strategy:N", "status:N", alt.Tooltip("y:Q", title="cost", format=",.0f"),
                     alt.Tooltip("x:Q", title="effect", format=".3f"), alt.Tooltip("icer:Q", format=",.0f")]))
        layers.append(_named("ce_means").mark_text(align="left", dx=8, dy=-8, font=FONT, fontSize=11).encode(
            x=x, y=y, text="strategy:N"))
    if "ce_wtp" in tables:
        layers.append(_named("ce_wtp").mark_line(strokeDash=[5, 4], color="#777").encode(x=x, y=y))
    return _finish(alt.layer(*layers), tables, title, width, height)


# -------------------------------------------------------------------------------------------- CEAC
def ceac_tables(ceac: pd.DataFrame):
    """Tables of :func:`atmp_hta.cea.ceac`: the curves, and the frontier as its own dataset."""
    _require(ceac, ["wtp", "strategy", "probability_cost_effective", "on_frontier"], "ceac_tables")
    curves = ceac[["wtp", "strategy", "probability_cost_effective"]].copy()
    frontier = ceac.loc[ceac["on_frontier"], ["wtp", "strategy", "probability_cost_effective"]]
    return {"ceac": curves, "ceaf": frontier.reset_index(drop=True)}, "Cost-effectiveness acceptability"


def ceac_chart(ceac: pd.DataFrame, currency="", width=480, height=280):
    """Acceptability curve of each strategy, with the acceptability frontier drawn over them."""
    tables, title = ceac_tables(ceac)
    x = alt.X("wtp:Q", title=f"Willingness to pay per QALY {currency}".strip())
    y = alt.Y("probability_cost_effective:Q", title="Probability cost-effective", scale=alt.Scale(domain=[0, 1]))
    curves = _named("ceac").mark_line(strokeWidth=1.8).encode(
        x=x, y=y, color=alt.Color("strategy:N", title="Strategy"),
        tooltip=["strategy:N", alt.Tooltip("wtp:Q", format=",.0f"),
                 alt.Tooltip("probability_cost_effective:Q", format=".3f")])
    frontier = _named("ceaf").mark_circle(size=22, color="#222").encode(
        x=x, y=y, tooltip=["strategy:N", alt.Tooltip("wtp:Q", format=",.0f")])
    return _finish(curves + frontier, tables, title + " (dots: frontier)", width, height)


# ------------------------------------------------------------------------------------------- EVPPI
def evppi_tables(evppi: pd.DataFrame, max_bars: int = 20):
    """Bars of :func:`atmp_hta.voi.evppi_table` with ±1.96 standard-error whiskers."""
    _require(evppi, ["parameters", "evppi", "standard_error"], "evppi_tables")
    t = evppi.sort_values("evppi", ascending=False, kind="stable").head(max_bars)
    t = t[["parameters", "evppi", "standard_error"]].copy()
    se = t["standard_error"].fillna(0.0)
    t["low"] = (t["evppi"] - 1.96 * se).clip(lower=0.0)
    t["high"] = t["evppi"] + 1.96 * se
    evpi = float(evppi["evpi"].iloc[0]) if "evpi" in evppi and len(evppi) else None
    tables = {"evppi": t}
    if evpi is not None:
        tables["evpi"] = pd.DataFrame({"evpi": [evpi]})
    return tables, "Expected value of partial perfect information"


def evppi_chart(evppi: pd.DataFrame, unit="", width=480, height=None, max_bars: int = 20):
    """EVPPI per parameter (group), largest first, with the EVPI as a reference line."""
    tables, title = evppi_tables(evppi, max_bars)
    order = list(tables["evppi"]["parameters"])
    y = alt.Y("parameters:N", sort=order, title=None, axis=alt.Axis(labelLimit=260))
    x = alt.X("evppi:Q", title=f"EVPPI per patient {unit}".strip())
    bars = _named("evppi").mark_bar(height=14, color=NEUTRAL_COLOUR).encode(
        y=y, x=x, tooltip=["parameters:N", alt.Tooltip("evppi:Q", format=",.4g"),
                           alt.Tooltip("standard_error:Q", format=",.2g")])
    whiskers = _named("evppi").mark_rule(color="#333").encode(y=y, x="low:Q", x2="high:Q")
    layers = [bars, whiskers]
    if "evpi" in tables:
        layers.append(alt.Chart(alt.NamedData("evpi")).mark_rule(strokeDash=[4, 3], color=LOSS_COLOUR).encode(
            x="evpi:Q"))
    height = height or max(80, 24 * max(len(order), 1))
    return _finish(alt.layer(*layers), tables, title + " (dashed: EVPI)", width, height)

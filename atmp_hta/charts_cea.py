"""Altair charts of cost-effectiveness results: tornado, cost-effectiveness plane, CEAC/CEAF, EVPPI.

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

__all__ = [
    "tornado_tables",
    "tornado_chart",
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

"""Altair charts of result tables. Charts consume results; they never compute model quantities.

Every chart is built from *named datasets*: ``<name>_tables(...)`` returns the tables (and title) a chart
shows, and ``<name>(...)`` returns the finished :class:`altair.Chart` with those tables embedded. A
dashboard builds a chart once and afterwards only swaps its data with :func:`updated_spec`, so a slider
move does not rebuild and re-validate the whole specification. :func:`to_svg` and :func:`save_png` render
offline with vl-convert (dashboards, reports, the README).
"""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd

__all__ = [
    "waterfall_table",
    "waterfall_tables",
    "net_value_waterfall",
    "tree_tables",
    "tree_chart",
    "tipping_tables",
    "tipping_chart",
    "histogram_tables",
    "net_value_histogram",
    "updated_spec",
    "records",
    "to_svg",
    "save_png",
    "APPROVE_COLOUR",
    "REJECT_COLOUR",
]

APPROVE_COLOUR = "#1b7f3b"
REJECT_COLOUR = "#b3261e"
NEUTRAL_COLOUR = "#4c6ef5"
LOSS_COLOUR = "#e8590c"
FONT = "Helvetica, Arial, sans-serif"


def records(table: pd.DataFrame) -> list[dict]:
    """JSON-ready records of a table (native Python numbers, NaN as null)."""
    return json.loads(table.to_json(orient="records"))


def _finish(chart, tables: dict, title: str, width, height):
    chart = chart.properties(width=width, height=height, title=title,
                             datasets={k: records(v) for k, v in tables.items()})
    return (
        chart.configure_view(strokeWidth=0)
        .configure_axis(labelFont=FONT, titleFont=FONT, labelFontSize=12, titleFontSize=12, grid=False)
        .configure_title(font=FONT, fontSize=15, anchor="start", color="#222")
        .configure_legend(labelFont=FONT, titleFont=FONT)
    )


def updated_spec(spec: dict, tables: dict, title: str | None = None) -> dict:
    """A copy of a chart's Vega-Lite ``spec`` with some named datasets (and the title) replaced."""
    new = dict(spec)
    new["datasets"] = {**spec.get("datasets", {}), **{k: records(v) for k, v in tables.items()}}
    if title is not None:
        new["title"] = title
    return new


def _named(name):
    return alt.Chart(alt.NamedData(name))


# ------------------------------------------------------------------------------------------- waterfall
def waterfall_table(result) -> pd.DataFrame:
    """The waterfall's bars: benefit, weighting uplift, harm, penalty and net value, with their spans.

    Columns: ``step, label, amount, start, end, kind`` (kind is ``gain``, ``loss`` or ``total``).
    """
    t = result.terms
    uplift = t["weighted_benefit"] - t["benefit"]
    steps = [
        ("benefit", "QALY benefit", t["benefit"], "gain"),
        ("uplift", "Severity & unmet-need uplift", uplift, "gain" if uplift >= 0 else "loss"),
        ("harm", "Expected harm", -t["expected_harm"], "loss"),
        ("penalty", "Uncertainty penalty", -t["uncertainty_penalty"], "loss"),
    ]
    rows, level = [], 0.0
    for key, label, amount, kind in steps:
        rows.append({"step": key, "label": label, "amount": amount, "start": level, "end": level + amount,
                     "kind": kind})
        level += amount
    rows.append({"step": "net", "label": "Net clinical value", "amount": result.net_value, "start": 0.0,
                 "end": result.net_value, "kind": "total" if result.decision == "approve" else "total-reject"})
    return pd.DataFrame(rows)


WATERFALL_ORDER = ["QALY benefit", "Severity & unmet-need uplift", "Expected harm", "Uncertainty penalty",
                   "Net clinical value"]


def waterfall_tables(result):
    table = waterfall_table(result)
    table["text"] = table["amount"].map(lambda v: f"{v:+.3f}")
    table["right"] = table[["start", "end"]].max(axis=1)
    name = result.parameter_set.product.short_name or result.parameter_set.product.name
    title = f"{name}: net clinical value {result.net_value:+.3f} QALYs → {result.decision.upper()}"
    return {"waterfall": table}, title


def net_value_waterfall(result, width=520, height=240):
    """Waterfall of the net clinical value's terms (QALYs per patient)."""
    tables, title = waterfall_tables(result)
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=["gain", "loss", "total", "total-reject"],
                        range=[NEUTRAL_COLOUR, LOSS_COLOUR, APPROVE_COLOUR, REJECT_COLOUR]),
        legend=None,
    )
    base = _named("waterfall").encode(
        y=alt.Y("label:N", sort=WATERFALL_ORDER, title=None, axis=alt.Axis(labelLimit=260)))
    bars = base.mark_bar(height=22, cornerRadius=2).encode(
        x=alt.X("start:Q", title="QALYs per patient"), x2="end:Q", color=colour,
        tooltip=["label:N", alt.Tooltip("amount:Q", format="+.4f")],
    )
    labels = base.mark_text(align="left", dx=4, font=FONT, fontSize=12).encode(x="right:Q", text="text:N")
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#555").encode(x="x:Q")
    return _finish(bars + labels + zero, tables, title, width, height)


# ------------------------------------------------------------------------------------------------ tree
def tree_tables(table: pd.DataFrame):
    """Layout of :func:`atmp_hta.trees.tree_table` for drawing: node positions and elbow edges."""
    t = table.reset_index(drop=True).copy()
    t["y"] = np.nan
    rank = 0.0
    for i in t.index:
        if t.at[i, "terminal"]:
            t.at[i, "y"] = rank
            rank += 1
        elif t.at[i, "depth"] == 0 and rank > 0:
            rank += 0.6  # gap between strategies
    for depth in sorted(t["depth"].unique(), reverse=True):
        for i in t.index[(t["depth"] == depth) & t["y"].isna()]:
            t.at[i, "y"] = t.loc[t["parent"] == t.at[i, "node"], "y"].mean()
    pos = t.set_index("node")[["depth", "y"]]
    edges = t[t["parent"].notna()].copy()
    edges["x0"] = edges["parent"].map(pos["depth"])
    edges["y0"] = edges["parent"].map(pos["y"])
    edges["xe"] = edges["x0"] + 0.12  # elbow: across, down the spine, across to the child
    edges["xm"] = (edges["xe"] + edges["depth"]) / 2
    edges["p_text"] = edges["probability"].map(lambda p: f"p = {p:.3f}")
    t["text"] = [
        f"{r['name']}  ({r['qalys']:.2f} QALYs)" if r["terminal"] else f"{r['name']}|E[QALY] = {r['qalys']:.2f}"
        for _, r in t.iterrows()
    ]
    keep_nodes = ["node", "name", "depth", "y", "text", "terminal", "probability", "path_probability", "qalys"]
    keep_edges = ["node", "depth", "y", "x0", "y0", "xe", "xm", "p_text"]
    return {"tree_nodes": t[keep_nodes], "tree_edges": edges[keep_edges]}, "Outcome tree"


def tree_chart(table: pd.DataFrame, width=560, height=None):
    """The outcome tree from :func:`atmp_hta.trees.tree_table`: nodes by depth, edges labelled with p.

    Terminal nodes show their expected discounted QALYs; strategy roots their expected QALYs.
    """
    tables, title = tree_tables(table)
    nodes = tables["tree_nodes"]
    x_scale = alt.Scale(domain=[-1.1, float(nodes["depth"].max()) + 1.3])
    y_scale = alt.Scale(domain=[float(nodes["y"].max()) + 0.5, -0.5])

    def xy(xf, yf):
        return {"x": alt.X(xf, axis=None, scale=x_scale), "y": alt.Y(yf, axis=None, scale=y_scale)}

    grey = {"color": "#888"}
    stub = _named("tree_edges").mark_rule(**grey).encode(**xy("x0:Q", "y0:Q"), x2="xe:Q")
    spine = _named("tree_edges").mark_rule(**grey).encode(**xy("xe:Q", "y0:Q"), y2="y:Q")
    across = _named("tree_edges").mark_rule(**grey).encode(**xy("xe:Q", "y:Q"), x2="depth:Q")
    p_labels = _named("tree_edges").mark_text(fontSize=11, font=FONT, color="#444", dy=-7).encode(
        **xy("xm:Q", "y:Q"), text="p_text:N")
    points = _named("tree_nodes").mark_point(filled=True, size=90).encode(
        **xy("depth:Q", "y:Q"),
        shape=alt.Shape("terminal:N", scale=alt.Scale(domain=[False, True], range=["circle", "triangle-left"]),
                        legend=None),
        color=alt.Color("terminal:N", scale=alt.Scale(domain=[False, True], range=[NEUTRAL_COLOUR, "#2b8a3e"]),
                        legend=None),
        tooltip=["name:N", alt.Tooltip("probability:Q", format=".3f"),
                 alt.Tooltip("path_probability:Q", format=".3f"), alt.Tooltip("qalys:Q", format=".3f")],
    )
    leaves = _named("tree_nodes").transform_filter("datum.terminal").mark_text(
        align="left", dx=9, fontSize=12, font=FONT).encode(**xy("depth:Q", "y:Q"), text="text:N")
    inner = _named("tree_nodes").transform_filter("!datum.terminal").mark_text(
        align="right", dx=-10, fontSize=12, font=FONT, fontWeight="bold", lineBreak="|").encode(
        **xy("depth:Q", "y:Q"), text="text:N")
    height = height or max(120, int(34 * (nodes["y"].max() + 1.5)))
    return _finish(stub + spine + across + p_labels + points + leaves + inner, tables, title, width, height)


# --------------------------------------------------------------------------------------------- tipping
def tipping_tables(curve: pd.DataFrame, tipping: dict | None = None, current: float | None = None,
                   label: str | None = None):
    name = label or str(curve["parameter"].iloc[0])
    value = None if tipping is None else tipping.get("value")
    if value is not None and value != value:  # NaN
        value = None
    point = pd.DataFrame({"x": [value] if value is not None else [], "y": [0.0] if value is not None else [],
                          "text": [f"tips at {value:.4g}"] if value is not None else []})
    now = pd.DataFrame({"x": [current] if current is not None else []})
    title = f"Tipping point: {name}" + ("" if value is not None else " (no tipping point in range)")
    return {"tipping_curve": curve[["value", "net_value"]], "tipping_point": point, "tipping_current": now}, title


def tipping_chart(curve: pd.DataFrame, tipping: dict | None = None, current: float | None = None,
                  label: str | None = None, width=420, height=200):
    """Net value against one parameter (from :func:`atmp_hta.benefit_risk.net_value_curve`), with the
    decision threshold, the current value and the tipping point marked."""
    tables, title = tipping_tables(curve, tipping, current, label)
    name = label or str(curve["parameter"].iloc[0])
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#555", strokeDash=[4, 3]).encode(y="y:Q")
    line = _named("tipping_curve").mark_line(color=NEUTRAL_COLOUR, strokeWidth=2.5).encode(
        x=alt.X("value:Q", title=name), y=alt.Y("net_value:Q", title="Net value (QALYs)"))
    now = _named("tipping_current").mark_rule(color="#222").encode(x="x:Q")
    dot = _named("tipping_point").mark_point(color=REJECT_COLOUR, size=120, filled=True).encode(x="x:Q", y="y:Q")
    text = _named("tipping_point").mark_text(dy=-12, color=REJECT_COLOUR, font=FONT).encode(
        x="x:Q", y="y:Q", text="text:N")
    return _finish(alt.layer(zero, line, now, dot, text), tables, title, width, height)


# ------------------------------------------------------------------------------------------- histogram
def histogram_tables(result, bins=60):
    values = result.draws["net_value"].to_numpy()
    counts, edges = np.histogram(values, bins=bins)
    data = pd.DataFrame({"low": edges[:-1], "high": edges[1:], "draws": counts})
    data["side"] = np.where((data["low"] + data["high"]) / 2 > 0, "> 0", "≤ 0")
    p = result.probability_net_value_positive
    title = "Net value over draws" + ("" if p is None else f": P(net value > 0) = {p:.3f}")
    return {"histogram": data}, title


def net_value_histogram(result, width=420, height=200, bins=60):
    """Distribution of the net value over draws (binned for display), with P(net value > 0) in the title."""
    tables, title = histogram_tables(result, bins)
    chart = _named("histogram").mark_bar().encode(
        x=alt.X("low:Q", title="Net value (QALYs)"), x2="high:Q", y=alt.Y("draws:Q", title="Draws"),
        y2=alt.datum(0),
        color=alt.Color("side:N", scale=alt.Scale(domain=["> 0", "≤ 0"], range=[APPROVE_COLOUR, REJECT_COLOUR]),
                        legend=alt.Legend(title="Net value")),
    )
    return _finish(chart, tables, title, width, height)


# ---------------------------------------------------------------------------------------------- output
def to_svg(chart) -> str:
    """Render a chart to SVG text offline (vl-convert)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict())


def save_png(chart, path, scale=2.0):
    """Render a chart to a PNG file offline (vl-convert), writing atomically."""
    import vl_convert as vlc

    from atmp_hta.records import atomic_write_bytes

    return atomic_write_bytes(path, vlc.vegalite_to_png(chart.to_dict(), scale=scale))

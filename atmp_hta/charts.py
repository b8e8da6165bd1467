"""Altair charts of result tables. Charts consume results; they never compute model quantities.

Each function takes a result object or a tidy table and returns an :class:`altair.Chart`; :func:`to_svg`
and :func:`save_png` render offline with vl-convert (used by dashboards, reports and the README).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

__all__ = [
    "waterfall_table",
    "net_value_waterfall",
    "tree_chart",
    "tipping_chart",
    "net_value_histogram",
    "to_svg",
    "save_png",
    "APPROVE_COLOUR",
    "REJECT_COLOUR",
]

APPROVE_COLOUR = "#1b7f3b"
REJECT_COLOUR = "#b3261e"
NEUTRAL_COLOUR = "#4c6ef5"
FONT = "Helvetica, Arial, sans-serif"


def _configure(chart):
    return (
        chart.configure_view(strokeWidth=0)
        .configure_axis(labelFont=FONT, titleFont=FONT, labelFontSize=12, titleFontSize=12, grid=False)
        .configure_title(font=FONT, fontSize=15, anchor="start", color="#222")
        .configure_legend(labelFont=FONT, titleFont=FONT)
    )


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
                 "end": result.net_value, "kind": "total"})
    return pd.DataFrame(rows)


def net_value_waterfall(result, width=520, height=260, title=None):
    """Waterfall of the net clinical value's terms (QALYs per patient)."""
    table = waterfall_table(result)
    table["right"] = 0.0
    table["text"] = table["amount"].map(lambda v: f"{v:+.3f}")
    order = list(table["label"])
    net_colour = APPROVE_COLOUR if result.decision == "approve" else REJECT_COLOUR
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(domain=["gain", "loss", "total"], range=[NEUTRAL_COLOUR, "#e8590c", net_colour]),
        legend=None,
    )
    base = alt.Chart(table).encode(y=alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)))
    bars = base.mark_bar(height=22, cornerRadius=2).encode(
        x=alt.X("start:Q", title="QALYs per patient"),
        x2="end:Q",
        color=colour,
        tooltip=["label", alt.Tooltip("amount:Q", format="+.4f")],
    )
    table["right"] = table[["start", "end"]].max(axis=1)
    labels = base.mark_text(align="left", dx=4, font=FONT, fontSize=12).encode(x="right:Q", text="text:N")
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#555").encode(x="x:Q")
    name = result.parameter_set.product.short_name or result.parameter_set.product.name
    title = title or f"{name}: net clinical value {result.net_value:+.3f} QALYs → {result.decision.upper()}"
    return _configure((bars + labels + zero).properties(width=width, height=height, title=title))


def tree_chart(table: pd.DataFrame, strategy: str | None = None, width=560, height=None):
    """The outcome tree from :func:`atmp_hta.trees.tree_table`: nodes by depth, edges labelled with p.

    Terminal nodes show their expected discounted QALYs.
    """
    t = table if strategy is None else table[table["strategy"] == strategy]
    t = t.reset_index(drop=True).copy()
    # y position: terminals in order, internal nodes at the mean of their children
    t["y"] = float("nan")
    terminal_rank = 0
    order = []
    for (_, group) in t.groupby("strategy", sort=False):
        order.extend(group.index)
    for i in order:
        if t.at[i, "terminal"]:
            t.at[i, "y"] = terminal_rank
            terminal_rank += 1
        elif t.at[i, "depth"] == 0 and terminal_rank > 0:
            terminal_rank += 0.6  # gap between strategies
    for depth in sorted(t["depth"].unique(), reverse=True):
        for i in t.index[(t["depth"] == depth) & t["y"].isna()]:
            kids = t.loc[t["parent"] == t.at[i, "node"], "y"]
            t.at[i, "y"] = kids.mean() if len(kids) else terminal_rank
    pos = t.set_index("node")[["depth", "y"]]
    edges = t[t["parent"].notna()].copy()
    edges["x0"] = edges["parent"].map(pos["depth"])
    edges["y0"] = edges["parent"].map(pos["y"])
    edges["xe"] = edges["x0"] + 0.12  # elbow: across, down the spine, across to the child
    edges["xm"] = (edges["xe"] + edges["depth"]) / 2
    edges["ym"] = edges["y"]
    edges["p_text"] = edges["probability"].map(lambda p: f"p = {p:.3f}")
    t["text"] = [
        f"{r['name']}  ({r['qalys']:.2f} QALYs)" if r["terminal"] else f"{r['name']}|E[QALY] = {r['qalys']:.2f}"
        for _, r in t.iterrows()
    ]
    height = height or max(120, 34 * (terminal_rank + 1))
    x_scale = alt.Scale(domain=[-1.1, float(t["depth"].max()) + 1.3])
    y_scale = alt.Scale(domain=[float(t["y"].max()) + 0.5, -0.5])

    def xy(xf, yf):
        return {"x": alt.X(xf, axis=None, scale=x_scale), "y": alt.Y(yf, axis=None, scale=y_scale)}

    x, y = xy("depth:Q", "y:Q")["x"], xy("depth:Q", "y:Q")["y"]
    stub = alt.Chart(edges).mark_rule(color="#888").encode(**xy("x0:Q", "y0:Q"), x2="xe:Q")
    spine = alt.Chart(edges).mark_rule(color="#888").encode(**xy("xe:Q", "y0:Q"), y2="y:Q")
    across = alt.Chart(edges).mark_rule(color="#888").encode(**xy("xe:Q", "y:Q"), x2="depth:Q")
    lines = stub + spine + across
    p_labels = alt.Chart(edges).mark_text(fontSize=11, font=FONT, color="#444", dy=-7).encode(
        **xy("xm:Q", "ym:Q"), text="p_text:N"
    )
    nodes = alt.Chart(t).mark_point(filled=True, size=90).encode(
        x=x, y=y,
        shape=alt.Shape("terminal:N", scale=alt.Scale(domain=[False, True], range=["circle", "triangle-left"]),
                        legend=None),
        color=alt.Color("terminal:N", scale=alt.Scale(domain=[False, True], range=[NEUTRAL_COLOUR, "#2b8a3e"]),
                        legend=None),
        tooltip=["name", alt.Tooltip("probability:Q", format=".3f"),
                 alt.Tooltip("path_probability:Q", format=".3f"), alt.Tooltip("qalys:Q", format=".3f")],
    )
    leaves = alt.Chart(t[t["terminal"]]).mark_text(align="left", dx=9, fontSize=12, font=FONT).encode(
        x=x, y=y, text="text:N")
    inner = alt.Chart(t[~t["terminal"]]).mark_text(align="right", dx=-10, fontSize=12, font=FONT,
                                                   fontWeight="bold", lineBreak="|").encode(x=x, y=y, text="text:N")
    texts = leaves + inner
    return _configure((lines + p_labels + nodes + texts).properties(width=width, height=height,
                                                                   title="Outcome tree"))


def tipping_chart(curve: pd.DataFrame, tipping: dict | None = None, current: float | None = None,
                  label: str | None = None, width=420, height=200):
    """Net value against one parameter (from :func:`atmp_hta.benefit_risk.net_value_curve`), with the
    decision threshold, the current value and the tipping point marked."""
    name = label or str(curve["parameter"].iloc[0])
    line = alt.Chart(curve).mark_line(color=NEUTRAL_COLOUR, strokeWidth=2.5).encode(
        x=alt.X("value:Q", title=name), y=alt.Y("net_value:Q", title="Net value (QALYs)")
    )
    layers = [
        alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#555", strokeDash=[4, 3]).encode(y="y:Q"),
        line,
    ]
    if current is not None:
        layers.append(alt.Chart(pd.DataFrame({"x": [current]})).mark_rule(color="#222").encode(x="x:Q"))
    if tipping is not None and tipping.get("value") is not None:
        tp = pd.DataFrame({"x": [tipping["value"]], "y": [0.0], "text": [f"tips at {tipping['value']:.4g}"]})
        layers.append(alt.Chart(tp).mark_point(color=REJECT_COLOUR, size=120, filled=True).encode(x="x:Q", y="y:Q"))
        layers.append(alt.Chart(tp).mark_text(dy=-12, color=REJECT_COLOUR, font=FONT).encode(
            x="x:Q", y="y:Q", text="text:N"))
    return _configure(alt.layer(*layers).properties(width=width, height=height, title=f"Tipping point: {name}"))


def net_value_histogram(result, width=420, height=200, bins=60):
    """Distribution of the net value over draws (binned for display), with P(net value > 0) in the title."""
    values = result.draws["net_value"].to_numpy()
    counts, edges = np.histogram(values, bins=bins)
    data = pd.DataFrame({"low": edges[:-1], "high": edges[1:], "draws": counts})
    data["side"] = np.where((data["low"] + data["high"]) / 2 > 0, "> 0", "≤ 0")
    p = result.probability_net_value_positive
    title = "Net value over draws" + ("" if p is None else f": P(net value > 0) = {p:.3f}")
    chart = alt.Chart(data).mark_bar().encode(
        x=alt.X("low:Q", title="Net value (QALYs)"),
        x2="high:Q",
        y=alt.Y("draws:Q", title="Draws"),
        color=alt.Color("side:N", scale=alt.Scale(domain=["> 0", "≤ 0"], range=[APPROVE_COLOUR, REJECT_COLOUR]),
                        legend=alt.Legend(title="Net value")),
    )
    return _configure(chart.properties(width=width, height=height, title=title))


def to_svg(chart) -> str:
    """Render a chart to SVG text offline (vl-convert)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_dict())


def save_png(chart, path, scale=2.0):
    """Render a chart to a PNG file offline (vl-convert), writing atomically."""
    import vl_convert as vlc

    from atmp_hta.records import atomic_write_bytes

    return atomic_write_bytes(path, vlc.vegalite_to_png(chart.to_dict(), scale=scale))

"""HTML views of benefit-risk results (formatting only; the numbers come from the result objects)."""

from __future__ import annotations

import html

__all__ = ["banner_html", "error_banner_html", "conventions_html", "explain_html", "tipping_html",
           "format_net_value", "format_probability"]


def format_net_value(value: float) -> str:
    return f"{value:+.3f}"


def format_probability(p) -> str:
    return "—" if p is None else f"{p:.3f}"


def banner_html(result, psa=None) -> str:
    """The decision banner: APPROVE/REJECT, net value, margin and P(net value > 0).

    ``psa`` is an optional probabilistic result for the same inputs (its P(net value > 0) is shown).
    """
    decision = result.decision
    p = psa.probability_net_value_positive if psa is not None else None
    p_text = format_probability(p) if p is not None else "run the probabilistic analysis"
    return (
        f'<div class="atmp-banner {decision}" data-decision="{decision}">'
        f'<span class="atmp-decision">{decision.upper()}</span>'
        f'<span class="atmp-figure">Net clinical value <b class="atmp-net-value">'
        f"{format_net_value(result.net_value)}</b> QALYs per patient</span>"
        f'<span class="atmp-figure">Margin over threshold <b class="atmp-margin">{result.margin:+.3f}</b></span>'
        f'<span class="atmp-figure">P(net value &gt; 0) <b class="atmp-probability">{p_text}</b></span>'
        "</div>"
    )


def error_banner_html(message: str) -> str:
    return (f'<div class="atmp-banner error" data-decision="error"><span class="atmp-decision">CHECK INPUTS'
            f'</span><span class="atmp-figure">{html.escape(message)}</span></div>')


def conventions_html(result) -> str:
    c = result.provenance["conventions"]
    penalty = f"{c['ce_method']} risk aversion {c['risk_aversion']:g}, {result.provenance['penalty_draws']:,} draws"
    return (
        f'<div class="atmp-conventions">Discount rate {c["discount_rate"]:.3g} ({c["timing"]} of year) · '
        f'severity {c["severity_scheme"]} ({c["severity_basis"]}) · unmet need {c["unmet_need_scheme"]} '
        f'(max uplift {c["max_uplift"]:g}) · uncertainty penalty: {penalty} · seed {result.seed} · '
        f'atmp_hta {result.provenance["version"]}</div>'
    )


def explain_html(result) -> str:
    """Every term with its formula and the current inputs (the 'explain' view for teaching)."""
    rows = []
    for _, row in result.breakdown().iterrows():
        rows.append(
            f"<tr><td>{html.escape(str(row['term']))}</td><td class='num'>{row['value']:.4f}</td>"
            f"<td><code>{html.escape(str(row['formula']))}</code></td><td>{html.escape(str(row['inputs']))}</td></tr>"
        )
    return ("<table class='atmp-explain'><thead><tr><th>term</th><th>value</th><th>formula</th><th>inputs</th>"
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def tipping_html(row: dict | None, low: float | None = None, high: float | None = None) -> str:
    """The note shown beside a slider: where the decision flips.

    ``low`` and ``high`` are the slider's range when it is narrower than the parameter's allowed range (a
    rare harm's slider): "near" (red) then means within a tenth of the slider's span, and a tipping point
    outside the slider's range says so in its tooltip.
    """
    if row is None:
        return '<div class="atmp-tip">tipping point …</div>'
    if row.get("value") is None or row["value"] != row["value"]:
        return '<div class="atmp-tip">no tipping point in range</div>'
    value, current = row["value"], row["current"]
    lo = row["low"] if low is None else low
    hi = row["high"] if high is None else high
    span = (hi - lo) or 1.0
    near = abs(value - current) < 0.1 * span
    side = "below" if row.get("approve_side") == "below" else "above"
    beyond = "" if lo <= value <= hi else f", past this slider's range [{lo:.6g}, {hi:.6g}]"
    return (f'<div class="atmp-tip{" near" if near else ""}" data-tipping="{value:.6g}" '
            f'title="the decision flips at {value:.6g}{beyond}; approval needs a value {side} it">'
            f"tips at {value:.3g} · approve {side}</div>")

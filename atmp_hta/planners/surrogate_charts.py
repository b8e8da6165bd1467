"""Altair charts for the surrogate-endpoint planner; they only draw the planner's result tables.

- :func:`power_curve_chart` ← :func:`atmp_hta.planners.surrogate.power_curve_table`
- :func:`sample_size_chart` ← :func:`atmp_hta.planners.surrogate.sample_size_table` or
  :func:`atmp_hta.planners.surrogate.negbin_sample_size_table`
- :func:`trial_level_chart` ← ``validate_surrogate(...).trials``
- :func:`abr_prediction_chart` ← ``predict_abr(...).table``
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from atmp_hta.exceptions import invalid

__all__ = ["power_curve_chart", "sample_size_chart", "trial_level_chart", "abr_prediction_chart"]


def _need(table, columns, where):
    if not isinstance(table, pd.DataFrame):
        raise invalid("table", "a pandas DataFrame", type(table).__name__, where)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise invalid("table", f"a table with columns {list(columns)}", f"missing {missing}", where)


def power_curve_chart(table, target_power=0.8, width=420, height=260):
    """Power against n, one line per effect size, with a rule at the target power.

    Examples
    --------
    >>> from atmp_hta.planners.surrogate import power_curve_table
    >>> chart = power_curve_chart(power_curve_table([0.5, 0.8], range(5, 60, 5)))
    >>> chart.to_dict()["layer"][0]["mark"]["type"]
    'line'
    """
    _need(table, ("n", "power", "effect_size"), "power_curve_chart")
    base = alt.Chart(table).encode(
        x=alt.X("n:Q", title="patients per group"),
        y=alt.Y("power:Q", title="power", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("effect_size:N", title="effect size d"),
        tooltip=["effect_size", "n", alt.Tooltip("power:Q", format=".3f")],
    )
    rule = (
        alt.Chart(pd.DataFrame({"power": [float(target_power)]}))
        .mark_rule(strokeDash=[4, 4])
        .encode(y="power:Q")
    )
    return alt.layer(base.mark_line(point=True), rule).properties(
        width=width, height=height, title="Power curves"
    )


def sample_size_chart(table, x="effect_size", width=420, height=260):
    """Required size against the effect (``effect_size`` or ``rate_ratio``), one line per target power.

    Uses ``n`` (continuous tables) or ``n_control`` (count tables) as the size.

    Examples
    --------
    >>> from atmp_hta.planners.surrogate import negbin_sample_size_table
    >>> t = negbin_sample_size_table(4.19, [0.4, 0.5, 0.6], [1.0], 1.0, approaches=[3])
    >>> sample_size_chart(t, x="rate_ratio").to_dict()["mark"]["type"]
    'line'
    """
    size = "n" if "n" in table.columns else "n_control"
    _need(table, (x, size, "power"), "sample_size_chart")
    return (
        alt.Chart(table)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:Q", title=x.replace("_", " ")),
            y=alt.Y(
                f"{size}:Q", title="required size (control group)" if size == "n_control" else "required n"
            ),
            color=alt.Color("power:N", title="target power"),
            tooltip=[x, "power", alt.Tooltip(f"{size}:Q", format=".1f")],
        )
        .properties(width=width, height=height, title="Sample size")
    )


def trial_level_chart(trials, r2_trial=None, width=360, height=300, fitted="line"):
    """Trial-level surrogacy: treatment effect on T against effect on S, circle area ∝ trial size.

    ``trials`` is ``validate_surrogate(...).trials``; its ``fitted_effect_true`` column draws the stage-2 fit:
    ``fitted="line"`` for the reduced model, whose fit is a line in the surrogate effect, and ``"points"`` for
    the full model, whose fit also depends on each trial's surrogate intercept (a line through those values
    would zig-zag).

    Examples
    --------
    >>> from atmp_hta.planners.surrogate import load_armd, validate_surrogate
    >>> res = validate_surrogate(load_armd(), "Diff24", "Diff52", "Treat", "Center", model="reduced")
    >>> len(trial_level_chart(res.trials, res.r2_trial.estimate).to_dict()["layer"])
    2
    """
    _need(trials, ("effect_surrogate", "effect_true", "n", "fitted_effect_true"), "trial_level_chart")
    title = "Trial-level surrogacy" + ("" if r2_trial is None else f" (R² trial = {float(r2_trial):.3f})")
    points = (
        alt.Chart(trials)
        .mark_circle(opacity=0.6)
        .encode(
            x=alt.X("effect_surrogate:Q", title="treatment effect on surrogate"),
            y=alt.Y("effect_true:Q", title="treatment effect on true endpoint"),
            size=alt.Size("n:Q", title="patients"),
            tooltip=["trial", "n", "effect_surrogate", "effect_true"],
        )
    )
    if fitted not in ("line", "points"):
        raise ValueError(f"The 'fitted' parameter of trial_level_chart must be 'line' or 'points'. Got {fitted!r}.")
    fit = alt.Chart(trials).encode(x="effect_surrogate:Q", y="fitted_effect_true:Q")
    if fitted == "line":
        fit = fit.mark_line(color="black").encode(order="effect_surrogate:Q")
    else:
        fit = fit.mark_point(shape="cross", color="black", size=40).encode(
            tooltip=["trial", alt.Tooltip("fitted_effect_true:Q", title="stage-2 fitted effect on true endpoint")])
    return alt.layer(points, fit).properties(width=width, height=height, title=title)


def abr_prediction_chart(table, width=360, height=240):
    """Predictive distribution of a dosed patient's bleed count (bars), from ``predict_abr(...).table``.

    Examples
    --------
    >>> from atmp_hta.planners.surrogate import calibrate_fix_abr, predict_abr
    >>> pred = predict_abr(35.2, 0.455, 1.0, 1.0, *calibrate_fix_abr([3.16, 30.0], [0.6, 0.1]))
    >>> abr_prediction_chart(pred.table).to_dict()["mark"]["type"]
    'bar'
    """
    _need(table, ("count", "probability"), "abr_prediction_chart")
    return (
        alt.Chart(table)
        .mark_bar()
        .encode(
            x=alt.X("count:O", title="bleeds in the efficacy period"),
            y=alt.Y("probability:Q", title="predictive probability"),
            tooltip=["count", alt.Tooltip("probability:Q", format=".4f")],
        )
        .properties(width=width, height=height, title="Predicted bleeding after dosing")
    )

"""Outcome trees: decision → chance → terminal, rolled back to expected QALYs and costs per strategy.

A strategy is a chance node; each branch carries a probability (or ``complement``) and either further
branches or a terminal made of *segments* of constant utility (utility, years, start), each discounted with
:func:`atmp_hta.discounting.discounted_qalys`. Costs sit wherever QALYs do: a one-off ``cost`` on a branch
(incurred ``cost_time`` years from the start, default 0) or on a strategy (at time 0), and a
``cost_per_year`` stream on a segment; costs are discounted with their own rate
(``settings.cost_discount_rate``, by default the QALYs' rate). Everything is vectorised over draws: every
value is an ndarray whose axis 0 is the draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from atmp_hta.discounting import _discounted_qalys, check_timing
from atmp_hta.exceptions import ModelError
from atmp_hta.params import COMPLEMENT, PROBABILITY_TOLERANCE, Branch, ParameterSet, Strategy

__all__ = ["StrategyValue", "evaluate_strategy", "evaluate_strategies", "tree_table", "render_tree"]


@dataclass(frozen=True)
class StrategyValue:
    """Expected discounted QALYs and costs of one strategy, per draw, and its terminals' path probabilities."""

    name: str
    label: str
    qalys: np.ndarray
    cost: np.ndarray
    terminals: pd.DataFrame  # one row per terminal: path, probability (mean over draws), qalys, cost (means)


def _value(expr, values, n):
    return np.broadcast_to(np.asarray(expr.evaluate(values), dtype=float), (n,))


def _probabilities(branches: list[Branch], values, n, path):
    given = {}
    for b in branches:
        if b.probability != COMPLEMENT:
            given[b.name] = _value(b.probability, values, n)
    total = sum(given.values()) if given else np.zeros(n)
    out = {}
    for b in branches:
        p = given.get(b.name)
        if p is None:
            p = 1.0 - total
        bad = (p < -PROBABILITY_TOLERANCE) | (p > 1 + PROBABILITY_TOLERANCE) | ~np.isfinite(p)
        if bad.any():
            i = int(np.argmax(bad))
            raise ModelError(
                f"{path} > {b.name}: probability must be in [0, 1], got {p[i]:.6g} at draw {i}"
                + (" (its siblings sum to more than 1)" if b.probability == COMPLEMENT else "")
            )
        out[b.name] = np.clip(p, 0.0, 1.0)
    if not any(b.probability == COMPLEMENT for b in branches):
        s = sum(out.values())
        off = np.abs(s - 1.0) > 1e-6
        if off.any():
            i = int(np.argmax(off))
            raise ModelError(f"{path}: branch probabilities must sum to 1, got {s[i]:.9g} at draw {i}")
    return out


def _nonnegative(arr, what, path):
    bad = (arr < 0) | ~np.isfinite(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise ModelError(f"{path}: {what} must be >= 0, got {arr[i]:.6g} at draw {i}")
    return arr


def _terminal(branch, values, n, rate, cost_rate, timing, path):
    """Discounted QALYs and discounted per-year costs of a terminal's segments, per draw."""
    qalys = np.zeros(n)
    cost = np.zeros(n)
    for j, seg in enumerate(branch.segments):
        utility = _value(seg.utility, values, n)
        years = _nonnegative(_value(seg.years, values, n), "years", f"{path} > segment {j + 1}")
        start = _nonnegative(_value(seg.start, values, n), "start", f"{path} > segment {j + 1}")
        qalys = qalys + _discounted_qalys(utility, years, rate, timing, start)
        if seg.cost_per_year is not None:
            per_year = _value(seg.cost_per_year, values, n)
            # the same annuity as the QALYs, with the costs' rate: a cost stream is a "utility" of money
            cost = cost + _discounted_qalys(per_year, years, cost_rate, timing, start)
    return qalys, cost


def _one_off(branch, values, n, cost_rate, path):
    """A branch's one-off cost, discounted from its ``cost_time`` as a point value (1 + r)^-t."""
    if branch.cost is None:
        return 0.0
    cost = _value(branch.cost, values, n)
    if branch.cost_time is None:
        return cost
    t = _nonnegative(_value(branch.cost_time, values, n), "cost_time", path)
    return cost * np.exp(-np.log1p(cost_rate) * t)


def _rollback(branches, values, n, rate, cost_rate, timing, path, prefix, rows, weight):
    probs = _probabilities(branches, values, n, path)
    qalys = np.zeros(n)
    cost = np.zeros(n)
    for b in branches:
        p = probs[b.name]
        here = f"{path} > {b.name}"
        branch_cost = _one_off(b, values, n, cost_rate, here)
        if b.branches is not None:
            q, c = _rollback(
                b.branches, values, n, rate, cost_rate, timing, here, prefix + (b.name,), rows, weight * p
            )
        else:
            q, c = _terminal(b, values, n, rate, cost_rate, timing, here)
            rows.append(
                {
                    "path": " > ".join(prefix + (b.name,)),
                    "terminal": b.name,
                    "depth": len(prefix) + 1,
                    "probability": float(np.mean(weight * p)),
                    "qalys": float(np.mean(q)),
                    "cost": float(np.mean(branch_cost + c)),
                }
            )
        qalys = qalys + p * q
        cost = cost + p * (branch_cost + c)
    return qalys, cost


def evaluate_strategy(
    strategy: Strategy,
    values: dict,
    rate: float,
    timing: str = "end",
    name: str = "strategy",
    cost_rate: float | None = None,
) -> StrategyValue:
    """Roll one strategy back to expected discounted QALYs and costs per draw.

    ``values`` maps parameter names to arrays of shape (n_draws,) (see :func:`atmp_hta.params.sample`).
    ``rate`` discounts QALYs, ``cost_rate`` costs (None: the same as ``rate``).

    Notes
    -----
    E[QALY] = Σ_terminals P(path) · Σ_segments discounted_qalys(u, years, rate, timing, start).

    E[cost] = cost(strategy) + Σ_paths P(path) · [Σ_branches on the path cost · (1 + r_c)^-cost_time
    + Σ_segments of the terminal discounted_qalys(cost_per_year, years, r_c, timing, start)]: one-off costs
    are point values discounted from the time they are incurred (a strategy's at time 0), per-year streams
    are discounted like QALYs (same timing convention) with the costs' rate r_c.
    """
    check_timing(timing, "evaluate_strategy")
    cost_rate = rate if cost_rate is None else cost_rate
    for what, r in (("rate", rate), ("cost_rate", cost_rate)):
        if not (np.all(np.isfinite(r)) and np.all(np.asarray(r) >= 0) and np.all(np.asarray(r) < 1)):
            raise ModelError(f"evaluate_strategy: {what} must be in [0, 1), got {r!r}")
    n = len(next(iter(values.values()))) if values else 1
    rows: list = []
    qalys, cost = _rollback(strategy.branches, values, n, rate, cost_rate, timing, name, (), rows, np.ones(n))
    if strategy.cost is not None:
        cost = cost + _value(strategy.cost, values, n)
    return StrategyValue(name, strategy.label, qalys, np.broadcast_to(cost, (n,)), pd.DataFrame(rows))


def evaluate_strategies(parameter_set: ParameterSet, values: dict) -> dict[str, StrategyValue]:
    """Evaluate every strategy of a parameter set with its settings' discount rates and timing."""
    s = parameter_set.settings
    return {
        name: evaluate_strategy(strategy, values, s.discount_rate, s.timing, name, cost_rate=s.cost_rate)
        for name, strategy in parameter_set.strategies.items()
    }


def tree_table(parameter_set: ParameterSet, values: dict) -> pd.DataFrame:
    """Every node of every strategy as a tidy table (for the tree chart and the text rendering).

    Columns: ``strategy, label, node, parent, name, depth, probability`` (branch probability, mean over
    draws), ``path_probability``, ``qalys`` (expected discounted QALYs below the node, mean over draws),
    ``cost`` (expected discounted cost of the node's branch and below it, mean over draws; a strategy's row
    includes its own cost), ``terminal`` (bool).
    """
    s = parameter_set.settings
    rows = []
    for sname, strategy in parameter_set.strategies.items():
        n = len(next(iter(values.values()))) if values else 1
        value = evaluate_strategy(strategy, values, s.discount_rate, s.timing, sname, cost_rate=s.cost_rate)
        rows.append(
            {"strategy": sname, "label": strategy.label, "node": sname, "parent": None, "name": strategy.label,
             "depth": 0, "probability": 1.0, "path_probability": 1.0, "qalys": float(value.qalys.mean()),
             "cost": float(value.cost.mean()), "terminal": False}
        )
        _walk(strategy.branches, values, n, s.discount_rate, s.cost_rate, s.timing, sname, strategy.label, sname,
              1, np.ones(n), rows)
    return pd.DataFrame(rows)


def _walk(branches, values, n, rate, cost_rate, timing, sname, label, parent, depth, weight, rows):
    probs = _probabilities(branches, values, n, parent)
    for b in branches:
        node = f"{parent} > {b.name}"
        p = probs[b.name]
        if b.branches is not None:
            q, c = _rollback(b.branches, values, n, rate, cost_rate, timing, node, (), [], np.ones(n))
        else:
            q, c = _terminal(b, values, n, rate, cost_rate, timing, node)
        c = np.broadcast_to(_one_off(b, values, n, cost_rate, node) + c, (n,))
        rows.append(
            {"strategy": sname, "label": label, "node": node, "parent": parent, "name": b.name, "depth": depth,
             "probability": float(p.mean()), "path_probability": float((weight * p).mean()),
             "qalys": float(q.mean()), "cost": float(c.mean()), "terminal": b.branches is None}
        )
        if b.branches is not None:
            _walk(b.branches, values, n, rate, cost_rate, timing, sname, label, node, depth + 1, weight * p, rows)


def render_tree(table: pd.DataFrame) -> str:
    """Text rendering of :func:`tree_table`, one line per node, indented by depth.

    Example output::

        Axicabtagene ciloleucel  E[QALY] = 6.112
          ├─ cure          p = 0.390  QALY = 12.83
          └─ no response   p = 0.610  QALY = 1.20
    """
    lines = []
    for _, strat in table.groupby("strategy", sort=False):
        root = strat.iloc[0]
        lines.append(f"{root['name']}  E[QALY] = {root['qalys']:.3f}")
        children = {}
        for _, row in strat.iloc[1:].iterrows():
            children.setdefault(row["parent"], []).append(row)
        width = max((len(r["name"]) + 3 * r["depth"] for _, r in strat.iloc[1:].iterrows()), default=10)

        def emit(parent, indent, children=children, width=width):
            kids = children.get(parent, [])
            for i, row in enumerate(kids):
                last = i == len(kids) - 1
                head = f"{indent}{'└─' if last else '├─'} {row['name']}"
                lines.append(f"{head:<{width + 4}} p = {row['probability']:.3f}  QALY = {row['qalys']:.3f}")
                emit(row["node"], indent + ("   " if last else "│  "), children, width)

        emit(root["node"], "  ")
    return "\n".join(lines)

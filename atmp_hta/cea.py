"""Cost-effectiveness decision rules: the ICER table, net benefit, acceptability curves and frontier.

Model-agnostic: every function takes costs and effects per strategy (1-d, one value per strategy) or per
draw and strategy (2-d, draws on axis 0), and returns arrays or tidy :class:`pandas.DataFrame` objects with
stable column names. Nothing here knows which model produced the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from atmp_hta.exceptions import ParameterError, invalid
from atmp_hta.records import is_missing

__all__ = [
    "icer_table",
    "net_monetary_benefit",
    "net_health_benefit",
    "ceac",
    "acceptability_frontier",
    "evpi_by_wtp",
    "pivot_draws",
    "draw_table_problem",
    "DrawTableProblem",
    "ICER_COLUMNS",
    "CEAC_COLUMNS",
]

ICER_COLUMNS = ("strategy", "cost", "effect", "incremental_cost", "incremental_effect", "icer", "status")
CEAC_COLUMNS = ("wtp", "strategy", "probability_cost_effective", "expected_net_benefit", "on_frontier")
_STATUS_ORDER = {"ND": 0, "ED": 1, "D": 2}
_CHUNK_ELEMENTS = 4_000_000  # draws x strategies x wtp values held at once by ceac / evpi_by_wtp


# ---------------------------------------------------------------------------------------------- checks
def _names(strategies, n, where):
    if strategies is None:
        return [f"strategy_{i + 1}" for i in range(n)]
    if isinstance(strategies, str):
        raise invalid("strategies", "a sequence of names, one per strategy", strategies, where)
    names = [str(s) for s in strategies]
    if len(names) != n:
        raise invalid("strategies", f"{n} names (one per strategy)", f"{len(names)} names", where)
    if len(set(names)) != len(names):
        dupes = sorted({s for s in names if names.count(s) > 1})
        raise invalid("strategies", "unique names", f"duplicates {dupes}", where)
    return names


def _array(name, value, where, ndim=(1, 2)):
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise invalid(name, "numbers", type(value).__name__, where) from None
    if value.ndim not in ndim or value.size == 0:
        shapes = " or ".join({1: "1-d (strategies)", 2: "2-d (draws × strategies)"}[d] for d in ndim)
        raise invalid(name, f"a non-empty {shapes} array", f"shape {value.shape}", where)
    if not np.all(np.isfinite(value)):
        raise invalid(name, "finite numbers", "an array with NaN or inf", where)
    return value


def _costs_effects(costs, effects, where, ndim=(1, 2)):
    costs = _array("costs", costs, where, ndim)
    effects = _array("effects", effects, where, ndim)
    if costs.shape != effects.shape:
        raise invalid("effects", f"the same shape as costs {costs.shape}", f"shape {effects.shape}", where)
    return costs, effects


def _wtp(wtp, where, positive=False):
    try:
        grid = np.atleast_1d(np.asarray(wtp, dtype=float))
    except (TypeError, ValueError):
        raise invalid("wtp", "a number or a 1-d array of numbers", type(wtp).__name__, where) from None
    if grid.ndim != 1 or grid.size == 0:
        raise invalid("wtp", "a number or a non-empty 1-d array", f"shape {grid.shape}", where)
    bad = ~np.isfinite(grid) | ((grid <= 0) if positive else (grid < 0))
    if np.any(bad):
        got = float(grid[bad][0])
        raise invalid("wtp", "> 0" if positive else ">= 0", int(got) if got.is_integer() else got, where)
    return grid


# ------------------------------------------------------------------------------------------ ICER table
def icer_table(strategies, costs, effects) -> pd.DataFrame:
    """Fully incremental analysis: dominance, extended dominance and ICERs along the efficient frontier.

    Parameters
    ----------
    strategies : sequence of str
        Unique strategy names, one per column of ``costs``/``effects``.
    costs, effects : array_like, shape (n_strategies,) or (n_draws, n_strategies)
        Mean cost and effect (e.g. QALYs) of each strategy; with draws, their means over axis 0 are used.

    Returns
    -------
    DataFrame
        Columns ``strategy, cost, effect, incremental_cost, incremental_effect, icer, status``; one row per
        strategy. ``status`` is ``ND`` (non-dominated: on the efficient frontier), ``ED`` (extendedly, or
        weakly, dominated) or ``D`` (strongly dominated). Rows are ordered ND, ED, D, each by increasing
        cost (as dampack prints them). Incremental values and the ICER of an ND strategy are against the
        next cheaper ND strategy; they are NaN for the cheapest ND strategy and for dominated ones.

    Notes
    -----
    The algorithm is dampack's ``calculate_icers``:

    1. sort by cost (ascending), then effect (descending);
    2. a strategy is strongly dominated (D) if a cheaper-or-equal strategy earlier in that order has an
       equal or greater effect;
    3. among the rest, compute ICERs between neighbours; every strategy whose ICER exceeds the next one's
       is extendedly dominated (ED): a mix of its neighbours gives more effect for the same cost. Repeat
       until the ICERs increase. What remains is the lower-right convex hull of the cost-effect plane.

    Ties, resolved so the result does not depend on the order the strategies are given in:

    - identical cost *and* effect: the strategy whose name sorts first stays; the others are D;
    - equal cost, different effect: the less effective is D; equal effect, different cost: the dearer is D;
    - three or more frontier strategies on one line (equal successive ICERs): all stay ND (an ICER must
      *exceed* the next to be ED, as in dampack).

    References
    ----------
    Alarid-Escudero F, Knowlton G, Enns EA, DARTH workgroup. dampack: Decision-Analytic Modeling Package,
    R package, ``calculate_icers`` (https://github.com/DARTH-git/dampack).
    Cantor SB. Cost-effectiveness analysis, extended dominance, and ethics: a quantitative assessment.
    Med Decis Making 1994;14:259–65.
    NICE health technology evaluations: the manual (PMG36), 2022, 4.2.16 (fully incremental analysis).

    Examples
    --------
    >>> t = icer_table(["A", "B", "C", "D"], [0, 100, 150, 400], [0.0, 1.0, 1.2, 3.0])
    >>> print(t[["strategy", "icer", "status"]].to_string(index=False))
    strategy  icer status
           A   NaN     ND
           B 100.0     ND
           D 150.0     ND
           C   NaN     ED
    """
    where = "icer_table"
    costs, effects = _costs_effects(costs, effects, where)
    if costs.ndim == 2:
        costs, effects = costs.mean(axis=0), effects.mean(axis=0)
    names = _names(strategies, costs.shape[0], where)
    return _icer_kernel(names, costs, effects)


def _icer_kernel(names, costs, effects):
    n = len(names)
    # cost ascending, effect descending, name ascending (lexsort: last key is primary)
    rank_names = np.argsort(np.argsort(np.array(names, dtype=object)))
    order = np.lexsort((rank_names, -effects, costs))
    c, e = costs[order], effects[order]
    sorted_names = [names[i] for i in order]

    status = np.full(n, "ND", dtype=object)
    best_before = np.maximum.accumulate(e)
    strong = np.zeros(n, dtype=bool)
    strong[1:] = e[1:] <= best_before[:-1]
    status[strong] = "D"

    nd = np.flatnonzero(~strong)
    while nd.size > 2:
        ic = np.diff(c[nd]) / np.diff(e[nd])  # ICER of nd[1:], each against its cheaper neighbour
        extended = np.zeros(nd.size, dtype=bool)
        extended[1:-1] = ic[:-1] > ic[1:]
        if not extended.any():
            break
        status[nd[extended]] = "ED"
        nd = nd[~extended]

    inc_cost = np.full(n, np.nan)
    inc_effect = np.full(n, np.nan)
    inc_cost[nd[1:]] = np.diff(c[nd])
    inc_effect[nd[1:]] = np.diff(e[nd])
    table = pd.DataFrame(
        {
            "strategy": sorted_names,
            "cost": c,
            "effect": e,
            "incremental_cost": inc_cost,
            "incremental_effect": inc_effect,
            "icer": inc_cost / inc_effect,
            "status": status.astype(str),
        }
    )
    key = table["status"].map(_STATUS_ORDER).to_numpy()
    final = np.lexsort((np.arange(n), key))  # stable: within a status keep the cost order
    return table.iloc[final].reset_index(drop=True)


# -------------------------------------------------------------------------------------- net benefit
def _any_shape(name, value, where):
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise invalid(name, "numbers", type(value).__name__, where) from None
    if not np.all(np.isfinite(value)):
        raise invalid(name, "finite numbers", "an array with NaN or inf", where)
    return value


def _net_benefit_inputs(costs, effects, wtp, where, positive):
    costs = _any_shape("costs", costs, where)
    effects = _any_shape("effects", effects, where)
    if costs.shape != effects.shape:
        raise invalid("effects", f"the same shape as costs {costs.shape}", f"shape {effects.shape}", where)
    return costs, effects, _wtp(wtp, where, positive=positive)


def net_monetary_benefit(costs, effects, wtp):
    """Net monetary benefit, NMB = λ·E − C.

    Parameters
    ----------
    costs, effects : array_like, same shape
        Any shape (e.g. draws × strategies).
    wtp : float or 1-d array_like
        Willingness to pay per unit of effect, λ >= 0. A grid of k values adds a trailing axis of length k.

    Returns
    -------
    ndarray
        The shape of ``costs``; with a grid, ``costs.shape + (k,)``.

    References
    ----------
    Stinnett AA, Mullahy J. Net health benefits: a new framework for the analysis of uncertainty in
    cost-effectiveness analysis. Med Decis Making 1998;18(2 Suppl):S68–80.

    Examples
    --------
    >>> float(net_monetary_benefit(10_000, 1.5, 20_000))
    20000.0
    >>> net_monetary_benefit([10_000, 0], [1.5, 1.0], [0, 20_000]).tolist()
    [[-10000.0, 20000.0], [0.0, 20000.0]]
    """
    costs, effects, grid = _net_benefit_inputs(costs, effects, wtp, "net_monetary_benefit", positive=False)
    if np.ndim(wtp) == 0:
        return effects * grid[0] - costs
    return effects[..., None] * grid - costs[..., None]


def net_health_benefit(costs, effects, wtp):
    """Net health benefit, NHB = E − C/λ, in units of effect (λ > 0).

    Shapes as in :func:`net_monetary_benefit`; NHB = NMB/λ.

    References
    ----------
    Stinnett AA, Mullahy J. Med Decis Making 1998;18(2 Suppl):S68–80.
    NICE health technology evaluations: the manual (PMG36), 2022, 4.2.16 (net health benefit).

    Examples
    --------
    >>> float(net_health_benefit(10_000, 1.5, 20_000))
    1.0
    """
    costs, effects, grid = _net_benefit_inputs(costs, effects, wtp, "net_health_benefit", positive=True)
    if np.ndim(wtp) == 0:
        return effects - costs / grid[0]
    return effects[..., None] - costs[..., None] / grid


# ------------------------------------------------------------------------------ acceptability curves
def _wtp_chunks(n_draws, n_strategies, n_wtp):
    step = max(1, _CHUNK_ELEMENTS // max(1, n_draws * n_strategies))
    return [slice(i, min(i + step, n_wtp)) for i in range(0, n_wtp, step)]


def _frontier_index(expected, names):
    """Index of the strategy with the highest expected net benefit per column (ties: first name)."""
    by_name = np.argsort(np.array(names, dtype=object), kind="stable")
    return by_name[np.argmax(expected[by_name], axis=0)]


def ceac(costs, effects, wtp, strategies=None) -> pd.DataFrame:
    """Cost-effectiveness acceptability curves and frontier over a grid of willingness-to-pay values.

    Parameters
    ----------
    costs, effects : array_like, shape (n_draws, n_strategies)
        Probabilistic sensitivity analysis draws.
    wtp : float or 1-d array_like
        Willingness-to-pay values λ >= 0.
    strategies : sequence of str, optional
        Names of the strategies (default ``strategy_1``, ...).

    Returns
    -------
    DataFrame
        Columns ``wtp, strategy, probability_cost_effective, expected_net_benefit, on_frontier``: one row
        per λ × strategy. ``probability_cost_effective`` is the share of draws in which the strategy has
        the highest net monetary benefit (ties split evenly); ``on_frontier`` marks, at each λ, the
        strategy with the highest *expected* net benefit: the cost-effectiveness acceptability frontier
        (see :func:`acceptability_frontier`), which is not always the strategy most likely to be
        cost-effective.

    References
    ----------
    Fenwick E, Claxton K, Sculpher M. Representing uncertainty: the role of cost-effectiveness
    acceptability curves. Health Econ 2001;10:779–87.
    Barton GR, Briggs AH, Fenwick EA. Optimal cost-effectiveness decisions: the role of the
    cost-effectiveness acceptability curve (CEAC), the cost-effectiveness acceptability frontier (CEAF),
    and the expected value of perfection information (EVPI). Value Health 2008;11:886–97.

    Examples
    --------
    >>> t = ceac([[0, 10], [0, 30]], [[0, 1], [0, 1]], [0, 20, 40], ["old", "new"])
    >>> t.pivot(index="wtp", columns="strategy", values="probability_cost_effective")[["old", "new"]].values.tolist()
    [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]
    """
    where = "ceac"
    costs, effects = _costs_effects(costs, effects, where, ndim=(2,))
    grid = _wtp(wtp, where)
    names = _names(strategies, costs.shape[1], where)
    n, s = costs.shape
    prob = np.empty((s, grid.size))
    for part in _wtp_chunks(n, s, grid.size):
        nb = effects[:, :, None] * grid[part] - costs[:, :, None]
        best = nb == nb.max(axis=1, keepdims=True)
        prob[:, part] = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
    expected = effects.mean(axis=0)[:, None] * grid - costs.mean(axis=0)[:, None]
    frontier = np.zeros((s, grid.size), dtype=bool)
    frontier[_frontier_index(expected, names), np.arange(grid.size)] = True
    return pd.DataFrame(
        {
            "wtp": np.repeat(grid, s),
            "strategy": np.tile(np.array(names, dtype=object), grid.size),
            "probability_cost_effective": prob.T.ravel(),
            "expected_net_benefit": expected.T.ravel(),
            "on_frontier": frontier.T.ravel(),
        }
    )


def acceptability_frontier(ceac_table: pd.DataFrame) -> pd.DataFrame:
    """The cost-effectiveness acceptability frontier: one row per λ, the optimal strategy and its probability.

    Examples
    --------
    >>> t = ceac([[0, 10], [0, 30]], [[0, 1], [0, 1]], [0, 40], ["old", "new"])
    >>> acceptability_frontier(t)[["wtp", "strategy", "probability_cost_effective"]].values.tolist()
    [[0.0, 'old', 1.0], [40.0, 'new', 1.0]]
    """
    missing = [c for c in CEAC_COLUMNS if c not in getattr(ceac_table, "columns", ())]
    if missing:
        raise invalid("ceac_table", f"a table from ceac() with columns {list(CEAC_COLUMNS)}",
                      f"a table missing {missing}", "acceptability_frontier")
    return ceac_table.loc[ceac_table["on_frontier"]].drop(columns="on_frontier").reset_index(drop=True)


def evpi_by_wtp(costs, effects, wtp, population: float = 1.0) -> pd.DataFrame:
    """Expected value of perfect information at each willingness to pay.

    EVPI(λ) = E[max_j NMB_j(λ)] − max_j E[NMB_j(λ)], per person (times ``population`` if given).

    Parameters
    ----------
    costs, effects : array_like, shape (n_draws, n_strategies)
    wtp : float or 1-d array_like
        λ >= 0.
    population : float
        Multiplier (e.g. the discounted number of patients from :func:`atmp_hta.voi.population_evpi`).

    Returns
    -------
    DataFrame
        Columns ``wtp, evpi``.

    Examples
    --------
    >>> evpi_by_wtp([[0, 10], [0, 30]], [[0, 1], [0, 1]], [0, 20, 40]).evpi.tolist()
    [0.0, 5.0, 0.0]
    """
    where = "evpi_by_wtp"
    costs, effects = _costs_effects(costs, effects, where, ndim=(2,))
    grid = _wtp(wtp, where)
    population = float(population)
    if not np.isfinite(population) or population < 0:
        raise invalid("population", ">= 0", population, where)
    n, s = costs.shape
    value = np.empty(grid.size)
    mean_c, mean_e = costs.mean(axis=0), effects.mean(axis=0)
    for part in _wtp_chunks(n, s, grid.size):
        nb = effects[:, :, None] * grid[part] - costs[:, :, None]
        perfect = nb.max(axis=1).mean(axis=0)
        current = (mean_e[:, None] * grid[part] - mean_c[:, None]).max(axis=0)
        value[part] = np.maximum(perfect - current, 0.0)
    return pd.DataFrame({"wtp": grid, "evpi": value * population})


# --------------------------------------------------------------------------------- tidy input tables
@dataclass(frozen=True)
class DrawTableProblem:
    """The first thing wrong with a tidy table of draws (see :func:`draw_table_problem`).

    ``kind`` is ``"empty"`` (no value in ``column``, a draw or strategy column, at ``row``), ``"not_finite"``
    (``value`` in the number column ``column`` at ``row`` is not a finite number), ``"repeated"`` (``count``
    rows for ``draw``, ``strategy``) or ``"missing"`` (no row for ``draw``, ``strategy``). ``row`` counts
    from 0; ``value``, ``draw`` and ``strategy`` are plain Python values (not numpy scalars).
    """

    kind: str
    column: str | None = None
    row: int | None = None
    value: object = None
    draw: object = None
    strategy: object = None
    count: int = 0

    @property
    def shown_value(self) -> str:
        """The offending value for a message: "an empty cell" for a missing one, else its repr."""
        return "an empty cell" if is_missing(self.value) else repr(self.value)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def draw_table_problem(table: pd.DataFrame, values, draw: str = "draw", strategy: str = "strategy"):
    """The first problem of a tidy table of draws, or None: the checks behind :func:`pivot_draws` and
    ``atmp-hta cea``, which word their own messages.

    In order: an empty cell in the ``draw`` or ``strategy`` column; a value in one of the ``values`` columns
    that is not a finite number; a draw × strategy pair given more than once; a draw without some strategy.
    The columns must exist (callers check that first, to name them in their own terms).
    """
    for col in (draw, strategy):
        empty = np.flatnonzero(table[col].isna().to_numpy())
        if empty.size:
            return DrawTableProblem("empty", col, int(empty[0]))
    for col in values:
        numbers = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        wrong = np.flatnonzero(~np.isfinite(numbers))
        if wrong.size:
            i = int(wrong[0])
            return DrawTableProblem("not_finite", col, i, _plain(table[col].iloc[i]), _plain(table[draw].iloc[i]),
                                    _plain(table[strategy].iloc[i]))
    counts = table.groupby([draw, strategy], sort=False).size()
    if (counts.to_numpy() > 1).any():
        d, s = counts.index[int(np.argmax(counts.to_numpy() > 1))]
        return DrawTableProblem("repeated", draw=_plain(d), strategy=_plain(s), count=int(counts.loc[(d, s)]))
    draws, names = pd.unique(table[draw]), pd.unique(table[strategy])
    if len(counts) != len(draws) * len(names):
        d, s = pd.MultiIndex.from_product([draws, names]).difference(counts.index, sort=False)[0]
        return DrawTableProblem("missing", draw=_plain(d), strategy=_plain(s))
    return None


def pivot_draws(table: pd.DataFrame, value: str, draw: str = "draw", strategy: str = "strategy"):
    """Turn a tidy table (one row per draw × strategy) into ``(strategies, array of shape draws × strategies)``.

    Strategies keep their order of first appearance; every draw must have every strategy exactly once.

    Examples
    --------
    >>> t = pd.DataFrame({"draw": [0, 0, 1, 1], "strategy": ["a", "b", "a", "b"], "cost": [1., 2., 3., 4.]})
    >>> names, costs = pivot_draws(t, "cost")
    >>> names, costs.tolist()
    (['a', 'b'], [[1.0, 2.0], [3.0, 4.0]])
    """
    where = "pivot_draws"
    for col, role in ((value, "value"), (draw, "draw"), (strategy, "strategy")):
        if col not in getattr(table, "columns", ()):
            raise invalid(role, "a column of the table", col, where)
    problem = draw_table_problem(table, [value], draw, strategy)
    if problem is not None:
        p = problem
        role, allowed, got = {
            "empty": ("draw" if p.column == draw else "strategy",
                      f"a column with a value in every row (column {p.column!r})", f"an empty cell in row {p.row}"),
            "not_finite": ("value", f"a column of finite numbers (column {value!r})",
                           f"{p.shown_value} in row {p.row} ({draw} {p.draw!r}, {strategy} {p.strategy!r})"),
            "repeated": ("table", "one row per draw and strategy",
                         f"{p.count} rows for {draw} {p.draw!r}, {strategy} {p.strategy!r}"),
            "missing": ("table", "one row per draw and strategy",
                        f"no row for {draw} {p.draw!r}, {strategy} {p.strategy!r}"),
        }[p.kind]
        raise ParameterError(f"The '{role}' parameter of {where} must be {allowed}. Got {got}.", field=role)
    names = list(pd.unique(table[strategy]))
    numbers = pd.to_numeric(table[value]).to_numpy(dtype=float)
    wide = table.assign(**{value: numbers}).pivot(index=draw, columns=strategy, values=value)[names]
    return [str(n) for n in names], wide.to_numpy(dtype=float)

"""Deterministic sensitivity analysis: one-way (tornado), two-way and threshold analysis.

The model is any *vectorised* function of a values dict: ``model(values) -> outcome`` where ``values`` maps
each parameter name to a 1-d array with one entry per scenario, and the outcome is an array with one value
per scenario or a mapping of outcome names to such arrays (e.g. ``{"nmb_new": ..., "nmb_old": ...}``). Every
scenario of an analysis (all parameters × all points) goes through the model in **one call**, as draws do
in a probabilistic analysis; nothing loops over scenarios in Python (threshold refinement aside, which calls
the model a few dozen times per crossing).

Results are tidy tables: one row per scenario × outcome, columns named below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from atmp_hta.exceptions import ModelError, invalid

__all__ = ["one_way", "tornado_table", "two_way", "two_way_contour", "threshold_analysis", "optimal_outcome"]


# --------------------------------------------------------------------------------------------- helpers
def _pick_outcome(table: pd.DataFrame, outcome, where: str):
    """The outcome to show: ``outcome`` if the table has it, the table's only one if ``outcome`` is None."""
    available = list(pd.unique(table["outcome"]))
    if outcome is None:
        if len(available) != 1:
            raise invalid("outcome", f"one of {available} (the table has several outcomes)", None, where)
        return available[0]
    if outcome not in available:
        raise invalid("outcome", f"one of {available}", outcome, where)
    return outcome


def _base(base, where):
    if not isinstance(base, Mapping) or not base:
        raise invalid("base", "a non-empty mapping of parameter name to its base-case value", type(base).__name__,
                      where)
    out = {}
    for name, value in base.items():
        try:
            value = float(np.asarray(value, dtype=float).reshape(-1)[0]) if np.size(value) == 1 else None
        except (TypeError, ValueError):
            value = None
        if value is None or not np.isfinite(value):
            raise invalid("base", "one finite number per parameter", f"{name!r}: {base[name]!r}", where)
        out[str(name)] = value
    return out


def _range(name, bounds, base, where, argument="ranges"):
    if name not in base:
        raise invalid(argument, f"names of parameters in base ({', '.join(base)})", name, where)
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise invalid(argument, "a (low, high) pair of numbers per parameter", f"{name!r}: {bounds!r}",
                      where) from None
    if not (np.isfinite(low) and np.isfinite(high)) or low == high:
        raise invalid(argument, "finite low != high", f"{name!r}: ({low}, {high})", where)
    return low, high


def _n_points(n, where, name="n_points", minimum=2):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise invalid(name, f"an integer >= {minimum}", n, where)
    return int(n)


def _run(model: Callable, values: dict, n: int, where: str) -> dict[str, np.ndarray]:
    """Call the model once on ``n`` scenarios; return outcome name -> array of shape (n,)."""
    if not callable(model):
        raise invalid("model", "a function of a values dict", type(model).__name__, where)
    out = model(values)
    outcomes = dict(out) if isinstance(out, Mapping) else {"outcome": out}
    if not outcomes:
        raise ModelError(f"The model given to {where} returned no outcomes.")
    result = {}
    for name, value in outcomes.items():
        value = np.asarray(value, dtype=float)
        if value.ndim == 0 or value.shape == (1,):
            value = np.full(n, float(value.reshape(-1)[0]))
        if value.shape != (n,):
            raise ModelError(
                f"The model given to {where} returned outcome {name!r} with shape {value.shape}; expected one "
                f"value per scenario, shape ({n},). Make the model broadcast over the arrays in the values dict."
            )
        result[str(name)] = value
    return result


def _values(base, n, overrides):
    values = {k: np.full(n, v) for k, v in base.items()}
    for name, column in overrides.items():
        values[name] = column
    return values


# --------------------------------------------------------------------------------------------- one-way
def one_way(model: Callable, base: Mapping, ranges: Mapping, *, n_points: int = 2) -> pd.DataFrame:
    """One-way sensitivity analysis: vary each parameter over its range, the others at base case.

    Parameters
    ----------
    model : callable
        ``model(values) -> array or mapping of arrays`` (module docstring).
    base : mapping name -> float
        Base-case value of every parameter the model reads.
    ranges : mapping name -> (low, high)
        Parameters to vary and their ranges (e.g. from :func:`atmp_hta.params.parameter_range`).
    n_points : int
        Points per parameter, evenly spaced from low to high (2 = the two ends, as a tornado needs).

    Returns
    -------
    DataFrame
        Columns ``parameter, point, value, base_value, outcome, result, base_result``; ``point`` is
        ``"low"``, ``"high"`` or ``"interior"``.

    References
    ----------
    Briggs AH, Weinstein MC, Fenwick EA, et al. Model parameter estimation and uncertainty analysis: a
    report of the ISPOR-SMDM Modeling Good Research Practices Task Force-6. Med Decis Making 2012;32:722–32.

    Examples
    --------
    >>> model = lambda v: {"inmb": 20_000 * v["dq"] - v["dc"]}
    >>> t = one_way(model, {"dq": 1.0, "dc": 15_000}, {"dq": (0.5, 1.5), "dc": (10_000, 20_000)})
    >>> t[["parameter", "point", "result"]].values.tolist()
    [['dq', 'low', -5000.0], ['dq', 'high', 15000.0], ['dc', 'low', 10000.0], ['dc', 'high', 0.0]]
    """
    where = "one_way"
    base = _base(base, where)
    if not isinstance(ranges, Mapping) or not ranges:
        raise invalid("ranges", "a non-empty mapping of parameter name to (low, high)", type(ranges).__name__,
                      where)
    n_points = _n_points(n_points, where)
    bounds = {str(k): _range(str(k), v, base, where) for k, v in ranges.items()}
    names = list(bounds)
    grid = np.array([np.linspace(lo, hi, n_points) for lo, hi in bounds.values()])  # (p, n_points)
    p = len(names)
    n = p * n_points + 1  # the last scenario is the base case
    overrides = {}
    for i, name in enumerate(names):
        column = np.full(n, base[name])
        column[i * n_points:(i + 1) * n_points] = grid[i]
        overrides[name] = column
    outcomes = _run(model, _values(base, n, overrides), n, where)
    point = np.full(n_points, "interior", dtype=object)
    point[0], point[-1] = "low", "high"
    frames = []
    for outcome, result in outcomes.items():
        frames.append(pd.DataFrame({
            "parameter": np.repeat(np.array(names, dtype=object), n_points),
            "point": np.tile(point, p),
            "value": grid.ravel(),
            "base_value": np.repeat([base[k] for k in names], n_points),
            "outcome": outcome,
            "result": result[:-1],
            "base_result": result[-1],
        }))
    return pd.concat(frames, ignore_index=True)


def tornado_table(one_way_table: pd.DataFrame, outcome: str | None = None) -> pd.DataFrame:
    """Tornado bars from a :func:`one_way` table: one row per parameter, widest swing first.

    Returns
    -------
    DataFrame
        Columns ``parameter, low_value, high_value, base_value, result_low, result_high, base_result, swing,
        rank``; ``swing = |result_high − result_low|``, ``rank`` 1 for the widest bar.

    Examples
    --------
    >>> model = lambda v: {"inmb": 20_000 * v["dq"] - v["dc"]}
    >>> t = one_way(model, {"dq": 1.0, "dc": 15_000}, {"dq": (0.5, 1.5), "dc": (10_000, 20_000)})
    >>> tornado_table(t)[["parameter", "swing"]].values.tolist()
    [['dq', 20000.0], ['dc', 10000.0]]
    """
    where = "tornado_table"
    needed = {"parameter", "point", "value", "base_value", "outcome", "result", "base_result"}
    if not isinstance(one_way_table, pd.DataFrame) or not needed <= set(one_way_table.columns):
        raise invalid("one_way_table", "a table from one_way()", type(one_way_table).__name__, where)
    outcome = _pick_outcome(one_way_table, outcome, where)
    t = one_way_table[(one_way_table["outcome"] == outcome) & one_way_table["point"].isin(["low", "high"])]
    wide = t.pivot(index="parameter", columns="point", values=["value", "result"])
    first = t.drop_duplicates("parameter").set_index("parameter")
    table = pd.DataFrame({
        "parameter": wide.index.astype(str),
        "low_value": wide[("value", "low")].to_numpy(),
        "high_value": wide[("value", "high")].to_numpy(),
        "base_value": first.loc[wide.index, "base_value"].to_numpy(),
        "result_low": wide[("result", "low")].to_numpy(),
        "result_high": wide[("result", "high")].to_numpy(),
        "base_result": first.loc[wide.index, "base_result"].to_numpy(),
    })
    table["swing"] = (table["result_high"] - table["result_low"]).abs()
    order = list(pd.unique(t["parameter"]))
    table["_order"] = table["parameter"].map({k: i for i, k in enumerate(order)})
    table = table.sort_values(["swing", "_order"], ascending=[False, True], kind="stable").drop(columns="_order")
    table["rank"] = np.arange(1, len(table) + 1)
    table["outcome"] = outcome
    return table.reset_index(drop=True)


# --------------------------------------------------------------------------------------------- two-way
def two_way(model: Callable, base: Mapping, x: tuple, y: tuple, *, n_points=(21, 21)) -> pd.DataFrame:
    """Two-way sensitivity analysis over a grid of two parameters, the others at base case.

    Parameters
    ----------
    model, base
        As in :func:`one_way`.
    x, y : (name, low, high)
        The two parameters and their ranges.
    n_points : int or (int, int)
        Grid points along x and y.

    Returns
    -------
    DataFrame
        Columns ``x_parameter, x_value, y_parameter, y_value, outcome, result, x_base_value, y_base_value,
        base_result``; one row per grid point and outcome (x varies slowest); the last three columns repeat the
        base case (both parameters at their base values, evaluated in the same model call). :func:`optimal_outcome`
        turns the table into a map of the best strategy, :func:`two_way_contour` into the line where an outcome
        crosses a target.

    Examples
    --------
    >>> model = lambda v: {"inmb": v["wtp"] * v["dq"] - 15_000}
    >>> t = two_way(model, {"dq": 1.0, "wtp": 20_000}, ("dq", 0.5, 1.5), ("wtp", 10_000, 30_000), n_points=3)
    >>> t.result.tolist()
    [-10000.0, -5000.0, 0.0, -5000.0, 5000.0, 15000.0, 0.0, 15000.0, 30000.0]
    """
    where = "two_way"
    base = _base(base, where)
    try:
        (xn, *xb), (yn, *yb) = x, y
    except (TypeError, ValueError):
        raise invalid("x", "(name, low, high) tuples for x and y", (x, y), where) from None
    xn, yn = str(xn), str(yn)
    if xn == yn:
        raise invalid("y", "a parameter other than x", yn, where)
    xlo, xhi = _range(xn, xb, base, where, "x")
    ylo, yhi = _range(yn, yb, base, where, "y")
    nx, ny = (n_points, n_points) if np.ndim(n_points) == 0 else tuple(n_points)
    nx, ny = _n_points(nx, where), _n_points(ny, where)
    xs, ys = np.linspace(xlo, xhi, nx), np.linspace(ylo, yhi, ny)
    xx, yy = np.repeat(xs, ny), np.tile(ys, nx)
    n = xx.size + 1  # the last scenario is the base case
    outcomes = _run(model, _values(base, n, {xn: np.append(xx, base[xn]), yn: np.append(yy, base[yn])}), n, where)
    return pd.concat(
        [pd.DataFrame({"x_parameter": xn, "x_value": xx, "y_parameter": yn, "y_value": yy, "outcome": name,
                       "result": result[:-1], "x_base_value": base[xn], "y_base_value": base[yn],
                       "base_result": result[-1]}) for name, result in outcomes.items()],
        ignore_index=True,
    )


def two_way_contour(table: pd.DataFrame, outcome: str | None = None, target: float = 0.0) -> pd.DataFrame:
    """The line where an outcome of a :func:`two_way` grid crosses ``target`` (e.g. incremental NMB = 0).

    Marching squares: in each grid cell, the points where the outcome crosses the target on the cell's edges
    (linear interpolation between the two corners of an edge) are joined by a segment; a saddle cell (two
    crossings on each axis) is resolved by the mean of its four corners.

    Parameters
    ----------
    table : DataFrame
        A :func:`two_way` table.
    outcome : str, optional
        Which outcome (required when the table has several).
    target : float
        The level of the contour.

    Returns
    -------
    DataFrame
        Columns ``x_parameter, y_parameter, outcome, target, x, y, x2, y2``: one row per segment, from
        ``(x, y)`` to ``(x2, y2)``. Empty if the outcome does not cross the target on the grid.

    Notes
    -----
    On an edge from corner value f₀ at p₀ to f₁ at p₁ with (f₀ − target)(f₁ − target) < 0 (or one of them exactly
    at the target), the crossing is p₀ + (p₁ − p₀)(target − f₀)/(f₁ − f₀): exact when the outcome is linear along
    the edge (as the NMB is in a price or a cost), otherwise accurate to the grid spacing.

    References
    ----------
    Lorensen WE, Cline HE. Marching cubes: a high resolution 3D surface construction algorithm. Computer
    Graphics 1987;21:163–9 (the two-dimensional case, "marching squares").

    Examples
    --------
    >>> model = lambda v: {"inmb": 20_000 * v["dq"] - v["dc"]}
    >>> t = two_way(model, {"dq": 1.0, "dc": 15_000}, ("dq", 0.5, 1.5), ("dc", 5_000, 25_000), n_points=3)
    >>> two_way_contour(t)[["x", "y", "x2", "y2"]].values.tolist()  # on the line dc = 20,000 dq
    [[0.75, 15000.0, 0.5, 10000.0], [0.75, 15000.0, 1.0, 20000.0], [1.25, 25000.0, 1.0, 20000.0]]
    """
    where = "two_way_contour"
    needed = {"x_parameter", "x_value", "y_parameter", "y_value", "outcome", "result"}
    if not isinstance(table, pd.DataFrame) or not needed <= set(table.columns):
        raise invalid("table", "a table from two_way()", type(table).__name__, where)
    outcome = _pick_outcome(table, outcome, where)
    target = float(target)
    if not np.isfinite(target):
        raise invalid("target", "a finite number", target, where)
    t = table[table["outcome"] == outcome]
    xs, ys = np.unique(t["x_value"].to_numpy(float)), np.unique(t["y_value"].to_numpy(float))
    f = t.pivot(index="x_value", columns="y_value", values="result").loc[xs, ys].to_numpy(float) - target
    above = f > 0

    def crossing(p0, f0, p1, f1):
        return p0 + (p1 - p0) * (-f0 / (f1 - f0))

    rows = []
    for i in range(xs.size - 1):
        for j in range(ys.size - 1):
            corners = above[i, j], above[i + 1, j], above[i + 1, j + 1], above[i, j + 1]  # a, b, c, d
            if all(corners) or not any(corners):
                continue
            x0, x1, y0, y1 = xs[i], xs[i + 1], ys[j], ys[j + 1]
            fa, fb, fc, fd = f[i, j], f[i + 1, j], f[i + 1, j + 1], f[i, j + 1]
            edges = {}  # bottom (a-b), right (b-c), top (d-c), left (a-d): where the outcome crosses
            if corners[0] != corners[1]:
                edges["bottom"] = (crossing(x0, fa, x1, fb), y0)
            if corners[1] != corners[2]:
                edges["right"] = (x1, crossing(y0, fb, y1, fc))
            if corners[3] != corners[2]:
                edges["top"] = (crossing(x0, fd, x1, fc), y1)
            if corners[0] != corners[3]:
                edges["left"] = (x0, crossing(y0, fa, y1, fd))
            if len(edges) == 2:
                pairs = [tuple(edges)]
            elif (fa + fb + fc + fd > 0) == corners[0]:  # saddle; the centre joins a and c: cut off b and d
                pairs = [("bottom", "right"), ("top", "left")]
            else:  # the centre joins b and d: cut off a and c
                pairs = [("bottom", "left"), ("right", "top")]
            for e1, e2 in pairs:
                if edges[e1] != edges[e2]:  # not a corner touching the target alone
                    rows.append((*edges[e1], *edges[e2]))
    segments = np.array(rows, dtype=float).reshape(-1, 4)
    return pd.DataFrame({
        "x_parameter": str(t["x_parameter"].iloc[0]) if len(t) else None,
        "y_parameter": str(t["y_parameter"].iloc[0]) if len(t) else None,
        "outcome": outcome, "target": target,
        "x": segments[:, 0], "y": segments[:, 1], "x2": segments[:, 2], "y2": segments[:, 3],
    }, columns=["x_parameter", "y_parameter", "outcome", "target", "x", "y", "x2", "y2"])


def optimal_outcome(table: pd.DataFrame, *, maximise: bool = True) -> pd.DataFrame:
    """For each scenario of a :func:`one_way` or :func:`two_way` table, the outcome with the best result.

    With outcomes that are the net benefits of strategies, this is the optimal strategy at each point (ties:
    the outcome listed first). Returns the scenario columns plus ``optimal`` and ``result``.

    Examples
    --------
    >>> model = lambda v: {"old": 0 * v["wtp"], "new": v["wtp"] * 1.0 - 15_000}
    >>> t = two_way(model, {"wtp": 20_000, "dq": 1}, ("wtp", 10_000, 20_000), ("dq", 0, 1), n_points=2)
    >>> optimal_outcome(t).optimal.tolist()
    ['old', 'old', 'new', 'new']
    """
    where = "optimal_outcome"
    if not isinstance(table, pd.DataFrame) or not {"outcome", "result"} <= set(table.columns):
        raise invalid("table", "a table from one_way() or two_way()", type(table).__name__, where)
    keys = [c for c in table.columns if c not in ("outcome", "result", "base_result")]
    outcomes = list(pd.unique(table["outcome"]))
    wide = np.column_stack([table.loc[table["outcome"] == o, "result"].to_numpy() for o in outcomes])
    pick = np.argmax(wide if maximise else -wide, axis=1)
    scenarios = table.loc[table["outcome"] == outcomes[0], keys].reset_index(drop=True)
    scenarios["optimal"] = np.array(outcomes, dtype=object)[pick]
    scenarios["result"] = wide[np.arange(wide.shape[0]), pick]
    return scenarios


# ------------------------------------------------------------------------------------------- threshold
def threshold_analysis(model: Callable, base: Mapping, parameter: str, bounds, *, outcome,
                       target: float = 0.0, n_points: int = 201, xtol: float = 1e-10) -> pd.DataFrame:
    """Values of one parameter at which an outcome crosses a target (e.g. the incremental NMB crosses 0).

    Parameters
    ----------
    model, base
        As in :func:`one_way`.
    parameter : str
        The parameter to vary; the others stay at base case.
    bounds : (low, high)
        Search interval.
    outcome : str or (str, str)
        Outcome name, or a pair ``(a, b)`` for the difference a − b (e.g. two strategies' net benefits).
    target : float
        The value to cross.
    n_points : int
        Grid points of the vectorised scan that brackets crossings (each is then refined with Brent's
        method). Crossings closer together than the grid spacing can be missed.
    xtol : float
        Absolute tolerance of the refined threshold.

    Returns
    -------
    DataFrame
        Columns ``parameter, threshold, outcome, target, direction, base_value``; one row per crossing
        (``direction`` is ``"increasing"`` or ``"decreasing"``: how the outcome moves through the target as
        the parameter increases). Empty if the outcome does not cross the target within ``bounds``.

    Examples
    --------
    >>> model = lambda v: {"new": 30_000 * v["dq"] - v["price"], "old": 0 * v["dq"]}
    >>> t = threshold_analysis(model, {"dq": 2.0, "price": 0.0}, "price", (0, 100_000), outcome=("new", "old"))
    >>> round(t.threshold.iloc[0]), t.direction.iloc[0]
    (60000, 'decreasing')
    """
    where = "threshold_analysis"
    base = _base(base, where)
    parameter = str(parameter)
    low, high = _range(parameter, bounds, base, where, "bounds")
    low, high = min(low, high), max(low, high)
    n_points = _n_points(n_points, where, minimum=3)
    target = float(target)
    pair = (outcome,) if isinstance(outcome, str) else tuple(outcome)
    if len(pair) not in (1, 2) or not all(isinstance(o, str) for o in pair):
        raise invalid("outcome", "an outcome name or a pair of names (a, b) for a − b", outcome, where)

    def evaluate(xs):
        xs = np.atleast_1d(np.asarray(xs, dtype=float))
        results = _run(model, _values(base, xs.size, {parameter: xs}), xs.size, where)
        missing = [o for o in pair if o not in results]
        if missing:
            raise invalid("outcome", f"one of the model's outcomes {list(results)}", missing[0], where)
        value = results[pair[0]] - (results[pair[1]] if len(pair) == 2 else 0.0)
        return value - target

    grid = np.linspace(low, high, n_points)
    values = evaluate(grid)
    sign = np.sign(values)
    rows = []
    label = pair[0] if len(pair) == 1 else f"{pair[0]} - {pair[1]}"
    exact = np.flatnonzero(sign == 0)
    brackets = np.flatnonzero(sign[:-1] * sign[1:] < 0)
    for i in exact:
        neighbours = values[max(i - 1, 0)], values[min(i + 1, n_points - 1)]
        rows.append((grid[i], "increasing" if neighbours[1] > neighbours[0] else "decreasing"))
    for i in brackets:
        root = brentq(lambda x: float(evaluate(x)[0]), grid[i], grid[i + 1], xtol=xtol)
        rows.append((root, "increasing" if values[i + 1] > values[i] else "decreasing"))
    rows.sort()
    return pd.DataFrame({
        "parameter": parameter,
        "threshold": [r[0] for r in rows],
        "outcome": label,
        "target": target,
        "direction": [r[1] for r in rows],
        "base_value": base[parameter],
    }, columns=["parameter", "threshold", "outcome", "target", "direction", "base_value"])

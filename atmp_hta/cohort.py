"""Cohort state-transition (Markov) models, vectorised over draws.

Shapes (draw axis first, ``DESIGN.md``), with S states, D draws and n cycles of ``cycle_length`` years:

``transitions``
    ``(S, S)``: one constant matrix; ``(D, S, S)``: a constant matrix per draw; ``(D, n, S, S)``:
    time-dependent (cycle-indexed), where ``transitions[d, k]`` moves the cohort from trace row k to row
    k + 1 during cycle k (k = 0..n − 1; heemod's ``markov_cycle`` is k + 1). Rows are "from", columns "to".
    A time-dependent model with a single draw is ``(1, n, S, S)``. A draw axis of length 1 broadcasts.
``trace``
    ``(D, n + 1, S)``: state membership at t_j = j·Δt, j = 0..n, **including cycle 0** (the initial
    distribution). Rows stay on the probability simplex.
state values
    per **year** in a state (a utility of 0.8 is 0.8 QALYs per year; a cost of 1,200 is 1,200 per year), given
    as ``(S,)``, ``(D, S)`` or ``(D, c, S)`` for values that change with the cycle (c = number of counted
    cycles: n, or n + 1 under ``"none"``). A cycle contributes value × Δt × (corrected) membership.

Counting conventions (:func:`cycle_weights`; ``method`` is always explicit)
--------------------------------------------------------------------------
The membership counted for cycle k (the interval [kΔt, (k + 1)Δt)) is a combination of trace rows:

``"start"``
    row k: the membership at the start of the cycle (what heemod's ``method = "end"`` counted in its 2019
    vignettes; the convention of Briggs et al.'s total hip replacement exercise). Weights on rows 0..n: 1, …, 1, 0.
``"end"``
    row k + 1: the membership at the end of the cycle, after its transitions (the convention of Briggs et al.'s
    HIV exercise; heemod's ``method = "beginning"`` in its 2019 vignettes). Weights: 0, 1, …, 1.
``"half-cycle"``
    (row k + row k + 1)/2: the trapezoidal rule, i.e. the half-cycle correction. Weights: ½, 1, …, 1, ½.
``"simpson"``
    Simpson's 1/3 rule: cycles are taken in pairs (2m, 2m + 1) and each is the integral of the parabola
    through rows 2m, 2m + 1, 2m + 2 over its own interval, (5, 8, −1)/12 and (−1, 8, 5)/12, so a pair sums to
    Simpson's (1, 4, 1)/3. With an odd number of cycles the last one integrates the parabola through the last
    three rows, (−1, 8, 5)/12; with a single cycle it falls back to the trapezoid. Weights for even n:
    ⅓, ⁴⁄₃, ⅔, ⁴⁄₃, …, ⁴⁄₃, ⅓ (Elbasha & Chhatwal 2016). Exact for polynomial membership up to degree 2.
    A single cycle's share can be slightly negative when membership changes abruptly; totals are not.
``"none"``
    no correction, the uncorrected sum of Sonnenberg & Beck (1993): every row 0..n counted in full as if each
    began a cycle (n + 1 cycles' worth for n cycles; the last, "cycle n", is a stub at t = nΔt). The half-cycle
    correction is this minus half the first and half the last row.

Every method except ``"none"`` gives weights that sum to n, so a constant stream is counted exactly.

Discounting (``timing``, always explicit; :mod:`atmp_hta.discounting`)
----------------------------------------------------------------------
A cycle's value is discounted at the annual ``discount_rate`` r as one amount accrued over [kΔt, (k + 1)Δt):
``"start"`` at its start, (1 + r)^(−kΔt); ``"end"`` at its end, (1 + r)^(−(k + 1)Δt); ``"continuous"``
spread evenly over it (the average of e^(−ρt), ρ = ln(1 + r)). Counting and discounting are separate
choices: Briggs et al.'s HIV exercise counts at the end of each cycle and discounts at the end; their hip
replacement exercise counts at the start and discounts at the start. Costs and effects take their own rates:
call :func:`state_values` once for each.

Transition costs (:func:`transition_values`) are one-off amounts per transition, on the flows
trace[k, i] · P_k[i, j] of cycle k, discounted at the start or the end of the cycle in which they happen.

Rates to probabilities
----------------------
One rate r over a cycle: p = 1 − e^(−rΔt) (:func:`probability_from_rate`). Several competing rates out of a
state must not be converted one by one (the probabilities would ignore each other and rows could sum to more
than 1): :func:`transitions_from_rates` takes the generator of a continuous-time Markov chain (off-diagonal
rates q_ij, diagonal −Σ_j q_ij) and returns P = expm(QΔt) (``scipy.linalg.expm``), the exact transition
probabilities when rates are constant within the cycle, including paths with several jumps in one cycle
(A → B → C). ``method="competing"`` instead allows one jump per cycle, p_ij = (q_ij / q_i)(1 − e^(−q_i Δt)),
which equals the matrix exponential when every destination is absorbing within the cycle.

References
----------
Briggs A, Claxton K, Sculpher M. Decision Modelling for Health Economic Evaluation. OUP, 2006, ch. 2-3.
Sonnenberg FA, Beck JR. Markov models in medical decision making. Med Decis Making 1993;13:322-38.
Elbasha EH, Chhatwal J. Myths and misconceptions of within-cycle correction: a guide for modelers and
decision makers. PharmacoEconomics 2016;34:13-22.
Filipović-Pierucci A, Zarca K, Durand-Zaleski I. Markov models for health economic evaluations: the R package
heemod. arXiv:1702.03252, 2017.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from atmp_hta.discounting import annuity_factor, check_timing, discount_factors
from atmp_hta.exceptions import invalid

__all__ = [
    "COUNTING_METHODS",
    "ROW_SUM_TOLERANCE",
    "cycle_weights",
    "cycle_allocation",
    "cycle_times",
    "probability_from_rate",
    "rate_from_probability",
    "transitions_from_rates",
    "add_background_mortality",
    "simulate_trace",
    "cycle_discount_factors",
    "state_values",
    "transition_values",
    "discounted_one_off",
]

COUNTING_METHODS = ("none", "start", "end", "half-cycle", "simpson")
ROW_SUM_TOLERANCE = 1e-9  # rows of a transition matrix (and the initial distribution) sum to 1 within this
_PROBABILITY_SLACK = 1e-12  # round-off allowed outside [0, 1] (a complement computed as 1 - sum)


# --------------------------------------------------------------------------------------------- counting
def _check_n_cycles(n_cycles, where):
    if isinstance(n_cycles, bool) or not isinstance(n_cycles, (int, np.integer)) or n_cycles < 1:
        raise invalid("n_cycles", "an integer >= 1", n_cycles, where)
    return int(n_cycles)


def _check_method(method, where):
    if method not in COUNTING_METHODS:
        raise invalid("method", f"one of {', '.join(map(repr, COUNTING_METHODS))}", method, where)
    return method


def _allocation(n: int, method: str) -> np.ndarray:
    """(cycles counted, n + 1) matrix: the membership of counted cycle k is Σ_j A[k, j] · trace[j]."""
    if method == "none":
        return np.eye(n + 1)
    a = np.zeros((n, n + 1))
    k = np.arange(n)
    if method == "start":
        a[k, k] = 1.0
    elif method == "end":
        a[k, k + 1] = 1.0
    elif method == "half-cycle" or (method == "simpson" and n == 1):
        a[k, k] = 0.5
        a[k, k + 1] = 0.5
    else:  # simpson
        for m in range(0, n - 1, 2):
            a[m, m:m + 3] = (5.0 / 12, 8.0 / 12, -1.0 / 12)
            a[m + 1, m:m + 3] = (-1.0 / 12, 8.0 / 12, 5.0 / 12)
        if n % 2 == 1:
            a[n - 1, n - 2:n + 1] = (-1.0 / 12, 8.0 / 12, 5.0 / 12)
    return a


def cycle_allocation(n_cycles: int, method: str) -> np.ndarray:
    """Matrix A with the membership counted for cycle k equal to Σ_j A[k, j] · trace[j] (see module docstring).

    Shape ``(n_cycles, n_cycles + 1)``, or ``(n_cycles + 1, n_cycles + 1)`` (the identity) for ``"none"``.

    Examples
    --------
    >>> cycle_allocation(2, "half-cycle")
    array([[0.5, 0.5, 0. ],
           [0. , 0.5, 0.5]])
    """
    where = "cycle_allocation"
    return _allocation(_check_n_cycles(n_cycles, where), _check_method(method, where))


def cycle_weights(n_cycles: int, method: str) -> np.ndarray:
    """Weight of each trace row 0..n_cycles in an undiscounted total, in cycles (multiply by Δt for years).

    Parameters
    ----------
    n_cycles : int
        Number of cycles n >= 1 (the trace has n + 1 rows).
    method : {"none", "start", "end", "half-cycle", "simpson"}
        Counting convention, defined in the module docstring.

    Returns
    -------
    ndarray of shape (n_cycles + 1,)
        Column sums of :func:`cycle_allocation`. They add up to n (n + 1 for ``"none"``).

    Examples
    --------
    >>> cycle_weights(4, "half-cycle")
    array([0.5, 1. , 1. , 1. , 0.5])
    >>> cycle_weights(4, "simpson") * 3
    array([1., 4., 2., 4., 1.])
    >>> cycle_weights(3, "end")
    array([0., 1., 1., 1.])
    """
    return cycle_allocation(n_cycles, method).sum(axis=0)


def cycle_times(n_cycles: int, cycle_length: float = 1.0) -> np.ndarray:
    """Times t_j = j·Δt of the trace rows, j = 0..n_cycles, in years.

    Examples
    --------
    >>> cycle_times(3, 0.5)
    array([0. , 0.5, 1. , 1.5])
    """
    where = "cycle_times"
    n = _check_n_cycles(n_cycles, where)
    return np.arange(n + 1) * _check_cycle_length(cycle_length, where)


def _check_cycle_length(cycle_length, where):
    try:
        value = float(cycle_length)
    except (TypeError, ValueError):
        raise invalid("cycle_length", "a number of years > 0", cycle_length, where) from None
    if not np.isfinite(value) or value <= 0:
        raise invalid("cycle_length", "a number of years > 0", cycle_length, where)
    return value


# ------------------------------------------------------------------------------------- rates and checks
def _first_bad(array, bad):
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return float(array[index]), list(index)


def probability_from_rate(rate, cycle_length: float = 1.0):
    """Probability of at least one event in a cycle at a constant ``rate`` per year: p = 1 − e^(−r·Δt).

    Examples
    --------
    >>> round(float(probability_from_rate(0.1)), 6)
    0.095163
    """
    where = "probability_from_rate"
    dt = _check_cycle_length(cycle_length, where)
    rate = np.asarray(rate, dtype=float)
    bad = ~np.isfinite(rate) | (rate < 0)
    if bad.any():
        value, index = _first_bad(np.atleast_1d(rate), np.atleast_1d(bad))
        raise invalid("rate", "a finite rate per year >= 0", value, where)
    return -np.expm1(-rate * dt)


def rate_from_probability(probability, cycle_length: float = 1.0):
    """Constant rate per year giving ``probability`` of an event within a cycle: r = −ln(1 − p)/Δt.

    Examples
    --------
    >>> round(float(rate_from_probability(probability_from_rate(0.25, 0.5), 0.5)), 12)
    0.25
    """
    where = "rate_from_probability"
    dt = _check_cycle_length(cycle_length, where)
    p = np.asarray(probability, dtype=float)
    bad = ~np.isfinite(p) | (p < 0) | (p >= 1)
    if bad.any():
        value, _ = _first_bad(np.atleast_1d(p), np.atleast_1d(bad))
        raise invalid("probability", "in [0, 1)", value, where)
    return -np.log1p(-p) / dt


def transitions_from_rates(rates, cycle_length: float = 1.0, method: str = "expm"):
    """Transition probabilities over one cycle from competing transition rates (per year).

    Parameters
    ----------
    rates : ndarray of shape (..., S, S)
        ``rates[..., i, j]`` is the rate from state i to state j (i ≠ j), >= 0. The diagonal is ignored and
        replaced by minus the row sum of the off-diagonal rates (so a generator matrix may be passed as is).
    cycle_length : float
        Δt in years.
    method : {"expm", "competing"}
        ``"expm"``: P = expm(Q·Δt), exact for a continuous-time chain with constant rates over the cycle,
        paths with several jumps included. ``"competing"``: at most one jump per cycle,
        p_ij = (q_ij / q_i)(1 − e^(−q_i Δt)), p_ii = e^(−q_i Δt).

    Returns
    -------
    ndarray of the same shape, rows summing to 1.

    Examples
    --------
    >>> q = [[0, 0.2, 0.1], [0, 0, 0.3], [0, 0, 0]]
    >>> transitions_from_rates(q).sum(axis=-1).round(12)
    array([1., 1., 1.])
    >>> bool(transitions_from_rates(q)[0, 2] > transitions_from_rates(q, method="competing")[0, 2])
    True
    """
    where = "transitions_from_rates"
    dt = _check_cycle_length(cycle_length, where)
    if method not in ("expm", "competing"):
        raise invalid("method", "'expm' or 'competing'", method, where)
    q = np.array(rates, dtype=float)
    if q.ndim < 2 or q.shape[-1] != q.shape[-2]:
        raise invalid("rates", "an array of shape (..., S, S)", q.shape, where)
    s = q.shape[-1]
    off = ~np.eye(s, dtype=bool)
    bad = (~np.isfinite(q) | (q < 0)) & off
    if bad.any():
        value, index = _first_bad(q, bad)
        raise invalid("rates", "finite rates per year >= 0 off the diagonal", value, f"{where} (entry {index})")
    q[..., ~off] = 0.0
    total = q.sum(axis=-1)
    if method == "expm":
        q[..., np.arange(s), np.arange(s)] = -total
        return linalg.expm(q * dt)
    leave = -np.expm1(-total * dt)
    share = np.divide(q, total[..., None], out=np.zeros_like(q), where=total[..., None] > 0)
    p = share * leave[..., None]
    p[..., np.arange(s), np.arange(s)] = 1.0 - leave
    return p


def _as_transitions(transitions, where, name="transitions"):
    """Return a (D, C, S, S) view (C = 1 for constant matrices) and whether it is time-dependent."""
    p = np.asarray(transitions, dtype=float)
    if p.ndim == 2:
        p = p[None, None]
    elif p.ndim == 3:
        p = p[:, None]
    elif p.ndim != 4:
        raise invalid(name, "an array of shape (S, S), (draws, S, S) or (draws, cycles, S, S)", p.shape, where)
    if p.shape[-1] != p.shape[-2]:
        raise invalid(name, "square matrices (S, S) on the last two axes", p.shape, where)
    return p


def _check_probabilities(p, where, name="transitions"):
    bad = ~np.isfinite(p) | (p < -_PROBABILITY_SLACK) | (p > 1 + _PROBABILITY_SLACK)
    if bad.any():
        value, index = _first_bad(p, bad)
        raise invalid(name, "probabilities in [0, 1]", value, f"{where} (entry {index})")
    sums = p.sum(axis=-1)
    off = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
    if off.any():
        value, index = _first_bad(sums, off)
        raise invalid(name, f"matrices whose rows sum to 1 (within {ROW_SUM_TOLERANCE:g})", value,
                      f"{where} (row {index})")


def add_background_mortality(transitions, death_probabilities, dead_state: int):
    """Add general-population deaths to disease-specific transition matrices, cycle by cycle.

    Parameters
    ----------
    transitions : ndarray of shape (S, S), (D, S, S) or (D, n, S, S)
        Disease-specific transition probabilities (deaths from other causes excluded); the row of
        ``dead_state`` must be absorbing.
    death_probabilities : ndarray of shape (n,) or (D, n)
        Background probability q_k of dying in cycle k (e.g. from
        :func:`atmp_hta.life_tables.background_death_probabilities`).
    dead_state : int
        Index of the death state.

    Returns
    -------
    ndarray of shape (D, n, S, S)

    Notes
    -----
    The two causes act independently: from a living state i, surviving the cycle needs surviving both, so
    P'_i,dead = 1 − (1 − q_k)(1 − P_i,dead) and P'_ij = (1 − q_k) P_ij for j ≠ dead. Rows still sum to 1.

    Examples
    --------
    >>> p = [[0.9, 0.1, 0.0], [0.0, 0.8, 0.2], [0.0, 0.0, 1.0]]
    >>> out = add_background_mortality(p, [0.01, 0.02], dead_state=2)
    >>> out.shape, out.sum(axis=-1).round(12).min()
    ((1, 2, 3, 3), np.float64(1.0))
    """
    where = "add_background_mortality"
    p = _as_transitions(transitions, where)
    _check_probabilities(p, where)
    s = p.shape[-1]
    if isinstance(dead_state, bool) or not isinstance(dead_state, (int, np.integer)) or not 0 <= dead_state < s:
        raise invalid("dead_state", f"a state index in 0..{s - 1}", dead_state, where)
    if np.any(np.abs(p[..., dead_state, dead_state] - 1.0) > ROW_SUM_TOLERANCE):
        raise invalid("transitions", "an absorbing death state (probability 1 of staying dead)",
                      float(p[..., dead_state, dead_state].ravel()[0]), where)
    q = np.asarray(death_probabilities, dtype=float)
    if q.ndim == 1:
        q = q[None]
    if q.ndim != 2:
        raise invalid("death_probabilities", "an array of shape (cycles,) or (draws, cycles)", q.shape, where)
    bad = ~np.isfinite(q) | (q < 0) | (q > 1)
    if bad.any():
        value, index = _first_bad(q, bad)
        raise invalid("death_probabilities", "probabilities in [0, 1]", value, f"{where} (entry {index})")
    n = q.shape[1]
    if p.shape[1] not in (1, n):
        raise invalid("transitions", f"{n} cycles (one per death probability) or constant", p.shape[1], where)
    survive = (1.0 - q)[:, :, None, None]
    out = np.broadcast_to(p * survive, np.broadcast_shapes(p.shape, survive.shape)).copy()
    out[..., dead_state] = 1.0 - (1.0 - q)[:, :, None] * (1.0 - p[..., dead_state])
    living = np.arange(s) != dead_state
    out[..., ~living, :] = p[..., ~living, :]
    return out


# ------------------------------------------------------------------------------------------------ trace
def _check_initial(initial, s, where):
    x = np.asarray(initial, dtype=float)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[-1] != s:
        raise invalid("initial", f"an array of shape ({s},) or (draws, {s})", x.shape, where)
    bad = ~np.isfinite(x) | (x < 0) | (x > 1)
    if bad.any():
        value, index = _first_bad(x, bad)
        raise invalid("initial", "proportions in [0, 1]", value, f"{where} (entry {index})")
    sums = x.sum(axis=-1)
    off = np.abs(sums - 1.0) > ROW_SUM_TOLERANCE
    if off.any():
        value, index = _first_bad(sums, off)
        raise invalid("initial", f"proportions that sum to 1 (within {ROW_SUM_TOLERANCE:g})", value,
                      f"{where} (draw {index})")
    return x


def _draws(*counts, where):
    sizes = {c for c in counts if c != 1}
    if len(sizes) > 1:
        raise invalid("draws", "the same number of draws in every argument (or 1)", sorted(sizes), where)
    return sizes.pop() if sizes else 1


def simulate_trace(transitions, initial, n_cycles: int) -> np.ndarray:
    """Markov trace: state membership at the start (row 0) and after each of ``n_cycles`` cycles.

    Parameters
    ----------
    transitions : ndarray of shape (S, S), (D, S, S) or (D, n_cycles, S, S)
        Transition probabilities; rows (from) sum to 1. A 4-D array is cycle-indexed:
        ``transitions[:, k]`` applies in cycle k, from row k to row k + 1.
    initial : ndarray of shape (S,) or (D, S)
        Membership at t = 0, summing to 1.
    n_cycles : int
        Number of cycles n >= 1.

    Returns
    -------
    ndarray of shape (D, n_cycles + 1, S)
        ``trace[:, 0]`` is ``initial``; ``trace[:, k + 1] = trace[:, k] @ transitions[:, k]``.

    Raises
    ------
    ParameterError
        Entries outside [0, 1], rows not summing to 1 within 1e-9, a cycle axis that is not n_cycles long,
        or draw axes that do not match.

    Examples
    --------
    >>> p = [[0.9, 0.1], [0.0, 1.0]]
    >>> simulate_trace(p, [1.0, 0.0], 2)[0]
    array([[1.  , 0.  ],
           [0.9 , 0.1 ],
           [0.81, 0.19]])
    """
    where = "simulate_trace"
    n = _check_n_cycles(n_cycles, where)
    p = _as_transitions(transitions, where)
    if p.shape[1] not in (1, n):
        raise invalid("transitions", f"a cycle axis of length n_cycles = {n} (or a constant matrix)",
                      p.shape[1], where)
    _check_probabilities(p, where)
    x = _check_initial(initial, p.shape[-1], where)
    _draws(p.shape[0], x.shape[0], where=where)
    return _trace(p, x, n)


def _trace(p, x, n):
    """Kernel of :func:`simulate_trace`: p of shape (Dp, 1 or n, S, S), x of shape (Dx, S)."""
    d = max(p.shape[0], x.shape[0])
    s = x.shape[-1]
    out = np.empty((d, n + 1, s))
    out[:, 0] = x
    constant = p.shape[1] == 1
    for k in range(n):
        pk = p[:, 0] if constant else p[:, k]
        out[:, k + 1] = np.matmul(out[:, k, None, :], pk)[:, 0]
    return out


# ------------------------------------------------------------------------------------------ discounting
def _check_rate(rate, where, name="discount_rate"):
    r = np.asarray(rate, dtype=float)
    if r.ndim > 1:
        raise invalid(name, "a number or an array over draws", r.shape, where)
    bad = ~np.isfinite(r) | (r < 0) | (r >= 1)
    if bad.any():
        raise invalid(name, "in [0, 1)", float(np.atleast_1d(r)[np.atleast_1d(bad)][0]), where)
    return r


def _discount(starts, dt, rate, timing):
    """(1 or D, c) factors for values accrued over [s, s + dt) for each s in ``starts`` (kernel)."""
    r = np.reshape(rate, (-1, 1))
    if timing == "start":
        return discount_factors(starts[None, :], r, "start")
    if timing == "end":
        return discount_factors(starts[None, :] + dt, r, "start")
    spread = annuity_factor(np.float64(dt), r, "continuous") / dt
    return discount_factors(starts[None, :], r, "start") * spread


def cycle_discount_factors(n_cycles: int, discount_rate, timing: str, cycle_length: float = 1.0,
                           method: str = "start") -> np.ndarray:
    """Discount factor of each counted cycle (see "Discounting" in the module docstring).

    Returns
    -------
    ndarray of shape (1 or D, c): c = n_cycles, or n_cycles + 1 for ``method="none"``.

    Examples
    --------
    >>> cycle_discount_factors(3, 0.06, "end").round(6)
    array([[0.943396, 0.889996, 0.839619]])
    """
    where = "cycle_discount_factors"
    n = _check_n_cycles(n_cycles, where)
    _check_method(method, where)
    check_timing(timing, where)
    dt = _check_cycle_length(cycle_length, where)
    c = n + 1 if method == "none" else n
    return _discount(np.arange(c) * dt, dt, _check_rate(discount_rate, where), timing)


# ------------------------------------------------------------------------------------------------ values
def _check_trace(trace, where):
    t = np.asarray(trace, dtype=float)
    if t.ndim == 2:
        t = t[None]
    if t.ndim != 3 or t.shape[1] < 2:
        raise invalid("trace", "an array of shape (draws, n_cycles + 1, S) with n_cycles >= 1", t.shape, where)
    if not np.isfinite(t.sum()):  # a sum is finite when every (bounded) entry is
        raise invalid("trace", "finite state membership", "non-finite values", where)
    return t


def _check_values(values, c, s, where, name="values"):
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[None, None]
    elif v.ndim == 2:
        v = v[:, None]
    elif v.ndim != 3:
        raise invalid(name, f"an array of shape (S,), (draws, S) or (draws, {c}, S)", v.shape, where)
    if v.shape[-1] != s or v.shape[1] not in (1, c):
        raise invalid(name, f"an array of shape ({s},), (draws, {s}) or (draws, {c}, {s})", v.shape, where)
    if not np.all(np.isfinite(v)):
        raise invalid(name, "finite values", "non-finite values", where)
    return v


def state_values(trace, values, *, method: str, timing: str, discount_rate=0.0,
                 cycle_length: float = 1.0, by_cycle: bool = False) -> np.ndarray:
    """Discounted total of per-year state values (QALYs, life-years, costs) over a trace.

    Parameters
    ----------
    trace : ndarray of shape (D, n + 1, S)
        From :func:`simulate_trace` or :func:`atmp_hta.survival.partitioned_survival`.
    values : ndarray of shape (S,), (D, S) or (D, c, S)
        Value per year in each state; the 3-D form changes with the counted cycle (c = n, or n + 1 for
        ``"none"``).
    method : {"none", "start", "end", "half-cycle", "simpson"}
        Counting convention (module docstring).
    timing : {"start", "end", "continuous"}
        When a cycle's value is discounted (module docstring).
    discount_rate : float or ndarray of shape (D,)
        Annual rate in [0, 1); give costs and effects their own rates by calling this once for each.
    cycle_length : float
        Δt in years.
    by_cycle : bool
        Return the discounted value of each counted cycle instead of the total.

    Returns
    -------
    ndarray of shape (D,) or, with ``by_cycle``, (D, c)

    Notes
    -----
    total_d = Σ_k δ_k · Δt · Σ_j A[k, j] Σ_s trace[d, j, s] · values[d, k, s], with A from
    :func:`cycle_allocation` and δ_k from :func:`cycle_discount_factors`.

    Examples
    --------
    >>> tr = simulate_trace([[0.9, 0.1], [0.0, 1.0]], [1.0, 0.0], 2)
    >>> state_values(tr, [1.0, 0.0], method="end", timing="end")   # life-years 0.9 + 0.81
    array([1.71])
    """
    where = "state_values"
    _check_method(method, where)
    check_timing(timing, where)
    dt = _check_cycle_length(cycle_length, where)
    tr = _check_trace(trace, where)
    n = tr.shape[1] - 1
    a = _allocation(n, method)
    c = a.shape[0]
    v = _check_values(values, c, tr.shape[-1], where)
    rate = _check_rate(discount_rate, where)
    _draws(tr.shape[0], v.shape[0], int(np.size(rate)) if np.ndim(rate) else 1, where=where)
    delta = _discount(np.arange(c) * dt, dt, rate, timing)
    return _state_values(tr, v, a, delta, dt, by_cycle)


def _state_values(tr, v, a, delta, dt, by_cycle):
    """Kernel of :func:`state_values` (no checks)."""
    if v.shape[1] == 1 and not by_cycle:
        # values constant over time: fold counting and discounting into one weight per trace row
        row_weight = (delta * dt) @ a  # (1 or D, n + 1)
        per_row = tr @ v[0, 0] if v.shape[0] == 1 else np.matmul(tr, v[:, 0, :, None])[..., 0]  # (D, n + 1)
        if row_weight.shape[0] == 1:
            return per_row @ row_weight[0]
        return (row_weight * per_row).sum(axis=1)
    occupancy = np.einsum("kj,djs->dks", a, tr)  # corrected membership of each counted cycle
    out = (occupancy * v).sum(axis=-1) * delta * dt
    return out if by_cycle else out.sum(axis=1)


def transition_values(trace, transitions, values, *, timing: str, discount_rate=0.0,
                      cycle_length: float = 1.0, by_cycle: bool = False) -> np.ndarray:
    """Discounted total of one-off amounts paid on transitions (e.g. the cost of a revision operation).

    Parameters
    ----------
    trace : ndarray of shape (D, n + 1, S)
        The trace made by ``transitions``.
    transitions : ndarray of shape (S, S), (D, S, S) or (D, n, S, S)
        The matrices used by :func:`simulate_trace`.
    values : ndarray of shape (S, S), (D, S, S) or (D, n, S, S)
        ``values[..., i, j]``: one-off amount per transition from i to j (the diagonal, if non-zero, is paid
        by those who stay).
    timing : {"start", "end", "continuous"}
        Transitions of cycle k are discounted at the start or the end of that cycle (or spread over it).
    discount_rate, cycle_length, by_cycle
        As in :func:`state_values`.

    Returns
    -------
    ndarray of shape (D,) or, with ``by_cycle``, (D, n)

    Notes
    -----
    total_d = Σ_k δ_k Σ_ij trace[d, k, i] · P_k[d, i, j] · values[d, k, i, j] (no Δt: amounts are one-off).

    Examples
    --------
    >>> p = [[0.9, 0.1], [0.0, 1.0]]
    >>> tr = simulate_trace(p, [1.0, 0.0], 2)
    >>> transition_values(tr, p, [[0, 100.0], [0, 0]], timing="end")   # 100 x (0.1 + 0.09)
    array([19.])
    """
    where = "transition_values"
    check_timing(timing, where)
    dt = _check_cycle_length(cycle_length, where)
    tr = _check_trace(trace, where)
    n = tr.shape[1] - 1
    p = _as_transitions(transitions, where)
    if p.shape[1] not in (1, n):
        raise invalid("transitions", f"a cycle axis of length {n} (or a constant matrix)", p.shape[1], where)
    _check_probabilities(p, where)
    v = _as_transitions(values, where, name="values")
    if v.shape[-1] != p.shape[-1] or v.shape[1] not in (1, n):
        raise invalid("values", f"an array of shape (S, S), (draws, S, S) or (draws, {n}, S, S) with "
                      f"S = {p.shape[-1]}", v.shape, where)
    if not np.all(np.isfinite(v)):
        raise invalid("values", "finite amounts", "non-finite values", where)
    rate = _check_rate(discount_rate, where)
    _draws(tr.shape[0], p.shape[0], v.shape[0], int(np.size(rate)) if np.ndim(rate) else 1, where=where)
    delta = _discount(np.arange(n) * dt, dt, rate, timing)
    d = max(tr.shape[0], p.shape[0], v.shape[0])
    per_cycle = np.empty((d, n))
    pv_constant = None
    if p.shape[1] == 1 and v.shape[1] == 1:
        pv_constant = (p[:, 0] * v[:, 0]).sum(axis=-1)  # (D, S): expected amount per member of state i
    for k in range(n):
        pv = pv_constant if pv_constant is not None else \
            (p[:, 0 if p.shape[1] == 1 else k] * v[:, 0 if v.shape[1] == 1 else k]).sum(axis=-1)
        per_cycle[:, k] = np.einsum("di,di->d", np.broadcast_to(tr[:, k], (d, tr.shape[-1])),
                                    np.broadcast_to(pv, (d, tr.shape[-1])))
    out = per_cycle * delta
    return out if by_cycle else out.sum(axis=1)


def discounted_one_off(value, time, discount_rate) -> np.ndarray:
    """A one-off amount paid at ``time`` years, discounted: value · (1 + r)^(−time).

    Examples
    --------
    >>> round(float(discounted_one_off(1000.0, 2.0, 0.035)), 4)
    933.5107
    """
    where = "discounted_one_off"
    time = np.asarray(time, dtype=float)
    if np.any(~np.isfinite(time)) or np.any(time < 0):
        raise invalid("time", "a finite time in years >= 0", float(np.ravel(time)[0]), where)
    rate = _check_rate(discount_rate, where)
    return np.asarray(value, dtype=float) * discount_factors(time, rate, "start")

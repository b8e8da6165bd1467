"""Discounting of health and cost streams.

Three timing conventions, chosen explicitly everywhere (``DESIGN.md``):

``"end"``
    each year's value is counted at the end of that year (the usual spreadsheet convention);
``"start"``
    each year's value is counted at its start (annuity due);
``"continuous"``
    value accrues continuously and is discounted with the force of interest ρ = ln(1 + rate), so an
    annual rate means the same effective rate under every convention.

All functions broadcast over their array arguments, so a draw axis passes through unchanged.
"""

from __future__ import annotations

import numpy as np

from atmp_hta.exceptions import invalid

__all__ = ["TIMINGS", "discount_factors", "discounted_qalys", "annuity_factor", "check_timing"]

TIMINGS = ("start", "end", "continuous")


def check_timing(timing: str, where: str) -> str:
    if timing not in TIMINGS:
        raise invalid("timing", f"one of {', '.join(map(repr, TIMINGS))}", timing, where)
    return timing


def _check_rate(rate, where: str) -> np.ndarray:
    rate = np.asarray(rate, dtype=float)
    if np.any(~np.isfinite(rate)) or np.any(rate < 0) or np.any(rate >= 1):
        bad = rate[(~np.isfinite(rate)) | (rate < 0) | (rate >= 1)].ravel()[0]
        raise invalid("rate", "in [0, 1)", float(bad), where)
    return rate


def _nonneg(name: str, value, where: str) -> np.ndarray:
    value = np.asarray(value, dtype=float)
    if np.any(~np.isfinite(value)) or np.any(value < 0):
        bad = value[(~np.isfinite(value)) | (value < 0)].ravel()[0]
        raise invalid(name, "a finite number >= 0", float(bad), where)
    return value


_TINY_RATE = 1e-12  # below this the closed forms lose precision; the stream is counted undiscounted


def _annuity(years, rate, timing):
    """Present value at time 0 of one unit per year for ``years`` years (kernel, no checks)."""
    rho = np.log1p(rate)  # v**x == exp(-rho * x), much cheaper than a power of two arrays
    positive = rate > _TINY_RATE
    if timing == "continuous":
        safe_rho = np.where(positive, rho, 1.0)
        return np.where(positive, -np.expm1(-safe_rho * years) / safe_rho, years)
    safe_rate = np.where(positive, rate, 1.0)
    whole = np.floor(years)
    frac = years - whole
    # 1 - v^m, computed without cancellation
    one_minus_vm = -np.expm1(-rho * whole)
    if timing == "end":
        # sum_{k=1}^{m} v^k + f v^(m+f)
        geometric = np.where(positive, one_minus_vm / safe_rate, whole)
        return geometric + frac * np.exp(-rho * years)
    # start: sum_{k=0}^{m-1} v^k + f v^m
    geometric = np.where(positive, one_minus_vm * (1.0 + rate) / safe_rate, whole)
    return geometric + frac * np.exp(-rho * whole)


def annuity_factor(years, rate, timing: str = "end"):
    """Present value of one unit per year for ``years`` years starting now.

    Examples
    --------
    >>> round(float(annuity_factor(10, 0.035, "end")), 4)   # annuity tables: 8.3166
    8.3166
    """
    check_timing(timing, "annuity_factor")
    return _annuity(_nonneg("years", years, "annuity_factor"), _check_rate(rate, "annuity_factor"), timing)


def discounted_qalys(utility, years, rate, timing: str = "end", start=0.0):
    """Discounted QALYs of a constant ``utility`` held for ``years`` years, beginning at ``start``.

    Parameters
    ----------
    utility : float or ndarray
        Health-state utility (1 = full health); may be negative (states worse than death).
    years : float or ndarray
        Duration in years, >= 0. A fractional last year is counted pro rata.
    rate : float or ndarray
        Annual discount rate in [0, 1).
    timing : {"end", "start", "continuous"}
        Discounting convention (see module docstring).
    start : float or ndarray
        Time in years at which the stream begins (onset), >= 0.

    Returns
    -------
    ndarray
        Discounted QALYs, broadcast over the arguments.

    Notes
    -----
    With v = 1/(1+r), m = floor(years) and f = years - m:

    - end:        u · v^s · [(1 - v^m)/r + f · v^(m+f)]
    - start:      u · v^s · [(1 - v^m)(1 + r)/r + f · v^m]
    - continuous: u · e^(-ρ s) · (1 - e^(-ρ·years))/ρ with ρ = ln(1 + r)

    and u · years at r = 0 under every convention.

    References
    ----------
    Drummond MF et al. Methods for the Economic Evaluation of Health Care Programmes, 4th ed., 2015, ch. 4.

    Examples
    --------
    >>> round(float(discounted_qalys(0.8, 10, 0.035)), 4)
    6.6533
    >>> float(discounted_qalys(0.8, 10, 0.0))
    8.0
    """
    where = "discounted_qalys"
    check_timing(timing, where)
    rate = _check_rate(rate, where)
    years = _nonneg("years", years, where)
    start = _nonneg("start", start, where)
    utility = np.asarray(utility, dtype=float)
    return _discounted_qalys(utility, years, rate, timing, start)


def _discounted_qalys(utility, years, rate, timing, start):
    """Kernel of :func:`discounted_qalys` (no checks)."""
    lead = np.exp(-np.log1p(rate) * start)  # (1 + r)^(-start), also e^(-rho start) for continuous
    return utility * lead * _annuity(years, rate, timing)


def discount_factors(times, rate, timing: str = "end"):
    """Discount factor for one unit of value accrued over the year that begins at each of ``times``.

    ``"start"`` counts it at ``t``, ``"end"`` at ``t + 1``, ``"continuous"`` spreads it evenly over
    [t, t + 1). Summing the factors for t = s, s + 1, ..., s + n - 1 gives ``discounted_qalys(1, n, rate,
    timing, start=s)``.

    Examples
    --------
    >>> discount_factors([0, 1, 2], 0.05, "start").round(4)
    array([1.    , 0.9524, 0.907 ])
    """
    where = "discount_factors"
    check_timing(timing, where)
    rate = _check_rate(rate, where)
    times = np.asarray(times, dtype=float)
    if timing == "start":
        return (1.0 + rate) ** (-times)
    if timing == "end":
        return (1.0 + rate) ** (-(times + 1.0))
    rho = np.log1p(rate)
    safe_rho = np.where(rate > _TINY_RATE, rho, 1.0)
    per_year = np.where(rate > _TINY_RATE, -np.expm1(-safe_rho) / safe_rho, 1.0)
    return np.exp(-rho * times) * per_year

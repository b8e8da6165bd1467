"""Continuous surrogate endpoints: exact t-test power and sample size, and log-normal biomarkers.

A pharmacodynamic surrogate such as Factor IX activity after a liver-directed AAV vector is log-normal:
it is analysed on the log scale, where a geometric-mean ratio becomes a difference of means and the
coefficient of variation fixes the log-scale standard deviation. Power comes from the noncentral t
distribution (no normal approximation), following R's ``pwr.t.test`` / ``power.t.test``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from atmp_hta.exceptions import invalid
from atmp_hta.planners.surrogate._checks import (
    as_float_array,
    check_choice,
    check_positive,
    check_probability_open,
    first_bad,
)

__all__ = [
    "DESIGNS",
    "ALTERNATIVES",
    "ttest_power",
    "ttest_sample_size",
    "log_sd_from_cv",
    "cv_from_log_sd",
    "lognormal_from_arithmetic",
    "arithmetic_from_lognormal",
    "gmr_sample_size",
    "prob_above_threshold",
    "power_curve_table",
    "sample_size_table",
]

DESIGNS = ("two-sample", "paired", "one-sample")
ALTERNATIVES = ("two-sided", "greater", "less")
_N_MAX = 1e9


def _check_design(design, alternative, where):
    check_choice("design", design, DESIGNS, where)
    check_choice("alternative", alternative, ALTERNATIVES, where)


def _upper_tail(q, df, ncp):
    """P(T > q) for noncentral t; scipy returns NaN deep in a tail, where the normal limit is exact enough."""
    out = stats.nct.sf(q, df, ncp)
    return np.where(np.isnan(out), stats.norm.sf(q - ncp), out)


def _power_kernel(d, n, alpha, two_samples, alternative):
    """Noncentral-t power; arrays broadcast, no checks (see ``ttest_power``)."""
    groups = 2.0 if two_samples else 1.0
    df = (n - 1.0) * groups
    ncp = np.sqrt(n / groups) * d
    if alternative == "two-sided":
        q = stats.t.isf(alpha / 2.0, df)
        return _upper_tail(q, df, ncp) + _upper_tail(q, df, -ncp)
    if alternative == "greater":
        return _upper_tail(stats.t.isf(alpha, df), df, ncp)
    return _upper_tail(stats.t.isf(alpha, df), df, -ncp)


def ttest_power(effect_size, n, alpha=0.05, design="two-sample", alternative="two-sided"):
    """Exact power of a one-sample, paired or two-sample t-test.

    Parameters
    ----------
    effect_size : float or array_like
        Standardised effect d = (mean difference) / SD. For ``design="paired"`` the SD is that of the
        within-patient differences; for a log-normal biomarker use ``log(GMR) / log_sd``.
    n : float or array_like
        Observations per group (``"two-sample"``), pairs (``"paired"``) or observations (``"one-sample"``);
        at least 2. Non-integer n is allowed (power curves); arrays broadcast with ``effect_size``.
    alpha : float
        Significance level in (0, 1); for a two-sided test it is split equally between the tails.
    design : {"two-sample", "paired", "one-sample"}
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    float or ndarray
        Power, of the broadcast shape of ``effect_size`` and ``n``.

    Notes
    -----
    With g = 2 groups for the two-sample design (g = 1 otherwise), ν = g(n − 1) degrees of freedom and
    noncentrality δ = d √(n / g), the test statistic is noncentral t(ν, δ). Two-sided:
    power = P(T > t₁₋α/₂,ν) + P(T < −t₁₋α/₂,ν); ``"greater"``: P(T > t₁₋α,ν); ``"less"``: P(T < tα,ν).
    This is the computation of R's ``pwr.t.test`` (both tails counted in the two-sided case).

    References
    ----------
    Cohen J. Statistical Power Analysis for the Behavioral Sciences. 2nd ed. Erlbaum; 1988, ch. 2.
    Champely S. pwr: Basic Functions for Power Analysis. R package, ``pwr.t.test``.

    Examples
    --------
    >>> round(float(ttest_power(0.5, 20, alpha=0.01)), 7)  # pwr.t.test(n=20, d=0.5, sig.level=0.01)
    0.1439551
    """
    return _ttest_power(effect_size, n, alpha, design, alternative, "ttest_power")


def _ttest_power(effect_size, n, alpha, design, alternative, where, names=("effect_size", "n")):
    """:func:`ttest_power` with its checks reported as those of the public function ``where``, whose
    parameters for the effect size and n are ``names``."""
    _check_design(design, alternative, where)
    d = as_float_array(names[0], effect_size, where)
    n_arr = as_float_array(names[1], n, where)
    if np.any(n_arr < 2):
        raise invalid(names[1], ">= 2", first_bad(n_arr, n_arr < 2), where)
    a = check_probability_open("alpha", alpha, where)
    out = _power_kernel(d, n_arr, a, design == "two-sample", alternative)
    return out[()] if np.ndim(out) == 0 else out


def ttest_sample_size(effect_size, alpha=0.05, power=0.8, design="two-sample", alternative="two-sided"):
    """Unrounded number per group (pairs, observations) giving the requested t-test power.

    Parameters
    ----------
    effect_size : float or array_like
        Standardised effect d, non-zero; positive for ``alternative="greater"``, negative for ``"less"``.
    alpha : float
        Significance level in (0, 1).
    power : float
        Target power in (alpha, 1).
    design : {"two-sample", "paired", "one-sample"}
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    float or ndarray
        The n (a float, never below 2) solving ``ttest_power(effect_size, n, ...) = power``; round it up.

    Notes
    -----
    The power equation of :func:`ttest_power` is solved for n by Brent's method on [2, 10⁹], as R's
    ``pwr.t.test`` does with ``uniroot``. When n = 2 already gives more than the target power the function
    returns 2 (the smallest n for which the test exists).

    References
    ----------
    Champely S. pwr: Basic Functions for Power Analysis. R package, ``pwr.t.test``.

    Examples
    --------
    >>> round(float(ttest_sample_size(0.8, alpha=0.05, power=0.9)), 4)  # pwr.t.test(d=0.8, power=0.9)
    33.8255
    """
    return _ttest_sample_size(effect_size, alpha, power, design, alternative, "ttest_sample_size")


def _ttest_sample_size(effect_size, alpha, power, design, alternative, where, names=("effect_size", "power")):
    """:func:`ttest_sample_size` with its checks reported as those of the public function ``where``, whose
    parameters for the effect size and the power are ``names``."""
    _check_design(design, alternative, where)
    d = as_float_array(names[0], effect_size, where)
    a = check_probability_open("alpha", alpha, where)
    if np.ndim(a) != 0:
        raise invalid("alpha", "a single number", "an array", where)
    a = float(a)
    p = as_float_array(names[1], power, where)
    bad = ~((p > a) & (p < 1.0))
    if np.any(bad):
        raise invalid(names[1], "in (alpha, 1)", first_bad(p, bad), where)
    if np.any(d == 0):
        raise invalid(names[0], "a non-zero number", 0.0, where)
    if alternative == "greater" and np.any(d < 0):
        raise invalid(names[0], "> 0 for alternative='greater'", first_bad(d, d < 0), where)
    if alternative == "less" and np.any(d > 0):
        raise invalid(names[0], "< 0 for alternative='less'", first_bad(d, d > 0), where)
    two = design == "two-sample"

    def solve(d_i, p_i):
        f = lambda n: _power_kernel(d_i, n, a, two, alternative) - p_i  # noqa: E731
        if f(2.0) >= 0:
            return 2.0
        z = stats.norm.isf(a / (2.0 if alternative == "two-sided" else 1.0)) + stats.norm.isf(1.0 - p_i)
        upper = max(4.0, 2.0 * (2.0 if two else 1.0) * (z / d_i) ** 2 + 4.0)
        while f(upper) < 0:
            if upper >= _N_MAX:
                raise invalid(names[1], "reachable with n <= 1e9", float(p_i), where)
            upper = min(upper * 4.0, _N_MAX)
        return optimize.brentq(f, 2.0, upper, xtol=1e-10, rtol=1e-12)

    out = np.vectorize(solve, otypes=[float])(d, p)
    return out[()] if np.ndim(out) == 0 else out


def log_sd_from_cv(cv):
    """Log-scale SD σ of a log-normal variable with coefficient of variation ``cv``: σ = √ln(1 + CV²).

    Examples
    --------
    >>> round(float(log_sd_from_cv(0.48)), 4)
    0.4553
    """
    return _log_sd_from_cv(cv, "log_sd_from_cv")


def _log_sd_from_cv(cv, where):
    cv = check_positive("cv", cv, where)
    return np.sqrt(np.log1p(cv**2))


def cv_from_log_sd(log_sd):
    """Coefficient of variation of a log-normal variable with log-scale SD σ: CV = √(e^(σ²) − 1).

    Examples
    --------
    >>> round(float(cv_from_log_sd(log_sd_from_cv(0.3))), 12)
    0.3
    """
    s = check_positive("log_sd", log_sd, "cv_from_log_sd", allow_zero=True)
    return np.sqrt(np.expm1(s**2))


def lognormal_from_arithmetic(mean, sd):
    """Log-scale (μ, σ) of a log-normal variable from its arithmetic mean and SD.

    Notes
    -----
    σ² = ln(1 + sd²/mean²), μ = ln(mean) − σ²/2; the geometric mean is e^μ and the median too.

    Examples
    --------
    >>> mu, sigma = lognormal_from_arithmetic(39.0, 18.7)  # FIX activity, IU/dL
    >>> round(float(np.exp(mu)), 2), round(float(sigma), 4)
    (35.17, 0.4549)
    """
    where = "lognormal_from_arithmetic"
    m = check_positive("mean", mean, where)
    s = check_positive("sd", sd, where, allow_zero=True)
    sigma2 = np.log1p((s / m) ** 2)
    return np.log(m) - sigma2 / 2.0, np.sqrt(sigma2)


def arithmetic_from_lognormal(mu, sigma):
    """Arithmetic mean and SD of a log-normal variable with log-scale mean μ and SD σ.

    Notes
    -----
    mean = e^(μ + σ²/2), SD = mean · √(e^(σ²) − 1).

    Examples
    --------
    >>> m, s = arithmetic_from_lognormal(*lognormal_from_arithmetic(39.0, 18.7))
    >>> round(float(m), 10), round(float(s), 10)
    (39.0, 18.7)
    """
    where = "arithmetic_from_lognormal"
    mu = as_float_array("mu", mu, where)
    sigma = check_positive("sigma", sigma, where, allow_zero=True)
    mean = np.exp(mu + sigma**2 / 2.0)
    return mean, mean * np.sqrt(np.expm1(sigma**2))


def gmr_sample_size(gmr, cv, alpha=0.05, power=0.8, design="two-sample", alternative="two-sided"):
    """Unrounded sample size to detect a geometric-mean ratio of a log-normal biomarker.

    Parameters
    ----------
    gmr : float or array_like
        Geometric-mean ratio to detect (treated / control, or post / pre for ``"paired"``, or true
        geometric mean / reference value for ``"one-sample"``); positive and not 1.
    cv : float or array_like
        Coefficient of variation on the original scale: between patients (two-sample, one-sample) or of the
        within-patient ratio (paired).
    alpha, power, design, alternative
        As in :func:`ttest_sample_size`.

    Returns
    -------
    float or ndarray

    Notes
    -----
    d = ln(GMR) / σ with σ = √ln(1 + CV²); then :func:`ttest_sample_size` on the log scale.

    References
    ----------
    Julious SA. Sample sizes for clinical trials with Normal data. Stat Med 2004;23:1921–1986 (§ 7, ratios).

    Examples
    --------
    >>> round(float(gmr_sample_size(2.0, 0.48, power=0.9)), 3)
    10.133
    """
    where = "gmr_sample_size"
    check_choice("alternative", alternative, ALTERNATIVES, where)
    g = check_positive("gmr", gmr, where)
    if np.any(g == 1):
        raise invalid("gmr", "a positive number other than 1", 1.0, where)
    if alternative == "greater" and np.any(g < 1):
        raise invalid("gmr", "> 1 for alternative='greater'", first_bad(g, g < 1), where)
    if alternative == "less" and np.any(g > 1):
        raise invalid("gmr", "< 1 for alternative='less'", first_bad(g, g > 1), where)
    d = np.log(g) / _log_sd_from_cv(cv, where)
    return _ttest_sample_size(d, alpha, power, design, alternative, where)


def prob_above_threshold(threshold, geometric_mean, log_sd):
    """Probability that a patient's log-normal biomarker exceeds ``threshold``.

    Parameters
    ----------
    threshold : float or array_like
        E.g. 5, 15 or 40 IU/dL of FIX activity (mild haemophilia starts at 5 % of normal).
    geometric_mean : float or array_like
        e^μ, in the unit of ``threshold``.
    log_sd : float or array_like
        σ on the natural-log scale.

    Notes
    -----
    P(X > t) = 1 − Φ((ln t − μ) / σ).

    Examples
    --------
    >>> [round(float(p), 3) for p in prob_above_threshold([5, 15, 40], 35.17, 0.4549)]
    [1.0, 0.969, 0.389]
    """
    where = "prob_above_threshold"
    t = check_positive("threshold", threshold, where)
    gm = check_positive("geometric_mean", geometric_mean, where)
    s = check_positive("log_sd", log_sd, where)
    out = stats.norm.sf((np.log(t) - np.log(gm)) / s)
    return out[()] if np.ndim(out) == 0 else out


def power_curve_table(effect_sizes, n_values, alpha=0.05, design="two-sample", alternative="two-sided"):
    """Tidy power curves: one row per effect size × n.

    Returns
    -------
    pandas.DataFrame
        Columns ``design, alternative, alpha, effect_size, n, power``.

    Examples
    --------
    >>> power_curve_table([0.5, 1.0], [10, 20]).shape
    (4, 6)
    """
    where = "power_curve_table"
    d = np.atleast_1d(as_float_array("effect_sizes", effect_sizes, where))
    n = np.atleast_1d(as_float_array("n_values", n_values, where))
    dd, nn = np.meshgrid(d, n, indexing="ij")
    pw = _ttest_power(dd, nn, alpha, design, alternative, where, names=("effect_sizes", "n_values"))
    return pd.DataFrame(
        {
            "design": design,
            "alternative": alternative,
            "alpha": float(alpha),
            "effect_size": dd.ravel(),
            "n": nn.ravel(),
            "power": np.asarray(pw).ravel(),
        }
    )


def sample_size_table(
    effect_sizes, powers=(0.8, 0.9), alpha=0.05, design="two-sample", alternative="two-sided"
):
    """Tidy sample-size curves: one row per effect size × target power.

    Returns
    -------
    pandas.DataFrame
        Columns ``design, alternative, alpha, effect_size, power, n, n_rounded`` (n unrounded, n_rounded its
        ceiling).

    Examples
    --------
    >>> sample_size_table([0.8], powers=[0.9])["n_rounded"].tolist()
    [34]
    """
    where = "sample_size_table"
    d = np.atleast_1d(as_float_array("effect_sizes", effect_sizes, where))
    p = np.atleast_1d(as_float_array("powers", powers, where))
    dd, pp = np.meshgrid(d, p, indexing="ij")
    n = np.asarray(_ttest_sample_size(dd, alpha, pp, design, alternative, where, names=("effect_sizes", "powers")))
    return pd.DataFrame(
        {
            "design": design,
            "alternative": alternative,
            "alpha": float(alpha),
            "effect_size": dd.ravel(),
            "power": pp.ravel(),
            "n": n.ravel(),
            "n_rounded": np.ceil(n.ravel() - 1e-9).astype(int),
        }
    )

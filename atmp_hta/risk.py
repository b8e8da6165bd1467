"""Harms and risk aversion.

A harm has a probability (given directly, or learnt from k events in n patients or in T patient-years),
an onset delay, and a discounted QALY loss. Poorly characterised harms are penalised through risk
aversion over their uncertainty: the *certainty equivalent* of an uncertain outcome is the sure outcome a
decision maker with the stated risk aversion would accept in its place.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from atmp_hta.exceptions import invalid

__all__ = [
    "CE_METHODS",
    "certainty_equivalent",
    "risk_premium",
    "event_probability_posterior",
    "event_rate_posterior",
    "probability_from_rate",
]

CE_METHODS = ("cara", "mean-sd", "quantile")


def certainty_equivalent(values, risk_aversion, method="cara", axis=0):
    """Certainty equivalent of an uncertain outcome given by its draws (higher is better).

    Parameters
    ----------
    values : array_like
        Draws of the outcome (e.g. net QALYs) along ``axis``.
    risk_aversion : float
        ``"cara"``: the coefficient r >= 0 of constant absolute risk aversion, per unit of ``values``.
        ``"mean-sd"``: the number k >= 0 of standard deviations subtracted from the mean (a mean–variance
        rule: it does not respect first-order stochastic dominance; see Notes).
        ``"quantile"``: the lower-tail probability α in (0, 0.5]; the certainty equivalent is the α-quantile
        (0.5 gives the median).
    method : {"cara", "mean-sd", "quantile"}
    axis : int
        The draw axis.

    Returns
    -------
    float or ndarray

    Notes
    -----
    CARA (exponential utility U(x) = −e^(−r x)): CE = −(1/r) · ln E[e^(−r X)], computed as
    m − (1/r)(logsumexp(−r (X − m)) − ln n) with m the mean, which neither overflows nor underflows; for
    r · sd below 1e-8 the second-order expansion m − r·var/2 is used. For normal X, CE = μ − rσ²/2 exactly.
    Mean-sd: CE = μ − kσ (σ with ddof = 0). For r > 0 (or k > 0) the CE never exceeds the mean (Jensen);
    the quantile rule carries no such guarantee for skewed outcomes (the median of a right-skewed loss lies
    above its mean), which is why :mod:`atmp_hta.benefit_risk` floors its uncertainty penalty at 0.

    Monotonicity. CARA and the quantile are monotone under first-order stochastic dominance: if every draw
    of Y is at most the matching draw of X, CE(Y) <= CE(X). **Mean − k·sd is not**: lowering the good
    draws of an outcome narrows it, and the smaller σ can outweigh the lower mean. Example: a harm of
    probability p and loss 5 QALYs, X = −5p, k = 1.5. With p ~ Beta(1.8, 0.2), CE = −4.50 − 1.30 = −5.80;
    with p ~ Beta(1.9, 0.1), strictly more harm (mean 0.95, higher in the likelihood-ratio order), CE =
    −4.75 − 0.94 = −5.69: the worse outcome gets the *higher* certainty equivalent. Use mean − k·sd only
    where a mean–variance trade-off is what is wanted; prefer CARA or a quantile where "more harm is never
    better" must hold.

    References
    ----------
    Pratt JW. Risk aversion in the small and in the large. Econometrica 1964;32:122–136.
    Borch K. A note on uncertainty and indifference curves. Rev Econ Stud 1969;36:1–4 (mean–standard
    deviation rankings violate dominance).

    Examples
    --------
    >>> round(float(certainty_equivalent([0.0, 2.0], 1.0)), 6)  # −ln((1 + e^−2)/2)
    0.566219
    """
    where = "certainty_equivalent"
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise invalid("values", "a non-empty array", "an empty array", where)
    if not np.all(np.isfinite(x)):
        raise invalid("values", "finite numbers", "an array with NaN or inf", where)
    if method not in CE_METHODS:
        raise invalid("method", f"one of {CE_METHODS}", method, where)
    r = float(risk_aversion)
    if method == "quantile":
        if not 0.0 < r <= 0.5:
            raise invalid("risk_aversion", "in (0, 0.5] for method='quantile'", risk_aversion, where)
        return np.quantile(x, r, axis=axis)
    if not (np.isfinite(r) and r >= 0):
        raise invalid("risk_aversion", "a finite number >= 0", risk_aversion, where)
    mean = x.mean(axis=axis)
    if method == "mean-sd":
        return mean - r * x.std(axis=axis)
    return _cara(x, r, axis, mean)


def _cara(x, r, axis, mean):
    if r == 0.0:
        return mean
    centred = x - np.expand_dims(mean, axis)
    sd = np.sqrt(np.mean(centred**2, axis=axis))
    n = x.shape[axis]
    exact = mean - (special.logsumexp(-r * centred, axis=axis) - np.log(n)) / r
    approx = mean - 0.5 * r * sd**2
    return np.where(r * sd < 1e-8, approx, exact)


def risk_premium(values, risk_aversion, method="cara", axis=0):
    """Mean minus certainty equivalent: what risk aversion costs, in the units of ``values`` (>= 0 for CARA
    and mean-sd with non-negative aversion; negative for the quantile rule when the quantile lies above the
    mean, which this function reports as it is).

    Examples
    --------
    >>> float(risk_premium([1.0, 1.0, 1.0], 2.0))
    0.0
    """
    x = np.asarray(values, dtype=float)
    return x.mean(axis=axis) - certainty_equivalent(x, risk_aversion, method, axis)


def _check_events(events, exposure, exposure_name, where):
    if not (np.isfinite(events) and events >= 0 and float(events).is_integer()):
        raise invalid("events", "a whole number >= 0", events, where)
    if not (np.isfinite(exposure) and exposure > 0):
        raise invalid(exposure_name, "a number > 0", exposure, where)


def event_probability_posterior(events, patients, prior=(0.5, 0.5)):
    """Beta posterior for a probability after ``events`` in ``patients`` (binomial likelihood).

    The default prior is Jeffreys' Beta(0.5, 0.5), so zero events still give a proper, wide posterior.

    Returns
    -------
    scipy.stats frozen beta distribution

    Examples
    --------
    >>> d = event_probability_posterior(1, 50)
    >>> round(float(d.mean()), 5)   # (1 + 0.5) / (50 + 1)
    0.02941
    """
    where = "event_probability_posterior"
    _check_events(events, patients, "patients", where)
    if events > patients:
        raise invalid("events", f"at most patients ({patients})", events, where)
    a0, b0 = prior
    if not (a0 > 0 and b0 > 0):
        raise invalid("prior", "two numbers > 0", prior, where)
    return stats.beta(events + a0, patients - events + b0)


def event_rate_posterior(events, patient_years, prior=(0.5, 0.0)):
    """Gamma posterior for an event rate per patient-year after ``events`` in ``patient_years`` (Poisson).

    ``prior=(shape, rate)``; the default (0.5, 0) is Jeffreys' prior for a Poisson rate.

    Returns
    -------
    scipy.stats frozen gamma distribution (scale = 1 / rate)

    Examples
    --------
    >>> round(float(event_rate_posterior(2, 100).mean()), 5)   # (2 + 0.5) / 100
    0.025
    """
    where = "event_rate_posterior"
    _check_events(events, patient_years, "patient_years", where)
    a0, b0 = prior
    if not (a0 > 0 and b0 >= 0):
        raise invalid("prior", "(shape > 0, rate >= 0)", prior, where)
    return stats.gamma(events + a0, scale=1.0 / (patient_years + b0))


def probability_from_rate(rate, years):
    """Probability of at least one event within ``years`` at a constant ``rate``: 1 − e^(−rate·years).

    Examples
    --------
    >>> round(float(probability_from_rate(0.1, 5)), 6)
    0.393469
    """
    rate = np.asarray(rate, dtype=float)
    return -np.expm1(-rate * np.asarray(years, dtype=float))

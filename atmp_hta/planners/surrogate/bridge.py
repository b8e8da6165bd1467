"""Surrogate → clinical bridge: from Factor IX activity to the annualised bleeding rate.

A patient with steady-state FIX activity f (IU/dL, % of normal) bleeds as a negative-binomial process whose
mean rate falls log-linearly with log activity, μ(f) = exp(a + b ln f). The two coefficients are calibrated on
published bleeding rates at known factor levels (see ``parameters/planners/surrogate_haemophilia_b.yaml``:
the DYNAMO cohort of non-severe haemophilia). Integrating over the log-normal activity expected after the
vector gives the predicted distribution of the clinical endpoint in the planned trial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from atmp_hta.exceptions import invalid
from atmp_hta.planners.surrogate._checks import check_positive

__all__ = [
    "calibrate_fix_abr",
    "abr_mean_from_fix",
    "prob_abr_at_most",
    "BridgePrediction",
    "predict_abr",
]


def calibrate_fix_abr(fix, abr):
    """Least-squares log-linear relation ln ABR = a + b ln FIX through published (FIX, ABR) points.

    Parameters
    ----------
    fix : array_like
        Factor activity levels (IU/dL), at least two distinct positive values.
    abr : array_like
        Bleeding rates observed at those levels (per year), positive.

    Returns
    -------
    tuple of float
        (intercept a, slope b).

    Examples
    --------
    >>> a, b = calibrate_fix_abr([3.16, 30.0], [0.6, 0.1])
    >>> round(b, 3)
    -0.796
    """
    where = "calibrate_fix_abr"
    f = np.atleast_1d(check_positive("fix", fix, where))
    r = np.atleast_1d(check_positive("abr", abr, where))
    if f.shape != r.shape or np.unique(f).size < 2:
        raise invalid("fix", "at least two distinct levels, one per abr value", f.tolist(), where)
    slope, intercept = np.polyfit(np.log(f), np.log(r), 1)
    return float(intercept), float(slope)


def abr_mean_from_fix(fix, intercept, slope):
    """Mean ABR of a patient with FIX activity ``fix``: μ(f) = exp(a + b ln f).

    Examples
    --------
    >>> round(float(abr_mean_from_fix(30.0, *calibrate_fix_abr([3.16, 30.0], [0.6, 0.1]))), 6)
    0.1
    """
    return _abr_mean(check_positive("fix", fix, "abr_mean_from_fix"), intercept, slope)


def _abr_mean(fix, intercept, slope):
    return np.exp(float(intercept) + float(slope) * np.log(fix))


def prob_abr_at_most(abr, fix, years, dispersion, intercept, slope):
    """Probability that a patient with FIX activity ``fix`` has an observed ABR of at most ``abr``.

    Parameters
    ----------
    abr : float or array_like
        ABR threshold; the count threshold over ``years`` is ⌊abr · years⌋.
    fix : float or array_like
        FIX activity, IU/dL.
    years : float
        Observation period.
    dispersion : float
        Between-patient dispersion k of the negative binomial (0: Poisson).
    intercept, slope : float
        Coefficients of :func:`abr_mean_from_fix`.

    Notes
    -----
    Count ~ NegBin(mean μ(f)·years, shape 1/k); P(ABR ≤ x) = P(count ≤ ⌊x · years⌋).

    Examples
    --------
    >>> a, b = calibrate_fix_abr([3.16, 30.0], [0.6, 0.1])
    >>> round(float(prob_abr_at_most(0.0, 30.0, 1.0, 1.0, a, b)), 4)  # zero bleeds in a year at 30 IU/dL
    0.9091
    """
    where = "prob_abr_at_most"
    x = check_positive("abr", abr, where, allow_zero=True)
    t = float(check_positive("years", years, where))
    k = float(check_positive("dispersion", dispersion, where, allow_zero=True))
    mean = _abr_mean(check_positive("fix", fix, where), intercept, slope) * t
    count = np.floor(x * t + 1e-9)
    out = _count_cdf(count, mean, k)
    return out[()] if np.ndim(out) == 0 else out


def _count_cdf(count, mean, k):
    if k < 1e-10:  # Poisson to double precision
        return stats.poisson.cdf(count, mean)
    shape = 1.0 / k
    return stats.nbinom.cdf(count, shape, shape / (shape + mean))


def _count_pmf(count, mean, k):
    if k < 1e-10:
        return stats.poisson.pmf(count, mean)
    shape = 1.0 / k
    return stats.nbinom.pmf(count, shape, shape / (shape + mean))


@dataclass(frozen=True)
class BridgePrediction:
    """Predicted distribution of the clinical endpoint (see :func:`predict_abr`)."""

    mean_abr: float
    prob_zero_bleeds: float
    table: pd.DataFrame
    fix_geometric_mean: float
    fix_log_sd: float
    years: float
    dispersion: float
    intercept: float
    slope: float

    def to_frame(self):
        """The predictive count distribution (one row per count)."""
        return self.table.copy()

    def prob_abr_at_most(self, abr):
        """Predictive probability that a dosed patient's observed ABR is at most ``abr``."""
        count = np.floor(np.asarray(abr, dtype=float) * self.years + 1e-9)
        cdf = self.table["cumulative"].to_numpy()
        idx = np.clip(count.astype(int), -1, len(cdf) - 1)
        return np.where(idx < 0, 0.0, cdf[np.maximum(idx, 0)])


def predict_abr(
    fix_geometric_mean, fix_log_sd, years, dispersion, intercept, slope, n_nodes=80, max_count=None
):
    """Predictive distribution of a dosed patient's bleed count, integrating over log-normal FIX activity.

    Parameters
    ----------
    fix_geometric_mean : float
        Geometric mean of FIX activity after dosing, IU/dL.
    fix_log_sd : float
        SD of ln FIX between patients.
    years : float
        Efficacy period over which bleeds are counted.
    dispersion : float
        Negative-binomial dispersion k of a patient's count given his FIX activity.
    intercept, slope : float
        FIX → ABR relation of :func:`abr_mean_from_fix`.
    n_nodes : int
        Gauss–Hermite nodes for the integral over ln FIX.
    max_count : int, optional
        Largest count tabulated (default: the 1 − 10⁻⁹ quantile at the 0.1 % lowest FIX activity).

    Returns
    -------
    BridgePrediction
        ``mean_abr`` (E μ(F)), ``prob_zero_bleeds`` and a tidy ``table`` with columns
        ``count, abr, probability, cumulative``.

    Notes
    -----
    With ln F ~ N(m, s²), P(count = y) = E_F[NegBin(y; μ(F)·years, 1/k)], evaluated by Gauss–Hermite
    quadrature; the mean is exact: E μ(F) = exp(a + b m + b² s²/2).

    Examples
    --------
    >>> a, b = calibrate_fix_abr([3.16, 30.0], [0.6, 0.1])
    >>> pred = predict_abr(35.17, 0.4549, 1.0, 1.0, a, b)
    >>> round(pred.mean_abr, 4), round(pred.prob_zero_bleeds, 3)
    (0.0941, 0.915)
    """
    where = "predict_abr"
    gm = float(check_positive("fix_geometric_mean", fix_geometric_mean, where))
    s = float(check_positive("fix_log_sd", fix_log_sd, where, allow_zero=True))
    t = float(check_positive("years", years, where))
    k = float(check_positive("dispersion", dispersion, where, allow_zero=True))
    a, b = float(intercept), float(slope)
    nodes, weights = np.polynomial.hermite_e.hermegauss(int(n_nodes))
    weights = weights / weights.sum()
    log_fix = np.log(gm) + s * nodes
    means = np.exp(a + b * log_fix) * t
    if max_count is None:
        worst = np.exp(a + b * (np.log(gm) + s * stats.norm.ppf(0.001 if b < 0 else 0.999))) * t
        shape = 1.0 / max(k, 1e-10)
        dist = stats.poisson(worst) if k < 1e-10 else stats.nbinom(shape, shape / (shape + worst))
        max_count = int(dist.ppf(1 - 1e-9)) + 1
    counts = np.arange(int(max_count) + 1)
    pmf = (_count_pmf(counts[:, None], means[None, :], k) * weights[None, :]).sum(axis=1)
    table = pd.DataFrame(
        {"count": counts, "abr": counts / t, "probability": pmf, "cumulative": np.cumsum(pmf)}
    )
    mean_abr = float(np.exp(a + b * np.log(gm) + b**2 * s**2 / 2.0))
    return BridgePrediction(
        mean_abr=mean_abr,
        prob_zero_bleeds=float(pmf[0]),
        table=table,
        fix_geometric_mean=gm,
        fix_log_sd=s,
        years=t,
        dispersion=k,
        intercept=a,
        slope=b,
    )

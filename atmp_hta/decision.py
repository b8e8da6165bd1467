"""Decision layer shared by the benefit-risk and cost-effectiveness analyses (value of information).

Takes any array of per-draw values of each option (draws on axis 0, options on axis 1) and returns
decision quantities; it knows nothing of the model that produced them.
"""

from __future__ import annotations

import numpy as np

from atmp_hta.exceptions import invalid

__all__ = ["evpi", "probability_best"]


def _check(values, where):
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 1:
        raise invalid("net_benefit", "a 2-d array (draws × options)", f"shape {values.shape}", where)
    if not np.all(np.isfinite(values)):
        raise invalid("net_benefit", "finite numbers", "an array with NaN or inf", where)
    return values


def evpi(net_benefit) -> float:
    """Expected value of perfect information: E[max_j NB_j] − max_j E[NB_j].

    Parameters
    ----------
    net_benefit : array_like, shape (n_draws, n_options)
        Net benefit of each option in each draw (QALYs, or money at a threshold).

    Returns
    -------
    float
        Per decision (multiply by the number of patients affected for the population value); >= 0.

    References
    ----------
    Claxton K. The irrelevance of inference. J Health Econ 1999;18:341–64.
    Briggs A, Claxton K, Sculpher M. Decision Modelling for Health Economic Evaluation. OUP 2006, ch. 6.

    Examples
    --------
    >>> evpi([[1.0, 0.0], [-1.0, 0.0]])  # approve-vs-reject, net value ±1: perfect information gains 0.5
    0.5
    """
    values = _check(net_benefit, "evpi")
    return float(max(values.max(axis=1).mean() - values.mean(axis=0).max(), 0.0))


def probability_best(net_benefit) -> np.ndarray:
    """Share of draws in which each option has the highest net benefit (ties split evenly).

    Examples
    --------
    >>> probability_best([[1.0, 0.0], [-1.0, 0.0], [2.0, 0.0]]).round(3).tolist()
    [0.667, 0.333]
    """
    values = _check(net_benefit, "probability_best")
    best = values == values.max(axis=1, keepdims=True)
    return (best / best.sum(axis=1, keepdims=True)).mean(axis=0)

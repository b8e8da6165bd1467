"""Risk mitigation: a precaution period (e.g. barrier contraception) from an upper percentile of clearance.

The recommended period is the chosen upper percentile of the time to clearance in the relevant matrix
(semen for contraception) plus a stated margin, rounded up to whole weeks. It is shown next to the periods
written in published labels of AAV products, as a sanity reference (not as a target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from atmp_hta.exceptions import invalid
from atmp_hta.planners.shedding._checks import number, whole
from atmp_hta.planners.shedding.assay import Assay
from atmp_hta.planners.shedding.design import MatrixKinetics, true_clearance_days

__all__ = ["PrecautionRecommendation", "recommend_precaution_period", "kinetics_clearance_quantile",
           "mitigation_table"]


@dataclass(frozen=True)
class PrecautionRecommendation:
    """A recommended precaution period and how it was derived."""

    period_days: float
    upper_clearance_days: float
    percentile: float
    margin_days: float
    round_up_to_days: float
    matrix: str
    precaution: str
    basis: str

    @property
    def period_text(self) -> str:
        if not np.isfinite(self.period_days):
            return "not estimable (extend follow-up)"
        return f"{self.period_days:.0f} days (~{self.period_days / 30.4375:.1f} months)"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "kind": "recommended", "product": "this product (planned)", "matrix": self.matrix,
            "precaution": self.precaution, "period_days": self.period_days, "period_text": self.period_text,
            "derivation": (f"P{self.percentile * 100:g} of clearance {self.upper_clearance_days:.1f} d + margin "
                           f"{self.margin_days:g} d, rounded up to {self.round_up_to_days:g} d; {self.basis}"),
            "source": "atmp_hta.planners.shedding", "verified": True,
        }])


def recommend_precaution_period(upper_clearance_days, margin_days=30.0, *, percentile=0.95, round_up_to_days=7,
                                matrix="semen", precaution="barrier contraception; no semen donation",
                                basis=""):
    """Precaution period = upper percentile of clearance + margin, rounded up.

    Parameters
    ----------
    upper_clearance_days : float
        The ``percentile`` of the time to clearance, e.g. ``ClearanceKM.quantile(0.95)`` (observed data),
        ``DecayFit.time_below(log10_lod, percentile=0.95)`` (fitted kinetics with between-subject
        variability) or :func:`kinetics_clearance_quantile` (planning assumptions). ``inf`` (the percentile
        was not reached during follow-up) gives an ``inf`` period: extend follow-up rather than guess.
    margin_days : float
        Safety margin added (>= 0), e.g. one spermatogenic cycle (~74 days) for germline caution.
    percentile : float
        Recorded with the recommendation (the percentile behind ``upper_clearance_days``).
    round_up_to_days : float
        Round the period up to a multiple of this (7 = whole weeks; 1 = no rounding).

    Returns
    -------
    PrecautionRecommendation

    Notes
    -----
    period = ⌈(t_p + margin) / r⌉ · r, with t_p the upper percentile and r the rounding unit.

    Examples
    --------
    >>> rec = recommend_precaution_period(118.3, margin_days=30, percentile=0.95)
    >>> rec.period_days  # 148.3 rounded up to whole weeks
    154.0
    """
    where = "recommend_precaution_period"
    allowed = "a number of days >= 0 (inf if not reached)"
    t = number(upper_clearance_days, "upper_clearance_days", allowed, where)
    if np.isnan(t) or t < 0:
        raise invalid("upper_clearance_days", allowed, upper_clearance_days, where)
    margin = number(margin_days, "margin_days", "a number of days >= 0", where)
    if not (np.isfinite(margin) and margin >= 0):
        raise invalid("margin_days", "a number of days >= 0", margin_days, where)
    if not 0.0 < number(percentile, "percentile", "in (0, 1)", where) < 1.0:
        raise invalid("percentile", "in (0, 1)", percentile, where)
    unit = number(round_up_to_days, "round_up_to_days", "a number of days > 0", where)
    if not (np.isfinite(unit) and unit > 0):
        raise invalid("round_up_to_days", "a number of days > 0", round_up_to_days, where)
    round_up_to_days, margin_days = unit, margin
    raw = t + float(margin_days)
    period = float(np.ceil(raw / round_up_to_days - 1e-9) * round_up_to_days) if np.isfinite(raw) else float("inf")
    return PrecautionRecommendation(period_days=period, upper_clearance_days=t, percentile=float(percentile),
                                    margin_days=float(margin_days), round_up_to_days=float(round_up_to_days),
                                    matrix=matrix, precaution=precaution, basis=basis)


def kinetics_clearance_quantile(kinetics, assay, percentile=0.95, n=200_000, rng=None):
    """Upper percentile of the day on which shedders' noise-free profiles fall below the assay's LOD95,
    by Monte Carlo over the between-patient distributions of :class:`~.design.MatrixKinetics`.

    Non-shedders (``fraction_shedding`` < 1) are excluded: the period must protect those who shed.

    Examples
    --------
    >>> k = MatrixKinetics("semen", peak_log10=6.0, decay_log10_per_day=0.05, peak_log10_sd=0.0,
    ...                    peak_day_log_sd=0.0, decay_log_sd=0.0, peak_day=4.0)
    >>> a = Assay(0.2, 100, 10, loq_copies_per_ml=500.0)
    >>> round(kinetics_clearance_quantile(k, a, 0.95, n=10, rng=0), 2)  # 4 + (6 − log10 149.8)/0.05
    80.49
    """
    where = "kinetics_clearance_quantile"
    if not isinstance(kinetics, MatrixKinetics):
        raise invalid("kinetics", "a MatrixKinetics", type(kinetics).__name__, where)
    if not isinstance(assay, Assay):
        raise invalid("assay", "an Assay", type(assay).__name__, where)
    if not 0.0 < number(percentile, "percentile", "in (0, 1)", where) < 1.0:
        raise invalid("percentile", "in (0, 1)", percentile, where)
    n = whole(n, "n", where)
    g = np.random.default_rng(rng)
    z = g.standard_normal((3, n))
    peak = kinetics.peak_log10 + kinetics.peak_log10_sd * z[0]
    tau = kinetics.peak_day * np.exp(kinetics.peak_day_log_sd * z[1])
    d = kinetics.decay_log10_per_day * np.exp(kinetics.decay_log_sd * z[2])
    t = true_clearance_days(tau, peak, d, np.log10(assay.lod95_copies_per_ml))
    return float(np.quantile(t, float(percentile)))


def mitigation_table(recommendation, labels=None, matrix=None):
    """The recommendation stacked above published label periods (optionally only those for ``matrix``).

    Parameters
    ----------
    recommendation : PrecautionRecommendation
    labels : DataFrame, optional
        ``SheddingDefaults.labels_frame()``.
    matrix : str, optional
        Keep only labels for this matrix (default: the recommendation's matrix; ``"all"`` keeps every label).

    Returns
    -------
    pandas.DataFrame
        ``kind, product, matrix, precaution, period_days, period_text, derivation, source, verified,
        ratio_to_recommended``.
    """
    rec = recommendation.to_frame()
    if labels is None or len(labels) == 0:
        out = rec
    else:
        m = recommendation.matrix if matrix is None else matrix
        lab = labels if m == "all" else labels[labels["matrix"] == m]
        lab = lab.assign(kind="label", derivation="label (" + lab["region"].astype(str) + ")")
        cols = ["kind", "product", "matrix", "precaution", "period_days", "period_text", "derivation", "source",
                "verified"]
        out = pd.concat([rec[cols], lab[cols]], ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio_to_recommended"] = out["period_days"] / recommendation.period_days
    return out

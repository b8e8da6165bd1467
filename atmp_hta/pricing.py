"""Value-based prices: the highest price at which a therapy is cost-effective at a threshold.

The therapy's price P enters the incremental cost once per patient (a one-off ATMP), so at threshold λ and
severity weight w the net monetary benefit is linear in P:

    NMB(P) = w·λ·ΔE − (ΔC_other + P),         P* = w·λ·ΔE − ΔC_other,

where ΔE is the incremental (discounted) QALYs and ΔC_other every incremental cost except the price. At P*
the ICER equals the (severity-adjusted) threshold w·λ.

**Where the severity weight goes.** NICE (PMG36, 6.2.12–6.2.21) applies the weight to the QALYs gained; it
is equivalent to comparing the unweighted ICER with a threshold of w·λ. Both give the same price; the
result states which was used (``weight_applies_to``) so a report can say it in the agency's words.

**Outcome-based payment.** With an upfront share u paid at t = 0 and the rest in m equal instalments at
times t_j, each paid only while the patient still responds (probability S_j), the payer's expected
discounted outlay per patient for a headline price P is P·f with

    f = u + (1 − u)/m · Σ_j S_j (1 + r)^(−t_j),

so the value-based headline price is P*/f: the payer spends no more in expectation than under the upfront
value-based price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from atmp_hta.exceptions import invalid

__all__ = [
    "severity_adjusted_threshold",
    "value_based_price",
    "outcome_based_price",
    "PriceResult",
    "OutcomeBasedPrice",
    "credited_cost_offsets",
    "WEIGHT_TARGETS",
]

WEIGHT_TARGETS = ("qalys", "threshold")


def _positive(name, value, where, allow_zero=False):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise invalid(name, "a number", value, where) from None
    if not np.isfinite(value) or (value < 0 if allow_zero else value <= 0):
        raise invalid(name, ">= 0" if allow_zero else "> 0", value, where)
    return value


def _weight(severity_weight, weight_applies_to, where):
    weight = _positive("severity_weight", severity_weight, where)
    if weight < 1.0:
        raise invalid("severity_weight", ">= 1", weight, where)
    if weight_applies_to not in WEIGHT_TARGETS:
        raise invalid("weight_applies_to", f"one of {', '.join(map(repr, WEIGHT_TARGETS))}", weight_applies_to,
                      where)
    return weight


def severity_adjusted_threshold(threshold, severity_weight) -> float:
    """Threshold against which an unweighted ICER is compared when the severity weight applies to it: w·λ.

    Examples
    --------
    >>> severity_adjusted_threshold(30_000, 1.7)  # NICE PMG36 table 6.1, highest severity
    51000.0
    """
    where = "severity_adjusted_threshold"
    return _positive("threshold", threshold, where) * _weight(severity_weight, "threshold", where)


def _draws(name, value, where):
    try:
        value = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise invalid(name, "a number or a 1-d array of draws", type(value).__name__, where) from None
    if value.ndim > 1 or value.size == 0:
        raise invalid(name, "a number or a non-empty 1-d array of draws", f"shape {value.shape}", where)
    if not np.all(np.isfinite(value)):
        raise invalid(name, "finite numbers", "an array with NaN or inf", where)
    return np.atleast_1d(value)


def _probability(probability, where):
    if probability is None:
        return None
    probability = float(probability)
    if not 0.0 < probability < 1.0:
        raise invalid("probability", "in (0, 1)", probability, where)
    return probability


@dataclass(frozen=True)
class PriceResult:
    """A value-based price and the conventions that produced it.

    ``price`` is per patient, in the currency of the costs. ``basis`` is ``"expected"`` (expected NMB = 0) or
    ``"probability p"`` (the price at which the therapy is cost-effective in a share p of draws).
    """

    price: float
    threshold: float
    severity_weight: float
    weight_applies_to: str
    effective_threshold: float
    incremental_effect: float
    other_incremental_cost: float
    basis: str
    n_draws: int

    @property
    def statement(self) -> str:
        if self.severity_weight == 1.0:
            how = f"a threshold of {self.threshold:,.0f} per QALY"
        elif self.weight_applies_to == "qalys":
            how = (f"a threshold of {self.threshold:,.0f} per QALY with QALYs gained weighted by "
                   f"{self.severity_weight:g}")
        else:
            how = (f"a threshold of {self.threshold:,.0f} per QALY raised by the severity weight "
                   f"{self.severity_weight:g} to {self.effective_threshold:,.0f}")
        return f"Value-based price {self.price:,.0f} per patient ({self.basis}) at {how}."

    def to_frame(self) -> pd.DataFrame:
        row = dict(self.__dict__)
        row["statement"] = self.statement
        return pd.DataFrame([row])


def value_based_price(incremental_effect, other_incremental_cost, threshold, *, severity_weight=1.0,
                      weight_applies_to: str = "qalys", probability=None) -> PriceResult:
    """Highest price at which the therapy is cost-effective at ``threshold``.

    Parameters
    ----------
    incremental_effect : float or 1-d array_like
        Incremental discounted QALYs of the therapy against its comparator (one value, or one per draw).
    other_incremental_cost : float or 1-d array_like
        Incremental discounted costs *excluding* the therapy's price (administration, monitoring, adverse
        events, cost offsets ...), aligned with ``incremental_effect``.
    threshold : float
        λ, currency per QALY (> 0).
    severity_weight : float
        QALY weight for severity (>= 1), e.g. from :func:`atmp_hta.severity.severity_weight`.
    weight_applies_to : {"qalys", "threshold"}
        Where the weight is stated to apply; the price is the same either way.
    probability : float in (0, 1), optional
        With draws: the price at which the therapy is cost-effective in this share of draws. By default the
        price at which the *expected* net monetary benefit is zero.

    Returns
    -------
    PriceResult
        May be negative: then no positive price is cost-effective.

    Notes
    -----
    P* = w·λ·E[ΔE] − E[ΔC_other]; with ``probability`` p, P* is the (1 − p) quantile of the per-draw prices
    w·λ·ΔE_i − ΔC_other,i. At P* the ICER (ΔC_other + P*)/ΔE equals w·λ.

    References
    ----------
    Claxton K et al. Value based pricing for NHS drugs: an opportunity not to be missed? BMJ 2008;336:251–4.
    NICE health technology evaluations: the manual (PMG36), 2022, 6.2.12–6.2.21 and table 6.1 (severity).

    Examples
    --------
    >>> r = value_based_price(2.0, 15_000, 30_000, severity_weight=1.2)
    >>> r.price, r.effective_threshold
    (57000.0, 36000.0)
    >>> print(value_based_price(2.0, 15_000, 30_000).statement)
    Value-based price 45,000 per patient (expected) at a threshold of 30,000 per QALY.
    """
    where = "value_based_price"
    threshold = _positive("threshold", threshold, where)
    weight = _weight(severity_weight, weight_applies_to, where)
    probability = _probability(probability, where)
    effect = _draws("incremental_effect", incremental_effect, where)
    other = _draws("other_incremental_cost", other_incremental_cost, where)
    if effect.size != other.size and 1 not in (effect.size, other.size):
        raise invalid("other_incremental_cost", f"{effect.size} draws (as incremental_effect)",
                      f"{other.size} draws", where)
    prices = weight * threshold * effect - other
    if probability is None:
        price, basis = float(np.mean(prices)), "expected"
    else:
        price, basis = float(np.quantile(prices, 1.0 - probability)), f"probability {probability:g}"
    return PriceResult(price, threshold, weight, weight_applies_to, weight * threshold, float(np.mean(effect)),
                       float(np.mean(other)), basis, int(max(effect.size, other.size)))


@dataclass(frozen=True)
class OutcomeBasedPrice:
    """Headline price under an outcome-based (instalment) scheme, with its payment schedule.

    ``headline_price`` is the list price P; ``expected_payment`` = P·``payment_factor`` is the payer's
    expected discounted outlay per patient, equal to the upfront value-based price ``upfront.price``.
    ``schedule`` has one row per payment: ``time, share, probability_paid, discount_factor,
    expected_discounted_share`` (shares of P).
    """

    headline_price: float
    expected_payment: float
    payment_factor: float
    discount_rate: float
    upfront: PriceResult
    schedule: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        row = {k: v for k, v in self.__dict__.items() if k not in ("upfront", "schedule")}
        row.update(threshold=self.upfront.threshold, severity_weight=self.upfront.severity_weight,
                   weight_applies_to=self.upfront.weight_applies_to, basis=self.upfront.basis,
                   upfront_value_based_price=self.upfront.price)
        return pd.DataFrame([row])


def outcome_based_price(incremental_effect, other_incremental_cost, threshold, *, upfront_share,
                        instalment_times, response_probability, discount_rate, severity_weight=1.0,
                        weight_applies_to: str = "qalys", probability=None) -> OutcomeBasedPrice:
    """Value-based headline price when part of it is paid in instalments contingent on response.

    Parameters
    ----------
    incremental_effect, other_incremental_cost, threshold, severity_weight, weight_applies_to, probability
        As in :func:`value_based_price` (the clinical model is unchanged: the scheme moves money, not
        health).
    upfront_share : float in [0, 1]
        Share of the headline price paid at administration (t = 0).
    instalment_times : 1-d array_like
        Times (years after administration, > 0, increasing) of the equal instalments sharing the rest.
    response_probability : 1-d array_like
        Probability that each instalment is paid: the patient is alive and still responding at that time
        (non-increasing, in [0, 1]), aligned with ``instalment_times``.
    discount_rate : float
        Annual rate for costs, in [0, 1); an instalment at time t is discounted by (1 + r)^−t.

    Returns
    -------
    OutcomeBasedPrice

    References
    ----------
    Jørgensen J, Kefalas P. Reimbursement of licensed cell and gene therapies across the major European
    healthcare markets. J Mark Access Health Policy 2015;3:29321 (annuity and outcome-based payments).
    ICER. Adapted value assessment methods for high-impact "single and short-term therapies" (SSTs), 2019.

    Examples
    --------
    >>> r = outcome_based_price(2.0, 15_000, 30_000, upfront_share=0.5, instalment_times=[1, 2],
    ...                         response_probability=[1.0, 1.0], discount_rate=0.0)
    >>> r.headline_price, r.payment_factor    # nothing at risk, no discounting: the upfront price
    (45000.0, 1.0)
    """
    where = "outcome_based_price"
    upfront = value_based_price(incremental_effect, other_incremental_cost, threshold,
                                severity_weight=severity_weight, weight_applies_to=weight_applies_to,
                                probability=probability)
    share = float(upfront_share)
    if not 0.0 <= share <= 1.0:
        raise invalid("upfront_share", "in [0, 1]", upfront_share, where)
    rate = float(discount_rate)
    if not np.isfinite(rate) or not 0.0 <= rate < 1.0:
        raise invalid("discount_rate", "in [0, 1)", discount_rate, where)
    times = _draws("instalment_times", instalment_times, where)
    if np.any(times <= 0) or np.any(np.diff(times) <= 0):
        raise invalid("instalment_times", "increasing times > 0 (years)", times.tolist(), where)
    paid = _draws("response_probability", response_probability, where)
    if paid.size != times.size:
        raise invalid("response_probability", f"{times.size} values (one per instalment)", f"{paid.size} values",
                      where)
    if np.any(paid < 0) or np.any(paid > 1):
        raise invalid("response_probability", "probabilities in [0, 1]", paid.tolist(), where)
    if np.any(np.diff(paid) > 1e-12):
        raise invalid("response_probability", "non-increasing over time (a lost response does not return)",
                      paid.tolist(), where)
    m = times.size
    shares = np.concatenate([[share], np.full(m, (1.0 - share) / m)])
    when = np.concatenate([[0.0], times])
    probability_paid = np.concatenate([[1.0], paid])
    discount = (1.0 + rate) ** (-when)
    expected = shares * probability_paid * discount
    factor = float(expected.sum())
    schedule = pd.DataFrame({"time": when, "share": shares, "probability_paid": probability_paid,
                             "discount_factor": discount, "expected_discounted_share": expected})
    if factor <= 0:
        raise invalid("response_probability", "a scheme in which some payment is expected",
                      "zero expected payment", where)
    return OutcomeBasedPrice(upfront.price / factor, upfront.price, factor, rate, upfront, schedule)


def credited_cost_offsets(annual_offsets, scenario=None, *, share=None, cap_per_year=None):
    """Cost offsets credited to a therapy under a shared-savings scenario (ICER's SST adaptations).

    Parameters
    ----------
    annual_offsets : array_like, shape (..., n_years)
        Health-system costs avoided by the therapy in each year (positive = savings), per patient,
        undiscounted; the last axis is the year.
    scenario : policy scenario, optional
        A ``Scenario`` of a policy pack (:func:`atmp_hta.policies.load_policy`), of kind
        ``cost_offset_share`` or ``cost_offset_cap``; or give ``share`` or ``cap_per_year`` directly.
    share : float in [0, 1]
        Credit only this share of the offsets (ICER's 50/50 shared savings: 0.5).
    cap_per_year : float > 0
        Credit at most this much per patient-year (ICER's cap: USD 150,000).

    Returns
    -------
    ndarray
        Credited offsets, the shape of ``annual_offsets``. Added costs (negative offsets) are never reduced.

    References
    ----------
    ICER. Adapted value assessment methods for high-impact "single and short-term therapies" (SSTs), 2019.

    Examples
    --------
    >>> credited_cost_offsets([200_000, 100_000, -5_000], share=0.5).tolist()
    [100000.0, 50000.0, -5000.0]
    >>> credited_cost_offsets([200_000, 100_000, -5_000], cap_per_year=150_000).tolist()
    [150000.0, 100000.0, -5000.0]
    """
    where = "credited_cost_offsets"
    if scenario is not None:
        if share is not None or cap_per_year is not None:
            raise invalid("scenario", "given alone (not with share or cap_per_year)",
                          getattr(scenario, "name", scenario), where)
        kind = getattr(scenario, "kind", None)
        if kind == "cost_offset_share":
            share = scenario.share
        elif kind == "cost_offset_cap":
            cap_per_year = scenario.cap_per_year
        else:
            raise invalid("scenario", "a policy scenario of kind 'cost_offset_share' or 'cost_offset_cap'", kind, where)
    if (share is None) == (cap_per_year is None):
        raise invalid("share", "given, or cap_per_year given, but not both", (share, cap_per_year), where)
    offsets = np.asarray(annual_offsets, dtype=float)
    if not np.all(np.isfinite(offsets)):
        raise invalid("annual_offsets", "finite numbers", "an array with NaN or inf", where)
    if share is not None:
        share = float(share)
        if not 0.0 <= share <= 1.0:
            raise invalid("share", "in [0, 1]", share, where)
        return np.where(offsets > 0, offsets * share, offsets)
    cap = _positive("cap_per_year", cap_per_year, where)
    return np.minimum(offsets, cap)

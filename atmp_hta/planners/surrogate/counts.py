"""Count endpoints (annualised bleeding rate): Poisson and negative-binomial rate-ratio planning and testing.

Two groups, control rate r₀ and treated rate r₁ = RR·r₀ per patient-year, mean exposure t years, allocation
κ = n₁/n₀ (treated per control) and negative-binomial dispersion k (Var = μ + kμ²; k = 0 is Poisson).
The test is the Wald test of log RR from a negative-binomial (or Poisson) regression; the three ways of
evaluating its variance under the null hypothesis are the three approaches of Zhu & Lakkis (2014): 1 the
control rate in both groups, 2 the true rates, 3 the null rates that keep the expected total number of events
fixed ("fixed marginal total", statsmodels' ``method_var="ftotal"``). Approach 3 is not the restricted
(constrained) maximum-likelihood variance of the score test (Zhu 2017; statsmodels' ``method_var="score"``),
which for negative-binomial counts solves a quadratic in the rates; the two coincide for Poisson counts and
for superiority (RR₀ = 1), and differ for non-inferiority with dispersion > 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from atmp_hta.exceptions import invalid
from atmp_hta.planners.surrogate._checks import (
    as_float_array,
    check_choice,
    check_positive,
    check_probability_open,
    first_bad,
)

__all__ = [
    "APPROACHES",
    "negbin_variances",
    "negbin_sample_size",
    "negbin_power",
    "poisson_sample_size",
    "negbin_sample_size_table",
    "PoissonRateTest",
    "poisson_rate_test",
]

APPROACHES = (1, 2, 3)
_ALTERNATIVES = ("two-sided", "less", "greater")


def negbin_variances(
    rate_control, rate_ratio, dispersion, exposure, allocation=1.0, approach=3, rate_ratio_null=1.0
):
    """Per-control-patient variances (V₀ under the null, V₁ under the alternative) of the log rate ratio.

    Notes
    -----
    With r₁ = RR·r₀ and the null ratio RR₀ (1 for superiority, the margin for non-inferiority),
    V(a, b) = (1/t)(1/a + 1/(κ b)) + (1 + κ) k / κ is the variance of √n₀ · log(RR̂) when the true rates are
    (a, b). Then V₁ = V(r₀, r₁) and

    - approach 1: V₀ = V(r₀, RR₀ r₀), the control rate in both groups;
    - approach 2: V₀ = V₁, the true rates;
    - approach 3 ("fixed marginal total"): V₀ = V(r̃, RR₀ r̃) with r̃ = (r₀ + κ r₁)/(1 + κ RR₀), the null
      rates that keep the expected total number of events, n₀ t (r₀ + κ r₁), fixed; hence
      V₀ = (1 + κ RR₀)² / (t κ RR₀ (r₀ + κ r₁)) + (1 + κ)k/κ.

    For Poisson counts (k = 0) r̃ is also the restricted maximum-likelihood estimate of the rates under the
    null, and so it is for superiority (RR₀ = 1) whatever k. For non-inferiority with k > 0 it is not: the
    restricted maximum-likelihood (score-test) variance of Zhu (2017) solves a quadratic that involves k and
    gives another V₀ (statsmodels' ``power_negbin_ratio_2indep(..., method_var="score")``), so approach 3 is
    labelled "fixed marginal total", not restricted maximum likelihood.

    References
    ----------
    Zhu H, Lakkis H. Sample size calculation for comparing two negative binomial rates. Stat Med
    2014;33:376–387. Zhu H. Sample size calculation for comparing two Poisson or negative binomial rates in
    noninferiority or equivalence trials. Stat Biopharm Res 2017;9:107–115.

    Examples
    --------
    >>> v0, v1 = negbin_variances(0.5, 0.6, 0.1, 14.0, approach=2)
    >>> round(float(v1), 6)
    0.580952
    """
    r0, rr, k, t, kap, rr0 = (
        np.asarray(x, dtype=float)
        for x in (rate_control, rate_ratio, dispersion, exposure, allocation, rate_ratio_null)
    )
    r1 = rr * r0
    extra = (1.0 + kap) * k / kap

    def v(a, b):
        return (1.0 / a + 1.0 / (kap * b)) / t + extra

    v1 = v(r0, r1)
    if approach == 1:
        v0 = v(r0, rr0 * r0)
    elif approach == 2:
        v0 = v1
    else:
        r_null = (r0 + kap * r1) / (1.0 + kap * rr0)
        v0 = v(r_null, rr0 * r_null)
    return v0, v1


def _check_counts_inputs(
    where,
    rate_control,
    rate_ratio,
    dispersion,
    exposure,
    alpha,
    allocation,
    approach,
    alternative,
    rate_ratio_null,
    names=None,
):
    """Checks of the count-planning inputs, reported for the public function ``where``; ``names`` maps a
    parameter to the name it has there (``negbin_sample_size_table`` takes ``rate_ratios``, ...)."""
    names = names or {}
    ratio = names.get("rate_ratio", "rate_ratio")
    check_positive("rate_control", rate_control, where)
    rr = check_positive(ratio, rate_ratio, where)
    check_positive(names.get("dispersion", "dispersion"), dispersion, where, allow_zero=True)
    check_positive("exposure", exposure, where)
    check_positive("allocation", allocation, where)
    rr0 = check_positive("rate_ratio_null", rate_ratio_null, where)
    check_probability_open("alpha", alpha, where)
    check_choice(names.get("approach", "approach"), approach, APPROACHES, where)
    check_choice("alternative", alternative, _ALTERNATIVES, where)
    rr, rr0 = np.broadcast_arrays(rr, rr0)
    same = np.isclose(rr, rr0, rtol=0, atol=1e-12)
    if np.any(same):
        raise invalid(
            ratio,
            f"different from rate_ratio_null ({float(rr0[same].ravel()[0])!r})",
            first_bad(rr, same),
            where,
        )
    if alternative == "less" and np.any(rr > rr0):
        raise invalid(ratio, "< rate_ratio_null for alternative='less'", first_bad(rr, rr > rr0), where)
    if alternative == "greater" and np.any(rr < rr0):
        raise invalid(ratio, "> rate_ratio_null for alternative='greater'", first_bad(rr, rr < rr0), where)


def _z_alpha(alpha, alternative):
    return stats.norm.isf(np.asarray(alpha, dtype=float) / (2.0 if alternative == "two-sided" else 1.0))


def negbin_sample_size(
    rate_control,
    rate_ratio,
    dispersion,
    exposure,
    alpha=0.05,
    power=0.8,
    approach=3,
    allocation=1.0,
    alternative="two-sided",
    rate_ratio_null=1.0,
):
    """Unrounded number of control patients to compare two negative-binomial (or Poisson) rates.

    Parameters
    ----------
    rate_control : float or array_like
        Event rate r₀ in the control group, per patient-year (e.g. ABR on prophylaxis).
    rate_ratio : float or array_like
        True rate ratio RR = r₁/r₀ (treated / control); must differ from ``rate_ratio_null``.
    dispersion : float or array_like
        Negative-binomial dispersion k >= 0 (Var = μ + kμ²); 0 gives the Poisson case.
    exposure : float or array_like
        Mean exposure t per patient, years.
    alpha : float
        Significance level (two-sided, or one-sided for ``"less"`` / ``"greater"``).
    power : float
        Target power in (alpha, 1).
    approach : {1, 2, 3}
        Variance under the null of Zhu & Lakkis (2014): 1 control rate in both groups, 2 true rates,
        3 fixed marginal total (null rates keeping the expected total of events; not the restricted
        maximum-likelihood variance when ``dispersion`` > 0); see :func:`negbin_variances`.
    allocation : float
        κ = n₁/n₀, treated patients per control patient.
    alternative : {"two-sided", "less", "greater"}
        ``"less"`` with ``rate_ratio_null`` = margin M > 1 is a non-inferiority design (H₀: RR ≥ M).
    rate_ratio_null : float
        RR₀ under the null hypothesis (1 for superiority).

    Returns
    -------
    float or ndarray
        n₀, the control-group size (unrounded); the treated group has κ·n₀.

    Notes
    -----
    n₀ = (z₁₋α′ √V₀ + z₁₋β √V₁)² / (log RR − log RR₀)², α′ = α/2 (two-sided) or α (one-sided).

    References
    ----------
    Zhu H, Lakkis H. Sample size calculation for comparing two negative binomial rates. Stat Med
    2014;33:376–387.

    Examples
    --------
    >>> round(float(negbin_sample_size(0.8, 0.85, 0.4, 0.75, approach=3)), 1)
    1310.7
    """
    return _negbin_sample_size(rate_control, rate_ratio, dispersion, exposure, alpha, power, approach, allocation,
                               alternative, rate_ratio_null, "negbin_sample_size")


def _negbin_sample_size(rate_control, rate_ratio, dispersion, exposure, alpha, power, approach, allocation,
                        alternative, rate_ratio_null, where, names=None):
    """:func:`negbin_sample_size` with its checks reported as those of the public function ``where``."""
    _check_counts_inputs(
        where,
        rate_control,
        rate_ratio,
        dispersion,
        exposure,
        alpha,
        allocation,
        approach,
        alternative,
        rate_ratio_null,
        names,
    )
    power_name = (names or {}).get("power", "power")
    p = as_float_array(power_name, power, where)
    a = np.asarray(alpha, dtype=float)
    bad = ~((p > a) & (p < 1.0))
    if np.any(bad):
        raise invalid(power_name, "in (alpha, 1)", first_bad(np.broadcast_to(p, bad.shape), bad), where)
    v0, v1 = negbin_variances(
        rate_control, rate_ratio, dispersion, exposure, allocation, approach, rate_ratio_null
    )
    effect = np.log(np.asarray(rate_ratio, dtype=float)) - np.log(np.asarray(rate_ratio_null, dtype=float))
    n = (_z_alpha(alpha, alternative) * np.sqrt(v0) + stats.norm.isf(1.0 - p) * np.sqrt(v1)) ** 2 / effect**2
    return n[()] if np.ndim(n) == 0 else n


def negbin_power(
    n_control,
    rate_control,
    rate_ratio,
    dispersion,
    exposure,
    alpha=0.05,
    approach=3,
    allocation=1.0,
    alternative="two-sided",
    rate_ratio_null=1.0,
):
    """Power of the negative-binomial rate-ratio test with ``n_control`` control patients.

    Parameters
    ----------
    n_control : float or array_like
        Control-group size n₀ (>= 2); the treated group has ``allocation`` · n₀.
    rate_control, rate_ratio, dispersion, exposure, alpha, approach, allocation, alternative, rate_ratio_null
        As in :func:`negbin_sample_size`.

    Notes
    -----
    power = Φ((√n₀ |log RR − log RR₀| − z₁₋α′ √V₀) / √V₁), the formula of Zhu & Lakkis (2014) (for a
    two-sided test the far tail is neglected, as there).

    Examples
    --------
    >>> round(float(negbin_power(100, 0.5, 0.6, 0.5, 2.0, allocation=0.5, approach=3)), 7)
    0.6207448
    """
    where = "negbin_power"
    _check_counts_inputs(
        where,
        rate_control,
        rate_ratio,
        dispersion,
        exposure,
        alpha,
        allocation,
        approach,
        alternative,
        rate_ratio_null,
    )
    n = as_float_array("n_control", n_control, where)
    if np.any(n < 2):
        raise invalid("n_control", ">= 2", first_bad(n, n < 2), where)
    v0, v1 = negbin_variances(
        rate_control, rate_ratio, dispersion, exposure, allocation, approach, rate_ratio_null
    )
    effect = np.abs(
        np.log(np.asarray(rate_ratio, dtype=float)) - np.log(np.asarray(rate_ratio_null, dtype=float))
    )
    out = stats.norm.cdf((np.sqrt(n) * effect - _z_alpha(alpha, alternative) * np.sqrt(v0)) / np.sqrt(v1))
    return out[()] if np.ndim(out) == 0 else out


def poisson_sample_size(
    rate_control,
    rate_ratio,
    exposure,
    alpha=0.05,
    power=0.8,
    approach=3,
    allocation=1.0,
    alternative="two-sided",
    rate_ratio_null=1.0,
):
    """Unrounded control-group size for two Poisson rates: :func:`negbin_sample_size` with dispersion 0.

    Examples
    --------
    >>> round(float(poisson_sample_size(3.0, 0.7, 1.0)), 2)
    48.85
    """
    return _negbin_sample_size(
        rate_control,
        rate_ratio,
        0.0,
        exposure,
        alpha,
        power,
        approach,
        allocation,
        alternative,
        rate_ratio_null,
        "poisson_sample_size",
    )


def negbin_sample_size_table(
    rate_control,
    rate_ratios,
    dispersions,
    exposure,
    alpha=0.05,
    powers=(0.8, 0.9),
    approaches=APPROACHES,
    allocation=1.0,
    alternative="two-sided",
    rate_ratio_null=1.0,
):
    """Tidy sample sizes over rate ratios × dispersions × powers × approaches (for sample-size curves).

    Returns
    -------
    pandas.DataFrame
        Columns ``approach, rate_control, rate_ratio, dispersion, exposure, allocation, alpha, power,
        n_control, n_treated, n_total`` (unrounded) and ``n_total_rounded`` (both groups rounded up).

    Examples
    --------
    >>> negbin_sample_size_table(4.0, [0.5, 0.7], [0.5], 1.0).shape
    (12, 12)
    """
    where = "negbin_sample_size_table"
    rr, k, pw = np.meshgrid(
        np.atleast_1d(as_float_array("rate_ratios", rate_ratios, where)),
        np.atleast_1d(as_float_array("dispersions", dispersions, where)),
        np.atleast_1d(as_float_array("powers", powers, where)),
        indexing="ij",
    )
    names = {"rate_ratio": "rate_ratios", "dispersion": "dispersions", "power": "powers", "approach": "approaches"}
    rows = []
    for approach in approaches:
        n0 = np.asarray(
            _negbin_sample_size(
                rate_control,
                rr,
                k,
                exposure,
                alpha,
                pw,
                approach,
                allocation,
                alternative,
                rate_ratio_null,
                where,
                names,
            )
        )
        rows.append(
            pd.DataFrame(
                {
                    "approach": approach,
                    "rate_control": float(rate_control),
                    "rate_ratio": rr.ravel(),
                    "dispersion": k.ravel(),
                    "exposure": float(exposure),
                    "allocation": float(allocation),
                    "alpha": float(alpha),
                    "power": pw.ravel(),
                    "n_control": n0.ravel(),
                    "n_treated": allocation * n0.ravel(),
                    "n_total": (1 + allocation) * n0.ravel(),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out["n_total_rounded"] = (np.ceil(out["n_control"] - 1e-9) + np.ceil(out["n_treated"] - 1e-9)).astype(int)
    return out


@dataclass(frozen=True)
class PoissonRateTest:
    """Result of :func:`poisson_rate_test`: rate ratio (first / second), its exact CI and p-value."""

    counts: tuple
    exposures: tuple
    rate_ratio: float
    ci: tuple
    p_value: float
    rate_ratio_null: float
    alternative: str
    conf_level: float

    def to_frame(self):
        """One-row tidy table."""
        return pd.DataFrame(
            [
                {
                    "count_1": self.counts[0],
                    "count_2": self.counts[1],
                    "exposure_1": self.exposures[0],
                    "exposure_2": self.exposures[1],
                    "rate_ratio": self.rate_ratio,
                    "ci_lower": self.ci[0],
                    "ci_upper": self.ci[1],
                    "p_value": self.p_value,
                    "rate_ratio_null": self.rate_ratio_null,
                    "alternative": self.alternative,
                    "conf_level": self.conf_level,
                    "method": "exact conditional (binomial) test",
                }
            ]
        )


def poisson_rate_test(counts, exposures, rate_ratio_null=1.0, alternative="two-sided", conf_level=0.95):
    """Exact conditional test and confidence interval for the ratio of two Poisson rates.

    Parameters
    ----------
    counts : pair of int
        Event counts (x₁, x₂), e.g. bleeds after gene therapy and bleeds during the lead-in.
    exposures : pair of float
        Person-time (T₁, T₂) over which they were counted.
    rate_ratio_null : float
        Ratio (x₁/T₁)/(x₂/T₂) under the null hypothesis.
    alternative : {"two-sided", "less", "greater"}
    conf_level : float

    Returns
    -------
    PoissonRateTest
        With ``p_value``, ``rate_ratio`` (first / second) and ``ci`` (Clopper–Pearson limits mapped to
        the ratio scale; one-sided for a one-sided alternative).

    Notes
    -----
    Given n = x₁ + x₂, x₁ ~ Binomial(n, p) with p = ρT₁/(ρT₁ + T₂); the test is the exact binomial test of
    p₀ = ρ₀T₁/(ρ₀T₁ + T₂) and the limits are ρ = p/(1 − p) · T₂/T₁ at the Clopper–Pearson limits of p.
    The two-sided p-value sums the probabilities of outcomes no more likely than the one observed, as R's
    ``binom.test`` and ``poisson.test`` do.

    References
    ----------
    Breslow NE, Day NE. Statistical Methods in Cancer Research, vol. II. IARC; 1987, § 2.4. R Core Team,
    ``stats::poisson.test``.

    Examples
    --------
    >>> res = poisson_rate_test([11, 21], [800, 3011])  # R: poisson.test(c(11, 21), c(800, 3011))
    >>> round(res.p_value, 5), round(res.rate_ratio, 6)
    (0.07967, 1.971488)
    """
    where = "poisson_rate_test"
    c = np.asarray(counts, dtype=float)
    e = np.asarray(exposures, dtype=float)
    if c.shape != (2,) or np.any(c < 0) or np.any(c != np.round(c)):
        raise invalid("counts", "two non-negative integers", list(np.atleast_1d(c).tolist()), where)
    if e.shape != (2,) or np.any(~np.isfinite(e)) or np.any(e <= 0):
        raise invalid("exposures", "two positive numbers", list(np.atleast_1d(e).tolist()), where)
    if c.sum() == 0:
        raise invalid("counts", "at least one event in total", [0, 0], where)
    r0 = float(check_positive("rate_ratio_null", rate_ratio_null, where))
    check_choice("alternative", alternative, _ALTERNATIVES, where)
    level = float(check_probability_open("conf_level", conf_level, where))
    x1, n = int(c[0]), int(c.sum())
    t1, t2 = float(e[0]), float(e[1])
    p0 = r0 * t1 / (r0 * t1 + t2)
    res = stats.binomtest(x1, n, p0, alternative=alternative)
    ci_p = res.proportion_ci(confidence_level=level, method="exact")

    def to_ratio(p):
        return np.inf if p >= 1.0 else p / (1.0 - p) * t2 / t1

    ratio = np.inf if c[1] == 0 else (c[0] / t1) / (c[1] / t2)
    return PoissonRateTest(
        counts=(int(c[0]), int(c[1])),
        exposures=(t1, t2),
        rate_ratio=float(ratio),
        ci=(float(to_ratio(ci_p.low)), float(to_ratio(ci_p.high))),
        p_value=float(res.pvalue),
        rate_ratio_null=r0,
        alternative=alternative,
        conf_level=level,
    )

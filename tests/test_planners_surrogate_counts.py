"""Count endpoints (atmp_hta.planners.surrogate.counts) against documented R output, Stata and statsmodels."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.rates import power_negbin_ratio_2indep

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners.surrogate import (
    negbin_power,
    negbin_sample_size,
    negbin_sample_size_table,
    negbin_variances,
    poisson_rate_test,
    poisson_sample_size,
)

# --- documented output of R implementations of Zhu & Lakkis (2014) -----------------------------------------


@pytest.mark.parametrize(
    ("n_control", "allocation", "dispersion", "documented"),
    [
        # R PASSED::power_NegativeBinomial(n1=100, n2=50, mu1=0.5, mu2=0.3, theta=2, duration=2, approach=3)
        # -> power 0.6207448; with n1=50, n2=100 -> 0.5825763; theta=200000 (k=5e-6), n1=50, n2=100
        # -> 0.7248956 (outputs quoted in statsmodels' test_rates_poisson.py::test_power_negbin).
        (100, 0.5, 0.5, 0.6207448),
        (50, 2.0, 0.5, 0.5825763),
        (50, 2.0, 1 / 200000, 0.7248956),
    ],
)
def test_power_matches_passed_documented_output(n_control, allocation, dispersion, documented):
    power = negbin_power(n_control, 0.5, 0.3 / 0.5, dispersion, 2.0, allocation=allocation, approach=3)
    assert power == pytest.approx(documented, abs=5e-8)  # printed to 7 significant digits


@pytest.mark.parametrize(
    ("exposure", "n1_doc", "variance_doc"), [(14.0, 18, 0.03227513), (8.5, 25, 0.03309804)]
)
def test_approach_2_matches_gsdesignnb_documented_output(exposure, n1_doc, variance_doc):
    # gsDesignNB::sample_size_nbinom(lambda1=0.5, lambda2=0.3, dispersion=0.1, power=0.8, one-sided
    # alpha=0.025)
    # reference examples: average exposure 14 -> n1 = 18, variance 0.03227513; exposure 8.5 -> n1 = 25,
    # variance 0.03309804 (variance = V1 / n1, Zhu & Lakkis approach 2, "true rates").
    n = negbin_sample_size(0.5, 0.6, 0.1, exposure, alpha=0.025, power=0.8, approach=2, alternative="less")
    assert math.ceil(n) == n1_doc
    _, v1 = negbin_variances(0.5, 0.6, 0.1, exposure, approach=2)
    assert v1 / n1_doc == pytest.approx(variance_doc, abs=5e-9)


def test_table_i_scenario_matches_stata_power_tworates_zhu_example():
    # Zhu & Lakkis (2014) Table I scenario r0 = 0.8, RR = 0.85, k = 0.4, mu_t = 0.75, 80 % power: the help
    # file of Stata's power_tworates_zhu (Chatfield 2019, which reproduces Table I with methods 2 and 3) uses
    # n1(1311) for this scenario; the default method 3 rounds up to 1311.
    assert math.ceil(negbin_sample_size(0.8, 0.85, 0.4, 0.75, approach=3)) == 1311


# --- statsmodels as an independent implementation ---------------------------------------------------------


@pytest.mark.parametrize(("approach", "method_var"), [(2, "alt"), (3, "ftotal")])
@pytest.mark.parametrize(("rr", "k", "allocation"), [(0.6, 0.8, 1.5), (1.4, 0.3, 1.0), (0.5, 0.0, 0.5)])
def test_superiority_power_agrees_with_statsmodels(approach, method_var, rr, k, allocation):
    # statsmodels.stats.rates.power_negbin_ratio_2indep: sample 1 = treatment, sample 2 = control.
    n0 = 60
    expected = power_negbin_ratio_2indep(
        2.0 * rr,
        2.0,
        allocation * n0,
        nobs_ratio=1 / allocation,
        exposure=1.5,
        value=1,
        alpha=0.05,
        dispersion=k,
        alternative="two-sided",
        method_var=method_var,
        return_results=False,
    )
    # statsmodels adds the far tail of the two-sided test, which Zhu & Lakkis neglect (< 1e-5 here)
    assert negbin_power(n0, 2.0, rr, k, 1.5, allocation=allocation, approach=approach) == pytest.approx(
        expected, abs=1e-5
    )


def test_noninferiority_power_agrees_with_statsmodels_true_rates():
    expected = power_negbin_ratio_2indep(
        1.8,
        2.0,
        90,
        nobs_ratio=60 / 90,
        exposure=1.5,
        value=1.3,
        alpha=0.025,
        dispersion=0.8,
        alternative="smaller",
        method_var="alt",
        return_results=False,
    )
    power = negbin_power(
        60,
        2.0,
        0.9,
        0.8,
        1.5,
        alpha=0.025,
        allocation=1.5,
        approach=2,
        alternative="less",
        rate_ratio_null=1.3,
    )
    assert power == pytest.approx(expected, abs=1e-12)


def test_noninferiority_approach_3_is_the_fixed_marginal_total_variance_by_hand():
    # Hand derivation (non-inferiority, H0: RR >= M): with kappa = n1/n0 and the expected total of events
    # n0 t (r0 + kappa r1) held fixed, the null rates are (r, M r) with r = (r0 + kappa r1) / (1 + kappa M), and
    # n0 Var(log RR^) = 1/(t r) + 1/(t kappa M r) + (1 + kappa) k / kappa
    #                 = (1 + kappa M)^2 / (t kappa M (r0 + kappa r1)) + (1 + kappa) k / kappa.
    # r0 = 2, RR = 0.9 (r1 = 1.8), M = 1.3, kappa = 1.5, t = 1.5, k = 0.8:
    # (1 + 1.95)^2 / (1.5 * 1.5 * 1.3 * (2 + 2.7)) = 8.7025 / 13.7475 = 0.6330242, plus 2.5 * 0.8 / 1.5 = 1.3333333.
    v0_hand = 8.7025 / 13.7475 + 2.5 * 0.8 / 1.5
    # V1 at the true rates: 1/(1.5 * 2) + 1/(1.5 * 1.5 * 1.8) + 1.3333333 = 0.3333333 + 0.2469136 + 1.3333333.
    v1_hand = 1 / 3.0 + 1 / 4.05 + 2.5 * 0.8 / 1.5
    v0, v1 = negbin_variances(2.0, 0.9, 0.8, 1.5, 1.5, approach=3, rate_ratio_null=1.3)
    assert v0 == pytest.approx(v0_hand, rel=1e-12)
    assert v1 == pytest.approx(v1_hand, rel=1e-12)
    # power = Phi((sqrt(n0) |log(0.9 / 1.3)| - z_0.975 sqrt(V0)) / sqrt(V1)) with n0 = 60
    z = (math.sqrt(60) * abs(math.log(0.9 / 1.3)) - 1.959963984540054 * math.sqrt(v0_hand)) / math.sqrt(v1_hand)
    power = negbin_power(
        60, 2.0, 0.9, 0.8, 1.5, alpha=0.025, allocation=1.5, approach=3, alternative="less", rate_ratio_null=1.3
    )
    assert power == pytest.approx(0.5 * math.erfc(-z / math.sqrt(2)), rel=1e-10)


@pytest.mark.parametrize("k", [0.0, 0.8])
def test_noninferiority_approach_3_agrees_with_statsmodels_fixed_total_at_equal_allocation(k):
    # statsmodels' method_var="ftotal" (the fixed-total variance) for a non-inferiority margin, 1:1 allocation.
    expected = power_negbin_ratio_2indep(
        1.8, 2.0, 60, nobs_ratio=1.0, exposure=1.5, value=1.3, alpha=0.025, dispersion=k,
        alternative="smaller", method_var="ftotal", return_results=False,
    )
    power = negbin_power(60, 2.0, 0.9, k, 1.5, alpha=0.025, approach=3, alternative="less", rate_ratio_null=1.3)
    assert power == pytest.approx(expected, abs=1e-12)


def test_approach_3_is_restricted_maximum_likelihood_only_for_poisson_counts():
    # For Poisson counts the restricted ML rates under H0 are the fixed-total rates, so approach 3 equals
    # statsmodels' score (constrained-MLE) variance for any allocation; for negative-binomial counts in a
    # non-inferiority test the restricted ML solves a quadratic in k (Zhu 2017) and the two differ.
    kw = dict(exposure=1.5, value=1.3, alpha=0.025, alternative="smaller", method_var="score", return_results=False)
    ours = dict(alpha=0.025, allocation=1.5, approach=3, alternative="less", rate_ratio_null=1.3)
    poisson = power_negbin_ratio_2indep(1.8, 2.0, 90, nobs_ratio=1 / 1.5, dispersion=0.0, **kw)
    assert negbin_power(60, 2.0, 0.9, 0.0, 1.5, **ours) == pytest.approx(poisson, abs=1e-12)
    negbin = power_negbin_ratio_2indep(1.8, 2.0, 90, nobs_ratio=1 / 1.5, dispersion=0.8, **kw)
    assert abs(negbin_power(60, 2.0, 0.9, 0.8, 1.5, **ours) - negbin) > 1e-3
    # ... hence the documentation names approach 3 "fixed marginal total", not restricted maximum likelihood
    for doc in (negbin_variances.__doc__, negbin_sample_size.__doc__):
        assert "fixed marginal total" in doc
        assert "3 restricted maximum likelihood" not in " ".join(doc.split())


def test_approach_3_null_rates_keep_the_expected_total_of_events():
    # Oracle: approach 3 evaluates V0 at the null rates (r, M r) that keep n0 r0 + n1 r1 fixed.
    r0, rr, m, kap, t, k = 2.0, 0.9, 1.3, 1.5, 1.5, 0.8
    r_null = (r0 + kap * rr * r0) / (1 + kap * m)
    assert r_null + kap * m * r_null == pytest.approx(r0 + kap * rr * r0)
    v0, _ = negbin_variances(r0, rr, k, t, kap, approach=3, rate_ratio_null=m)
    assert v0 == pytest.approx((1 / r_null + 1 / (kap * m * r_null)) / t + (1 + kap) * k / kap)


def test_approach_1_uses_the_control_rate_in_both_groups():
    v0, v1 = negbin_variances(0.8, 0.85, 0.4, 0.75, 1.0, approach=1)
    assert v0 == pytest.approx(2 / (0.75 * 0.8) + 2 * 0.4)
    assert v1 == pytest.approx((1 / 0.8 + 1 / 0.68) / 0.75 + 2 * 0.4)


def test_sample_size_and_power_are_inverse():
    for approach in (1, 2, 3):
        n = negbin_sample_size(4.19, 0.5, 1.0, 1.0, power=0.85, approach=approach, allocation=2.0)
        assert negbin_power(n, 4.19, 0.5, 1.0, 1.0, approach=approach, allocation=2.0) == pytest.approx(
            0.85, abs=1e-10
        )


@pytest.mark.parametrize(("approach", "allocation"), [(1, 1.0), (2, 1.0), (3, 1.0), (2, 2.0), (3, 2.0)])
def test_poisson_sample_size_matches_the_closed_form_rate_ratio_formula(approach, allocation):
    # Closed form for two Poisson rates (Wald test of log RR, Var(log RR^) = 1/E[X0] + 1/E[X1], the
    # Poisson case k = 0 of Zhu & Lakkis 2014): with r1 = RR r0 and kappa = n1/n0,
    #   n0 = (z_{1-a/2} sqrt(V0) + z_{1-b} sqrt(V1))^2 / (log RR)^2,   V1 = (1/r0 + 1/(kappa r1)) / t,
    #   V0 = (1 + kappa) / (t kappa r0)        (approach 1: control rate in both groups),
    #   V0 = V1                                (approach 2: true rates),
    #   V0 = (1 + kappa)^2 / (t kappa (r0 + kappa r1))   (approach 3: pooled rate, fixed total).
    r0, rr, t = 3.0, 0.7, 1.0
    z_a, z_b = 1.959963984540054, 0.8416212335729143  # z_0.975, z_0.8
    r1, kap = rr * r0, allocation
    v1 = (1 / r0 + 1 / (kap * r1)) / t
    v0 = {1: (1 + kap) / (t * kap * r0), 2: v1, 3: (1 + kap) ** 2 / (t * kap * (r0 + kap * r1))}[approach]
    expected = (z_a * math.sqrt(v0) + z_b * math.sqrt(v1)) ** 2 / math.log(rr) ** 2
    n = poisson_sample_size(r0, rr, t, alpha=0.05, power=0.8, approach=approach, allocation=allocation)
    assert n == pytest.approx(expected, rel=1e-12)
    if approach == 3 and allocation == 1.0:
        # by hand: V1 = 1/3 + 1/2.1 = 0.8095238, V0 = 4/5.1 = 0.7843137,
        # n0 = (1.959964 * 0.8856149 + 0.8416212 * 0.8997354)^2 / 0.1272172 = 48.854
        assert n == pytest.approx(48.854, abs=1e-3)


def test_table_is_tidy():
    t = negbin_sample_size_table(4.19, [0.4, 0.5], [0.5, 1.0], 1.0, powers=[0.8])
    assert len(t) == 3 * 2 * 2
    assert (t["n_total_rounded"] >= t["n_total"]).all()


# --- exact conditional Poisson test ------------------------------------------------------------------------


def test_poisson_rate_test_matches_r_poisson_test():
    # R: poisson.test(c(11, 6 + 8 + 7), c(800, 1083 + 1050 + 878)) (the example of ?poisson.test) ->
    # p-value = 0.07967, 95 % CI 0.8584264 4.2772659, rate ratio 1.971488.
    res = poisson_rate_test([11, 21], [800, 3011])
    assert res.p_value == pytest.approx(0.07967, abs=5e-6)
    assert res.rate_ratio == pytest.approx(1.971488, abs=5e-7)
    assert res.ci == pytest.approx((0.8584264, 4.2772659), abs=5e-8)
    frame = res.to_frame()
    assert frame.loc[0, "ci_upper"] == pytest.approx(4.2772659, abs=5e-8)


def test_poisson_rate_test_agrees_with_statsmodels_exact_conditional_test():
    from statsmodels.stats.rates import test_poisson_2indep

    res = poisson_rate_test([7, 25], [1.0 * 20, 0.5 * 20], alternative="less")
    sm = test_poisson_2indep(7, 20.0, 25, 10.0, method="exact-cond", alternative="smaller")
    assert res.p_value == pytest.approx(sm.pvalue, rel=1e-10)


def test_poisson_rate_test_one_sided_upper_bound_is_the_noninferiority_limit():
    # one-sided test at 2.5 % and the one-sided 97.5 % upper limit are dual: reject iff the limit is below M
    for post in (10, 20, 25, 30):
        res = poisson_rate_test(
            [post, 30], [12.0, 6.0], alternative="less", rate_ratio_null=1.8, conf_level=0.975
        )
        assert res.ci[0] == 0.0
        assert (res.p_value < 0.025) == (res.ci[1] < 1.8)


# --- properties ------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    rr=st.floats(0.2, 0.9),
    k=st.floats(0.0, 3.0),
    a1=st.floats(0.001, 0.2),
    a2=st.floats(0.001, 0.2),
    approach=st.sampled_from([1, 2, 3]),
)
def test_sample_size_decreases_as_alpha_grows(rr, k, a1, a2, approach):
    lo, hi = sorted((a1, a2))
    n_hi = negbin_sample_size(2.0, rr, k, 1.0, alpha=hi, power=0.8, approach=approach)
    n_lo = negbin_sample_size(2.0, rr, k, 1.0, alpha=lo, power=0.8, approach=approach)
    assert n_hi <= n_lo + 1e-9


@settings(max_examples=40, deadline=None)
@given(rr=st.floats(0.2, 0.9), k=st.floats(0.0, 3.0), n=st.floats(2, 500), extra=st.floats(1, 100))
def test_power_increases_with_n_and_effect(rr, k, n, extra):
    assert negbin_power(n + extra, 2.0, rr, k, 1.0) >= negbin_power(n, 2.0, rr, k, 1.0) - 1e-12
    assert negbin_power(n, 2.0, rr * 0.9, k, 1.0) >= negbin_power(n, 2.0, rr, k, 1.0) - 1e-12


@settings(max_examples=30, deadline=None)
@given(k1=st.floats(0.0, 3.0), k2=st.floats(0.0, 3.0))
def test_more_dispersion_needs_more_patients(k1, k2):
    lo, hi = sorted((k1, k2))
    assert negbin_sample_size(2.0, 0.6, hi, 1.0) >= negbin_sample_size(2.0, 0.6, lo, 1.0) - 1e-9


# --- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: negbin_sample_size(2.0, 1.0, 0.5, 1.0),
            "The 'rate_ratio' parameter of negbin_sample_size must be different from rate_ratio_null (1.0). "
            "Got 1.0.",
        ),
        (
            lambda: negbin_sample_size(2.0, 0.6, -0.1, 1.0),
            "The 'dispersion' parameter of negbin_sample_size must be >= 0. Got -0.1.",
        ),
        (
            lambda: negbin_sample_size(2.0, 0.6, 0.5, 1.0, power=0.04),
            "The 'power' parameter of negbin_sample_size must be in (alpha, 1). Got 0.04.",
        ),
        (
            lambda: negbin_sample_size(2.0, 0.6, 0.5, 1.0, approach=4),
            "The 'approach' parameter of negbin_sample_size must be one of (1, 2, 3). Got 4.",
        ),
        (lambda: negbin_sample_size(2.0, 1.2, 0.5, 1.0, alternative="less"), "must be < rate_ratio_null"),
        (
            lambda: negbin_power(1, 2.0, 0.6, 0.5, 1.0),
            "The 'n_control' parameter of negbin_power must be >= 2. Got 1.0.",
        ),
        (
            lambda: negbin_sample_size(0.0, 0.6, 0.5, 1.0),
            "The 'rate_control' parameter of negbin_sample_size must be > 0.",
        ),
        (lambda: poisson_rate_test([0, 0], [1.0, 1.0]), "must be at least one event in total"),
        # errors raised while a public function calls another name the function the user called
        (
            lambda: poisson_sample_size(3.0, 1.0, 1.0),
            "The 'rate_ratio' parameter of poisson_sample_size must be different from rate_ratio_null (1.0).",
        ),
        (
            lambda: poisson_sample_size(3.0, 0.7, 1.0, power=0.01),
            "The 'power' parameter of poisson_sample_size must be in (alpha, 1). Got 0.01.",
        ),
        (
            lambda: negbin_sample_size_table(4.0, [0.5, 1.0], [0.5], 1.0),
            "The 'rate_ratios' parameter of negbin_sample_size_table must be different from rate_ratio_null",
        ),
        (
            lambda: negbin_sample_size_table(4.0, [0.5], [-1.0], 1.0),
            "The 'dispersions' parameter of negbin_sample_size_table must be >= 0. Got -1.0.",
        ),
        (
            lambda: negbin_sample_size_table(4.0, [0.5], [1.0], 1.0, powers=[0.01]),
            "The 'powers' parameter of negbin_sample_size_table must be in (alpha, 1). Got 0.01.",
        ),
        (
            lambda: negbin_sample_size_table(4.0, [0.5], [1.0], 1.0, approaches=[5]),
            "The 'approaches' parameter of negbin_sample_size_table must be one of (1, 2, 3). Got 5.",
        ),
        (
            lambda: poisson_rate_test([1.5, 2], [1.0, 1.0]),
            "The 'counts' parameter of poisson_rate_test must be two non-negative integers",
        ),
    ],
)
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ParameterError) as err:
        call()
    assert message in str(err.value)


def test_arrays_broadcast():
    n = negbin_sample_size(2.0, np.array([0.5, 0.6, 0.7]), np.array([[0.5], [1.0]]), 1.0)
    assert n.shape == (2, 3)
    assert n[1, 0] == pytest.approx(float(negbin_sample_size(2.0, 0.5, 1.0, 1.0)))

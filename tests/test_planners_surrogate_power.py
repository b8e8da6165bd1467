"""Continuous-surrogate planning (atmp_hta.planners.surrogate.power) vs documented R output, statsmodels."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import TTestIndPower, TTestPower

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners.surrogate import (
    arithmetic_from_lognormal,
    cv_from_log_sd,
    gmr_sample_size,
    log_sd_from_cv,
    lognormal_from_arithmetic,
    power_curve_table,
    prob_above_threshold,
    sample_size_table,
    ttest_power,
    ttest_sample_size,
)

# R's pwr.t.test / power.t.test solve for n with uniroot(tol = .Machine$double.eps^0.25 = 1.2e-4), so a
# documented n is reproducible to about 2e-4; a documented power (no root finding) to its printed 7
# significant digits.
N_TOL = 2e-4


# --- documented R output -------------------------------------------------------------------------------


def test_two_sample_n_matches_pwr_documented_output():
    # pwr.t.test(d=0.8, sig.level=0.05, power=0.9, type="two.sample", alternative="two.sided")
    # -> n = 33.82555 (Kabacoff, R in Action, ch. 10; also power.t.test(delta=0.4, sd=0.5, power=0.9)).
    assert ttest_sample_size(0.8, alpha=0.05, power=0.9) == pytest.approx(33.82555, abs=N_TOL)


def test_two_sample_n_for_a_medium_effect_matches_pwr_documented_output():
    # pwr.t.test(d=0.5, power=0.8, sig.level=0.05, type="two.sample") -> n = 63.76561 (example output in the
    # documentation and vignette of the R package pwr, Champely et al.).
    assert ttest_sample_size(0.5, alpha=0.05, power=0.8, design="two-sample") == pytest.approx(63.76561, abs=N_TOL)
    assert math.ceil(ttest_sample_size(0.5, alpha=0.05, power=0.8)) == 64


def test_two_sample_power_matches_pwr_documented_output():
    # pwr.t.test(n=20, d=0.5, sig.level=0.01, type="two.sample") -> power = 0.1439551 (R in Action, ch. 10).
    assert ttest_power(0.5, 20, alpha=0.01) == pytest.approx(0.1439551, abs=5e-8)


def test_paired_power_matches_pwr_documented_output():
    # pwr.t.test(d=0.02, n=33, type="paired", alternative="two.sided") -> power = 0.05142498.
    assert ttest_power(0.02, 33, design="paired") == pytest.approx(0.05142498, abs=5e-9)


def test_paired_n_matches_pwr_documented_output():
    # pwr.t.test(d=0.15, power=0.8, sig.level=0.05, type="paired") -> n = 350.7638.
    assert ttest_sample_size(0.15, power=0.8, design="paired") == pytest.approx(350.7638, abs=N_TOL)


def test_paired_one_sided_n_matches_power_t_test_documented_output():
    # power.t.test(power=0.8, delta=5, sd=sqrt(312), type="paired", alt="one.sided") -> n = 78.52896.
    n = ttest_sample_size(5 / math.sqrt(312), power=0.8, design="paired", alternative="greater")
    assert n == pytest.approx(78.52896, abs=N_TOL)


@pytest.mark.parametrize(("d", "n_doc"), [(1.0, 9.93785), (0.2769913, 104.2368)])
def test_one_sample_n_matches_pwr_documented_output(d, n_doc):
    # pwr.t.test(d=1, power=0.8, type="one.sample") -> n = 9.93785;
    # pwr.t.test(d=0.2769913, power=0.8, type="one.sample") -> n = 104.2368.
    assert ttest_sample_size(d, power=0.8, design="one-sample") == pytest.approx(n_doc, abs=N_TOL)


# --- statsmodels as an independent implementation of the same noncentral-t power ------------------------


@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
@pytest.mark.parametrize(("d", "n"), [(0.3, 40), (0.8, 12), (1.5, 5)])
def test_power_agrees_with_statsmodels(d, n, alternative):
    sm_alt = {"two-sided": "two-sided", "greater": "larger"}[alternative]
    two = TTestIndPower().power(effect_size=d, nobs1=n, alpha=0.05, ratio=1.0, alternative=sm_alt)
    one = TTestPower().power(effect_size=d, nobs=n, alpha=0.05, alternative=sm_alt)
    assert ttest_power(d, n, alternative=alternative) == pytest.approx(two, abs=1e-10)
    assert ttest_power(d, n, design="one-sample", alternative=alternative) == pytest.approx(one, abs=1e-10)
    assert ttest_power(d, n, design="paired", alternative=alternative) == pytest.approx(one, abs=1e-10)


def test_less_is_the_mirror_of_greater():
    assert ttest_power(-0.6, 15, alternative="less") == pytest.approx(
        ttest_power(0.6, 15, alternative="greater")
    )


def test_power_is_vectorised_and_broadcasts():
    out = ttest_power(np.array([[0.2], [0.5]]), np.array([10, 20, 30]))
    assert out.shape == (2, 3)
    assert out[1, 2] == pytest.approx(float(ttest_power(0.5, 30)))


def test_sample_size_is_the_inverse_of_power():
    n = ttest_sample_size([0.3, 0.7], power=[0.8, 0.9], design="paired")
    assert np.allclose(ttest_power(np.array([0.3, 0.7]), n, design="paired"), [0.8, 0.9], atol=1e-8)


# --- log-normal biomarkers -------------------------------------------------------------------------------


def test_lognormal_round_trip_and_cv():
    mu, sigma = lognormal_from_arithmetic(39.0, 18.7)
    mean, sd = arithmetic_from_lognormal(mu, sigma)
    assert (mean, sd) == pytest.approx((39.0, 18.7), rel=1e-12)
    assert cv_from_log_sd(sigma) == pytest.approx(18.7 / 39.0, rel=1e-12)
    assert log_sd_from_cv(18.7 / 39.0) == pytest.approx(sigma, rel=1e-12)


def test_lognormal_moments_match_scipy():
    from scipy import stats

    mu, sigma = lognormal_from_arithmetic(39.0, 18.7)
    dist = stats.lognorm(s=sigma, scale=np.exp(mu))
    assert (dist.mean(), dist.std()) == pytest.approx((39.0, 18.7), rel=1e-10)
    assert prob_above_threshold(15.0, np.exp(mu), sigma) == pytest.approx(dist.sf(15.0), rel=1e-12)


def test_gmr_sample_size_agrees_with_statsmodels_on_log_scale():
    sigma = math.sqrt(math.log1p(0.48**2))
    expected = TTestIndPower().solve_power(effect_size=math.log(1.5) / sigma, alpha=0.05, power=0.8)
    assert gmr_sample_size(1.5, 0.48, power=0.8) == pytest.approx(expected, rel=1e-5)


def test_tables_are_tidy():
    curves = power_curve_table([0.5, 1.0], [10, 20, 30], design="paired")
    assert list(curves.columns) == ["design", "alternative", "alpha", "effect_size", "n", "power"]
    assert len(curves) == 6
    sizes = sample_size_table([0.5, 0.8], powers=[0.8, 0.9])
    assert (sizes["n_rounded"] >= sizes["n"]).all()


# --- properties ------------------------------------------------------------------------------------------

designs = st.sampled_from(["two-sample", "paired", "one-sample"])


@settings(max_examples=40, deadline=None)
@given(d=st.floats(0.05, 2.0), n=st.integers(2, 200), extra=st.integers(1, 50), design=designs)
def test_power_increases_with_n(d, n, extra, design):
    assert ttest_power(d, n + extra, design=design) >= ttest_power(d, n, design=design) - 1e-12


@settings(max_examples=40, deadline=None)
@given(d=st.floats(0.05, 2.0), step=st.floats(0.01, 1.0), n=st.integers(2, 100), design=designs)
def test_power_increases_with_effect_size(d, step, n, design):
    assert ttest_power(d + step, n, design=design) >= ttest_power(d, n, design=design) - 1e-12


@settings(max_examples=25, deadline=None)
@given(d=st.floats(0.1, 1.5), a1=st.floats(0.005, 0.1), a2=st.floats(0.005, 0.1), design=designs)
def test_sample_size_decreases_as_alpha_grows(d, a1, a2, design):
    lo, hi = sorted((a1, a2))
    assert (
        ttest_sample_size(d, alpha=hi, power=0.8, design=design)
        <= ttest_sample_size(d, alpha=lo, power=0.8, design=design) + 1e-6
    )


# --- bad input -------------------------------------------------------------------------------------------


def test_power_at_or_below_alpha_is_refused_with_the_project_message():
    with pytest.raises(
        ValueError,
        match=r"^The 'power' parameter of ttest_sample_size must be in \(alpha, 1\)\. Got 0\.03\.$",
    ):
        ttest_sample_size(0.5, alpha=0.05, power=0.03)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ttest_power(0.5, 1.5), "The 'n' parameter of ttest_power must be >= 2. Got 1.5."),
        (
            lambda: ttest_power(0.5, 10, alpha=1.2),
            "The 'alpha' parameter of ttest_power must be in (0, 1). Got 1.2.",
        ),
        (
            lambda: ttest_power(0.5, 10, design="crossover"),
            "The 'design' parameter of ttest_power must be one of",
        ),
        (
            lambda: ttest_sample_size(0.0),
            "The 'effect_size' parameter of ttest_sample_size must be a non-zero number",
        ),
        (lambda: ttest_sample_size(-0.5, alternative="greater"), "must be > 0 for alternative='greater'"),
        (
            lambda: ttest_power(float("nan"), 10),
            "The 'effect_size' parameter of ttest_power must be finite numbers",
        ),
        (
            lambda: gmr_sample_size(1.0, 0.3),
            "The 'gmr' parameter of gmr_sample_size must be a positive number other than 1",
        ),
        (lambda: log_sd_from_cv(-0.1), "The 'cv' parameter of log_sd_from_cv must be > 0. Got -0.1."),
        # errors raised while a public function calls another name the function the user called
        (lambda: gmr_sample_size(1.5, -0.1), "The 'cv' parameter of gmr_sample_size must be > 0. Got -0.1."),
        (
            lambda: gmr_sample_size(1.5, 0.3, power=0.01),
            "The 'power' parameter of gmr_sample_size must be in (alpha, 1). Got 0.01.",
        ),
        (
            lambda: gmr_sample_size(0.8, 0.3, alternative="greater"),
            "The 'gmr' parameter of gmr_sample_size must be > 1 for alternative='greater'. Got 0.8.",
        ),
        (
            lambda: gmr_sample_size(1.5, 0.3, design="crossover"),
            "The 'design' parameter of gmr_sample_size must be one of",
        ),
        (
            lambda: power_curve_table([0.5], [1, 10]),
            "The 'n_values' parameter of power_curve_table must be >= 2. Got 1.0.",
        ),
        (
            lambda: power_curve_table([0.5], [10], alpha=2.0),
            "The 'alpha' parameter of power_curve_table must be in (0, 1). Got 2.0.",
        ),
        (
            lambda: sample_size_table([0.0, 0.5]),
            "The 'effect_sizes' parameter of sample_size_table must be a non-zero number",
        ),
        (
            lambda: sample_size_table([0.5], powers=[0.9, 0.01]),
            "The 'powers' parameter of sample_size_table must be in (alpha, 1). Got 0.01.",
        ),
    ],
)
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ParameterError) as err:
        call()
    assert message in str(err.value)

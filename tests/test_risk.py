"""Certainty equivalents and event posteriors against closed forms."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from atmp_hta.exceptions import ParameterError
from atmp_hta.risk import (
    certainty_equivalent,
    event_probability_posterior,
    event_rate_posterior,
    probability_from_rate,
    risk_premium,
)


@pytest.mark.parametrize("r", [0.1, 1.0, 3.0])
def test_cara_two_point_closed_form(r):
    # X = 0 or 2 with probability 1/2: CE = -(1/r) ln((1 + e^(-2r)) / 2)   (exponential utility, by hand)
    expected = -math.log((1 + math.exp(-2 * r)) / 2) / r
    assert float(certainty_equivalent([0.0, 2.0], r)) == pytest.approx(expected, rel=1e-12)


def test_cara_normal_is_mean_minus_half_r_variance():
    # For X ~ N(mu, s^2), CE = mu - r s^2 / 2 (Pratt 1964). Quasi-exact normal sample via quantiles.
    from scipy import stats

    x = stats.norm.ppf((np.arange(200_000) + 0.5) / 200_000, loc=3.0, scale=0.4)
    assert float(certainty_equivalent(x, 2.0)) == pytest.approx(3.0 - 2.0 * 0.16 / 2, abs=2e-4)


def test_cara_is_stable_for_large_values_and_tiny_aversion():
    # e^(-r x) underflows for x = 1e4, r = 1: the stable form must still give 1e4 + CE({0, 2}).
    base = -math.log((1 + math.exp(-2)) / 2)
    assert float(certainty_equivalent([1e4, 1e4 + 2], 1.0)) == pytest.approx(1e4 + base, rel=1e-12)
    assert float(certainty_equivalent([-1e4, -1e4 + 2], 1.0)) == pytest.approx(-1e4 + base, rel=1e-12)
    # r -> 0: CE -> mean - r var / 2
    x = np.array([0.0, 1.0, 5.0])
    assert float(certainty_equivalent(x, 1e-12)) == pytest.approx(x.mean() - 0.5e-12 * x.var(), rel=1e-14)
    assert float(certainty_equivalent(x, 0.0)) == x.mean()


def test_mean_sd_and_quantile():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert float(certainty_equivalent(x, 1.5, "mean-sd")) == pytest.approx(2.5 - 1.5 * math.sqrt(1.25))
    assert float(certainty_equivalent(x, 0.5, "quantile")) == pytest.approx(2.5)
    assert float(risk_premium(x, 1.5, "mean-sd")) == pytest.approx(1.5 * math.sqrt(1.25))


def test_axis_argument():
    x = np.array([[0.0, 1.0], [2.0, 1.0]])
    out = certainty_equivalent(x, 1.0, axis=0)
    assert out[1] == pytest.approx(1.0)
    assert out[0] == pytest.approx(-math.log((1 + math.exp(-2)) / 2))


def test_bad_input():
    with pytest.raises(ParameterError, match="'risk_aversion'.*>= 0.*-1"):
        certainty_equivalent([1.0, 2.0], -1)
    with pytest.raises(ParameterError, match=r"'risk_aversion'.*\(0, 0.5\]"):
        certainty_equivalent([1.0, 2.0], 0.9, "quantile")
    with pytest.raises(ParameterError, match="'method'"):
        certainty_equivalent([1.0], 1.0, "crra")
    with pytest.raises(ParameterError, match="'values'"):
        certainty_equivalent([], 1.0)
    with pytest.raises(ParameterError, match="'values'"):
        certainty_equivalent([1.0, np.nan], 1.0)


def test_event_probability_posterior_is_jeffreys_beta():
    d = event_probability_posterior(3, 67)
    assert d.args == (3.5, 64.5)
    assert d.mean() == pytest.approx(3.5 / 68)
    with pytest.raises(ParameterError, match="'events'.*at most patients"):
        event_probability_posterior(5, 4)


def test_event_rate_posterior_and_probability():
    d = event_rate_posterior(0, 160)
    assert d.mean() == pytest.approx(0.5 / 160)
    # P(at least one event in 20 years at rate 0.01) = 1 - e^-0.2 = 0.181269 (hand)
    assert float(probability_from_rate(0.01, 20)) == pytest.approx(0.181269, abs=1e-6)


finite = st.floats(-50, 50, allow_nan=False)


@settings(max_examples=150)
@given(x=arrays(float, st.integers(1, 40), elements=finite), r=st.floats(1e-6, 20),
       method=st.sampled_from(["cara", "mean-sd"]))
def test_certainty_equivalent_never_exceeds_mean(x, r, method):
    assert float(certainty_equivalent(x, r, method)) <= x.mean() + 1e-9 * (1 + abs(x.mean()))


@given(x=arrays(float, st.integers(2, 30), elements=finite), r1=st.floats(0, 5), r2=st.floats(0, 5))
def test_cara_decreases_with_risk_aversion(x, r1, r2):
    lo, hi = sorted((r1, r2))
    assert float(certainty_equivalent(x, hi)) <= float(certainty_equivalent(x, lo)) + 1e-9 * (1 + np.abs(x).max())


@settings(max_examples=200)
@given(x=arrays(float, st.integers(1, 40), elements=finite), data=st.data(),
       method=st.sampled_from(["cara", "quantile"]))
def test_certainty_equivalent_respects_drawwise_dominance(x, data, method):
    # Y <= X draw by draw (first-order stochastically worse): CE(Y) <= CE(X) for CARA and lower quantiles.
    # mean-sd is excluded: it is a mean-variance rule (see test_mean_sd_violates_stochastic_dominance).
    drops = data.draw(arrays(float, x.shape, elements=st.floats(0, 50)), label="drops")
    r = data.draw(st.floats(1e-6, 20) if method == "cara" else st.floats(0.01, 0.5), label="risk_aversion")
    y = x - drops
    assert float(certainty_equivalent(y, r, method)) <= float(certainty_equivalent(x, r, method)) + 1e-9 * (
        1 + np.abs(x).max() + np.abs(y).max())


def test_mean_sd_violates_stochastic_dominance():
    # Documented limitation (Borch 1969): X = -5 p with p ~ Beta(1.8, 0.2), Y = -5 p' with p' ~ Beta(1.9, 0.1),
    # coupled through the same uniforms (quantile transform), so Y <= X draw by draw. By hand, k = 1.5:
    # CE(X) = -4.50 - 1.5 · 5 · sqrt(0.03) = -5.799, CE(Y) = -4.75 - 1.5 · 5 · sqrt(0.019 / 1.2) = -5.694.
    from scipy import stats

    u = (np.arange(200_000) + 0.5) / 200_000
    x, y = -5 * stats.beta(1.8, 0.2).ppf(u), -5 * stats.beta(1.9, 0.1).ppf(u)
    assert np.all(y <= x + 1e-12)
    ce_x, ce_y = float(certainty_equivalent(x, 1.5, "mean-sd")), float(certainty_equivalent(y, 1.5, "mean-sd"))
    assert ce_x == pytest.approx(-4.5 - 7.5 * math.sqrt(0.03), abs=2e-3)
    assert ce_y == pytest.approx(-4.75 - 7.5 * math.sqrt(0.019 / 1.2), abs=2e-3)
    assert ce_y > ce_x  # the worse outcome ranked higher
    # CARA and the quantile rank them the right way round
    for r, method in ((1.0, "cara"), (0.1, "quantile")):
        assert float(certainty_equivalent(y, r, method)) < float(certainty_equivalent(x, r, method))


def test_quantile_risk_premium_can_be_negative():
    # The median of a right-skewed loss lies above its mean: X = -2 p, p ~ Beta(0.5, 30) (quasi-exact sample),
    # premium = E[X] - median(X) = 2 (median p - mean p) = -0.01755 (scipy). risk_premium reports it as it
    # is; atmp_hta.benefit_risk floors the uncertainty penalty at 0.
    from scipy import stats

    d = stats.beta(0.5, 30)
    x = -2 * d.ppf((np.arange(200_000) + 0.5) / 200_000)
    assert float(risk_premium(x, 0.5, "quantile")) == pytest.approx(2 * (d.median() - d.mean()), abs=2e-4)
    assert float(risk_premium(x, 0.5, "quantile")) < 0

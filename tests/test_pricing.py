"""Value-based prices: hand-computed cases and the defining property (at the price, ICER = threshold)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atmp_hta import cea, pricing
from atmp_hta.exceptions import ParameterError
from atmp_hta.policies import load_policy


def test_value_based_price_by_hand():
    # 2 QALYs gained, GBP 15,000 other incremental costs, GBP 30,000/QALY: P = 30,000 x 2 - 15,000 = 45,000.
    # With the NICE 1.7 severity weight (PMG36 table 6.1): 1.7 x 30,000 x 2 - 15,000 = 87,000.
    assert pricing.value_based_price(2.0, 15_000, 30_000).price == pytest.approx(45_000)
    on_qalys = pricing.value_based_price(2.0, 15_000, 30_000, severity_weight=1.7)
    on_threshold = pricing.value_based_price(2.0, 15_000, 30_000, severity_weight=1.7, weight_applies_to="threshold")
    assert on_qalys.price == on_threshold.price == pytest.approx(87_000)
    assert on_threshold.effective_threshold == pytest.approx(51_000)
    assert "QALYs gained weighted by 1.7" in on_qalys.statement
    assert "raised by the severity weight 1.7 to 51,000" in on_threshold.statement
    assert pricing.severity_adjusted_threshold(20_000, 1.2) == pytest.approx(24_000)


def test_probabilistic_price_is_a_quantile_of_per_draw_prices():
    rng = np.random.default_rng(0)
    de, dc = rng.normal(2, 0.5, 1_000), rng.normal(15_000, 3_000, 1_000)
    expected = pricing.value_based_price(de, dc, 30_000)
    assert expected.price == pytest.approx(30_000 * de.mean() - dc.mean())
    p80 = pricing.value_based_price(de, dc, 30_000, probability=0.8)
    # at that price the therapy is cost-effective in 80% of draws
    share = np.mean(cea.net_monetary_benefit(dc + p80.price, de, 30_000) >= 0)
    assert share == pytest.approx(0.8, abs=0.002) and p80.price < expected.price


@settings(max_examples=80, deadline=None)
@given(st.floats(0.01, 30), st.floats(-5e5, 5e5), st.floats(1_000, 300_000), st.floats(1.0, 3.0),
       st.sampled_from(["qalys", "threshold"]))
def test_at_the_value_based_price_nmb_is_zero_and_the_icer_is_the_threshold(de, other, threshold, weight, where):
    r = pricing.value_based_price(de, other, threshold, severity_weight=weight, weight_applies_to=where)
    total_cost = other + r.price
    assert cea.net_monetary_benefit(total_cost, weight * de, threshold) == pytest.approx(0.0, abs=1e-6 * threshold * de)
    assert total_cost / de == pytest.approx(weight * threshold, rel=1e-9)


def test_outcome_based_price_by_hand():
    # Half upfront, half in 4 annual instalments (years 1-4) paid while responding (0.9, 0.8, 0.7, 0.6),
    # costs discounted at 3.5%: f = 0.5 + 0.125 (0.9/1.035 + 0.8/1.035^2 + 0.7/1.035^3 + 0.6/1.035^4)
    # = 0.5 + 0.125 x 2.77060 = 0.846325 (by hand). Upfront value-based price 45,000 -> headline 45,000 / f.
    r = pricing.outcome_based_price(2.0, 15_000, 30_000, upfront_share=0.5, instalment_times=[1, 2, 3, 4],
                                    response_probability=[0.9, 0.8, 0.7, 0.6], discount_rate=0.035)
    assert r.payment_factor == pytest.approx(0.846325, abs=1e-6)
    assert r.headline_price == pytest.approx(45_000 / 0.846325, rel=1e-6)
    assert r.expected_payment == pytest.approx(45_000)
    assert r.schedule.share.sum() == pytest.approx(1.0)
    assert (r.schedule.expected_discounted_share.sum() * r.headline_price) == pytest.approx(45_000)
    assert r.to_frame().loc[0, "upfront_value_based_price"] == pytest.approx(45_000)


def test_credited_cost_offsets_under_icer_sst_scenarios():
    icer = load_policy("icer")
    offsets = np.array([[300_000.0, 120_000.0, -10_000.0]])
    np.testing.assert_allclose(pricing.credited_cost_offsets(offsets, icer.scenario("shared-savings-50")),
                               [[150_000, 60_000, -10_000]])
    np.testing.assert_allclose(pricing.credited_cost_offsets(offsets, icer.scenario("cost-offset-cap")),
                               [[150_000, 120_000, -10_000]])


def test_errors_name_the_parameter_range_and_value():
    with pytest.raises(ParameterError,
                       match=r"^The 'threshold' parameter of value_based_price must be > 0\. Got -1\.0\.$"):
        pricing.value_based_price(1, 0, -1)
    with pytest.raises(ParameterError, match="'severity_weight' parameter of value_based_price must be >= 1"):
        pricing.value_based_price(1, 0, 1, severity_weight=0.5)
    with pytest.raises(ParameterError, match="'weight_applies_to' parameter of value_based_price must be one of"):
        pricing.value_based_price(1, 0, 1, weight_applies_to="costs")
    with pytest.raises(ParameterError,
                       match="'response_probability' parameter of outcome_based_price must be non-increasing"):
        pricing.outcome_based_price(1, 0, 1, upfront_share=0, instalment_times=[1, 2], response_probability=[0.5, 0.9],
                                    discount_rate=0.0)
    with pytest.raises(ParameterError, match="'instalment_times' parameter of outcome_based_price must be increasing"):
        pricing.outcome_based_price(1, 0, 1, upfront_share=0, instalment_times=[2, 1], response_probability=[1, 1],
                                    discount_rate=0.0)

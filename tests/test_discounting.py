"""Discounting kernels against annuity tables, explicit sums and numerical integration."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from atmp_hta.discounting import annuity_factor, discount_factors, discounted_qalys
from atmp_hta.exceptions import ParameterError


def test_annuity_table_values():
    # Present value of an annuity of 1 for 10 years at 3.5%: 8.3166 (standard annuity tables,
    # a_10 = (1 - 1.035^-10) / 0.035); annuity due: 8.6077. Tolerance: table rounding, 5e-5.
    assert float(discounted_qalys(1.0, 10, 0.035, "end")) == pytest.approx(8.3166, abs=5e-5)
    assert float(discounted_qalys(1.0, 10, 0.035, "start")) == pytest.approx(8.6077, abs=5e-5)
    assert float(annuity_factor(10, 0.035)) == pytest.approx(8.3166, abs=5e-5)


def test_single_year_ten_years_out():
    # One QALY in the 11th year (start = 10, 1 year), counted at its start: 1/1.035^10 = 0.70892 (hand).
    assert float(discounted_qalys(1.0, 1, 0.035, "start", start=10)) == pytest.approx(1 / 1.035**10, rel=1e-12)
    assert 1 / 1.035**10 == pytest.approx(0.70892, abs=1e-5)


@pytest.mark.parametrize("rate", [0.0, 0.015, 0.035, 0.05])
@pytest.mark.parametrize("years", [1, 2, 7, 40])
@pytest.mark.parametrize("start", [0.0, 3.0])
def test_integer_years_equal_explicit_sums(rate, years, start):
    u = 0.7
    end = sum(u / (1 + rate) ** (start + k) for k in range(1, years + 1))
    begin = sum(u / (1 + rate) ** (start + k) for k in range(0, years))
    assert float(discounted_qalys(u, years, rate, "end", start)) == pytest.approx(end, rel=1e-12)
    assert float(discounted_qalys(u, years, rate, "start", start)) == pytest.approx(begin, rel=1e-12)


def test_fractional_last_year_is_pro_rata():
    # 2.5 years at 5%: two whole years plus half a year counted at t = 2.5 (end) or t = 2 (start).
    v = 1 / 1.05
    assert float(discounted_qalys(1.0, 2.5, 0.05, "end")) == pytest.approx(v + v**2 + 0.5 * v**2.5, rel=1e-12)
    assert float(discounted_qalys(1.0, 2.5, 0.05, "start")) == pytest.approx(1 + v + 0.5 * v**2, rel=1e-12)


@pytest.mark.parametrize("rate", [0.01, 0.035, 0.06])
def test_continuous_equals_integral(rate):
    rho = math.log(1 + rate)
    expected, _ = integrate.quad(lambda t: 0.8 * math.exp(-rho * t), 2.0, 2.0 + 12.3)
    assert float(discounted_qalys(0.8, 12.3, rate, "continuous", start=2.0)) == pytest.approx(expected, rel=1e-10)


def test_zero_rate_is_undiscounted_under_every_timing():
    for timing in ("start", "end", "continuous"):
        assert float(discounted_qalys(0.6, 12.25, 0.0, timing, start=4)) == pytest.approx(0.6 * 12.25)


def test_broadcasts_over_draws():
    u = np.array([0.5, 0.6, 0.7])
    years = np.array([[1.0], [10.0]])
    out = discounted_qalys(u, years, 0.035)
    assert out.shape == (2, 3)
    assert out[1, 2] == pytest.approx(0.7 * 8.316605, rel=1e-6)


@pytest.mark.parametrize("timing", ["start", "end", "continuous"])
def test_factors_sum_to_stream(timing):
    factors = discount_factors(np.arange(3, 3 + 15), 0.035, timing)
    assert factors.sum() == pytest.approx(float(discounted_qalys(1.0, 15, 0.035, timing, start=3)), rel=1e-12)


def test_bad_input_names_parameter_range_and_value():
    with pytest.raises(ParameterError, match=r"'rate' parameter of discounted_qalys must be in \[0, 1\)\. Got 1\.5"):
        discounted_qalys(1, 10, 1.5)
    with pytest.raises(ParameterError, match="'years'.*>= 0.*-2"):
        discounted_qalys(1, -2, 0.035)
    with pytest.raises(ParameterError, match="'timing'.*'middle'"):
        discounted_qalys(1, 2, 0.035, timing="middle")


@given(
    r1=st.floats(0.0, 0.2),
    r2=st.floats(0.0, 0.2),
    years=st.floats(0.1, 60),
    timing=st.sampled_from(["start", "end", "continuous"]),
)
def test_discounting_decreases_with_rate(r1, r2, years, timing):
    low, high = sorted((r1, r2))
    assert float(discounted_qalys(1.0, years, high, timing)) <= float(discounted_qalys(1.0, years, low, timing)) + 1e-12


@given(rate=st.floats(0.0, 0.2), t=st.floats(0, 80), timing=st.sampled_from(["start", "end", "continuous"]))
def test_factors_decrease_with_time(rate, t, timing):
    f = discount_factors([t, t + 1.0], rate, timing)
    assert f[1] <= f[0] + 1e-15
    assert 0 < f[1] <= 1

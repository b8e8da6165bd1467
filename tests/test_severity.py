"""Severity and unmet-need weights against NICE PMG36 table 6.1 and the documented formulas."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atmp_hta.exceptions import ParameterError
from atmp_hta.severity import ContinuousSeverity, qaly_shortfall, severity_weight, unmet_need_weight

# NICE health technology evaluations: the manual (PMG36, 2022), section 6.2, table 6.1:
#   weight 1   : proportional shortfall < 0.85 and absolute shortfall < 12
#   weight 1.2 : proportional 0.85 to 0.95, or absolute 12 to 18
#   weight 1.7 : proportional at least 0.95, or absolute at least 18
# "whichever of the two gives the greater weight applies".
NICE_CASES = [
    # (absolute, proportional, weight)
    (0.0, 0.0, 1.0),
    (11.99, 0.8499, 1.0),
    (12.0, 0.10, 1.2),
    (5.0, 0.85, 1.2),
    (17.99, 0.9499, 1.2),
    (18.0, 0.20, 1.7),
    (2.0, 0.95, 1.7),
    (13.0, 0.96, 1.7),  # absolute says 1.2, proportional says 1.7: the greater applies
    (19.0, 0.86, 1.7),
]


@pytest.mark.parametrize("absolute,proportional,weight", NICE_CASES)
def test_nice_2022_table(absolute, proportional, weight):
    assert float(severity_weight(absolute, proportional)) == weight


def test_shortfall_hand_calculation():
    # General population 15.2 QALYs, current care 2.1: absolute 13.1, proportional 13.1/15.2 = 0.8618.
    a, p = qaly_shortfall(15.2, 2.1)
    assert float(a) == pytest.approx(13.1)
    assert float(p) == pytest.approx(13.1 / 15.2)
    assert float(severity_weight(a, p)) == 1.2


def test_vectorised_over_draws():
    w = severity_weight(np.array([1.0, 12.5, 20.0]), np.array([0.1, 0.5, 0.5]))
    np.testing.assert_array_equal(w, [1.0, 1.2, 1.7])


def test_continuous_scheme_ramps_between_cut_offs():
    scheme = ContinuousSeverity()  # ramps 0.85 -> 0.95 and 12 -> 18 up to 1.7
    assert float(severity_weight(0.0, 0.90, scheme)) == pytest.approx(1 + 0.7 * 0.5)
    assert float(severity_weight(15.0, 0.0, scheme)) == pytest.approx(1 + 0.7 * 0.5)
    assert float(severity_weight(20.0, 0.0, scheme)) == pytest.approx(1.7)
    assert float(severity_weight(1.0, 0.5, scheme)) == 1.0


def test_none_scheme():
    assert float(severity_weight(30.0, 1.0, "none")) == 1.0


def test_unmet_need_formulas():
    # linear: 1 + m n ; convex: 1 + m n^2 ; none: 1
    assert float(unmet_need_weight(0.3, 0.2, "linear")) == pytest.approx(1.06)
    assert float(unmet_need_weight(0.3, 0.2, "convex")) == pytest.approx(1.018)
    assert float(unmet_need_weight(0.9, 0.5, "none")) == 1.0
    assert float(unmet_need_weight(1.0, 0.25)) == pytest.approx(1.25)


def test_bad_input():
    with pytest.raises(ParameterError, match="'general_population_qalys'.*> 0.*-1"):
        qaly_shortfall(-1.0, 0.5)
    with pytest.raises(ParameterError, match="'current_care_qalys'.*at most"):
        qaly_shortfall(10.0, 11.0)
    with pytest.raises(ParameterError, match=r"'unmet_need'.*\[0, 1\].*1\.5"):
        unmet_need_weight(1.5, 0.1)
    with pytest.raises(ParameterError, match=r"'max_uplift'.*\[0, 1\]"):
        unmet_need_weight(0.5, 2.0)
    with pytest.raises(ParameterError, match="'scheme'"):
        severity_weight(1.0, 0.1, "nice-2013")


@given(
    a1=st.floats(0, 40), a2=st.floats(0, 40), p1=st.floats(0, 1), p2=st.floats(0, 1),
    scheme=st.sampled_from(["nice-2022", ContinuousSeverity(), ContinuousSeverity(2.0, (0.5, 0.9), (5, 20))]),
)
def test_severity_weight_at_least_one_and_monotone(a1, a2, p1, p2, scheme):
    lo = float(severity_weight(min(a1, a2), min(p1, p2), scheme))
    hi = float(severity_weight(max(a1, a2), max(p1, p2), scheme))
    assert 1.0 <= lo <= hi


@given(n1=st.floats(0, 1), n2=st.floats(0, 1), m=st.floats(0, 1), scheme=st.sampled_from(["linear", "convex"]))
def test_unmet_need_weight_bounded_and_monotone(n1, n2, m, scheme):
    lo = float(unmet_need_weight(min(n1, n2), m, scheme))
    hi = float(unmet_need_weight(max(n1, n2), m, scheme))
    assert 1.0 <= lo <= hi <= 1.0 + m + 1e-12

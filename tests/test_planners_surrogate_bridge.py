"""FIX -> ABR bridge (atmp_hta.planners.surrogate.bridge): quadrature against closed forms and simulation."""

import numpy as np
import pytest
from scipy import stats

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners.surrogate import (
    abr_mean_from_fix,
    calibrate_fix_abr,
    predict_abr,
    prob_abr_at_most,
    read_planner_parameters,
)

# DYNAMO medians (Kloosterman, Zwagemaker et al., Blood Adv 2022;6:4256): 0.6/year at 2-5 IU/dL, 0.1/year above
# 25 IU/dL (abstract: "the median ABR decreased from 0.6 (IQR, 0.2-1.4) to 0.1 (IQR, 0.0-0.2)").
A, B = calibrate_fix_abr([3.16, 30.0], [0.6, 0.1])


def test_calibration_passes_through_the_published_points():
    assert abr_mean_from_fix(np.array([3.16, 30.0]), A, B) == pytest.approx([0.6, 0.1], rel=1e-12)
    assert B == pytest.approx(np.log(0.1 / 0.6) / np.log(30.0 / 3.16), rel=1e-12)


def test_yaml_calibration_points_are_those_of_the_test():
    p = read_planner_parameters("parameters/planners/surrogate_haemophilia_b.yaml")
    assert calibrate_fix_abr(p["fix_abr_calibration_fix"], p["fix_abr_calibration_abr"]) == pytest.approx(
        (A, B)
    )


def test_patient_probability_is_the_negative_binomial_cdf():
    mean = abr_mean_from_fix(12.0, A, B) * 1.5
    shape = 1 / 0.7
    expected = stats.nbinom.cdf(3, shape, shape / (shape + mean))  # ABR <= 2 over 1.5 years: <= 3 bleeds
    assert prob_abr_at_most(2.0, 12.0, 1.5, 0.7, A, B) == pytest.approx(expected, rel=1e-12)
    assert prob_abr_at_most(2.0, 12.0, 1.5, 0.0, A, B) == pytest.approx(stats.poisson.cdf(3, mean), rel=1e-12)


def test_prediction_mean_matches_closed_form_and_table():
    pred = predict_abr(35.2, 0.455, 1.0, 1.0, A, B)
    closed = np.exp(A + B * np.log(35.2) + B**2 * 0.455**2 / 2)
    assert pred.mean_abr == pytest.approx(closed, rel=1e-12)
    table = pred.to_frame()
    assert table["probability"].sum() == pytest.approx(1.0, abs=1e-8)
    assert (table["count"] * table["probability"]).sum() == pytest.approx(closed, rel=1e-6)


def test_prediction_matches_monte_carlo_of_patients():
    # Oracle: simulate log-normal FIX, then negative-binomial counts; compare P(0 bleeds) and P(<= 1 bleed)
    # within 4 Monte Carlo standard errors (200 000 simulated patients; a weak relation to keep P(0) < 1).
    a, b = calibrate_fix_abr([1.0, 40.0], [8.0, 1.0])
    rng = np.random.default_rng(7)
    fix = np.exp(np.log(10.0) + 0.8 * rng.standard_normal(200_000))
    mean = abr_mean_from_fix(fix, a, b) * 1.0
    frailty = rng.gamma(1 / 0.5, 0.5, size=fix.size)
    counts = rng.poisson(frailty * mean)
    pred = predict_abr(10.0, 0.8, 1.0, 0.5, a, b)
    for c in (0, 1):
        p_sim = np.mean(counts <= c)
        se = np.sqrt(p_sim * (1 - p_sim) / counts.size)
        assert abs(pred.prob_abr_at_most(float(c)) - p_sim) < 4 * se


def test_bad_input():
    with pytest.raises(
        ParameterError, match="The 'fix' parameter of calibrate_fix_abr must be at least two distinct"
    ):
        calibrate_fix_abr([5.0, 5.0], [1.0, 2.0])
    with pytest.raises(ParameterError, match="The 'dispersion' parameter of predict_abr must be >= 0"):
        predict_abr(30.0, 0.4, 1.0, -1.0, A, B)
    # the FIX level is checked by the function called, not by the helper that computes the mean ABR
    with pytest.raises(ParameterError, match=r"^The 'fix' parameter of prob_abr_at_most must be > 0\. Got -5\.0\.$"):
        prob_abr_at_most(2.0, -5.0, 1.0, 0.5, A, B)

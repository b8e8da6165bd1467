"""The shipped life table against the ONS figures it was fitted to and checked against."""

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from atmp_hta.exceptions import ParameterError
from atmp_hta.life_tables import (
    GOMPERTZ_UK_2018_2020,
    background_death_probabilities,
    general_population_survival,
    gompertz_life_table,
    life_expectancy,
    load_life_table,
)

# Office for National Statistics. National life tables - life expectancy in the UK: 2018 to 2020. Statistical
# bulletin, 23 September 2021, "Main points": life expectancy at birth 79.0 years (males), 82.9 (females);
# at 65, 18.5 and 21.0; median age at death 82.3 and 85.8; modal age at death 86.7 and 89.3.
ONS = {"male": {"e0": 79.0, "e65": 18.5, "median": 82.3, "mode": 86.7},
       "female": {"e0": 82.9, "e65": 21.0, "median": 85.8, "mode": 89.3}}


@pytest.mark.parametrize("sex", ["male", "female"])
def test_life_expectancy_reproduces_the_fitted_ons_anchors(sex):
    # The Gompertz law was fitted to these two figures (published to 0.1 year); the table of rounded q_x with
    # a constant hazard within each year of age and beyond 100 keeps them to 0.05 year.
    assert life_expectancy(0, sex) == pytest.approx(ONS[sex]["e0"], abs=0.05)
    assert life_expectancy(65, sex) == pytest.approx(ONS[sex]["e65"], abs=0.05)


@pytest.mark.parametrize("sex", ["male", "female"])
def test_median_and_modal_age_at_death_are_close_to_ons(sex):
    # Not fitted: a check of the Gompertz shape. Two parameters cannot match everything; the fit puts the
    # median age at death about a year and the mode one to two years below the ONS figures (see
    # atmp_hta/data/README.md), so the tolerances here are 1.2 and 2.0 years.
    median = optimize.brentq(lambda t: general_population_survival(0, [t], sex)[0, 0] - 0.5, 1, 110)
    assert median == pytest.approx(ONS[sex]["median"], abs=1.2)
    ages = np.arange(50.0, 105.0, 0.05)
    deaths = -np.diff(general_population_survival(0, ages, sex)[0])
    assert ages[np.argmax(deaths)] == pytest.approx(ONS[sex]["mode"], abs=2.0)


def test_shipped_csv_is_the_documented_gompertz_fit():
    g = GOMPERTZ_UK_2018_2020
    regenerated = gompertz_life_table(g["male"]["alpha"], g["male"]["beta"], g["female"]["alpha"], g["female"]["beta"])
    pd.testing.assert_frame_equal(load_life_table(), regenerated, check_exact=False, rtol=1e-12)


def test_annual_death_probabilities_are_the_table_qx_at_integer_ages():
    table = load_life_table()
    q = background_death_probabilities(58, 10, "male")[0]
    np.testing.assert_allclose(q, table["qx_male"].to_numpy()[58:68], rtol=1e-12)


def test_mixed_cohort_and_draws():
    t = np.arange(0.0, 41.0)
    mixed = general_population_survival([58.0, 60.0], t, sex=np.array([0.68, 0.5]))
    assert mixed.shape == (2, 41)
    male = general_population_survival(58, t, "male")[0]
    female = general_population_survival(58, t, "female")[0]
    np.testing.assert_allclose(mixed[0], 0.68 * male + 0.32 * female, rtol=1e-13)
    assert np.all(np.diff(mixed, axis=1) < 0)


def test_life_expectancy_equals_integral_of_survival():
    # The hazard jumps at every birthday (t = 0.5, 1.5, ...): 20-point Gauss-Legendre on each piece between
    # them, where S is smooth, from one vectorised call.
    edges = np.concatenate([[0.0], np.arange(0.5, 80.0, 1.0), [80.0]])
    x, w = np.polynomial.legendre.leggauss(20)
    mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
    nodes = (mid[:, None] + half[:, None] * x).ravel()
    s = general_population_survival(58.5, nodes, 0.6)[0].reshape(len(mid), -1)
    expected = float((s * w).sum(axis=1) @ half)
    tail = general_population_survival(58.5, [80.0], 0.6)[0, 0] / 0.3  # beyond 138.5 years: S(80) / hazard > 0.3
    assert life_expectancy(58.5, 0.6) == pytest.approx(expected + tail, abs=0.1 * tail + 1e-9)


def test_bad_input():
    with pytest.raises(ParameterError, match="'sex' parameter of general_population_survival"):
        general_population_survival(60, [0, 1], sex="other")
    with pytest.raises(ParameterError, match="'start_age'"):
        general_population_survival(-3, [0, 1])
    with pytest.raises(ParameterError, match="'n_cycles'"):
        background_death_probabilities(60, 0)
    bad = load_life_table()
    bad.loc[3, "qx_male"] = 1.5
    with pytest.raises(ParameterError, match="'table.qx_male'"):
        general_population_survival(60, [0, 1], table=bad)

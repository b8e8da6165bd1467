"""EVPI, EVPPI and population EVPI against documented examples and closed forms.

Reference values come from the sources named at each test, never from this code. EVPPI estimates are
Monte Carlo estimates: the tolerance of each comparison with a closed form is stated with its reason.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from atmp_hta import voi
from atmp_hta.exceptions import ParameterError


# ------------------------------------------------------------------------------------------------ EVPI
def test_evpi_of_a_documented_payoff_table():
    # Classic decision-analysis payoff table ("Expected values for Perfect Information", lecture example
    # reproduced at slideplayer.com/5165249): states with probabilities 0.5, 0.3, 0.2; option payoffs
    # 1500/300/-800, 900/600/-200, 500/500/500. With perfect information 0.5*1500 + 0.3*600 + 0.2*500 = 1030;
    # without, max(680, 590, 500) = 680; EVPI = 350. Probabilities as 5, 3, 2 equally weighted draws.
    payoffs = np.array([[1500, 900, 500], [300, 600, 500], [-800, -200, 500]], dtype=float)
    draws = np.repeat(payoffs, [5, 3, 2], axis=0)
    assert voi.evpi(draws) == pytest.approx(350.0, abs=1e-9)


# voi package overview vignette (C. Jackson, github.com/chjackson/voi, vignettes/voi.Rmd): two treatments,
# NB_1 = 0, NB_2 = p1 - p2 with p1 ~ N(1, 1), p2 ~ N(0, 2). The vignette derives the exact EVPI from the
# truncated normal: E[NB_2 | NB_2 > 0] P(NB_2 > 0) - 1 = mu Phi(mu/s) + s phi(mu/s) - 1 with mu = 1, s = sqrt 5:
EVPI_VOI_VIGNETTE = 0.4798107063
# EVPPI closed forms in the same model (E[NB_2 | p1] = p1, E[NB_2 | p2] = 1 - p2):
EVPPI_P1 = 0.0833154706  # E[max(0, p1)] - 1 = Phi(1) + phi(1) - 1
EVPPI_P2 = 0.3955931148  # E[max(0, 1 - p2)] - 1 = Phi(0.5) + 2 phi(0.5) - 1


@pytest.fixture(scope="module")
def vignette():
    rng = np.random.default_rng(20240101)
    n = 60_000
    p1, p2 = rng.normal(1, 1, n), rng.normal(0, 2, n)
    return np.column_stack([np.zeros(n), p1 - p2]), p1, p2


def test_evpi_of_the_voi_vignette_model(vignette):
    nb, _, _ = vignette
    # Monte Carlo standard error: sd(max(0, NB_2)) / sqrt(n) ~ 1.5 / 245 = 0.006; tolerance 4 SE = 0.025
    assert voi.evpi(nb) == pytest.approx(EVPI_VOI_VIGNETTE, abs=0.025)


def test_evppi_single_parameters_match_the_closed_forms(vignette):
    nb, p1, p2 = vignette
    r1 = voi.evppi(nb, p1, rng=1)
    r2 = voi.evppi(nb, {"p2": p2}, rng=1)
    # Monte Carlo error of mean(max(0, g(theta))) at 60,000 draws: sd ~ 0.9 (p1), 1.6 (p2) over sqrt(n):
    # 0.004 and 0.007; tolerance 4 SE
    assert r1.value == pytest.approx(EVPPI_P1, abs=0.016)
    assert r2.value == pytest.approx(EVPPI_P2, abs=0.028)
    for r, exact in ((r1, EVPPI_P1), (r2, EVPPI_P2)):  # the reported errors account for the difference
        assert abs(r.value - exact) <= 4 * np.hypot(r.standard_error, r.monte_carlo_error)
    assert r2.parameters == ("p2",) and r1.method == "spline"
    assert 0 < r1.standard_error < 0.02 and 0 < r2.standard_error < 0.02


def test_evppi_of_all_parameters_is_the_evpi(vignette):
    nb, p1, p2 = (a[:20_000] for a in vignette)
    both = voi.evppi(nb, np.column_stack([p1, p2]), se=False)
    assert both.method == "tensor-spline"
    # NB is a deterministic function of (p1, p2): the regression recovers it, so EVPPI = the sample EVPI
    assert both.value == pytest.approx(voi.evpi(nb), abs=1e-6)


def test_evppi_of_a_nonlinear_function():
    # INB = theta^2 - 1 + noise, theta ~ N(0, 1): E[INB | theta] = theta^2 - 1, so
    # EVPPI = E[(theta^2 - 1)+] - max(0, E[theta^2 - 1]) = 2 int_1^inf (x^2 - 1) phi(x) dx = 2 phi(1) = 0.483941
    rng = np.random.default_rng(7)
    n = 40_000
    theta = rng.normal(size=n)
    nb = np.column_stack([np.zeros(n), theta**2 - 1 + rng.normal(0, 1, n)])
    # Monte Carlo SE of mean((theta^2 - 1)+) ~ 1.2 / 200 = 0.006; tolerance 4 SE
    assert voi.evppi(nb, theta, se=False).value == pytest.approx(0.4839414490, abs=0.024)


def test_evppi_of_a_discrete_parameter_uses_exact_group_means_and_matches_a_loop():
    rng = np.random.default_rng(3)
    n = 3_000
    switch = rng.integers(0, 3, n).astype(float)
    nb = np.column_stack([np.zeros(n), switch - 1 + rng.normal(0, 2, n), 0.3 * rng.normal(size=n)])
    got = voi.evppi(nb, switch, se=False)
    assert got.method == "group-means"
    # naive oracle: loop over the levels, condition, take the best expected option
    perfect = sum((switch == s).mean() * max(0.0, *nb[switch == s, 1:].mean(axis=0) - nb[switch == s, 0].mean())
                  for s in np.unique(switch))
    current = max(0.0, *(nb[:, 1:].mean(axis=0) - nb[:, 0].mean()))
    assert got.value == pytest.approx(perfect - current, abs=1e-12)


def test_evppi_of_an_irrelevant_parameter_is_near_zero():
    rng = np.random.default_rng(9)
    n = 5_000
    nb = np.column_stack([np.zeros(n), rng.normal(0.2, 1, n)])
    r = voi.evppi(nb, rng.uniform(size=n), rng=0)
    assert r.value < 0.01 and r.value <= voi.evpi(nb)


def test_evppi_of_large_groups_uses_an_additive_model():
    rng = np.random.default_rng(4)
    n = 4_000
    x = rng.normal(size=(n, 5))
    nb = np.column_stack([np.zeros(n), x.sum(axis=1) + 0.5 * x[:, 0] * x[:, 1]])
    r = voi.evppi(nb, x, se=False)
    assert r.method == "additive-spline"
    assert r.value == pytest.approx(voi.evpi(nb), abs=0.01)  # all parameters: EVPPI = EVPI


def test_evppi_table_lists_groups_with_their_share_of_evpi(vignette):
    nb, p1, p2 = vignette
    n = 5_000
    t = voi.evppi_table(nb[:n], {"p1": p1[:n], "p2": p2[:n]}, ["p1", "p2", ["p1", "p2"]], n_se_draws=20, rng=0)
    assert t.parameters.tolist() == ["p1", "p2", "p1 + p2"]
    assert t.n_parameters.tolist() == [1, 1, 2]
    assert (t.share_of_evpi <= 1.01).all() and t.evpi.nunique() == 1


# --------------------------------------------------------------------------------------------- properties
net_benefits = arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 4)),
                      elements=st.floats(-1e6, 1e6, allow_nan=False))


@settings(max_examples=100, deadline=None)
@given(net_benefits)
def test_evpi_is_never_negative(nb):
    assert voi.evpi(nb) >= 0.0


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 2.0), st.floats(-1.0, 1.0))
def test_group_evppi_bounds(seed, weight, offset):
    rng = np.random.default_rng(seed)
    n = 1_000
    a, b = rng.normal(size=n), rng.normal(size=n)
    nb = np.column_stack([np.zeros(n), offset + a + weight * b + 0.5 * rng.normal(size=n),
                          0.5 * offset - 0.3 * a * b])
    single = voi.evppi(nb, a, n_se_draws=40, rng=seed)
    group = voi.evppi(nb, np.column_stack([a, b]), n_se_draws=40, rng=seed)
    slack = 3 * np.hypot(single.standard_error, group.standard_error) + 1e-9
    assert group.value >= single.value - slack
    assert group.value <= voi.evpi(nb) + 3 * group.standard_error + 1e-9
    assert 0.0 <= single.value


# ------------------------------------------------------------------------------------------ population
def test_population_evpi_by_hand():
    # 1,000 patients a year for 10 years at 3.5%: annuity factors (standard tables) 8.3166 (end of year) and
    # 8.6077 (start of year, = 8.3166 x 1.035); plus 500 prevalent patients at time 0.
    end = voi.population_evpi(200.0, 1_000, 10, 0.035, "end", prevalent=500)
    assert end.effective_population == pytest.approx(500 + 8_316.6, abs=0.1)
    assert end.value == pytest.approx(200 * (500 + 8_316.6), rel=1e-5)
    start = voi.population_evpi(200.0, [1_000] * 10, 10, 0.035, "start")
    assert start.effective_population == pytest.approx(8_607.7, abs=0.1)
    assert "3.5%" in start.conventions and float(start) == start.value
    assert voi.population_evpi(1.0, [1, 2, 3], 3, 0.0, "end").effective_population == 6.0


# ----------------------------------------------------------------------------------------------- errors
def test_errors_name_the_parameter_range_and_value():
    nb = np.zeros((100, 2))
    with pytest.raises(ParameterError, match="'parameters' parameter of evppi must be 100 draws"):
        voi.evppi(nb, np.zeros(99))
    with pytest.raises(ParameterError, match="'net_benefit' parameter of evppi must be at least 50 draws"):
        voi.evppi(np.zeros((10, 2)), np.zeros(10))
    with pytest.raises(ParameterError, match="'parameters' parameter of evppi must be finite"):
        voi.evppi(nb, np.full(100, np.nan))
    with pytest.raises(ParameterError, match="'groups' parameter of evppi_table must be names of parameters"):
        voi.evppi_table(nb, {"a": np.zeros(100)}, ["b"])
    with pytest.raises(ParameterError, match="'timing' parameter of population_evpi"):
        voi.population_evpi(1.0, 10, 5, 0.035, "middle")
    with pytest.raises(ParameterError, match="'incidence' parameter of population_evpi must be a number or 5"):
        voi.population_evpi(1.0, [1, 2], 5, 0.035, "end")
    with pytest.raises(ParameterError, match=r"'discount_rate' parameter of population_evpi must be in \[0, 1\)"):
        voi.population_evpi(1.0, 10, 5, 1.5, "end")

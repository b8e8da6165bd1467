"""EVPI, EVPPI and population EVPI against documented examples and closed forms.

Reference values come from the sources named at each test, never from this code. EVPPI estimates are
Monte Carlo estimates: the tolerance of each comparison with a closed form is stated with its reason.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import integrate
from scipy.stats import norm

from atmp_hta import voi
from atmp_hta.exceptions import ParameterError


# ------------------------------------------------------------------------------------------------ EVPI
def test_evpi_of_a_payoff_table_by_hand():
    # EVPI = E[max_j NB_j] - max_j E[NB_j], worked by hand for three states of nature with probabilities
    # 0.5, 0.3, 0.2 and three options (rows: states, columns: options):
    #                 option 1   option 2   option 3
    #   state 1 (0.5)     1500        900        500
    #   state 2 (0.3)      300        600        500
    #   state 3 (0.2)     -800       -200        500
    # Without further information, expected payoff of each option:
    #   option 1: 0.5*1500 + 0.3*300 + 0.2*(-800) = 750 + 90 - 160 = 680
    #   option 2: 0.5*900  + 0.3*600 + 0.2*(-200) = 450 + 180 - 40 = 590
    #   option 3: 0.5*500  + 0.3*500 + 0.2*500    = 500
    #   max_j E[NB_j] = 680 (option 1)
    # With perfect information the best option in each state: 1500 (state 1, option 1), 600 (state 2,
    # option 2), 500 (state 3, option 3); E[max_j NB_j] = 0.5*1500 + 0.3*600 + 0.2*500 = 750 + 180 + 100 = 1030
    # EVPI = 1030 - 680 = 350. The probabilities enter as 5, 3 and 2 copies of the states (10 equally likely draws).
    payoffs = np.array([[1500, 900, 500], [300, 600, 500], [-800, -200, 500]], dtype=float)
    draws = np.repeat(payoffs, [5, 3, 2], axis=0)
    assert voi.evpi(draws) == pytest.approx(350.0, abs=1e-9)
    # the same table with four equally likely states (state 1 twice, 2 and 3 once each: 0.5, 0.25, 0.25):
    #   E[NB] = (2*1500 + 300 - 800)/4 = 625, (2*900 + 600 - 200)/4 = 550, 500; max = 625
    #   E[max] = (2*1500 + 600 + 500)/4 = 4100/4 = 1025; EVPI = 1025 - 625 = 400
    assert voi.evpi(payoffs[[0, 0, 1, 2]]) == pytest.approx(400.0, abs=1e-9)


def test_evpi_of_the_thompson_lumber_textbook_example():
    # Render B, Stair RM, Hanna ME. Quantitative Analysis for Management (Pearson), ch. 3 "Decision Analysis",
    # Thompson Lumber Company: build a large plant, a small plant or nothing; favourable and unfavourable
    # market equally likely (0.5 each). Payoffs (states x options):
    #   favourable:    200,000   100,000   0
    #   unfavourable: -180,000   -20,000   0
    # EMV: large 0.5*200,000 + 0.5*(-180,000) = 10,000; small 0.5*100,000 + 0.5*(-20,000) = 40,000; nothing 0
    # EV with perfect information: 0.5*200,000 + 0.5*0 = 100,000; EVPI = 100,000 - 40,000 = 60,000 (as printed)
    payoffs = np.array([[200_000, 100_000, 0], [-180_000, -20_000, 0]], dtype=float)
    assert voi.evpi(payoffs) == pytest.approx(60_000.0, abs=1e-6)
    # the result does not depend on the order of the options
    assert voi.evpi(payoffs[:, ::-1]) == pytest.approx(60_000.0, abs=1e-6)


# Exact references for normally distributed net benefit. evpi takes draws x strategies of net benefit; a PSA
# sample is replaced by a quantile grid of the normal, z_i = Phi^-1((i + 0.5)/N), i = 0..N-1, N = 200,001: the
# mean over the grid is a midpoint rule in probability space, so it carries no Monte Carlo error (the grid
# error is below 1e-5 relative for the cases here: tolerance 1e-4 relative).
N_GRID = 200_001


@pytest.fixture(scope="module")
def normal_quantiles():
    return norm.ppf((np.arange(N_GRID) + 0.5) / N_GRID)


def unit_normal_loss_evpi(mu, sigma):
    """EVPI of two strategies with incremental net benefit ~ N(mu, sigma): sigma phi(mu/sigma) - |mu| Phi(-|mu|/sigma).

    E[max(0, D)] = mu Phi(mu/sigma) + sigma phi(mu/sigma) (mean of the normal truncated at 0); subtracting
    max(0, mu) gives the unit normal loss integral: Raiffa H, Schlaifer R. Applied Statistical Decision Theory.
    Harvard 1961; Wilson ECF. A practical guide to value of information analysis. PharmacoEconomics
    2015;33:105-121.
    """
    return sigma * norm.pdf(mu / sigma) - abs(mu) * norm.cdf(-abs(mu) / sigma)


@pytest.mark.parametrize("mu, sigma", [(0.0, 1.0), (0.0, 3_000.0), (1.0, np.sqrt(5.0)), (-1.0, np.sqrt(5.0)),
                                       (500.0, 2_000.0), (-1_500.0, 2_000.0), (2_500.0, 2_000.0)])
def test_evpi_of_two_strategies_is_the_unit_normal_loss_integral(normal_quantiles, mu, sigma):
    incremental = mu + sigma * normal_quantiles
    nb = np.column_stack([np.zeros(N_GRID), incremental])
    exact = unit_normal_loss_evpi(mu, sigma)
    assert voi.evpi(nb) == pytest.approx(exact, rel=1e-4)
    # a common shift of every strategy's net benefit changes nothing
    assert voi.evpi(nb + 1e4) == pytest.approx(exact, rel=1e-4)
    if mu == 0.0:  # no better option on average: EVPI = sigma phi(0) = sigma / sqrt(2 pi)
        assert exact == pytest.approx(sigma / np.sqrt(2 * np.pi), rel=1e-12)


def test_evpi_of_four_strategies_matches_numerical_integration(normal_quantiles):
    # Four strategies whose net benefits depend on one normal parameter z ~ N(0, 1): NB_j = a_j + b_j z.
    # Each strategy is best for some z (lines cross at z = (a_i - a_k)/(b_k - b_i)).
    a = np.array([0.0, 300.0, 500.0, -200.0])
    b = np.array([0.0, 1_000.0, 400.0, 1_800.0])
    nb = a + b * normal_quantiles[:, None]
    # Reference: E[max_j NB_j] = integral of max_j(a_j + b_j z) phi(z) dz by scipy.integrate.quad, split at every
    # crossing so that each piece is smooth; max_j E[NB_j] = max_j a_j = 500.
    crossings = sorted({(a[i] - a[k]) / (b[k] - b[i]) for i in range(4) for k in range(i + 1, 4) if b[i] != b[k]})
    edges = [-np.inf, *crossings, np.inf]
    perfect = sum(integrate.quad(lambda z: np.max(a + b * z) * norm.pdf(z), lo, hi, epsabs=1e-10, epsrel=1e-12)[0]
                  for lo, hi in zip(edges[:-1], edges[1:], strict=True))
    exact = perfect - a.max()
    assert exact == pytest.approx(302.3124, abs=1e-3)  # guards the reference itself
    assert voi.evpi(nb) == pytest.approx(exact, rel=1e-4)
    assert voi.evpi(nb[:, [2, 0, 3, 1]]) == pytest.approx(exact, rel=1e-4)  # order of strategies is irrelevant
    assert (voi.probability_best(nb) > 0.1).all()  # every strategy is sometimes best: a genuine 4-way choice


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


def test_evpi_of_the_voi_vignette_model(vignette, normal_quantiles):
    # the printed constant agrees with the unit normal loss integral (mu = 1, sigma = sqrt(1 + 4))
    assert unit_normal_loss_evpi(1.0, np.sqrt(5.0)) == pytest.approx(EVPI_VOI_VIGNETTE, abs=1e-10)
    # exact: NB_2 = p1 - p2 ~ N(1, sqrt 5) on the quantile grid, no Monte Carlo error
    grid = np.column_stack([np.zeros(N_GRID), 1.0 + np.sqrt(5.0) * normal_quantiles])
    assert voi.evpi(grid) == pytest.approx(EVPI_VOI_VIGNETTE, rel=1e-4)
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

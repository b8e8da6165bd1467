"""Lead-in designs (atmp_hta.planners.surrogate.leadin): analytic power versus simulation and brute force."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners.surrogate import leadin_power, leadin_sample_size, poisson_rate_test, simulate_leadin

HOPE_B = dict(
    rate_leadin=4.19, dispersion=1.0, leadin_years=0.5, post_years=1.0
)  # lead-in ABR, Pipe et al. 2023


@pytest.mark.parametrize(("rate_ratio", "margin"), [(0.5, 1.0), (0.8, 1.8)])
def test_analytic_sample_size_agrees_with_simulation_of_frail_patients(rate_ratio, margin):
    # The analytic (exact conditional binomial, averaged over the negative-binomial number of bleeds) power at
    # the planned n must match a simulation of gamma-frailty Poisson patients analysed with the same test,
    # within Monte Carlo error (4 standard errors; 20 000 simulated trials).
    design = leadin_sample_size(rate_ratio=rate_ratio, margin=margin, power=0.9, **HOPE_B)
    sim = simulate_leadin(
        design.n_patients_exact, rate_ratio=rate_ratio, margin=margin, n_sim=20_000, rng=20240607, **HOPE_B
    )
    assert abs(sim.power - design.power_exact) < 4 * sim.mc_se
    assert sim.power > 0.9 - 4 * sim.mc_se
    # and one patient fewer is (analytically) under-powered
    assert leadin_power(design.n_patients_exact - 1, rate_ratio=rate_ratio, margin=margin, **HOPE_B) < 0.9


def test_analytic_power_agrees_with_simulation_across_n():
    for n in (4, 8):
        sim = simulate_leadin(n, rate_ratio=0.5, n_sim=20_000, rng=n, **HOPE_B)
        assert abs(sim.power - leadin_power(n, rate_ratio=0.5, **HOPE_B)) < 4 * sim.mc_se


def test_power_matches_brute_force_enumeration():
    # Oracle: enumerate every (lead-in, post) outcome of 2 patients with Poisson counts (no frailty), apply
    # the exact conditional test of poisson_rate_test and add up the probabilities of rejection.
    lam, rr, t0, t1, alpha = 3.0, 0.4, 0.5, 1.0, 0.025
    top = 18  # P(Poisson(3) >= 18) < 1e-8
    pre = stats.poisson.pmf(np.arange(top), 2 * lam * t0)
    post = stats.poisson.pmf(np.arange(top), 2 * lam * rr * t1)
    power = 0.0
    for x0, x1 in itertools.product(range(top), range(top)):
        if x0 + x1 == 0:
            continue
        test = poisson_rate_test([x1, x0], [2 * t1, 2 * t0], alternative="less")
        if test.p_value <= alpha:
            power += pre[x0] * post[x1]
    assert leadin_power(2, lam, rr, 0.0, t0, t1, alpha=alpha) == pytest.approx(power, abs=1e-8)


def test_normal_approximation_events_formula():
    d = leadin_sample_size(rate_ratio=0.5, margin=1.0, power=0.9, **HOPE_B)
    za, zb = stats.norm.isf(0.025), stats.norm.isf(0.1)
    p0, p1 = 2 / 3, 0.5 / 1.0
    expected = (za * np.sqrt(p0 * (1 - p0)) + zb * np.sqrt(p1 * (1 - p1))) ** 2 / (p0 - p1) ** 2
    assert d.events_required == pytest.approx(expected)
    assert d.n_patients_normal == pytest.approx(expected / (4.19 * (0.5 + 0.5 * 1.0)))
    frame = d.to_frame()
    assert frame.shape == (1, 14) and "n_patients_normal" in frame and "n_patients" not in frame


@pytest.mark.parametrize(("rate_ratio", "margin"), [(0.5, 1.0), (0.5, 1.8)])
def test_normal_approximation_is_anti_conservative_and_the_exact_size_is_not(rate_ratio, margin):
    # The normal approximation takes the number of bleeds at its expectation. Simulated trials of frail
    # (negative-binomial) patients at its n, rounded up, fall short of the target power by more than 4 Monte Carlo
    # standard errors (20 000 trials), which is why the synopsis requires the exact n: there the simulated power
    # reaches the target.
    design = leadin_sample_size(rate_ratio=rate_ratio, margin=margin, power=0.9, **HOPE_B)
    n_normal = int(np.ceil(design.n_patients_normal))
    assert n_normal < design.n_patients_exact
    short = simulate_leadin(n_normal, rate_ratio=rate_ratio, margin=margin, n_sim=20_000, rng=11, **HOPE_B)
    assert short.power < 0.9 - 4 * short.mc_se
    enough = simulate_leadin(
        design.n_patients_exact, rate_ratio=rate_ratio, margin=margin, n_sim=20_000, rng=12, **HOPE_B
    )
    assert enough.power > 0.9 - 4 * enough.mc_se


@pytest.mark.parametrize(("k", "margin", "power"), [(0.0, 1.8, 0.6), (1.0, 1.8, 0.9), (2.0, 1.0, 0.8)])
def test_exact_size_is_the_first_n_reaching_the_target(k, margin, power):
    # Oracle: a plain scan from n = 1 (the search itself starts at half the normal-approximation n).
    kw = dict(rate_leadin=4.19, rate_ratio=0.5, dispersion=k, leadin_years=0.5, post_years=1.0, margin=margin)
    design = leadin_sample_size(power=power, **kw)
    assert design.n_patients_exact == next(n for n in range(1, 500) if leadin_power(n, **kw) >= power)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 30), extra=st.integers(1, 10), rr=st.floats(0.2, 0.8), k=st.floats(0.0, 2.0))
def test_power_increases_with_n_on_average_and_with_effect(n, extra, rr, k):
    kw = dict(rate_leadin=4.0, dispersion=k, leadin_years=0.5, post_years=1.0)
    # the exact test is discrete (saw-tooth), so compare n with n + 10 rather than n + 1
    assert leadin_power(n + 10 * extra, rate_ratio=rr, **kw) >= leadin_power(n, rate_ratio=rr, **kw) - 0.02
    assert leadin_power(n, rate_ratio=rr * 0.8, **kw) >= leadin_power(n, rate_ratio=rr, **kw) - 1e-12


def test_more_frailty_costs_power():
    kw = dict(rate_leadin=4.0, rate_ratio=0.5, leadin_years=0.5, post_years=1.0)
    assert leadin_power(10, dispersion=2.0, **kw) < leadin_power(10, dispersion=0.0, **kw)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: leadin_power(10, 4.0, 1.0, 1.0, 0.5, 1.0),
            "The 'rate_ratio' parameter of leadin_power must be < margin",
        ),
        (
            lambda: leadin_power(10, 4.0, 0.5, -1.0, 0.5, 1.0),
            "The 'dispersion' parameter of leadin_power must be >= 0. Got -1.0.",
        ),
        (
            lambda: leadin_power(0, 4.0, 0.5, 1.0, 0.5, 1.0),
            "The 'n_patients' parameter of leadin_power must be an integer >= 1",
        ),
        (
            lambda: leadin_sample_size(4.0, 0.5, 1.0, 0.5, 1.0, power=0.02),
            "The 'power' parameter of leadin_sample_size must be in (alpha, 1). Got 0.02.",
        ),
    ],
)
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ParameterError) as err:
        call()
    assert message in str(err.value)


def test_power_table_rows_are_leadin_power_and_rise_with_n():
    from atmp_hta.planners.surrogate import leadin_power_table

    n = [2, 5, 10, 20]
    table = leadin_power_table(n, margins=[1.0, 1.8], rate_ratio=0.5, **HOPE_B)
    assert list(table.columns) == ["design", "margin", "rate_ratio", "n_patients", "power"]
    for design, margin in (("superiority", 1.0), ("non-inferiority", 1.8)):
        rows = table[table["design"] == design]
        assert rows["n_patients"].tolist() == n and (rows["margin"] == margin).all()
        expected = [leadin_power(k, rate_ratio=0.5, margin=margin, **HOPE_B) for k in n]
        assert rows["power"].to_numpy() == pytest.approx(expected, rel=1e-12)
        assert np.all(np.diff(rows["power"].to_numpy()) > 0)
    # the wider margin is the easier hypothesis
    sup, ni = (table[table["margin"] == m]["power"].to_numpy() for m in (1.0, 1.8))
    assert np.all(ni > sup)
    # errors name the function called (leadin_power_table) and its own parameter names
    with pytest.raises(ParameterError, match="'rate_ratio' parameter of leadin_power_table must be < margin"):
        leadin_power_table(n, margins=[0.4], rate_ratio=0.5, **HOPE_B)
    with pytest.raises(ParameterError, match=r"^The 'n_values' parameter of leadin_power_table must be an integer"):
        leadin_power_table([0, 5], rate_ratio=0.5, **HOPE_B)
    with pytest.raises(ParameterError, match="The 'alpha' parameter of leadin_power_table must be in"):
        leadin_power_table(n, rate_ratio=0.5, alpha=1.5, **HOPE_B)

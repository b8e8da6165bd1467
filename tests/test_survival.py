"""Parametric survival, mixture cure and partitioned survival: scipy oracles, closed forms, invariants."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from atmp_hta.cohort import cycle_times, state_values
from atmp_hta.exceptions import ParameterError
from atmp_hta.life_tables import general_population_survival
from atmp_hta.survival import (
    _rmst_numeric,
    cumulative_hazard,
    cycle_probabilities,
    event_values,
    events_per_cycle,
    hazard,
    mixture_cure_survival,
    partitioned_survival,
    restricted_mean_survival,
    survival,
)

T = np.array([0.0, 0.1, 0.5, 1.0, 2.5, 7.0, 20.0])

# flexsurv parameterisations (Jackson 2016, flexsurv documentation) mapped onto scipy.stats, an independent
# implementation: weibull(shape a, scale b) = weibull_min(c=a, scale=b); weibullPH(a, m) = weibull_min(c=a,
# scale=m^(-1/a)); gompertz(shape a, rate b) = scipy gompertz(c=b/a, scale=1/a); llogis(a, b) = fisk(c=a,
# scale=b); lnorm(meanlog, sdlog) = lognorm(s=sdlog, scale=exp(meanlog)).
CASES = [
    ("exponential", {"rate": 0.3}, stats.expon(scale=1 / 0.3)),
    ("exp", {"rate": 1.7}, stats.expon(scale=1 / 1.7)),
    ("weibull", {"shape": 0.7, "scale": 2.0}, stats.weibull_min(c=0.7, scale=2.0)),
    ("weibull", {"shape": 1.8, "scale": 0.6}, stats.weibull_min(c=1.8, scale=0.6)),
    ("weibull_ph", {"shape": 1.3, "scale": 0.2}, stats.weibull_min(c=1.3, scale=0.2 ** (-1 / 1.3))),
    ("weibullPH", {"shape": 0.6, "scale": 0.9}, stats.weibull_min(c=0.6, scale=0.9 ** (-1 / 0.6))),
    ("gompertz", {"shape": 0.15, "rate": 0.05}, stats.gompertz(c=0.05 / 0.15, scale=1 / 0.15)),
    ("loglogistic", {"shape": 2.5, "scale": 1.5}, stats.fisk(c=2.5, scale=1.5)),
    ("llogis", {"shape": 0.8, "scale": 3.0}, stats.fisk(c=0.8, scale=3.0)),
    ("lognormal", {"meanlog": 0.2, "sdlog": 0.9}, stats.lognorm(s=0.9, scale=np.exp(0.2))),
    ("lnorm", {"meanlog": -1.0, "sdlog": 1.6}, stats.lognorm(s=1.6, scale=np.exp(-1.0))),
]


@pytest.mark.parametrize(("name", "params", "oracle"), CASES)
def test_survival_hazard_cumulative_hazard_match_scipy(name, params, oracle):
    np.testing.assert_allclose(survival(name, T, **params)[0], oracle.sf(T), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(cumulative_hazard(name, T, **params)[0], -oracle.logsf(T), rtol=1e-10, atol=1e-15)
    t = T[1:]
    np.testing.assert_allclose(hazard(name, t, **params)[0], oracle.pdf(t) / oracle.sf(t), rtol=1e-9)


def test_gompertz_negative_shape_levels_off_and_zero_shape_is_exponential():
    s = survival("gompertz", [0, 10, 100, 1000], shape=-0.5, rate=0.2)[0]
    assert s[-1] == pytest.approx(np.exp(0.2 / -0.5), rel=1e-12)  # plateau exp(b/a)
    np.testing.assert_allclose(survival("gompertz", T, shape=0.0, rate=0.4), survival("exp", T, rate=0.4))


def test_parameters_broadcast_over_draws():
    scale = np.array([0.5, 1.0, 2.0])
    s = survival("weibull", T, shape=1.2, scale=scale)
    assert s.shape == (3, len(T))
    for i, b in enumerate(scale):
        np.testing.assert_allclose(s[i], survival("weibull", T, shape=1.2, scale=b)[0])


def test_cycle_probabilities_are_conditional_on_survival():
    s = survival("loglogistic", cycle_times(6, 0.25), shape=1.7, scale=1.1)[0]
    p = cycle_probabilities("llogis", 6, 0.25, shape=1.7, scale=1.1)[0]
    np.testing.assert_allclose(p, 1 - s[1:] / s[:-1], rtol=1e-12)


# ------------------------------------------------------------------------------------------ restricted mean
@pytest.mark.parametrize(("name", "params", "oracle"), CASES)
@pytest.mark.parametrize("horizon", [0.5, 5.0, 40.0])
def test_restricted_mean_matches_quadrature(name, params, oracle, horizon):
    expected, _ = integrate.quad(oracle.sf, 0, horizon, limit=200, epsabs=1e-13, epsrel=1e-12)
    got = restricted_mean_survival(name, horizon, **params)[0]
    assert got == pytest.approx(expected, rel=1e-7)


def test_closed_forms_agree_with_the_numerical_rule():
    from atmp_hta.survival import _check_params

    tau = np.array([0.3, 3.0, 30.0])
    for name, params in (("exponential", {"rate": 0.4}), ("weibull", {"shape": 1.4, "scale": 2.0}),
                         ("weibull_ph", {"shape": 0.8, "scale": 0.5}), ("lognormal", {"meanlog": 0.5, "sdlog": 1.1})):
        p = _check_params(name, params, "test")
        closed = restricted_mean_survival(name, tau, **params)
        np.testing.assert_allclose(_rmst_numeric(name, tau, p), closed, rtol=1e-8)


def test_restricted_mean_exponential_by_hand():
    # (1 - e^{-λτ}) / λ with λ = 0.2, τ = 10: (1 - e^{-2}) / 0.2 = 4.3233236 (hand)
    assert restricted_mean_survival("exp", 10.0, rate=0.2)[0] == pytest.approx(4.3233236, abs=1e-7)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(["exponential", "weibull", "gompertz", "loglogistic", "lognormal"]),
       a=st.floats(0.3, 3.0), b=st.floats(0.1, 5.0), h1=st.floats(0.0, 30.0), extra=st.floats(0.01, 30.0))
def test_survival_non_increasing_and_rmst_increasing_in_horizon(name, a, b, h1, extra):
    params = {"exponential": {"rate": b}, "weibull": {"shape": a, "scale": b},
              "gompertz": {"shape": a - 1.0, "rate": b}, "loglogistic": {"shape": a, "scale": b},
              "lognormal": {"meanlog": np.log(b), "sdlog": a}}[name]
    s = survival(name, np.linspace(0, 50, 101), **params)[0]
    assert np.all(np.diff(s) <= 1e-15) and s[0] == 1.0 and np.all(s >= 0)
    r1, r2 = restricted_mean_survival(name, [h1, h1 + extra], **params)
    assert r2 >= r1 - 1e-12
    assert r1 <= h1 + 1e-12


# -------------------------------------------------------------------------------------- mixture cure
def test_mixture_cure_limits_and_formulae():
    t = cycle_times(40)
    bg = general_population_survival(58, t, sex=0.68)
    su = survival("weibull", t, shape=1.1, scale=0.9)
    np.testing.assert_allclose(mixture_cure_survival(1.0, su, bg), bg)
    np.testing.assert_allclose(mixture_cure_survival(0.3, su, bg, uncured_model="excess"), bg * (0.3 + 0.7 * su))
    plain = mixture_cure_survival(0.3, su, bg, floor_at_background=False)
    np.testing.assert_allclose(plain, 0.3 * bg + 0.7 * su)
    # the uncured are dead long before the floor binds here, so flooring changes nothing
    np.testing.assert_allclose(mixture_cure_survival(0.3, su, bg), plain, atol=1e-12)


def test_floor_at_background_binds_for_a_flat_uncured_curve():
    t = cycle_times(40)
    bg = general_population_survival(70, t, sex="male")
    flat = survival("exp", t, rate=0.001)  # would outlive the population
    floored = mixture_cure_survival(0.0, flat, bg)
    np.testing.assert_allclose(floored, bg, rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(pi=st.floats(0.0, 1.0), shape=st.floats(0.3, 3.0), scale=st.floats(0.05, 60.0), age=st.integers(20, 90))
def test_mixture_cure_never_beats_the_general_population(pi, shape, scale, age):
    t = cycle_times(40)
    bg = general_population_survival(age, t, sex="female")
    s = mixture_cure_survival(pi, survival("weibull", t, shape=shape, scale=scale), bg)
    assert np.all(s <= bg + 1e-12)
    assert np.all(np.diff(s, axis=1) <= 1e-15)


# ------------------------------------------------------------------------------------ partitioned survival
@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 4), n=st.integers(2, 30))
def test_partitioned_survival_os_at_least_pfs_and_simplex(seed, d, n):
    rng = np.random.default_rng(seed)
    t = cycle_times(n, 0.5)
    pfs = survival("weibull", t, shape=rng.uniform(0.5, 2, d), scale=rng.uniform(0.2, 5, d))
    os = survival("lognormal", t, meanlog=rng.uniform(-1, 2, d), sdlog=rng.uniform(0.3, 2, d))
    occ = partitioned_survival(pfs, os)
    assert occ.shape == (d, n + 1, 3)
    assert np.all(occ >= 0)
    np.testing.assert_allclose(occ.sum(axis=-1), 1.0, atol=1e-15)
    assert np.all(occ[..., 0] <= os)  # PF never exceeds OS (capped where the curves cross)
    np.testing.assert_allclose(occ[..., 0] + occ[..., 1], os)


def test_partitioned_survival_life_years_approach_rmst():
    # Monthly cycles with Simpson's rule: OS life-years equal the RMST of the curve to 2e-5 (relative; the
    # Weibull's t^1.3 at the origin limits the rule's order there)
    n, dt = 120, 1 / 12
    t = cycle_times(n, dt)
    os = survival("weibull", t, shape=1.3, scale=3.0)
    pfs = survival("weibull", t, shape=1.3, scale=1.5)
    occ = partitioned_survival(pfs, os)
    ly = state_values(occ, [1.0, 1.0, 0.0], method="simpson", timing="end", cycle_length=dt)[0]
    pf_years = state_values(occ, [1.0, 0.0, 0.0], method="simpson", timing="end", cycle_length=dt)[0]
    assert ly == pytest.approx(restricted_mean_survival("weibull", 10.0, shape=1.3, scale=3.0)[0], rel=2e-5)
    assert pf_years == pytest.approx(restricted_mean_survival("weibull", 10.0, shape=1.3, scale=1.5)[0], rel=2e-5)


def test_events_and_event_values():
    os = np.array([[1.0, 0.8, 0.5, 0.45]])
    np.testing.assert_allclose(events_per_cycle(os), [[0.2, 0.3, 0.05]])
    expected = 500 * (0.2 / 1.035 + 0.3 / 1.035**2 + 0.05 / 1.035**3)
    assert event_values(os, 500.0, timing="end", discount_rate=0.035)[0] == pytest.approx(expected, rel=1e-14)


# ------------------------------------------------------------------------------------------- bad input
def test_bad_survival_input_names_the_parameter():
    with pytest.raises(ParameterError, match="'distribution' parameter of survival must be one of"):
        survival("gamma", T, shape=1.0, rate=1.0)
    with pytest.raises(ParameterError, match="'parameters'.*exactly shape, scale for the weibull"):
        survival("weibull", T, shape=1.0)
    with pytest.raises(ParameterError, match=r"'scale' parameter of survival must be a finite number > 0\. Got -1\.0"):
        survival("weibull", T, shape=1.0, scale=-1.0)
    with pytest.raises(ParameterError, match="'rate'"):
        hazard("exponential", T, rate=[0.1, -0.2])
    with pytest.raises(ParameterError, match="'times'"):
        survival("exp", [-1.0, 1.0], rate=0.1)
    with pytest.raises(ParameterError, match="'horizon'"):
        restricted_mean_survival("exp", -2.0, rate=0.1)


def test_bad_curves_are_rejected():
    with pytest.raises(ParameterError, match="'os' parameter of partitioned_survival must be a non-increasing"):
        partitioned_survival([1.0, 0.5, 0.4], [1.0, 0.6, 0.7])
    with pytest.raises(ParameterError, match=r"'pfs'.*survival probabilities in \[0, 1\]"):
        partitioned_survival([1.0, 1.5, 0.4], [1.0, 0.6, 0.5])
    with pytest.raises(ParameterError, match="'cure_fraction'"):
        mixture_cure_survival(1.2, [1.0, 0.5], [1.0, 0.9])
    with pytest.raises(ParameterError, match="'uncured_model'"):
        mixture_cure_survival(0.2, [1.0, 0.5], [1.0, 0.9], uncured_model="relative")

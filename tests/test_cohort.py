"""Cohort state-transition models: published models reproduced, naive-loop oracles, invariants, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg

from atmp_hta.cohort import (
    COUNTING_METHODS,
    add_background_mortality,
    cycle_allocation,
    cycle_discount_factors,
    cycle_weights,
    discounted_one_off,
    probability_from_rate,
    rate_from_probability,
    simulate_trace,
    state_values,
    transition_values,
    transitions_from_rates,
)
from atmp_hta.exceptions import ParameterError
from atmp_hta.survival import cycle_probabilities

# ------------------------------------------------------------------------------------------ references
# Chancellor JV et al. Pharmacoeconomics 1997;12:54-66, as exercise 2.5 of Briggs, Claxton & Sculpher,
# Decision Modelling for Health Economic Evaluation (OUP 2006). Transition counts from the book; states
# A (CD4 200-500), B (CD4 < 200), C (AIDS), D (death); 20 annual cycles.
HIV_MONO = np.array([[1251, 350, 116, 17], [0, 731, 512, 15], [0, 0, 1312, 437], [0, 0, 0, 1]], float)
HIV_MONO /= HIV_MONO.sum(axis=1, keepdims=True)
HIV_COST_HEALTH = np.array([2756.0, 3052.0, 9007.0, 0.0])
ZIDOVUDINE, LAMIVUDINE = 2278.0, 2086.5
ALIVE = np.array([1.0, 1.0, 1.0, 0.0])


def _with_relative_risk(p, rr):
    """Scale every move out of a state by rr; the diagonal is the complement."""
    out = p * rr
    np.fill_diagonal(out, 0.0)
    out[np.arange(len(p)), np.arange(len(p))] = 1.0 - out.sum(axis=1)
    return out


def test_hiv_model_briggs_exercise_2_5_time_dependent_treatment():
    # Expected: heemod vignette "Reproducing Exact Results from DMHEE" (inst/doc/i_reproduction.html of
    # the CRAN build dated 2019-07-03), which reproduces the book's results: mono cost 44663.45,
    # life-years 7.991207; comb 50601.65, 8.937389; ICER 6275.956 (Chancellor 1997 report GBP 6276 per
    # life-year). The book counts the trace at the end of each annual cycle and discounts costs (6%) at the
    # end of the cycle; life-years are undiscounted; combination therapy (rr 0.509, lamivudine 2086.5) for
    # the first two cycles only. Tolerance: half a unit of the last printed digit.
    n = 20
    comb = np.stack([_with_relative_risk(HIV_MONO, 0.509) if k < 2 else HIV_MONO for k in range(n)])[None]
    mono_trace = simulate_trace(HIV_MONO, [1, 0, 0, 0], n)
    comb_trace = simulate_trace(comb, [1, 0, 0, 0], n)
    mono_cost = (HIV_COST_HEALTH + ZIDOVUDINE) * ALIVE
    comb_cost = np.stack([mono_cost + (LAMIVUDINE * ALIVE if k < 2 else 0.0) for k in range(n)])[None]

    def run(trace, cost):
        c = state_values(trace, cost, method="end", timing="end", discount_rate=0.06)[0]
        ly = state_values(trace, ALIVE, method="end", timing="end")[0]
        return c, ly

    mono_c, mono_ly = run(mono_trace, mono_cost)
    comb_c, comb_ly = run(comb_trace, comb_cost)
    assert mono_c == pytest.approx(44663.45, abs=0.005)
    assert mono_ly == pytest.approx(7.991207, abs=5e-7)
    assert comb_c == pytest.approx(50601.65, abs=0.005)
    assert comb_ly == pytest.approx(8.937389, abs=5e-7)
    assert (comb_c - mono_c) / (comb_ly - mono_ly) == pytest.approx(6275.956, abs=5e-4)
    assert round((comb_c - mono_c) / (comb_ly - mono_ly)) == 6276  # Chancellor 1997, abstract


def test_hiv_model_time_homogeneous_heemod_vignette():
    # Expected: heemod vignette "Simple Markov models (homogenous)" (vignettes/homogenous.md, heemod 0.3,
    # 2016): both strategies time-homogeneous (combination therapy for all 20 cycles, probabilities .721
    # etc. as printed, rr .509, lamivudine 2086). Printed results: mono cost_health 45479.45, cost_drugs
    # 18176.56, cost_total 44613.85, life_year 7.979173; comb 89433.47, 43596.75, 81026.56, 13.864239; ICER
    # 6187.307. That version counted the trace at the end of each cycle (rows 1..20) and discounted each
    # at the end of its cycle, (1.06)^-k for row k. Its combination states are reproduced as written there
    # (state A's health cost 3052, lamivudine booked under health costs in B and C). Tolerance: half a unit
    # of the last printed digit.
    mono = np.array([[.721, .202, .067, .010], [0, .581, .407, .012], [0, 0, .750, .250], [0, 0, 0, 1]])
    comb = _with_relative_risk(mono, 0.509)
    n = 20
    tr_mono = simulate_trace(mono, [1, 0, 0, 0], n)
    tr_comb = simulate_trace(comb, [1, 0, 0, 0], n)
    health_mono = HIV_COST_HEALTH
    drugs_mono = 2278.0 * ALIVE
    health_comb = np.array([3052.0, 3052 + 2086, 9007 + 2086, 0])
    drugs_comb = np.array([2278.0 + 2086, 2278, 2278, 0])

    def values(trace, v, rate=0.0):
        return state_values(trace, v, method="end", timing="end", discount_rate=rate)[0]

    assert values(tr_mono, health_mono) == pytest.approx(45479.45, abs=0.005)
    assert values(tr_mono, drugs_mono) == pytest.approx(18176.56, abs=0.005)
    assert values(tr_mono, health_mono + drugs_mono, 0.06) == pytest.approx(44613.85, abs=0.005)
    assert values(tr_mono, ALIVE) == pytest.approx(7.979173, abs=5e-7)
    assert values(tr_comb, health_comb) == pytest.approx(89433.47, abs=0.005)
    assert values(tr_comb, drugs_comb) == pytest.approx(43596.75, abs=0.005)
    assert values(tr_comb, health_comb + drugs_comb, 0.06) == pytest.approx(81026.56, abs=0.005)
    assert values(tr_comb, ALIVE) == pytest.approx(13.864239, abs=5e-7)
    icer = (values(tr_comb, health_comb + drugs_comb, 0.06) - values(tr_mono, health_mono + drugs_mono, 0.06)) / (
        values(tr_comb, ALIVE) - values(tr_mono, ALIVE))
    assert icer == pytest.approx(6187.307, abs=5e-4)


# Total hip replacement: Briggs, Claxton & Sculpher exercise 3.5, as in the heemod vignette
# "Reproducing Exact Results from DMHEE". Women aged 60; other-cause mortality by ten-year age band (the
# book's table); primary revision from a Weibull in the proportional-hazards form S(t) = exp(-lambda t^gamma).
THR_MORTALITY_FEMALE = {35: 0.99e-3, 45: 2.6e-3, 55: 6.7e-3, 65: 19.3e-3, 75: 53.5e-3, 85: 154.8e-3}
THR_LAMBDA = np.exp(-5.490935 + -0.0367022 * 60)
THR_GAMMA = np.exp(0.3740968)
THR_RR_NP1 = np.exp(-1.344474)


def _thr_transitions(relative_risk, n=60):
    revision = cycle_probabilities("weibull_ph", n, shape=THR_GAMMA, scale=THR_LAMBDA * relative_risk)[0]
    p = np.zeros((n, 5, 5))
    for k in range(n):
        age = 60 + k + 1  # heemod: age = age_init + markov_cycle, markov_cycle = k + 1
        mr = THR_MORTALITY_FEMALE[max(a for a in THR_MORTALITY_FEMALE if a <= age)]
        p[k] = [[0, 0.98, 0, 0, 0.02],
                [0, 1 - revision[k] - mr, revision[k], 0, mr],
                [0, 0, 0, 1 - 0.02 - mr, 0.02 + mr],
                [0, 0, 0.04, 1 - 0.04 - mr, mr],
                [0, 0, 0, 0, 1]]
    return p[None]


def test_thr_model_briggs_exercise_3_5_time_dependent():
    # Expected: heemod i_reproduction vignette (CRAN build dated 2019-07-03), summary: standard utility
    # 14.65283, cost 512.4327; np1 utility 14.69734, cost 610.3112; ICER 2198.977. heemod's method "end" of
    # that build counts trace rows 0..59 (our "start"), each row discounted from time 0 (utilities 1.5%,
    # costs 6%). Primary operation costs 394 (standard) or 579 (NP1) in the initial state; a revision costs
    # 5294. Tolerance: half a unit of the last printed digit.
    u = np.array([0, 0.85, 0.30, 0.75, 0])
    results = {}
    for name, rr, primary in (("standard", 1.0, 394.0), ("np1", THR_RR_NP1, 579.0)):
        p = _thr_transitions(rr)
        trace = simulate_trace(p, [1, 0, 0, 0, 0], 60)
        qalys = state_values(trace, u, method="start", timing="start", discount_rate=0.015)[0]
        # the primary operation (undiscounted, cycle 0) and revisions (6%) as state costs ...
        cost = state_values(trace, [primary, 0, 0, 0, 0], method="start", timing="start")[0] + state_values(
            trace, [0, 0, 5294, 0, 0], method="start", timing="start", discount_rate=0.06)[0]
        # ... and revisions again as one-off transition costs, paid at the end of the cycle they happen in
        # (the revision state lasts one cycle; rows 0..59 are counted, so arrivals in cycles 0..58)
        to_revision = np.zeros((5, 5))
        to_revision[:, 2] = 5294.0
        by_cycle = transition_values(trace, p, to_revision, timing="end", discount_rate=0.06, by_cycle=True)
        assert primary + by_cycle[0, :59].sum() == pytest.approx(cost, rel=1e-12)
        results[name] = (qalys, cost)
    assert results["standard"][0] == pytest.approx(14.65283, abs=5e-6)
    assert results["standard"][1] == pytest.approx(512.4327, abs=5e-5)
    assert results["np1"][0] == pytest.approx(14.69734, abs=5e-6)
    assert results["np1"][1] == pytest.approx(610.3112, abs=5e-5)
    icer = (results["np1"][1] - results["standard"][1]) / (results["np1"][0] - results["standard"][0])
    assert icer == pytest.approx(2198.977, abs=5e-3)  # 7 significant digits of a ratio of rounded inputs


# ------------------------------------------------------------------------------------------------ oracles
def _random_stochastic(rng, shape):
    x = rng.random(shape) ** 3  # some small entries
    return x / x.sum(axis=-1, keepdims=True)


def _naive_trace(p, x0, n):
    d = max(p.shape[0], x0.shape[0])
    out = np.zeros((d, n + 1, x0.shape[-1]))
    for i in range(d):
        x = x0[min(i, x0.shape[0] - 1)].copy()
        out[i, 0] = x
        for k in range(n):
            m = p[min(i, p.shape[0] - 1), min(k, p.shape[1] - 1)]
            new = np.zeros_like(x)
            for a in range(len(x)):
                for b in range(len(x)):
                    new[b] += x[a] * m[a, b]
            x = new
            out[i, k + 1] = x
    return out


@pytest.mark.parametrize("time_dependent", [False, True])
def test_trace_equals_naive_loop_over_draws_and_cycles(time_dependent):
    rng = np.random.default_rng(7)
    d, n, s = 5, 6, 4
    p = _random_stochastic(rng, (d, n if time_dependent else 1, s, s))
    x0 = _random_stochastic(rng, (d, s))
    trace = simulate_trace(p if time_dependent else p[:, 0], x0, n)
    np.testing.assert_allclose(trace, _naive_trace(p, x0, n), rtol=1e-13, atol=1e-15)


def test_trace_broadcasts_one_matrix_over_many_initial_distributions():
    rng = np.random.default_rng(8)
    p = _random_stochastic(rng, (3, 3))
    x0 = _random_stochastic(rng, (4, 3))
    np.testing.assert_allclose(simulate_trace(p, x0, 5), _naive_trace(p[None, None], x0, 5), rtol=1e-13)


def _naive_state_values(trace, values, method, timing, rate, dt):
    """Written from the definitions, one draw and one cycle at a time."""
    d, rows, s = trace.shape
    n = rows - 1
    c = n + 1 if method == "none" else n
    totals = np.zeros(d)
    for i in range(d):
        r = rate[i] if np.ndim(rate) else rate
        for k in range(c):
            if method in ("start", "none"):
                occ = trace[i, k]
            elif method == "end":
                occ = trace[i, k + 1]
            elif method == "half-cycle":
                occ = 0.5 * (trace[i, k] + trace[i, k + 1])
            else:  # simpson, n >= 2: parabola through the pair's three rows (or the last three rows)
                m = k - (k % 2) if k - (k % 2) + 2 <= n else n - 2
                y0, y1, y2 = trace[i, m], trace[i, m + 1], trace[i, m + 2]
                occ = (5 * y0 + 8 * y1 - y2) / 12 if k == m else (-y0 + 8 * y1 + 5 * y2) / 12
            v = values[min(i, values.shape[0] - 1), min(k, values.shape[1] - 1)]
            if timing == "start":
                delta = (1 + r) ** -(k * dt)
            elif timing == "end":
                delta = (1 + r) ** -((k + 1) * dt)
            else:
                rho = np.log1p(r)
                delta = np.exp(-rho * k * dt) * (1 - np.exp(-rho * dt)) / (rho * dt) if r > 0 else 1.0
            totals[i] += float(occ @ v) * dt * delta
    return totals


@pytest.mark.parametrize("method", COUNTING_METHODS)
@pytest.mark.parametrize("timing", ["start", "end", "continuous"])
def test_state_values_equal_naive_loop(method, timing):
    rng = np.random.default_rng(11)
    d, n, s, dt = 4, 7, 3, 0.5
    trace = simulate_trace(_random_stochastic(rng, (d, n, s, s)), _random_stochastic(rng, (d, s)), n)
    c = n + 1 if method == "none" else n
    rate = np.array([0.0, 0.015, 0.035, 0.06])
    for values in (rng.random(s), rng.random((d, s)), rng.random((d, c, s)), rng.random((1, c, s))):
        v3 = values.reshape((1, 1, s)) if values.ndim == 1 else values[:, None] if values.ndim == 2 else values
        got = state_values(trace, values, method=method, timing=timing, discount_rate=rate, cycle_length=dt)
        np.testing.assert_allclose(got, _naive_state_values(trace, v3, method, timing, rate, dt), rtol=1e-12)
        by_cycle = state_values(trace, values, method=method, timing=timing, discount_rate=0.035,
                                cycle_length=dt, by_cycle=True)
        assert by_cycle.shape == (d, c)
        np.testing.assert_allclose(by_cycle.sum(axis=1), state_values(
            trace, values, method=method, timing=timing, discount_rate=0.035, cycle_length=dt), rtol=1e-12)


def test_transition_values_equal_naive_loop():
    rng = np.random.default_rng(12)
    d, n, s = 3, 5, 3
    p = _random_stochastic(rng, (d, n, s, s))
    trace = simulate_trace(p, [1, 0, 0], n)
    v = rng.random((d, n, s, s)) * 100
    expected = np.zeros(d)
    for i in range(d):
        for k in range(n):
            for a in range(s):
                for b in range(s):
                    expected[i] += trace[i, k, a] * p[i, k, a, b] * v[i, k, a, b] / 1.035 ** (k + 1)
    got = transition_values(trace, p, v, timing="end", discount_rate=0.035)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------- cycle weights
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 40])
def test_cycle_weights_sum_to_the_number_of_cycles(n):
    for method in ("start", "end", "half-cycle", "simpson"):
        assert cycle_weights(n, method).sum() == pytest.approx(n, rel=1e-14)
    assert cycle_weights(n, "none").sum() == n + 1
    # the half-cycle correction: the uncorrected sum minus half the first and half the last row, which is
    # also the mean of counting at the start and at the end
    half = cycle_weights(n, "none").copy()
    half[[0, -1]] -= 0.5
    np.testing.assert_allclose(cycle_weights(n, "half-cycle"), half)
    np.testing.assert_allclose(cycle_weights(n, "half-cycle"),
                               (cycle_weights(n, "start") + cycle_weights(n, "end")) / 2)


def test_half_cycle_correction_of_a_constant_stream():
    # A cohort that never leaves its state, 1 QALY per year for 10 annual cycles: exactly 10 with every
    # corrected method (the uncorrected sum gives 11), and 10 undiscounted cycles' worth of value.
    trace = simulate_trace([[1.0]], [1.0], 10)
    for method in ("start", "end", "half-cycle", "simpson"):
        assert state_values(trace, [1.0], method=method, timing="end")[0] == pytest.approx(10.0, rel=1e-14)
    assert state_values(trace, [1.0], method="none", timing="end")[0] == pytest.approx(11.0)


@pytest.mark.parametrize("n", [2, 3, 6, 9])
def test_simpson_is_exact_for_quadratic_membership(n):
    # ∫_0^n (1 + 2t - 0.1 t²) dt = n + n² - n³/30, from trace rows at t = 0..n only
    t = np.arange(n + 1.0)
    f = 1 + 2 * t - 0.1 * t**2
    assert cycle_weights(n, "simpson") @ f == pytest.approx(n + n**2 - n**3 / 30, rel=1e-13)
    # Simpson's 1/3 weights for an even number of cycles
    if n % 2 == 0:
        expected = np.ones(n + 1)
        expected[1:-1:2], expected[2:-1:2] = 4, 2
        np.testing.assert_allclose(cycle_weights(n, "simpson"), expected / 3)


def test_cycle_allocation_rows_sum_to_one():
    for method in COUNTING_METHODS:
        np.testing.assert_allclose(cycle_allocation(5, method).sum(axis=1), 1.0)


def test_cycle_discount_factors_follow_the_discounting_module():
    np.testing.assert_allclose(cycle_discount_factors(3, 0.035, "start")[0], 1.035 ** -np.arange(3.0))
    np.testing.assert_allclose(cycle_discount_factors(3, 0.035, "end", cycle_length=0.5)[0],
                               1.035 ** -(0.5 * np.arange(1.0, 4.0)))


# ------------------------------------------------------------------------------------------------ rates
def test_probability_rate_round_trip():
    assert float(probability_from_rate(0.1, 2.0)) == pytest.approx(1 - np.exp(-0.2), rel=1e-15)
    p = np.array([0.0, 0.1, 0.5, 0.99])
    np.testing.assert_allclose(probability_from_rate(rate_from_probability(p, 0.25), 0.25), p, rtol=1e-13)


def test_matrix_exponential_two_state_closed_form():
    # A <-> B with rates a, b: P_AA(t) = (b + a e^{-(a+b)t}) / (a + b) (two-state chain, any textbook)
    a, b, t = 0.3, 0.7, 0.5
    p = transitions_from_rates([[0, a], [b, 0]], cycle_length=t)
    assert p[0, 0] == pytest.approx((b + a * np.exp(-(a + b) * t)) / (a + b), rel=1e-13)
    assert p[1, 1] == pytest.approx((a + b * np.exp(-(a + b) * t)) / (a + b), rel=1e-13)


def test_competing_rates_single_exit_and_absorbing_destinations():
    # one exit: p = 1 - e^{-r dt} under both methods
    q = [[0, 0.4], [0, 0]]
    for method in ("expm", "competing"):
        assert transitions_from_rates(q, 0.5, method)[0, 1] == pytest.approx(1 - np.exp(-0.2), rel=1e-13)
    # two absorbing destinations: the methods agree, and the naive one-by-one conversion overstates exits
    q = np.array([[0, 0.5, 0.8], [0, 0, 0], [0, 0, 0]])
    e, c = transitions_from_rates(q, 1.0), transitions_from_rates(q, 1.0, "competing")
    np.testing.assert_allclose(e, c, atol=1e-13)
    assert probability_from_rate(0.5) + probability_from_rate(0.8) > e[0, 1] + e[0, 2]
    # batched over draws: equals scipy.linalg.expm one matrix at a time
    rng = np.random.default_rng(3)
    qs = rng.random((4, 3, 3))
    ps = transitions_from_rates(qs, 0.25)
    for i in range(4):
        g = qs[i].copy()
        np.fill_diagonal(g, 0)
        np.fill_diagonal(g, -g.sum(axis=1))
        np.testing.assert_allclose(ps[i], linalg.expm(0.25 * g), rtol=1e-12)


def test_add_background_mortality_independent_causes():
    p = np.array([[0.7, 0.2, 0.1], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]])
    q = np.array([0.01, 0.05])
    out = add_background_mortality(p, q, dead_state=2)
    assert out.shape == (1, 2, 3, 3)
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, atol=1e-15)
    assert out[0, 1, 0, 2] == pytest.approx(1 - 0.95 * 0.9, rel=1e-14)
    assert out[0, 1, 0, 1] == pytest.approx(0.95 * 0.2, rel=1e-14)
    np.testing.assert_array_equal(out[0, :, 2], [[0, 0, 1], [0, 0, 1]])


def test_discounted_one_off():
    assert float(discounted_one_off(280_000.0, 0.0, 0.035)) == 280_000.0
    assert float(discounted_one_off(1000.0, 3.0, 0.035)) == pytest.approx(1000 / 1.035**3, rel=1e-14)


# ------------------------------------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), s=st.integers(2, 5), n=st.integers(1, 12), d=st.integers(1, 4))
def test_traces_stay_on_the_simplex(seed, s, n, d):
    rng = np.random.default_rng(seed)
    trace = simulate_trace(_random_stochastic(rng, (d, n, s, s)), _random_stochastic(rng, (d, s)), n)
    assert trace.shape == (d, n + 1, s)
    assert np.all(trace >= -1e-15)
    np.testing.assert_allclose(trace.sum(axis=-1), 1.0, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), rate=st.floats(0.0, 0.2))
def test_discounting_never_increases_a_nonnegative_total(seed, n, rate):
    rng = np.random.default_rng(seed)
    trace = simulate_trace(_random_stochastic(rng, (1, n, 3, 3)), [1, 0, 0], n)
    v = rng.random(3)
    for method in ("start", "end", "half-cycle"):
        undiscounted = state_values(trace, v, method=method, timing="end")[0]
        assert state_values(trace, v, method=method, timing="end", discount_rate=rate)[0] <= undiscounted + 1e-12


# ------------------------------------------------------------------------------------------- bad input
def test_rows_not_summing_to_one_are_rejected():
    with pytest.raises(ParameterError, match=r"'transitions' parameter of simulate_trace \(row \[0, 0, 1\]\) "
                                             r"must be matrices whose rows sum to 1"):
        simulate_trace([[0.9, 0.1], [0.2, 0.7]], [1, 0], 3)


def test_probabilities_outside_the_unit_interval_are_rejected():
    with pytest.raises(ParameterError, match=r"must be probabilities in \[0, 1\]\. Got 1\.2"):
        simulate_trace([[1.2, -0.2], [0.0, 1.0]], [1, 0], 3)
    with pytest.raises(ParameterError, match="'initial' parameter"):
        simulate_trace([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.6], 3)
    with pytest.raises(ParameterError, match="'death_probabilities'"):
        add_background_mortality([[1.0, 0.0], [0.0, 1.0]], [0.1, 1.5], dead_state=1)


def test_negative_rates_are_rejected():
    with pytest.raises(ParameterError, match=r"'rate' parameter of probability_from_rate must be a finite rate"):
        probability_from_rate(-0.1)
    with pytest.raises(ParameterError, match=r"'rates' parameter of transitions_from_rates \(entry \[0, 1\]\)"):
        transitions_from_rates([[0, -0.1], [0.2, 0]])


def test_other_bad_arguments_name_the_parameter():
    p = [[0.9, 0.1], [0.0, 1.0]]
    with pytest.raises(ParameterError, match="'transitions'.*cycle axis of length n_cycles = 3"):
        simulate_trace(np.broadcast_to(np.asarray(p), (1, 2, 2, 2)), [1, 0], 3)
    with pytest.raises(ParameterError, match="'n_cycles'"):
        simulate_trace(p, [1, 0], 0)
    trace = simulate_trace(p, [1, 0], 3)
    with pytest.raises(ParameterError, match="'method' parameter of state_values must be one of"):
        state_values(trace, [1, 0], method="trapezoid", timing="end")
    with pytest.raises(ParameterError, match="'timing'"):
        state_values(trace, [1, 0], method="end", timing="middle")
    with pytest.raises(ParameterError, match=r"'discount_rate' parameter of state_values must be in \[0, 1\)"):
        state_values(trace, [1, 0], method="end", timing="end", discount_rate=1.5)
    with pytest.raises(ParameterError, match="'values'"):
        state_values(trace, [1, 0, 0], method="end", timing="end")
    with pytest.raises(ParameterError, match="'dead_state'"):
        add_background_mortality(p, [0.1], dead_state=5)

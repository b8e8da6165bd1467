"""Tobit decay fits: an independent likelihood maximised with scipy, parameter recovery, closed forms, errors."""

import math
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from atmp_hta.exceptions import ModelError
from atmp_hta.planners.shedding import (
    biexponential_crossing_time,
    fit_decay,
    monoexponential_crossing_time,
)

LN10 = math.log(10)


def _independent_tobit(t, y, loq, cens, mean, x0):
    """Direct maximisation of the censored likelihood written with scipy.stats (no code shared)."""
    def nll(theta):
        *p, log_s = theta
        s = math.exp(log_s)
        mu = mean(p, t)
        return -(stats.norm.logpdf(y[~cens], mu[~cens], s).sum() + stats.norm.logcdf(loq, mu[cens], s).sum())

    res = optimize.minimize(nll, x0, method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 40000, "maxfev": 40000})
    res = optimize.minimize(nll, res.x, method="Powell", options={"xtol": 1e-10, "ftol": 1e-13})
    return res.x, -res.fun, nll


def _hessian(f, x, h=1e-4):
    k = len(x)
    H = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * h, np.eye(k)[j] * h
            H[i, j] = (f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)) / (4 * h * h)
    return H


def _mono_data(seed, n_subj=25, a=7.0, b=-0.12, sigma=0.4, loq=2.5):
    rng = np.random.default_rng(seed)
    t = np.tile(np.arange(0.0, 60.0, 5.0), n_subj)
    y = a + b * t + rng.normal(0, sigma, t.size)
    cens = y < loq
    return t, np.where(cens, np.nan, y), loq, cens


def test_mono_tobit_agrees_with_independent_scipy_maximisation():
    t, y, loq, cens = _mono_data(1, n_subj=6)
    assert 0.2 < cens.mean() < 0.6  # a real censoring problem
    fit = fit_decay(t, y, loq, censored=cens)
    x, ll, nll = _independent_tobit(t, y, loq, cens, lambda p, tt: p[0] + p[1] * tt, [6.0, -0.1, 0.0])
    assert fit.intercept == pytest.approx(x[0], abs=1e-5)
    assert fit.slope == pytest.approx(x[1], abs=1e-7)
    assert fit.sigma == pytest.approx(math.exp(x[2]), rel=1e-5)
    assert fit.log_likelihood == pytest.approx(ll, abs=1e-8)
    # standard errors: inverse of an independent finite-difference Hessian in (a, b, sigma)
    f = lambda p: nll([p[0], p[1], math.log(p[2])])  # noqa: E731
    cov = np.linalg.inv(_hessian(f, np.array([fit.intercept, fit.slope, fit.sigma])))
    se = np.sqrt(np.diag(cov))
    assert [fit.standard_errors[k] for k in ("intercept", "slope", "sigma")] == pytest.approx(se, rel=2e-3)
    assert fit.converged and fit.n_censored == int(cens.sum())
    # half-life on the log10 scale and its delta-method SE
    assert fit.half_life == pytest.approx(math.log10(2) / -fit.slope)
    assert fit.standard_errors["half_life"] == pytest.approx(math.log10(2) / fit.slope**2 * se[1], rel=2e-3)


def test_censoring_from_loq_equals_explicit_mask_and_beats_substitution():
    t, y, loq, cens = _mono_data(2)
    y_full = np.where(cens, loq - 0.7, y)  # any value below the LOQ
    a = fit_decay(t, y_full, loq)                # censored = values < loq
    b = fit_decay(t, y, loq, censored=cens)      # explicit mask with NaN values
    assert a.parameters == pytest.approx(b.parameters, rel=1e-9)
    # LOQ/2 substitution is biased; the Tobit fit recovers the slope
    sub = np.polyfit(t, np.where(cens, loq - math.log10(2), y), 1)[0]
    assert abs(b.slope - (-0.12)) < abs(sub - (-0.12))


def test_mono_recovers_known_parameters_from_censored_simulation():
    t, y, loq, cens = _mono_data(3, n_subj=80)
    fit = fit_decay(t, y, loq, censored=cens)
    for name, true in (("intercept", 7.0), ("slope", -0.12), ("sigma", 0.4)):
        assert abs(fit.parameters[name] - true) < 4 * fit.standard_errors[name], name


def _bi_mean(p, t):
    la, al, lb, be = p
    return np.logaddexp(la * LN10 - al * t, lb * LN10 - be * t) / LN10


def _peeling_start(t, y, cens):
    """Start for a bi-exponential fit from the raw data by curve peeling (method of residuals): a line through
    the late quantified values (day >= 21) gives the terminal phase; a line through log10 of what the early
    values (day <= 5) exceed it by gives the fast phase; sigma is the SD of the values around that curve."""
    q = ~cens
    late, early = q & (t >= 21), q & (t <= 5)
    slope_late, lb = np.polyfit(t[late], y[late], 1)
    excess = 10.0 ** y[early] - 10.0 ** (lb + slope_late * t[early])
    ok = excess > 0
    slope_early, la = np.polyfit(t[early][ok], np.log10(excess[ok]), 1)
    p = [la, -slope_early * LN10, lb, -slope_late * LN10]
    return p + [math.log(np.std(y[q] - _bi_mean(p, t[q])))]


def test_bi_tobit_recovers_parameters_and_agrees_with_independent_fit():
    rng = np.random.default_rng(4)
    t = np.tile(np.array([0.5, 1, 2, 3, 5, 7, 10, 14, 21, 28, 42, 56, 70, 84.0]), 12)
    truth = (6.0, 0.5, 4.0, 0.04)
    y = _bi_mean(truth, t) + rng.normal(0, 0.2, t.size)
    loq = 2.8
    cens = y < loq
    assert cens.sum() > 10
    fit = fit_decay(t, np.where(cens, np.nan, y), loq, model="bi", censored=cens)
    for name, true in zip(("log10_a", "alpha", "log10_b", "beta"), truth, strict=True):
        assert abs(fit.parameters[name] - true) < 4 * fit.standard_errors[name], name
    assert fit.alpha > fit.beta > 0
    assert fit.half_life == pytest.approx(math.log(2) / fit.beta)
    assert fit.slope == pytest.approx(-fit.beta / LN10)
    assert fit.intercept == pytest.approx(math.log10(10**fit.log10_a + 10**fit.log10_b))
    # the independent optimiser starts from the raw data, never from the code's estimate
    x0 = _peeling_start(t, y, cens)
    assert abs(x0[3] / fit.beta - 1) > 0.1       # a real distance to travel (start beta 0.030, optimum 0.037)
    x, ll, _ = _independent_tobit(t, np.where(cens, np.nan, y), loq, cens, _bi_mean, x0)
    assert fit.log_likelihood >= ll - 1e-6
    assert fit.log_likelihood == pytest.approx(ll, abs=1e-4)
    assert [fit.log10_a, fit.alpha, fit.log10_b, fit.beta] == pytest.approx(x[:4], rel=1e-6)
    assert fit.sigma == pytest.approx(math.exp(x[4]), rel=1e-6)
    assert fit.aic < fit_decay(t, np.where(cens, np.nan, y), loq, censored=cens).aic  # bi beats mono here


def test_closed_forms_by_hand():
    # mono: 6 − 0.5 t = 2  ->  t = 8
    assert monoexponential_crossing_time(6.0, -0.5, 2.0) == 8.0
    assert monoexponential_crossing_time(1.0, -0.5, 2.0) == 0.0          # already below
    assert monoexponential_crossing_time(6.0, 0.1, 2.0) == math.inf      # never
    # bi with α = 2β: A u² + B u = C, u = e^(−βt)  ->  u = (−B + sqrt(B² + 4AC)) / 2A
    A, B, C, beta = 1e6, 1e4, 1e2, 0.05
    u = (-B + math.sqrt(B * B + 4 * A * C)) / (2 * A)
    assert biexponential_crossing_time(6.0, 2 * beta, 4.0, beta, 2.0) == pytest.approx(-math.log(u) / beta,
                                                                                        rel=1e-12)
    # by hand: u = (−1e4 + sqrt(1e8 + 4e8)) / 2e6 = 0.0061803...; t = −ln(u)/0.05 = 5.08638/0.05 = 101.7276
    assert biexponential_crossing_time(6.0, 0.1, 4.0, 0.05, 2.0) == pytest.approx(101.7276, abs=1e-4)
    # vectorised, and 0 when the start is below the threshold
    out = biexponential_crossing_time([6.0, 1.0], 0.1, [4.0, 0.5], 0.05, 2.0)
    assert out[1] == 0.0 and out[0] == pytest.approx(101.7276, abs=1e-4)


def test_fit_time_below_uses_the_closed_forms():
    t, y, loq, cens = _mono_data(5)
    fit = fit_decay(t, y, loq, censored=cens)
    assert fit.time_below(3.0) == pytest.approx((3.0 - fit.intercept) / fit.slope)
    with pytest.raises(ValueError, match="'percentile'.*between_subject"):
        fit.time_below(3.0, percentile=0.9)


# ----------------------------------------------------------------------------------------------- mixed model


def _mixed_data(seed, n_subj=30, omega_a=0.5, omega_b=0.0):
    rng = np.random.default_rng(seed)
    ts = np.arange(0.0, 50.0, 6.0)
    subj = np.repeat(np.arange(n_subj), ts.size)
    t = np.tile(ts, n_subj)
    ea, eb = rng.normal(0, omega_a, n_subj), rng.normal(0, omega_b, n_subj) if omega_b else np.zeros(n_subj)
    y = 7.0 + ea[subj] + (-0.15 + eb[subj]) * t + rng.normal(0, 0.3, t.size)
    loq = 2.5
    cens = y < loq
    return t, np.where(cens, np.nan, y), loq, cens, subj


def _marginal_ll_grid(theta, t, y, loq, cens, subj):
    """Random-intercept marginal log-likelihood by dense trapezoid integration (independent of AGQ)."""
    a, b, s, w = theta
    grid = np.linspace(-8 * w, 8 * w, 4001)
    total = 0.0
    for i in np.unique(subj):
        m = subj == i
        mu = a + b * t[m][:, None] + grid[None, :]
        ll = np.where(cens[m][:, None], stats.norm.logcdf(loq, mu, s),
                      stats.norm.logpdf(np.nan_to_num(y[m])[:, None], mu, s)).sum(axis=0)
        ll += stats.norm.logpdf(grid, 0, w)
        mx = ll.max()
        total += mx + math.log(integrate.trapezoid(np.exp(ll - mx), grid))
    return total


def test_random_intercept_fit_matches_grid_likelihood_maximum():
    t, y, loq, cens, subj = _mixed_data(6, n_subj=12)
    fit = fit_decay(t, y, loq, censored=cens, subject=subj, between_subject="intercept")
    p = fit.parameters
    theta = [p["intercept"], p["slope"], p["sigma"], p["omega_intercept"]]
    assert fit.log_likelihood == pytest.approx(_marginal_ll_grid(theta, t, y, loq, cens, subj), abs=1e-5)
    # the AGQ optimum is also the optimum of the independent likelihood: no direction improves it
    base = _marginal_ll_grid(theta, t, y, loq, cens, subj)
    for k in range(4):
        for step in (-1e-3, 1e-3):
            th = list(theta)
            th[k] += step * max(abs(th[k]), 0.1)
            assert _marginal_ll_grid(th, t, y, loq, cens, subj) <= base + 1e-7


def test_random_intercept_and_slope_recover_parameters_and_percentile_time():
    t, y, loq, cens, subj = _mixed_data(7, n_subj=30, omega_a=0.5, omega_b=0.02)
    fit = fit_decay(t, y, loq, censored=cens, subject=subj, between_subject="intercept+slope")
    truth = {"intercept": 7.0, "slope": -0.15, "sigma": 0.3, "omega_intercept": 0.5, "omega_slope": 0.02}
    for name, true in truth.items():
        assert abs(fit.parameters[name] - true) < 4 * fit.standard_errors[name], name
    # percentile time against Monte Carlo over the fitted random effects
    p = fit.parameters
    rng = np.random.default_rng(0)
    wa, wb, r = p["omega_intercept"], p["omega_slope"], p["correlation"]
    cov = [[wa * wa, r * wa * wb], [r * wa * wb, wb * wb]]
    eta = rng.multivariate_normal([0, 0], cov, size=400_000)
    a_i, b_i = p["intercept"] + eta[:, 0], p["slope"] + eta[:, 1]
    t_i = np.where(b_i < 0, (2.0 - a_i) / b_i, np.inf)
    assert fit.time_below(2.0, percentile=0.9) == pytest.approx(np.quantile(t_i, 0.9), rel=5e-3)
    assert fit.time_below(2.0, percentile=0.5) == pytest.approx(np.quantile(t_i, 0.5), rel=5e-3)
    assert fit.time_below(2.0) == pytest.approx((2.0 - p["intercept"]) / p["slope"])


def test_random_intercept_percentile_closed_form():
    t, y, loq, cens, subj = _mixed_data(8, n_subj=15)
    fit = fit_decay(t, y, loq, censored=cens, subject=subj, between_subject="intercept")
    p = fit.parameters
    z = stats.norm.ppf(0.95)
    assert fit.time_below(2.0, percentile=0.95) == pytest.approx(
        (2.0 - p["intercept"] - z * p["omega_intercept"]) / p["slope"], rel=1e-9)


# ----------------------------------------------------------------------------------------------- bad input


def test_unsorted_times_within_a_subject_message():
    with pytest.raises(ValueError) as exc:
        fit_decay([0, 1, 3, 1, 2], [6, 5.5, 5, 5.5, 5.2], 1.0, subject=["a", "a", "b", "b", "b"])
    assert str(exc.value) == ("The 'times' parameter of fit_decay must be sorted ascending within each subject. "
                              "Got [3, 1, 2].")


@pytest.mark.parametrize("args, kwargs, match", [
    (([0, -1, 2], [5, 4, 3], 1.0), {}, r"'times' parameter of fit_decay must be finite numbers >= 0\. Got \[-1\]"),
    (([0, 1, 2], [5, 4, 3], 6.0), {}, r"'loq' parameter of fit_decay must be below at least 2"),
    (([0, 1, 2, 3], [5, 4, 3, 2], 1.0), {"subject": ["a", "a", "a", "b"]},
     r"'subject'.*at least two samples.*one sample for subject 'b'"),
    (([0, 1, 2], [5, np.nan, 3], 1.0), {}, r"'log10_values'.*pass censored="),
    (([0, 1, 2], [5, 4, 0.5], 1.0), {"model": "tri"}, r"'model'"),
    (([0, 1, 2], [5, 4, 0.5], 1.0), {"model": "bi"}, r"quantified .* 4 or more distinct times"),
    (([0, 1, 2], [5, 4, 3], 1.0), {"between_subject": "intercept"}, r"'subject'"),
])
def test_bad_input_raises(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_decay(*args, **kwargs)


@pytest.mark.parametrize("call, message", [
    (lambda: fit_decay([0, "x", 2], [5, 4, 3], 1.0),
     "The 'times' parameter of fit_decay must be finite numbers >= 0. Got [0, 'x', 2]."),
    (lambda: fit_decay([0, 1, 2], [5, 4, 3], "LOQ"),
     "The 'loq' parameter of fit_decay must be finite (log10 scale). Got 'LOQ'."),
    (lambda: fit_decay([0, 1, 2], [5, 4, 3], [1.0, 1.0]),
     "The 'loq' parameter of fit_decay must be a number or one per value (3). Got 'shape (2,)'."),
    (lambda: fit_decay([0, 7, 14, 21, 28], [6.1, 4.5, 3.3, 1.8, 1.0], loq=1.5).time_below("LOD"),
     "The 'threshold' parameter of DecayFit.time_below must be a finite log10 concentration. Got 'LOD'."),
])
def test_values_that_are_not_numbers_get_the_standard_message(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message


# ----------------------------------------------------------------------------------------------- exact fits


def _exact_cases():
    t = np.array([0.0, 7, 14, 21])
    line = 6.0 - t / 7.0                                    # 6, 5, 4, 3 log10: on a line, no noise
    tb = np.array([0.5, 1, 2, 3, 5, 7, 10, 14, 21, 28])
    curve = _bi_mean((6.0, 0.5, 4.0, 0.04), tb)             # on a bi-exponential curve
    subj = np.repeat([0, 1, 2], 4)
    tm = np.tile(t, 3)
    return [
        ("model='mono'", (t, line, 1.0), {}),
        ("model='mono'", (np.r_[t, 28.0], np.r_[line, np.nan], 2.5), {"censored": [False] * 4 + [True]}),
        ("model='bi'", (tb, curve, 1.0), {"model": "bi"}),
        ("between_subject='intercept'", (tm, np.array([6.0, 7.0, 5.5])[subj] - tm / 7.0, 1.0),
         {"subject": subj, "between_subject": "intercept"}),
    ]


@pytest.mark.parametrize("call, args, kwargs", _exact_cases())
def test_exact_fit_raises_a_clear_error_without_runtime_warnings(call, args, kwargs):
    # zero residuals: the likelihood grows without bound as sigma -> 0 (it used to return sigma ~ 1e-13 with
    # converged=False, NaN standard errors and overflow RuntimeWarnings)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ModelError) as exc:
            fit_decay(*args, **kwargs)
    message = str(exc.value)
    assert message.startswith(f"fit_decay({call}) cannot estimate sigma: the quantified log10_values lie exactly "
                              "on the fitted curve")
    assert "Try: " in message and "monoexponential_crossing_time" in message


def test_nearly_exact_data_still_fit_without_warnings():
    rng = np.random.default_rng(0)
    t = np.arange(0.0, 30.0, 3.0)
    y = 6.0 - 0.1 * t + rng.normal(0, 1e-3, t.size)          # residual SD 0.001 log10: small, not zero
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fit = fit_decay(t, y, 1.0)
    assert fit.converged and 5e-4 < fit.sigma < 2e-3
    assert fit.slope == pytest.approx(np.polyfit(t, y, 1)[0], abs=1e-9)   # least squares when nothing censored

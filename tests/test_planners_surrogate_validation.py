"""Surrogate validation (atmp_hta.planners.surrogate.validation) on the ARMD trial.

Reference: Alonso A, Bigirumurame T, Burzykowski T, Buyse M, Molenberghs G, Muchene L, Perualila NJ,
Shkedy Z, Van der Elst W. Applied Surrogate Endpoint Evaluation Methods with SAS and R. CRC Press 2016:
ch. 3 (Prentice models on ARMD, results in § 3.2.2; relative effect and adjusted association) and ch. 14
(the Surrogate Shiny App, identical to ``BifixedContCont(..., Model="Reduced", Weighted=TRUE)``, on ARMD).
Values are printed to 4 decimals, hence the absolute tolerance 5e-5 (1e-4 for derived quantities)."""

import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners.surrogate import load_armd, validate_surrogate

TOL = 5e-5


@pytest.fixture(scope="module")
def armd():
    return load_armd()


@pytest.fixture(scope="module")
def reduced(armd):
    return validate_surrogate(armd, "Diff24", "Diff52", "Treat", "Center", model="reduced", weighted=True)


def test_armd_shape(armd):
    assert armd.shape == (181, 5)
    assert armd["Center"].nunique() == 36


def test_prentice_models_match_the_book(reduced):
    # Alonso et al. 2016, § 3.2.2: alpha = -0.8893 (s.e. 0.9509, p = 0.3509), beta = -1.4562 (s.e. 1.1771,
    # p = 0.2176), gamma = 0.9256 (s.e. 0.0617, p < 0.0001), beta_S = -0.6362 (s.e. 0.7894, p = 0.4213).
    c = reduced.prentice.coefficients.set_index(["model", "term"])
    expected = {
        ("1: surrogate ~ treatment", "treatment"): (-0.8893, 0.9509, 0.3509),
        ("2: true ~ treatment", "treatment"): (-1.4562, 1.1771, 0.2176),
        ("3: true ~ surrogate", "surrogate"): (0.9256, 0.0617, None),
        ("4: true ~ treatment + surrogate", "treatment"): (-0.6362, 0.7894, 0.4213),
    }
    for key, (est, se, p) in expected.items():
        assert c.loc[key, "estimate"] == pytest.approx(est, abs=TOL)
        assert c.loc[key, "se"] == pytest.approx(se, abs=TOL)
        if p is not None:
            assert c.loc[key, "p_value"] == pytest.approx(p, abs=TOL)
    assert c.loc[("3: true ~ surrogate", "surrogate"), "p_value"] < 1e-4
    assert reduced.prentice.passed is False  # alpha and beta are not significant


def test_relative_effect_and_adjusted_association_match_the_book(reduced):
    # Alonso et al. 2016, ch. 3: RE = 1.6375, delta-method 95 % CI [-0.6522, 3.9273]; rho_Z = 0.7450.
    re = reduced.relative_effect
    assert re.estimate == pytest.approx(1.6375, abs=TOL)
    assert re.ci == pytest.approx((-0.6522, 3.9273), abs=TOL)
    assert reduced.adjusted_association.estimate == pytest.approx(0.7450, abs=TOL)
    # The book's interval for rho_Z ([0.6647; 0.8159]) is not symmetric on the Fisher-z scale (a bootstrap
    # interval, not reproduced); ours is the Fisher-z interval of Surrogate's Single.Trial.RE.AA (next test).


def _fieller_statistic(data, surrogate, true, treatment):
    """Oracle for Fieller's set: statsmodels OLS fits of S and T on Z give a, b, their variances and, from the
    residual covariance, cov(a, b); rho is in the set iff |b - rho a| / sd(b - rho a) <= z_0.975."""
    fit_s = smf.ols(f"{surrogate} ~ {treatment}", data=data).fit()
    fit_t = smf.ols(f"{true} ~ {treatment}", data=data).fit()
    a, b = fit_s.params[treatment], fit_t.params[treatment]
    var_a, var_b = fit_s.bse[treatment] ** 2, fit_t.bse[treatment] ** 2
    cov_ab = (fit_s.resid @ fit_t.resid) / fit_s.df_resid * var_a / fit_s.scale  # sigma_ST (X'X)^-1 [Z, Z]

    def statistic(rho):
        return abs(b - rho * a) / np.sqrt(var_b - 2 * rho * cov_ab + rho**2 * var_a) - stats.norm.isf(0.025)

    return statistic, a, np.sqrt(var_a)


def test_fieller_set_is_the_whole_line_for_armd(armd, reduced):
    # Alonso et al. 2016, section 3.2.2: alpha = -0.8893 (s.e. 0.9509), so alpha^2 / se^2 = 0.8746 < 1.96^2: the
    # effect on the surrogate is not significant, and Fieller's set for RE = beta / alpha is unbounded. It is
    # reported with infinite limits (not NaN) and a method that says so.
    fieller = reduced.relative_effect_fieller
    assert fieller.ci == (-np.inf, np.inf)
    assert fieller.method.startswith("unbounded (Fieller): the whole real line")
    assert fieller.estimate == pytest.approx(1.6375, abs=TOL)
    # oracle: every ratio, however large, is accepted by the test of beta - rho alpha = 0
    statistic, a, se_a = _fieller_statistic(armd, "Diff24", "Diff52", "Treat")
    assert (a, se_a) == pytest.approx((-0.8893, 0.9509), abs=TOL)
    assert (a / se_a) ** 2 < stats.norm.isf(0.025) ** 2  # not significant: the set is unbounded
    assert all(statistic(rho) <= 0 for rho in (-1e6, -100.0, -1.0, 0.0, 1.6375, 10.0, 1e3, 1e6))
    row = reduced.to_frame().set_index("measure").loc["relative_effect_fieller"]
    assert (row["ci_lower"], row["ci_upper"]) == (-np.inf, np.inf)


def _two_arm_trials(effect_s, effect_t, seed):
    """8 centres of 24 patients, treatment coded -1/+1, correlated S and T (simulated, for the Fieller oracle)."""
    rng = np.random.default_rng(seed)
    centre = np.repeat(np.arange(8), 24)
    z = np.tile([-1.0, 1.0], 8 * 12)
    e_s = rng.standard_normal(centre.size)
    e_t = 0.8 * e_s + 0.6 * rng.standard_normal(centre.size)
    shift = rng.normal(0.0, 0.3, 8)[centre]
    return pd.DataFrame(
        {"Center": centre, "Treat": z, "S": (effect_s + shift) * z + e_s, "T": (effect_t + shift) * z + e_t}
    )


def test_fieller_interval_is_the_test_inversion_when_bounded():
    from scipy.optimize import brentq

    data = _two_arm_trials(1.0, 1.5, seed=1)
    res = validate_surrogate(data, "S", "T", "Treat", "Center", model="reduced")
    statistic, a, se_a = _fieller_statistic(data, "S", "T", "Treat")
    assert abs(a / se_a) > stats.norm.isf(0.025)  # effect on S significant: bounded interval
    ratio = res.relative_effect_fieller.estimate
    lower, upper = brentq(statistic, ratio - 10, ratio), brentq(statistic, ratio, ratio + 10)
    assert res.relative_effect_fieller.ci == pytest.approx((lower, upper), rel=1e-9)
    assert res.relative_effect_fieller.method == "Fieller"


def test_fieller_set_of_two_half_lines_is_unbounded_with_its_finite_ends_in_the_method():
    from scipy.optimize import brentq

    data = _two_arm_trials(0.03, 1.5, seed=2)  # no effect on S, a clear effect on T
    res = validate_surrogate(data, "S", "T", "Treat", "Center", model="reduced")
    fieller = res.relative_effect_fieller
    assert fieller.ci == (-np.inf, np.inf)
    ends = [float(x) for x in re.findall(r"\(-inf, (\S+)\] and \[(\S+), inf\)", fieller.method)[0]]
    statistic, a, se_a = _fieller_statistic(data, "S", "T", "Treat")
    assert abs(a / se_a) < stats.norm.isf(0.025)
    # oracle: the test rejects between the two ends (near rho = 0 the effect on T is clearly non-zero) and
    # accepts beyond them
    assert statistic(0.0) > 0 and statistic(-1e6) <= 0 and statistic(1e6) <= 0
    lower, upper = brentq(statistic, -1e6, 0.0), brentq(statistic, 0.0, 1e6)
    assert ends == pytest.approx([lower, upper], rel=5e-4)  # the method prints 4 significant digits


def test_surrogate_threshold_effect_reports_no_ci_and_says_why(armd, reduced):
    ste = reduced.surrogate_threshold_effect
    assert np.isfinite(ste.estimate) and np.isnan(ste.ci_lower) and np.isnan(ste.ci_upper)
    assert "no CI" in ste.method and "Burzykowski & Buyse 2006" in ste.method
    # with no trial-level association the prediction interval never excludes 0: no STE, and the method says so
    rng = np.random.default_rng(3)
    data = _two_arm_trials(0.5, 0.0, seed=3)
    data["T"] += rng.normal(0.0, 3.0, 8)[data["Center"]] * data["Treat"]
    none = validate_surrogate(data, "S", "T", "Treat", "Center", model="reduced").surrogate_threshold_effect
    assert np.isnan(none.estimate)
    assert none.method.startswith("does not exist")


def test_adjusted_association_ci_is_scipys_fisher_interval(armd, reduced):
    resid_s = armd["Diff24"] - armd.groupby("Treat")["Diff24"].transform("mean")
    resid_t = armd["Diff52"] - armd.groupby("Treat")["Diff52"].transform("mean")
    ci = stats.pearsonr(resid_s, resid_t).confidence_interval(0.95)
    assert reduced.adjusted_association.ci == pytest.approx((ci.low, ci.high), abs=1e-10)


def test_proportion_explained_from_the_books_coefficients(reduced):
    # Freedman's PE = (beta - beta_S) / beta with beta = -1.4562, beta_S = -0.6362 (§ 3.2.2): 0.5631.
    assert reduced.proportion_explained.estimate == pytest.approx((-1.4562 + 0.6362) / -1.4562, abs=1e-4)
    lo, hi = reduced.proportion_explained.ci
    assert lo < reduced.proportion_explained.estimate < hi


def test_reduced_weighted_meta_analytic_r2_match_the_book(reduced):
    # Alonso et al. 2016, ch. 14, ARMD, reduced fixed-effects model, weighted:
    # R2_indiv = 0.5318 (0.4315, 0.6321), R2_trial = 0.6585 (0.4695, 0.8476).
    assert reduced.n_trials == 36 and reduced.n_patients == 181
    assert reduced.r2_individual.estimate == pytest.approx(0.5318, abs=TOL)
    assert reduced.r2_individual.ci == pytest.approx((0.4315, 0.6321), abs=TOL)
    assert reduced.r2_trial.estimate == pytest.approx(0.6585, abs=TOL)
    assert reduced.r2_trial.ci == pytest.approx((0.4695, 0.8476), abs=TOL)


@pytest.mark.parametrize("model", ["full", "reduced"])
@pytest.mark.parametrize("weighted", [True, False])
def test_two_stage_fit_agrees_with_statsmodels(armd, model, weighted):
    # Oracle: stage 1 and stage 2 refitted with statsmodels formulas (independent design construction).
    res = validate_surrogate(armd, "Diff24", "Diff52", "Treat", "Center", model=model, weighted=weighted)
    rhs = "C(Center) + C(Center):Treat - 1" if model == "full" else "C(Center):Treat"
    fit_s = smf.ols(f"Diff24 ~ {rhs}", data=armd).fit()
    fit_t = smf.ols(f"Diff52 ~ {rhs}", data=armd).fit()
    r2_ind = np.corrcoef(fit_s.resid, fit_t.resid)[0, 1] ** 2
    assert res.r2_individual.estimate == pytest.approx(r2_ind, abs=1e-10)
    trials = res.trials.set_index("trial")
    slope_s = fit_s.params.filter(like=":Treat")
    slope_t = fit_t.params.filter(like=":Treat")
    assert np.allclose(trials["effect_surrogate"].to_numpy(), slope_s.to_numpy(), atol=1e-8)
    assert np.allclose(trials["effect_true"].to_numpy(), slope_t.to_numpy(), atol=1e-8)
    x = (
        trials[["intercept_surrogate", "effect_surrogate"]]
        if model == "full"
        else trials[["effect_surrogate"]]
    )
    stage2 = sm.WLS(trials["effect_true"], sm.add_constant(x), weights=trials["n"] if weighted else 1.0).fit()
    assert res.r2_trial.estimate == pytest.approx(stage2.rsquared, abs=1e-10)
    assert np.allclose(res.stage2_coefficients, stage2.params.to_numpy(), atol=1e-10)


@pytest.mark.parametrize("model", ["full", "reduced"])
@pytest.mark.parametrize("benefit", ["positive", "negative"])
def test_surrogate_threshold_effect_zeroes_the_statsmodels_prediction_limit(armd, model, benefit):
    # Oracle: at the STE, statsmodels' 95 % prediction interval (WLS, new trial of mean weight) touches zero.
    res = validate_surrogate(armd, "Diff24", "Diff52", "Treat", "Center", model=model, benefit=benefit)
    ste = res.surrogate_threshold_effect.estimate
    assert np.isfinite(ste)
    t = res.trials
    cols = ["intercept_surrogate", "effect_surrogate"] if model == "full" else ["effect_surrogate"]
    fit = sm.WLS(t["effect_true"], sm.add_constant(t[cols]), weights=t["n"]).fit()
    if model == "full":
        mu_bar = np.average(t["intercept_surrogate"], weights=t["n"])
        exog = np.array([[1.0, mu_bar, ste]])
    else:
        exog = np.array([[1.0, ste]])
    frame = fit.get_prediction(exog, weights=np.array([t["n"].mean()])).summary_frame(alpha=0.05)
    limit = frame["obs_ci_lower"].iloc[0] if benefit == "positive" else frame["obs_ci_upper"].iloc[0]
    assert limit == pytest.approx(0.0, abs=1e-8)


def test_to_frame_is_tidy(reduced):
    frame = reduced.to_frame()
    assert list(frame["measure"]) == [
        "proportion_explained",
        "relative_effect",
        "relative_effect_fieller",
        "adjusted_association",
        "r2_trial",
        "r2_individual",
        "surrogate_threshold_effect",
    ]
    assert {"estimate", "se", "ci_lower", "ci_upper", "method", "model", "weighted"} <= set(frame.columns)


def test_zero_one_coding_leaves_single_trial_measures_and_full_model_residuals_unchanged(armd):
    # With 0/1 coding the effects double and the intercepts move to the control arm, so RE, rho_Z, PE and the
    # full-model (saturated) residuals are unchanged; the reduced model is another model (as in Surrogate).
    recoded = armd.assign(Treat=(armd["Treat"] + 1) // 2)
    a = validate_surrogate(armd, "Diff24", "Diff52", "Treat", "Center", model="full")
    b = validate_surrogate(recoded, "Diff24", "Diff52", "Treat", "Center", model="full")
    for name in ("relative_effect", "adjusted_association", "proportion_explained", "r2_individual"):
        assert getattr(b, name).estimate == pytest.approx(getattr(a, name).estimate, abs=1e-10)
    assert np.allclose(b.trials["effect_surrogate"], 2 * a.trials["effect_surrogate"], atol=1e-10)


def test_incomplete_trials_are_dropped_like_surrogate(armd):
    one_arm = pd.DataFrame(
        {"Id": [900, 901], "Center": [1, 1], "Treat": [1, 1], "Diff24": [0, 3], "Diff52": [1, 2]}
    )
    res = validate_surrogate(
        pd.concat([armd, one_arm]), "Diff24", "Diff52", "Treat", "Center", model="reduced"
    )
    assert res.n_trials == 36 and res.n_patients == 181


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_results_do_not_depend_on_row_order(armd, reduced, seed):
    shuffled = armd.sample(frac=1.0, random_state=seed % (2**32 - 1))
    res = validate_surrogate(shuffled, "Diff24", "Diff52", "Treat", "Center", model="reduced")
    assert res.r2_trial.estimate == pytest.approx(reduced.r2_trial.estimate, abs=1e-10)
    assert res.r2_individual.estimate == pytest.approx(reduced.r2_individual.estimate, abs=1e-10)
    assert 0.0 <= res.r2_trial.ci_lower <= res.r2_trial.ci_upper <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            dict(model="mixed"),
            "The 'model' parameter of validate_surrogate must be one of ('full', 'reduced')",
        ),
        (
            dict(surrogate="Diff12"),
            "The 'surrogate' parameter of validate_surrogate must be a column of data",
        ),
        (dict(alpha=0.0), "The 'alpha' parameter of validate_surrogate must be in (0, 1). Got 0.0."),
    ],
)
def test_bad_input_names_the_parameter(armd, kwargs, message):
    args = dict(data=armd, surrogate="Diff24", true="Diff52", treatment="Treat", trial="Center") | kwargs
    with pytest.raises(ParameterError) as err:
        validate_surrogate(**args)
    assert message in str(err.value)


def test_treatment_coding_is_checked(armd):
    with pytest.raises(ParameterError, match="coded -1/1 or 0/1"):
        validate_surrogate(armd.assign(Treat=armd["Treat"] * 2), "Diff24", "Diff52", "Treat", "Center")

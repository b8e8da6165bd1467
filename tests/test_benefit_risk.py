"""The net-value decision against hand calculations and closed forms."""

import copy
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from atmp_hta.benefit_risk import (
    MEAN_SD_CAVEAT,
    TERMS,
    evaluate,
    net_value_curve,
    tipping_point,
    tipping_points,
)
from atmp_hta.params import load_parameters, parse_parameters
from atmp_hta.risk import certainty_equivalent

ROOT = Path(__file__).resolve().parents[1]

BASE = {
    "product": {"name": "Hand", "kind": "other", "indication": "x", "comparator": "y"},
    "settings": {"discount_rate": 0.0, "timing": "end", "risk_aversion": 0.0, "unmet_need_scheme": "linear",
                 "max_uplift": 0.2},
    "parameters": {"p_cure": {"kind": "probability", "value": 0.4},
                   "p_harm": {"kind": "probability", "value": 0.1}},
    "population": {"general_population_qalys": 20.0, "unmet_need": 0.5},
    "strategies": {
        "treatment": {"label": "T", "branches": [
            {"name": "cure", "probability": "p_cure", "segments": [{"utility": 0.9, "years": 10}]},
            {"name": "none", "probability": "complement", "segments": [{"utility": 0.5, "years": 2}]}]},
        "comparator": {"label": "C", "branches": [
            {"name": "all", "probability": 1, "segments": [{"utility": 0.5, "years": 2}]}]},
    },
    "harms": [{"name": "late harm", "probability": "p_harm", "utility_decrement": 0.5, "duration_years": 4,
               "onset_years": 3}],
}


def build(**changes):
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        target = data
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return parse_parameters(data)


def test_hand_calculation_undiscounted():
    r = evaluate(build(), rng=1)
    # treatment 0.4 * 9 + 0.6 * 1 = 4.2; comparator 1.0; B = 3.2
    # shortfall: 20 - 1 = 19 >= 18 -> severity weight 1.7 (NICE PMG36 table 6.1)
    # unmet need: 1 + 0.2 * 0.5 = 1.1; weighted = 1.7 * 1.1 * 3.2 = 5.984
    # harm: 0.1 * 0.5 * 4 = 0.2; penalty 0 (no uncertainty, no aversion); NV = 5.784
    assert r.qalys == pytest.approx({"treatment": 4.2, "comparator": 1.0})
    assert r.terms["benefit"] == pytest.approx(3.2)
    assert r.shortfall["absolute"] == pytest.approx(19.0)
    assert r.terms["severity_weight"] == 1.7
    assert r.terms["unmet_need_weight"] == pytest.approx(1.1)
    assert r.terms["weighted_benefit"] == pytest.approx(5.984)
    assert r.terms["expected_harm"] == pytest.approx(0.2)
    assert r.terms["uncertainty_penalty"] == 0.0
    assert r.net_value == pytest.approx(5.784)
    assert r.decision == "approve"
    assert r.probability_net_value_positive is None
    assert set(TERMS) == set(r.terms)


def test_discounted_harm_from_onset():
    r = evaluate(build(settings__discount_rate=0.035), rng=1)
    # harm loss: 0.5 * sum_{k=4..7} 1.035^-k (end-of-year counting from onset 3), times p = 0.1
    loss = 0.5 * sum(1.035 ** -k for k in range(4, 8))
    assert r.terms["expected_harm"] == pytest.approx(0.1 * loss, rel=1e-12)


def test_reject_when_harm_outweighs_benefit():
    r = evaluate(build(parameters__p_harm={"kind": "probability", "value": 1.0},
                       harms=[{"name": "h", "probability": "p_harm", "utility_decrement": 1.0,
                               "duration_years": 7}]), rng=1)
    # NV = 5.984 - 7 = -1.016
    assert r.net_value == pytest.approx(-1.016)
    assert r.decision == "reject"


def test_uncertainty_penalty_equals_beta_mgf_closed_form():
    # Harm probability p ~ Beta(a, b), loss L fixed (undiscounted 0.5 * 4 = 2): H = p L.
    # CARA premium pi = (1/r) ln E[e^{r p L}] - E[p L], with E[e^{tp}] = 1F1(a; a + b; t) (Kummer's function,
    # the beta moment-generating function). Monte Carlo over 400,000 draws: tolerance 2%.
    a, b, r_aversion, loss = 2.5, 30.0, 3.0, 2.0
    ps = build(parameters__p_harm={"kind": "probability", "beta": {"alpha": a, "beta": b}},
               settings__risk_aversion=r_aversion, settings__penalty_draws=400_000)
    expected = math.log(special.hyp1f1(a, a + b, r_aversion * loss)) / r_aversion - loss * a / (a + b)
    result = evaluate(ps, rng=3)
    assert result.terms["uncertainty_penalty"] == pytest.approx(expected, rel=0.02)
    assert result.terms["uncertainty_penalty"] > 0


def test_mean_sd_penalty_is_k_standard_deviations():
    a, b, k = 2.5, 30.0, 1.5
    ps = build(parameters__p_harm={"kind": "probability", "beta": {"alpha": a, "beta": b}},
               settings__risk_aversion=k, settings__ce_method="mean-sd", settings__penalty_draws=400_000)
    sd = 2.0 * math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))  # sd of p L
    assert evaluate(ps, rng=5).terms["uncertainty_penalty"] == pytest.approx(k * sd, rel=0.01)


def test_probability_net_value_positive_matches_beta_tail():
    # Only p_cure uncertain, p_cure ~ Beta(2, 3). NV = 1.7 * 1.1 * (p * 9 + (1 - p) - 1) - 0.2 - 0 ... but the
    # severity weight depends on the comparator only (fixed), so NV > 0  <=>  p > 0.2 / (1.87 * 8).
    ps = build(parameters__p_cure={"kind": "probability", "beta": {"alpha": 2, "beta": 3}})
    cut = 0.2 / (1.7 * 1.1 * 8)
    expected = stats.beta(2, 3).sf(cut)
    r = evaluate(ps, n_draws=200_000, rng=11)
    assert r.probability_net_value_positive == pytest.approx(expected, abs=0.003)  # MC sd ~ 0.0003
    # E[NV] = 1.87 * 8 * E[p] - 0.2 with E[p] = 0.4; MC standard error 14.96 * 0.2 / sqrt(2e5) = 0.0067
    assert r.net_value == pytest.approx(1.87 * 8 * 0.4 - 0.2, abs=5 * 0.0067)


def test_severity_basis_expected_versus_per_draw():
    # Comparator utility u ~ Uniform(0.1, 0.29) for 10 years, general population 20 QALYs, undiscounted:
    # absolute shortfall 20 - 10u in [17.1, 19]; >= 18 (weight 1.7) iff u <= 0.2, else >= 12 (weight 1.2).
    # expected basis: E[u] = 0.195 -> shortfall 18.05 -> 1.7.
    # per-draw: P(u <= 0.2) = 0.1 / 0.19, so E[w] = 1.2 + 0.5 * 0.1 / 0.19 = 1.46316.
    data = {
        "parameters__u_c": {"kind": "utility", "uniform": {"low": 0.1, "high": 0.29}},
        "strategies__comparator": {"label": "C", "branches": [
            {"name": "all", "probability": 1, "segments": [{"utility": "u_c", "years": 10}]}]},
    }
    expected_basis = evaluate(build(**data), n_draws=100_000, rng=2)
    per_draw = evaluate(build(**data, settings__severity_basis="per-draw"), n_draws=100_000, rng=2)
    assert expected_basis.terms["severity_weight"] == 1.7
    assert per_draw.terms["severity_weight"] == pytest.approx(1.2 + 0.5 * 0.1 / 0.19, abs=0.005)


def test_tipping_point_is_hand_solvable():
    # With a fixed harm probability p and no penalty, NV(p) = 5.984 - 2 p: tips at p = 2.992 -> outside [0, 1].
    # With loss 0.5 * 14 = 7 per event: NV(p) = 5.984 - 7 p = 0 at p = 0.854857...
    ps = build(harms=[{"name": "h", "probability": "p_harm", "utility_decrement": 0.5, "duration_years": 14}])
    assert tipping_point(ps, "p_harm") == pytest.approx(5.984 / 7, abs=1e-9)
    assert tipping_point(build(), "p_harm") is None
    # Cure probability: NV = 1.87 * 8 p - 0.2 = 0 at p = 0.2 / 14.96
    assert tipping_point(build(), "p_cure") == pytest.approx(0.2 / 14.96, abs=1e-9)
    table = tipping_points(build(), ["p_cure", "p_harm"])
    assert table["approve_side"].iloc[0] == "above"
    assert table["approve_side"].isna().iloc[1] and table["value"].isna().iloc[1]


def test_net_value_curve_is_linear_in_a_fixed_harm_probability():
    curve = net_value_curve(build(), "p_harm", points=5)
    np.testing.assert_allclose(curve["net_value"], 5.984 - 2.0 * np.linspace(0, 1, 5))


def test_breakdown_lists_every_term_with_formula_and_inputs():
    table = evaluate(build(), rng=1).breakdown()
    assert {"benefit", "severity_weight", "unmet_need_weight", "weighted_benefit", "expected_harm",
            "uncertainty_penalty", "net_value", "harm: late harm"} <= set(table["term"])
    row = table.set_index("term").loc["net_value"]
    assert row["value"] == pytest.approx(5.784)
    assert "w_s · w_u · B − H − π" in row["formula"]


def test_same_seed_same_result_and_provenance():
    ps = load_parameters(ROOT / "parameters" / "elivaldogene_autotemcel.yaml")
    a, b = evaluate(ps, 5000, rng=4), evaluate(ps, 5000, rng=4)
    np.testing.assert_array_equal(a.draws["net_value"], b.draws["net_value"])
    prov = a.provenance
    assert prov["seed"] == 4 and prov["draws"] == 5000
    assert len(prov["parameter_file_sha256"]) == 64
    assert prov["conventions"]["timing"] == "end"


def test_examples_tipping_point_of_oncogenesis_flips_the_decision():
    ps = load_parameters(ROOT / "parameters" / "elivaldogene_autotemcel.yaml")
    x = tipping_point(ps, "p_oncogenesis", rng=1)
    current = ps.parameters["p_oncogenesis"].mean()
    assert current < x < 1
    from atmp_hta.params import with_mean

    above = evaluate(with_mean(ps, "p_oncogenesis", min(x + 0.02, 0.999)), rng=1)
    below = evaluate(with_mean(ps, "p_oncogenesis", x - 0.02), rng=1)
    assert (below.decision, above.decision) == ("approve", "reject")


@settings(max_examples=30, deadline=None)
@given(p1=st.floats(0, 1), p2=st.floats(0, 1), loss=st.floats(0.0, 10.0))
def test_net_value_falls_with_a_fixed_harm_probability(p1, p2, loss):
    # The deterministic special case (no uncertainty, no aversion: NV = constant - p L). It cannot fail
    # unless the arithmetic is wrong; the property itself is tested on uncertain harms below.
    def nv(p):
        return evaluate(build(parameters__p_harm={"kind": "probability", "value": p},
                              harms=[{"name": "h", "probability": "p_harm", "utility_decrement": 1.0,
                                      "duration_years": loss}]), rng=1).net_value
    lo, hi = sorted((p1, p2))
    assert nv(hi) <= nv(lo) + 1e-12


# --------------------------------------------------------------------------- more harm never raises NV
# "More harm" is first-order stochastically more, built draw by draw: the same parameter draws (each
# parameter has its own stream, seeded by the seed and its name) go through harm expressions that are
# larger for every draw: probability p -> max(p + (1 - p) t, p_floor), duration d -> max(d · s, d_floor)
# (s >= 1), decrement + delta. The floors and the pull towards 1 also make the harm *less uncertain*, the
# change a mean-variance rule gets wrong.
# With n_draws >= penalty_draws, H and the penalty come from the same draws and
# mean NV = E[w B] - E[H] - pi = E[w B] + min(CE(-H), E[-H]), which CARA and lower quantiles keep monotone.

def _uncertain_harms(harms, method, aversion, rate, more=None):
    """A parameter set with uncertain harms: p_i ~ Beta(m_i n_i, (1 - m_i) n_i), d_i ~ Gamma(mean, sd); ``more``
    gives per harm (t, p_floor, s, d_floor, delta), the draw-wise increase."""
    parameters = {"p_cure": {"kind": "probability", "value": 0.4}}
    rows = []
    for i, (m, n, mean, sd, dec, onset) in enumerate(harms):
        t, p_floor, s, d_floor, delta = (0.0, 0.0, 1.0, 0.0, 0.0) if more is None else more[i]
        parameters[f"p{i}"] = {"kind": "probability", "beta": {"alpha": m * n, "beta": (1 - m) * n}}
        parameters[f"d{i}"] = {"kind": "duration", "gamma": {"mean": mean, "sd": sd}}
        rows.append({"name": f"h{i}", "probability": f"max(p{i} + (1 - p{i}) * {t!r}, {p_floor!r})",
                     "utility_decrement": dec + delta, "duration_years": f"max(d{i} * {s!r}, {d_floor!r})",
                     "onset_years": onset})
    return build(parameters=parameters, harms=rows, settings__ce_method=method, settings__risk_aversion=aversion,
                 settings__discount_rate=rate, settings__penalty_draws=1000)


# per harm: the Beta's mean and total count (alpha + beta), the duration's mean and sd, decrement, onset
harm_spec = st.tuples(st.floats(0.01, 0.99), st.floats(0.5, 40), st.floats(0.2, 10), st.floats(0.05, 5),
                      st.floats(0.05, 1.0), st.floats(0, 5))
_NO_CHANGE = (0.0, 0.0, 1.0, 0.0, 0.0)


def _one_change(position, amount):
    change = list(_NO_CHANGE)
    change[position] = amount
    return tuple(change)


# one kind of increase at a time (a floor alone is the case a mean-variance rule gets wrong), or all at once
increase = st.one_of(
    st.floats(0, 1).map(lambda t: _one_change(0, t)),
    st.floats(0, 1).map(lambda floor: _one_change(1, floor)),
    st.floats(1, 3).map(lambda scale: _one_change(2, scale)),
    st.floats(0, 20).map(lambda floor: _one_change(3, floor)),
    st.floats(0, 1).map(lambda delta: _one_change(4, delta)),
    st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(1, 3), st.floats(0, 20), st.floats(0, 1)),
)
# mean-sd is left out on purpose: mean - k sd is a mean-variance rule and does not respect first-order
# stochastic dominance (see test_mean_sd_can_rank_more_harm_higher for the counterexample).
AVERSION = {"cara": st.floats(0.05, 5), "quantile": st.floats(0.01, 0.5)}


@pytest.mark.parametrize("method", ["cara", "quantile"])
@settings(max_examples=50, deadline=None)
@given(harms=st.lists(harm_spec, min_size=1, max_size=2), more=st.lists(increase, min_size=2, max_size=2),
       data=st.data(), rate=st.sampled_from([0.0, 0.035]), seed=st.integers(0, 2**32 - 1))
def test_more_harm_never_raises_net_value(method, harms, more, data, rate, seed):
    aversion = data.draw(AVERSION[method], label="risk_aversion")
    n = 1000  # = penalty_draws: the penalty is computed over the same draws as H
    base = evaluate(_uncertain_harms(harms, method, aversion, rate), n_draws=n, rng=seed)
    worse = evaluate(_uncertain_harms(harms, method, aversion, rate, more), n_draws=n, rng=seed)
    assert worse.provenance["penalty_draws"] == n
    # the construction really is draw-wise more harm, and the benefit side is untouched
    assert np.all(worse.draws["expected_harm"] >= base.draws["expected_harm"] - 1e-12)
    np.testing.assert_array_equal(worse.draws["weighted_benefit"], base.draws["weighted_benefit"])
    assert worse.net_value <= base.net_value + 1e-9 * (1 + abs(base.net_value))
    # the penalty is its definition over these draws, π = max(0, H_CE − E[H]) with H_CE = −CE(−H)
    h = worse.draws["expected_harm"].to_numpy()
    h_ce = -float(certainty_equivalent(-h, aversion, method))
    assert worse.terms["uncertainty_penalty"] == pytest.approx(max(0.0, h_ce - h.mean()), rel=1e-9, abs=1e-12)


def test_base_case_more_harm_never_raises_net_value_with_discounting_over_an_uncertain_duration():
    # p = 1, loss = 0.5 · discounted years (rate 0.06) over d ~ Gamma(mean 10, sd 10), CARA r = 5. L is concave
    # in d, so H at the point value (d = 10) is below E[H] (Jensen). Were the penalty the risk premium
    # E[H] − ... around E[H] while H is counted at the point value, moving d up by 0.5 year would RAISE the
    # base-case net value by about 0.006 (the premium's centre E[H] grows more than H(mean d)). With
    # π = max(0, H_CE − H) the net value is w·B − max(H, H_CE), and both grow with d.
    def ps(shift):
        return build(parameters__d={"kind": "duration", "gamma": {"mean": 10, "sd": 10}},
                     harms=[{"name": "h", "probability": 1.0, "utility_decrement": 0.5,
                             "duration_years": f"d + {shift}"}],
                     settings__risk_aversion=5.0, settings__discount_rate=0.06, settings__penalty_draws=200_000)
    nvs = [evaluate(ps(shift), rng=1).net_value for shift in (0.0, 0.5, 1.0, 2.0)]
    assert all(later <= earlier for earlier, later in zip(nvs, nvs[1:], strict=False))


def test_base_case_penalty_is_the_certainty_equivalent_harm_above_the_point_value_harm():
    # Hand calculation of the base-case penalty from its definition, π = max(0, H_CE − H(point values)):
    # one harm, p ~ Beta(2, 38) (mean 0.05), fixed loss 0.5 QALY · 4 years undiscounted = 2 QALYs; CARA r = 2.
    # H(point) = 0.05 · 2 = 0.1. H_CE = (1/r) ln E[exp(r · 2p)] = (1/r) ln M_p(2r), with the Beta moment
    # generating function M(t) = 1F1(α; α + β; t) (scipy.special.hyp1f1; Johnson, Kotz & Balakrishnan,
    # Continuous Univariate Distributions vol. 2, ch. 25), up to the penalty sample's MC error.
    r, loss = 2.0, 2.0
    h_ce = math.log(special.hyp1f1(2, 40, r * loss)) / r
    ps = build(parameters__p_harm={"kind": "probability", "beta": {"alpha": 2, "beta": 38}},
               harms=[{"name": "h", "probability": "p_harm", "utility_decrement": 0.5, "duration_years": 4}],
               settings__risk_aversion=r, settings__discount_rate=0.0, settings__penalty_draws=400_000)
    result = evaluate(ps, rng=3)
    assert result.terms["expected_harm"] == pytest.approx(0.1, rel=1e-12)
    # MC sd of the sampled H_CE is about sd(H)/sqrt(n) = 0.068/632 = 1.1e-4; 3e-4 still tells the exact value
    # (0.00492) from the second-order approximation r·Var(H)/2 = 0.00463
    assert result.terms["uncertainty_penalty"] == pytest.approx(h_ce - 0.1, abs=3e-4)


# ------------------------------------------------------------------------------ quantile: never a bonus
def test_quantile_penalty_is_floored_at_zero():
    # p ~ Beta(0.5, 30), loss L = 0.5 · 4 = 2 (undiscounted): H = 2p is right-skewed, so the median of -H
    # lies above its mean and E[-H] - Q_0.5(-H) < 0. By the Beta's own mean and median (scipy):
    d = stats.beta(0.5, 30)
    raw = 2 * (d.median() - d.mean())  # E[-H] - median(-H) = 2 (median p - mean p)
    assert raw == pytest.approx(-0.01755, abs=1e-5)
    ps = build(parameters__p_harm={"kind": "probability", "beta": {"alpha": 0.5, "beta": 30}},
               settings__ce_method="quantile", settings__risk_aversion=0.5, settings__penalty_draws=20_000)
    r = evaluate(ps, n_draws=20_000, rng=7)  # the penalty is taken over these very draws
    minus_h = -r.draws["expected_harm"].to_numpy()
    mean, median = float(np.mean(minus_h)), float(np.median(minus_h))
    assert mean - median == pytest.approx(raw, abs=0.002)  # the draws show the same skew (MC sd ~ 3e-4)
    assert r.terms["uncertainty_penalty"] == max(0.0, mean - median) == 0.0
    assert r.net_value == pytest.approx(r.terms["weighted_benefit"] - r.terms["expected_harm"], rel=1e-12)
    # base case, penalty from its own sample: also 0, never a bonus
    assert evaluate(ps, rng=7).terms["uncertainty_penalty"] == 0.0


def test_quantile_penalty_above_the_floor_is_mean_minus_quantile():
    # The same harm at alpha = 0.1: Q_0.1(-H) = -2 · F^-1(0.9) lies below the mean, so pi = E[-H] - Q_0.1(-H)
    # = 2 (F^-1(0.9) - E[p]) = 0.0561 by scipy, and exactly mean - quantile of the draws.
    d = stats.beta(0.5, 30)
    ps = build(parameters__p_harm={"kind": "probability", "beta": {"alpha": 0.5, "beta": 30}},
               settings__ce_method="quantile", settings__risk_aversion=0.1, settings__penalty_draws=20_000)
    r = evaluate(ps, n_draws=20_000, rng=7)
    minus_h = -r.draws["expected_harm"].to_numpy()
    expected = float(np.mean(minus_h) - np.quantile(minus_h, 0.1))
    assert r.terms["uncertainty_penalty"] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(2 * (d.ppf(0.9) - d.mean()), abs=0.002)


def test_breakdown_states_the_quantile_floor():
    ps = build(settings__ce_method="quantile", settings__risk_aversion=0.5)
    row = evaluate(ps, rng=1).breakdown().set_index("term").loc["uncertainty_penalty"]
    assert row["formula"].startswith("π = max(0, H_CE − H)") and "Q_α" in row["formula"]


# ---------------------------------------------------------------------- mean - k sd: a known limitation
def test_mean_sd_can_rank_more_harm_higher():
    # Documented limitation of ce_method "mean-sd" (a mean-variance rule; Borch 1969). Harm probability
    # Beta(1.8, 0.2) -> Beta(1.9, 0.1): mean 0.90 -> 0.95, and the second is larger in the likelihood-ratio
    # order (density ratio ∝ p^0.1 (1 - p)^-0.1, increasing), hence first-order stochastically more harm.
    # Loss 1.0 · 5 = 5 QALYs, k = 1.5. By hand: E[H] = 4.50 -> 4.75; sd(p) = sqrt(ab / ((a+b)^2 (a+b+1)))
    # = sqrt(0.03) -> sqrt(0.019/1.2); pi = 1.5 · 5 · sd(p) = 1.299 -> 0.944; NV = 5.984 - E[H] - pi rises
    # 0.185 -> 0.290. CARA on the same inputs ranks them the right way round.
    def ps(a, b, method="mean-sd", aversion=1.5):
        return build(parameters__p_harm={"kind": "probability", "beta": {"alpha": a, "beta": b}},
                     harms=[{"name": "h", "probability": "p_harm", "utility_decrement": 1.0, "duration_years": 5}],
                     settings__ce_method=method, settings__risk_aversion=aversion, settings__penalty_draws=400_000)

    less, more = evaluate(ps(1.8, 0.2), n_draws=400_000, rng=2), evaluate(ps(1.9, 0.1), n_draws=400_000, rng=2)
    assert less.terms["expected_harm"] == pytest.approx(4.50, abs=0.005)
    assert more.terms["expected_harm"] == pytest.approx(4.75, abs=0.005)
    assert less.terms["uncertainty_penalty"] == pytest.approx(7.5 * math.sqrt(0.03), rel=0.01)
    assert more.terms["uncertainty_penalty"] == pytest.approx(7.5 * math.sqrt(0.019 / 1.2), rel=0.01)
    assert less.net_value == pytest.approx(0.185, abs=0.01)
    assert more.net_value == pytest.approx(0.290, abs=0.01)
    assert more.net_value > less.net_value + 0.08  # more harm, higher net value: the limitation
    assert more.caveats == less.caveats == (MEAN_SD_CAVEAT,)
    assert "first-order stochastic dominance" in MEAN_SD_CAVEAT
    cara_less = evaluate(ps(1.8, 0.2, "cara", 1.0), n_draws=400_000, rng=2)
    cara_more = evaluate(ps(1.9, 0.1, "cara", 1.0), n_draws=400_000, rng=2)
    assert cara_more.net_value < cara_less.net_value
    assert cara_less.caveats == ()


def test_caveat_only_with_mean_sd_and_in_the_json_summary():
    assert evaluate(build(), rng=1).to_dict()["caveats"] == []
    summary = evaluate(build(settings__ce_method="mean-sd", settings__risk_aversion=1.0), rng=1).to_dict()
    assert summary["caveats"] == [MEAN_SD_CAVEAT]
    assert evaluate(build(settings__ce_method="mean-sd"), rng=1).caveats == ()  # k = 0: plain mean, no issue

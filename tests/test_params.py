"""Parameter sets: the example files, point values, sampling, moving a parameter, YAML and JSON Schema.

References are written out here, independently of :mod:`atmp_hta.distributions`:

- beta by moments (m, s): alpha = m·(m(1−m)/s² − 1), beta = (1−m)·(m(1−m)/s² − 1);
- gamma by moments: shape = m²/s², scale = s²/m (rate = m/s²);
- log-normal by moments: sdlog² = ln(1 + s²/m²), meanlog = ln m − sdlog²/2;
- ``events`` k in n patients: Jeffreys posterior Beta(k + 1/2, n − k + 1/2);
- ``events`` k in T patient-years, horizon h: λ ~ Gamma(a = k + 1/2, rate T), P = 1 − e^(−λh). With the
  gamma moment generating function E[e^(tλ)] = (1 − t/T)^(−a) at t = −h and t = −2h:
  E[P] = 1 − (1 + h/T)^(−a), E[P²] = 1 − 2(1 + h/T)^(−a) + (1 + 2h/T)^(−a), and
  P(P ≤ p) = P(λ ≤ −ln(1 − p)/h), the gamma CDF.
- Dirichlet(α): component i has mean α_i/A and variance α_i(A − α_i)/(A²(A + 1)), A = Σα, and its marginal
  is Beta(α_i, A − α_i).

Sampled moments are compared with these within 5 Monte Carlo standard errors (fixed seeds, so the tests are
deterministic), and whole distributions with a Kolmogorov–Smirnov test against scipy.stats built from the
reference parameters.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from atmp_hta.benefit_risk import evaluate
from atmp_hta.exceptions import ParameterError
from atmp_hta.params import json_schema, load_parameters, sample, to_yaml, with_mean

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ["axicabtagene_ciloleucel.yaml", "elivaldogene_autotemcel.yaml", "etranacogene_dezaparvovec.yaml"]
N_MC = 200_000


def example(name: str) -> Path:
    return ROOT / "parameters" / name


@pytest.fixture(scope="module")
def examples():
    return {name: load_parameters(example(name)) for name in EXAMPLES}


# --------------------------------------------------------------------------------- reference formulas
def beta_from_moments(m, s):
    common = m * (1 - m) / s**2 - 1
    return m * common, (1 - m) * common


def gamma_from_moments(m, s):
    return m**2 / s**2, s**2 / m  # shape, scale


def lognormal_from_moments(m, s):
    sdlog2 = math.log(1 + s**2 / m**2)
    return math.log(m) - sdlog2 / 2, math.sqrt(sdlog2)  # meanlog, sdlog


def events_rate_moments(k, T, h):
    a = k + 0.5
    mean = 1 - (1 + h / T) ** (-a)
    second = 1 - 2 * (1 + h / T) ** (-a) + (1 + 2 * h / T) ** (-a)
    return mean, math.sqrt(second - mean**2)


def reference_mean(raw: dict):
    """Point value of a raw (YAML) parameter, from the formulas above; a dict for a Dirichlet."""
    if "value" in raw:
        return raw["value"]
    if "dirichlet" in raw:
        total = sum(raw["dirichlet"].values())
        return {k: a / total for k, a in raw["dirichlet"].items()}
    (key, spec), = ((k, v) for k, v in raw.items() if k in
                    ("beta", "gamma", "lognormal", "normal", "uniform", "triangular", "events"))
    if "mean" in spec:
        return spec["mean"]
    if key == "beta":
        return spec["alpha"] / (spec["alpha"] + spec["beta"])
    if key == "gamma":
        return spec["shape"] * spec["scale"] if "scale" in spec else spec["shape"] / spec["rate"]
    if key == "lognormal":
        return math.exp(spec["meanlog"] + spec["sdlog"] ** 2 / 2)
    if key == "uniform":
        return (spec["low"] + spec["high"]) / 2
    if key == "triangular":
        return (spec["low"] + spec["mode"] + spec["high"]) / 3
    if key == "events":
        k = spec["events"]
        if "patients" in spec:
            return (k + 0.5) / (spec["patients"] + 1)
        return events_rate_moments(k, spec["patient_years"], spec["horizon_years"])[0]
    raise AssertionError(f"no reference for {raw}")


# ------------------------------------------------------------------------------- the example files
@pytest.mark.parametrize("name", EXAMPLES)
def test_example_loads(name):
    ps = load_parameters(example(name))
    assert set(ps.strategies) >= {"treatment", "comparator"}
    assert ps.parameters and ps.harms
    assert ps.file_sha256 is not None and len(ps.file_sha256) == 64


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_parameter_cites_a_source_or_is_a_declared_assumption(name, examples):
    ps = examples[name]
    for pname, p in ps.parameters.items():
        cited = p.source is not None and p.source in ps.sources
        declared = p.assumption and bool(p.note and p.note.strip())
        assert cited or declared, f"{name}: {pname!r} cites no key of `sources` and is no noted assumption"


@pytest.mark.parametrize("name", EXAMPLES)
def test_one_draw_is_the_distribution_means(name, examples):
    raw = yaml.safe_load(example(name).read_text(encoding="utf-8"))["parameters"]
    draws = sample(examples[name], 1)
    expected = {}
    for pname, spec in raw.items():
        mean = reference_mean(spec)
        if isinstance(mean, dict):
            expected.update({f"{pname}.{c}": m for c, m in mean.items()})
        else:
            expected[pname] = mean
    assert set(draws) == set(expected)
    for key, value in expected.items():
        assert draws[key].shape == (1,)
        assert draws[key][0] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_one_draw_does_not_consume_the_generator(examples):
    rng = np.random.default_rng(11)
    before = rng.bit_generator.state
    sample(examples[EXAMPLES[0]], 1, rng=rng)
    assert rng.bit_generator.state == before


# ---------------------------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("name", EXAMPLES)
def test_same_seed_same_bits(name, examples):
    ps = examples[name]
    a, b = sample(ps, 5_000, rng=20240601), sample(ps, 5_000, rng=20240601)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].shape == (5_000,) and a[key].dtype == np.float64
        assert a[key].tobytes() == b[key].tobytes(), key
    # a Generator seeded the same way is the same stream (rng is normalised with default_rng)
    c = sample(ps, 5_000, rng=np.random.default_rng(20240601))
    assert all(a[k].tobytes() == c[k].tobytes() for k in a)
    # another seed gives other draws for every uncertain parameter
    d = sample(ps, 5_000, rng=20240602)
    for key in a:
        if ps.parameters[key.split(".")[0]].is_uncertain:
            assert not np.array_equal(a[key], d[key]), key


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_subset_gives_the_same_columns(name, examples):
    ps = examples[name]
    full = sample(ps, 3_000, rng=5)
    names = sorted(ps.parameters)[::2]
    part = sample(ps, 3_000, rng=5, names=names)
    assert {k.split(".")[0] for k in part} == set(names)
    for key in part:
        assert part[key].tobytes() == full[key].tobytes(), key


# ---------------------------------------------------------------------------- sampled distributions
BASE = """\
schema_version: 1
product: {name: Test product, kind: other, indication: test, comparator: none}
parameters:
{parameters}
population: {general_population_qalys: 10.0}
strategies:
  treatment:
    label: T
    branches: [{name: all, probability: 1, segments: [{utility: 0.8, years: 5}]}]
  comparator:
    label: C
    branches: [{name: all, probability: 1, segments: [{utility: 0.6, years: 5}]}]
"""

# name: (kind, specification as written, scipy reference distribution from the formulas, mean, sd)
_A, _B = beta_from_moments(0.8, 0.03)
_SHAPE, _SCALE = gamma_from_moments(20.0, 3.0)
_MEANLOG, _SDLOG = lognormal_from_moments(5.0, 2.0)
_RATE_MEAN, _RATE_SD = events_rate_moments(2, 160.0, 20.0)
_RATE0_MEAN, _RATE0_SD = events_rate_moments(0, 160.0, 20.0)


class _EventsRate:
    """Distribution of P = 1 − exp(−λh), λ ~ Gamma(k + 1/2, rate T): P(P ≤ p) = F_λ(−ln(1 − p)/h)."""

    def __init__(self, k, T, h):
        self.lam, self.h = stats.gamma(k + 0.5, scale=1.0 / T), h

    def cdf(self, p):
        return self.lam.cdf(-np.log1p(-np.asarray(p)) / self.h)


DISTRIBUTION_CASES = {
    "beta_moments": ("probability", "beta: {mean: 0.8, sd: 0.03}", stats.beta(_A, _B), 0.8, 0.03),
    "beta_natural": ("probability", "beta: {alpha: 105, beta: 418}", stats.beta(105, 418), 105 / 523,
                     math.sqrt(105 * 418 / (523**2 * 524))),
    "gamma_moments": ("duration", "gamma: {mean: 20.0, sd: 3.0}", stats.gamma(_SHAPE, scale=_SCALE),
                      20.0, 3.0),
    "gamma_rate": ("rate", "gamma: {shape: 4, rate: 2}", stats.gamma(4, scale=0.5), 2.0, 1.0),
    "lognormal_moments": ("cost", "lognormal: {mean: 5.0, sd: 2.0}",
                          stats.lognorm(s=_SDLOG, scale=math.exp(_MEANLOG)), 5.0, 2.0),
    "lognormal_natural": ("cost", "lognormal: {meanlog: 0.5, sdlog: 0.3}",
                          stats.lognorm(s=0.3, scale=math.exp(0.5)),
                          math.exp(0.5 + 0.045), math.sqrt(math.expm1(0.09) * math.exp(1.0 + 0.09))),
    "events_patients": ("probability", "events: {events: 13, patients: 101}", stats.beta(13.5, 88.5),
                        13.5 / 102, math.sqrt(13.5 * 88.5 / (102**2 * 103))),
    "events_rate": ("probability", "events: {events: 2, patient_years: 160, horizon_years: 20}",
                    _EventsRate(2, 160.0, 20.0), _RATE_MEAN, _RATE_SD),
    "events_rate_zero": ("probability", "events: {events: 0, patient_years: 160, horizon_years: 20}",
                         _EventsRate(0, 160.0, 20.0), _RATE0_MEAN, _RATE0_SD),
    "uniform": ("duration", "uniform: {low: 1.2, high: 7.7}", stats.uniform(1.2, 6.5),
                4.45, 6.5 / math.sqrt(12)),
    "triangular": ("duration", "triangular: {low: 0, mode: 1, high: 4}", stats.triang(0.25, loc=0, scale=4),
                   5 / 3, math.sqrt((0 + 16 + 1 - 0 - 0 - 4) / 18)),
    "normal": ("real", "normal: {mean: -1.0, sd: 2.0}", stats.norm(-1.0, 2.0), -1.0, 2.0),
}
DIRICHLET = {"durable": 42.0, "transient": 48.0, "none": 18.0}


def _parameters_yaml():
    lines = [f"  {name}: {{kind: {kind}, {spec}}}" for name, (kind, spec, *_) in DISTRIBUTION_CASES.items()]
    lines.append("  response: {kind: probability, dirichlet: {durable: 42, transient: 48, none: 18}}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def dist_set(tmp_path_factory):
    path = tmp_path_factory.mktemp("dists") / "distributions.yaml"
    path.write_text(BASE.replace("{parameters}", _parameters_yaml()), encoding="utf-8")
    return load_parameters(path)


def _moments_within_mc_error(x, mean, sd):
    n = x.size
    assert abs(x.mean() - mean) < 5 * sd / math.sqrt(n), (x.mean(), mean)
    centred = x - x.mean()
    var = centred.var()
    se_var = math.sqrt((np.mean(centred**4) - var**2) / n)
    assert abs(var - sd**2) < 5 * se_var, (math.sqrt(var), sd)


def test_method_of_moments_parameters(dist_set):
    p = dist_set.parameters
    assert (p["beta_moments"].beta.alpha, p["beta_moments"].beta.beta) == pytest.approx((_A, _B), rel=1e-12)
    gamma, lognormal = p["gamma_moments"].gamma, p["lognormal_moments"].lognormal
    assert (gamma.shape, gamma.scale) == pytest.approx((_SHAPE, _SCALE), rel=1e-12)
    assert (lognormal.meanlog, lognormal.sdlog) == pytest.approx((_MEANLOG, _SDLOG), rel=1e-12)


@pytest.mark.parametrize("name", list(DISTRIBUTION_CASES))
def test_sampled_distribution_matches_the_specification(name, dist_set):
    _kind, _spec, reference, mean, sd = DISTRIBUTION_CASES[name]
    x = sample(dist_set, N_MC, rng=2024, names=[name])[name]
    assert x.shape == (N_MC,)
    # the point value (one draw) is the mean
    assert sample(dist_set, 1, names=[name])[name][0] == pytest.approx(mean, rel=1e-12)
    _moments_within_mc_error(x, mean, sd)
    assert stats.kstest(x, reference.cdf).pvalue > 1e-4


def test_dirichlet_components(dist_set):
    draws = sample(dist_set, N_MC, rng=99, names=["response"])
    total = sum(DIRICHLET.values())
    assert set(draws) == {f"response.{c}" for c in DIRICHLET}
    np.testing.assert_allclose(sum(draws.values()), 1.0, rtol=0, atol=1e-12)
    for comp, alpha in DIRICHLET.items():
        x = draws[f"response.{comp}"]
        mean = alpha / total
        sd = math.sqrt(alpha * (total - alpha) / (total**2 * (total + 1)))
        _moments_within_mc_error(x, mean, sd)
        assert stats.kstest(x, stats.beta(alpha, total - alpha).cdf).pvalue > 1e-4


# -------------------------------------------------------------------------------------- with_mean
def _mc_mean(ps, name, n=100_000, seed=3):
    return sample(ps, n, rng=seed, names=[name.split(".")[0]])[name].mean()


def test_with_mean_beta_keeps_total(examples):
    ps = examples["axicabtagene_ciloleucel.yaml"]
    a0, b0 = beta_from_moments(0.80, 0.03)  # u_remission: beta {mean: 0.80, sd: 0.03}
    moved = with_mean(ps, "u_remission", 0.7)
    spec = moved.parameters["u_remission"].beta
    assert spec.alpha + spec.beta == pytest.approx(a0 + b0, rel=1e-12)
    assert spec.alpha / (spec.alpha + spec.beta) == pytest.approx(0.7, rel=1e-12)
    assert sample(moved, 1)["u_remission"][0] == pytest.approx(0.7, rel=1e-12)
    sd = math.sqrt(0.7 * 0.3 / (a0 + b0 + 1))
    assert abs(_mc_mean(moved, "u_remission") - 0.7) < 5 * sd / math.sqrt(100_000)
    # the original is unchanged, other parameters are untouched, and the moved set has no file hash
    assert ps.parameters["u_remission"].beta.alpha == pytest.approx(a0)
    assert all(moved.parameters[k] == p for k, p in ps.parameters.items() if k != "u_remission")
    assert moved.file_sha256 is None and ps.file_sha256 is not None


def test_with_mean_gamma_keeps_cv(examples):
    ps = examples["axicabtagene_ciloleucel.yaml"]  # le_remission: gamma {mean: 20, sd: 3}, CV 0.15
    moved = with_mean(ps, "le_remission", 26.0)
    g = moved.parameters["le_remission"].gamma
    assert g.shape * g.scale == pytest.approx(26.0, rel=1e-12)
    assert 1 / math.sqrt(g.shape) == pytest.approx(3.0 / 20.0, rel=1e-12)  # CV of a gamma is 1/sqrt(shape)
    x = sample(moved, N_MC, rng=8, names=["le_remission"])["le_remission"]
    _moments_within_mc_error(x, 26.0, 26.0 * 0.15)


def test_with_mean_lognormal_keeps_sdlog(dist_set):
    moved = with_mean(dist_set, "lognormal_moments", 8.0)
    ln = moved.parameters["lognormal_moments"].lognormal
    assert ln.sdlog == pytest.approx(_SDLOG, rel=1e-12)
    assert math.exp(ln.meanlog + ln.sdlog**2 / 2) == pytest.approx(8.0, rel=1e-12)
    x = sample(moved, N_MC, rng=4, names=["lognormal_moments"])["lognormal_moments"]
    _moments_within_mc_error(x, 8.0, 8.0 * 2.0 / 5.0)  # same CV as mean 5, sd 2


def test_with_mean_events_in_patients_keeps_the_evidence(examples):
    ps = examples["axicabtagene_ciloleucel.yaml"]  # p_crs: 13 events in 101 patients -> Beta(13.5, 88.5)
    moved = with_mean(ps, "p_crs", 0.2)
    spec = moved.parameters["p_crs"].spec
    assert spec.alpha + spec.beta == pytest.approx(102.0, rel=1e-12)
    assert spec.alpha / (spec.alpha + spec.beta) == pytest.approx(0.2, rel=1e-12)
    assert abs(_mc_mean(moved, "p_crs") - 0.2) < 5 * math.sqrt(0.2 * 0.8 / 103) / math.sqrt(100_000)


def test_with_mean_events_in_patient_years_keeps_the_count(examples):
    ps = examples["etranacogene_dezaparvovec.yaml"]  # 0 events in 160 patient-years, horizon 20 years
    moved = with_mean(ps, "p_integration_cancer", 0.1)
    ev = moved.parameters["p_integration_cancer"].events
    assert ev.events == 0 and ev.horizon_years == 20
    mean, sd = events_rate_moments(ev.events, ev.patient_years, ev.horizon_years)
    assert mean == pytest.approx(0.1, rel=1e-10)
    # 1 - (1 + 20/T)^(-1/2) = 0.1  <=>  T = 20 / (0.9^-2 - 1)
    assert ev.patient_years == pytest.approx(20 / (0.9**-2 - 1), rel=1e-10)
    assert abs(_mc_mean(moved, "p_integration_cancer") - 0.1) < 5 * sd / math.sqrt(100_000)


def test_with_mean_dirichlet_component(examples):
    ps = examples["axicabtagene_ciloleucel.yaml"]  # response: {durable: 42, transient: 48, none: 18}
    moved = with_mean(ps, "response.durable", 0.5)
    alphas = moved.parameters["response"].dirichlet
    assert sum(alphas.values()) == pytest.approx(108.0, rel=1e-12)
    assert alphas["durable"] == pytest.approx(54.0, rel=1e-12)
    assert alphas["transient"] == pytest.approx(54.0 * 48 / 66, rel=1e-12)
    assert alphas["none"] == pytest.approx(54.0 * 18 / 66, rel=1e-12)
    assert sample(moved, 1)["response.durable"][0] == pytest.approx(0.5, rel=1e-12)


def test_with_mean_shifts_a_uniform(examples):
    ps = examples["elivaldogene_autotemcel.yaml"]  # onset_oncogenesis: uniform {low: 1.2, high: 7.7}
    moved = with_mean(ps, "onset_oncogenesis", 5.45)
    u = moved.parameters["onset_oncogenesis"].uniform
    assert (u.low, u.high) == pytest.approx((2.2, 8.7), rel=1e-12)


def test_with_mean_at_the_edge_fixes_the_value(examples):
    ps = examples["axicabtagene_ciloleucel.yaml"]
    moved = with_mean(ps, "p_crs", 0.0)
    assert moved.parameters["p_crs"].value == 0.0
    assert not moved.parameters["p_crs"].is_uncertain
    assert np.all(sample(moved, 1_000, rng=1, names=["p_crs"])["p_crs"] == 0.0)


@pytest.mark.parametrize("name, value", [("u_remission", 1.5), ("p_crs", -0.1),
                                         ("le_remission", float("nan")), ("no_such_parameter", 0.5),
                                         ("response.cured", 0.5)])
def test_with_mean_rejects_bad_input(name, value, examples):
    with pytest.raises(ParameterError):
        with_mean(examples["axicabtagene_ciloleucel.yaml"], name, value)


# ----------------------------------------------------------------------------------------- to_yaml
@pytest.mark.parametrize("name", EXAMPLES)
def test_to_yaml_round_trips(name, examples, tmp_path):
    ps = examples[name]
    path = tmp_path / "roundtrip.yaml"
    path.write_text(to_yaml(ps), encoding="utf-8")
    back = load_parameters(path)
    assert back.sha256 == ps.sha256
    assert evaluate(back, rng=1).net_value == evaluate(ps, rng=1).net_value
    assert evaluate(back, 2_000, rng=3).net_value == evaluate(ps, 2_000, rng=3).net_value


def test_to_yaml_round_trips_every_distribution_form(dist_set, tmp_path):
    path = tmp_path / "roundtrip.yaml"
    path.write_text(to_yaml(dist_set), encoding="utf-8")
    back = load_parameters(path)
    a, b = sample(dist_set, 2_000, rng=12), sample(back, 2_000, rng=12)
    assert a.keys() == b.keys()
    assert all(a[k].tobytes() == b[k].tobytes() for k in a)


def test_to_yaml_of_a_moved_set(examples, tmp_path):
    ps = examples["axicabtagene_ciloleucel.yaml"]
    moved = with_mean(with_mean(ps, "u_remission", 0.75), "response.durable", 0.45)
    path = tmp_path / "moved.yaml"
    path.write_text(to_yaml(moved), encoding="utf-8")
    back = load_parameters(path)
    assert evaluate(back, rng=1).net_value == pytest.approx(evaluate(moved, rng=1).net_value, rel=1e-12)
    assert evaluate(back, rng=1).net_value != pytest.approx(evaluate(ps, rng=1).net_value, rel=1e-6)


# ------------------------------------------------------------------------------------- JSON Schema
def test_json_schema_validates_the_examples():
    schema = json_schema()
    try:
        import jsonschema
    except ImportError:  # structural check only
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert {"product", "population", "strategies"} <= set(schema["required"])
        for name in EXAMPLES:
            data = yaml.safe_load(example(name).read_text(encoding="utf-8"))
            assert set(data) <= set(schema["properties"])
        return
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for name in EXAMPLES:
        data = yaml.safe_load(example(name).read_text(encoding="utf-8"))
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], f"{name}: {errors}"
    # and it is not vacuous: it rejects what the loader rejects
    bad = yaml.safe_load(example(EXAMPLES[0]).read_text(encoding="utf-8"))
    bad["extra_key"] = 1
    bad["settings"]["discount_rate"] = 1.5
    bad["parameters"]["p_crs"]["kind"] = "probabilty"
    del bad["product"]
    paths = {"/".join(map(str, e.absolute_path)) for e in validator.iter_errors(bad)}
    assert {"", "settings/discount_rate", "parameters/p_crs/kind"} <= paths


def test_schema_documents_the_mean_sd_limitation():
    # ce_method selects the certainty equivalent; the schema (what editors show) warns about mean-sd
    description = json_schema()["$defs"]["Settings"]["properties"]["ce_method"]["description"]
    assert "mean-sd" in description and "first-order stochastic dominance" in description
    assert "floored at 0" in description

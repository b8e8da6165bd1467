"""Malformed parameter files: each must raise ParameterError naming the offending field.

Every case starts from ``VALID`` (a trimmed copy of ``parameters/axicabtagene_ciloleucel.yaml``) and breaks
one thing by replacing one exact snippet of its text (or, for the file-level cases, replaces the whole
file). The test then checks that :func:`atmp_hta.params.load_parameters` raises
:class:`atmp_hta.exceptions.ParameterError` whose message (one line) names the field path and, where
relevant, the allowed range and the value received; and that ``error.field`` is that path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from atmp_hta.exceptions import ParameterError
from atmp_hta.params import load_parameters

VALID = """\
schema_version: 1
product:
  name: Axicabtagene ciloleucel (trimmed test copy)
  kind: car-t
  indication: Relapsed or refractory large B-cell lymphoma
  comparator: Salvage chemotherapy
sources:
  zuma1: "Neelapu SS et al. N Engl J Med 2017;377:2531-44"
  scholar1: "Crump M et al. Blood 2017;130:1800-08"
settings:
  discount_rate: 0.035
  timing: end
  severity_scheme: nice-2022
  unmet_need_scheme: linear
  max_uplift: 0.1
  risk_aversion: 0.5
  ce_method: cara
  penalty_draws: 20000
parameters:
  response:
    kind: probability
    dirichlet: {durable: 42, transient: 48, none: 18}
    source: zuma1
  p_longterm:
    kind: probability
    beta: {alpha: 105, beta: 418}
    source: scholar1
  u_remission:
    kind: utility
    beta: {mean: 0.80, sd: 0.03}
    source: zuma1
  u_progression:
    kind: utility
    value: 0.6
    assumption: true
    note: "order of magnitude of published values"
  le_remission:
    kind: duration
    gamma: {mean: 20.0, sd: 3.0}
    source: scholar1
  dur_transient:
    kind: duration
    value: 0.75
    source: zuma1
  p_crs:
    kind: probability
    events: {events: 13, patients: 101}
    source: zuma1
  gp_qalys:
    kind: qalys
    value: 13.0
    source: scholar1
  unmet_need:
    kind: fraction
    value: 0.8
    source: scholar1
population:
  general_population_qalys: gp_qalys
  unmet_need: unmet_need
strategies:
  treatment:
    label: Axicabtagene ciloleucel
    branches:
      - name: durable remission
        probability: response.durable
        segments:
          - {utility: u_remission, years: le_remission}
      - name: transient response
        probability: response.transient
        segments:
          - {utility: u_remission, years: dur_transient}
          - {utility: u_progression, years: 0.4, start: dur_transient}
      - name: no response
        probability: response.none
        segments:
          - {utility: u_progression, years: 0.5}
  comparator:
    label: Salvage chemotherapy
    branches:
      - name: long-term survival
        probability: p_longterm
        segments:
          - {utility: u_remission, years: le_remission}
      - name: refractory
        probability: complement
        segments:
          - {utility: u_progression, years: 0.525}
harms:
  - name: Grade >=3 CRS
    probability: p_crs
    utility_decrement: 0.4
    duration_years: 0.04
  - name: Late malignancy
    probability: 0.001
    onset_years: 1.0
    utility_decrement: 0.5
    duration_years: 3.0
"""

COMPARATOR_BLOCK = VALID[VALID.index("  comparator:\n    label:"):VALID.index("harms:")]
PRODUCT_BLOCK = VALID[VALID.index("product:"):VALID.index("sources:")]
NOTE_LINE = VALID[: VALID.index("published values")].count("\n") + 1  # 1-based line of the latin-1 byte


@dataclass(frozen=True)
class Case:
    id: str
    edits: tuple | bytes | str  # (old, new) pairs applied to VALID, or the whole file
    field: str | None  # expected ParameterError.field (None: a whole-file problem)
    expect: tuple  # substrings the message must contain (besides the field path)


def case(id, edits, field, *expect):
    return pytest.param(Case(id, edits, field, expect), id=id)


CASES = [
    # --- wrong types
    case("value-not-a-number", (("value: 13.0", "value: thirteen"),),
         "parameters.gp_qalys.value", "number", "'thirteen'"),
    case("kind-misspelt", (("    kind: probability\n    events", "    kind: probabilty\n    events"),),
         "parameters.p_crs.kind", "'probability'", "'probabilty'"),
    case("penalty-draws-not-integer", (("penalty_draws: 20000", "penalty_draws: many"),),
         "settings.penalty_draws", "integer", "'many'"),
    case("product-name-a-list", (("name: Axicabtagene ciloleucel (trimmed test copy)", "name: [a, b]"),),
         "product.name", "string"),
    case("harm-probability-boolean", (("probability: p_crs", "probability: true"),),
         "harms[0].probability", "True"),
    case("schema-version-2", (("schema_version: 1", "schema_version: 2"),),
         "schema_version", "1", "2"),
    # --- probabilities outside [0, 1]
    case("fraction-value-above-1", (("value: 0.8", "value: 1.5"),),
         "parameters.unmet_need.value", "[0, 1]", "1.5"),
    case("branch-probability-above-1", (("probability: p_longterm", "probability: 1.2"),),
         "strategies.comparator.branches[0].probability", "[0, 1]", "1.2"),
    case("harm-probability-negative", (("probability: 0.001", "probability: -0.01"),),
         "harms[1].probability", "[0, 1]", "-0.01"),
    case("dirichlet-count-negative", (("none: 18}", "none: -18}"),),
         "parameters.response.dirichlet.none", "greater than 0", "-18"),
    # --- chance nodes
    case("branches-not-summing-to-1",
         (("probability: p_longterm", "probability: 0.3"), ("probability: complement", "probability: 0.5")),
         "strategies.comparator.branches", "sum to 1", "0.3", "0.5", "0.8"),
    case("two-complement-branches", (("probability: p_longterm", "probability: complement"),),
         "strategies.comparator.branches[1].probability", "complement", "branches[0]"),
    case("complement-siblings-above-1",
         (("probability: response.durable", "probability: 0.7"),
          ("probability: response.transient", "probability: 0.6"),
          ("probability: response.none", "probability: complement")),
         "strategies.treatment.branches[2].probability", "0.7", "0.6", "1.3"),
    case("duplicate-branch-names", (("name: refractory", "name: long-term survival"),),
         "strategies.comparator.branches", "unique", "long-term survival"),
    # --- unknown keys
    case("unknown-key-top-level", (("schema_version: 1\n", "schema_version: 1\nstrategy_notes: x\n"),),
         "strategy_notes", "unknown key"),
    case("unknown-key-in-parameter",
         (("source: zuma1\n  gp_qalys", "source: zuma1\n    sorce: x\n  gp_qalys"),),
         "parameters.p_crs.sorce", "unknown key"),
    case("unknown-key-in-branch",
         (("      - name: transient response\n", "      - name: transient response\n        prob: 0.1\n"),),
         "strategies.treatment.branches[1].prob", "unknown key"),
    case("unknown-key-in-settings", (("timing: end", "timing: end\n  discount: 0.03"),),
         "settings.discount", "unknown key"),
    case("unknown-key-in-distribution", (("sd: 0.03}", "sd: 0.03, mode: 0.8}"),),
         "parameters.u_remission.beta.mode", "unknown key"),
    # --- negative durations
    case("negative-duration-value", (("value: 0.75", "value: -0.75"),),
         "parameters.dur_transient.value", "[0, inf]", "-0.75"),
    case("negative-segment-years", (("years: 0.5}", "years: -0.5}"),),
         "strategies.treatment.branches[2].segments[0].years", "[0, inf]", "-0.5"),
    case("negative-segment-start", (("start: dur_transient}", "start: -1}"),),
         "strategies.treatment.branches[1].segments[1].start", "[0, inf]", "-1"),
    # --- missing fields
    case("missing-product", ((PRODUCT_BLOCK, ""),), "product", "missing"),
    case("missing-comparator-strategy", ((COMPARATOR_BLOCK, ""),), "strategies.comparator", "missing"),
    case("missing-harm-probability", (("    probability: p_crs\n", ""),), "harms[0].probability", "missing"),
    case("missing-population",
         (("population:\n  general_population_qalys: gp_qalys\n  unmet_need: unmet_need\n", ""),),
         "population", "missing"),
    # --- the file as a whole
    case("empty-file", "", None, "empty"),
    case("only-comments", "# nothing here yet\n", None, "empty"),
    case("yaml-syntax-error", VALID.replace("timing: end", "timing: [end"), None, "not valid YAML", "line"),
    case("top-level-list", "- product\n- strategies\n", None, "mapping", "list"),
    case("non-utf8-bytes", VALID.replace("published values", "publi\xe9es").encode("latin-1"), None,
         "UTF-8", "0xe9", f"line {NOTE_LINE}"),
    # --- distributions
    case("beta-sd-too-large", (("sd: 0.03}", "sd: 0.5}"),),
         "parameters.u_remission.beta", "'sd'", "0.4", "0.5"),
    case("gamma-moments-and-shape", (("{mean: 20.0, sd: 3.0}", "{mean: 20.0, sd: 3.0, shape: 44}"),),
         "parameters.le_remission.gamma", "'shape'", "'mean'", "'sd'"),
    case("normal-for-probability", (("beta: {alpha: 105, beta: 418}", "normal: {mean: 0.2, sd: 0.02}"),),
         "parameters.p_longterm.normal", "[-inf, inf]", "probability [0, 1]"),
    case("uniform-low-above-high", (("value: 0.75", "uniform: {low: 2, high: 1}"),),
         "parameters.dur_transient.uniform", "low=2", "high=1"),
    case("dirichlet-for-utility", (("value: 0.6", "dirichlet: {a: 1, b: 2}"),),
         "parameters.u_progression.dirichlet", "'probability'", "'utility'"),
    case("events-above-patients", (("events: 13, patients: 101", "events: 130, patients: 101"),),
         "parameters.p_crs.events", "101", "130"),
    case("value-and-distribution", (("value: 0.75", "value: 0.75\n    gamma: {shape: 2, rate: 1}"),),
         "parameters.dur_transient", "exactly one", "'value'", "'gamma'"),
    # --- expressions and references
    case("unknown-parameter-reference", (("years: le_remission}\n      - name: transient",
                                          "years: le_remision}\n      - name: transient"),),
         "strategies.treatment.branches[0].segments[0].years", "'le_remision'", "'le_remission'"),
    case("expression-import", (("duration_years: 0.04", "duration_years: \"__import__('os')\""),),
         "harms[0].duration_years", "__import__", "not allowed"),
    case("expression-attribute-chain",
         (("probability: response.durable", "probability: response.durable.real"),),
         "strategies.treatment.branches[0].probability", "response.durable.real", "p.component"),
    case("expression-lambda", (("duration_years: 0.04", "duration_years: 'lambda: 0.04'"),),
         "harms[0].duration_years", "lambda", "not allowed"),
    case("utility-used-as-probability", (("probability: p_crs", "probability: u_remission"),),
         "harms[0].probability", "'u_remission'", "utility", "probability"),
    case("source-not-in-sources", (("source: scholar1\n  u_remission", "source: scholar2\n  u_remission"),),
         "parameters.p_longterm.source", "'scholar2'", "sources"),
    # --- settings
    case("quantile-risk-aversion-2",
         (("risk_aversion: 0.5\n  ce_method: cara", "risk_aversion: 2\n  ce_method: quantile"),),
         "settings.risk_aversion", "(0, 0.5]", "2"),
    case("discount-rate-1.5", (("discount_rate: 0.035", "discount_rate: 1.5"),),
         "settings.discount_rate", "[0, 1)", "1.5"),
    case("timing-unknown", (("timing: end", "timing: middle"),),
         "settings.timing", "'start'", "'middle'"),
]


def _content(c: Case) -> bytes:
    if isinstance(c.edits, bytes):
        return c.edits
    if isinstance(c.edits, str):
        return c.edits.encode("utf-8")
    text = VALID
    for old, new in c.edits:
        assert text.count(old) == 1, f"case {c.id}: snippet {old!r} must occur exactly once in VALID"
        text = text.replace(old, new)
    return text.encode("utf-8")


def test_the_valid_copy_loads(tmp_path):
    path = tmp_path / "valid.yaml"
    path.write_text(VALID, encoding="utf-8")
    ps = load_parameters(path)
    assert set(ps.strategies) == {"treatment", "comparator"}
    assert len(ps.parameters) == 9 and len(ps.harms) == 2


def test_at_least_25_cases():
    assert len(CASES) >= 25
    assert len({p.id for p in CASES}) == len(CASES)


@pytest.mark.parametrize("c", CASES)
def test_malformed_file_names_the_field(c: Case, tmp_path):
    path = tmp_path / f"{c.id}.yaml"
    path.write_bytes(_content(c))
    with pytest.raises(ParameterError) as info:
        load_parameters(path)
    message = str(info.value)
    assert "\n" not in message, "the CLI prints errors as one line"
    assert message.startswith(path.name) or message.startswith(str(path)), message
    if c.field is None:
        assert str(path.name) in message
    else:
        assert info.value.field == c.field, message
        # the path is printed as "<field>: <problem>", so it is not merely a prefix of a longer path
        assert f"{c.field}: " in message, message
    for fragment in c.expect:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_missing_file_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="no such file"):
        load_parameters(tmp_path / "absent.yaml")


def test_a_directory_is_named_as_a_directory(tmp_path):
    folder = tmp_path / "parameters"
    folder.mkdir()
    with pytest.raises(ParameterError) as info:
        load_parameters(folder)
    message = str(info.value)
    assert message.startswith(str(folder)) and "is a directory" in message, message
    assert "no such file" not in message and info.value.field == "path"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_a_special_file_is_not_reported_missing(tmp_path):
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    with pytest.raises(ParameterError, match="not a regular file"):
        load_parameters(pipe)


def test_several_problems_are_all_reported(tmp_path):
    text = VALID.replace("discount_rate: 0.035", "discount_rate: 1.5").replace("value: 0.8", "value: 1.5")
    path = tmp_path / "two.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError) as info:
        load_parameters(path)
    message = str(info.value)
    assert "settings.discount_rate: " in message and "parameters.unmet_need.value: " in message

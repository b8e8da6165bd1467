"""Mitigation, study plan export, cited defaults and charts of the shedding planner."""

import math

import pandas as pd
import pytest
import yaml

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners import shedding_charts as charts
from atmp_hta.planners.shedding import (
    Assay,
    StudyDesign,
    clearance_km,
    clearance_times,
    compare_schedules,
    fit_decay,
    kinetics_clearance_quantile,
    load_shedding_defaults,
    mitigation_table,
    recommend_precaution_period,
    study_plan,
)
from atmp_hta.planners.shedding.defaults import DEFAULT_PATH


@pytest.fixture(scope="module")
def defaults():
    return load_shedding_defaults()


def test_precaution_period_by_hand():
    rec = recommend_precaution_period(118.3, margin_days=30, percentile=0.95)
    assert rec.period_days == 154.0                      # 148.3 -> 22 weeks
    assert recommend_precaution_period(140.0, margin_days=14, round_up_to_days=1).period_days == 154.0
    assert recommend_precaution_period(140.0, margin_days=0).period_days == 140.0   # exact weeks stay
    inf = recommend_precaution_period(math.inf)
    assert inf.period_days == math.inf and "extend follow-up" in inf.period_text
    with pytest.raises(ValueError, match="'margin_days'"):
        recommend_precaution_period(100.0, margin_days=-1)



@pytest.mark.parametrize("call, message", [
    (lambda: recommend_precaution_period("120 days"),
     "The 'upper_clearance_days' parameter of recommend_precaution_period must be a number of days >= 0 "
     "(inf if not reached). Got '120 days'."),
    (lambda: recommend_precaution_period(120.0, margin_days=None),
     "The 'margin_days' parameter of recommend_precaution_period must be a number of days >= 0. Got None."),
    (lambda: recommend_precaution_period(120.0, percentile="95%"),
     "The 'percentile' parameter of recommend_precaution_period must be in (0, 1). Got '95%'."),
])
def test_values_that_are_not_numbers_get_the_standard_message(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message


def test_semen_recommendation_from_defaults_next_to_labels(defaults):
    k = defaults.kinetics()["semen"]
    p95 = kinetics_clearance_quantile(k, defaults.default_assay(), 0.95, n=50_000, rng=1)
    rec = recommend_precaution_period(p95, margin_days=defaults.design.margin_days.value, basis="defaults")
    tab = mitigation_table(rec, defaults.labels_frame())
    assert tab.kind.tolist()[0] == "recommended"
    assert set(tab.loc[tab.kind == "label", "product"]) == {"Roctavian", "Hemgenix"}   # semen labels only
    # sanity reference: with the default assumptions the period is of the order of the label periods
    assert 60 < rec.period_days <= 365
    assert len(mitigation_table(rec, defaults.labels_frame(), matrix="all")) == 1 + len(defaults.labels)


def test_recommendation_from_observed_clearance_km():
    tab = clearance_times(["a"] * 4 + ["b"] * 4 + ["c"] * 4, [0, 30, 60, 90] * 3,
                          [1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0])
    km = clearance_km(tab, time_column="first_negative_time")
    assert km.quantile(0.3) == 30.0
    rec = recommend_precaution_period(km.quantile(0.3), margin_days=10, percentile=0.3)
    assert rec.period_days == 42.0


def test_defaults_every_value_cited(defaults):
    prov = defaults.provenance()
    assert prov.source.isin(list(defaults.sources) + ["assumption"]).all()
    assert len(prov) > 60 and prov.is_assumption.any() and (~prov.is_assumption).any()
    d = defaults.study_design()
    assert d.consecutive == 3 and d.matrices == ["blood", "saliva", "semen", "stool", "urine"]
    assert set(defaults.schedules()) == {"intensive", "weekly_then_monthly", "sparse"}
    labels = defaults.labels_frame()
    assert labels.set_index("product").loc["Roctavian", "period_days"] == 183


def test_defaults_reject_uncited_values(tmp_path):
    raw = yaml.safe_load(DEFAULT_PATH.read_text())
    raw["matrices"]["semen"]["peak_log10"]["source"] = "my_memory"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ParameterError, match="matrices.semen.peak_log10.source"):
        load_shedding_defaults(bad)
    raw = yaml.safe_load(DEFAULT_PATH.read_text())
    raw["matrices"]["semen"]["peak_log10"] = 6.0                   # a bare number has no source
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ParameterError, match="matrices.semen.peak_log10"):
        load_shedding_defaults(bad)
    with pytest.raises(ParameterError, match="'path'"):
        load_shedding_defaults(tmp_path / "missing.yaml")


def test_study_plan_csv_and_markdown(defaults, tmp_path):
    design = defaults.study_design("sparse")
    plan = study_plan(design, defaults.assays(), defaults.costs())
    assert len(plan.table) == len(design.matrices) * 8
    assert plan.table.groupby("matrix").size().eq(8).all()
    plan.to_csv(tmp_path / "plan.csv")
    back = pd.read_csv(tmp_path / "plan.csv")
    pd.testing.assert_frame_equal(back, plan.table, check_dtype=False)
    md = plan.to_markdown()
    assert "3 consecutive negative samples" in md and "negatives count from day 14" in md
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    assert len(lines) == 2 + len(plan.table)
    assert all(ln.count("|") == lines[0].count("|") for ln in lines)


def test_study_plan_rejects_missing_assay():
    d = StudyDesign([0, 7], 5, ["semen", "urine"])
    with pytest.raises(ValueError, match="'assays'.*'urine'"):
        study_plan(d, {"semen": Assay(0.2, 100, 5, loq_copies_per_ml=1000.0)})


def test_charts_consume_result_tables(defaults):
    fit = fit_decay([0, 7, 14, 21, 28, 35], [6.1, 4.9, 3.4, 2.3, float("nan"), float("nan")], 2.0,
                    censored=[False, False, False, False, True, True])
    spec = charts.decay_chart(fit.data, fit.curve_frame()).to_dict()
    shapes = spec["layer"][0]["encoding"]["shape"]["scale"]["range"]
    assert "triangle-down" in shapes
    tab = clearance_times(["a"] * 4 + ["b"] * 4, [0, 7, 14, 21] * 2, [1, 0, 0, 0, 1, 1, 1, 0])
    km_spec = charts.clearance_km_chart(clearance_km(tab)).to_dict()
    assert km_spec["layer"][1]["mark"]["interpolate"] == "step-after"
    # the median rule carries its interval, lower limit first, the unbounded upper limit in words
    # (S = 1/2 at day 21 with band [0.006, 0.91]: lower limit day 21, the upper band never drops below 0.5)
    labels = [row["label"] for rows in km_spec["datasets"].values() for row in rows if "label" in row]
    assert labels == ["median 21 (95% CI 21–not reached)"]
    # a bare curve table (no ClearanceKM) is drawn too, without a median (it has none)
    bare = charts.clearance_km_chart(clearance_km(tab).curve).to_dict()
    assert not [row for rows in bare["datasets"].values() for row in rows if "label" in row]
    summary = compare_schedules(
        {k: v for k, v in defaults.schedules().items() if k != "intensive"}, n_patients=6,
        matrices=["semen", "urine"], kinetics=defaults.kinetics(), assays=defaults.assays(), n_studies=20,
        cost_per_sample=defaults.costs(), rule_start_day=14, rng=1)
    chart = charts.schedule_comparison_chart(summary)
    assert chart.to_dict()["facet"]["row"]["field"] == "metric"
    rec = recommend_precaution_period(120.0)
    mit = charts.mitigation_chart(mitigation_table(rec, defaults.labels_frame()))
    svg = __import__("vl_convert").vegalite_to_svg(mit.to_dict())
    assert svg.startswith("<svg") and "Roctavian" in svg
    with pytest.raises(ValueError, match="'observations'"):
        charts.decay_chart(pd.DataFrame({"time": [0]}))

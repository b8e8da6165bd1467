"""The shedding-planner dashboard without a browser or a kernel: every number it shows is the package's.

Each test moves the widgets the way a widget message would (setting ``.value``, ``set_state``,
``Button.click()``) and compares what the views hold (the banner, the comparison table, the plan table, the
download links, the charts' datasets) with :mod:`atmp_hta.planners.shedding` called directly on the
bundled defaults with the values those moves describe.
"""

from __future__ import annotations

import base64
import re
from html import unescape

import pytest

from atmp_hta.planners.shedding import (
    StudyDesign,
    compare_schedules,
    kinetics_clearance_quantile,
    load_shedding_defaults,
    mitigation_table,
    recommend_precaution_period,
    study_plan,
)
from atmp_hta.widgets.shedding import COMPARISON_COLUMNS, SheddingPlannerDashboard, format_metric

SEED = 1  # the dashboard's default seed


@pytest.fixture(scope="module")
def defaults():
    return load_shedding_defaults()


@pytest.fixture
def dash():
    return SheddingPlannerDashboard(n_studies=200)


def recommendation(defaults, percentile=None, margin=None):
    d = defaults.design
    p = d.risk_percentile.value if percentile is None else percentile
    upper = kinetics_clearance_quantile(defaults.kinetics()["semen"], defaults.assays()["semen"], p, rng=SEED)
    return recommend_precaution_period(upper, d.margin_days.value if margin is None else margin, percentile=p)


def banner(dash) -> dict:
    text = dash.banner.value
    error = re.search(r'data-decision="error">.*?<span class="atmp-figure">([^<]*)</span>', text)
    if error:
        return {"error": unescape(error.group(1))}
    return {
        "period": re.search(r'<b class="atmp-period">([^<]*)</b>', text).group(1),
        "upper": re.search(r'<b class="atmp-upper">([^<]*)</b>', text).group(1),
        "margin": re.search(r'<b class="atmp-margin">([^<]*)</b>', text).group(1),
        "labels": re.search(r'<span class="atmp-labels">([^<]*)</span>', text).group(1),
    }


def comparison_cells(dash) -> dict:
    """(schedule, matrix) -> {column: shown text} of the comparison table."""
    out = {}
    for sched, matrix, row in re.findall(r'<tr class="[^"]*" data-schedule="([^"]*)" data-matrix="([^"]*)">(.*?)</tr>',
                                         dash.comparison_table.value):
        out[(sched, matrix)] = dict(re.findall(r'<td data-col="(\w+)">([^<]*)</td>', row))
    return out


def expected_comparison(defaults, **design):
    d = defaults.design
    kw = dict(n_patients=d.n_patients.value, consecutive=d.consecutive.value, p_missing=d.p_missing.value,
              rule_start_day=d.rule_start_day.value)
    kw.update(design)
    return compare_schedules(defaults.schedules(), matrices=d.matrices.value, kinetics=defaults.kinetics(),
                             assays=defaults.assays(), missing=d.missing.value,
                             stop_at_clearance=d.stop_at_clearance.value, cost_per_sample=defaults.costs(),
                             rng=SEED, **kw)


def test_first_view_shows_the_package_recommendation(dash, defaults):
    rec = recommendation(defaults)
    shown = banner(dash)
    assert shown["period"] == f"{rec.period_days:g}"
    assert shown["upper"] == f"{rec.upper_clearance_days:.1f}" and shown["margin"] == "30"
    assert shown["labels"] == "Roctavian 183 d · Hemgenix 365 d"
    # the mitigation chart's data is the package's mitigation table
    (data,) = dash.mitigation_chart.spec["datasets"].values()
    table = mitigation_table(rec, defaults.labels_frame())
    assert [r["period_days"] for r in data] == table["period_days"].tolist()
    assert "Press" in dash.status.value and dash.comparison_table.value == ""


def test_margin_and_percentile_sliders_follow_the_package(dash, defaults):
    dataset_names = list(dash.mitigation_chart.spec["datasets"])
    dash.sliders["margin_days"].value = 60
    assert banner(dash)["period"] == f"{recommendation(defaults, margin=60).period_days:g}"
    dash.sliders["risk_percentile"].set_state({"value": 0.9})  # as a widget message would
    rec = recommendation(defaults, percentile=0.9, margin=60)
    shown = banner(dash)
    assert shown["upper"] == f"{rec.upper_clearance_days:.1f}" and shown["period"] == f"{rec.period_days:g}"
    # the chart was not rebuilt: its one dataset was swapped under the same name
    assert list(dash.mitigation_chart.spec["datasets"]) == dataset_names
    (data,) = dash.mitigation_chart.spec["datasets"].values()
    assert data[0]["period_days"] == rec.period_days


def test_plan_follows_schedule_rule_and_downloads_are_the_package_exports(dash, defaults):
    d = defaults.design
    dash.schedule.value = "sparse"
    dash.sliders["consecutive"].value = 2
    dash.sliders["rule_start_day"].value = 21
    design = StudyDesign(visits_days=defaults.schedules()["sparse"], n_patients=d.n_patients.value,
                         matrices=d.matrices.value, consecutive=2, missing=d.missing.value,
                         stop_at_clearance=d.stop_at_clearance.value, p_missing=d.p_missing.value,
                         rule_start_day=21, name="sparse")
    plan = study_plan(design, defaults.assays(), cost_per_sample=defaults.costs())
    view = dash.plan_view.value
    assert f'data-rows="{len(plan.table)}"' in view and len(plan.table) == 5 * 8
    assert unescape(re.search(r"</b> ([^<]*)</div>", view).group(1)) == plan.stopping_rule
    assert "after 2 consecutive negative samples (negatives count from day 21)" in plan.stopping_rule
    days = [float(x) for x in re.findall(r'<tr><td class="txt">semen</td><td class="">\d+</td><td class="">([^<]*)<',
                                         view)]
    assert days == defaults.schedules()["sparse"]
    links = dict(re.findall(r'download="shedding-plan-sparse\.(csv|md)" href="data:[^;]*;charset=utf-8;base64,'
                            r'([^"]*)"', dash.download.value))
    assert base64.b64decode(links["csv"]).decode() == plan.to_csv()
    assert base64.b64decode(links["md"]).decode() == plan.to_markdown()


def test_simulate_button_shows_the_package_comparison(dash, defaults):
    dash.sliders["n_patients"].value = 12
    dash.sliders["p_missing"].value = 0.1
    dash.simulate_button.click()
    expected = expected_comparison(defaults, n_patients=12, p_missing=0.1, n_studies=200)
    shown = comparison_cells(dash)
    assert len(shown) == len(expected) == 3 * 6
    for row in expected.to_dict(orient="records"):
        cells = shown[(row["schedule"], row["matrix"])]
        assert cells == {c: format_metric(c, row[c]) for c in COMPARISON_COLUMNS}
    assert dash.progress.value == dash.progress.max == 3 and dash.progress.layout.visibility == "hidden"
    assert not dash.simulate_button.disabled and 'data-studies="200"' in dash.status.value
    # the chart shows the same summary (a second run swaps its dataset in place)
    names = list(dash.comparison_chart.spec["datasets"])
    dash.sliders["n_patients"].value = 8
    assert "stale" in dash.status.value and "stale" in dash.comparison_table.value
    dash.simulate()
    assert list(dash.comparison_chart.spec["datasets"]) == names
    (data,) = dash.comparison_chart.spec["datasets"].values()
    again = expected_comparison(defaults, n_patients=8, p_missing=0.1, n_studies=200)
    semen = again.set_index(["schedule", "matrix"]).loc[("sparse", "semen"), "p_peak_captured"]
    assert [r["value"] for r in data if (r["schedule"], r["matrix"], r["metric_column"])
            == ("sparse", "semen", "p_peak_captured")] == [pytest.approx(semen, rel=1e-12)]
    assert "8 patients" in dash.comparison_chart.spec["title"]
    assert "stale" not in dash.status.value


def test_margin_change_keeps_the_simulation_current(dash):
    dash.simulate()
    dash.sliders["margin_days"].value = 10
    assert "stale" not in dash.comparison_table.value


def test_bad_values_from_widget_messages_are_refused_with_a_sentence(dash, defaults):
    good = banner(dash)
    # a message can widen a slider's range as well as set its value: the callback validates
    dash.sliders["p_missing"].set_state({"max": 2.0, "value": 0.9})
    shown = banner(dash)
    assert "'p_missing' parameter" in shown["error"] and "[0, 0.5]" in shown["error"] and "Got 0.9" in shown["error"]
    assert "Traceback" not in dash.banner.value
    dash.simulate_button.click()
    assert "Could not run" in dash.status.value and "p_missing" in dash.status.value
    assert dash.comparison is None and not dash.simulate_button.disabled
    dash.sliders["p_missing"].value = 0.05
    assert banner(dash) == good

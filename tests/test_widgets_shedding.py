"""The shedding-planner dashboard without a browser or a kernel: every number it shows is the package's.

Each test moves the widgets the way a widget message would (setting ``.value``, ``set_state``,
``Button.click()``) and compares what the views hold (the banner, the comparison table, the plan table, the
download links, the charts' datasets) with :mod:`atmp_hta.planners.shedding` called directly on the
bundled defaults with the values those moves describe. The downloaded inputs are read back with the planner's
own loader and the workbook's input validation; the picker is pointed at a folder of files made here.
"""

from __future__ import annotations

import base64
import re
import shutil
from html import unescape
from pathlib import Path

import pytest
import traitlets
import yaml

from atmp_hta.planners.shedding import (
    StudyDesign,
    compare_schedules,
    kinetics_clearance_quantile,
    load_shedding_defaults,
    mitigation_table,
    recommend_precaution_period,
    study_plan,
)
from atmp_hta.planners.shedding.defaults import DEFAULT_PATH
from atmp_hta.planners.shedding.workbook import shedding_inputs
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


# ------------------------------------------------------------------------- reset, download, traits, picker
def plan_and_recommendation(inputs):
    """What the dashboard shows, from the package called directly on validated workbook inputs."""
    m = inputs.mitigation_matrix
    upper = kinetics_clearance_quantile(inputs.kinetics[m], inputs.assays[m], inputs.risk_percentile, rng=SEED)
    rec = recommend_precaution_period(upper, inputs.margin_days, percentile=inputs.risk_percentile, matrix=m)
    return study_plan(inputs.design(), inputs.assays, cost_per_sample=inputs.costs), rec


def downloaded_inputs(dash) -> str:
    link = re.search(r'download="([^"]+)" href="data:application/x-yaml;base64,([^"]+)"', dash.inputs_download.value)
    assert link.group(1) == "shedding_aav-dashboard.yaml"
    return base64.b64decode(link.group(2)).decode("utf-8")


def test_reset_puts_every_input_back_with_one_recompute(dash, defaults, monkeypatch):
    first = dash.banner.value, dash.plan_view.value, dash.inputs_download.value
    dash.schedule.value = "sparse"
    dash.sliders["n_patients"].value = 12
    dash.sliders["margin_days"].value = 90
    dash.sliders["risk_percentile"].value = 0.8
    assert dash.banner.value != first[0] and dash.plan_view.value != first[1]
    calls = []
    real = dash.refresh
    monkeypatch.setattr(dash, "refresh", lambda: (calls.append(1), real())[1])
    dash.reset_button.click()
    assert len(calls) == 1
    d = defaults.design
    assert dash.schedule.value == "intensive"
    for name, slider in dash.sliders.items():
        assert slider.value == getattr(d, name).value, name
    assert (dash.banner.value, dash.plan_view.value, dash.inputs_download.value) == first


def test_downloaded_inputs_load_back_and_give_the_same_plan(dash, defaults, tmp_path):
    dash.schedule.value = "weekly_then_monthly"
    dash.sliders["n_patients"].value = 24
    dash.sliders["consecutive"].value = 2
    dash.sliders["p_missing"].set_state({"value": 0.12})
    dash.sliders["margin_days"].value = 45
    path = tmp_path / "scenario.yaml"
    path.write_text(downloaded_inputs(dash), encoding="utf-8")
    # the planner's own reader accepts it, and the workbook's inputs from it are the dashboard's plan
    back = load_shedding_defaults(path)
    inputs = shedding_inputs(defaults_file=str(path), seed=SEED)
    assert inputs.plan_schedule == "weekly_then_monthly" and inputs.n_patients == 24 and inputs.p_missing == 0.12
    plan, rec = plan_and_recommendation(inputs)
    assert plan.to_csv() == dash.plan.to_csv() and plan.stopping_rule == dash.plan.stopping_rule
    assert rec.period_days == dash.recommendation.period_days
    assert rec.upper_clearance_days == dash.recommendation.upper_clearance_days
    shown = banner(dash)
    assert shown["period"] == f"{rec.period_days:g}" and shown["upper"] == f"{rec.upper_clearance_days:.1f}"
    # every schedule is kept (the plan schedule first), so a simulation from the file compares the same ones
    assert back.schedules() == {k: defaults.schedules()[k] for k in
                                ("weekly_then_monthly", "intensive", "sparse")}
    # citations: the file's sources; moved values are assumptions naming the file's value and source, the rest
    # keep their citation
    assert back.sources == defaults.sources and back.labels == defaults.labels and back.matrices == defaults.matrices
    for name in ("n_patients", "consecutive", "p_missing", "margin_days"):
        cited = getattr(back.design, name)
        assert cited.source == "assumption" and "shedding_aav.yaml gives" in cited.note, name
    assert "source: generer8_shedding" in back.design.consecutive.note
    assert back.design.rule_start_day == defaults.design.rule_start_day
    assert back.design.risk_percentile == defaults.design.risk_percentile


def test_downloaded_inputs_unmoved_are_the_files_values(dash, defaults, tmp_path):
    path = tmp_path / "same.yaml"
    path.write_text(downloaded_inputs(dash), encoding="utf-8")
    assert load_shedding_defaults(path) == defaults


def test_state_is_typed_traits_that_follow_a_slider(dash):
    assert isinstance(dash, traitlets.HasTraits)
    traits = dash.traits()
    assert isinstance(traits["plan"], traitlets.Instance) and isinstance(traits["error"], traitlets.Unicode)
    seen = []
    dash.observe(seen.append, names=["recommendation", "plan", "error"])
    before = dash.recommendation
    dash.sliders["margin_days"].value = 75
    moved = [c for c in seen if c["name"] == "recommendation"]
    assert len(moved) == 1 and moved[0]["old"] is before and moved[0]["new"] is dash.recommendation
    assert dash.recommendation.margin_days == 75
    dash.sliders["consecutive"].value = 4
    assert [c["new"] for c in seen if c["name"] == "plan"][-1] is dash.plan
    assert "4 consecutive negative samples" in dash.plan.stopping_rule
    dash.sliders["p_missing"].set_state({"max": 2.0, "value": 0.9})  # refused: the error trait says why
    assert "p_missing" in dash.error and [c["name"] for c in seen][-1] == "error"
    dash.sliders["p_missing"].value = 0.05
    assert dash.error is None


def second_set(directory, defaults):
    """A second valid shedding file beside the bundled one (other design values and label name)."""
    doc = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    doc["name"] = "AAV vector, smaller study"
    doc["design"]["n_patients"] = {"value": 16, "source": "assumption"}
    doc["design"]["margin_days"] = {"value": 60, "source": "assumption"}
    doc["design"]["consecutive"] = {"value": 2, "source": "assumption"}
    doc["design"]["schedules"]["value"] = {"sparse": defaults.schedules()["sparse"],
                                           "intensive": defaults.schedules()["intensive"]}
    path = directory / "shedding_small.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_picker_lists_the_folders_shedding_files_and_picking_reloads(defaults, tmp_path):
    shutil.copy(DEFAULT_PATH, tmp_path / "shedding_aav.yaml")
    small = second_set(tmp_path, defaults)
    shutil.copy(DEFAULT_PATH.parent / "surrogate_haemophilia_b.yaml", tmp_path)  # another planner's file
    (tmp_path / "broken.yaml").write_text("schema_version: 1\nname: [\n", encoding="utf-8")
    dash = SheddingPlannerDashboard(n_studies=200, directory=tmp_path)
    assert [Path(p).name for _, p in dash.picker.options] == ["shedding_aav.yaml", "shedding_small.yaml"]
    assert dash.parameter_file == str(tmp_path / "shedding_aav.yaml")
    dash.simulate()
    assert dash.comparison is not None
    files = []
    dash.observe(lambda c: files.append(c["new"]), names="parameter_file")
    dash.picker.value = str(small)
    assert files == [str(small)] and dash.comparison is None and dash.comparison_table.value == ""
    assert "Press" in dash.status.value
    assert list(dash.schedule.options) == ["sparse", "intensive"] and dash.schedule.value == "sparse"
    assert (dash.sliders["n_patients"].value, dash.sliders["consecutive"].value,
            dash.sliders["margin_days"].value) == (16, 2, 60)
    assert "AAV vector, smaller study" in dash.header.value and "shedding_small.yaml" in dash.header.value
    inputs = shedding_inputs(defaults_file=str(small), seed=SEED)
    plan, rec = plan_and_recommendation(inputs)
    assert dash.plan.to_csv() == plan.to_csv() and banner(dash)["period"] == f"{rec.period_days:g}"
    assert 'download="shedding_small-dashboard.yaml"' in dash.inputs_download.value
    # a move, then Reset, comes back to the picked file's values (not the first file's)
    dash.sliders["n_patients"].value = 30
    dash.reset()
    assert dash.sliders["n_patients"].value == 16 and dash.plan.to_csv() == plan.to_csv()


def test_a_file_value_outside_a_sliders_range_widens_it(defaults, tmp_path):
    doc = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    doc["design"]["n_patients"] = {"value": 400, "source": "assumption"}
    doc["design"]["margin_days"] = {"value": 250, "source": "assumption"}
    path = tmp_path / "shedding_large.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    dash = SheddingPlannerDashboard(n_studies=200, directory=tmp_path)
    assert dash.sliders["n_patients"].value == 400 and dash.sliders["n_patients"].max == 400
    assert dash.current.n_patients == 400 and dash.recommendation.margin_days == 250

"""The surrogate-planner dashboard's widgets without a browser or a kernel: every number it shows is the package's.

Each test builds ``SurrogatePlannerDashboard()`` on the bundled defaults, moves its widgets the way a widget
message would (setting ``.value``, ``set_state``, ``Button.click()``) and compares what the views hold (the
sample-size cards, the charts' datasets, the synopsis table and its downloads, the simulation table) with the
planning kernels of ``atmp_hta.planners.surrogate`` called directly on the values those moves describe. The
downloaded inputs are read back with ``read_planner_parameters`` and planned with the workbook's ``plan_trial``; the
picker is pointed at a folder of files made here.
"""

from __future__ import annotations

import base64
import math
import re
import shutil
from pathlib import Path

import pytest
import traitlets
import yaml

from atmp_hta import charts
from atmp_hta.planners.surrogate import (
    calibrate_fix_abr,
    haemophilia_b_synopsis,
    leadin_sample_size,
    lognormal_from_arithmetic,
    predict_abr,
    read_planner_parameters,
    simulate_leadin,
    synopsis_to_csv,
    synopsis_to_markdown,
    ttest_power,
    ttest_sample_size,
)
from atmp_hta.planners.surrogate.workbook import DEFAULT_PARAMETER_FILE, plan_trial, surrogate_inputs
from atmp_hta.widgets.surrogate import SLIDERS, SurrogatePlannerDashboard, synopsis_html

DEFAULTS = read_planner_parameters(DEFAULT_PARAMETER_FILE)
SEED = 1  # the dashboard's default seed


def sizes(d) -> dict[str, int]:
    """The four numbers of the sample-size cards (what the browser test reads)."""
    found = dict(re.findall(r'<b class="atmp-n-([a-z]+)">(\d+)</b>', d.sizes.value))
    return {k: int(v) for k, v in found.items()}


def expected_sizes(values) -> dict[str, int]:
    """The same four numbers from the kernels."""
    mu, sigma = (float(x) for x in lognormal_from_arithmetic(values["fix_mean_iu_dl"], values["fix_sd_iu_dl"]))
    d = (mu - math.log(values["fix_null_geometric_mean_iu_dl"])) / sigma
    alpha, power = values["alpha_one_sided"], values["target_power"]
    n_primary = ttest_sample_size(d, alpha=alpha, power=power, design="one-sample", alternative="greater")
    leadin = dict(alpha=alpha, power=power)
    args = (values["abr_leadin"], values["rate_ratio_expected"], values["abr_dispersion"], values["leadin_years"],
            values["post_years"])
    return {
        "primary": math.ceil(n_primary),
        "noninferiority": leadin_sample_size(*args, margin=values["noninferiority_margin"], **leadin).n_patients_exact,
        "superiority": leadin_sample_size(*args, margin=1.0, **leadin).n_patients_exact,
        "planned": int(haemophilia_b_synopsis(values)["n_planned"].max()),
    }


def expected_bridge(values):
    mu, sigma = (float(x) for x in lognormal_from_arithmetic(values["fix_mean_iu_dl"], values["fix_sd_iu_dl"]))
    coef = calibrate_fix_abr(values["fix_abr_calibration_fix"], values["fix_abr_calibration_abr"])
    return predict_abr(math.exp(mu), sigma, values["post_years"], values["abr_dispersion"], *coef)


def layer_data(view, layer=0):
    spec = view.spec
    name = (spec.get("layer") or [spec])[layer]["data"]["name"]
    return spec["datasets"][name]


def same_records(shown, expected):
    """Equal tables, up to the rounding of swapped datasets (``charts.records``: JSON with 10 decimals)."""
    assert len(shown) == len(expected)
    for a, b in zip(shown, expected, strict=True):
        assert a.keys() == b.keys() and a == pytest.approx(b, rel=1e-9, abs=1e-10)


def assert_shows(d, values):
    """Cards, bridge chart, power curve at the expected effect, synopsis and downloads are the kernels'."""
    assert sizes(d) == expected_sizes(values)
    bridge = expected_bridge(values)
    same_records(layer_data(d.abr_chart), charts.records(bridge.table))
    assert f'<span class="atmp-mean-abr">{bridge.mean_abr:.3f}</span>' in d.details.value
    mu, sigma = (float(x) for x in lognormal_from_arithmetic(values["fix_mean_iu_dl"], values["fix_sd_iu_dl"]))
    effect = (mu - math.log(values["fix_null_geometric_mean_iu_dl"])) / sigma
    curve = [r for r in layer_data(d.power_chart) if r["effect_size"] == round(effect, 2)]
    assert len(curve) >= 10
    for row in curve:
        assert row["power"] == pytest.approx(
            float(ttest_power(effect, row["n"], alpha=values["alpha_one_sided"], design="one-sample",
                              alternative="greater")), rel=1e-9, abs=1e-10)
    assert layer_data(d.power_chart, 1) == [{"power": values["target_power"]}]
    synopsis = haemophilia_b_synopsis(values)
    assert d.synopsis.value == synopsis_html(synopsis)
    links = dict(re.findall(r'download="([^"]+)" href="data:[a-z/]+;base64,([^"]+)"', d.download.value))
    assert base64.b64decode(links["synopsis.md"]).decode() == synopsis_to_markdown(synopsis)
    assert base64.b64decode(links["synopsis.csv"]).decode() == synopsis_to_csv(synopsis)


@pytest.fixture
def dashboard():
    return SurrogatePlannerDashboard()


def test_opens_on_the_parameter_files_values(dashboard):
    d = dashboard
    for spec in SLIDERS:
        assert d.sliders[spec.name].value == DEFAULTS[spec.name], spec.name
    assert_shows(d, DEFAULTS)
    assert sizes(d) == {"primary": 6, "noninferiority": 10, "superiority": 25, "planned": 12}


@pytest.mark.parametrize(
    ("name", "value"),
    [("fix_mean_iu_dl", 25.0), ("fix_null_geometric_mean_iu_dl", 20.0), ("rate_ratio_expected", 0.4),
     ("abr_dispersion", 2.0), ("noninferiority_margin", 1.5), ("alpha_one_sided", 0.05), ("dropout", 0.25)],
)
def test_a_slider_shows_the_kernels_numbers_for_that_value(dashboard, name, value):
    d = dashboard
    names_before = [layer["data"]["name"] for layer in d.power_chart.spec["layer"]]
    d.sliders[name].value = value
    assert d.error is None
    assert_shows(d, {**DEFAULTS, name: value})
    # the chart was built once: a move swaps its datasets, it does not rebuild the specification
    assert [layer["data"]["name"] for layer in d.power_chart.spec["layer"]] == names_before
    assert f"α = {d.sliders['alpha_one_sided'].value:g}" in d.power_chart.spec["title"]


def test_moves_accumulate_and_reset_restores(dashboard):
    d = dashboard
    d.sliders["abr_leadin"].value = 6.0
    d.sliders["rate_ratio_expected"].value = 0.6
    d.sliders["fix_mean_iu_dl"].value = 30.0
    assert_shows(d, {**DEFAULTS, "abr_leadin": 6.0, "rate_ratio_expected": 0.6, "fix_mean_iu_dl": 30.0})
    d.reset_button.click()
    assert_shows(d, DEFAULTS)


def test_invalid_inputs_are_a_sentence_not_a_traceback(dashboard):
    d = dashboard
    shown = sizes(d)
    d.sliders["fix_null_geometric_mean_iu_dl"].value = 40.0  # above the expected geometric mean (35.2)
    assert "CHECK INPUTS" in d.sizes.value and "Traceback" not in d.sizes.value
    assert ("The &#x27;fix_null_geometric_mean_iu_dl&#x27; parameter must be below the expected geometric mean"
            in d.sizes.value)
    assert "Got 40.0." in d.sizes.value
    assert d.sim_button.disabled
    assert d.run_simulation() is None and "fix the inputs first" in d.sim_status.value
    d.sliders["fix_null_geometric_mean_iu_dl"].value = 15.0
    assert d.error is None and not d.sim_button.disabled
    assert sizes(d) == shown


def test_out_of_range_widget_messages_are_clamped(dashboard):
    d = dashboard
    d.sliders["alpha_one_sided"].set_state({"value": 0.9})  # a crafted widget message
    assert d.sliders["alpha_one_sided"].value == 0.1
    assert_shows(d, {**DEFAULTS, "alpha_one_sided": 0.1})


def test_simulation_check_behind_the_button(dashboard):
    d = dashboard
    assert d.sim_draws.value == 10_000 and d.check is None
    d.sim_button.click()
    check = d.check.set_index("design")
    kw = dict(rate_leadin=DEFAULTS["abr_leadin"], rate_ratio=DEFAULTS["rate_ratio_expected"],
              dispersion=DEFAULTS["abr_dispersion"], leadin_years=DEFAULTS["leadin_years"],
              post_years=DEFAULTS["post_years"], alpha=DEFAULTS["alpha_one_sided"])
    for design, margin, n in (("non-inferiority", DEFAULTS["noninferiority_margin"], 10), ("superiority", 1.0, 25)):
        sim = simulate_leadin(n, margin=margin, n_sim=10_000, rng=SEED, **kw)
        analytic = leadin_sample_size(power=DEFAULTS["target_power"], margin=margin, **kw).power_exact
        assert check.loc[design, "n_patients"] == n
        assert check.loc[design, "power_simulated"] == sim.power
        assert check.loc[design, "power_analytic"] == analytic
        assert f"<td class='num atmp-power-simulated'>{sim.power:.3f}</td>" in d.sim_status.value
        assert check.loc[design, "agrees"]
    assert not d.sim_button.disabled and d.sim_progress.value == 2
    assert d.sim_progress.layout.visibility == "hidden"
    d.sliders["dropout"].value = 0.2  # a change makes the check stale
    assert d.check is None and "run the simulation check again" in d.sim_status.value


# ------------------------------------------------------------------------- reset, download, traits, picker
def downloaded_inputs(d) -> tuple[str, str]:
    link = re.search(r'download="([^"]+)" href="data:application/x-yaml;base64,([^"]+)"', d.inputs_download.value)
    return link.group(1), base64.b64decode(link.group(2)).decode("utf-8")


def test_reset_is_one_replan(dashboard, monkeypatch):
    d = dashboard
    first = d.sizes.value, d.synopsis.value, d.inputs_download.value
    d.sliders["dropout"].value = 0.3
    d.sliders["abr_dispersion"].value = 2.0
    calls = []
    real = d.refresh
    monkeypatch.setattr(d, "refresh", lambda: (calls.append(1), real())[1])
    d.reset_button.click()
    assert len(calls) == 1
    assert (d.sizes.value, d.synopsis.value, d.inputs_download.value) == first


def test_downloaded_inputs_load_back_and_plan_the_same_trial(dashboard, tmp_path):
    d = dashboard
    moved = {"abr_leadin": 6.0, "rate_ratio_expected": 0.42, "fix_mean_iu_dl": 30.0, "dropout": 0.2}
    for name, value in moved.items():
        d.sliders[name].value = value
    name, text = downloaded_inputs(d)
    assert name == "surrogate_haemophilia_b-dashboard.yaml"
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    values = read_planner_parameters(path)  # the planner's own reader: every value cited or an assumption
    assert values == {**DEFAULTS, **moved}
    plan = plan_trial(surrogate_inputs(**values, seed=SEED))
    assert sizes(d) == expected_sizes(values) == {
        "primary": plan.n_primary_rounded, "noninferiority": plan.noninferiority.n_patients_exact,
        "superiority": plan.superiority.n_patients_exact, "planned": plan.n_planned}
    assert synopsis_html(plan.synopsis) == d.synopsis.value
    # the file's citations are kept; a moved value is an assumption that names the file's value and source
    document, original = yaml.safe_load(text), yaml.safe_load(DEFAULT_PARAMETER_FILE.read_text(encoding="utf-8"))
    assert document["sources"] == original["sources"]
    assert {k: document[k] for k in ("kind", "planner", "indication")} == {
        k: original[k] for k in ("kind", "planner", "indication")}
    for key, entry in document["parameters"].items():
        if key in moved:
            assert "source" not in entry and "surrogate_haemophilia_b.yaml gives" in entry["assumption"], key
            assert entry.get("unit") == original["parameters"][key].get("unit")
        else:
            assert entry == original["parameters"][key], key
        assert entry.get("source") in (None, *original["sources"]), key
    assert "(source: hope_b)" in document["parameters"]["abr_leadin"]["assumption"]


def test_state_is_typed_traits_that_follow_a_slider(dashboard):
    d = dashboard
    assert isinstance(d, traitlets.HasTraits)
    traits = d.traits()
    assert isinstance(traits["plan"], traitlets.Instance) and isinstance(traits["check"], traitlets.Instance)
    assert isinstance(traits["validation"], traitlets.Instance) and isinstance(traits["error"], traitlets.Unicode)
    seen = []
    d.observe(seen.append, names=["plan", "error"])
    before = d.plan
    d.sliders["rate_ratio_expected"].value = 0.4
    assert [c["name"] for c in seen] == ["plan"]
    assert seen[0]["old"] is before and seen[0]["new"] is d.plan
    assert d.plan.inputs.rate_ratio_expected == 0.4 and d.plan.superiority.n_patients_exact == expected_sizes(
        {**DEFAULTS, "rate_ratio_expected": 0.4})["superiority"]
    d.sliders["fix_null_geometric_mean_iu_dl"].value = 40.0  # invalid: the error trait says why
    assert seen[-1]["name"] == "error" and "fix_null_geometric_mean_iu_dl" in d.error


def second_set(directory):
    """A second valid surrogate-planner file (other lead-in values and indication)."""
    doc = yaml.safe_load(DEFAULT_PARAMETER_FILE.read_text(encoding="utf-8"))
    doc["indication"] = "haemophilia B, higher bleeding rate"
    doc["parameters"]["abr_leadin"] = {"value": 8.0, "unit": "bleeds per year", "assumption": "a test scenario"}
    doc["parameters"]["leadin_years"] = {"value": 1.0, "unit": "years", "assumption": "a test scenario"}
    doc["parameters"]["noninferiority_margin"] = {"value": 3.5, "assumption": "outside the slider's range"}
    path = directory / "surrogate_other.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_picker_lists_the_folders_surrogate_files_and_picking_reloads(tmp_path):
    shutil.copy(DEFAULT_PARAMETER_FILE, tmp_path / DEFAULT_PARAMETER_FILE.name)
    other = second_set(tmp_path)
    shutil.copy(DEFAULT_PARAMETER_FILE.parent / "shedding_aav.yaml", tmp_path)  # another planner's file
    (tmp_path / "unsourced.yaml").write_text("parameters:\n  abr_leadin: {value: 3.0}\n", encoding="utf-8")
    d = SurrogatePlannerDashboard(directory=tmp_path)
    assert [Path(p).name for _, p in d.picker.options] == [DEFAULT_PARAMETER_FILE.name, "surrogate_other.yaml"]
    assert sizes(d) == expected_sizes(DEFAULTS)
    d.run_simulation()
    assert d.check is not None
    files = []
    d.observe(lambda c: files.append(c["new"]), names="parameter_file")
    d.picker.value = str(other)
    values = read_planner_parameters(other)
    assert files == [str(other)] and d.check is None
    assert d.sliders["abr_leadin"].value == 8.0 and d.sliders["noninferiority_margin"].value == 3.5
    assert d.sliders["noninferiority_margin"].max == 3.5  # widened to show the file's value
    assert_shows(d, values)
    assert "surrogate_other.yaml" in d.header.value and "higher bleeding rate" in d.header.value
    assert downloaded_inputs(d)[0] == "surrogate_other-dashboard.yaml"
    d.sliders["abr_leadin"].value = 5.0
    d.reset()
    assert d.sliders["abr_leadin"].value == 8.0
    assert_shows(d, values)

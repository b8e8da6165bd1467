"""The benefit-risk dashboard's widgets without a browser or a kernel: every number it shows is the package's.

Each test builds ``BenefitRiskDashboard(tipping_delay=0)`` on the bundled ``parameters/*.yaml``, moves its
widgets the way a widget message would (setting ``.value``, ``set_state``, ``Button.click()``) and compares
what the views hold (the banner's HTML, the charts' named datasets, the tipping notes, the explain table,
the download link) with ``atmp_hta.benefit_risk`` run directly on the parameter set those moves describe
(``with_mean`` for a slider, the settings replaced for a settings slider).

Without a running event loop the dashboard computes tipping points at once, after every change (≈ 1.5 s of
CPU each on the CAR-T example). Tests that are not about tipping points use the ``no_tipping`` fixture,
which skips that step; the tipping tests and one accumulation test run it for real.
"""

from __future__ import annotations

import base64
import math
import re
from html import escape, unescape
from pathlib import Path

import pandas as pd
import pytest
import yaml
from traitlets import Instance, TraitError, Unicode

from atmp_hta import charts
from atmp_hta.benefit_risk import BenefitRiskResult, evaluate, tipping_point
from atmp_hta.params import ParameterSet, load_parameters, parse_parameters, point_values, with_mean
from atmp_hta.trees import tree_table
from atmp_hta.widgets import benefit_risk as module
from atmp_hta.widgets.benefit_risk import SETTING_SLIDERS, BenefitRiskDashboard
from atmp_hta.widgets.common import STYLE, slider_specs
from atmp_hta.widgets.views import banner_html, explain_html, tipping_html

PARAMETERS = Path(__file__).resolve().parents[1] / "parameters"
AXICEL = PARAMETERS / "axicabtagene_ciloleucel.yaml"  # the first in the picker (sorted by product name)
ELICEL = PARAMETERS / "elivaldogene_autotemcel.yaml"
ETRANA = PARAMETERS / "etranacogene_dezaparvovec.yaml"
SEED = 1  # the dashboard's default seed


# --------------------------------------------------------------------------------------------- helpers
@pytest.fixture
def no_tipping(monkeypatch):
    """Skip the tipping-point step (not what these tests are about, and the slowest part of a change)."""
    monkeypatch.setattr(BenefitRiskDashboard, "compute_tipping", lambda self: None)


def dashboard(path=None) -> BenefitRiskDashboard:
    return BenefitRiskDashboard(path=None if path is None else str(path), tipping_delay=0)


def with_settings(parameter_set, **settings):
    return parameter_set.model_copy(update={"settings": parameter_set.settings.model_copy(update=settings)})


def banner(d) -> dict:
    """What the banner shows (the same fields the browser test reads)."""
    text = d.banner.value
    assert text.startswith(STYLE)
    decision = re.search(r'<div class="atmp-banner [a-z]+" data-decision="([a-z]+)">', text)
    net = re.search(r'<b class="atmp-net-value">([^<]*)</b>', text)
    probability = re.search(r'<b class="atmp-probability">([^<]*)</b>', text)
    message = re.search(r'<span class="atmp-figure">([^<]*)</span></div>$', text)
    return {
        "decision": decision.group(1),
        "net_value": net.group(1) if net else None,
        "probability": probability.group(1) if probability else None,
        "message": message.group(1) if message else None,
    }


def waterfall_data(result) -> list[dict]:
    tables, _ = charts.waterfall_tables(result)
    return charts.records(tables["waterfall"])


def tree_data(parameter_set) -> dict:
    tables, _ = charts.tree_tables(tree_table(parameter_set, point_values(parameter_set)))
    return {k: charts.records(v) for k, v in tables.items()}


def assert_shows(d, expected):
    """The dashboard's result, banner and waterfall are exactly those of ``expected``."""
    assert d.result.net_value == expected.net_value
    assert d.result.terms == expected.terms
    assert d.result.qalys == expected.qalys
    assert d.result.decision == expected.decision
    shown = banner(d)
    assert shown["decision"] == expected.decision
    assert shown["net_value"] == f"{expected.net_value:+.3f}"
    assert d.banner.value == STYLE + banner_html(expected)
    assert d.waterfall.spec["datasets"]["waterfall"] == waterfall_data(expected)
    assert d.waterfall.spec["title"] == charts.waterfall_tables(expected)[1]
    labels = [row["text"] for row in d.waterfall.spec["datasets"]["waterfall"]]
    assert labels[-1] == f"{expected.net_value:+.3f}"  # the text mark of the net-value bar


def point(parameter_set, name) -> float:
    return float(point_values(parameter_set)[name][0])


# ------------------------------------------------------------------------------------- the base case
def test_opens_on_the_first_file_evaluated_as_written(no_tipping):
    d = dashboard()
    ps = load_parameters(AXICEL)
    assert d.picker.value == str(AXICEL)
    assert_shows(d, evaluate(ps, rng=SEED))
    assert banner(d)["probability"] == "run the probabilistic analysis"
    assert d.tree.spec["datasets"] == tree_data(ps)
    for name, slider in d.sliders.items():
        assert slider.value == pytest.approx(point(ps, name), abs=1e-12), name
    for key, slider in d.setting_sliders.items():
        assert slider.value == getattr(ps.settings, key)


# ------------------------------------------------------------------------------------------ one slider
@pytest.mark.parametrize(
    ("name", "value"),
    [("p_death", 0.05), ("u_remission", 0.7), ("le_remission", 12.5), ("p_longterm_comparator", 0.35),
     ("dur_transient", 1.2), ("unmet_need", 0.3)],
)
def test_a_slider_shows_the_package_result_for_that_value(no_tipping, name, value):
    d = dashboard()
    ps = load_parameters(AXICEL)
    d.sliders[name].value = value
    expected = evaluate(with_mean(ps, name, value), rng=SEED)
    assert expected.net_value != evaluate(ps, rng=SEED).net_value  # the move matters
    assert_shows(d, expected)


def test_a_slider_past_the_tipping_point_flips_the_decision(no_tipping):
    d = dashboard()
    ps = load_parameters(AXICEL)
    assert banner(d)["decision"] == "approve"
    d.sliders["p_death"].value = 0.6
    expected = evaluate(with_mean(ps, "p_death", 0.6), rng=SEED)
    assert expected.decision == "reject"
    assert_shows(d, expected)
    assert 'class="atmp-banner reject"' in d.banner.value
    assert d.waterfall.spec["datasets"]["waterfall"][-1]["kind"] == "total-reject"


def test_moves_accumulate_as_chained_with_mean(no_tipping):
    d = dashboard()
    ps = load_parameters(AXICEL)
    moves = [("p_death", 0.1), ("u_progression", 0.5), ("response.durable", 0.3), ("le_remission", 15.0),
             ("response.none", 0.25), ("p_death", 0.04)]
    for name, value in moves:
        d.sliders[name].value = value
        ps = with_mean(ps, name, value)
        assert_shows(d, evaluate(ps, rng=SEED))
        assert d.tree.spec["datasets"] == tree_data(ps)


# ------------------------------------------------------------------------------------------ settings
@pytest.mark.parametrize(
    "settings",
    [{"discount_rate": 0.05}, {"discount_rate": 0.0}, {"risk_aversion": 2.0}, {"risk_aversion": 0.0},
     {"max_uplift": 0.4}, {"discount_rate": 0.015, "risk_aversion": 1.25}],
)
def test_a_settings_slider_evaluates_with_that_setting(no_tipping, settings):
    d = dashboard()
    base = load_parameters(AXICEL)
    for key, value in settings.items():
        d.setting_sliders[key].value = value
    expected = evaluate(with_settings(base, **settings), rng=SEED)
    assert expected.net_value != evaluate(base, rng=SEED).net_value
    assert_shows(d, expected)
    assert d.result.parameter_set.settings == with_settings(base, **settings).settings
    # The result does not claim to be the file as written (it is not).
    assert d.result.provenance["parameter_file_sha256"] is None
    assert d.result.provenance["parameter_content_sha256"] != base.sha256
    if "discount_rate" in settings:
        assert f"Discount rate {settings['discount_rate']:.3g} " in d.conventions.value


def test_settings_and_parameters_together(no_tipping):
    d = dashboard()
    ps = load_parameters(AXICEL)
    d.sliders["p_neuro"].value = 0.5
    d.setting_sliders["risk_aversion"].value = 3.0
    d.sliders["u_remission"].value = 0.75
    expected = evaluate(with_settings(with_mean(with_mean(ps, "p_neuro", 0.5), "u_remission", 0.75),
                                      risk_aversion=3.0), rng=SEED)
    assert_shows(d, expected)


# ----------------------------------------------------------------------------------------- Dirichlet
def dirichlet_sliders(d, base):
    return {n: s for n, s in d.sliders.items() if n.startswith(base + ".")}


@pytest.mark.parametrize(("path", "moves"), [
    (AXICEL, [("response.durable", 0.6), ("response.transient", 0.2), ("response.durable", 0.45),
              ("response.none", 0.05)]),
    (ETRANA, [("response.waning", 0.3), ("response.durable", 0.5)]),
])
def test_a_dirichlet_component_moves_its_siblings(no_tipping, path, moves):
    d = dashboard(path)
    ps = load_parameters(path)
    base = moves[0][0].split(".")[0]
    for name, value in moves:
        d.sliders[name].value = value
        ps = with_mean(ps, name, value)
        sliders = dirichlet_sliders(d, base)
        step = d.specs[name].step
        assert d.sliders[name].value == value  # the moved slider keeps the value given
        assert abs(sum(s.value for s in sliders.values()) - 1.0) <= step + 1e-12
        for other, slider in sliders.items():  # siblings show the new shares: the very values used
            assert abs(slider.value - point(ps, other)) <= 0.5 * step + 1e-12, other
            assert point(d.current, other) == pytest.approx(point(ps, other), abs=1e-12)
            if other != name:
                assert slider.value == point(d.current, other), other
        assert_shows(d, evaluate(ps, rng=SEED))
        assert d.tree.spec["datasets"] == tree_data(ps)
    p_texts = {row["p_text"] for row in d.tree.spec["datasets"]["tree_edges"]}
    assert f"p = {point(ps, moves[-1][0]):.3f}" in p_texts


def split_shown_and_used(d, base="response"):
    """(slider values, the shares the result uses, the shares the tree draws) of a Dirichlet split."""
    names = sorted(dirichlet_sliders(d, base))
    shown = [d.sliders[n].value for n in names]
    used = [point(d.result.parameter_set, n) for n in names]
    branch = {row["node"]: row["probability"] for row in d.tree.spec["datasets"]["tree_nodes"]}
    drawn = [branch[f"treatment > {label}"] for label in ("durable remission", "no response", "transient response")]
    return names, shown, used, drawn  # names sorted: durable, none, transient


@pytest.mark.parametrize(("kind", "name", "value"), [
    ("parameter", "p_death", 0.05), ("parameter", "u_remission", 0.7), ("setting", "risk_aversion", 2.0),
])
def test_an_unrelated_slider_leaves_the_split_shown_as_used(no_tipping, kind, name, value):
    """Moving treatment-related death once rounded the response sliders to 0.390/0.445/0.165 while the tree and
    the explain table used 0.389/0.444/0.167: a split changes only when one of its own sliders moves."""
    d = dashboard()
    ps = load_parameters(AXICEL)
    (d.sliders if kind == "parameter" else d.setting_sliders)[name].value = value
    names, shown, used, drawn = split_shown_and_used(d)
    assert shown == used == [point(ps, n) for n in names]  # untouched, exactly the file's shares
    assert drawn == pytest.approx(used, abs=1e-9)  # the chart's records keep 10 digits
    assert [format(v, d.sliders[n].readout_format) for n, v in zip(names, shown, strict=True)] == [
        "0.389", "0.167", "0.444"]
    tree_texts = {row["p_text"] for row in d.tree.spec["datasets"]["tree_edges"]}
    assert {"p = 0.389", "p = 0.444", "p = 0.167"} <= tree_texts


@pytest.mark.parametrize("moves", [
    [("response.durable", 0.3)],
    [("response.durable", 0.45), ("p_death", 0.05), ("response.none", 0.1), ("u_progression", 0.5),
     ("response.transient", 0.123)],
    [("response.none", 1.0), ("response.durable", 0.2)],  # through an end of the range
])
def test_moving_a_response_slider_keeps_the_split_whole_and_shown_as_used(no_tipping, moves):
    d = dashboard()
    ps = load_parameters(AXICEL)
    last = None  # the split's component moved last, and the value given to it
    for name, value in moves:
        d.sliders[name].value = value
        ps = with_mean(ps, name, value)
        last = (name, value) if name.startswith("response.") else last
        names, shown, used, drawn = split_shown_and_used(d)
        assert sum(shown) == pytest.approx(1.0, abs=1e-12)
        assert sum(used) == pytest.approx(1.0, abs=1e-12)
        for n, s, u in zip(names, shown, used, strict=True):
            if (n, s) == last:  # the handle stays where it was put: the share used, to rounding
                assert s == pytest.approx(u, abs=1e-12), n
            else:  # every other slider of the split shows exactly the share used
                assert s == u, n
        if last[0] in names and abs(used[names.index(last[0])] - last[1]) > 1e-12:
            # siblings kept at their floor (1e-9 of the total) take a little: the moved handle shows the share used
            assert shown[names.index(last[0])] == pytest.approx(last[1], abs=1e-8)
        assert drawn == pytest.approx(used, abs=1e-9)
        assert used == pytest.approx([point(ps, n) for n in names], abs=1e-12)
        assert_shows(d, evaluate(ps, rng=SEED))
        for n, s in zip(names, shown, strict=True):  # the readout and the tree print the same number
            p_text = f"p = {s:{d.sliders[n].readout_format}}"
            assert p_text in {row["p_text"] for row in d.tree.spec["datasets"]["tree_edges"]}, n


def test_a_move_smaller_than_half_a_step_is_used(no_tipping):
    """A value typed into the readout can sit between steps; it was ignored below half a step."""
    d = dashboard()
    ps = load_parameters(AXICEL)
    for name in ("u_remission", "response.durable"):
        value = d.sliders[name].value + 0.4 * d.specs[name].step
        d.sliders[name].value = value
        ps = with_mean(ps, name, value)
    expected = evaluate(ps, rng=SEED)
    assert expected.net_value != evaluate(load_parameters(AXICEL), rng=SEED).net_value
    assert_shows(d, expected)


# ------------------------------------------------------------------------------------- slider labels
def test_every_slider_has_its_full_label_and_tooltip_in_one_aligned_column(no_tipping):
    d = dashboard()
    for name, slider in d.sliders.items():
        label = d.specs[name].label
        assert slider.description == label  # the whole label, wrapped by the page's style, never cut
        assert slider.tooltip == f"{label} ({name})"
    for key, label, *_ in SETTING_SLIDERS:
        assert d.setting_sliders[key].description == label
        assert d.setting_sliders[key].tooltip == f"{label} ({key})"
    every = [*d.sliders.values(), *d.setting_sliders.values()]
    assert len({(s.style.description_width, s.layout.width) for s in every}) == 1
    assert all("atmp-slider" in s._dom_classes for s in every)
    assert ".atmp-slider.widget-hslider .widget-label {white-space: normal; overflow: visible;" in STYLE


# --------------------------------------------------------------------------------------- rare harms
def test_the_rare_harm_slider_resolves_its_value_and_moves_in_small_steps(no_tipping):
    """Secondary T-cell malignancy (22 in 27,000) read 0.001 on a 0-1 slider whose step was six times it."""
    d = dashboard()
    ps = load_parameters(AXICEL)
    name = "p_tcell_malignancy"
    slider, value = d.sliders[name], point(ps, name)
    assert slider.value == value
    assert (slider.min, slider.max, slider.step) == (0.0, 0.01, 0.00005)
    assert format(slider.value, slider.readout_format) == f"{value:.3g}" == "0.000833"
    slider.value = value + slider.step  # one key press
    assert slider.step <= value / 10
    assert_shows(d, evaluate(with_mean(ps, name, value + slider.step), rng=SEED))
    slider.value = 0.5  # past the slider: clamped to its end, and that is the value used
    assert slider.value == 0.01
    assert_shows(d, evaluate(with_mean(ps, name, 0.01), rng=SEED))


def test_tipping_note_beside_a_narrow_slider_measures_near_on_that_slider(monkeypatch):
    real = module.tipping_points

    def with_a_rare_tipping_point(parameter_set, names, rng=0, grid=21):
        table = real(parameter_set, [n for n in names if n != "p_tcell_malignancy"], rng=rng, grid=grid)
        row = {"parameter": "p_tcell_malignancy", "current": point(parameter_set, "p_tcell_malignancy"),
               "low": 0.0, "high": 1.0, "value": 0.05, "approve_at_current": True, "approve_side": "below"}
        return pd.concat([table, pd.DataFrame([row])], ignore_index=True)

    monkeypatch.setattr(module, "tipping_points", with_a_rare_tipping_point)
    d = dashboard()
    note = d.tips["p_tcell_malignancy"].value
    assert "tips at 0.05 · approve below" in note and tip_value(note) == 0.05
    assert 'class="atmp-tip"' in note  # 60 slider-widths away: not "near" on a [0, 0.01] slider
    assert "past this slider's range [0, 0.01]" in note
    assert_tips(d, load_parameters(AXICEL), skip={"p_tcell_malignancy"})


def test_tipping_html_on_a_slider_range():
    row = {"parameter": "p", "current": 0.0008, "low": 0.0, "high": 1.0, "value": 0.05, "approve_side": "below"}
    assert 'class="atmp-tip near"' in tipping_html(row)  # near on the parameter's whole range
    narrow = tipping_html(row, 0.0, 0.01)
    assert 'class="atmp-tip"' in narrow and "past this slider's range [0, 0.01]" in narrow
    assert 'class="atmp-tip near"' in tipping_html({**row, "value": 0.0015}, 0.0, 0.01)
    assert "past" not in tipping_html({**row, "value": 0.0015}, 0.0, 0.01)


# ------------------------------------------------------------------------------------------- traits
def test_the_dashboard_state_is_typed_traits():
    traits = BenefitRiskDashboard.class_traits()
    assert isinstance(traits["result"], Instance) and traits["result"].klass is BenefitRiskResult
    assert isinstance(traits["psa_result"], Instance) and traits["psa_result"].klass is BenefitRiskResult
    assert isinstance(traits["current"], Instance) and traits["current"].klass is ParameterSet
    assert isinstance(traits["tipping"], Instance) and traits["tipping"].klass is pd.DataFrame
    assert isinstance(traits["error"], Unicode) and traits["error"].allow_none
    assert isinstance(traits["path"], Unicode)


def test_observers_see_a_slider_move_once_every_view_shows_it(no_tipping):
    d = dashboard()
    ps = load_parameters(AXICEL)
    before = d.result
    seen = []
    d.observe(lambda change: seen.append((change["name"], change["old"], change["new"], d.banner.value)),
              names=["result", "current"])
    d.sliders["p_death"].value = 0.05
    expected = evaluate(with_mean(ps, "p_death", 0.05), rng=SEED)
    assert {name for name, *_ in seen} == {"result", "current"} and len(seen) == 2
    [(_, old, new, banner_then)] = [s for s in seen if s[0] == "result"]
    assert old is before and new is d.result
    assert new.net_value == expected.net_value and new.terms == expected.terms
    assert banner_then == STYLE + banner_html(expected)  # the banner already showed it
    [(_, _, current, _)] = [s for s in seen if s[0] == "current"]
    assert current == with_mean(ps, "p_death", 0.05)
    assert d.error is None


def test_the_error_trait_follows_invalid_inputs(no_tipping):
    d = dashboard()
    messages = []
    d.observe(lambda change: messages.append(change["new"]), names="error")
    d.sliders["gp_qalys"].value = 0.0
    assert len(messages) == 1 and "general_population_qalys" in messages[0] and d.error == messages[0]
    assert banner(d)["message"] == escape(messages[0])
    d.sliders["gp_qalys"].value = 16.0
    assert messages[-1] is None and d.error is None


def test_the_path_trait_and_the_picker_agree(no_tipping):
    d = dashboard()
    paths = []
    d.observe(lambda change: paths.append(change["new"]), names="path")
    assert d.path == d.picker.value == str(AXICEL)
    d.path = str(ELICEL)  # from code: the picker follows and the product switches
    assert d.picker.value == str(ELICEL) and d.base.product.name == load_parameters(ELICEL).product.name
    assert_shows(d, evaluate(load_parameters(ELICEL), rng=SEED))
    d.picker.value = str(ETRANA)  # from the picker: the trait follows
    assert d.path == str(ETRANA) and paths == [str(ELICEL), str(ETRANA)]
    assert_shows(d, evaluate(load_parameters(ETRANA), rng=SEED))
    with pytest.raises(TraitError, match="'path' of BenefitRiskDashboard must be one of"):
        d.path = "nowhere.yaml"
    assert d.path == d.picker.value == str(ETRANA)


def test_the_psa_result_trait_is_observable(no_tipping):
    d = dashboard()
    d.psa_draws.value = 10_000
    results = []
    d.observe(lambda change: results.append(change["new"]), names="psa_result")
    d.psa_button.click()
    expected = evaluate(load_parameters(AXICEL), n_draws=10_000, rng=SEED)
    assert results[-1] is d.psa_result
    assert d.psa_result.probability_net_value_positive == expected.probability_net_value_positive
    d.sliders["p_death"].value = 0.1
    assert results[-1] is None


# ------------------------------------------------------------------------------------ reset, picker
def test_reset_restores_the_files_values_and_result(no_tipping):
    d = dashboard()
    ps = load_parameters(AXICEL)
    initial = {"banner": d.banner.value, "waterfall": d.waterfall.spec["datasets"],
               "tree": d.tree.spec["datasets"], "download": d.download.value}
    d.sliders["p_death"].value = 0.3
    d.sliders["response.durable"].value = 0.2
    d.sliders["gp_qalys"].value = 20.0
    d.setting_sliders["discount_rate"].value = 0.08
    d.setting_sliders["risk_aversion"].value = 4.0
    d.explain_toggle.value = True
    assert d.banner.value != initial["banner"]

    d.reset_button.click()
    assert d.current == ps
    assert_shows(d, evaluate(ps, rng=SEED))
    assert d.banner.value == initial["banner"]
    assert d.waterfall.spec["datasets"] == initial["waterfall"]
    assert d.tree.spec["datasets"] == initial["tree"]
    assert d.download.value == initial["download"]
    assert d.result.provenance["parameter_file_sha256"] == ps.file_sha256
    for spec in slider_specs(ps):
        assert d.sliders[spec.name].value == spec.value, spec.name
    for key, slider in d.setting_sliders.items():
        assert slider.value == getattr(ps.settings, key), key
    # The new sliders are live: a move after the reset is evaluated from the file again.
    d.sliders["p_crs"].value = 0.4
    assert_shows(d, evaluate(with_mean(ps, "p_crs", 0.4), rng=SEED))


def test_the_picker_switches_product(no_tipping):
    d = dashboard()
    d.sliders["p_death"].value = 0.3
    d.picker.value = str(ELICEL)
    eli = load_parameters(ELICEL)
    expected = evaluate(eli, rng=SEED)
    assert d.base.product.name == eli.product.name
    assert_shows(d, expected)
    assert eli.product.short_name in d.waterfall.spec["title"]
    assert "axi-cel" not in d.waterfall.spec["title"]
    assert d.tree.spec["datasets"] == tree_data(eli)
    assert set(d.sliders) == {s.name for s in slider_specs(eli)}
    assert 'download="elivaldogene_autotemcel-scenario.yaml"' in d.download.value
    assert d.tipping_picker.options and all(name in d.sliders for _, name in d.tipping_picker.options)
    # and its sliders drive the new product
    d.sliders["p_oncogenesis"].value = 0.2
    assert_shows(d, evaluate(with_mean(eli, "p_oncogenesis", 0.2), rng=SEED))
    # and back: the first product as written (the earlier move is gone)
    d.picker.value = str(AXICEL)
    assert_shows(d, evaluate(load_parameters(AXICEL), rng=SEED))


# ------------------------------------------------------------------------------------------- tipping
def tip_value(tip_html: str):
    match = re.search(r'data-tipping="([^"]+)"', tip_html)
    return None if match is None else float(match.group(1))


def assert_tips(d, ps, skip=()):
    for name in d.main_parameters():
        if name in skip:
            continue
        expected = tipping_point(ps, name, rng=SEED)
        html = d.tips[name].value
        if expected is None:
            assert "no tipping point in range" in html, name
        else:
            assert f'data-tipping="{expected:.6g}"' in html, name
            assert f"tips at {expected:.3g}" in html, name
            assert tip_value(html) == pytest.approx(expected, rel=1e-5)


def test_tipping_notes_beside_the_main_sliders():
    d = dashboard()
    ps = load_parameters(AXICEL)
    main = d.main_parameters()
    assert {"response.durable", "p_death", "p_crs"} <= set(main)
    assert_tips(d, ps)
    assert tip_value(d.tips["p_death"].value) is not None  # the CAR-T decision does flip on p_death
    for name in set(d.sliders) - set(main):
        assert d.tips[name].value == ""
    # after moves, every note is that of the moved inputs
    d.sliders["u_remission"].value = 0.6
    ps = with_mean(ps, "u_remission", 0.6)
    assert_tips(d, ps)
    d.sliders["response.durable"].value = 0.3
    ps = with_mean(ps, "response.durable", 0.3)
    assert_tips(d, ps)
    # the tipping chart shows the picked parameter's tipping point
    d.tipping_picker.value = "p_death"
    value = tipping_point(ps, "p_death", rng=SEED)
    [marked] = d.tipping_chart.spec["datasets"]["tipping_point"]
    assert marked["x"] == pytest.approx(value, rel=1e-9)
    [now] = d.tipping_chart.spec["datasets"]["tipping_current"]
    assert now["x"] == pytest.approx(point(ps, "p_death"), abs=1e-9)  # records() keep 10 digits


# ----------------------------------------------------------------------------------------------- PSA
def test_run_psa_fills_the_probability(no_tipping):
    d = dashboard()
    ps = with_mean(load_parameters(AXICEL), "p_death", 0.2)
    d.sliders["p_death"].value = 0.2
    assert d.psa_draws.value == 100_000
    d.psa_button.click()
    expected = evaluate(ps, n_draws=100_000, rng=SEED)
    assert d.psa_result.probability_net_value_positive == expected.probability_net_value_positive
    assert d.psa_result.net_value == expected.net_value
    assert banner(d)["probability"] == f"{expected.probability_net_value_positive:.3f}"
    assert banner(d)["net_value"] == f"{evaluate(ps, rng=SEED).net_value:+.3f}"  # still the base case
    hist, title = charts.histogram_tables(expected)
    assert d.histogram.spec["datasets"]["histogram"] == charts.records(hist["histogram"])
    assert d.histogram.spec["title"] == title
    assert "P(net value &gt; 0) = " in d.psa_status.value
    assert not d.psa_button.disabled
    # run_psa() itself returns the same result
    assert d.run_psa().probability_net_value_positive == expected.probability_net_value_positive
    # a further move makes it stale: the banner no longer claims a probability
    d.sliders["p_death"].value = 0.25
    assert d.psa_result is None
    assert banner(d)["probability"] == "run the probabilistic analysis"
    assert "run the probabilistic analysis again" in d.psa_status.value


# ------------------------------------------------------------------------------------------- explain
def explain_rows(html: str) -> dict[str, str]:
    rows = re.findall(r"<tr><td>([^<]+)</td><td class='num'>([^<]+)</td>", html)
    return {unescape(term): value for term, value in rows}


def test_explain_toggle_shows_every_term(no_tipping):
    d = dashboard()
    assert d.explain.layout.display == "none"
    d.explain_toggle.value = True
    assert d.explain.layout.display == "block"
    rows = explain_rows(d.explain.value)
    assert rows["net_value"] == f"{d.result.net_value:.4f}"
    assert set(rows) == set(d.result.breakdown()["term"])
    assert "NV = w_s · w_u · B − H − π" in d.explain.value
    # it follows a slider while open
    d.sliders["p_neuro"].value = 0.6
    expected = evaluate(with_mean(load_parameters(AXICEL), "p_neuro", 0.6), rng=SEED)
    assert explain_rows(d.explain.value)["net_value"] == f"{expected.net_value:.4f}"
    assert d.explain.value == explain_html(expected)
    d.explain_toggle.value = False
    assert d.explain.layout.display == "none"


# ------------------------------------------------------------------------------------------ download
def downloaded(d):
    match = re.search(r'href="data:application/x-yaml;base64,([A-Za-z0-9+/=]+)"', d.download.value)
    assert match, d.download.value
    return parse_parameters(yaml.safe_load(base64.b64decode(match.group(1)).decode("utf-8")))


def test_download_link_is_a_valid_file_of_the_current_inputs(no_tipping):
    d = dashboard()
    assert evaluate(downloaded(d), rng=SEED).net_value == d.result.net_value
    for name, value in [("response.durable", 0.61), ("u_remission", 0.73), ("le_remission", 17.5),
                        ("p_death", 0.07), ("p_tcell_malignancy", 0.01)]:
        d.sliders[name].value = value
    d.setting_sliders["discount_rate"].value = 0.015
    d.setting_sliders["risk_aversion"].value = 1.5
    ps = downloaded(d)
    again = evaluate(ps, rng=SEED)
    assert again.net_value == d.result.net_value
    assert again.terms == d.result.terms
    assert ps.settings.discount_rate == 0.015 and ps.settings.risk_aversion == 1.5
    assert point(ps, "response.durable") == pytest.approx(0.61, abs=1e-12)
    assert ps.sources == load_parameters(AXICEL).sources  # citations kept
    assert 'download="axicabtagene_ciloleucel-scenario.yaml"' in d.download.value


# ------------------------------------------------------------------------- out-of-range and invalid
def test_out_of_range_values_are_clamped_by_the_widget(no_tipping):
    d = dashboard()
    ps = load_parameters(AXICEL)
    d.sliders["p_death"].value = 1.7
    assert d.sliders["p_death"].value == 1.0
    assert_shows(d, evaluate(with_mean(ps, "p_death", 1.0), rng=SEED))
    d.sliders["p_death"].value = -0.3
    assert d.sliders["p_death"].value == 0.0
    assert_shows(d, evaluate(with_mean(ps, "p_death", 0.0), rng=SEED))
    # a widget message (what the browser sends) goes through the same validation
    d.sliders["u_remission"].set_state({"value": 5.0})
    assert d.sliders["u_remission"].value == 1.0
    ps = with_mean(with_mean(ps, "p_death", 0.0), "u_remission", 1.0)
    assert_shows(d, evaluate(ps, rng=SEED))
    d.setting_sliders["discount_rate"].set_state({"value": 0.9})
    assert d.setting_sliders["discount_rate"].value == d.setting_sliders["discount_rate"].max == 0.1
    d.setting_sliders["risk_aversion"].value = -2.0
    assert d.setting_sliders["risk_aversion"].value == 0.0
    assert_shows(d, evaluate(with_settings(ps, discount_rate=0.1, risk_aversion=0.0), rng=SEED))


def test_settings_that_make_the_inputs_invalid_show_the_error_banner(no_tipping):
    """Undiscounted, the comparator's QALYs exceed the general population's: the shortfall is undefined."""
    d = dashboard(ETRANA)
    ps = load_parameters(ETRANA)
    before = d.result
    d.setting_sliders["discount_rate"].value = 0.0  # must not raise
    shown = banner(d)
    assert shown["decision"] == "error"
    assert shown["net_value"] is None
    assert "CHECK INPUTS" in d.banner.value
    assert "current_care_qalys" in shown["message"] and "general_population_qalys" in shown["message"]
    with pytest.raises(ValueError, match="current_care_qalys"):  # the package says the same
        evaluate(with_settings(ps, discount_rate=0.0), rng=SEED)
    assert d.result is before  # the last valid result is kept, not half-updated
    # back to a valid value: the banner is the package's again
    d.setting_sliders["discount_rate"].value = 0.05
    assert_shows(d, evaluate(with_settings(ps, discount_rate=0.05), rng=SEED))


def test_a_parameter_that_makes_the_inputs_invalid_shows_the_error_banner(no_tipping):
    d = dashboard()
    ps = load_parameters(AXICEL)
    d.sliders["gp_qalys"].value = 0.0
    shown = banner(d)
    assert shown["decision"] == "error"
    assert "general_population_qalys" in shown["message"] and "0.0" in shown["message"]
    d.sliders["gp_qalys"].value = 16.0
    assert_shows(d, evaluate(with_mean(ps, "gp_qalys", 16.0), rng=SEED))
    assert not math.isnan(d.result.net_value)

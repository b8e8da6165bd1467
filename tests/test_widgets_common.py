"""Pieces shared by the dashboards: the 'busy' guard of heavy widget work (controls come back, errors become one
escaped sentence) and the sliders bound to parameters (range, step, readout and label)."""

from pathlib import Path

import ipywidgets as widgets
import pytest

from atmp_hta.distributions import KIND_RANGES
from atmp_hta.params import load_parameters, point_values
from atmp_hta.widgets.common import (
    LABEL_WIDTH,
    SLIDER_WIDTH,
    STYLE,
    SliderSpec,
    busy,
    catalogue,
    make_slider,
    readout_digits,
    slider_specs,
)


def test_busy_disables_then_restores_and_reports_a_value_error():
    button, progress, status = widgets.Button(), widgets.IntProgress(), widgets.HTML()
    with busy(button, progress, status):
        assert button.disabled and progress.layout.visibility == "visible"
        raise ValueError("The 'n' parameter must be >= 1. Got <0>.")
    assert not button.disabled and progress.layout.visibility == "hidden"
    assert status.value == "<b>could not run:</b> The &#x27;n&#x27; parameter must be &gt;= 1. Got &lt;0&gt;."


def test_busy_lets_other_errors_through_but_still_restores():
    button, progress, status = widgets.Button(), widgets.IntProgress(), widgets.HTML()
    with pytest.raises(RuntimeError), busy(button, progress, status):
        raise RuntimeError("a bug, not bad input")
    assert not button.disabled and progress.layout.visibility == "hidden" and status.value == ""


# ---------------------------------------------------------------------------------------------- sliders
PARAMETERS = Path(__file__).resolve().parents[1] / "parameters"


def bundled_specs():
    return [(path, spec) for _, path in catalogue(PARAMETERS) for spec in slider_specs(load_parameters(path))]


def test_a_rare_probability_gets_a_range_and_step_that_resolve_it():
    """Secondary T-cell malignancy after CAR-T, 22 in 27,000 doses: on [0, 1] with step 0.005 it read 0.001
    and one key press multiplied it by six."""
    ps = load_parameters(PARAMETERS / "axicabtagene_ciloleucel.yaml")
    spec = {s.name: s for s in slider_specs(ps)}["p_tcell_malignancy"]
    value = float(point_values(ps)["p_tcell_malignancy"][0])
    # 22 events in 27,000 patients: the Jeffreys posterior Beta(22 + ½, 27,000 − 22 + ½) has mean 22.5 / 27,001
    assert spec.value == value == pytest.approx(22.5 / 27_001, rel=1e-12)
    assert (spec.low, spec.high) == (0.0, 0.01)  # [0, 10 × value] rounded up to a nice number
    assert spec.step == 0.00005  # value / 20, rounded up to a nice number
    slider = make_slider(spec)
    assert (slider.min, slider.max, slider.step, slider.value) == (0.0, 0.01, 0.00005, value)
    assert format(slider.value, slider.readout_format) == "0.000833"


def test_common_probabilities_keep_the_whole_range_with_a_finer_step():
    specs = {s.name: s for s in slider_specs(load_parameters(PARAMETERS / "axicabtagene_ciloleucel.yaml"))}
    assert (specs["p_death"].low, specs["p_death"].high, specs["p_death"].step) == (0.0, 1.0, 0.002)
    assert format(specs["p_death"].value, make_slider(specs["p_death"]).readout_format) == "0.0245"
    for name in ("response.durable", "response.none", "p_crs", "unmet_need"):  # as before
        assert (specs[name].low, specs[name].high, specs[name].step) == (0.0, 1.0, 0.005), name


@pytest.mark.parametrize(("path", "spec"), bundled_specs(), ids=lambda x: getattr(x, "name", Path(str(x)).stem))
def test_every_slider_stays_within_its_fields_rules_and_resolves_its_value(path, spec):
    low, high = KIND_RANGES[spec.kind]
    assert low <= spec.low <= spec.value <= spec.high <= high
    assert (spec.high - spec.low) / spec.step <= 1_000 + 1e-9  # a key press is never lost in a drag
    if spec.value > 0:
        assert spec.step <= spec.value / 10  # one key press moves it by a tenth at most
    slider = make_slider(spec)
    shown = float(format(spec.value, slider.readout_format))
    assert shown == pytest.approx(spec.value, rel=5e-3, abs=spec.step / 2)  # three significant digits
    if "." in spec.name:  # a Dirichlet component keeps the whole range: it moves with its siblings
        assert (spec.low, spec.high) == (low, high)


@pytest.mark.parametrize(("value", "step", "digits"), [
    (0.000833, 0.00005, 6), (0.3889, 0.005, 3), (0.0245, 0.002, 4), (13.0, 0.2, 1), (20.0, 0.5, 1),
    (0.0, 0.005, 3), (250.0, 1.0, 0),
    (1e-12, 1e-13, 8),  # three significant digits would need 14 decimals: capped at 8
])
def test_readout_digits(value, step, digits):
    assert readout_digits(value, step) == digits


def test_make_slider_shows_the_whole_label_with_a_tooltip_in_an_aligned_column():
    spec = SliderSpec("os_progression", "Survival after progression or without response (years)", "duration",
                      0.525, 0.0, 2.0, 0.005, "Outcomes")
    slider = make_slider(spec)
    assert slider.description == spec.label
    assert slider.tooltip == "Survival after progression or without response (years) (os_progression)"
    assert slider.style.description_width == LABEL_WIDTH and slider.layout.width == SLIDER_WIDTH
    assert "atmp-slider" in slider._dom_classes
    assert "white-space: normal" in STYLE.split(".atmp-slider.widget-hslider .widget-label", 1)[1].split("}")[0]
    # the old call still works, and a narrower column can be asked for
    assert make_slider(spec, label_width="150px", width="380px").style.description_width == "150px"

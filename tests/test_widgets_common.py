"""The shared 'busy' guard of heavy widget work: controls come back, errors become one escaped sentence."""

import ipywidgets as widgets
import pytest

from atmp_hta.widgets.common import LABEL_WIDTH, SLIDER_WIDTH, STYLE, SliderSpec, busy, make_slider


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

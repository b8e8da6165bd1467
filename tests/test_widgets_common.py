"""The shared 'busy' guard of heavy widget work: controls come back, errors become one escaped sentence."""

import ipywidgets as widgets
import pytest

from atmp_hta.widgets.common import busy


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

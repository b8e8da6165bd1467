"""The surrogate-validation section of the surrogate-planner dashboard, without a browser or a kernel.

Every number it shows is ``validate_surrogate`` called directly on the ARMD data with the model and weighting the
widgets say; the trial-level chart holds the validation's per-centre table. The published values themselves are
checked in ``test_planners_surrogate_validation.py``; here the question is only whether the dashboard shows the
package's numbers for the widgets' state.
"""

from __future__ import annotations

import math
import re

import pytest

from atmp_hta.planners.surrogate import load_armd, validate_surrogate
from atmp_hta.widgets.surrogate import VALIDATION_SHOWN, SurrogatePlannerDashboard


@pytest.fixture(scope="module")
def dashboard():
    return SurrogatePlannerDashboard()


def shown_estimates(d) -> dict[str, float]:
    rows = re.findall(r'<tr data-measure="([a-z_0-9]+)">.*?<td class=\'num atmp-estimate\'>([^<]*)</td>',
                      d.validation_table.value)
    return {m: float(v) for m, v in rows}


def expected(model, weighted):
    return validate_surrogate(load_armd(), "Diff24", "Diff52", "Treat", "Center", model=model, weighted=weighted)


@pytest.mark.parametrize(("model", "weighted"), [("full", True), ("reduced", True), ("reduced", False),
                                                 ("full", False)])
def test_the_widgets_state_shows_the_packages_validation(dashboard, model, weighted):
    d = dashboard
    d.validation_model.value = model
    d.validation_weighted.value = weighted
    ref = expected(model, weighted)
    shown = shown_estimates(d)
    assert set(shown) == {m for m, _, _ in VALIDATION_SHOWN}
    for measure in shown:
        value = getattr(ref, measure).estimate
        assert shown[measure] == pytest.approx(value, rel=5e-4), measure  # shown to 4 significant digits
    trial = ref.r2_trial
    assert f"{trial.ci_lower:.4g} to {trial.ci_upper:.4g}" in d.validation_table.value
    assert f"stage-1 model {model}" in d.validation_table.value
    assert ("weighted by centre size" in d.validation_table.value) == weighted
    verdict = "hold" if ref.prentice.passed else "do not hold"
    assert f'<span class="atmp-prentice">{verdict}</span>' in d.prentice.value
    spec = d.validation_chart.chart.to_dict()
    points = spec["datasets"][(spec["layer"][0].get("data") or spec["data"])["name"]]  # Altair may lift shared data
    assert len(points) == ref.n_trials == len(ref.trials)
    assert [p["effect_true"] for p in points] == pytest.approx(ref.trials["effect_true"].tolist(), rel=1e-9)
    assert [p["fitted_effect_true"] for p in points] == pytest.approx(ref.trials["fitted_effect_true"].tolist(),
                                                                      rel=1e-9)
    fit_mark = spec["layer"][1]["mark"]
    assert (fit_mark["type"] if isinstance(fit_mark, dict) else fit_mark) == ("line" if model == "reduced" else "point")


def test_prentice_p_values_are_the_models_coefficients(dashboard):
    d = dashboard
    d.validation_model.value, d.validation_weighted.value = "full", True
    c = expected("full", True).prentice.coefficients
    p = c[(c["model"] == "1: surrogate ~ treatment") & (c["term"] == "treatment")]["p_value"].iloc[0]
    assert f"treatment → surrogate p = {p:.3f}" in d.prentice.value
    # ARMD (Alonso et al. 2016, section 3.2.2): interferon-α has no significant effect on the 24-week change,
    # so Prentice's first criterion fails and the verdict must say so.
    assert p > 0.05 and "do not hold" in d.prentice.value


def test_unbounded_or_missing_intervals_are_words_not_nan(dashboard):
    cells = re.findall(r"<td class='num[^']*'>([^<]*)</td>", dashboard.validation_table.value)
    assert cells and not any(word in c.lower() for c in cells for word in ("nan", "inf"))
    assert not any(math.isnan(v) for v in shown_estimates(dashboard).values())

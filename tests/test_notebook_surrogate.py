"""The surrogate-planner workbook: its parameters, their validation, and a papermill run on the defaults whose
recorded results equal the planning kernels called directly on the same inputs."""

from __future__ import annotations

import ast
import json
import math
import time
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners.surrogate import (
    calibrate_fix_abr,
    haemophilia_b_synopsis,
    leadin_sample_size,
    load_armd,
    lognormal_from_arithmetic,
    predict_abr,
    prob_above_threshold,
    read_planner_parameters,
    simulate_leadin,
    synopsis_to_markdown,
    ttest_sample_size,
    validate_surrogate,
)
from atmp_hta.planners.surrogate.workbook import DEFAULT_PARAMETER_FILE, SurrogateInputs, surrogate_inputs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "surrogate_planner.ipynb"
SETTINGS = {"n_sim": 2000, "seed": 1, "validation_model": "full", "results_path": None}


def notebook_defaults() -> dict:
    """The parameters cell's defaults, as papermill reads them (``--help-notebook``)."""
    out = {}
    for name, p in pm.inspect_notebook(str(NOTEBOOK)).items():
        assert p["help"], f"parameter {name} has no comment for papermill --help-notebook"
        out[name] = ast.literal_eval(p["default"])
    return out


def test_parameters_cell_documents_the_cited_defaults():
    defaults = notebook_defaults()
    assert defaults == {**read_planner_parameters(DEFAULT_PARAMETER_FILE), **SETTINGS}
    assert set(defaults) == set(SurrogateInputs.model_fields)
    assert surrogate_inputs(**defaults) == SurrogateInputs()  # the model's own defaults are the same


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"alpha_one_sided": 0.7}, "The 'alpha_one_sided' parameter must be less than 0.5. Got 0.7."),
        ({"target_power": 0.02}, "The 'target_power' parameter must be in (alpha_one_sided = 0.025, 1). Got 0.02."),
        ({"rate_ratio_expected": 1.0}, "The 'rate_ratio_expected' parameter must be less than 1. Got 1.0."),
        ({"abr_dispersion": -1.0}, "The 'abr_dispersion' parameter must be greater than or equal to 0. Got -1.0."),
        ({"noninferiority_margin": 0.9}, "The 'noninferiority_margin' parameter must be greater than 1. Got 0.9."),
        ({"fix_null_geometric_mean_iu_dl": 40.0},
         "The 'fix_null_geometric_mean_iu_dl' parameter must be below the expected geometric mean FIX activity "
         "(35.17 IU/dL, from mean 39 and SD 18.7)"),
        ({"fix_abr_calibration_abr": [0.6, 0.1, 0.05]},
         "The 'fix_abr_calibration_abr' parameter must be a list as long as fix_abr_calibration_fix (2 values)"),
        ({"fix_thresholds_iu_dl": [5.0, -1.0]}, "The 'fix_thresholds_iu_dl' parameter must be a list of positive"),
        ({"n_sim": 10}, "The 'n_sim' parameter must be greater than or equal to 100. Got 10."),
        ({"validation_model": "mixed"}, "The 'validation_model' parameter must be 'full' or 'reduced'. Got 'mixed'."),
        ({"n_draws": 5}, "The 'n_draws' parameter must be one of the workbook's parameters"),
    ],
)
def test_bad_parameters_name_the_parameter_the_range_and_the_value(parameters, message):
    with pytest.raises(ParameterError) as err:
        surrogate_inputs(**parameters)
    assert message in str(err.value)
    assert err.value.field == next(iter(parameters))


@pytest.mark.notebook
def test_workbook_on_its_defaults_records_the_kernels_results(tmp_path, record_property):
    results = tmp_path / "results.json"
    started = time.monotonic()
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters={"results_path": str(results)},
                        kernel_name="python3", execution_timeout=240, progress_bar=False, cwd=str(tmp_path))
    record_property("notebook_run_s", round(time.monotonic() - started, 1))
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    got = json.loads(results.read_text())
    p = read_planner_parameters(DEFAULT_PARAMETER_FILE)
    alpha, power = p["alpha_one_sided"], p["target_power"]

    # primary endpoint
    mu, sigma = (float(x) for x in lognormal_from_arithmetic(p["fix_mean_iu_dl"], p["fix_sd_iu_dl"]))
    d = (mu - math.log(p["fix_null_geometric_mean_iu_dl"])) / sigma
    n_primary = float(ttest_sample_size(d, alpha=alpha, power=power, design="one-sample", alternative="greater"))
    assert got["fix_geometric_mean_iu_dl"] == pytest.approx(math.exp(mu), rel=1e-12)
    assert got["effect_size"] == pytest.approx(d, rel=1e-12)
    assert got["n_primary"] == pytest.approx(n_primary, rel=1e-12)
    assert got["n_primary_rounded"] == math.ceil(n_primary) == 6
    for t in p["fix_thresholds_iu_dl"]:
        assert got[f"p_fix_above_{t:g}"] == pytest.approx(float(prob_above_threshold(t, math.exp(mu), sigma)))

    # lead-in designs, and their simulation check with the workbook's n_sim and seed
    args = (p["abr_leadin"], p["rate_ratio_expected"], p["abr_dispersion"], p["leadin_years"], p["post_years"])
    for key, margin in (("noninferiority", p["noninferiority_margin"]), ("superiority", 1.0)):
        design = leadin_sample_size(*args, alpha=alpha, power=power, margin=margin)
        assert got[f"leadin_{key}_n_patients_exact"] == design.n_patients_exact
        assert got[f"leadin_{key}_power_exact"] == pytest.approx(design.power_exact, rel=1e-12)
        assert got[f"leadin_{key}_events_required"] == pytest.approx(design.events_required, rel=1e-12)
        assert got[f"leadin_{key}_n_patients_normal"] == pytest.approx(design.n_patients_normal, rel=1e-12)
        sim = simulate_leadin(design.n_patients_exact, *args, alpha=alpha, margin=margin, n_sim=2000, rng=1)
        assert got[f"simulated_{key}_power_simulated"] == sim.power
        assert got[f"simulated_{key}_agrees"] is True
    synopsis = haemophilia_b_synopsis(p)
    assert got["n_planned"] == int(synopsis["n_planned"].max()) == 12

    # FIX -> ABR bridge
    a, b = calibrate_fix_abr(p["fix_abr_calibration_fix"], p["fix_abr_calibration_abr"])
    bridge = predict_abr(math.exp(mu), sigma, p["post_years"], p["abr_dispersion"], a, b)
    assert (got["bridge_intercept"], got["bridge_slope"]) == pytest.approx((a, b), rel=1e-12)
    assert got["bridge_mean_abr"] == pytest.approx(bridge.mean_abr, rel=1e-12)
    assert got["bridge_prob_zero_bleeds"] == pytest.approx(bridge.prob_zero_bleeds, rel=1e-12)

    # surrogate validation on the bundled ARMD data
    validation = validate_surrogate(load_armd(), "Diff24", "Diff52", "Treat", "Center", model="full")
    assert got["prentice_passed"] == validation.prentice.passed
    for measure in ("r2_trial", "r2_individual", "surrogate_threshold_effect", "proportion_explained"):
        assert got[measure] == pytest.approx(getattr(validation, measure).estimate, rel=1e-12)

    # charts as inline SVG (power curves, predicted bleeding, trial level) and the synopsis as Markdown
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert sum("image/svg+xml" in o.get("data", {}) for o in outputs) == 3
    assert any(o.get("data", {}).get("text/markdown") == synopsis_to_markdown(synopsis) for o in outputs)


@pytest.mark.notebook
def test_workbook_refuses_a_bad_parameter(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="rate_ratio_expected' parameter must be less than 1"):
        pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), parameters={"rate_ratio_expected": 1.2},
                            kernel_name="python3", execution_timeout=240, progress_bar=False, cwd=str(tmp_path))

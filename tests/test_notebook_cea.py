"""notebooks/cost_effectiveness.ipynb runs under papermill on its defaults (few draws); its recorded results
equal the package's functions on the same inputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from atmp_hta.exceptions import ParameterError
from atmp_hta.hta_model import evaluate_cea, threshold_analysis, tornado, two_way
from atmp_hta.workbooks_cea import cea_analysis, cost_effectiveness_inputs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "cost_effectiveness.ipynb"
MODEL = "axicabtagene_ciloleucel_cea.yaml"


@pytest.mark.notebook
def test_workbook_on_its_defaults_records_the_package_results(tmp_path):
    results = tmp_path / "results.json"
    defaults = pm.inspect_notebook(str(NOTEBOOK))  # the parameters cell's own defaults, as a user runs it
    n_draws, seed = (int(defaults[k]["default"].replace("_", "")) for k in ("n_draws", "seed"))
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="python3", execution_timeout=240,
                        progress_bar=False, cwd=str(tmp_path), parameters={"results_path": str(results)})
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    svgs = [o for c in nb.cells for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 6  # CE plane, CEAC, EVPPI, tornado, two-way map, threshold chart
    recorded = json.loads(results.read_text())
    label = f"threshold {recorded['threshold_value']:,.0f}"  # checked by hand against the value-based price below
    assert any(label in "".join(o["data"]["image/svg+xml"]) for o in svgs)  # the labelled threshold

    inputs = cost_effectiveness_inputs(model_file=MODEL, n_draws=n_draws, seed=seed)
    analysis = cea_analysis(inputs)
    icers = analysis["summary"]["icers"].set_index("strategy")
    assert recorded["icer"] == pytest.approx(icers.loc["axi-cel", "icer"], rel=1e-12)
    assert recorded["status"] == icers.loc["axi-cel", "status"]
    for row in analysis["summary"]["by_threshold"].to_dict(orient="records"):
        for key in ("probability_cost_effective", "evpi", "value_based_price"):
            assert recorded[f"{key}_{row['threshold']:.0f}"] == pytest.approx(row[key], rel=1e-12, abs=1e-9)
    base = evaluate_cea(inputs.model, 1).table.set_index("strategy")
    assert recorded["base_cost_axi-cel"] == pytest.approx(base.loc["axi-cel", "cost"], rel=1e-12)
    assert recorded["base_effect_salvage chemotherapy"] == pytest.approx(
        base.loc["salvage chemotherapy", "effect"], rel=1e-12)
    top = analysis["evppi"].sort_values("evppi", ascending=False).iloc[0]
    assert (recorded["evppi_top_parameter"], recorded["evppi_wtp"]) == (top["parameters"], analysis["evppi_wtp"])
    assert recorded["evppi_top"] == pytest.approx(top["evppi"], rel=1e-9)
    assert recorded["tornado_top_parameter"] == tornado(inputs.model, 30_000)["parameter"].iloc[0]
    assert recorded["model_sha256"] == inputs.model.sha256 and recorded["n_draws"] == n_draws == 20_000
    # two-way map and threshold analysis on the defaults: list price x PFS cured fraction, the price's threshold
    assert (recorded["two_way_x"], recorded["two_way_y"]) == ("price_axicel", "cure_pfs_axicel")
    assert recorded["sensitivity_wtp"] == 30_000
    grid = two_way(inputs.model, "price_axicel", "cure_pfs_axicel", threshold=30_000)
    assert recorded["two_way_base_nmb"] == pytest.approx(grid["base_result"].iloc[0], rel=1e-12)
    assert recorded["two_way_share_positive"] == pytest.approx((grid["result"] > 0).mean(), rel=1e-12)
    found = threshold_analysis(inputs.model, "price_axicel", threshold=30_000)
    assert recorded["threshold_crossings"] == 1
    assert recorded["threshold_value"] == pytest.approx(found["threshold"].iloc[0], rel=1e-12)
    # and by hand from the base case: the price at which 30,000 x dE = dC
    d_effect = base.loc["axi-cel", "effect"] - base.loc["salvage chemotherapy", "effect"]
    d_cost = base.loc["axi-cel", "cost"] - base.loc["salvage chemotherapy", "cost"]
    assert recorded["threshold_value"] == pytest.approx(30_000 * d_effect - d_cost + 280_451, rel=1e-9)
    assert recorded["two_way_base_nmb"] == pytest.approx(30_000 * d_effect - d_cost, rel=1e-12)


@pytest.mark.parametrize(("params", "message"), [
    ({"n_draws": 1}, "n_draws"),
    ({"thresholds": [-1.0]}, "thresholds"),
    ({"evppi_parameters": ["price_axicel"]}, "evppi_parameters"),
    ({"colour": "red"}, "colour"),
    ({"model_file": "nope.yaml"}, "no such file"),
    ({"two_way_parameters": ["price_axicel"]}, "'two_way_parameters' parameter must name two different parameters"),
    ({"two_way_parameters": ["u_pf", "u_pf"]}, "two_way_parameters"),
    ({"two_way_parameters": ["u_pf", "price"]}, "two_way_parameters"),
    ({"threshold_parameter": "cure"}, "'threshold_parameter' parameter must name a parameter of the model file"),
])
def test_workbook_parameters_are_validated(params, message):
    with pytest.raises(ParameterError, match=message):
        cost_effectiveness_inputs(**{"model_file": MODEL, **params})

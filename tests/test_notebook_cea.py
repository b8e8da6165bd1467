"""notebooks/cost_effectiveness.ipynb runs under papermill on its defaults (few draws); its recorded results
equal the package's functions on the same inputs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from atmp_hta.exceptions import ParameterError
from atmp_hta.hta_model import evaluate_cea, tornado
from atmp_hta.workbooks_cea import cea_analysis, cost_effectiveness_inputs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "cost_effectiveness.ipynb"
MODEL = "axicabtagene_ciloleucel_cea.yaml"


@pytest.mark.notebook
def test_workbook_records_the_package_results(tmp_path):
    results = tmp_path / "results.json"
    pm.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), kernel_name="python3", execution_timeout=240,
                        progress_bar=False, cwd=str(tmp_path),
                        parameters={"n_draws": 2_000, "seed": 3, "results_path": str(results)})
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    svgs = [o for c in nb.cells for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 4  # CE plane, CEAC, EVPPI, tornado
    recorded = json.loads(results.read_text())

    inputs = cost_effectiveness_inputs(model_file=MODEL, n_draws=2_000, seed=3)
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
    assert recorded["model_sha256"] == inputs.model.sha256 and recorded["n_draws"] == 2_000


@pytest.mark.parametrize(("params", "message"), [
    ({"n_draws": 1}, "n_draws"),
    ({"thresholds": [-1.0]}, "thresholds"),
    ({"evppi_parameters": ["price_axicel"]}, "evppi_parameters"),
    ({"colour": "red"}, "colour"),
    ({"model_file": "nope.yaml"}, "no such file"),
])
def test_workbook_parameters_are_validated(params, message):
    with pytest.raises(ParameterError, match=message):
        cost_effectiveness_inputs(**{"model_file": MODEL, **params})

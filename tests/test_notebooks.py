"""Every workbook runs under papermill on its defaults; recorded results equal the package's functions."""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from atmp_hta.benefit_risk import evaluate, main_parameters, tipping_points
from atmp_hta.params import load_parameters
from atmp_hta.records import format_result
from atmp_hta.report import render_html
from atmp_hta.teaching import EXERCISES, reference_answer
from atmp_hta.workbooks import resolve_parameter_file

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
WORKBOOKS_AND_DASHBOARDS = NOTEBOOKS + sorted((ROOT / "dashboards").glob("*.ipynb"))
BENEFIT_RISK = ROOT / "notebooks" / "benefit_risk.ipynb"
TEACHING = sorted((ROOT / "notebooks" / "teaching").glob("*.ipynb"))


def run(notebook: Path, out: Path, **parameters) -> nbformat.NotebookNode:
    pm.execute_notebook(str(notebook), str(out), parameters=parameters, kernel_name="python3",
                        execution_timeout=240, progress_bar=False, cwd=str(out.parent))
    return nbformat.read(out, as_version=4)


def outputs_text(nb) -> str:
    chunks = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            chunks.append(output.get("text", ""))
            chunks.extend(str(v) for k, v in output.get("data", {}).items() if k == "text/plain")
    return "\n".join(chunks)


@pytest.mark.parametrize("path", WORKBOOKS_AND_DASHBOARDS, ids=lambda p: str(p.relative_to(ROOT)))
def test_stored_with_outputs_cleared_and_one_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has stored outputs"
    if path.parent.name != "dashboards":
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"


def parameters_cell(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))


def defaults(path: Path) -> dict:
    """The notebook's default parameters, as papermill reads them from its parameters cell."""
    return {name: ast.literal_eval(p["default"]) for name, p in pm.inspect_notebook(str(path)).items()}


def html_outputs(nb) -> list[str]:
    return [o["data"]["text/html"] for c in nb.cells for o in c.get("outputs", []) if "text/html" in o.get("data", {})]


@pytest.mark.parametrize(
    "parameters", [{}, {"parameter_file": "elivaldogene_autotemcel.yaml"}], ids=["defaults", "elivaldogene"]
)
@pytest.mark.notebook
def test_benefit_risk_workbook_on_its_defaults_records_the_package_results(tmp_path, parameters):
    results = tmp_path / "results.json"
    # on its defaults: only where to record the results is given (and, in the second case, another product)
    nb = run(BENEFIT_RISK, tmp_path / "out.ipynb", results_path=str(results), **parameters)
    recorded = json.loads(results.read_text())
    settings = {**defaults(BENEFIT_RISK), **parameters}
    seed, n_draws = settings["seed"], settings["n_draws"]
    assert n_draws == 100_000 and seed == 1
    ps = load_parameters(resolve_parameter_file(settings["parameter_file"]))
    base = evaluate(ps, rng=seed)
    psa = evaluate(ps, n_draws=n_draws, rng=seed)
    tips = tipping_points(ps, main_parameters(ps), rng=seed).set_index("parameter")["value"]
    assert recorded["decision"] == base.decision
    assert recorded["net_value"] == pytest.approx(base.net_value, rel=1e-12)
    for term, value in base.terms.items():
        assert recorded[f"term_{term}"] == pytest.approx(value, rel=1e-12)
    assert recorded["probability_net_value_positive"] == pytest.approx(psa.probability_net_value_positive)
    assert recorded["psa_mean_net_value"] == pytest.approx(psa.net_value, rel=1e-12)
    for name, value in tips.items():  # NaN (no tipping point in range) is recorded as null
        assert recorded[f"tipping_{name}"] == (None if value != value else pytest.approx(value, rel=1e-9))
    if parameters:  # eli-cel: the oncogenesis tipping point exists (≈ 0.56, README) and is recorded
        assert math.isfinite(tips["p_oncogenesis"])
        assert recorded["tipping_p_oncogenesis"] == pytest.approx(tips["p_oncogenesis"], rel=1e-9)
    assert recorded["parameter_file_sha256"] == ps.file_sha256
    assert (recorded["seed"], recorded["n_draws"]) == (seed, n_draws)
    # the charts are rendered as inline SVG, so the executed notebook shows them offline
    assert sum("image/svg+xml" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])) >= 4

    # tables read well in the workbook and its report: formulas whole, no row numbers, no NaN, short numbers
    tables = "\n".join(html_outputs(nb))
    for formula in base.breakdown()["formula"]:
        assert formula.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in tables
    assert "discounted_qalys(u, ..." not in tables and "row_heading" not in tables
    assert "NaN" not in tables and ">nan<" not in tables
    assert f">{format_result(base.net_value)}<" in tables and repr(base.net_value) not in tables
    assert re.search(r">result</th>\s*<th[^>]*>value</th>", tables)  # recorded results: a two-column table
    report = render_html(nb)
    assert "discounted_qalys(u, years, r, start)" in report and repr(base.net_value) not in report


@pytest.mark.notebook
def test_benefit_risk_workbook_refuses_bad_parameters(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="tipping_parameters"):
        run(ROOT / "notebooks" / "benefit_risk.ipynb", tmp_path / "out.ipynb", tipping_parameters=["nope"])
    with pytest.raises(pm.PapermillExecutionError, match="n_draws"):
        run(ROOT / "notebooks" / "benefit_risk.ipynb", tmp_path / "out2.ipynb", n_draws=0)


@pytest.mark.notebook
@pytest.mark.parametrize("path", TEACHING, ids=lambda p: p.stem)
def test_teaching_workbook_self_checks(path, tmp_path):
    number = path.stem.split("_")[0].lstrip("0")
    ids = [i for i in EXERCISES if i.split(".")[0] == number]
    assert ids, f"no exercises registered for {path.name}"
    # on its defaults (no answers yet) it runs and asks for answers
    text = outputs_text(run(path, tmp_path / "blank.ipynb"))
    assert all(f"… {i}" in text for i in ids)
    # the right answers are recognised; a wrong one gets a hint
    answers = {f"answer_{i.replace('.', '_')}": reference_answer(i) for i in ids}
    answers[f"answer_{ids[0].replace('.', '_')}"] = reference_answer(ids[0]) + 1.0
    text = outputs_text(run(path, tmp_path / "filled.ipynb", **answers))
    assert f"✗ {ids[0]} not yet" in text and "Hint:" in text
    assert all(f"✓ {i} correct." in text for i in ids[1:])


@pytest.mark.notebook
def test_teaching_workbook_refuses_an_answer_that_is_not_a_number(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match=r"workbook parameter 'answer_1_2'.*valid number.*'six'"):
        run(TEACHING[0], tmp_path / "out.ipynb", answer_1_2="six")


def _annotations(source: str) -> dict[str, tuple[str, ast.expr]]:
    tree = ast.parse(source)
    assigned = [node for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)]
    assert all(isinstance(node, ast.AnnAssign) for node in assigned), "every parameter has a type annotation"
    return {node.target.id: (ast.unparse(node.annotation), node.value) for node in assigned}


@pytest.mark.parametrize("path", [BENEFIT_RISK, *TEACHING], ids=lambda p: p.stem)
def test_parameters_are_typed_and_documented_by_papermill(path):
    annotations = _annotations(parameters_cell(path))
    for name, (annotation, default) in annotations.items():
        if isinstance(default, ast.Constant) and default.value is None:  # a None default must be allowed
            assert re.fullmatch(r"Optional\[.+\]|.+ \| None|None \| .+", annotation), f"{name}: {annotation} = None"
    # papermill --help-notebook lists every parameter with its type and help (it skips `X | None`)
    documented = pm.inspect_notebook(str(path))
    assert set(documented) == set(annotations)
    for name, (annotation, _) in annotations.items():
        assert documented[name]["inferred_type_name"] == annotation and documented[name]["help"], name

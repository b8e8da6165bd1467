"""The shedding-planner workbook: papermill on its defaults records the package's numbers; bad parameters fail.

The expected numbers are computed here straight from ``parameters/planners/shedding_aav.yaml`` and the
planner's functions, with the same seed, without going through the workbook's input object.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners.shedding import (
    StudyDesign,
    compare_schedules,
    kinetics_clearance_quantile,
    load_shedding_defaults,
    recommend_precaution_period,
    study_plan,
)
from atmp_hta.planners.shedding.workbook import example_study, shedding_inputs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "shedding_planner.ipynb"
SEED = 1  # the workbook's default seed
N_STUDIES = 200  # the workbook's default number of studies


def run(out: Path, **parameters) -> nbformat.NotebookNode:
    pm.execute_notebook(str(NOTEBOOK), str(out), parameters=parameters, kernel_name="python3",
                        execution_timeout=240, progress_bar=False, cwd=str(out.parent))
    return nbformat.read(out, as_version=4)


def same(recorded, expected):
    """Recorded JSON value equals a package value (NaN and inf are recorded as null)."""
    if isinstance(expected, float) and not math.isfinite(expected):
        return recorded is None
    if isinstance(expected, float):
        return recorded == pytest.approx(expected, rel=1e-12, abs=1e-12)
    return recorded == expected


@pytest.fixture(scope="module")
def defaults():
    return load_shedding_defaults()


def test_parameters_are_documented_for_papermill_help():
    params = pm.inspect_notebook(str(NOTEBOOK))
    assert {"defaults_file", "schedules", "n_patients", "n_studies", "seed", "results_path"} <= set(params)
    for name, p in params.items():
        assert p["inferred_type_name"] != "None", f"{name} has no type"
        assert p["help"], f"{name} has no help comment"
    assert params["n_studies"]["default"] == str(N_STUDIES) and params["seed"]["default"] == str(SEED)


@pytest.mark.notebook
def test_workbook_on_defaults_records_the_package_results(tmp_path, defaults, record_property):
    results = tmp_path / "results.json"
    start = time.monotonic()
    nb = run(tmp_path / "out.ipynb", results_path=str(results))
    record_property("notebook_run_s", round(time.monotonic() - start, 2))
    recorded = json.loads(results.read_text())
    d = defaults.design

    # schedules compared: every schedule of the file, on the file's design, same seed
    table = compare_schedules(
        defaults.schedules(), n_patients=d.n_patients.value, matrices=d.matrices.value, kinetics=defaults.kinetics(),
        assays=defaults.assays(), n_studies=N_STUDIES, consecutive=d.consecutive.value, missing=d.missing.value,
        stop_at_clearance=d.stop_at_clearance.value, p_missing=d.p_missing.value,
        rule_start_day=d.rule_start_day.value, cost_per_sample=defaults.costs(), rng=SEED)
    assert set(recorded["comparison"]) == {f"{s}.{m}" for s, m in zip(table.schedule, table.matrix, strict=True)}
    for row in table.to_dict(orient="records"):
        rec = recorded["comparison"][f"{row['schedule']}.{row['matrix']}"]
        for key, value in row.items():
            if key not in ("schedule", "matrix"):
                assert same(rec[key], value), (row["schedule"], row["matrix"], key, rec[key], value)

    # the study plan on the first schedule
    first = next(iter(defaults.schedules()))
    design = StudyDesign(visits_days=defaults.schedules()[first], n_patients=d.n_patients.value,
                         matrices=d.matrices.value, consecutive=d.consecutive.value, missing=d.missing.value,
                         stop_at_clearance=d.stop_at_clearance.value, p_missing=d.p_missing.value,
                         rule_start_day=d.rule_start_day.value, name=first)
    plan = study_plan(design, defaults.assays(), cost_per_sample=defaults.costs())
    assert recorded["plan"] == {"schedule": first, "rows": len(plan.table), "stopping_rule": plan.stopping_rule}

    # the precaution period for semen
    upper = kinetics_clearance_quantile(defaults.kinetics()["semen"], defaults.assays()["semen"],
                                        d.risk_percentile.value, rng=SEED)
    rec = recommend_precaution_period(upper, d.margin_days.value, percentile=d.risk_percentile.value)
    mitigation = recorded["mitigation"]
    assert mitigation["upper_clearance_days"] == pytest.approx(upper, rel=1e-12)
    assert mitigation["period_days"] == rec.period_days
    assert mitigation["labels"] == {"Roctavian": 183.0, "Hemgenix": 365.0}

    # the example study
    example = example_study(design, defaults.kinetics(), defaults.assays(), matrix="semen", rng=SEED)
    assert recorded["example"]["decay_slope_log10_per_day"] == pytest.approx(example.fit.slope, rel=1e-9)
    assert recorded["example"]["km_median_days"] == example.km.median
    lower, upper = recorded["example"]["km_median_ci_days"]
    assert same(lower, example.km.median_lower) and same(upper, example.km.median_upper)
    assert example.km.median_lower <= example.km.median <= example.km.median_upper
    assert recorded["inputs"]["n_patients"] == d.n_patients.value and recorded["seed"] == SEED

    # every chart is an inline SVG (comparison, decay, Kaplan-Meier, mitigation); the plan is Markdown
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert sum("image/svg+xml" in o.get("data", {}) for o in outputs) == 4
    markdown = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    assert markdown == [plan.to_markdown()]
    # the median's interval is printed lower limit first, an unbounded limit in words, never "inf"
    printed = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert example.km.median_text() in printed and example.km_first_negative.median_text() in printed
    assert re.search(r"\binf\b", printed) is None


@pytest.mark.notebook
def test_workbook_refuses_a_bad_parameter(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="n_patients.*whole number in \\[1, 1000\\].*Got 0"):
        run(tmp_path / "out.ipynb", n_patients=0)


@pytest.mark.parametrize("parameters, match", [
    ({"p_missing": 0.7}, r"'p_missing' parameter .* fraction in \[0, 0.5\].*Got 0.7"),
    ({"n_studies": True}, r"'n_studies' parameter .*Got True \(a boolean is not accepted\)"),
    ({"schedules": ["weekly"]}, r"'schedules' parameter .*one of \['intensive'.*Got \['weekly'\]"),
    ({"schedules": ["sparse"], "plan_schedule": "intensive"}, r"'plan_schedule' .*\['sparse'\]. Got 'intensive'"),
    ({"mitigation_matrix": "sweat"}, r"'mitigation_matrix' .*Got 'sweat'"),
    ({"defaults_file": "nowhere.yaml"}, r"'defaults_file' .*Got 'nowhere.yaml'"),
    ({"n_patient": 10}, r"'n_patient' parameter .*one of the workbook's parameters"),
])
def test_inputs_name_the_parameter_range_and_value(parameters, match):
    with pytest.raises(ParameterError, match=match):
        shedding_inputs(**parameters)

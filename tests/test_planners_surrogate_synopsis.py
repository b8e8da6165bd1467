"""Protocol synopsis, parameter file and charts of the surrogate planner."""

import math

import pandas as pd
import pytest
import yaml

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners import surrogate_charts as charts
from atmp_hta.planners.surrogate import (
    haemophilia_b_synopsis,
    leadin_sample_size,
    load_armd,
    negbin_sample_size_table,
    power_curve_table,
    protocol_synopsis,
    read_planner_parameters,
    synopsis_to_csv,
    synopsis_to_markdown,
    validate_surrogate,
)
from atmp_hta.planners.surrogate.synopsis import SYNOPSIS_COLUMNS

YAML = "parameters/planners/surrogate_haemophilia_b.yaml"


def test_every_parameter_cites_a_source_or_is_an_assumption():
    doc = yaml.safe_load(open(YAML, encoding="utf-8"))
    for name, entry in doc["parameters"].items():
        assert entry.get("source") in doc["sources"] or entry.get("assumption"), name


@pytest.fixture(scope="module")
def table():
    return haemophilia_b_synopsis(read_planner_parameters(YAML))


def test_synopsis_lists_primary_and_secondary_endpoints(table):
    assert list(table.columns) == list(SYNOPSIS_COLUMNS)
    assert table["role"].tolist()[0] == "primary"
    assert {
        "surrogate (pharmacodynamic)",
        "clinical",
        "prophylaxis",
        "patient-reported outcome",
        "safety",
        "immunogenicity",
    } <= set(table["domain"])
    # the planned size covers the primary and the non-inferiority requirements, plus 10 % drop-out
    p = read_planner_parameters(YAML)
    ni = leadin_sample_size(
        p["abr_leadin"],
        p["rate_ratio_expected"],
        p["abr_dispersion"],
        p["leadin_years"],
        p["post_years"],
        alpha=p["alpha_one_sided"],
        power=p["target_power"],
        margin=p["noninferiority_margin"],
    )
    planned = table.loc[0, "n_planned"]
    assert planned >= math.ceil(ni.n_patients_exact / 0.9 - 1e-9)
    assert planned >= math.ceil(table.loc[0, "n_required"])
    assert table.loc[0, "power_at_planned"] >= 0.9


def test_markdown_and_csv_round_trip(table, tmp_path):
    md = synopsis_to_markdown(table)
    lines = md.splitlines()
    assert len(lines) == len(table) + 2
    assert lines[0].startswith("| role | domain | endpoint")
    assert all(line.count(" | ") == len(SYNOPSIS_COLUMNS) - 1 for line in lines)
    text = synopsis_to_csv(table, tmp_path / "synopsis.csv")
    back = pd.read_csv(tmp_path / "synopsis.csv")
    assert text == (tmp_path / "synopsis.csv").read_text(encoding="utf-8")
    assert back["endpoint"].tolist() == table["endpoint"].tolist()


def test_protocol_synopsis_refuses_bad_endpoints():
    with pytest.raises(
        ParameterError, match=r"The 'endpoints\[0\].role' parameter of protocol_synopsis must be one of"
    ):
        protocol_synopsis(
            [{"role": "main", "domain": "x", "endpoint": "y", "timepoint": "z", "analysis": "w"}]
        )
    with pytest.raises(ParameterError, match="must be fields among"):
        protocol_synopsis(
            [
                {
                    "role": "primary",
                    "domain": "x",
                    "endpoint": "y",
                    "timepoint": "z",
                    "analysis": "w",
                    "colour": "red",
                }
            ]
        )


def test_parameter_file_needs_sources(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("parameters:\n  x: {value: 1}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="must be a 'source' or an 'assumption'"):
        read_planner_parameters(bad)


def test_charts_consume_result_tables_and_render():
    import vl_convert

    power = charts.power_curve_chart(power_curve_table([0.5, 1.0], [4, 8, 16, 32]))
    sizes = charts.sample_size_chart(
        negbin_sample_size_table(4.19, [0.4, 0.6], [1.0], 1.0, approaches=[3]), x="rate_ratio"
    )
    res = validate_surrogate(load_armd(), "Diff24", "Diff52", "Treat", "Center", model="reduced")
    trial = charts.trial_level_chart(res.trials, res.r2_trial.estimate)
    svg = vl_convert.vegalite_to_svg(trial.to_dict())
    assert "<svg" in svg and "0.659" in svg
    for chart in (power, sizes):
        assert chart.to_dict()["$schema"].startswith("https://vega.github.io/schema/vega-lite")
    with pytest.raises(ParameterError, match="missing"):
        charts.power_curve_chart(pd.DataFrame({"n": [1]}))

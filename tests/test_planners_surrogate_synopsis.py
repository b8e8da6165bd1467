"""Protocol synopsis, parameter file and charts of the surrogate planner."""

import math

import pandas as pd
import pytest
import yaml

from atmp_hta.exceptions import ParameterError
from atmp_hta.planners import surrogate_charts as charts
from atmp_hta.planners.surrogate import (
    haemophilia_b_synopsis,
    leadin_power,
    leadin_sample_size,
    load_armd,
    negbin_sample_size_table,
    power_curve_table,
    protocol_synopsis,
    read_planner_parameters,
    simulate_leadin,
    synopsis_to_csv,
    synopsis_to_markdown,
    ttest_sample_size,
    validate_surrogate,
)
from atmp_hta.planners.surrogate.synopsis import SYNOPSIS_COLUMNS

YAML = "parameters/planners/surrogate_haemophilia_b.yaml"


def test_every_parameter_cites_a_source_or_is_an_assumption():
    doc = yaml.safe_load(open(YAML, encoding="utf-8"))
    for name, entry in doc["parameters"].items():
        assert entry.get("source") in doc["sources"] or entry.get("assumption"), name


def test_dynamo_citation_is_the_published_reference():
    # Blood Adv 2022;6(14):4256-4265, doi:10.1182/bloodadvances.2022007620: first author
    # Kloosterman FR, then Zwagemaker AF, Bagot CN; medians 0.6 and 0.1 bleeds/year in the 2-5 IU/dL and
    # > 25 IU/dL strata.
    doc = yaml.safe_load(open(YAML, encoding="utf-8"))
    dynamo = doc["sources"]["dynamo"]
    assert dynamo.startswith("Kloosterman FR, Zwagemaker AF, Bagot CN, et al.")
    assert "Blood Adv 2022;6(14):4256-4265" in dynamo and "10.1182/bloodadvances.2022007620" in dynamo
    assert doc["parameters"]["fix_abr_calibration_abr"]["value"] == [0.6, 0.1]


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


def _leadin_rows(table):
    rows = table[table["endpoint"].str.startswith("ABR, post-treatment vs lead-in")]
    return rows.set_index(rows["endpoint"].str.extract(r"\((.*)\)")[0])


def _leadin_kw(p):
    """The lead-in kernels' arguments from the planner file's values (names as in the YAML file)."""
    return dict(rate_leadin=p["abr_leadin"], rate_ratio=p["rate_ratio_expected"], dispersion=p["abr_dispersion"],
                leadin_years=p["leadin_years"], post_years=p["post_years"], alpha=p["alpha_one_sided"])


def test_leadin_rows_require_the_size_that_reaches_the_power_in_simulation(table):
    # n_required of the lead-in rows is the size a simulation of frail (negative-binomial) patients, analysed
    # with the same exact conditional test, confirms: 20 000 simulated trials at exactly that n reach the target
    # power and agree with the analytic power within 4 Monte Carlo standard errors. (The normal approximation,
    # 6.3 and 21.0 patients here, gives a simulated power of about 0.81 and 0.86 at 7 and 22 patients.)
    p = read_planner_parameters(YAML)
    kw = _leadin_kw(p)
    rows = _leadin_rows(table)
    for design, margin in (("non-inferiority", p["noninferiority_margin"]), ("superiority", 1.0)):
        n = rows.loc[design, "n_required"]
        assert float(n).is_integer()
        sim = simulate_leadin(int(n), margin=margin, n_sim=20_000, rng=20240607, **kw)
        assert sim.power > p["target_power"] - 4 * sim.mc_se
        assert abs(sim.power - leadin_power(int(n), margin=margin, **kw)) < 4 * sim.mc_se
        assert n == leadin_sample_size(margin=margin, power=p["target_power"], **kw).n_patients_exact
        # the normal approximation is still quoted, but labelled as such
        assert "normal approximation" in rows.loc[design, "justification"]
        assert "anti-conservative" in rows.loc[design, "justification"]


def test_noninferiority_power_is_at_the_planned_evaluable_size_not_at_its_own_exact_size():
    # With a null FIX level close to the expected one the primary endpoint drives the size, so the planned
    # evaluable patients (the primary's n, rounded up) exceed the non-inferiority design's exact n; its
    # power_at_planned must be its power with those patients, as for the superiority row.
    p = read_planner_parameters(YAML) | {"fix_null_geometric_mean_iu_dl": 30.0}
    sigma = math.sqrt(math.log1p((p["fix_sd_iu_dl"] / p["fix_mean_iu_dl"]) ** 2))
    d = (math.log(p["fix_mean_iu_dl"]) - sigma**2 / 2 - math.log(30.0)) / sigma
    n_evaluable = math.ceil(
        ttest_sample_size(d, alpha=p["alpha_one_sided"], power=p["target_power"], design="one-sample",
                          alternative="greater")
    )
    kw = _leadin_kw(p)
    ni = leadin_sample_size(margin=p["noninferiority_margin"], power=p["target_power"], **kw)
    assert n_evaluable > ni.n_patients_exact
    rows = _leadin_rows(haemophilia_b_synopsis(p))
    assert rows.loc["non-inferiority", "n_planned"] == math.ceil(n_evaluable / (1 - p["dropout"]) - 1e-9)
    for design, margin in (("non-inferiority", p["noninferiority_margin"]), ("superiority", 1.0)):
        expected = leadin_power(n_evaluable, margin=margin, **kw)
        assert rows.loc[design, "power_at_planned"] == pytest.approx(expected, rel=1e-12)
    assert rows.loc["non-inferiority", "power_at_planned"] > ni.power_exact + 0.01


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


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"rate_ratio_expected": 1.2},
            "The 'rate_ratio_expected' parameter of haemophilia_b_synopsis must be in (0, 1). Got 1.2.",
        ),
        ({"abr_dispersion": -1.0}, "The 'abr_dispersion' parameter of haemophilia_b_synopsis must be >= 0."),
        (
            {"noninferiority_margin": 0.9},
            "The 'noninferiority_margin' parameter of haemophilia_b_synopsis must be > 1.",
        ),
        (
            {"fix_null_geometric_mean_iu_dl": 40.0},
            "The 'fix_null_geometric_mean_iu_dl' parameter of haemophilia_b_synopsis must be below the expected",
        ),
        (
            {"fix_abr_calibration_fix": [5.0, 5.0]},
            "The 'fix_abr_calibration_fix' parameter of haemophilia_b_synopsis must be at least two distinct",
        ),
    ],
)
def test_synopsis_errors_name_the_planner_parameter_not_the_kernel(change, message):
    # before, these surfaced from the kernels as e.g. "The 'rate_ratio' parameter of leadin_sample_size ..."
    with pytest.raises(ParameterError) as err:
        haemophilia_b_synopsis(read_planner_parameters(YAML) | change)
    assert message in str(err.value)
    assert err.value.field == next(iter(change))


def test_parameter_file_needs_sources(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("parameters:\n  x: {value: 1}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="must be a 'source' or an 'assumption'"):
        read_planner_parameters(bad)


def test_a_cited_source_must_be_listed_under_sources(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  trial: A trial.\nparameters:\n  x: {value: 1, source: trial}\n"
                   "  y: {value: 2, source: [trial, tiral]}\n", encoding="utf-8")
    message = r"'parameters.y.source' .* keys of 'sources' \['trial'\]. Got \['tiral'\]"
    with pytest.raises(ParameterError, match=message):
        read_planner_parameters(bad)
    bad.write_text("sources:\n  trial: A trial.\nparameters:\n  x: {value: 1, source: trial}\n", encoding="utf-8")
    assert read_planner_parameters(bad) == {"x": 1}


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

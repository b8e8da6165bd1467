"""Costs on outcome trees: one-off costs at a time and per-year streams, discounted with their own rate.

Hand calculations, the vectorised rollback against a loop over draws, and a published decision tree (Evans
et al. 1997 / Briggs, Claxton & Sculpher 2006 Box 2.3) reproduced through the public API.
"""

import math

import numpy as np
import pytest

from atmp_hta.exceptions import ParameterError
from atmp_hta.params import parse_parameters, sample, to_yaml
from atmp_hta.trees import evaluate_strategies, tree_table

PRODUCT = {"name": "Test", "kind": "other", "indication": "x", "comparator": "y"}
COMPARATOR = {"label": "C", "branches": [{"name": "all", "probability": 1, "segments": [{"utility": 0.5, "years": 2}]}]}


def make_set(branches, rate=0.0, cost_rate=None, timing="end", parameters=None, strategy_cost=None):
    settings = {"discount_rate": rate, "timing": timing}
    if cost_rate is not None:
        settings["cost_discount_rate"] = cost_rate
    treatment = {"label": "T", "branches": branches}
    if strategy_cost is not None:
        treatment["cost"] = strategy_cost
    return parse_parameters(
        {
            "product": PRODUCT,
            "settings": settings,
            "parameters": parameters or {},
            "population": {"general_population_qalys": 20.0},
            "strategies": {"treatment": treatment, "comparator": COMPARATOR},
        }
    )


def one_terminal(segment, **branch):
    return [{"name": "all", "probability": 1, "segments": [segment], **branch}]


def treatment(ps, values=None):
    return evaluate_strategies(ps, values if values is not None else sample(ps, 1))["treatment"]


# ------------------------------------------------------------------------------------ per-year streams
def test_stream_end_of_year_by_hand():
    # 1000 a year for 3 years at 5%, counted at the end of each year: 1000 (1.05^-1 + 1.05^-2 + 1.05^-3)
    ps = make_set(one_terminal({"utility": 1, "years": 3, "cost_per_year": 1000}), rate=0.05)
    expected = 1000 * (1.05**-1 + 1.05**-2 + 1.05**-3)
    assert expected == pytest.approx(2723.248, abs=1e-3)
    assert treatment(ps).cost[0] == pytest.approx(expected, rel=1e-12)


def test_stream_start_and_continuous_timing_by_hand():
    seg = {"utility": 1, "years": 3, "cost_per_year": 1000}
    start = treatment(make_set(one_terminal(seg), rate=0.05, timing="start")).cost[0]
    assert start == pytest.approx(1000 * (1 + 1.05**-1 + 1.05**-2), rel=1e-12)
    cont = treatment(make_set(one_terminal(seg), rate=0.05, timing="continuous")).cost[0]
    assert cont == pytest.approx(1000 * (1 - 1.05**-3) / math.log(1.05), rel=1e-12)


def test_stream_with_onset_and_fractional_year_by_hand():
    # starts at year 2, lasts 2.5 years, end of year: 1.05^-2 [1.05^-1 + 1.05^-2 + 0.5 * 1.05^-2.5]
    ps = make_set(one_terminal({"utility": 1, "years": 2.5, "start": 2, "cost_per_year": 400}), rate=0.05)
    expected = 400 * 1.05**-2 * (1.05**-1 + 1.05**-2 + 0.5 * 1.05**-2.5)
    assert treatment(ps).cost[0] == pytest.approx(expected, rel=1e-12)


def test_streams_of_several_segments_add_up():
    segs = [{"utility": 0.8, "years": 1, "cost_per_year": 100}, {"utility": 0.6, "years": 1, "start": 1}]
    ps = make_set([{"name": "all", "probability": 1, "segments": segs}], rate=0.1)
    value = treatment(ps)
    assert value.cost[0] == pytest.approx(100 / 1.1, rel=1e-12)  # the second segment has no stream
    assert value.qalys[0] == pytest.approx(0.8 / 1.1 + 0.6 / 1.1**2, rel=1e-12)


# ------------------------------------------------------------------------------------- one-off costs
def test_one_off_cost_at_a_time_is_a_point_value():
    # 10 000 incurred at 2 years, 4%: 10 000 / 1.04^2 = 9245.56 (regardless of the timing convention)
    for timing in ("end", "start", "continuous"):
        ps = make_set(one_terminal({"utility": 1, "years": 1}, cost=10_000, cost_time=2), rate=0.04, timing=timing)
        assert treatment(ps).cost[0] == pytest.approx(10_000 / 1.04**2, rel=1e-12)
    # without cost_time the cost is at time 0, undiscounted (the former behaviour)
    ps = make_set(one_terminal({"utility": 1, "years": 1}, cost=10_000), rate=0.04)
    assert treatment(ps).cost[0] == pytest.approx(10_000.0)


def test_nested_tree_costs_by_hand():
    # strategy cost 50 000 at 0; relapse (p 0.4) costs 20 000 at 1.5 years; within relapse, retreated
    # (p 0.25) pays 5 000 a year for 2 years from year 1.5; the others pay nothing more.
    branches = [
        {"name": "remission", "probability": 0.6, "segments": [{"utility": 0.9, "years": 10}]},
        {
            "name": "relapse",
            "probability": "complement",
            "cost": 20_000,
            "cost_time": 1.5,
            "branches": [
                {
                    "name": "retreated",
                    "probability": 0.25,
                    "segments": [{"utility": 0.6, "years": 2, "start": 1.5, "cost_per_year": 5_000}],
                },
                {"name": "palliative", "probability": "complement", "segments": [{"utility": 0.3, "years": 1}]},
            ],
        },
    ]
    r = 0.03
    ps = make_set(branches, rate=r, strategy_cost=50_000)
    stream = 5_000 * (1 + r) ** -1.5 * ((1 + r) ** -1 + (1 + r) ** -2)
    expected = 50_000 + 0.4 * (20_000 * (1 + r) ** -1.5 + 0.25 * stream)
    value = treatment(ps)
    assert value.cost[0] == pytest.approx(expected, rel=1e-12)
    rows = value.terminals.set_index("terminal")
    assert rows.loc["retreated", "cost"] == pytest.approx(stream, rel=1e-12)
    table = tree_table(ps, sample(ps, 1)).set_index("node")
    assert table.loc["treatment", "cost"] == pytest.approx(expected, rel=1e-12)
    assert table.loc["treatment > relapse", "cost"] == pytest.approx(20_000 * (1 + r) ** -1.5 + 0.25 * stream)


# ------------------------------------------------------------------------------------ different rates
def test_costs_and_qalys_discounted_with_their_own_rates():
    # Dutch guidance: costs 4%, effects 1.5%. 1 QALY and 1000 a year for 2 years, end of year.
    seg = {"utility": 1, "years": 2, "cost_per_year": 1000}
    ps = make_set(one_terminal(seg, cost=500, cost_time=1), rate=0.015, cost_rate=0.04)
    value = treatment(ps)
    assert value.qalys[0] == pytest.approx(1.015**-1 + 1.015**-2, rel=1e-12)
    assert value.cost[0] == pytest.approx(1000 * (1.04**-1 + 1.04**-2) + 500 / 1.04, rel=1e-12)
    # None (the default) means the QALYs' rate
    same = make_set(one_terminal(seg, cost=500, cost_time=1), rate=0.015)
    assert same.settings.cost_discount_rate is None and same.settings.cost_rate == 0.015
    assert treatment(same).cost[0] == pytest.approx(1000 * (1.015**-1 + 1.015**-2) + 500 / 1.015, rel=1e-12)
    # a zero cost rate with discounted QALYs
    flat = make_set(one_terminal(seg, cost=500, cost_time=1), rate=0.035, cost_rate=0.0)
    assert treatment(flat).cost[0] == pytest.approx(2500.0)


# ------------------------------------------------------------------------------- vectorised == loop
PARAMS = {
    "p_relapse": {"kind": "probability", "beta": {"mean": 0.4, "sd": 0.1}},
    "c_drug": {"kind": "cost", "gamma": {"mean": 30_000, "sd": 5_000}},
    "c_care": {"kind": "cost", "gamma": {"mean": 4_000, "sd": 1_000}},
    "t_relapse": {"kind": "duration", "uniform": {"low": 0.5, "high": 3.0}},
    "dur": {"kind": "duration", "uniform": {"low": 1.0, "high": 6.0}},
    "u": {"kind": "utility", "beta": {"mean": 0.7, "sd": 0.05}},
}
TREE = [
    {
        "name": "relapse",
        "probability": "p_relapse",
        "cost": "c_drug",
        "cost_time": "t_relapse",
        "segments": [{"utility": "u", "years": "dur", "start": "t_relapse", "cost_per_year": "c_care"}],
    },
    {"name": "durable", "probability": "complement", "segments": [{"utility": "u", "years": 10, "cost_per_year": 200}]},
]


def test_vectorised_equals_loop_over_draws():
    ps = make_set(TREE, rate=0.035, cost_rate=0.05, parameters=PARAMS, strategy_cost="c_drug")
    draws = sample(ps, 300, rng=7)
    vec = treatment(ps, draws)
    assert vec.cost.shape == (300,) and np.std(vec.cost) > 0
    loop = np.array([treatment(ps, {k: v[i : i + 1] for k, v in draws.items()}).cost[0] for i in range(300)])
    np.testing.assert_allclose(vec.cost, loop, rtol=1e-12)
    loop_q = np.array([treatment(ps, {k: v[i : i + 1] for k, v in draws.items()}).qalys[0] for i in range(20)])
    np.testing.assert_allclose(vec.qalys[:20], loop_q, rtol=1e-12)


# ----------------------------------------------------------------------------------------- validation
def test_new_fields_are_validated():
    with pytest.raises(ParameterError, match=r"cost_per_year: must be in \[0, inf\], got -5"):
        make_set(one_terminal({"utility": 1, "years": 1, "cost_per_year": -5}))
    with pytest.raises(ParameterError, match=r"cost_time: 'u' is a utility, but this field needs a duration"):
        make_set(
            one_terminal({"utility": 1, "years": 1}, cost=1, cost_time="u"),
            parameters={"u": {"kind": "utility", "value": 0.5}},
        )
    with pytest.raises(ParameterError, match=r"cost_per_year: 'u' is a utility, but this field needs a cost"):
        make_set(
            one_terminal({"utility": 1, "years": 1, "cost_per_year": "u"}),
            parameters={"u": {"kind": "utility", "value": 0.5}},
        )
    with pytest.raises(ParameterError, match=r"cost_time: unknown parameter 't_x'"):
        make_set(one_terminal({"utility": 1, "years": 1}, cost=1, cost_time="t_x"))
    with pytest.raises(ParameterError, match=r"branches\[0\]\.cost_time: .*no 'cost'"):
        make_set(one_terminal({"utility": 1, "years": 1}, cost_time=1))
    with pytest.raises(ParameterError, match=r"settings\.cost_discount_rate: must be in \[0, 1\)"):
        make_set(one_terminal({"utility": 1, "years": 1}), cost_rate=1.5)


def test_new_fields_round_trip_through_yaml():
    import yaml

    ps = make_set(TREE, rate=0.035, cost_rate=0.05, parameters=PARAMS)
    back = parse_parameters(yaml.safe_load(to_yaml(ps)))
    assert back.sha256 == ps.sha256 and back.settings.cost_rate == 0.05


# ------------------------------------------------------------------------------- published example
# Evans KW et al. Economic evaluation of oral sumatriptan compared with oral caffeine/ergotamine for
# migraine. PharmacoEconomics 1997;12:565-77, as replicated in Briggs A, Claxton K, Sculpher M. Decision
# Modelling for Health Economic Evaluation, OUP 2006, Box 2.3, and in the R package rdecision (A. J. Sims),
# vignette "Elementary decision tree (Evans 1997)" (DT01-Sumatriptan,
# https://cran.r-project.org/web/packages/rdecision/vignettes/DT01-Sumatriptan.html) and its testthat
# script for that model. Inputs (Can$, 24-hour horizon):
#   costs: sumatriptan 16.10, caffeine/ergotamine 1.32, emergency room 63.16, admission 1093.00
#   utilities: relief, no recurrence 1.0; relief, recurrence 0.9; no relief, endures -0.30; ER relief 0.1
#   P(no recurrence | relief): sumatriptan 0.594, caffeine 0.703; P(relief): sumatriptan 0.558,
#   caffeine 0.379; P(ER | no relief) 0.08; P(admitted | ER) 0.002.
# A second dose (relieved after a recurrence) costs the drug again; the ER and admission are one-off costs.
# Published outputs and the tolerances used by rdecision's own test of them:
#   Sumatriptan: expected cost 22.06 (± 0.01), expected utility 0.41 (± 0.01)
#   Caffeine/ergotamine: expected cost 4.73 (± 0.02), expected utility 0.20 (± 0.01)
#   ICER (health-department perspective, Evans 1997 abstract): Can$29 366 per QALY (± 5 %)
#   paths: A (sumatriptan, relief, no recurrence) P = 0.331 (± 0.001), P·utility 0.33 (± 0.01);
#          H (caffeine, no relief, endures) P = 0.571 (± 0.001), P·utility -0.17 (± 0.01)
DAY = 1 / 365.25  # rdecision's 24-hour interval in years


def _migraine_arm(drug, p_relief, p_no_recurrence):
    def leaf(name, p, u, **extra):
        return {"name": name, "probability": p, "segments": [{"utility": u, "years": DAY}], **extra}

    return {
        "label": drug,
        "cost": f"c_{drug}",
        "branches": [
            {
                "name": "relief",
                "probability": p_relief,
                "branches": [
                    leaf("no recurrence", p_no_recurrence, "u_relief_norecurrence"),
                    leaf("relieved 2nd dose", "complement", "u_relief_recurrence", cost=f"c_{drug}"),
                ],
            },
            {
                "name": "no relief",
                "probability": "complement",
                "branches": [
                    leaf("endures attack", "complement", "u_norelief_endures"),
                    {
                        "name": "ER",
                        "probability": "p_er",
                        "cost": "c_ed",
                        "branches": [
                            leaf("relief", "complement", "u_norelief_er"),
                            leaf("hospitalisation", "p_admitted", "u_norelief_endures", cost="c_admission"),
                        ],
                    },
                ],
            },
        ],
    }


def migraine_data():
    values = {
        "c_sumatriptan": ("cost", 16.10),
        "c_caffeine": ("cost", 1.32),
        "c_ed": ("cost", 63.16),
        "c_admission": ("cost", 1093.0),
        "u_relief_norecurrence": ("utility", 1.0),
        "u_relief_recurrence": ("utility", 0.9),
        "u_norelief_endures": ("utility", -0.30),
        "u_norelief_er": ("utility", 0.1),
        "p_sumatriptan_norecurrence": ("probability", 0.594),
        "p_caffeine_norecurrence": ("probability", 0.703),
        "p_sumatriptan_relief": ("probability", 0.558),
        "p_caffeine_relief": ("probability", 0.379),
        "p_er": ("probability", 0.08),
        "p_admitted": ("probability", 0.002),
    }
    return {
        "product": {
            "name": "Sumatriptan",
            "kind": "other",
            "indication": "migraine",
            "comparator": "caffeine/ergotamine",
        },
        "sources": {"evans1997": "Evans KW et al. PharmacoEconomics 1997;12:565-77"},
        # a 24-hour horizon: undiscounted, as in the source
        "settings": {"discount_rate": 0.0, "timing": "end"},
        "parameters": {k: {"kind": kind, "value": v, "source": "evans1997"} for k, (kind, v) in values.items()},
        "population": {"general_population_qalys": 20.0},
        "strategies": {
            "treatment": _migraine_arm("sumatriptan", "p_sumatriptan_relief", "p_sumatriptan_norecurrence"),
            "comparator": _migraine_arm("caffeine", "p_caffeine_relief", "p_caffeine_norecurrence"),
        },
    }


def migraine_set():
    return parse_parameters(migraine_data(), origin="evans1997")


def test_published_migraine_tree_evans_1997_briggs_box_2_3():
    ps = migraine_set()
    out = evaluate_strategies(ps, sample(ps, 1))
    s, c = out["treatment"], out["comparator"]
    utility_s, utility_c = s.qalys[0] / DAY, c.qalys[0] / DAY
    assert s.cost[0] == pytest.approx(22.06, abs=0.01)
    assert utility_s == pytest.approx(0.41, abs=0.01)
    assert c.cost[0] == pytest.approx(4.73, abs=0.02)
    assert utility_c == pytest.approx(0.20, abs=0.01)
    icer = (s.cost[0] - c.cost[0]) / (s.qalys[0] - c.qalys[0])
    assert icer == pytest.approx(29_366, rel=0.05)
    paths_s = s.terminals.set_index("path")
    a = paths_s.loc["relief > no recurrence"]
    assert a["probability"] == pytest.approx(0.331, abs=0.001)
    assert a["probability"] * a["qalys"] / DAY == pytest.approx(0.33, abs=0.01)
    h = c.terminals.set_index("path").loc["no relief > endures attack"]
    assert h["probability"] == pytest.approx(0.571, abs=0.001)
    assert h["probability"] * h["qalys"] / DAY == pytest.approx(-0.17, abs=0.01)


def test_published_migraine_tree_with_costs_as_streams_and_one_offs_agree():
    # the same model with the second dose written as a one-day cost stream (365.25 x the price a year for
    # 1/365.25 years, undiscounted) and the ER visit as a one-off at time 0 given explicitly
    data = migraine_data()
    arm = data["strategies"]["treatment"]
    leaf = arm["branches"][0]["branches"][1]
    assert leaf["name"] == "relieved 2nd dose"
    del leaf["cost"]
    leaf["segments"][0]["cost_per_year"] = "c_sumatriptan * 365.25"
    arm["branches"][1]["branches"][1]["cost_time"] = 0
    ps = parse_parameters(data)
    cost = evaluate_strategies(ps, sample(ps, 1))["treatment"].cost[0]
    assert cost == pytest.approx(22.06, abs=0.01)
    base = migraine_set()
    assert cost == pytest.approx(evaluate_strategies(base, sample(base, 1))["treatment"].cost[0], rel=1e-12)

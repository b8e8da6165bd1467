"""Outcome trees rolled back by hand and against a naive loop over draws."""

import numpy as np
import pytest

from atmp_hta.exceptions import ModelError
from atmp_hta.params import parse_parameters, sample
from atmp_hta.trees import evaluate_strategies, render_tree, tree_table


def make_set(treatment_branches, rate=0.0, parameters=None):
    return parse_parameters(
        {
            "product": {"name": "Test", "kind": "other", "indication": "x", "comparator": "y"},
            "settings": {"discount_rate": rate, "timing": "end"},
            "parameters": parameters or {},
            "population": {"general_population_qalys": 20.0},
            "strategies": {
                "treatment": {"label": "T", "branches": treatment_branches},
                "comparator": {
                    "label": "C",
                    "branches": [{"name": "all", "probability": 1, "segments": [{"utility": 0.5, "years": 2}]}],
                },
            },
        }
    )


SIMPLE = [
    {"name": "cure", "probability": 0.3, "segments": [{"utility": 1.0, "years": 10}], "cost": 100},
    {"name": "none", "probability": "complement", "segments": [{"utility": 0.5, "years": 2}]},
]


def test_two_branch_tree_undiscounted_by_hand():
    # 0.3 * 10 + 0.7 * (0.5 * 2) = 3.7 QALYs; cost 0.3 * 100 = 30.
    ps = make_set(SIMPLE)
    out = evaluate_strategies(ps, sample(ps, 1))
    assert out["treatment"].qalys[0] == pytest.approx(3.7)
    assert out["treatment"].cost[0] == pytest.approx(30.0)
    assert out["comparator"].qalys[0] == pytest.approx(1.0)


def test_discounted_tree_by_hand():
    # 3.5%, end of year: cure 8.316605 (annuity table a_10 = 8.3166); none 0.5 (1/1.035 + 1/1.035^2).
    ps = make_set(SIMPLE, rate=0.035)
    expected = 0.3 * 8.316605 + 0.7 * 0.5 * (1 / 1.035 + 1 / 1.035**2)
    assert evaluate_strategies(ps, sample(ps, 1))["treatment"].qalys[0] == pytest.approx(expected, abs=1e-6)


def test_nested_chance_node_and_segments_with_onset():
    branches = [
        {"name": "response", "probability": 0.6, "branches": [
            {"name": "durable", "probability": 0.5, "segments": [{"utility": 0.9, "years": 20}]},
            {"name": "relapse", "probability": 0.5, "segments": [
                {"utility": 0.9, "years": 1}, {"utility": 0.4, "years": 2, "start": 1}]},
        ]},
        {"name": "none", "probability": 0.4, "segments": [{"utility": 0.4, "years": 1}]},
    ]
    ps = make_set(branches)
    # 0.6 * (0.5 * 18 + 0.5 * (0.9 + 0.8)) + 0.4 * 0.4 = 0.6 * 9.85 + 0.16 = 6.07
    assert evaluate_strategies(ps, sample(ps, 1))["treatment"].qalys[0] == pytest.approx(6.07)
    table = tree_table(ps, sample(ps, 1))
    durable = table[table["node"] == "treatment > response > durable"].iloc[0]
    assert durable["path_probability"] == pytest.approx(0.3)
    text = render_tree(table)
    assert "durable" in text and "p = 0.500" in text


def test_vectorised_equals_loop_over_draws():
    params = {
        "p": {"kind": "probability", "beta": {"alpha": 3, "beta": 5}},
        "u": {"kind": "utility", "beta": {"mean": 0.7, "sd": 0.1}},
        "d": {"kind": "duration", "gamma": {"mean": 6, "sd": 2}},
    }
    branches = [
        {"name": "a", "probability": "p", "segments": [{"utility": "u", "years": "d"}]},
        {"name": "b", "probability": "complement", "segments": [{"utility": "u / 2", "years": "d / 3", "start": 1}]},
    ]
    ps = make_set(branches, rate=0.035, parameters=params)
    draws = sample(ps, 50, rng=7)
    vector = evaluate_strategies(ps, draws)["treatment"].qalys
    loop = [evaluate_strategies(ps, {k: v[i:i + 1] for k, v in draws.items()})["treatment"].qalys[0]
            for i in range(50)]
    np.testing.assert_allclose(vector, loop, rtol=1e-13)


def test_complement_below_zero_at_some_draw_is_reported():
    params = {"p": {"kind": "probability", "uniform": {"low": 0.5, "high": 0.9}},
              "q": {"kind": "probability", "uniform": {"low": 0.3, "high": 0.5}}}
    branches = [
        {"name": "a", "probability": "p", "segments": [{"utility": 1, "years": 1}]},
        {"name": "b", "probability": "q", "segments": [{"utility": 1, "years": 1}]},
        {"name": "c", "probability": "complement", "segments": [{"utility": 1, "years": 1}]},
    ]
    ps = make_set(branches, parameters=params)
    with pytest.raises(ModelError, match=r"treatment > c: probability must be in \[0, 1\].*siblings"):
        evaluate_strategies(ps, sample(ps, 2000, rng=1))


def test_negative_computed_duration_is_reported():
    params = {"d": {"kind": "duration", "value": 2.0}}
    branches = [{"name": "a", "probability": 1, "segments": [{"utility": 1, "years": "d - 5"}]}]
    ps = make_set(branches, parameters=params)
    with pytest.raises(ModelError, match="years must be >= 0, got -3"):
        evaluate_strategies(ps, sample(ps, 1))

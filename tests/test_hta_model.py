"""Cost-effectiveness model files (atmp_hta.hta_model): validation, a naive re-implementation, draws."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from atmp_hta.cea import icer_table
from atmp_hta.exceptions import ParameterError
from atmp_hta.hta_model import (
    base_values,
    cea_summary,
    evaluate_cea,
    evaluate_values,
    load_hta_model,
    parameter_quantiles,
    parse_hta_model,
    tornado,
    uncertain_parameters,
)
from atmp_hta.life_tables import general_population_survival
from atmp_hta.params import sample
from atmp_hta.voi import evpi

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "parameters" / "hta" / "axicabtagene_ciloleucel_cea.yaml"


@pytest.fixture(scope="module")
def model():
    return load_hta_model(FILE)


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(FILE.read_text())


# ------------------------------------------------------------------------------------------- validation
def test_every_parameter_is_cited_or_a_noted_assumption(model):
    for name, p in model.parameters.items():
        assert p.source in model.sources or (p.assumption and p.note), name
    assert model.policy == "nice" and model.discount_rates() == (0.035, 0.035)
    assert model.thresholds == [20000.0, 30000.0]
    assert model.currency_code == "GBP"


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(colour="red"), "colour: unknown key"),
    (lambda d: d["strategies"]["axi-cel"]["os"].update(distribution="weibul"), "strategies.axi-cel.os.distribution"),
    (lambda d: d["strategies"]["axi-cel"]["os"].pop("scale"), "strategies.axi-cel.os.weibull: a weibull curve takes"),
    (lambda d: d["strategies"]["axi-cel"].update(price="price_axicell"), "unknown parameter 'price_axicell'"),
    (lambda d: d["parameters"]["u_pf"].update(beta={"mean": 1.5, "sd": 0.1}), "parameters.u_pf"),
    (lambda d: d.update(comparator="nothing"), "comparator: 'nothing' is not a strategy"),
    (lambda d: d["settings"].update(horizon_years=-1), "settings.horizon_years"),
    (lambda d: d["settings"].update(horizon_years=10.5), "whole number of cycles"),
    (lambda d: d["strategies"]["axi-cel"]["os"].update(cure_fraction=1.5), "must be in [0, 1], got 1.5"),
    (lambda d: d["parameters"]["cost_crs"].pop("note"), "an assumption needs a note"),
    (lambda d: d.update(policy="nowhere"), "load_policy"),
    (lambda d: d.update(discounting="half-price"), "discounting: 'half-price' is not 'reference_case'"),
])
def test_bad_files_name_the_field(raw, edit, message):
    data = copy.deepcopy(raw)
    edit(data)
    with pytest.raises(ParameterError) as info:
        parse_hta_model(data, origin="m.yaml")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file():
    with pytest.raises(ParameterError, match="no such file"):
        load_hta_model("nope.yaml")
    with pytest.raises(ParameterError, match="hta: is a directory; give a model file"):
        load_hta_model(FILE.parent)


# ------------------------------------------------------------------------------- naive re-implementation
def _naive(model, v, strategy):
    """The model with every formula written out: a loop over cycles, Weibull and mixture cure by hand."""
    s = model.settings
    n, dt = s.n_cycles, s.cycle_length
    r_c, r_e = model.discount_rates()
    st = model.strategies[strategy]
    times = [j * dt for j in range(n + 1)]
    bg = general_population_survival(s.start_age, times, sex=s.male_share)[0]

    def curve(cv):
        a = cv.shape.evaluate(v)
        b = cv.scale.evaluate(v)
        pi = cv.cure_fraction.evaluate(v)
        su = [math.exp(-((t / b) ** a)) for t in times]
        floored = [1.0]
        for j in range(1, n + 1):
            dh_u = -math.log(su[j]) + math.log(su[j - 1])
            dh_b = -math.log(bg[j]) + math.log(bg[j - 1])
            floored.append(floored[-1] * math.exp(-max(dh_u, dh_b)))
        return [pi * bg[j] + (1 - pi) * floored[j] for j in range(n + 1)]

    os_, pfs = curve(st.os), curve(st.pfs)
    pf = [min(p, o) for p, o in zip(pfs, os_, strict=True)]
    pd_ = [o - p for o, p in zip(os_, pf, strict=True)]

    def delta(rate, k):  # continuous discounting within cycle k, per year of the cycle
        return ((1 + rate) ** (-k * dt) - (1 + rate) ** (-(k + 1) * dt)) / math.log(1 + rate) / dt

    u = (st.utilities.progression_free.evaluate(v), st.utilities.progressed.evaluate(v))
    c = (st.state_costs.progression_free.evaluate(v), st.state_costs.progressed.evaluate(v))
    eol = st.end_of_life_cost.evaluate(v)
    qalys = life_years = 0.0
    cost = st.price.evaluate(v) + sum(x.evaluate(v) for x in st.one_off_costs)
    for k in range(n):
        pf_k = 0.5 * (pf[k] + pf[k + 1])  # half-cycle correction
        pd_k = 0.5 * (pd_[k] + pd_[k + 1])
        qalys += (u[0] * pf_k + u[1] * pd_k) * dt * delta(r_e, k)
        life_years += (pf_k + pd_k) * dt
        cost += (c[0] * pf_k + c[1] * pd_k) * dt * delta(r_c, k)
        cost += eol * (os_[k] - os_[k + 1]) * (1 + r_c) ** (-(k + 1) * dt)
    for ae in st.adverse_events:
        p = ae.probability.evaluate(v)
        cost += p * ae.cost.evaluate(v)
        qalys -= p * ae.qaly_loss.evaluate(v)
    return cost, qalys, life_years


def test_base_case_equals_a_naive_loop_over_cycles(model):
    values = {k: float(a[0]) for k, a in base_values(model).items()}
    got = evaluate_values(model, base_values(model))
    for strategy in model.strategies:
        cost, qalys, life_years = _naive(model, values, strategy)
        assert got[strategy]["cost"][0] == pytest.approx(cost, rel=1e-10)
        assert got[strategy]["effect"][0] == pytest.approx(qalys, rel=1e-10)
        assert got[strategy]["life_years"][0] == pytest.approx(life_years, rel=1e-10)


def test_a_few_draws_equal_the_naive_loop(model):
    draws = sample(model, 3, rng=5)
    got = evaluate_values(model, draws)
    for i in range(3):
        values = {k: float(a[i]) for k, a in draws.items()}
        for strategy in model.strategies:
            cost, qalys, _ = _naive(model, values, strategy)
            assert got[strategy]["cost"][i] == pytest.approx(cost, rel=1e-10)
            assert got[strategy]["effect"][i] == pytest.approx(qalys, rel=1e-10)


def test_vectorised_equals_a_per_draw_loop_and_blocks_do_not_change_bits(model):
    result = evaluate_cea(model, 500, rng=3, block_size=128)
    whole = evaluate_cea(model, 500, rng=3, block_size=10_000)
    assert np.array_equal(result.table[["cost", "effect"]].to_numpy(), whole.table[["cost", "effect"]].to_numpy())
    for i in range(0, 500, 37):
        one = evaluate_values(model, {k: v[i:i + 1] for k, v in result.draws.items()})
        for j, strategy in enumerate(result.strategies):
            assert result.matrix("cost")[i, j] == pytest.approx(one[strategy]["cost"][0], rel=1e-12)
            assert result.matrix("effect")[i, j] == pytest.approx(one[strategy]["effect"][0], rel=1e-12)


def test_tidy_table_and_summary(model):
    result = evaluate_cea(model, 2_000, rng=11)
    t = result.table
    assert list(t.columns[:4]) == ["draw", "strategy", "cost", "effect"]
    assert len(t) == 2 * 2_000 and set(t.strategy) == set(model.strategies)
    summary = cea_summary(model, result)
    costs, effects = result.matrix("cost"), result.matrix("effect")
    expected = icer_table(result.strategies, costs, effects)
    assert summary["icers"].equals(expected)
    by = summary["by_threshold"].set_index("threshold")
    for lam in model.thresholds:
        assert by.loc[lam, "evpi"] == pytest.approx(evpi(effects * lam - costs), rel=1e-12)
        i, c = result.strategies.index("axi-cel"), result.strategies.index("salvage chemotherapy")
        price = lam * (effects[:, i] - effects[:, c]).mean() - (costs[:, i] - 280451 - costs[:, c]).mean()
        assert by.loc[lam, "value_based_price"] == pytest.approx(price, rel=1e-9)
    assert summary["provenance"]["seed"] == 11 and summary["provenance"]["n_draws"] == 2_000
    # at the value-based price the expected incremental NMB is zero: the ICER equals the threshold
    lam = model.thresholds[-1]
    vbp = by.loc[lam, "value_based_price"]
    d_cost = (costs[:, i] - 280451 + vbp - costs[:, c]).mean()
    assert d_cost / (effects[:, i] - effects[:, c]).mean() == pytest.approx(lam, rel=1e-9)


def test_same_seed_same_bits(model):
    a = evaluate_cea(model, 300, rng=9).table
    b = evaluate_cea(model, 300, rng=9).table
    assert a.equals(b)


def test_tornado_varies_every_uncertain_parameter(model):
    table = tornado(model)
    assert set(table.parameter) == set(uncertain_parameters(model))
    q = parameter_quantiles(model)
    row = table.set_index("parameter").loc["u_pf"]
    assert (row.low_value, row.high_value) == pytest.approx(q["u_pf"])
    assert row.low_value < 0.80 < row.high_value
    assert list(table["swing"]) == sorted(table["swing"], reverse=True)

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
    one_way_curve,
    parameter_bounds,
    parameter_quantiles,
    parse_hta_model,
    threshold_analysis,
    tornado,
    two_way,
    uncertain_parameters,
)
from atmp_hta.life_tables import general_population_survival
from atmp_hta.params import sample
from atmp_hta.sensitivity import two_way_contour
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


# ------------------------------------------------------------------------- two-way and threshold analysis
def _direct_nmb(model, lam, **changes):
    """Incremental NMB with the model evaluated directly at the point values, some parameters changed."""
    values = {k: np.array([float(v[0])]) for k, v in base_values(model).items()}
    values.update({k: np.array([float(v)]) for k, v in changes.items()})
    r = evaluate_values(model, values)
    a, b = r["axi-cel"], r["salvage chemotherapy"]
    return float(lam * (a["effect"][0] - b["effect"][0]) - (a["cost"][0] - b["cost"][0]))


def test_two_way_grid_equals_the_model_evaluated_directly(model):
    t = two_way(model, "price_axicel", "cure_pfs_axicel", n_points=(5, 4))
    assert len(t) == 20 and set(t.outcome) == {"incremental_nmb"} and (t.wtp == 30_000).all()
    # default ranges: a fixed parameter from 0 to twice its value; an uncertain one its 95% interval
    np.testing.assert_allclose(np.unique(t.x_value), np.linspace(0, 2 * 280_451, 5))
    np.testing.assert_allclose(np.unique(t.y_value), np.linspace(*parameter_quantiles(model)["cure_pfs_axicel"], 4))
    for row in t.iloc[[0, 7, 13, 19]].itertuples():
        want = _direct_nmb(model, 30_000, price_axicel=row.x_value, cure_pfs_axicel=row.y_value)
        assert row.result == pytest.approx(want, rel=1e-12)
    assert t.base_result.iloc[0] == pytest.approx(_direct_nmb(model, 30_000), rel=1e-12)
    assert (t.x_base_value == 280_451).all()
    # the price is paid once at time 0, undiscounted: each price step lowers the NMB by exactly that step
    steps = t.pivot(index="x_value", columns="y_value", values="result").diff().dropna().to_numpy()
    np.testing.assert_allclose(steps, -2 * 280_451 / 4, rtol=1e-9)


def test_two_way_contour_is_where_the_model_gives_zero_nmb(model):
    t = two_way(model, "price_axicel", "cure_pfs_axicel", n_points=(9, 6), threshold=20_000)
    seg = two_way_contour(t)
    assert len(seg) >= 5
    for x, y in np.r_[seg[["x", "y"]].to_numpy(), seg[["x2", "y2"]].to_numpy()]:
        assert abs(_direct_nmb(model, 20_000, price_axicel=x, cure_pfs_axicel=y)) < 1.0  # GBP, of NMBs ~ 1e5


def test_threshold_price_is_the_deterministic_value_based_price(model):
    values = {k: np.array([float(v[0])]) for k, v in base_values(model).items()}
    r = evaluate_values(model, values)
    d_effect = r["axi-cel"]["effect"][0] - r["salvage chemotherapy"]["effect"][0]
    d_cost = r["axi-cel"]["cost"][0] - r["salvage chemotherapy"]["cost"][0]
    for lam in (20_000, 30_000):
        t = threshold_analysis(model, "price_axicel", threshold=lam)
        assert len(t) == 1 and t.direction.iloc[0] == "decreasing" and t.wtp.iloc[0] == lam
        by_hand = lam * d_effect - (d_cost - 280_451)  # price at which lam x dE = dC
        assert t.threshold.iloc[0] == pytest.approx(by_hand, rel=1e-9)
        assert 0 < by_hand < 280_451


def test_threshold_of_a_cure_fraction_zeroes_the_directly_evaluated_nmb(model):
    t = threshold_analysis(model, "cure_os_axicel", bounds=(0, 1), threshold=90_000)
    assert len(t) == 1 and t.direction.iloc[0] == "increasing"
    assert abs(_direct_nmb(model, 90_000, cure_os_axicel=t.threshold.iloc[0])) < 1e-4
    assert threshold_analysis(model, "cure_os_axicel", threshold=20_000).empty  # no crossing in the 95% interval


def test_one_way_curve_equals_the_model_evaluated_directly(model):
    c = one_way_curve(model, "u_pf", n_points=7)
    low, high = parameter_quantiles(model)["u_pf"]
    np.testing.assert_allclose(c.value, np.linspace(low, high, 7))
    for row in c.iloc[[0, 3, 6]].itertuples():
        assert row.result == pytest.approx(_direct_nmb(model, 30_000, u_pf=row.value), rel=1e-12)
    assert c.base_result.iloc[0] == pytest.approx(_direct_nmb(model, 30_000), rel=1e-12)


@pytest.mark.parametrize(("call", "message"), [
    (lambda m: parameter_bounds(m, "nope"), "'name' parameter of parameter_bounds must be a parameter of the model"),
    (lambda m: parameter_bounds(m, "cure_os_axicel", (0.2, 1.5)),
     r"'bounds' parameter of parameter_bounds must be inside \[0, 1\] for 'cure_os_axicel' \(a probability"),
    (lambda m: parameter_bounds(m, "u_pf", (0.9, 0.1)), "must be finite numbers with low < high"),
    (lambda m: two_way(m, "u_pf", "u_pf"), "'y' parameter of two_way must be a parameter other than x"),
    (lambda m: threshold_analysis(m, "price_axicel", threshold=-1), "'threshold' parameter of threshold_analysis"),
])
def test_sensitivity_inputs_are_checked(model, call, message):
    with pytest.raises(ParameterError, match=message):
        call(model)

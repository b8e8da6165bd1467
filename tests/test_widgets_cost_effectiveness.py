"""The cost-effectiveness dashboard without a browser or a kernel: what it shows is the package's numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from atmp_hta.cea import ceac
from atmp_hta.hta_model import cea_summary, evaluate_cea, load_hta_model, with_price
from atmp_hta.widgets.cost_effectiveness import CostEffectivenessDashboard

MODEL = "axicabtagene_ciloleucel_cea.yaml"


@pytest.fixture(scope="module")
def model():
    return load_hta_model(MODEL)


def shown(d):
    text = d.banner.value
    return {"optimal": re.search(r'<b class="atmp-optimal">([^<]*)</b>', text).group(1),
            "vbp": float(re.search(r'<b class="atmp-vbp">GBP ([^<]*)</b>', text).group(1).replace(",", "")),
            "pce": float(re.search(r'<b class="atmp-pce">([^<]*)</b>', text).group(1))}


def test_base_case_at_list_price_and_upper_threshold(model):
    d = CostEffectivenessDashboard()
    assert d.price.value == 280451 and d.threshold.value == 30000
    expected = cea_summary(model, evaluate_cea(model, 1), [30000])
    row = expected["by_threshold"].iloc[0]
    assert shown(d) == {"optimal": row["optimal"], "vbp": round(row["value_based_price"]), "pce": 1.0}
    icer = expected["icers"].set_index("strategy").loc["axi-cel", "icer"]
    assert f"GBP {icer:,.0f}" in d.icers.value


def test_price_slider_moves_the_icer_and_the_decision_not_the_value_based_price(model):
    d = CostEffectivenessDashboard()
    before = shown(d)
    d.price.value = 50_000
    expected = cea_summary(model, with_price(model, evaluate_cea(model, 1), 50_000), [30000])
    icer = expected["icers"].set_index("strategy").loc["axi-cel", "icer"]
    assert f"GBP {icer:,.0f}" in d.icers.value
    assert shown(d)["optimal"] == "axi-cel" and shown(d)["vbp"] == before["vbp"]
    # the price shift is exact: re-running the model with the price parameter changed gives the same costs
    values = {k: v for k, v in evaluate_cea(model, 1).draws.items()}
    values["price_axicel"] = np.array([50_000.0])
    from atmp_hta.hta_model import evaluate_values

    direct = evaluate_values(model, values)["axi-cel"]["cost"][0]
    assert d.result.table.set_index("strategy").loc["axi-cel", "cost"] == pytest.approx(direct, rel=1e-12)


def test_psa_button_then_threshold_updates_the_ceac_in_place(model):
    d = CostEffectivenessDashboard(seed=5)
    d.psa_draws.value = 2_000
    d.psa_button.click()
    assert d.psa_progress.value == 2_000 and "2,000 draws" in d.psa_status.value
    chart_before = d.ceac_chart
    psa = evaluate_cea(model, 2_000, rng=5)
    d.threshold.value = 120_000
    assert d.ceac_chart is chart_before
    row = cea_summary(model, psa, [120_000])["by_threshold"].iloc[0]
    assert shown(d)["pce"] == pytest.approx(row["probability_cost_effective"], abs=5e-4)
    data = d.ceac_chart.spec["datasets"]["ceac"]
    curve = {(r["wtp"], r["strategy"]): r["probability_cost_effective"] for r in data}
    want = ceac(psa.matrix("cost"), psa.matrix("effect"), [120_000], psa.strategies)
    for r in want.itertuples():
        assert curve[(120_000.0, r.strategy)] == pytest.approx(r.probability_cost_effective, abs=1e-12)


def test_psa_shows_evpi_and_the_ce_plane_of_the_package(model):
    from atmp_hta.voi import evpi

    d = CostEffectivenessDashboard()
    d.run_psa()
    d.price.value = 60_000  # a price at which the decision is uncertain, so EVPI > 0
    result = with_price(model, evaluate_cea(model, 10_000, rng=1), 60_000)
    # EVPI from its definition on the net monetary benefit at 30,000 per QALY: E[max NMB] - max E[NMB]
    nmb = 30_000 * result.matrix("effect") - result.matrix("cost")
    expected = evpi(nmb)
    assert expected > 0
    shown_evpi = float(re.search(r"<b class='atmp-evpi'>GBP ([^<]*)</b>", d.evpi.value).group(1).replace(",", ""))
    assert shown_evpi == round(expected)
    means = d.plane_chart.spec["datasets"]["ce_means"]
    by_strategy = result.table.groupby("strategy")[["cost", "effect"]].mean()
    for point in means:
        assert point["y"] == pytest.approx(by_strategy.loc[point["strategy"], "cost"], rel=1e-9)
        assert point["x"] == pytest.approx(by_strategy.loc[point["strategy"], "effect"], rel=1e-9)

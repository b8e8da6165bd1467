"""The cost-effectiveness dashboard without a browser or a kernel: what it shows is the package's numbers."""

from __future__ import annotations

import base64
import re
import shutil

import numpy as np
import pytest

from atmp_hta.cea import ceac, icer_table
from atmp_hta.hta_model import cea_summary, evaluate_cea, evaluate_values, load_hta_model, with_price
from atmp_hta.widgets.cost_effectiveness import CostEffectivenessDashboard, model_catalogue

MODEL = "axicabtagene_ciloleucel_cea.yaml"


@pytest.fixture(scope="module")
def model():
    return load_hta_model(MODEL)


@pytest.fixture(scope="module")
def base(model):
    return evaluate_cea(model, 1)


def number(text):
    return float(text.replace(",", ""))


def shown(d):
    text = d.banner.value
    return {"optimal": re.search(r'<b class="atmp-optimal">([^<]*)</b>', text).group(1),
            "vbp": number(re.search(r'<b class="atmp-vbp">GBP ([^<]*)</b>', text).group(1)),
            "pce": re.search(r'<b class="atmp-pce">([^<]*)</b>', text).group(1)}


def icer_shown(d, strategy):
    row = re.search(rf'<tr data-strategy="{re.escape(strategy)}"[^>]*>(.*?)</tr>', d.icers.value).group(1)
    return re.search(r"class='num atmp-icer'>([^<]*)<", row).group(1)


def expected_banner(model, result, threshold, probabilistic):
    row = cea_summary(model, result, [threshold])["by_threshold"].iloc[0]
    pce = f"{row['probability_cost_effective']:.3f}" if probabilistic else "—"
    return {"optimal": row["optimal"], "vbp": round(row["value_based_price"]), "pce": pce}


def downloaded_yaml(d):
    href = re.search(r'href="data:application/x-yaml;base64,([^"]*)"', d.download.value).group(1)
    return base64.b64decode(href).decode("utf-8")


def test_base_case_shows_no_probability_until_the_psa_has_run(model, base):
    d = CostEffectivenessDashboard()
    assert d.price == d.price_slider.value == 280451 and d.threshold == d.threshold_slider.value == 30000
    assert shown(d) == expected_banner(model, base, 30000, probabilistic=False)
    assert "run the probabilistic analysis" in d.banner.value and "(base case)" in d.banner.value
    icer = cea_summary(model, base, [30000])["icers"].set_index("strategy").loc["axi-cel", "icer"]
    assert icer_shown(d, "axi-cel") == f"{icer:,.0f}"


def test_price_slider_moves_the_icer_and_the_decision_not_the_value_based_price(model, base):
    d = CostEffectivenessDashboard()
    d.price_slider.value = 50_000
    moved = with_price(model, base, 50_000)
    icer = cea_summary(model, moved, [30000])["icers"].set_index("strategy").loc["axi-cel", "icer"]
    assert icer_shown(d, "axi-cel") == f"{icer:,.0f}"
    assert shown(d) == expected_banner(model, moved, 30000, probabilistic=False)
    # the value-based price does not depend on the price charged: the package gives the same at the list price
    assert shown(d)["vbp"] == expected_banner(model, base, 30000, probabilistic=False)["vbp"]
    # the price shift is exact: re-running the model with the price parameter changed gives the same costs
    values = dict(base.draws)
    values["price_axicel"] = np.array([50_000.0])
    direct = evaluate_values(model, values)["axi-cel"]["cost"][0]
    assert d.result.table.set_index("strategy").loc["axi-cel", "cost"] == pytest.approx(direct, rel=1e-12)


def test_icer_table_is_styled_with_numbers_right_aligned_and_status_codes_explained(model, base):
    d = CostEffectivenessDashboard()
    table = d.icers.value
    assert 'class="atmp-table atmp-icers"' in table
    heads = re.findall(r"<th( class=\"num\")?>([^<]*)</th>", table)
    assert [h for css, h in heads if css] == ["Cost (GBP)", "QALYs", "Incr. cost (GBP)", "Incr. QALYs",
                                             "ICER (GBP/QALY)"]
    want = icer_table(base.strategies, base.matrix("cost"), base.matrix("effect"))
    for r in want.itertuples():
        row = re.search(rf'<tr data-strategy="{re.escape(r.strategy)}"[^>]*>(.*?)</tr>', table).group(1)
        cells = re.findall(r"<td class='num[^']*'>([^<]*)</td>", row)
        assert cells[0] == f"{r.cost:,.0f}" and cells[1] == f"{r.effect:,.3f}"
        assert re.search(r'<abbr title="([^"]+)">([^<]+)</abbr>', row).group(2) == r.status
    assert "text-align: right" in table and "tabular-nums" in table
    for code, words in (("ND", "on the efficient frontier"), ("D", "dominated"), ("ED", "extendedly dominated")):
        assert f"<b>{code}</b> {words}" in table
    assert 'title="on the efficient frontier (not dominated)">ND</abbr>' in table


def test_conventions_are_one_readable_sentence_from_the_model(model):
    d = CostEffectivenessDashboard()
    text = d.conventions.value
    rate_costs, rate_effects = model.discount_rates()
    s = model.settings
    assert rate_costs == rate_effects
    assert f"Discounting {100 * rate_costs:g}% costs and effects (NICE reference case)" in text
    assert f"{s.horizon_years:g}-year horizon, annual cycles, half-cycle correction" in text
    assert f"start age {s.start_age:g}, {100 * s.male_share:.0f}% male" in text
    assert "one-off costs at time 0, undiscounted" in text and text.rstrip("</div>").endswith(model.currency_code)
    assert "discount_rate_costs" not in text and "reference_case" not in text


def test_psa_button_then_threshold_updates_the_ceac_and_the_probability_in_place(model):
    d = CostEffectivenessDashboard(seed=5)
    d.psa_draws.value = 2_000
    d.psa_button.click()
    assert d.psa_progress.value == 2_000 and "2,000 draws" in d.psa_status.value
    psa = evaluate_cea(model, 2_000, rng=5)
    assert shown(d) == expected_banner(model, psa, 30_000, probabilistic=True)
    assert "run the probabilistic analysis" not in d.banner.value
    chart_before, banner_before = d.ceac_chart, d.banner
    d.threshold_slider.value = 120_000
    assert d.ceac_chart is chart_before and d.banner is banner_before
    assert shown(d) == expected_banner(model, psa, 120_000, probabilistic=True)
    data = d.ceac_chart.spec["datasets"]["ceac"]
    curve = {(r["wtp"], r["strategy"]): r["probability_cost_effective"] for r in data}
    want = ceac(psa.matrix("cost"), psa.matrix("effect"), [120_000], psa.strategies)
    for r in want.itertuples():
        assert curve[(120_000.0, r.strategy)] == pytest.approx(r.probability_cost_effective, abs=1e-12)


def test_psa_shows_evpi_and_the_ce_plane_of_the_package_with_labels_off_their_points(model):
    from atmp_hta.voi import evpi

    d = CostEffectivenessDashboard()
    d.psa_draws.value = 2_000
    d.run_psa()
    d.price_slider.value = 60_000  # a price at which the decision is uncertain, so EVPI > 0
    result = with_price(model, evaluate_cea(model, 2_000, rng=1), 60_000)
    # EVPI from its definition on the net monetary benefit at 30,000 per QALY: E[max NMB] - max E[NMB]
    nmb = 30_000 * result.matrix("effect") - result.matrix("cost")
    expected = evpi(nmb)
    assert expected > 0
    shown_evpi = number(re.search(r"<b class='atmp-evpi'>GBP ([^<]*)</b>", d.evpi.value).group(1))
    assert shown_evpi == round(expected)
    spec = d.plane_chart.spec
    means = spec["datasets"]["ce_means"]
    by_strategy = result.table.groupby("strategy")[["cost", "effect"]].mean()
    for point in means:
        assert point["y"] == pytest.approx(by_strategy.loc[point["strategy"], "cost"], rel=1e-9)
        assert point["x"] == pytest.approx(by_strategy.loc[point["strategy"], "effect"], rel=1e-9)
    # the strategy labels: set off from the point (beyond its radius, size 110 ~ 6 px) on a white halo
    labels = [layer["mark"] for layer in spec["layer"] if isinstance(layer["mark"], dict)
              and layer["mark"]["type"] == "text"]
    assert len(labels) == 2 and labels[0]["stroke"] == "white" and "stroke" not in labels[1]
    assert all(m["dx"] >= 10 and m["dy"] <= -10 for m in labels)


def test_reset_restores_the_file_values_with_one_update(model, base):
    d = CostEffectivenessDashboard()
    d.price_slider.value = 90_000
    d.threshold_slider.value = 50_000
    calls = []
    update = d.update
    d.update = lambda: (calls.append(1), update())
    d.reset_button.click()
    assert len(calls) == 1
    assert d.price == model.parameters["price_axicel"].value and d.threshold == model.thresholds[-1]
    assert shown(d) == expected_banner(model, base, model.thresholds[-1], probabilistic=False)
    icer = cea_summary(model, base, [30000])["icers"].set_index("strategy").loc["axi-cel", "icer"]
    assert icer_shown(d, "axi-cel") == f"{icer:,.0f}"


def test_downloaded_yaml_loads_back_and_gives_the_same_results(model, tmp_path):
    d = CostEffectivenessDashboard()
    d.price_slider.value = 50_000
    d.threshold_slider.value = 25_000
    text = downloaded_yaml(d)
    assert "GBP 25,000 per QALY" in text.split("schema_version")[0]
    path = tmp_path / "priced.yaml"
    path.write_text(text, encoding="utf-8")
    priced = load_hta_model(path)
    assert priced.parameters["price_axicel"].value == 50_000
    for n, seed in ((1, None), (500, 3)):
        got = evaluate_cea(priced, n, rng=seed)
        want = with_price(model, evaluate_cea(model, n, rng=seed), 50_000)
        assert np.allclose(got.matrix("cost"), want.matrix("cost"), rtol=1e-12, atol=0)
        assert np.array_equal(got.matrix("effect"), want.matrix("effect"))
        a, b = cea_summary(priced, got, [25_000]), cea_summary(model, want, [25_000])
        assert np.allclose(a["icers"]["icer"].dropna(), b["icers"]["icer"].dropna(), rtol=1e-12)
        assert a["by_threshold"]["optimal"].equals(b["by_threshold"]["optimal"])


def test_picker_lists_the_model_files_and_opens_another(model, tmp_path):
    d = CostEffectivenessDashboard()
    assert list(d.picker.options) == model_catalogue()
    # a folder with the bundled file and a priced copy of it (from the download), plus an invalid file
    d.price_slider.value = 120_000
    shutil.copy(model._path, tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text(downloaded_yaml(d).replace(f"name: {model.name}", "name: priced copy"))
    (tmp_path / "c.yaml").write_text("schema_version: 1\nname: broken\n")
    e = CostEffectivenessDashboard(path=tmp_path / "a.yaml", directory=tmp_path)
    assert [label for label, _ in e.picker.options] == sorted([model.name, "priced copy"])
    e.psa_draws.value = 2_000
    e.run_psa()
    e.picker.value = str(tmp_path / "b.yaml")
    assert e.model.name == "priced copy" and e.price == 120_000 and e.psa_result is None
    priced = load_hta_model(tmp_path / "b.yaml")
    assert shown(e) == expected_banner(priced, evaluate_cea(priced, 1), 30_000, probabilistic=False)


def test_traits_follow_the_sliders_and_the_psa(model):
    d = CostEffectivenessDashboard()
    seen = []
    d.observe(seen.append, names=["price", "threshold", "psa_result"])
    d.price_slider.value = 70_000
    assert (seen[-1].name, seen[-1].new) == ("price", 70_000) and d.price == 70_000
    d.threshold_slider.value = 20_000
    assert (seen[-1].name, seen[-1].new) == ("threshold", 20_000)
    d.price = 80_000  # the other way round: setting the trait moves the slider and the views
    assert d.price_slider.value == 80_000
    assert shown(d) == expected_banner(model, with_price(model, evaluate_cea(model, 1), 80_000), 20_000, False)
    d.psa_draws.value = 2_000
    d.run_psa()
    assert seen[-1].name == "psa_result" and seen[-1].new is d.psa_result and d.psa_result.n_draws == 2_000
    assert d.error == ""


def test_a_file_that_does_not_load_sets_the_error_and_keeps_the_model(model, tmp_path):
    d = CostEffectivenessDashboard()
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nname: broken\n")
    d.load(bad)
    assert "bad.yaml" in d.error and 'class="atmp-banner error"' in d.banner.value
    assert d.model.name == model.name
    d.price_slider.value = 60_000  # the next update clears the error
    assert d.error == "" and 'class="atmp-banner error"' not in d.banner.value
    with pytest.raises(ValueError, match="bad.yaml"):
        CostEffectivenessDashboard(path=bad)

"""Cost-effectiveness charts: built from named datasets of result tables; they render offline."""

import numpy as np
import pandas as pd
import pytest

from atmp_hta import cea, charts_cea, sensitivity, voi
from atmp_hta.charts import to_svg, updated_spec


@pytest.fixture(scope="module")
def results():
    rng = np.random.default_rng(0)
    n = 400
    costs = rng.normal([0, 40_000, 90_000, 95_000], [1, 5_000, 9_000, 9_000], size=(n, 4))
    effects = rng.normal([5, 6, 7.5, 7.0], [0.1, 0.4, 0.6, 0.6], size=(n, 4))
    names = ["soc", "a", "b", "c"]
    draws = pd.DataFrame({"strategy": np.repeat(names, n), "cost": costs.T.ravel(), "effect": effects.T.ravel()})
    model = lambda v: {"inmb": v["wtp"] * v["dq"] - v["dc"]}  # noqa: E731
    tornado = sensitivity.tornado_table(sensitivity.one_way(model, {"wtp": 3e4, "dq": 1.0, "dc": 2e4},
                                                            {"dq": (0.5, 1.5), "dc": (1e4, 3e4)}))
    x = rng.normal(size=(n, 2))
    return {
        "icers": cea.icer_table(names, costs, effects),
        "draws": draws,
        "ceac": cea.ceac(costs, effects, np.linspace(0, 1e5, 11), names),
        "tornado": tornado,
        "evppi": voi.evppi_table(cea.net_monetary_benefit(costs, effects, 5e4), {"x1": x[:, 0], "x2": x[:, 1]},
                                 n_se_draws=10, rng=0),
    }


def test_charts_embed_their_tables_and_render(results):
    charts = {
        "tornado": charts_cea.tornado_chart(results["tornado"], "INMB"),
        "plane": charts_cea.ce_plane_chart(results["draws"], results["icers"], wtp=50_000, max_points=100),
        "ceac": charts_cea.ceac_chart(results["ceac"], "GBP"),
        "evppi": charts_cea.evppi_chart(results["evppi"]),
    }
    datasets = {k: set(c.to_dict()["datasets"]) for k, c in charts.items()}
    assert datasets["tornado"] == {"tornado_bars", "tornado_base"}
    assert datasets["plane"] == {"ce_draws", "ce_means", "ce_frontier", "ce_wtp"}
    assert datasets["ceac"] == {"ceac", "ceaf"}
    assert {"evppi", "evpi"} <= datasets["evppi"]
    svg = to_svg(charts["plane"])
    assert svg.startswith("<svg")


def test_tables_are_the_results_not_recomputed(results):
    tables, _ = charts_cea.ce_plane_tables(results["draws"], results["icers"], max_points=100)
    assert len(tables["ce_draws"]) == 4 * 100
    front = results["icers"][results["icers"].status == "ND"]
    assert tables["ce_frontier"].strategy.tolist() == front.strategy.tolist()
    ceac_tables, _ = charts_cea.ceac_tables(results["ceac"])
    assert ceac_tables["ceaf"].strategy.tolist() == cea.acceptability_frontier(results["ceac"]).strategy.tolist()
    spec = charts_cea.ceac_chart(results["ceac"]).to_dict()
    new = updated_spec(spec, {"ceaf": ceac_tables["ceaf"].head(2)})
    assert len(new["datasets"]["ceaf"]) == 2


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="missing"):
        charts_cea.ceac_tables(pd.DataFrame({"wtp": [0]}))


# ------------------------------------------------------------------------------ two-way and threshold
def _inmb(v):
    return {"inmb": v["wtp"] * v["dq"] - v["dc"]}


BASE = {"wtp": 30_000.0, "dq": 1.0, "dc": 20_000.0}


def test_two_way_chart_draws_the_table_its_zero_line_and_base_case():
    t = sensitivity.two_way(_inmb, BASE, ("dq", 0.2, 1.2), ("dc", 10_000, 40_000), n_points=(6, 4))
    chart = charts_cea.two_way_chart(t, "Incremental NMB", x_label="QALYs gained", y_label="Extra cost")
    spec = chart.to_dict()
    assert set(spec["datasets"]) == {"two_way_cells", "two_way_contour", "two_way_base"}
    tables, _ = charts_cea.two_way_tables(t)
    # the cells are the table's results, not recomputed; each cell spans half-way to its neighbours
    np.testing.assert_array_equal(tables["two_way_cells"].result, t.result)
    cells = tables["two_way_cells"]
    np.testing.assert_allclose((cells.x_low + cells.x_high) / 2, cells.x)
    np.testing.assert_allclose(cells.x_high - cells.x_low, 0.2)
    # the zero line is sensitivity.two_way_contour's, on the closed form dc = 30,000 dq
    contour = sensitivity.two_way_contour(t)
    np.testing.assert_array_equal(tables["two_way_contour"].to_numpy(), contour[["x", "y", "x2", "y2"]].to_numpy())
    np.testing.assert_allclose(contour.y, 30_000 * contour.x, rtol=1e-12)
    base = tables["two_way_base"].iloc[0]
    assert (base.x, base.y, base.result) == (1.0, 20_000.0, 10_000.0)  # 30,000 x 1 - 20,000 by hand
    svg = to_svg(chart)
    assert svg.startswith("<svg") and "base case (10,000)" in svg and "QALYs gained" in svg


def test_threshold_chart_marks_and_labels_the_threshold():
    curve = sensitivity.one_way(_inmb, BASE, {"dc": (0, 60_000)}, n_points=31)
    found = sensitivity.threshold_analysis(_inmb, BASE, "dc", (0, 60_000), outcome="inmb")
    assert found.threshold.iloc[0] == pytest.approx(30_000)  # inmb = 30,000 x 1 - dc = 0 by hand
    chart = charts_cea.threshold_chart(curve, found, "Incremental NMB", parameter_label="Extra cost")
    tables, _ = charts_cea.threshold_tables(curve, found)
    assert set(chart.to_dict()["datasets"]) == {"threshold_curve", "threshold_points", "threshold_target",
                                                "threshold_base"}
    np.testing.assert_array_equal(tables["threshold_curve"].result, curve.result)
    assert tables["threshold_points"].threshold.tolist() == found.threshold.tolist()
    assert tables["threshold_points"].label.tolist() == ["threshold 30,000"]
    svg = to_svg(chart)
    assert svg.startswith("<svg") and "threshold 30,000" in svg and "base case 20,000" in svg
    # no crossing: the chart says so
    none = sensitivity.threshold_analysis(_inmb, BASE, "dc", (0, 10_000), outcome="inmb")
    empty = charts_cea.threshold_chart(sensitivity.one_way(_inmb, BASE, {"dc": (0, 10_000)}), none)
    assert "no threshold in this range" in to_svg(empty)


def test_two_way_tables_need_an_outcome_when_there_are_several():
    t = sensitivity.two_way(lambda v: {"a": v["dq"], "b": v["dc"]}, BASE, ("dq", 0, 1), ("dc", 0, 1), n_points=2)
    with pytest.raises(ValueError, match="pass outcome="):
        charts_cea.two_way_tables(t)
    assert len(charts_cea.two_way_tables(t, outcome="b")[0]["two_way_cells"]) == 4

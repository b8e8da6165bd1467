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

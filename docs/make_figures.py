"""Regenerate the README's figures from the package: `.venv/bin/python docs/make_figures.py`."""

from pathlib import Path

from atmp_hta import charts
from atmp_hta.benefit_risk import evaluate, net_value_curve, tipping_points
from atmp_hta.params import load_parameters, point_values
from atmp_hta.trees import tree_table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    ps = load_parameters(ROOT / "parameters" / "elivaldogene_autotemcel.yaml")
    charts.save_png(charts.net_value_waterfall(evaluate(ps, rng=1)), OUT / "waterfall.png", scale=1.5)
    tip = tipping_points(ps, ["p_oncogenesis"], rng=1).iloc[0].to_dict()
    curve = net_value_curve(ps, "p_oncogenesis", rng=1)
    charts.save_png(charts.tipping_chart(curve, tip, current=tip["current"], label="P(haematological cancer)"),
                    OUT / "tipping.png", scale=1.5)
    charts.save_png(charts.tree_chart(tree_table(ps, point_values(ps))), OUT / "tree.png", scale=1.5)


if __name__ == "__main__":
    main()

"""ICER table, net benefit, CEAC/CEAF and EVPI over willingness to pay.

Reference values come from dampack's documented output and from hand calculation, never from this code.
"""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atmp_hta import cea
from atmp_hta.exceptions import ParameterError
from atmp_hta.voi import evpi

# ------------------------------------------------------------------------------------------ references
# dampack "Basic Cost Effectiveness Analysis" vignette, example 2 (C. difficile PSA means, Rajasingham et al.
# Clin Infect Dis 2020;70:754-62), calculate_icers() output stored in dampack's repository as
# vignettes/cdiff_icers.csv (github.com/DARTH-git/dampack). Both kinds of dominance: s39 ED; s4, s13, s37,
# s20 D. Values copied from that file (15 significant digits); tolerance: relative 1e-9.
CDIFF = """\
Strategy,Cost,Effect,Inc_Cost,Inc_Effect,ICER,Status
s3,57336.0059896538,12.9399639202408,,,,ND
s27,57541.2526373815,13.0140640696275,205.246647727639,0.0741001493866911,2769.85470915263,ND
s33,57642.2587507842,13.0389116321918,101.006113402713,0.0248475625643216,4065.03105249231,ND
s31,57934.0743411241,13.0966257932217,291.815590339931,0.0577141610298533,5056.2216470406,ND
s43,58072.1137208494,13.11285766912,138.039379725262,0.0162318758983169,8504.2160616553,ND
s44,58665.7823044647,13.1283328397025,593.668583615326,0.0154751705825014,38362.6519947134,ND
s39,57814.6470919581,13.0462790163185,,,,ED
s4,57887.481549326,12.9970657153765,,,,D
s13,58018.6252420203,13.0650412387992,,,,D
s37,58081.7947984323,13.1029711156978,,,,D
s20,58634.2026441398,13.1100568867995,,,,D
"""


def _cdiff():
    from io import StringIO

    return pd.read_csv(StringIO(CDIFF))


def test_icer_table_reproduces_dampack_cdiff_vignette():
    ref = _cdiff()
    shuffled = ref.sample(frac=1.0, random_state=3)  # dampack's input order is not the printed order
    got = cea.icer_table(shuffled.Strategy, shuffled.Cost, shuffled.Effect)
    assert list(got.columns) == list(cea.ICER_COLUMNS)
    assert got.strategy.tolist() == ref.Strategy.tolist()
    assert got.status.tolist() == ref.Status.tolist()
    for ours, theirs in [("cost", "Cost"), ("effect", "Effect"), ("incremental_cost", "Inc_Cost"),
                         ("incremental_effect", "Inc_Effect"), ("icer", "ICER")]:
        np.testing.assert_allclose(got[ours], ref[theirs], rtol=1e-9, equal_nan=True)


def test_icer_table_hiv_screening_vignette():
    # dampack vignette example 1: Paltiel AD et al. Ann Intern Med 2006;145:797-806, table 4 (high-risk
    # population); QALYs are quality-adjusted life-months / 12. The vignette states annual screening is
    # strongly dominated. ICERs by hand: one time 1000/(0.32/12) = 37,500; 5yr 1020/(0.21/12) = 58,285.71;
    # 3yr 420/(0.05/12) = 100,800. Tolerance: relative 1e-9.
    names = ["status quo", "one time", "5yr", "3yr", "annual"]
    got = cea.icer_table(names, [26000, 27000, 28020, 28440, 29440],
                         np.array([277.25, 277.57, 277.78, 277.83, 277.76]) / 12)
    assert got.status.tolist() == ["ND", "ND", "ND", "ND", "D"]
    assert got.strategy.tolist() == names
    np.testing.assert_allclose(got.icer.iloc[1:4], [37_500, 1020 / (0.21 / 12), 100_800], rtol=1e-9)


def test_extended_dominance_cascades():
    # By hand: slopes A->B 100, B->C 200, C->D 250, D->E 115.4: D is ED; then C->E 133.3 < 200 so C is ED;
    # B->E = 400 / 2.5 = 160 > 100: frontier A, B, E.
    got = cea.icer_table(list("ABCDE"), [0, 100, 300, 350, 500], [0, 1, 2, 2.2, 3.5])
    assert dict(zip(got.strategy, got.status, strict=True)) == {"A": "ND", "B": "ND", "E": "ND", "C": "ED",
                                                                 "D": "ED"}
    assert got.icer.iloc[2] == pytest.approx(160.0)


def test_ties_are_resolved_by_name_and_collinear_points_stay_on_the_frontier():
    got = cea.icer_table(["b", "a", "c", "d"], [10, 10, 20, 30], [1, 1, 2, 3])
    # a and b identical: "a" sorts first and stays; c is on the line a-d (equal ICERs): stays ND
    assert dict(zip(got.strategy, got.status, strict=True)) == {"a": "ND", "c": "ND", "d": "ND", "b": "D"}
    same_cost = cea.icer_table(["x", "y"], [5, 5], [1, 2])
    assert dict(zip(same_cost.strategy, same_cost.status, strict=True)) == {"y": "ND", "x": "D"}


def test_icer_table_of_draws_uses_the_means():
    rng = np.random.default_rng(0)
    c, e = rng.normal(size=(50, 3)) + [0, 10, 20], rng.normal(size=(50, 3)) + [0, 1, 3]
    pd.testing.assert_frame_equal(cea.icer_table(list("abc"), c, e),
                                  cea.icer_table(list("abc"), c.mean(axis=0), e.mean(axis=0)))


# --------------------------------------------------------------------------------- oracle and properties
def _naive_status(names, costs, effects):
    """Definitions, pairwise/triple-wise and in exact integer arithmetic (for integer inputs)."""
    n = len(names)
    dominated = set()
    for j in range(n):
        for i in range(n):
            if i == j:
                continue
            weakly_better = costs[i] <= costs[j] and effects[i] >= effects[j]
            strictly = costs[i] < costs[j] or effects[i] > effects[j]
            if weakly_better and (strictly or names[i] < names[j]):
                dominated.add(j)
    rest = [j for j in range(n) if j not in dominated]
    extended = set()
    for j in rest:
        for i, k in itertools.permutations(rest, 2):
            if effects[i] < effects[j] < effects[k]:
                # j lies strictly above the chord from i to k
                above = (costs[j] - costs[i]) * (effects[k] - effects[i])
                if above > (costs[k] - costs[i]) * (effects[j] - effects[i]):
                    extended.add(j)
    return {names[j]: "D" if j in dominated else "ED" if j in extended else "ND" for j in range(n)}


points = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=9)


@settings(max_examples=150, deadline=None)
@given(points)
def test_icer_status_matches_the_definitions(pts):
    names = [f"s{i}" for i in range(len(pts))]
    costs = [float(c) for c, _ in pts]
    effects = [float(e) for _, e in pts]
    got = cea.icer_table(names, costs, effects)
    assert dict(zip(got.strategy, got.status, strict=True)) == _naive_status(names, costs, effects)
    nd = got[got.status == "ND"]
    assert (np.diff(nd.icer.to_numpy()[1:]) >= 0).all()  # ICERs increase along the frontier


@settings(max_examples=60, deadline=None)
@given(points, st.randoms(use_true_random=False))
def test_icer_table_does_not_depend_on_strategy_order(pts, random):
    names = [f"s{i}" for i in range(len(pts))]
    order = list(range(len(pts)))
    random.shuffle(order)
    a = cea.icer_table(names, [p[0] for p in pts], [p[1] for p in pts])
    b = cea.icer_table([names[i] for i in order], [pts[i][0] for i in order], [pts[i][1] for i in order])
    pd.testing.assert_frame_equal(a, b)


# ------------------------------------------------------------------------------------------ net benefit
def test_net_benefit_by_hand():
    assert cea.net_monetary_benefit(12_000, 0.8, 20_000) == pytest.approx(4_000)
    assert cea.net_health_benefit(12_000, 0.8, 20_000) == pytest.approx(0.2)
    grid = cea.net_monetary_benefit(np.ones((4, 2)), np.ones((4, 2)), [0, 1, 2])
    assert grid.shape == (4, 2, 3) and grid[0, 0].tolist() == [-1, 0, 1]


# --------------------------------------------------------------------------------------------------- CEAC
def _naive_ceac(costs, effects, wtp):
    rows = []
    for w in wtp:
        nb = effects * w - costs
        counts = np.zeros(costs.shape[1])
        for row in nb:
            winners = np.flatnonzero(row == row.max())
            counts[winners] += 1 / winners.size
        rows.append(counts / costs.shape[0])
    return np.array(rows)


def test_ceac_matches_a_loop_and_the_frontier_is_the_expected_best():
    rng = np.random.default_rng(11)
    costs = rng.normal([0, 20_000, 45_000], [1, 4_000, 9_000], size=(400, 3))
    effects = rng.normal([5, 6, 6.8], [0.2, 0.5, 0.8], size=(400, 3))
    wtp = np.linspace(0, 100_000, 21)
    t = cea.ceac(costs, effects, wtp, ["soc", "a", "b"])
    probs = t.pivot(index="wtp", columns="strategy", values="probability_cost_effective")[["soc", "a", "b"]]
    np.testing.assert_allclose(probs.to_numpy(), _naive_ceac(costs, effects, wtp), atol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    front = cea.acceptability_frontier(t)
    expected_best = np.array(["soc", "a", "b"])[(effects.mean(0) * wtp[:, None] - costs.mean(0)).argmax(axis=1)]
    assert front.strategy.tolist() == expected_best.tolist()


def test_ceac_chunks_agree(monkeypatch):
    rng = np.random.default_rng(5)
    c, e = rng.normal(size=(300, 3)), rng.normal(size=(300, 3))
    whole = cea.ceac(c, e, np.linspace(0, 3, 17))
    monkeypatch.setattr(cea, "_CHUNK_ELEMENTS", 1000)  # 1 wtp value per chunk
    pd.testing.assert_frame_equal(whole, cea.ceac(c, e, np.linspace(0, 3, 17)))


def test_evpi_by_wtp_matches_evpi_at_each_value():
    rng = np.random.default_rng(2)
    c, e = rng.normal(size=(500, 3)) * [1, 2, 3], rng.normal(size=(500, 3))
    wtp = [0.0, 0.5, 1.0, 4.0]
    got = cea.evpi_by_wtp(c, e, wtp, population=10)
    np.testing.assert_allclose(got.evpi, [10 * evpi(e * w - c) for w in wtp], rtol=1e-12)


def test_pivot_draws_round_trip():
    t = pd.DataFrame({"draw": [1, 0, 1, 0], "strategy": ["b", "b", "a", "a"], "cost": [4.0, 2.0, 3.0, 1.0]})
    names, arr = cea.pivot_draws(t, "cost")
    assert names == ["b", "a"] and arr.tolist() == [[2.0, 1.0], [4.0, 3.0]]
    with pytest.raises(ParameterError, match="one row per draw and strategy. Got no row for draw 0, strategy 'a'"):
        cea.pivot_draws(t.iloc[:3], "cost")


@pytest.mark.parametrize(("cell", "shown"), [(np.nan, "an empty cell"), ("x", "'x'"), (np.inf, "inf")])
def test_pivot_draws_names_a_bad_value_not_missing_rows(cell, shown):
    # a NaN used to be counted as a missing row ("missing or repeated draw × strategy rows")
    t = pd.DataFrame({"draw": [0, 0, 1, 1], "strategy": ["a", "b", "a", "b"], "effect": [1.0, 2.0, cell, 4.0]})
    with pytest.raises(ParameterError) as info:
        cea.pivot_draws(t, "effect")
    assert str(info.value) == ("The 'value' parameter of pivot_draws must be a column of finite numbers (column "
                               f"'effect'). Got {shown} in row 2 (draw 1, strategy 'a').")


# ----------------------------------------------------------------------------------------------- errors
def test_errors_name_the_parameter_range_and_value():
    with pytest.raises(ParameterError, match=r"^The 'wtp' parameter of ceac must be >= 0\. Got -1\.$"):
        cea.ceac(np.zeros((3, 2)), np.zeros((3, 2)), [10, -1])
    with pytest.raises(ParameterError, match="'wtp' parameter of net_health_benefit must be > 0"):
        cea.net_health_benefit(1, 1, 0)
    with pytest.raises(ParameterError, match="'strategies' parameter of icer_table must be unique names"):
        cea.icer_table(["a", "a"], [1, 2], [1, 2])
    with pytest.raises(ParameterError, match="'effects' parameter of icer_table must be the same shape"):
        cea.icer_table(["a", "b"], [1, 2], [1, 2, 3])
    with pytest.raises(ParameterError, match="'costs' parameter of icer_table must be finite numbers"):
        cea.icer_table(["a", "b"], [1, np.nan], [1, 2])
    with pytest.raises(ParameterError, match="'strategies' parameter of ceac must be 3 names"):
        cea.ceac(np.zeros((3, 3)), np.zeros((3, 3)), 1, ["a", "b"])

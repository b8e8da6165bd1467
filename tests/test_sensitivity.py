"""One-way, two-way and threshold analyses: vectorised runs against naive loops and closed forms."""

import numpy as np
import pandas as pd
import pytest

from atmp_hta import sensitivity as sa
from atmp_hta.exceptions import ModelError, ParameterError

BASE = {"wtp": 30_000.0, "dq": 1.2, "dc": 25_000.0, "p": 0.6}
RANGES = {"dq": (0.8, 1.6), "dc": (15_000, 40_000), "p": (0.3, 0.9)}


class Counted:
    """A small model with a nonlinearity; counts its calls and the scenarios it saw."""

    def __init__(self):
        self.calls = 0

    def __call__(self, v):
        self.calls += 1
        qalys = v["dq"] * v["p"] ** 0.5
        return {"nmb_new": v["wtp"] * qalys - v["dc"], "nmb_old": 0.0 * v["dq"]}


def test_one_way_is_one_model_call_and_equals_a_loop():
    model = Counted()
    t = sa.one_way(model, BASE, RANGES, n_points=5)
    assert model.calls == 1
    assert len(t) == 3 * 5 * 2 and set(t.point) == {"low", "interior", "high"}
    for row in t.itertuples():  # naive: one scenario at a time, scalars
        values = {k: np.array([v]) for k, v in BASE.items()}
        values[row.parameter] = np.array([row.value])
        assert row.result == pytest.approx(float(Counted()(values)[row.outcome][0]))
    base = float(Counted()({k: np.array([v]) for k, v in BASE.items()})["nmb_new"][0])
    assert (t[t.outcome == "nmb_new"].base_result == base).all()


def test_tornado_orders_by_swing():
    t = sa.tornado_table(sa.one_way(Counted(), BASE, RANGES), outcome="nmb_new")
    assert (np.diff(t.swing) <= 0).all() and t["rank"].tolist() == [1, 2, 3]
    # dc enters linearly: its swing is exactly the width of its range
    assert t.set_index("parameter").loc["dc", "swing"] == pytest.approx(25_000)
    with pytest.raises(ParameterError, match="'outcome' parameter of tornado_table must be one of"):
        sa.tornado_table(sa.one_way(Counted(), BASE, RANGES))


def test_two_way_equals_a_loop_and_optimal_strategy_map():
    model = Counted()
    t = sa.two_way(model, BASE, ("dq", 0.5, 2.0), ("wtp", 10_000, 50_000), n_points=(4, 3))
    assert model.calls == 1 and len(t) == 4 * 3 * 2
    new = t[t.outcome == "nmb_new"]
    expected = [w * q * 0.6**0.5 - 25_000 for q in np.linspace(0.5, 2.0, 4) for w in np.linspace(1e4, 5e4, 3)]
    np.testing.assert_allclose(new.result, expected)
    best = sa.optimal_outcome(t)
    assert best.optimal.tolist() == ["nmb_new" if e > 0 else "nmb_old" for e in expected]


def test_threshold_analysis_matches_closed_forms():
    # nmb_new - nmb_old = wtp * dq * sqrt(p) - dc = 0  <=>  dc = 30,000 x 1.2 x sqrt(0.6) = 27,885.48
    t = sa.threshold_analysis(Counted(), BASE, "dc", (0, 100_000), outcome=("nmb_new", "nmb_old"))
    assert len(t) == 1 and t.direction.iloc[0] == "decreasing"
    assert t.threshold.iloc[0] == pytest.approx(30_000 * 1.2 * 0.6**0.5, abs=1e-6)
    # two crossings: (x - 1)(x - 3) = x^2 - 4x + 3 crosses 0 at 1 and 3
    quad = sa.threshold_analysis(lambda v: (v["x"] - 1) * (v["x"] - 3), {"x": 0.0}, "x", (0, 5),
                                 outcome="outcome", n_points=50)
    np.testing.assert_allclose(quad.threshold, [1.0, 3.0], atol=1e-8)
    assert quad.direction.tolist() == ["decreasing", "increasing"]
    none = sa.threshold_analysis(lambda v: v["x"] + 10, {"x": 0.0}, "x", (0, 5), outcome="outcome")
    assert none.empty and list(none.columns) == ["parameter", "threshold", "outcome", "target", "direction",
                                                 "base_value"]


def test_bad_models_and_inputs():
    with pytest.raises(ModelError, match="expected one value per scenario"):
        sa.one_way(lambda v: np.zeros(2), BASE, RANGES)
    with pytest.raises(ParameterError, match="'ranges' parameter of one_way must be names of parameters in base"):
        sa.one_way(Counted(), BASE, {"zz": (0, 1)})
    with pytest.raises(ParameterError, match=r"'ranges' parameter of one_way must be finite low != high"):
        sa.one_way(Counted(), BASE, {"dq": (1, 1)})
    with pytest.raises(ParameterError, match="'n_points' parameter of one_way must be an integer >= 2"):
        sa.one_way(Counted(), BASE, RANGES, n_points=1)
    with pytest.raises(ParameterError, match="'outcome' parameter of threshold_analysis must be one of the model's"):
        sa.threshold_analysis(Counted(), BASE, "dc", (0, 1), outcome="qalys")
    assert isinstance(sa.one_way(lambda v: v["dq"] * 2, BASE, RANGES), pd.DataFrame)


def test_two_way_records_the_base_case_from_the_same_call():
    model = Counted()
    t = sa.two_way(model, BASE, ("dq", 0.5, 2.0), ("wtp", 10_000, 50_000), n_points=3)
    assert model.calls == 1
    new = t[t.outcome == "nmb_new"]
    assert (new.x_base_value == 1.2).all() and (new.y_base_value == 30_000).all()
    assert new.base_result.iloc[0] == pytest.approx(30_000 * 1.2 * 0.6**0.5 - 25_000)  # by hand


def test_two_way_contour_lies_on_the_closed_form_line():
    # inmb = wtp x dq - dc is linear in dq and in dc: the crossing on every cell edge is exact, and the
    # contour is the segment of dc = 30,000 dq inside the box dq in [0.4, 1.4], dc in [15,000, 40,000]:
    # from (0.5, 15,000) to (4/3, 40,000), length sqrt((4/3 - 0.5)^2 + 25,000^2) in (dq, dc) units
    seg = sa.two_way_contour(sa.two_way(lambda v: {"inmb": 30_000 * v["dq"] - v["dc"]}, BASE,
                                        ("dq", 0.4, 1.4), ("dc", 15_000, 40_000), n_points=(11, 7)))
    assert len(seg) > 0 and list(seg.columns) == ["x_parameter", "y_parameter", "outcome", "target", "x", "y",
                                                  "x2", "y2"]
    np.testing.assert_allclose(seg.y, 30_000 * seg.x, rtol=1e-12)
    np.testing.assert_allclose(seg.y2, 30_000 * seg.x2, rtol=1e-12)
    ends = np.concatenate([seg[["x", "y"]].to_numpy(), seg[["x2", "y2"]].to_numpy()])
    np.testing.assert_allclose(ends[:, 0].min(), 0.5, rtol=1e-12)
    np.testing.assert_allclose(ends[:, 0].max(), 4 / 3, rtol=1e-12)
    dx, dy = (seg.x2 - seg.x) / 0.1, (seg.y2 - seg.y) / 1.0  # scaled so both axes count
    assert np.hypot(dx, dy).sum() == pytest.approx(np.hypot((4 / 3 - 0.5) / 0.1, 25_000.0), rel=1e-12)
    # a target other than 0: inmb = 5,000 is dc = 30,000 dq - 5,000
    shifted = sa.two_way_contour(sa.two_way(lambda v: {"inmb": 30_000 * v["dq"] - v["dc"]}, BASE,
                                            ("dq", 0.4, 1.4), ("dc", 15_000, 40_000), n_points=5), target=5_000)
    np.testing.assert_allclose(shifted.y, 30_000 * shifted.x - 5_000, rtol=1e-12)


def test_two_way_contour_of_a_circle_saddles_and_no_crossing():
    circle = sa.two_way(lambda v: v["x"] ** 2 + v["y"] ** 2, {"x": 0.0, "y": 0.0}, ("x", -2, 2), ("y", -2, 2),
                        n_points=81)
    seg = sa.two_way_contour(circle, target=1.0)
    radius = np.hypot(np.r_[seg.x, seg.x2], np.r_[seg.y, seg.y2])
    np.testing.assert_allclose(radius, 1.0, atol=2e-3)  # linear interpolation of x^2 + y^2 on a 0.05 grid
    assert np.hypot(seg.x2 - seg.x, seg.y2 - seg.y).sum() == pytest.approx(2 * np.pi, rel=2e-3)
    # a saddle: x*y + 0.5 on the corners (+-1, +-1) is 1.5, -0.5, 1.5, -0.5 and 0.5 (> 0) at the centre, so
    # the two segments cut off the negative corners (1, -1) and (-1, 1); edges are linear: exact crossings
    saddle = sa.two_way_contour(sa.two_way(lambda v: v["x"] * v["y"] + 0.5, {"x": 0.0, "y": 0.0}, ("x", -1, 1),
                                           ("y", -1, 1), n_points=2))
    got = sorted(tuple(sorted([(r.x, r.y), (r.x2, r.y2)])) for r in saddle.itertuples())
    assert got == [((-1.0, 0.5), (-0.5, 1.0)), ((0.5, -1.0), (1.0, -0.5))]
    none = sa.two_way_contour(sa.two_way(lambda v: v["x"] + 10, {"x": 0.0, "y": 0.0}, ("x", 0, 1), ("y", 0, 1),
                                         n_points=3))
    assert none.empty
    with pytest.raises(ParameterError, match="'outcome' parameter of two_way_contour must be one of"):
        sa.two_way_contour(sa.two_way(Counted(), BASE, ("dq", 0.5, 1), ("dc", 0, 1), n_points=2))

"""Clearance rule and Kaplan–Meier: hand-made histories, a definitional oracle, a hand-written KM."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.duration.survfunc import SurvfuncRight

from atmp_hta.planners.shedding import clearance_kernel, clearance_km, clearance_times

NAN = np.nan


def _one(times, detected, **kw):
    return clearance_times(["s"] * len(times), times, detected, **kw).iloc[0]


# ----------------------------------------------------------------------------------------------- hand-made


def test_simple_clearance_first_and_nth_negative():
    row = _one([0, 7, 14, 21, 28, 35], [1, 1, 0, 0, 0, 0])
    assert row.first_negative_time == 14 and row.clearance_time == 28
    assert row.cleared and math.isnan(row.censoring_time) and not row.relapsed
    assert row.last_positive_time == 7 and row.ever_detected


def test_relapse_after_negatives_resets_the_count():
    # 3 negatives (days 7, 14, 21), positive at 28, then 3 negatives again: sustained clearance at day 49
    row = _one([0, 7, 14, 21, 28, 35, 42, 49], [1, 0, 0, 0, 1, 0, 0, 0])
    assert row.first_negative_time == 35 and row.clearance_time == 49
    assert row.relapsed  # the first run was a false clearance
    # two negatives then a positive: the count restarts
    row = _one([0, 1, 2, 3, 4, 5, 6], [1, 0, 0, 1, 0, 0, 0])
    assert (row.first_negative_time, row.clearance_time) == (4, 6) and not row.relapsed


def test_missing_visit_skip_versus_break():
    t = [0, 7, 14, 21, 28, 35, 42]
    d = [1, 0, NAN, 0, 0, 0, 0]
    skip = _one(t, d, missing="skip")   # negatives 7, 21, 28 form a run (missing 14 skipped)
    assert (skip.first_negative_time, skip.clearance_time) == (7, 28)
    assert skip.n_missing == 1 and skip.n_samples == 6
    brk = _one(t, d, missing="break")   # missing 14 breaks: the run is 21, 28, 35
    assert (brk.first_negative_time, brk.clearance_time) == (21, 35)
    # pd.NA and None are missing too
    assert _one(t, pd.array([1, 0, pd.NA, 0, 0, 0, 0], dtype="boolean")).clearance_time == 28
    assert _one(t, [1, 0, None, 0, 0, 0, 0]).clearance_time == 28


def test_never_clearing_subject_is_censored_at_last_non_missing_sample():
    row = _one([0, 7, 14, 21, 28], [1, 1, 0, 0, NAN])
    assert not row.cleared and row.censoring_time == 21
    assert math.isnan(row.first_negative_time) and math.isnan(row.clearance_time)
    row = _one([0, 7, 14], [1, 1, 1])
    assert not row.cleared and row.censoring_time == 14 and row.last_positive_time == 14


def test_never_positive_subject_clears_at_nth_negative():
    row = _one([0, 7, 14, 21], [0, 0, 0, 0])
    assert row.cleared and not row.ever_detected
    assert (row.first_negative_time, row.clearance_time) == (0, 14)


def test_several_subjects_any_order_of_rows_and_consecutive_parameter():
    subj = ["b", "a", "b", "a", "b", "a", "a"]
    t = [0, 0, 7, 7, 14, 14, 21]
    d = [1, 1, 0, 0, 0, 0, 0]
    tab = clearance_times(subj, t, d, consecutive=2)
    assert tab.subject.tolist() == ["b", "a"]                     # order of first appearance
    assert tab.set_index("subject").clearance_time.to_dict() == {"b": 14.0, "a": 14.0}
    assert list(tab.columns[:2]) == ["subject", "n_samples"]
    assert {"first_negative_time", "clearance_time", "cleared", "censoring_time"} <= set(tab.columns)


# ----------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, match", [
    (dict(subject=["a"] * 3, time=[0, -7, 14], detected=[1, 0, 0]), r"'time'.*>= 0\. Got \[-7\]"),
    (dict(subject=["a"] * 3, time=[3, 1, 2], detected=[1, 0, 0]),
     r"^The 'time' parameter of clearance_times must be sorted strictly ascending .*within each subject\. "
     r"Got \[3, 1, 2\]\.$"),
    (dict(subject=["a"] * 3, time=[0, 7, 7], detected=[1, 0, 0]), r"strictly ascending"),
    (dict(subject=["a", "a", "b"], time=[0, 7, 0], detected=[1, 0, 0]), r"at least two samples.*for subject 'b'"),
    (dict(subject=["a"] * 3, time=[0, 7, 14], detected=[1, NAN, NAN]), r"two non-missing samples"),
    (dict(subject=["a"] * 3, time=[0, 7, 14], detected=[1, 2, 0]), r"'detected'.*Got \[2\]"),
    (dict(subject=["a"] * 3, time=[0, 7, 14], detected=[1, 0, 0], consecutive=0), r"'consecutive'"),
    (dict(subject=["a"] * 3, time=[0, 7, 14], detected=[1, 0, 0], missing="ignore"), r"'missing'"),
])
def test_bad_input_raises_value_error_naming_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        clearance_times(**kwargs)


@pytest.mark.parametrize("subject, time, detected, message", [
    (["a"] * 3, [0, 7], [1, 0, 0],
     "The 'time' parameter of clearance_times must be one entry per sample, as long as subject (3). Got 'length 2'."),
    (["a"] * 3, [0, 7, 14], [1, 0],
     "The 'detected' parameter of clearance_times must be one entry per sample, as long as subject and time (3). "
     "Got 'length 2'."),
    (["a"] * 2, [0, 7, 14], [1, 0, 0],
     "The 'subject' parameter of clearance_times must be one entry per sample (time and detected have 3). "
     "Got 'length 2'."),
])
def test_length_mismatch_names_the_array_at_fault(subject, time, detected, message):
    with pytest.raises(ValueError) as exc:
        clearance_times(subject, time, detected)
    assert str(exc.value) == message


# ----------------------------------------------------------------------------------------------- oracle


def _oracle(d, n, missing):
    """Definitional rule, written independently of the kernel's running state."""
    V = len(d)
    valid = [i for i in range(V) if not math.isnan(d[i])]
    pos = [i for i in valid if d[i] == 1]
    last_pos = max(pos) if pos else -1

    def runs():  # (first, last) of every window of n negatives counted by the rule, in order of `last`
        if missing == "skip":
            for j in range(len(valid) - n + 1):
                w = valid[j:j + n]
                if all(d[i] == 0 for i in w):
                    yield w[0], w[-1]
        else:
            for s in range(V - n + 1):
                if all((not math.isnan(d[i])) and d[i] == 0 for i in range(s, s + n)):
                    yield s, s + n - 1

    windows = list(runs())
    rule = windows[0] if windows else (-1, -1)
    sustained = [w for w in windows if w[0] > last_pos]
    clear = sustained[0] if sustained else (-1, -1)
    return {"rule_first_negative": rule[0], "rule_visit": rule[1], "first_negative": clear[0],
            "clearance": clear[1], "last_positive": last_pos, "relapsed": rule[1] >= 0 and last_pos > rule[1]}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0, NAN]), min_size=1, max_size=12), st.integers(1, 4),
       st.sampled_from(["skip", "break"]))
def test_kernel_matches_definitional_oracle(d, n, missing):
    k = clearance_kernel(np.array([d]), n, missing)
    want = _oracle(d, n, missing)
    for key, value in want.items():
        assert k[key][0] == value, (key, d, n, missing)


def test_kernel_is_vectorised_over_leading_axes():
    rng = np.random.default_rng(5)
    D = rng.choice([0.0, 1.0, NAN], p=[0.6, 0.3, 0.1], size=(4, 6, 9))
    k = clearance_kernel(D, 3, "skip")
    for i in range(4):
        for j in range(6):
            assert k["clearance"][i, j] == _oracle(list(D[i, j]), 3, "skip")["clearance"]


# ----------------------------------------------------------------------------------------------- Kaplan–Meier


def _km_by_hand(x, event):
    """Product-limit estimate and Greenwood log-log band, by hand."""
    times = np.unique(x[event])
    s, gw, out = 1.0, 0.0, []
    z = 1.959963984540054
    for t in times:
        n_risk = np.sum(x >= t)
        d = np.sum((x == t) & event)
        s *= 1 - d / n_risk
        gw += d / (n_risk * (n_risk - d)) if n_risk > d else np.inf
        if 0 < s < 1:
            se = math.sqrt(gw) / abs(math.log(s))
            lo, hi = s ** math.exp(z * se), s ** math.exp(-z * se)
        else:
            lo = hi = float("nan")
        out.append((t, s, lo, hi))
    return out


def test_km_matches_hand_computation_and_median():
    # 8 subjects: clearance at 14, 21, 21, 28, 42; censored at 28, 35, 56
    tab = pd.DataFrame({
        "clearance_time": [14, 21, 21, 28, NAN, 42, NAN, NAN],
        "cleared": [True, True, True, True, False, True, False, False],
        "censoring_time": [NAN, NAN, NAN, NAN, 28, NAN, 35, 56]})
    km = clearance_km(tab)
    x = np.where(tab.cleared, tab.clearance_time, tab.censoring_time)
    ref = _km_by_hand(x, tab.cleared.to_numpy())
    curve = km.curve.set_index("time")
    for t, s, lo, hi in ref:
        assert curve.loc[t, "still_shedding"] == pytest.approx(s, abs=1e-12)
        if not math.isnan(lo):
            assert curve.loc[t, "lower"] == pytest.approx(lo, abs=1e-10)
            assert curve.loc[t, "upper"] == pytest.approx(hi, abs=1e-10)
    # S: 14 -> 7/8, 21 -> 7/8*5/7 = 5/8, 28 -> 5/8*4/5 = 1/2 (tie with a censoring: event first)
    assert curve.loc[28, "still_shedding"] == pytest.approx(0.5)
    assert km.median == 28.0
    assert km.quantile(0.25) == 21.0
    # 42: at risk 2 (42, 56) -> S = 1/2 * 1/2 = 1/4; 0.8 never reached -> inf
    assert km.quantile(0.75) == 42.0 and km.quantile(0.8) == math.inf
    # median CI against statsmodels' Brookmeyer–Crowley interval with the same (log-log) transform; the
    # limits are observed times, so they must be equal. Lower band <= 0.5 from day 14 on; the upper band
    # (0.635 at day 42) never drops below 0.5: the upper limit is not reached.
    assert _statsmodels(x, tab.cleared)[1] == (14.0, math.inf)
    assert (km.median_lower, km.median_upper) == (14.0, math.inf)
    assert km.median_lower <= km.median <= km.median_upper
    assert km.n_subjects == 8 and km.n_cleared == 5
    assert km.censored.time.tolist() == [28.0, 35.0, 56.0]


def test_km_from_clearance_table_and_no_clearances():
    tab = clearance_times(["a"] * 4 + ["b"] * 4, [0, 7, 14, 21] * 2, [1, 0, 0, 0, 1, 1, 1, 0])
    km = clearance_km(tab, time_column="first_negative_time")
    assert km.curve.still_shedding.iloc[-1] == pytest.approx(0.5)
    none = clearance_km(tab[tab.subject == "b"])
    assert none.median == math.inf and none.n_cleared == 0
    with pytest.raises(ValueError, match="'time_column'"):
        clearance_km(tab, time_column="last_positive_time")


def _statsmodels(x, cleared):
    """statsmodels' Kaplan–Meier (reference implementation); its log(−log S) is log(0) at S = 0, harmlessly."""
    with np.errstate(divide="ignore", invalid="ignore"):
        sf = SurvfuncRight(np.asarray(x, dtype=float), np.asarray(cleared, dtype=int))
        return sf, sf.quantile_ci(0.5, alpha=0.05, method="cloglog")


def _table(x, cleared):
    x, cleared = np.asarray(x, dtype=float), np.asarray(cleared, dtype=bool)
    return pd.DataFrame({"clearance_time": np.where(cleared, x, NAN), "cleared": cleared,
                         "censoring_time": np.where(cleared, NAN, x)})


def test_median_ci_by_hand_finite_on_both_sides():
    # 12 subjects, no censoring, one clearance each week (days 7, 14, ..., 84). After the k-th clearance
    # S = (12 − k)/12 and Greenwood's sum telescopes: Σ_i 1/((13 − i)(12 − i)) = 1/(12 − k) − 1/12
    # = k/(12(12 − k)). Log-log band: S^exp(±z·se), se = sqrt(Greenwood)/|ln S|, z = 1.959964.
    #   k = 1 (day  7): S = 0.9167, se = 1.00032, band [0.5390, 0.9878]  lower band still above 0.5
    #   k = 2 (day 14): S = 0.8333, se = 0.70809, band [0.4817, 0.9555]  lower band <= 0.5: lower limit
    #   k = 6 (day 42): S = 0.5 exactly                                  median (first S <= 0.5)
    #   k = 9 (day 63): S = 0.25,   se = 0.36067, band [0.0601, 0.5048]  upper band still >= 0.5
    #   k = 10 (day 70): S = 0.1667, se = 0.36026, band [0.0265, 0.4130] upper band < 0.5: upper limit
    # Band values to 4 decimals (tolerance 5e-5 below); the limits are observed days, compared exactly.
    days = 7.0 * np.arange(1, 13)
    km = clearance_km(_table(days, np.ones(12, dtype=bool)))
    curve = km.curve.set_index("time")
    for day, lo, hi in ((7, 0.5390, 0.9878), (14, 0.4817, 0.9555), (63, 0.0601, 0.5048), (70, 0.0265, 0.4130)):
        assert curve.loc[day, "lower"] == pytest.approx(lo, abs=5e-5)
        assert curve.loc[day, "upper"] == pytest.approx(hi, abs=5e-5)
    assert (km.median, km.median_lower, km.median_upper) == (42.0, 14.0, 70.0)
    assert _statsmodels(days, np.ones(12))[1] == (14.0, 70.0)
    assert km.median_text() == "median 42 days (95% CI 14–70 days)"


def test_median_convention_when_the_curve_sits_at_one_half():
    # 4 subjects clear at days 10, 20, 30, 40: S = 3/4, 1/2, 1/4, 0. S = 1/2 exactly on [20, 30).
    # Here the median is the first time with S <= 0.5: day 20. R's survfit takes the midpoint
    # (20 + 30)/2 = 25; statsmodels (like SAS) the first time with S < 0.5: day 30.
    km = clearance_km(_table([10, 20, 30, 40], [True] * 4))
    assert km.median == 20.0
    assert km.quantile(0.5) == 20.0
    assert _statsmodels([10, 20, 30, 40], np.ones(4))[0].quantile(0.5) == 30.0
    # the same convention on a curve that passes through 0.5 as a product of ratios (rounding: 5/6·4/5·3/4·...)
    km = clearance_km(_table([1, 2, 3, 4, 5, 6], [True] * 6))
    assert km.median == 3.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.booleans()), min_size=3, max_size=40))
def test_median_ci_agrees_with_statsmodels(rows):
    # weekly visit days (heavy ties), censoring anywhere, including before the first clearance
    x = np.array([7.0 * d for d, _ in rows])
    ev = np.array([e for _, e in rows])
    if not ev.any():
        return
    km = clearance_km(_table(x, ev))
    lb, ub = _statsmodels(x, ev)[1]
    assert km.median_lower <= km.median <= km.median_upper
    if math.isnan(lb):  # the band steps over 0.5 at one visit (statsmodels: NaN): both limits are that visit
        assert km.median_lower == km.median_upper == km.median
    else:
        assert (km.median_lower, km.median_upper) == (lb, ub)


def test_median_ci_when_the_band_steps_over_one_half():
    # 100 subjects: 30 clear on day 7, 40 on day 14, 30 on day 21. S(7) = 0.7 with band [0.60, 0.78] (above
    # 0.5), S(14) = 0.3 with band [0.21, 0.39] (below): no visit's band contains 0.5, statsmodels returns NaN;
    # here both limits are day 14, the median.
    x = np.repeat([7.0, 14.0, 21.0], [30, 40, 30])
    km = clearance_km(_table(x, np.ones(100, dtype=bool)))
    lb, _ = _statsmodels(x, np.ones(100))[1]
    assert math.isnan(lb)
    assert (km.median, km.median_lower, km.median_upper) == (14.0, 14.0, 14.0)


def test_band_is_one_before_the_first_clearance_and_unbounded_limits_print_as_not_reached():
    # a subject censored on day 3, before the first clearance (day 7): S(3) = 1 and so is its band
    km = clearance_km(_table([3, 7, 14, 21, 60, 60, 60], [False, True, True, True, False, False, False]))
    row = km.curve.set_index("time").loc[3.0]
    assert (row.still_shedding, row.lower, row.upper) == (1.0, 1.0, 1.0)
    # S = 5/6, 4/6, 3/6 at days 7, 14, 21; the upper band stays above 0.5 (sample too small)
    assert km.median == 21.0 and km.median_upper == math.inf
    text = km.median_text()
    assert text.startswith("median 21 days (95% CI ") and text.endswith("–not reached)") and "inf" not in text
    none = clearance_km(_table([14, 21], [False, False]))
    assert none.median_text() == "median not reached (95% CI not reached–not reached)"


@pytest.mark.parametrize("call, message", [
    (lambda: clearance_times(["a"] * 3, [0, "x", 14], [1, 0, 0]),
     "The 'time' parameter of clearance_times must be finite numbers >= 0. Got [0, 'x', 14]."),
    (lambda: clearance_times(["a"] * 3, [0, 7, 14], [1, 0, 0], consecutive="3"),
     "The 'consecutive' parameter of clearance_times must be a whole number >= 1. Got '3'."),
    (lambda: clearance_km(_table([7, 14], [True, True]), confidence="95%"),
     "The 'confidence' parameter of clearance_km must be in (0, 1). Got '95%'."),
    (lambda: clearance_km(_table([7, 14], [True, True])).quantile(None),
     "The 'p' parameter of ClearanceKM.quantile must be in (0, 1). Got None."),
])
def test_values_that_are_not_numbers_get_the_standard_message(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message

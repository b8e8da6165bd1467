"""Design simulation: deterministic scenarios computed by hand, the Poisson detection rate, determinism."""

import math

import pytest

from atmp_hta.planners.shedding import (
    Assay,
    MatrixKinetics,
    StudyDesign,
    compare_schedules,
    simulate_design,
    true_clearance_days,
)

ASSAY = Assay(0.2, 100, 10, loq_copies_per_ml=500.0)   # 0.02 mL per reaction; LOD95 = ln 20 / 0.02 = 149.8/mL
LOG_LOD = math.log10(math.log(20) / 0.02)


def _fixed(matrix="semen", **kw):
    """No between-patient or sample noise: every patient follows the same curve."""
    base = dict(peak_log10_sd=0.0, peak_day_log_sd=0.0, decay_log_sd=0.0, residual_sd=0.0)
    base.update(kw)
    return MatrixKinetics(matrix, **base)


def test_deterministic_scenario_matches_hand_computation():
    # peak 8.9 at day 2, rise 2/day, decline 0.5/day; weekly visits to day 35.
    # log10 levels: day 0 4.9, 7 6.4, 14 2.9, 21 -0.6, 28 -4.1, 35 -7.6 (LOD 2.18): + + + - - -
    # P(positive) at day 14 = 1 − exp(−0.02·10^2.9) = 1 − 1e-7; at day 21 = 0.005; later < 2e-6.
    k = _fixed(peak_log10=8.9, peak_day=2.0, decay_log10_per_day=0.5, rise_log10_per_day=2.0)
    d = StudyDesign([0, 7, 14, 21, 28, 35], n_patients=9, matrices=["semen"])
    res = simulate_design(d, k, ASSAY, n_studies=300, cost_per_sample={"semen": 100.0},
                          peak_tolerance_log10=3.0, rng=11)
    row = res.summary.set_index("matrix").loc["semen"]
    true_t = 2 + (8.9 - LOG_LOD) / 0.5                              # 15.449 days
    assert row.true_median_clearance_days == pytest.approx(true_t, abs=1e-9)
    assert row.est_median_clearance_days == pytest.approx(21.0, abs=1e-9)   # first of the three negatives
    assert row.clearance_bias_days == pytest.approx(21.0 - true_t, abs=1e-9)
    assert row.clearance_bias_midpoint_days == pytest.approx((14 + 21) / 2 - true_t, abs=1e-9)
    assert row.expected_samples == pytest.approx(6 * 9, abs=0.2)            # stop at day 35 = last visit
    assert row.expected_cost == pytest.approx(100 * row.expected_samples)
    assert row.p_rule_met == pytest.approx(1.0, abs=0.01)
    assert row.p_peak_captured == 1.0                                       # day 7 within 3 log10 of peak
    tight = simulate_design(d, k, ASSAY, n_studies=50, peak_tolerance_log10=0.5, rng=11)
    assert tight.summary.p_peak_captured.iloc[0] == 0.0                     # nearest visit is 2.5 log10 down
    assert row.p_false_clearance_subject < 0.005


def test_stop_at_clearance_saves_samples_and_rule_start_day():
    k = _fixed(peak_log10=8.9, peak_day=2.0, decay_log10_per_day=0.5, rise_log10_per_day=2.0)
    visits = [0, 7, 14, 21, 28, 35, 42, 49, 56]
    stop = simulate_design(StudyDesign(visits, 5, ["semen"]), k, ASSAY, n_studies=20, rng=1).summary
    full = simulate_design(StudyDesign(visits, 5, ["semen"], stop_at_clearance=False), k, ASSAY, n_studies=20,
                           rng=1).summary
    assert stop.expected_samples.iloc[0] == pytest.approx(6 * 5, abs=0.3)
    assert full.expected_samples.iloc[0] == 9 * 5
    # a patient whose shedding starts late: pre-peak negatives must not count before rule_start_day
    late = _fixed(peak_log10=8.0, peak_day=20.0, decay_log10_per_day=0.5, rise_log10_per_day=0.5)
    naive = simulate_design(StudyDesign(visits, 5, ["semen"]), late, ASSAY, n_studies=20, rng=2).summary
    # day 0: 8 − 10 < LOD ... days 0, 7 negative, day 14: 8 − 3 = 5 positive -> no run of 3 before day 14
    assert naive.est_median_clearance_days.iloc[0] > 20
    never = _fixed(peak_log10=1.0, peak_day=5.0, decay_log10_per_day=0.1)    # never above the LOD
    res = simulate_design(StudyDesign(visits, 5, ["semen"], rule_start_day=14), never, ASSAY, n_studies=20,
                          rng=3).summary
    assert res.est_median_clearance_days.iloc[0] == 14.0                   # negatives count from day 14
    assert res.true_median_clearance_days.iloc[0] == 0.0


def test_poisson_detection_rate_in_simulation():
    # constant level with λ = 1 copy per reaction: P(positive) = 1 − e^−1; rule met over 3 visits = e^−3
    level = math.log10(1.0 / 0.02)
    k = _fixed(peak_log10=level, peak_day=1e-6, decay_log10_per_day=1e-9)
    d = StudyDesign([1, 2, 3], n_patients=40, matrices=["semen"], stop_at_clearance=False)
    row = simulate_design(d, k, ASSAY, n_studies=2000, rng=5).summary.iloc[0]
    p = math.exp(-3.0)
    se = math.sqrt(p * (1 - p) / (2000 * 40))
    assert row.p_rule_met == pytest.approx(p, abs=4 * se)


def test_missing_samples_reduce_samples_and_skip_rule():
    k = _fixed(peak_log10=8.9, peak_day=2.0, decay_log10_per_day=0.5)
    d = StudyDesign(list(range(0, 70, 7)), 20, ["semen"], p_missing=0.3, stop_at_clearance=False)
    row = simulate_design(d, k, ASSAY, n_studies=200, rng=8).summary.iloc[0]
    assert row.expected_samples == pytest.approx(10 * 20 * 0.7, rel=0.03)


def test_same_seed_same_bits_and_common_random_numbers():
    k = MatrixKinetics("semen", peak_log10=6.0, decay_log10_per_day=0.05, peak_day=4.0)
    d = StudyDesign(list(range(0, 200, 14)), 12, ["semen"], name="biweekly")
    a = simulate_design(d, k, ASSAY, n_studies=1500, rng=42)     # spans two blocks of studies
    b = simulate_design(d, k, ASSAY, n_studies=1500, rng=42)
    assert a.summary.equals(b.summary) and a.per_study.equals(b.per_study)
    assert len(a.per_study) == 1500 and set(a.per_study.columns) >= {"study", "samples", "est_median"}
    # true medians depend on the patients only: identical across schedules with the same seed
    tab = compare_schedules({"weekly": list(range(0, 200, 7)), "monthly": list(range(0, 200, 28))},
                            n_patients=12, matrices=["semen"], kinetics={"semen": k}, assays={"semen": ASSAY},
                            n_studies=300, rng=9)
    sem = tab[tab.matrix == "semen"].set_index("schedule")
    assert sem.loc["weekly", "true_median_clearance_days"] == sem.loc["monthly", "true_median_clearance_days"]
    # sparser visits: later estimated clearance, fewer samples
    assert sem.loc["monthly", "clearance_bias_days"] > sem.loc["weekly", "clearance_bias_days"]
    assert sem.loc["monthly", "expected_samples"] < sem.loc["weekly", "expected_samples"]
    assert (tab.matrix == "all").sum() == 2


def test_per_matrix_schedules_and_totals():
    kin = [MatrixKinetics("semen", peak_log10=6.0, decay_log10_per_day=0.05),
           MatrixKinetics("urine", peak_log10=4.0, decay_log10_per_day=0.1)]
    d = StudyDesign({"semen": [0, 28, 56, 84], "urine": [0, 7, 14]}, 5, ["semen", "urine"])
    res = simulate_design(d, kin, ASSAY, n_studies=30, cost_per_sample={"semen": 2.0, "urine": 1.0}, rng=0)
    s = res.summary.set_index("matrix")
    assert s.loc["semen", "n_visits"] == 4 and s.loc["urine", "n_visits"] == 3
    assert s.loc["all", "expected_samples"] == pytest.approx(s.loc["semen", "expected_samples"]
                                                             + s.loc["urine", "expected_samples"])
    assert s.loc["all", "expected_cost"] == pytest.approx(2 * s.loc["semen", "expected_samples"]
                                                          + s.loc["urine", "expected_samples"])


def test_true_clearance_closed_form():
    assert true_clearance_days(3.0, 6.0, 0.1, 2.0) == pytest.approx(43.0)
    assert true_clearance_days(3.0, 1.0, 0.1, 2.0) == 0.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(visits_days=[0, 14, 7], n_patients=5, matrices=["semen"]), r"'visits_days'.*ascending.*\[0, 14, 7\]"),
    (dict(visits_days=[-1, 7], n_patients=5, matrices=["semen"]), r"'visits_days'.*>= 0"),
    (dict(visits_days=[0, 7], n_patients=0, matrices=["semen"]), r"'n_patients'"),
    (dict(visits_days=[0, 7], n_patients=5, matrices=["semen", "semen"]), r"'matrices'"),
    (dict(visits_days=[0, 7], n_patients=5, matrices=["semen"], p_missing=1.0), r"'p_missing'"),
    (dict(visits_days={"urine": [0, 7]}, n_patients=5, matrices=["semen"]), r"schedule for every matrix"),
])
def test_bad_designs_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StudyDesign(**kwargs)


def test_bad_kinetics_and_missing_inputs_raise():
    with pytest.raises(ValueError, match="'decay_log10_per_day'"):
        MatrixKinetics("semen", peak_log10=6.0, decay_log10_per_day=-0.1)
    d = StudyDesign([0, 7], 5, ["semen", "urine"])
    with pytest.raises(ValueError, match="none for \\['urine'\\]"):
        simulate_design(d, MatrixKinetics("semen", peak_log10=6.0, decay_log10_per_day=0.1), ASSAY, n_studies=2)


def test_compare_schedules_errors_name_compare_schedules_and_the_schedule():
    # compare_schedules builds a StudyDesign and calls simulate_design per schedule; its messages must still
    # name compare_schedules (the function called), the argument as passed to it and the schedule at fault
    kin = _fixed(peak_log10=6.0, decay_log10_per_day=0.1)
    args = dict(n_patients=5, matrices=["semen"], kinetics=kin, assays=ASSAY, n_studies=5, rng=1)
    cases = [
        (dict(args, schedules={"weekly": [0, 7, 14], "monthly": [0, 28, 14]}),
         "The 'schedules' parameter of compare_schedules must be sorted strictly ascending (schedule 'monthly'). "
         "Got [0, 28, 14]."),
        (dict(args, schedules={"weekly": [0, 7, 14]}, n_patients=0),
         "The 'n_patients' parameter of compare_schedules must be a whole number >= 1. Got 0."),
        (dict(args, schedules={"weekly": [0, 7, 14]}, n_studies="many"),
         "The 'n_studies' parameter of compare_schedules must be a whole number >= 1. Got 'many'."),
        (dict(args, schedules={"weekly": [0, 7, 14]}, matrices=["semen", "urine"]),
         "The 'kinetics' parameter of compare_schedules must be a MatrixKinetics for every matrix of the design. "
         "Got \"none for ['urine']\"."),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError) as exc:
            compare_schedules(**kwargs)
        assert str(exc.value) == message


@pytest.mark.parametrize("call, message", [
    (lambda: StudyDesign([0, 7], "ten", ["semen"]),
     "The 'n_patients' parameter of StudyDesign must be a whole number >= 1. Got 'ten'."),
    (lambda: StudyDesign([0, "x"], 10, ["semen"]),
     "The 'visits_days' parameter of StudyDesign must be finite days >= 0 for 'semen'. Got [0, 'x']."),
    (lambda: StudyDesign([0, 7], 10, ["semen"], p_missing="none"),
     "The 'p_missing' parameter of StudyDesign must be in [0, 1). Got 'none'."),
    (lambda: MatrixKinetics("semen", peak_log10=None, decay_log10_per_day=0.1),
     "The 'peak_log10' parameter of MatrixKinetics('semen') must be a finite log10 concentration. Got None."),
    (lambda: simulate_design(StudyDesign([0, 7], 5, ["semen"]), _fixed(peak_log10=6.0, decay_log10_per_day=0.1),
                             ASSAY, cost_per_sample="free"),
     "The 'cost_per_sample' parameter of simulate_design must be numbers >= 0 (one, or a mapping matrix -> "
     "number). Got 'free'."),
])
def test_values_that_are_not_numbers_get_the_standard_message(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message

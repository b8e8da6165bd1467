"""Design simulation for shedding studies: many studies at once, patients × matrices × visits.

Each simulated patient has, per matrix, a log10 concentration profile that rises to a peak and then
declines exponentially::

    μ(t) = P − r · max(τ − t, 0) − d · max(t − τ, 0)          (log10 copies/mL)

with peak level P ~ N(P̄, sd_P), peak day τ ~ LogNormal(ln τ̄, sd_τ), decline d ~ LogNormal(ln d̄, sd_d),
a fixed rise rate r, and a fraction of patients who never shed in the matrix. A sample at visit t has
log10 concentration μ(t) + ε, ε ~ N(0, σ_w) (sample-to-sample variation), and is positive with the
Poisson probability 1 − exp(−κ · 10^(μ+ε)) of the matrix's assay (:class:`~.assay.Assay`). Samples can be
missing at random. The clearance rule of :mod:`.clearance` is applied through the same kernel.

Reported per schedule × matrix: the probability that the schedule catches the peak, the bias of the
estimated median clearance time caused by the spacing of visits, the expected number of samples and their
cost (sampling stops after clearance if the design says so), and the chance of a false clearance (a run of
N negatives followed by a positive at a later scheduled visit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from atmp_hta.exceptions import invalid
from atmp_hta.planners.shedding._checks import number, numbers, shown, whole
from atmp_hta.planners.shedding.assay import Assay
from atmp_hta.planners.shedding.clearance import MISSING_RULES, _rule_finish, _rule_start, _rule_step

__all__ = [
    "MatrixKinetics",
    "StudyDesign",
    "DesignSimulation",
    "simulate_design",
    "compare_schedules",
    "true_clearance_days",
    "CHUNK_STUDIES",
]

CHUNK_STUDIES = 1000  # studies per vectorised block (fixed: results do not depend on memory settings)
LN10 = float(np.log(10.0))


@dataclass(frozen=True)
class MatrixKinetics:
    """Shedding kinetics assumed for one matrix (log10 copies/mL; days).

    Parameters
    ----------
    matrix : str
    peak_log10, peak_log10_sd : float
        Mean and between-patient SD of the peak log10 concentration.
    peak_day, peak_day_log_sd : float
        Median day of the peak (> 0) and between-patient SD of its natural log.
    decay_log10_per_day, decay_log_sd : float
        Median decline after the peak (log10 per day, > 0) and between-patient SD of its natural log.
    rise_log10_per_day : float
        Rise before the peak (log10 per day, > 0).
    residual_sd : float
        Sample-to-sample SD on the log10 scale.
    fraction_shedding : float
        Probability that a patient sheds in this matrix at all.
    """

    matrix: str
    peak_log10: float
    decay_log10_per_day: float
    peak_log10_sd: float = 0.5
    peak_day: float = 3.0
    peak_day_log_sd: float = 0.5
    decay_log_sd: float = 0.3
    rise_log10_per_day: float = 2.0
    residual_sd: float = 0.3
    fraction_shedding: float = 1.0

    def __post_init__(self):
        w = f"MatrixKinetics({self.matrix!r})"
        for name in ("peak_day", "decay_log10_per_day", "rise_log10_per_day"):
            v = getattr(self, name)
            if not (np.isfinite(number(v, name, "a number > 0", w)) and v > 0):
                raise invalid(name, "a number > 0", v, w)
        for name in ("peak_log10_sd", "peak_day_log_sd", "decay_log_sd", "residual_sd"):
            v = getattr(self, name)
            if not (np.isfinite(number(v, name, "a number >= 0", w)) and v >= 0):
                raise invalid(name, "a number >= 0", v, w)
        if not np.isfinite(number(self.peak_log10, "peak_log10", "a finite log10 concentration", w)):
            raise invalid("peak_log10", "a finite log10 concentration", self.peak_log10, w)
        if not 0.0 <= number(self.fraction_shedding, "fraction_shedding", "in [0, 1]", w) <= 1.0:
            raise invalid("fraction_shedding", "in [0, 1]", self.fraction_shedding, w)


@dataclass(frozen=True)
class StudyDesign:
    """A planned shedding study.

    Parameters
    ----------
    visits_days : sequence of float, or mapping matrix -> sequence
        Scheduled sampling days after dosing (strictly ascending, >= 0), shared by all matrices or per matrix.
    n_patients : int
    matrices : sequence of str
    consecutive : int
        N negatives that define clearance.
    missing : {"skip", "break"}
        Rule for missing samples (see :mod:`.clearance`).
    stop_at_clearance : bool
        Stop sampling a matrix for a patient once the clearance rule is met.
    p_missing : float
        Probability that a scheduled sample is missing (at random).
    rule_start_day : float
        Negatives before this day do not count towards clearance (positives always reset). With 0, a patient
        whose shedding has not yet started can 'clear' on pre-peak negatives: set it past the expected peak.
    name : str
    """

    visits_days: Sequence[float] | Mapping[str, Sequence[float]]
    n_patients: int
    matrices: Sequence[str]
    consecutive: int = 3
    missing: str = "skip"
    stop_at_clearance: bool = True
    p_missing: float = 0.0
    rule_start_day: float = 0.0
    name: str = "design"

    def __post_init__(self):
        _check_design(self.n_patients, self.matrices, self.consecutive, self.missing, self.p_missing,
                      self.rule_start_day, "StudyDesign")
        self.visit_matrix()  # validates the schedule

    def visits_for(self, matrix) -> np.ndarray:
        v = self.visits_days[matrix] if isinstance(self.visits_days, Mapping) else self.visits_days
        return numbers(v, "visits_days", f"finite days >= 0 for {matrix!r}", "StudyDesign")

    def visit_matrix(self) -> np.ndarray:
        """Visit days as an (M, V) array, NaN-padded where a matrix has fewer visits."""
        return _visit_matrix(self.visits_days, self.matrices, "StudyDesign")


def _check_design(n_patients, matrices, consecutive, missing, p_missing, rule_start_day, where):
    """The checks of :class:`StudyDesign`, naming ``where`` (the class, or the function that builds one)."""
    whole(n_patients, "n_patients", where)
    if isinstance(matrices, str) or len(matrices) == 0 or len(set(matrices)) != len(matrices):
        raise invalid("matrices", "a non-empty list of distinct names", matrices, where)
    whole(consecutive, "consecutive", where)
    if missing not in MISSING_RULES:
        raise invalid("missing", f"one of {MISSING_RULES}", missing, where)
    if not 0.0 <= number(p_missing, "p_missing", "in [0, 1)", where) < 1.0:
        raise invalid("p_missing", "in [0, 1)", p_missing, where)
    start = number(rule_start_day, "rule_start_day", "a number of days >= 0", where)
    if not (np.isfinite(start) and start >= 0):
        raise invalid("rule_start_day", "a number of days >= 0", rule_start_day, where)


def _visit_matrix(visits_days, matrices, where, name="visits_days", schedule=""):
    """Checked visit days as an (M, V) array, NaN-padded; errors name ``where`` and the argument ``name``
    (with ``schedule``, e.g. " of schedule 'weekly'", when one argument holds several schedules)."""
    if isinstance(visits_days, Mapping):
        missing = [m for m in matrices if m not in visits_days]
        if missing:
            raise invalid(name, f"a schedule for every matrix{schedule}", f"none for {missing}", where)
    rows = []
    for m in matrices:
        v = visits_days[m] if isinstance(visits_days, Mapping) else visits_days
        allowed = f"finite days >= 0 for {m!r}{schedule}"
        v = numbers(v, name, allowed, where)
        if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)) or np.any(v < 0):
            raise invalid(name, allowed, shown(v), where)
        if np.any(np.diff(v) <= 0):
            raise invalid(name, f"sorted strictly ascending{schedule}", shown(v), where)
        rows.append(v)
    V = max(v.size for v in rows)
    out = np.full((len(rows), V), np.nan)
    for i, v in enumerate(rows):
        out[i, : v.size] = v
    return out


@dataclass(frozen=True)
class DesignSimulation:
    """Result of :func:`simulate_design`: a ``summary`` (one row per matrix plus an ``all`` row) and, when
    kept, ``per_study`` (one row per study × matrix)."""

    summary: pd.DataFrame
    per_study: pd.DataFrame | None = field(default=None, repr=False)
    design: StudyDesign | None = None
    n_studies: int = 0
    seed: object = None

    def to_frame(self):
        return self.summary.copy()


def true_clearance_days(peak_day, peak_log10, decay_log10_per_day, threshold_log10):
    """Day at which a peak-then-decline profile falls below ``threshold_log10`` (0 if the peak is below it).

    Examples
    --------
    >>> float(true_clearance_days(3.0, 6.0, 0.1, 2.0))  # 3 + (6 − 2)/0.1
    43.0
    """
    gap = np.asarray(peak_log10, dtype=float) - threshold_log10
    out = np.where(gap > 0, peak_day + gap / decay_log10_per_day, 0.0)
    return float(out) if out.ndim == 0 else out


def _coerce_kinetics(kinetics, matrices, where):
    allowed = "a MatrixKinetics for every matrix of the design"
    if isinstance(kinetics, MatrixKinetics):
        kinetics = [kinetics]
    if not isinstance(kinetics, Mapping):
        try:
            kinetics = list(kinetics)
        except TypeError:
            raise invalid("kinetics", allowed, type(kinetics).__name__, where) from None
        if not all(isinstance(k, MatrixKinetics) for k in kinetics):
            raise invalid("kinetics", allowed, [type(k).__name__ for k in kinetics], where)
        kinetics = {k.matrix: k for k in kinetics}
    missing = [m for m in matrices if m not in kinetics]
    if missing:
        raise invalid("kinetics", allowed, f"none for {missing}", where)
    return [kinetics[m] for m in matrices]


def _coerce_assays(assays, matrices, where):
    if isinstance(assays, Assay):
        return [assays] * len(matrices)
    missing = [m for m in matrices if not isinstance(assays, Mapping) or m not in assays]
    if missing:
        raise invalid("assays", "an Assay or a mapping with one per matrix", f"none for {missing}", where)
    return [assays[m] for m in matrices]


def _coerce_costs(cost, matrices, where):
    allowed = "numbers >= 0 (one, or a mapping matrix -> number)"
    if isinstance(cost, Mapping):
        cost = np.array([number(cost.get(m, 0.0), "cost_per_sample", allowed, where) for m in matrices])
    else:
        cost = np.full(len(matrices), number(cost, "cost_per_sample", allowed, where))
    if np.any(~np.isfinite(cost) | (cost < 0)):
        raise invalid("cost_per_sample", allowed, cost.tolist(), where)
    return cost


def simulate_design(design, kinetics, assays, n_studies=1000, cost_per_sample=0.0, peak_tolerance_log10=0.5,
                    keep_studies=True, rng=None):
    """Simulate ``n_studies`` shedding studies of one design, vectorised over studies × patients × matrices ×
    visits, and summarise their operating characteristics.

    Parameters
    ----------
    design : StudyDesign
    kinetics : MatrixKinetics, sequence or mapping of them (one per matrix of the design)
    assays : Assay or mapping matrix -> Assay
    n_studies : int
    cost_per_sample : float or mapping matrix -> float
        Cost of one sample (collection + assay) per matrix.
    peak_tolerance_log10 : float
        A patient's peak counts as captured when a collected sample's (noise-free) level is within this many
        log10 of the true peak (0.5 ≈ a factor of 3).
    keep_studies : bool
        Also return the per-study table (one row per study × matrix).
    rng : int, numpy.random.Generator or None
        Same seed, same result; studies are simulated in fixed blocks of ``CHUNK_STUDIES`` with spawned
        generators, and patient profiles come from a stream separate from the visit-level noise, so two
        schedules run with the same seed see the same patients (common random numbers).

    Returns
    -------
    DesignSimulation

    Notes
    -----
    True clearance of a patient (matrix m): T = τ + (P − log10 LOD95_m)/d, the day the noise-free profile
    falls below the assay's LOD95 in copies/mL (0 for non-shedders or a peak below the LOD).
    Estimated clearance: the time of the first of the N negatives of the first run that meets the rule
    (what a study stopping at clearance reports; ``inf`` if never met). Study-level medians of both use the
    same order statistic, the ⌈n/2⌉-th smallest, which equals the Kaplan–Meier median here because every
    censored patient is censored at the last visit, after all observed clearances. Bias = mean over studies
    of (estimated − true median), over studies where the estimate exists (``p_median_estimable``).
    The ``midpoint`` estimator uses the midpoint between the last positive sample before the run (or day 0)
    and the first negative. False clearance: the rule is met and a later scheduled sample is positive.

    References
    ----------
    FDA. Design and Analysis of Shedding Studies for Virus or Bacteria-Based Gene Therapy and Oncolytic
    Products. Guidance for Industry, August 2015.
    ICH. Considerations: General Principles to Address Virus and Vector Shedding, June 2009.

    Examples
    --------
    >>> k = MatrixKinetics("semen", peak_log10=5.0, decay_log10_per_day=0.06, peak_day=5.0)
    >>> a = Assay(0.2, 100, 10, loq_copies_per_ml=500.0)
    >>> d = StudyDesign(visits_days=[0, 7, 14, 28, 42, 56, 84, 112, 140, 168], n_patients=10,
    ...                 matrices=["semen"])
    >>> res = simulate_design(d, k, a, n_studies=50, rng=1)
    >>> sorted(res.summary.columns)[:3]
    ['clearance_bias_days', 'clearance_bias_midpoint_days', 'clearance_rmse_days']
    """
    where = "simulate_design"
    if not isinstance(design, StudyDesign):
        raise invalid("design", "a StudyDesign", type(design).__name__, where)
    return _simulate_design(design, kinetics, assays, n_studies, cost_per_sample, peak_tolerance_log10,
                            keep_studies, rng, where)


def _simulate_design(design, kinetics, assays, n_studies, cost_per_sample, peak_tolerance_log10, keep_studies,
                     rng, where):
    """:func:`simulate_design` with its errors naming ``where``, the function the user called."""
    n_studies = whole(n_studies, "n_studies", where)
    tol = number(peak_tolerance_log10, "peak_tolerance_log10", "a number >= 0", where)
    if not (np.isfinite(tol) and tol >= 0):
        raise invalid("peak_tolerance_log10", "a number >= 0", peak_tolerance_log10, where)
    peak_tolerance_log10 = tol
    matrices = list(design.matrices)
    kin = _coerce_kinetics(kinetics, matrices, where)
    asy = _coerce_assays(assays, matrices, where)
    cost = _coerce_costs(cost_per_sample, matrices, where)
    visits = design.visit_matrix()
    gen = np.random.default_rng(rng)
    subject_stream, visit_stream = gen.spawn(2)
    n_chunks = -(-int(n_studies) // CHUNK_STUDIES)
    subject_rngs = subject_stream.spawn(n_chunks)
    visit_rngs = visit_stream.spawn(n_chunks)
    params = _matrix_params(kin, asy)
    blocks = []
    for c in range(n_chunks):  # fixed-size blocks of studies, each fully vectorised
        size = min(CHUNK_STUDIES, int(n_studies) - c * CHUNK_STUDIES)
        blocks.append(_simulate_block(size, design, visits, params, subject_rngs[c], visit_rngs[c],
                                      peak_tolerance_log10))
    per = {k: np.concatenate([b[k] for b in blocks], axis=0) for k in blocks[0]}
    per["cost"] = per["samples"] * cost[None, :]
    summary = _summarise(per, design, matrices, visits)
    per_study = None
    if keep_studies:
        S, M = per["samples"].shape
        per_study = pd.DataFrame({
            "study": np.repeat(np.arange(S), M),
            "matrix": np.tile(matrices, S),
            **{k: per[k].ravel() for k in ("samples", "cost", "true_median", "est_median", "est_median_midpoint",
                                           "n_false_clearance", "fraction_peak_captured", "n_rule_met")},
        })
        per_study.insert(0, "schedule", design.name)
    return DesignSimulation(summary=summary, per_study=per_study, design=design, n_studies=int(n_studies),
                            seed=rng if isinstance(rng, (int, np.integer)) or rng is None else "generator")


def _matrix_params(kin, asy):
    f = np.array
    return {
        "peak": f([k.peak_log10 for k in kin]),
        "peak_sd": f([k.peak_log10_sd for k in kin]),
        "ln_tau": np.log(f([k.peak_day for k in kin])),
        "tau_sd": f([k.peak_day_log_sd for k in kin]),
        "ln_d": np.log(f([k.decay_log10_per_day for k in kin])),
        "d_sd": f([k.decay_log_sd for k in kin]),
        "rise": f([k.rise_log10_per_day for k in kin]),
        "resid": f([k.residual_sd for k in kin]),
        "p_shed": f([k.fraction_shedding for k in kin]),
        "log_kappa": np.log(f([a.sensitivity_scale for a in asy])),
        "lod_log10": np.log10(f([a.lod95_copies_per_ml for a in asy])),
    }


def _simulate_block(S, design, visits, p, subj_rng, visit_rng, tol):
    """One block of S studies. Patient profiles are drawn at once; then one vectorised step per visit
    (detection and the clearance rule on (S, N, M) planes), so memory does not grow with the visits."""
    N, (M, V) = int(design.n_patients), visits.shape
    f32 = np.float32
    shape = (S, N, M)
    z = subj_rng.standard_normal((3,) + shape)
    peak = p["peak"] + p["peak_sd"] * z[0]
    tau = np.exp(p["ln_tau"] + p["tau_sd"] * z[1])
    d = np.exp(p["ln_d"] + p["d_sd"] * z[2])
    shed = subj_rng.random(shape) < p["p_shed"]
    peak32, tau32, d32 = peak.astype(f32), tau.astype(f32), d.astype(f32)
    rise32, resid32 = p["rise"].astype(f32), p["resid"].astype(f32)
    log_kappa32 = p["log_kappa"].astype(f32)
    st = _rule_start(shape)
    samples = np.zeros(shape, dtype=np.int32)
    best_mu = np.full(shape, -1e30, dtype=f32)
    for v in range(V):  # loop over visits; every step is vectorised over studies × patients × matrices
        day = visits[:, v]                                                     # (M,), NaN = not scheduled
        scheduled = np.isfinite(day)
        t = np.nan_to_num(day, nan=0.0).astype(f32)
        # noise-free log10 level: μ = P − max(d (t − τ), r (τ − t))
        dt = t - tau32
        mu = np.maximum(d32 * dt, -rise32 * dt)
        np.subtract(peak32, mu, out=mu)
        # sample noise and Poisson detection: positive iff ln E < ln κ + ln10 · (μ + ε), E ~ Exp(1)
        log_rate = visit_rng.standard_normal(shape, dtype=f32)
        log_rate *= resid32
        log_rate += mu
        log_rate *= f32(LN10)
        log_rate += log_kappa32
        log_e = visit_rng.standard_exponential(shape, dtype=f32)
        with np.errstate(divide="ignore"):
            np.log(log_e, out=log_e)
        collected = np.broadcast_to(scheduled, shape)
        if design.p_missing > 0:
            collected = collected & (visit_rng.random(shape, dtype=f32) >= design.p_missing)
        positive = (log_e < log_rate) & shed & collected
        counted = positive | (collected & (t >= design.rule_start_day))
        before_rule = st["rule_visit"] < 0
        _rule_step(st, v, positive, counted, design.consecutive, design.missing)
        # a sample is taken if collected and sampling has not stopped (it stops after the visit meeting the rule)
        taken = (collected & before_rule) if design.stop_at_clearance else collected
        samples += taken
        np.maximum(best_mu, mu - f32(1e30) * ~taken, out=best_mu)                # max over samples taken
    k = _rule_finish(st)
    vdays = np.where(np.isfinite(visits), visits, np.inf)                         # (M, V)
    m_idx = np.arange(M)

    def on_day(i, default):
        return np.where(i >= 0, vdays[m_idx, np.maximum(i, 0)], default)

    first_neg = on_day(k["rule_first_negative"], np.inf)
    midpoint = np.where(k["rule_met"], 0.5 * (first_neg + on_day(k["positive_before_rule"], 0.0)), np.inf)
    true_t = np.where(shed, true_clearance_days(tau, peak, d, p["lod_log10"]), 0.0)
    peak_seen = best_mu >= peak - tol
    n_shed = shed.sum(axis=1)
    frac_peak = np.where(n_shed > 0, (peak_seen & shed).sum(axis=1) / np.maximum(n_shed, 1), np.nan)
    kth = (N + 1) // 2 - 1                                                       # ⌈N/2⌉-th smallest
    med = lambda x: np.partition(x, kth, axis=1)[:, kth]                          # noqa: E731
    return {
        "samples": samples.sum(axis=1).astype(float),
        "true_median": med(true_t),
        "est_median": med(first_neg),
        "est_median_midpoint": med(midpoint),
        "n_false_clearance": k["relapsed"].sum(axis=1),
        "n_rule_met": k["rule_met"].sum(axis=1),
        "fraction_peak_captured": frac_peak,
        "n_shedding": n_shed,
    }


def _summarise(per, design, matrices, visits):
    N = design.n_patients
    est, true, mid = per["est_median"], per["true_median"], per["est_median_midpoint"]
    ok = np.isfinite(est)
    with np.errstate(invalid="ignore"):
        bias = np.where(ok, est - true, np.nan)
        bias_mid = np.where(np.isfinite(mid), mid - true, np.nan)
    rows = []
    for j, m in enumerate(matrices):
        v = visits[j][~np.isnan(visits[j])]
        any_ok = ok[:, j].any()
        rows.append({
            "schedule": design.name, "matrix": m, "n_visits": int(v.size), "last_visit_day": float(v[-1]),
            "n_patients": N, "n_studies": est.shape[0],
            "p_peak_captured": float(np.nanmean(per["fraction_peak_captured"][:, j]))
            if np.any(np.isfinite(per["fraction_peak_captured"][:, j])) else np.nan,
            "p_rule_met": float(per["n_rule_met"][:, j].mean() / N),
            "true_median_clearance_days": float(true[:, j].mean()),
            "est_median_clearance_days": float(est[ok[:, j], j].mean()) if any_ok else np.nan,
            "p_median_estimable": float(ok[:, j].mean()),
            "clearance_bias_days": float(np.nanmean(bias[:, j])) if any_ok else np.nan,
            "clearance_bias_midpoint_days": float(np.nanmean(bias_mid[:, j]))
            if np.isfinite(bias_mid[:, j]).any() else np.nan,
            "clearance_rmse_days": float(np.sqrt(np.nanmean(bias[:, j] ** 2))) if any_ok else np.nan,
            "expected_samples": float(per["samples"][:, j].mean()),
            "expected_cost": float(per["cost"][:, j].mean()),
            "p_false_clearance_subject": float(per["n_false_clearance"][:, j].mean() / N),
            "p_false_clearance_study": float((per["n_false_clearance"][:, j] > 0).mean()),
        })
    rows.append({
        "schedule": design.name, "matrix": "all", "n_visits": int(np.isfinite(visits).sum()),
        "last_visit_day": float(np.nanmax(visits)), "n_patients": N, "n_studies": est.shape[0],
        "expected_samples": float(per["samples"].sum(axis=1).mean()),
        "expected_cost": float(per["cost"].sum(axis=1).mean()),
        "p_false_clearance_subject": np.nan,
        "p_false_clearance_study": float((per["n_false_clearance"].sum(axis=1) > 0).mean()),
    })
    return pd.DataFrame(rows)


def compare_schedules(schedules, *, n_patients, matrices, kinetics, assays, n_studies=1000, consecutive=3,
                      missing="skip", stop_at_clearance=True, p_missing=0.0, rule_start_day=0.0,
                      cost_per_sample=0.0, peak_tolerance_log10=0.5, rng=None):
    """Run :func:`simulate_design` for several schedules with the same simulated patients.

    Parameters
    ----------
    schedules : mapping name -> visits_days
        Each value as in :class:`StudyDesign` (a list of days, or a mapping matrix -> list of days).
    rng : int, Generator or None
        One seed shared by every schedule (common random numbers: same patients, so differences between
        rows are due to the schedules, not to sampling noise between runs).

    Returns
    -------
    pandas.DataFrame
        The summaries stacked, one row per schedule × matrix (plus each schedule's ``all`` row).

    Examples
    --------
    >>> k = MatrixKinetics("semen", peak_log10=5.0, decay_log10_per_day=0.06, peak_day=5.0)
    >>> a = Assay(0.2, 100, 10, loq_copies_per_ml=500.0)
    >>> tab = compare_schedules({"weekly": list(range(0, 182, 7)), "monthly": list(range(0, 182, 28))},
    ...                         n_patients=10, matrices=["semen"], kinetics=k, assays=a, n_studies=40, rng=3)
    >>> tab.loc[tab.matrix == "semen", "schedule"].tolist()
    ['weekly', 'monthly']
    """
    where = "compare_schedules"
    if not isinstance(schedules, Mapping) or len(schedules) == 0:
        raise invalid("schedules", "a non-empty mapping name -> visit days", type(schedules).__name__, where)
    # every argument checked here, so that a message names compare_schedules (the function called), the
    # argument as passed to it and the schedule at fault, not StudyDesign or simulate_design
    _check_design(n_patients, matrices, consecutive, missing, p_missing, rule_start_day, where)
    for name, visits in schedules.items():
        _visit_matrix(visits, matrices, where, name="schedules", schedule=f" (schedule {name!r})")
    seed = rng if rng is None or isinstance(rng, (int, np.integer)) else int(
        np.random.default_rng(rng).integers(2**63))
    if seed is None:
        seed = int(np.random.default_rng().integers(2**63))
    out = []
    for name, visits in schedules.items():
        design = StudyDesign(visits_days=visits, n_patients=n_patients, matrices=matrices, consecutive=consecutive,
                             missing=missing, stop_at_clearance=stop_at_clearance, p_missing=p_missing,
                             rule_start_day=rule_start_day, name=str(name))
        out.append(_simulate_design(design, kinetics, assays, n_studies, cost_per_sample, peak_tolerance_log10,
                                    False, seed, where).summary)
    return pd.concat(out, ignore_index=True)

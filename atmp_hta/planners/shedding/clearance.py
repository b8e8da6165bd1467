"""Clearance of shedding: N consecutive negative samples per subject, and Kaplan–Meier across subjects.

The rule, stated once and used by both the data analysis (:func:`clearance_times`) and the design
simulation (:mod:`atmp_hta.planners.shedding.design`), which share the kernel :func:`clearance_kernel`:

* samples are taken in time order; a sample is positive (1), negative (0) or missing (NaN);
* a subject **clears** at the N-th of N consecutive negative samples that are not followed by any positive
  sample (sustained clearance): a positive after a run of negatives resets the count (``relapsed`` records
  that a run of N negatives was later followed by a positive, i.e. a false clearance in the data);
* **missing** samples (``detected`` NaN): with ``missing="skip"`` (default) a missing visit is not a sample;
  it neither counts as a negative nor breaks a run ("consecutive" means consecutive among the samples
  actually analysed). With ``missing="break"`` a missing visit ends the current run, so N negatives must
  come from N adjacent scheduled visits (more conservative);
* a subject who never meets the rule is **censored** at the time of the last non-missing sample;
* a subject who is never positive clears at the N-th negative sample (``ever_detected`` False).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from atmp_hta.exceptions import invalid
from atmp_hta.planners.shedding._checks import number, numbers, shown, whole
from atmp_hta.planners.shedding.kinetics import _check_subject_order

__all__ = ["clearance_times", "clearance_kernel", "clearance_km", "ClearanceKM", "MISSING_RULES"]

MISSING_RULES = ("skip", "break")


def clearance_kernel(detected, consecutive=3, missing="skip"):
    """Vectorised clearance rule over the last axis (visits) of ``detected``.

    Parameters
    ----------
    detected : ndarray of float, shape (..., V)
        1.0 positive, 0.0 negative, NaN missing (or not scheduled). Any leading shape (subjects, studies, ...).
    consecutive : int
    missing : {"skip", "break"}

    Returns
    -------
    dict of ndarray, each of shape (...)
        ``n_samples``; ``last_positive`` (visit index, −1 if never positive); ``last_sample`` (index of the
        last non-missing sample, −1 if none); ``cleared`` and ``clearance`` / ``first_negative`` (visit
        indices of the N-th and first negative of the sustained run, −1 if not cleared); ``rule_met``,
        ``rule_visit`` / ``rule_first_negative`` (the first time the rule is met, whatever follows: where a
        study that stops sampling at clearance would stop); ``relapsed`` (a positive after ``rule_visit``);
        ``positive_before_rule`` (last positive before the rule is first met).

    Notes
    -----
    One pass over the visits (a short loop: visits, never subjects or studies), each step vectorised over
    all other axes: the current run length r grows by one at a negative, drops to 0 at a positive (and at a
    missing visit under "break"); the rule is met where r reaches N. A positive also undoes a sustained
    clearance reached earlier.

    Examples
    --------
    >>> k = clearance_kernel(np.array([[1, 0, 0, 1, 0, np.nan, 0, 0]]), consecutive=3)
    >>> int(k["first_negative"][0]), int(k["clearance"][0]), bool(k["relapsed"][0])
    (4, 7, False)
    """
    D = np.moveaxis(np.asarray(detected, dtype=float), -1, 0)
    valid = ~np.isnan(D)
    pos = valid & (D > 0.5)
    state = _rule_start(D.shape[1:])
    for v in range(D.shape[0]):  # a loop over visits only; each step is vectorised over everything else
        _rule_step(state, v, pos[v], valid[v], int(consecutive), missing)
    return _rule_finish(state)


def _rule_start(shape):
    """State of the clearance rule before the first visit (arrays of the given shape)."""
    minus = np.full(shape, -1, dtype=np.int32)
    return {
        "run": np.zeros(shape, dtype=np.int32),       # length of the current run of negatives
        "run_first": minus.copy(),                     # visit of the first negative of the current run
        "n_samples": np.zeros(shape, dtype=np.int32),
        "last_positive": minus.copy(),
        "last_sample": minus.copy(),
        "rule_visit": minus.copy(),                    # first visit at which the rule is met
        "rule_first_negative": minus.copy(),
        "positive_before_rule": minus.copy(),          # last positive before the rule is first met
        "clearance": minus.copy(),                     # sustained: N-th negative, undone by a later positive
        "first_negative": minus.copy(),
    }


def _set(arr, mask, value):
    """arr[mask] = value, as branch-free arithmetic (several times faster than masked stores on random masks)."""
    arr += (value - arr) * mask


def _rule_step(st, v, pos, valid, n, missing):
    """Advance the rule by one visit (``pos``: sample positive; ``valid``: sample present)."""
    neg = valid & ~pos
    run = st["run"]
    if missing == "skip":
        run += neg
        run *= ~pos
    else:
        run += 1
        run *= neg
    _set(st["run_first"], neg & (run == 1), v)
    st["n_samples"] += valid
    _set(st["last_sample"], valid, v)
    _set(st["last_positive"], pos, v)
    not_met = st["rule_visit"] < 0
    _set(st["positive_before_rule"], pos & not_met, v)
    _set(st["clearance"], pos, -1)
    reached = run == n
    new_rule = reached & not_met
    _set(st["rule_visit"], new_rule, v)
    _set(st["rule_first_negative"], new_rule, st["run_first"])
    new_clear = reached & (st["clearance"] < 0)
    _set(st["clearance"], new_clear, v)
    _set(st["first_negative"], new_clear, st["run_first"])


def _rule_finish(st):
    rule_met = st["rule_visit"] >= 0
    cleared = st["clearance"] >= 0
    return {
        "n_samples": st["n_samples"],
        "last_positive": st["last_positive"],
        "last_sample": st["last_sample"],
        "cleared": cleared,
        "clearance": st["clearance"],
        "first_negative": np.where(cleared, st["first_negative"], -1),
        "rule_met": rule_met,
        "rule_visit": st["rule_visit"],
        "rule_first_negative": st["rule_first_negative"],
        "positive_before_rule": st["positive_before_rule"],
        "relapsed": rule_met & (st["last_positive"] > st["rule_visit"]),
    }


def clearance_times(subject, time, detected, consecutive=3, missing="skip"):
    """Per-subject clearance by N consecutive negative samples (see the module docstring for the rule).

    Parameters
    ----------
    subject : array_like
        Subject identifier of each sample.
    time : array_like
        Sampling time of each sample (>= 0, strictly ascending within each subject).
    detected : array_like
        True/1 positive, False/0 negative, NaN/None/pd.NA missing (visit scheduled, no result).
    consecutive : int
        N, the number of consecutive negatives that define clearance (3 by default).
    missing : {"skip", "break"}
        How a missing sample affects a run of negatives.

    Returns
    -------
    pandas.DataFrame
        One row per subject, in order of first appearance: ``subject``, ``n_samples`` (non-missing),
        ``n_missing``, ``ever_detected``, ``last_positive_time``, ``first_negative_time`` (first of the N),
        ``clearance_time`` (N-th), ``cleared``, ``censoring_time`` (last non-missing sample, for subjects not
        cleared; NaN otherwise), ``relapsed`` (a run of N negatives later followed by a positive).

    Raises
    ------
    ValueError
        Negative or non-finite times, times not strictly ascending within a subject, a subject with fewer
        than two non-missing samples, detected values other than 0/1/missing.

    Examples
    --------
    >>> tab = clearance_times(["a"] * 6 + ["b"] * 3, [0, 7, 14, 21, 28, 35, 0, 7, 14],
    ...                       [1, 1, 0, 0, 0, 0, 1, 1, 0])
    >>> tab[["subject", "first_negative_time", "clearance_time", "cleared", "censoring_time"]]
      subject  first_negative_time  clearance_time  cleared  censoring_time
    0       a                 14.0            28.0     True             NaN
    1       b                  NaN             NaN    False            14.0
    """
    where = "clearance_times"
    n = whole(consecutive, "consecutive", where)
    if missing not in MISSING_RULES:
        raise invalid("missing", f"one of {MISSING_RULES}", missing, where)
    subj = np.asarray(subject).ravel()
    t = numbers(time, "time", "finite numbers >= 0", where).ravel()
    d = _as_detected(detected, where)
    if not (subj.size == t.size == d.size):
        raise _length_error(subj.size, t.size, d.size, where)
    if t.size == 0:
        raise invalid("time", "a non-empty array", [], where)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise invalid("time", "finite numbers >= 0", shown(t[~np.isfinite(t) | (t < 0)]), where)
    codes, labels = _check_subject_order(subj, t, where, strict=True, name="time")
    n_valid = np.bincount(codes, weights=~np.isnan(d), minlength=len(labels))
    if np.any(n_valid < 2):
        s = labels[np.argmax(n_valid < 2)]
        s = s.item() if hasattr(s, "item") else s
        raise invalid("subject", "at least two non-missing samples per subject",
                      f"{int(n_valid[np.argmax(n_valid < 2)])} for subject {s!r}", where)
    # pad to (subjects, visits); padding is NaN (not a sample), which never changes the rule at the end
    order = np.lexsort((t, codes))
    codes_s, t_s, d_s = codes[order], t[order], d[order]
    counts = np.bincount(codes_s, minlength=len(labels))
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    col = np.arange(t_s.size) - offsets[codes_s]
    S, V = len(labels), int(counts.max())
    D = np.full((S, V), np.nan)
    T = np.full((S, V), np.nan)
    D[codes_s, col] = d_s
    T[codes_s, col] = t_s
    k = clearance_kernel(D, n, missing)

    def at(index):
        return np.where(index >= 0, np.take_along_axis(T, np.maximum(index, 0)[:, None], axis=1)[:, 0], np.nan)

    cleared = k["cleared"]
    return pd.DataFrame({
        "subject": labels,
        "n_samples": k["n_samples"].astype(int),
        "n_missing": (counts - k["n_samples"]).astype(int),
        "ever_detected": k["last_positive"] >= 0,
        "last_positive_time": at(k["last_positive"]),
        "first_negative_time": at(k["first_negative"]),
        "clearance_time": at(k["clearance"]),
        "cleared": cleared,
        "censoring_time": np.where(cleared, np.nan, at(k["last_sample"])),
        "relapsed": k["relapsed"],
    })


def _length_error(n_subject, n_time, n_detected, where):
    """Name the array whose length disagrees with the other two (``time`` or ``detected`` against
    ``subject`` when all three differ)."""
    if n_time == n_detected:
        return invalid("subject", f"one entry per sample (time and detected have {n_time})",
                       f"length {n_subject}", where)
    if n_time != n_subject:
        return invalid("time", f"one entry per sample, as long as subject ({n_subject})", f"length {n_time}",
                       where)
    return invalid("detected", f"one entry per sample, as long as subject and time ({n_subject})",
                   f"length {n_detected}", where)


def _as_detected(detected, where):
    vals = detected.to_numpy(dtype=object) if hasattr(detected, "to_numpy") else np.asarray(detected, dtype=object)
    vals = vals.ravel()
    na = np.asarray(pd.isna(vals), dtype=bool)
    d = np.full(vals.size, np.nan)
    try:
        d[~na] = vals[~na].astype(float)
    except (TypeError, ValueError):
        raise invalid("detected", "True/False, 1/0 or missing (NaN)", shown(vals[~na]), where) from None
    ok = np.isnan(d) | (d == 0) | (d == 1)
    if not np.all(ok):
        raise invalid("detected", "True/False, 1/0 or missing (NaN)", shown(d[~ok]), where)
    return d


# ----------------------------------------------------------------------------------------------- Kaplan–Meier


@dataclass(frozen=True)
class ClearanceKM:
    """Kaplan–Meier estimate of the time to clearance (the survival function is 'still shedding').

    Attributes
    ----------
    curve : DataFrame
        ``time, still_shedding, lower, upper, n_at_risk, n_cleared, n_censored`` at 0 and each distinct time.
    censored : DataFrame
        ``time, still_shedding`` of each censored subject (for tick marks on charts).
    median, median_lower, median_upper : float
        Median time to clearance and its confidence interval, ``median_lower <= median <= median_upper``
        (``inf`` when not reached); see :func:`clearance_km` for the conventions. :meth:`median_text` prints
        them for people.
    confidence : float
    time_column : str
    """

    curve: pd.DataFrame
    censored: pd.DataFrame
    median: float
    median_lower: float
    median_upper: float
    confidence: float
    time_column: str
    n_subjects: int
    n_cleared: int
    _event_times: np.ndarray = field(repr=False, default=None)
    _survival: np.ndarray = field(repr=False, default=None)

    def quantile(self, p):
        """Smallest time by which a fraction ``p`` of subjects has cleared (``inf`` if not reached)."""
        q = number(p, "p", "in (0, 1)", "ClearanceKM.quantile")
        if not 0.0 < q < 1.0:
            raise invalid("p", "in (0, 1)", p, "ClearanceKM.quantile")
        return _first_at_or_below(self._event_times, self._survival, 1.0 - q)

    def median_text(self, unit="days"):
        """The median and its interval for display, a limit that is not reached written out in words.

        Examples
        --------
        >>> weekly = pd.DataFrame({"clearance_time": [7.0 * k for k in range(1, 13)], "cleared": True,
        ...                        "censoring_time": np.nan})
        >>> clearance_km(weekly).median_text()
        'median 42 days (95% CI 14–70 days)'
        >>> few = pd.DataFrame({"clearance_time": [7, 14, 21, np.nan, np.nan, np.nan],
        ...                     "cleared": [True, True, True, False, False, False], "censoring_time": 60.0})
        >>> clearance_km(few).median_text()
        'median 21 days (95% CI 7 days–not reached)'
        """
        def show(value):
            return "not reached" if not np.isfinite(value) else f"{value:g} {unit}".rstrip()

        level = f"{100 * self.confidence:.3g}%"
        lo, hi = show(self.median_lower), show(self.median_upper)
        if np.isfinite(self.median_lower) and np.isfinite(self.median_upper) and unit:
            lo = f"{self.median_lower:g}"  # '14–70 days' rather than '14 days–70 days'
        return f"median {show(self.median)} ({level} CI {lo}–{hi})"

    def to_frame(self):
        return self.curve.copy()

    @property
    def summary(self):
        return pd.DataFrame({
            "time_column": [self.time_column], "n_subjects": [self.n_subjects], "n_cleared": [self.n_cleared],
            "median": [self.median], "median_lower": [self.median_lower], "median_upper": [self.median_upper],
            "confidence": [self.confidence]})


_TOL = 1e-12  # S(t) computed as a product of ratios: 0.5 may come out as 0.5 ± a few ulp


def _first_at_or_below(times, surv, level):
    hit = surv <= level + _TOL
    return float(times[np.argmax(hit)]) if np.any(hit) else float("inf")


def _median_interval(times, lower, upper, level=0.5):
    """Brookmeyer–Crowley limits from the pointwise band (lower <= S <= upper) at the event times.

    The interval is made of the times whose pointwise interval contains ``level``: its lower limit is the
    first event time in that set, its upper limit the event time that ends the set (``inf`` when the set
    reaches the last event time). When the band steps over ``level`` in one event time (heavy ties), the set
    is empty and both limits are that event time.
    """
    inside = np.flatnonzero((lower <= level + _TOL) & (upper >= level - _TOL))
    if inside.size == 0:
        t = _first_at_or_below(times, upper, level)  # = first time lower <= level here: the band's jump
        return t, t
    last = inside[-1]
    return float(times[inside[0]]), float(times[last + 1]) if last + 1 < times.size else float("inf")


def clearance_km(table, time_column="clearance_time", confidence=0.95):
    """Kaplan–Meier curve of time to clearance across subjects, with median and its confidence interval.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`clearance_times` (columns ``cleared``, ``censoring_time`` and ``time_column``).
    time_column : {"clearance_time", "first_negative_time"}
        Event time of cleared subjects; censored subjects contribute their ``censoring_time``.
    confidence : float in (0, 1)

    Returns
    -------
    ClearanceKM

    Notes
    -----
    Product-limit estimator S(t) = Π_{t_i <= t} (1 − d_i / n_i) from ``scipy.stats.ecdf`` on
    ``scipy.stats.CensoredData``; pointwise intervals use Greenwood's variance on the log(−log S) scale
    ("log-log"), which keeps them inside [0, 1].

    *Median.* The first event time with S(t) <= 0.5 (``inf`` if none). Where the curve sits exactly at 0.5
    over an interval [t_a, t_b) this gives t_a; R's ``survfit`` reports the midpoint (t_a + t_b) / 2 and
    ``statsmodels`` (like SAS) the first time with S(t) < 0.5, i.e. t_b. :meth:`ClearanceKM.quantile`
    follows the same rule (first time with S(t) <= 1 − p).

    *Its interval* (Brookmeyer–Crowley: invert the pointwise test of S(t) = 0.5) is built from the times
    whose pointwise interval contains 0.5, lower(t) <= 0.5 <= upper(t). Both bands fall with time and the
    lower band reaches 0.5 first, so the lower limit is the first event time at which the **lower** band is
    <= 0.5 and the upper limit is the first event time after that set, where the **upper** band has dropped
    below 0.5 (``inf``, "not reached", when it never does). This equals
    ``statsmodels.duration.survfunc.SurvfuncRight(...).quantile_ci(0.5, method="cloglog")``. When the band
    steps over 0.5 in a single event time (many ties) that set is empty: statsmodels returns NaN, this
    function returns that event time for both limits (it is also the median).

    References
    ----------
    Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. JASA 1958;53:457-481.
    Brookmeyer R, Crowley J. A confidence interval for the median survival time. Biometrics 1982;38:29-41.
    Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data, 2nd ed. Wiley 2002 (log-log).

    Examples
    --------
    >>> tab = pd.DataFrame({"clearance_time": [10, 20, 30, np.nan], "cleared": [True, True, True, False],
    ...                     "censoring_time": [np.nan, np.nan, np.nan, 25.0]})
    >>> km = clearance_km(tab)
    >>> km.median, km.curve["still_shedding"].round(3).tolist()
    (20.0, [1.0, 0.75, 0.5, 0.5, 0.0])
    """
    where = "clearance_km"
    if time_column not in ("clearance_time", "first_negative_time"):
        raise invalid("time_column", "'clearance_time' or 'first_negative_time'", time_column, where)
    if not 0.0 < number(confidence, "confidence", "in (0, 1)", where) < 1.0:
        raise invalid("confidence", "in (0, 1)", confidence, where)
    missing = {time_column, "cleared", "censoring_time"} - set(table.columns)
    if missing:
        raise invalid("table", "a clearance_times() table", f"a table without {sorted(missing)}", where)
    cleared = table["cleared"].to_numpy(dtype=bool)
    x = np.where(cleared, table[time_column].to_numpy(dtype=float), table["censoring_time"].to_numpy(dtype=float))
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise invalid("table", "finite event or censoring times for every subject", shown(x), where)
    if not np.any(cleared):
        curve = pd.DataFrame({"time": [0.0], "still_shedding": [1.0], "lower": [1.0], "upper": [1.0],
                              "n_at_risk": [x.size], "n_cleared": [0], "n_censored": [0]})
        cens = pd.DataFrame({"time": x, "still_shedding": 1.0})
        inf = float("inf")
        return ClearanceKM(curve, cens, inf, inf, inf, float(confidence), time_column, int(x.size), 0,
                           np.array([0.0]), np.array([1.0]))
    data = stats.CensoredData.right_censored(x, ~cleared)
    res = stats.ecdf(data)
    sf = res.sf
    t_ev = np.asarray(sf.quantiles, dtype=float)
    s = np.asarray(sf.probabilities, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # undefined where S = 1 or 0; handled below
        ci = sf.confidence_interval(float(confidence), method="log-log")
    # the band is undefined where S = 1 (a censoring before the first clearance) or S = 0: it is S there
    lo = np.asarray(ci.low.probabilities, dtype=float)
    hi = np.asarray(ci.high.probabilities, dtype=float)
    lo = np.where(np.isnan(lo), np.where(s >= 1, 1.0, 0.0), lo)
    hi = np.where(np.isnan(hi), np.where(s <= 0, 0.0, 1.0), hi)
    lo = np.where(s <= 0, 0.0, lo)
    times_all = np.unique(x)
    at_risk = (x[None, :] >= times_all[:, None]).sum(axis=1)
    n_ev = ((x[None, :] == times_all[:, None]) & cleared[None, :]).sum(axis=1)
    n_ce = ((x[None, :] == times_all[:, None]) & ~cleared[None, :]).sum(axis=1)
    # step value at every distinct time (events and censorings)
    pos = np.searchsorted(t_ev, times_all, side="right") - 1
    s_all = np.where(pos >= 0, s[np.maximum(pos, 0)], 1.0)
    lo_all = np.where(pos >= 0, lo[np.maximum(pos, 0)], 1.0)
    hi_all = np.where(pos >= 0, hi[np.maximum(pos, 0)], 1.0)
    curve = pd.DataFrame({
        "time": np.concatenate([[0.0], times_all]) if times_all[0] > 0 else times_all,
        "still_shedding": np.concatenate([[1.0], s_all]) if times_all[0] > 0 else s_all,
        "lower": np.concatenate([[1.0], lo_all]) if times_all[0] > 0 else lo_all,
        "upper": np.concatenate([[1.0], hi_all]) if times_all[0] > 0 else hi_all,
        "n_at_risk": np.concatenate([[x.size], at_risk]) if times_all[0] > 0 else at_risk,
        "n_cleared": np.concatenate([[0], n_ev]) if times_all[0] > 0 else n_ev,
        "n_censored": np.concatenate([[0], n_ce]) if times_all[0] > 0 else n_ce,
    })
    xc = x[~cleared]
    pc = np.searchsorted(t_ev, xc, side="right") - 1
    cens = pd.DataFrame({"time": xc, "still_shedding": np.where(pc >= 0, s[np.maximum(pc, 0)], 1.0)})
    median_lower, median_upper = _median_interval(t_ev, lo, hi)
    return ClearanceKM(
        curve=curve, censored=cens, median=_first_at_or_below(t_ev, s, 0.5),
        median_lower=median_lower, median_upper=median_upper,
        confidence=float(confidence), time_column=time_column, n_subjects=int(x.size),
        n_cleared=int(cleared.sum()), _event_times=t_ev, _survival=s)

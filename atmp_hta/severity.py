"""Severity (QALY shortfall) and unmet-need weights.

The NICE 2022 severity modifier (NICE health technology evaluations: the manual, PMG36, section 6.2)
weights QALYs gained by the *QALY shortfall* of people on current care: the QALYs they lose relative to the
general population of the same age and sex, in absolute and proportional terms. Whichever of the two gives
the larger weight applies.

The unmet-need weight is this project's explicit, bounded policy parameter (see :func:`unmet_need_weight`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from atmp_hta.exceptions import invalid

__all__ = [
    "qaly_shortfall",
    "severity_weight",
    "ContinuousSeverity",
    "NICE_2022",
    "unmet_need_weight",
    "UNMET_NEED_SCHEMES",
]


@dataclass(frozen=True)
class ContinuousSeverity:
    """A continuous severity scheme: the weight rises linearly from 1 to ``max_weight``.

    The proportional-shortfall weight rises from 1 at ``proportional[0]`` to ``max_weight`` at
    ``proportional[1]``; likewise for the absolute shortfall (QALYs). The larger of the two applies. The
    defaults span NICE 2022's cut-offs, replacing its steps with ramps (no cliff edges).
    """

    max_weight: float = 1.7
    proportional: tuple[float, float] = (0.85, 0.95)
    absolute: tuple[float, float] = (12.0, 18.0)

    def __post_init__(self):
        where = "ContinuousSeverity"
        if not 1.0 <= self.max_weight <= 10.0:
            raise invalid("max_weight", "in [1, 10]", self.max_weight, where)
        lo, hi = self.proportional
        if not 0.0 <= lo < hi <= 1.0:
            raise invalid("proportional", "a pair 0 <= low < high <= 1", self.proportional, where)
        lo, hi = self.absolute
        if not 0.0 <= lo < hi:
            raise invalid("absolute", "a pair 0 <= low < high", self.absolute, where)


#: NICE PMG36 (2022) table 6.1: (weight, proportional shortfall at least, absolute shortfall at least).
NICE_2022 = ((1.7, 0.95, 18.0), (1.2, 0.85, 12.0))


def qaly_shortfall(general_population_qalys, current_care_qalys):
    """Absolute and proportional QALY shortfall.

    Parameters
    ----------
    general_population_qalys : float or ndarray
        Expected remaining (discounted) QALYs of the general population with the patients' age and sex; > 0.
    current_care_qalys : float or ndarray
        Expected remaining (discounted) QALYs of patients on current care; >= 0 is not required (a negative
        total is possible with states worse than death) but must not exceed the general population's.

    Returns
    -------
    (absolute, proportional) : tuple of ndarray
        absolute = general − current; proportional = absolute / general.

    References
    ----------
    NICE. NICE health technology evaluations: the manual (PMG36), 2022, section 6.2.

    Examples
    --------
    >>> a, p = qaly_shortfall(10.0, 1.0)
    >>> float(a), float(p)
    (9.0, 0.9)
    """
    where = "qaly_shortfall"
    general = np.asarray(general_population_qalys, dtype=float)
    current = np.asarray(current_care_qalys, dtype=float)
    if np.any(~np.isfinite(general)) or np.any(general <= 0):
        raise invalid("general_population_qalys", "a finite number > 0", _first_bad(general, general <= 0), where)
    if np.any(~np.isfinite(current)):
        raise invalid("current_care_qalys", "finite", _first_bad(current, ~np.isfinite(current)), where)
    absolute = general - current
    if np.any(absolute < -1e-9):
        raise invalid(
            "current_care_qalys",
            "at most general_population_qalys",
            _first_bad(current, absolute < -1e-9),
            where,
        )
    absolute = np.maximum(absolute, 0.0)
    return absolute, absolute / general


def _first_bad(values, mask):
    mask = np.broadcast_to(mask, np.shape(values)) | ~np.isfinite(values)
    bad = np.asarray(values)[mask].ravel()
    return float(bad[0]) if bad.size else float(np.asarray(values).ravel()[0])


def severity_weight(absolute, proportional, scheme="nice-2022"):
    """QALY weight for severity.

    Parameters
    ----------
    absolute : float or ndarray
        Absolute QALY shortfall (>= 0).
    proportional : float or ndarray
        Proportional QALY shortfall, >= 0 (above 1 only when current care has negative QALYs).
    scheme : "nice-2022", "none" or ContinuousSeverity
        ``"nice-2022"`` gives 1.7 if proportional >= 0.95 or absolute >= 18; otherwise 1.2 if proportional
        >= 0.85 or absolute >= 12; otherwise 1.0. ``"none"`` gives 1. A :class:`ContinuousSeverity` gives
        linear ramps between its cut-offs.

    Returns
    -------
    ndarray
        The weight, >= 1, non-decreasing in both shortfalls.

    References
    ----------
    NICE. NICE health technology evaluations: the manual (PMG36), 2022, section 6.2, table 6.1.

    Examples
    --------
    >>> float(severity_weight(12.0, 0.5)), float(severity_weight(5.0, 0.95)), float(severity_weight(5.0, 0.5))
    (1.2, 1.7, 1.0)
    """
    where = "severity_weight"
    absolute = np.asarray(absolute, dtype=float)
    proportional = np.asarray(proportional, dtype=float)
    if np.any(~np.isfinite(absolute)) or np.any(absolute < 0):
        raise invalid("absolute", "a finite number >= 0", _first_bad(absolute, absolute < 0), where)
    bad = proportional < 0
    if np.any(~np.isfinite(proportional)) or np.any(bad):
        raise invalid("proportional", "a finite number >= 0", _first_bad(proportional, bad), where)
    shape = np.broadcast_shapes(absolute.shape, proportional.shape)
    if isinstance(scheme, ContinuousSeverity):
        def ramp(x, lo, hi):
            return np.clip((x - lo) / (hi - lo), 0.0, 1.0)

        steps = np.maximum(ramp(proportional, *scheme.proportional), ramp(absolute, *scheme.absolute))
        return np.broadcast_to(1.0 + (scheme.max_weight - 1.0) * steps, shape).copy()
    if scheme == "none":
        return np.ones(shape)
    if scheme != "nice-2022":
        raise invalid("scheme", "'nice-2022', 'none' or a ContinuousSeverity", scheme, where)
    weight = np.ones(shape)
    for w, p_cut, a_cut in reversed(NICE_2022):  # 1.2 first, then 1.7 overrides
        weight = np.where((proportional >= p_cut) | (absolute >= a_cut), w, weight)
    return weight


UNMET_NEED_SCHEMES = ("none", "linear", "convex")


def unmet_need_weight(unmet_need, max_uplift=0.0, scheme="linear"):
    """Weight for unmet medical need.

    Parameters
    ----------
    unmet_need : float or ndarray
        Degree of unmet need in [0, 1]: 1 − (the share of the achievable health gain that the best
        available alternative already delivers to these patients). 0: an effective alternative exists for
        everyone; 1: nothing disease-modifying is available.
    max_uplift : float
        Policy parameter in [0, 1]: the largest relative uplift granted at complete unmet need.
    scheme : {"none", "linear", "convex"}
        ``"none"``: 1. ``"linear"``: 1 + max_uplift · n. ``"convex"``: 1 + max_uplift · n², which reserves
        most of the uplift for near-complete unmet need.

    Returns
    -------
    ndarray
        A weight in [1, 1 + max_uplift], non-decreasing in ``unmet_need``.

    Notes
    -----
    Unlike severity (a property of the disease on current care), unmet need here measures what therapy
    is *available*; it is a declared societal preference, off ("none") unless a policy asks for it.

    Examples
    --------
    >>> float(unmet_need_weight(0.5, 0.2)), float(unmet_need_weight(0.5, 0.2, "convex"))
    (1.1, 1.05)
    """
    where = "unmet_need_weight"
    need = np.asarray(unmet_need, dtype=float)
    bad = (need < 0) | (need > 1)
    if np.any(~np.isfinite(need)) or np.any(bad):
        raise invalid("unmet_need", "in [0, 1]", _first_bad(need, bad), where)
    if not (np.isfinite(max_uplift) and 0.0 <= max_uplift <= 1.0):
        raise invalid("max_uplift", "in [0, 1]", max_uplift, where)
    if scheme == "none":
        return np.ones_like(need)
    if scheme == "linear":
        return 1.0 + max_uplift * need
    if scheme == "convex":
        return 1.0 + max_uplift * need**2
    raise invalid("scheme", f"one of {UNMET_NEED_SCHEMES}", scheme, where)

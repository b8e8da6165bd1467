"""Boundary checks shared by the surrogate-planner kernels (message template: ``atmp_hta.exceptions``)."""

from __future__ import annotations

import numpy as np

from atmp_hta.exceptions import invalid

__all__ = ["as_float_array", "first_bad", "check_choice", "check_probability_open", "check_positive"]


def as_float_array(name, value, where):
    """Return ``value`` as a float ndarray, refusing NaN and infinity."""
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise invalid(name, "finite numbers", first_bad(value, ~np.isfinite(arr)), where)
    return arr


def first_bad(value, mask):
    """The first offending element, as a plain Python number for a readable message."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return float(arr)
    return float(arr[np.asarray(mask, dtype=bool)].ravel()[0])


def check_choice(name, value, choices, where):
    if value not in choices:
        raise invalid(name, f"one of {choices}", value, where)
    return value


def check_probability_open(name, value, where, low=0.0, low_label="0"):
    """``value`` must lie in the open interval (low, 1)."""
    arr = as_float_array(name, value, where)
    bad = ~((arr > low) & (arr < 1.0))
    if np.any(bad):
        raise invalid(name, f"in ({low_label}, 1)", first_bad(arr, bad), where)
    return arr


def check_positive(name, value, where, allow_zero=False):
    arr = as_float_array(name, value, where)
    bad = arr < 0 if allow_zero else arr <= 0
    if np.any(bad):
        raise invalid(name, ">= 0" if allow_zero else "> 0", first_bad(arr, bad), where)
    return arr

"""Argument checks shared by the shedding planner's public functions.

Each check takes ``where``, the public function (or class) the user called, so that a message raised from a
shared helper names that function, never the helper. Values that are not numbers at all (``"x"``, ``None``)
get the project's one message (field, allowed range, value received) instead of a bare ``float()`` error.
"""

from __future__ import annotations

import numpy as np

from atmp_hta.exceptions import invalid

__all__ = ["number", "numbers", "whole", "shown"]


def number(value, name, allowed, where):
    """``float(value)``, or the standard error for ``name`` when it is not a single real number.

    Examples
    --------
    >>> number("0.5", "probability", "in (0, 1)", "limit_of_detection")
    0.5
    >>> number("x", "probability", "in (0, 1)", "limit_of_detection")
    Traceback (most recent call last):
    ...
    atmp_hta.exceptions.ParameterError: The 'probability' parameter of limit_of_detection must be in (0, 1). Got 'x'.
    """
    if isinstance(value, bool | np.bool_):
        raise invalid(name, allowed, value, where)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise invalid(name, allowed, value, where) from None


def numbers(value, name, allowed, where):
    """``numpy.asarray(value, dtype=float)``, or the standard error for ``name`` when that fails."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        as_object = np.asarray(value, dtype=object)
        got = value if as_object.ndim == 0 else shown(as_object)
        raise invalid(name, allowed, got, where) from None


def whole(value, name, where, minimum=1):
    """``int(value)`` for a whole number >= ``minimum`` (``3.0`` is accepted; ``True`` and ``"3"`` are not)."""
    allowed = f"a whole number >= {minimum}"
    if isinstance(value, bool | np.bool_ | str):
        raise invalid(name, allowed, value, where)
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise invalid(name, allowed, value, where) from None
    if not v.is_integer() or v < minimum:
        raise invalid(name, allowed, value, where)
    return int(v)


def shown(arr):
    """A short rendering of a value for a message: a scalar as it is, an array as its first ten values
    (whole numbers without ``.0``)."""
    if np.ndim(arr) == 0:
        return np.asarray(arr).item()
    arr = np.asarray(arr).ravel()
    vals = [int(v) if isinstance(v, float) and float(v).is_integer() else v for v in arr[:10].tolist()]
    return vals if arr.size <= 10 else vals + ["..."]

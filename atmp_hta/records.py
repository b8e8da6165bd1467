"""Atomic writes and the results record a batch-run workbook leaves behind.

This module is imported inside workbooks, so it imports nothing heavy (no numpy, no pandas): a workbook
calls :func:`record_results` in its last cell, the batch runner (:mod:`atmp_hta.batch`) reads the file back.

Every file is written to a temporary file in the destination directory and then moved into place with
:func:`os.replace`, which is atomic on POSIX and Windows: a reader (or a batch resumed after a crash) sees
either the old file, the complete new file, or no file, never half of one.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "MISSING",
    "atomic_write_bytes",
    "atomic_write_text",
    "format_result",
    "is_missing",
    "record_results",
    "to_jsonable",
]


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same directory, then ``os.replace``).

    Parameters
    ----------
    path : path-like
        Destination. Its directory must exist.
    data : bytes
        The complete content.

    Returns
    -------
    pathlib.Path
        The destination path.

    Notes
    -----
    The temporary file is named ``.<name>.<random>.tmp`` so that a leftover from a killed process is
    recognisable (hidden, ``.tmp``) and never mistaken for the real file.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # mkstemp creates 0600; give the file the usual permissions
            os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; see :func:`atomic_write_bytes`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = atomic_write_text(pathlib.Path(d) / "a.txt", "hello")
    ...     p.read_text(), sorted(x.name for x in pathlib.Path(d).iterdir())
    ('hello', ['a.txt'])
    """
    return atomic_write_bytes(path, text.encode(encoding))


def to_jsonable(value: Any) -> Any:
    """Convert ``value`` to plain JSON types: numpy scalars and arrays, paths, tuples and sets included.

    Non-finite floats become ``None`` (JSON has no NaN). Objects with ``.item()`` (numpy scalars) or
    ``.tolist()`` (arrays, pandas objects) are converted without importing numpy.

    Examples
    --------
    >>> to_jsonable({"a": (1, 2.5), "b": float("nan"), "c": {"d": None}})
    {'a': [1, 2.5], 'b': None, 'c': {'d': None}}
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):  # numpy scalar or 0-d array
        return to_jsonable(value.item())
    if hasattr(value, "tolist"):  # arrays, pandas Series/Index
        return to_jsonable(value.tolist())
    if hasattr(value, "item"):
        return to_jsonable(value.item())
    raise TypeError(
        f"The results value {value!r} of type {type(value).__name__} cannot be written as JSON; "
        "record numbers, strings, booleans, lists or mappings of them."
    )


#: How a missing value (None, NaN) is shown in reports and tables.
MISSING = "—"


def is_missing(value: Any) -> bool:
    """True for None, NaN and pandas' NA (a value unequal to itself); False for anything else.

    Examples
    --------
    >>> [is_missing(v) for v in (None, float("nan"), 0.0, "", "x")]
    [True, True, False, False, False]
    """
    try:
        return value is None or bool(value != value)
    except (TypeError, ValueError):  # an array, or pandas' NA in a boolean context
        return value is not None and str(value) == "<NA>"


def format_result(value: Any, digits: int = 4) -> str:
    """Show a recorded result for a reader: numbers to ``digits`` significant digits, missing as "—".

    Floats keep ``digits`` significant digits in fixed notation (thousands separated) from 1e-4 to 1e9 and
    scientific notation outside; integers are shown whole; ``None``, NaN and NA are :data:`MISSING`
    (:func:`is_missing`); anything else as ``str``. Only for display: recorded files keep full precision.

    Examples
    --------
    >>> [format_result(v) for v in (2.378487992237946, 0.0018898610713833364, 21000.5, 100000, None)]
    ['2.378', '0.001890', '21,000', '100,000', '—']
    >>> [format_result(v) for v in (float("nan"), 1.0, -0.5, 3.2e-07, True, "approve")]
    ['—', '1.000', '-0.5000', '3.200e-07', 'True', 'approve']
    """
    if is_missing(value):
        return MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):  # a numpy scalar
            return format_result(value.item(), digits)
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):  # ±inf (NaN is missing, above)
        return str(value)
    magnitude = abs(value)
    if value == 0:
        return "0"
    if not 1e-4 <= magnitude < 1e9:
        return f"{value:.{digits - 1}e}"
    decimals = max(0, digits - 1 - math.floor(math.log10(magnitude)))
    return f"{value:,.{decimals}f}"


def record_results(mapping: Mapping[str, Any], path: str | os.PathLike[str] | None) -> None:
    """Write a workbook's key results as JSON, atomically, for the batch runner to collect.

    Parameters
    ----------
    mapping : Mapping[str, Any]
        Result name -> value. Values may be numbers (numpy scalars included), strings, booleans, ``None``,
        lists, or nested mappings (the batch summary flattens those to ``outer.inner`` columns).
    path : path-like or None
        Destination, normally the ``results_path`` parameter that papermill injected. ``None`` (a workbook
        run interactively, not by the batch runner) writes nothing.

    Returns
    -------
    None
        Nothing, so that the call can end a cell without printing a path into the report.

    Raises
    ------
    TypeError
        If ``mapping`` is not a mapping or holds a value that has no JSON form.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = pathlib.Path(d) / "results.json"
    ...     record_results({"icer": 21000.5, "dominated": False}, path)
    ...     json.loads(path.read_text())
    {'icer': 21000.5, 'dominated': False}
    >>> record_results({"icer": 1.0}, None)  # run interactively: nothing written
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(f"record_results expects a mapping of result name to value. Got {type(mapping).__name__}.")
    if path is None:
        return None
    text = json.dumps(to_jsonable(mapping), indent=2, sort_keys=False, allow_nan=False)
    atomic_write_text(path, text + "\n")
    return None

"""The summary of a batch: a tidy table (CSV and Parquet) and an HTML index linking every run's report."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from atmp_hta.batch_plan import INDEX_FILE, NOTEBOOK_FILE, SUMMARY_CSV, SUMMARY_PARQUET, format_value
from atmp_hta.records import MISSING, atomic_write_bytes, format_result, is_missing

__all__ = [
    "INDEX_FILE",
    "INDEX_RESULTS",
    "SUMMARY_COLUMNS",
    "SUMMARY_CSV",
    "SUMMARY_PARQUET",
    "index_html",
    "summary_frame",
    "write_parquet",
]

#: The summary's leading columns, in order (grid columns follow ``parameter_file``, results come last).
SUMMARY_COLUMNS = (
    "run_id",
    "status",
    "error",
    "parameter_file",
    "seed",
    "parameter_hash",
    "notebook_hash",
    "duration_s",
    "report",
)


def _flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings become ``outer.inner`` keys; lists become JSON text (one cell per result).

    Examples
    --------
    >>> _flatten({"icer": 2.5, "nmb": {"at_20k": 1, "at_30k": 2}, "ranks": [1, 2]})
    {'icer': 2.5, 'nmb.at_20k': 1, 'nmb.at_30k': 2, 'ranks': '[1, 2]'}
    """
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, prefix=f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat


def summary_frame(rows: list[dict], grid_keys: Sequence[str]) -> pd.DataFrame:
    """The tidy summary: :data:`SUMMARY_COLUMNS` with one column per grid key after ``parameter_file``,
    then the flattened results. A grid key or result named like a fixed column is prefixed ``grid.`` or
    ``result.``.
    """
    columns = list(SUMMARY_COLUMNS)
    grid_columns = {key: key if key not in columns else f"grid.{key}" for key in grid_keys}
    columns[4:4] = list(grid_columns.values())  # after parameter_file
    records = []
    result_columns: dict[str, None] = {}
    for row in rows:
        record = {name: row[name] for name in SUMMARY_COLUMNS}
        record.update({grid_columns[key]: value for key, value in row["grid"].items()})
        for key, value in _flatten(row["results"]).items():
            name = key if key not in columns else f"result.{key}"
            result_columns.setdefault(name)
            record[name] = value
        records.append(record)
    columns += list(result_columns)
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["seed"] = frame["seed"].astype("int64")
    frame["duration_s"] = frame["duration_s"].astype("float64")
    return frame


def _parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of mixed Python types (a result that is a number in one run, text in another) become text."""
    import pyarrow as pa

    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object:
            try:
                pa.array(out[name], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
                out[name] = out[name].map(lambda v: None if v is None or v != v else str(v)).astype("str")
    return out


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as Parquet, atomically."""
    buffer = io.BytesIO()
    _parquet_ready(frame).to_parquet(buffer, index=False)
    atomic_write_bytes(path, buffer.getvalue())


_INDEX_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1rem 1.5rem; color: #222; }
table { border-collapse: collapse; font-size: 0.8rem; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.35rem; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
th { background: #f4f4f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.error { font-family: ui-monospace, monospace; font-size: 0.8rem; color: #8c1d18; white-space: pre-wrap;
           overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 0.7rem; font-size: 0.8rem;
         font-weight: 600; white-space: nowrap; }
.badge-ok { background: #e3f4e8; color: #1b7f3b; }
.badge-skipped { background: #ececec; color: #555; }
.badge-failed { background: #fdecea; color: #b3261e; }
.note { color: #555; font-size: 0.85rem; }
.table-wrap { overflow-x: auto; }
"""

#: Results shown as columns of ``index.html`` at most (all of them are in the summary files).
INDEX_RESULTS = 6
#: A result whose formatted values are longer than this (hashes, long text) is left to the summary files.
_INDEX_RESULT_CHARS = 40


def _index_results(frame: pd.DataFrame, first: int, limit: int) -> tuple[list[str], int]:
    """The result columns shown in the index (short values, in the order recorded) and how many exist."""
    candidates = list(frame.columns[first:])
    shown = []
    for name in candidates:
        values = [format_result(v) for v in frame[name] if not is_missing(v)]
        if all(len(v) <= _INDEX_RESULT_CHARS for v in values):
            shown.append(name)
    return shown[:limit], len(candidates)


def _breakable(text: str) -> str:
    """HTML-escaped ``text`` that may wrap after ``_ . = /`` (long run ids, file and result names)."""
    return re.sub(r"([_.=/])", r"\1<wbr>", html.escape(text))


def _cell(value: Any) -> str:
    if is_missing(value):
        return f'<td class="num">{MISSING}</td>'
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"<td>{_breakable(format_result(value))}</td>"
    return f'<td class="num">{html.escape(format_result(value))}</td>'


def index_html(frame: pd.DataFrame, notebook: Path, n_grid: int, title: str, max_results: int = INDEX_RESULTS) -> str:
    """A standalone HTML page: one row per run linking its report, with its status, key results and error.

    The status is a coloured badge; up to ``max_results`` recorded results with short values are columns
    (numbers to 4 significant digits, missing as "—"); a failed run's error spans those columns, wrapped.
    The table fits the page's width (on a narrow screen it scrolls inside the page). Every result is in
    ``summary.csv`` and ``summary.parquet``.
    """
    counts = frame["status"].value_counts()
    summary = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in ("ok", "skipped", "failed"))
    first_result = len(SUMMARY_COLUMNS) + n_grid
    grid_columns = list(frame.columns[4 : 4 + n_grid])
    results, n_results = _index_results(frame, first_result, max_results)
    error_span = max(1, len(results))
    header = ["run", "status", "parameter file", *grid_columns, *(results or ["error"]), "seed", "duration (s)", ""]
    note = ""
    if len(results) < n_results:
        note = (
            f'<p class="note">{len(results)} of {n_results} recorded results shown; all of them are in the '
            "summary files.</p>"
        )
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_INDEX_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Notebook <code>{html.escape(str(notebook))}</code> &middot; {len(frame)} runs: {summary} "
        "&middot; "
        f'summary as <a href="{SUMMARY_CSV}">CSV</a> and <a href="{SUMMARY_PARQUET}">Parquet</a></p>',
        note,
        '<div class="table-wrap"><table><thead><tr>'
        + "".join(f"<th>{_breakable(h)}</th>" for h in header)
        + "</tr></thead><tbody>",
    ]
    for row in frame.to_dict("records"):
        run_id = html.escape(row["run_id"])
        has_report = isinstance(row["report"], str)
        name = _breakable(row["run_id"])
        link = f'<a href="{html.escape(row["report"])}">{name}</a>' if has_report else name
        status = html.escape(row["status"])
        pfile = row["parameter_file"]
        if isinstance(row["error"], str):
            outcome = [f'<td class="error" colspan="{error_span}">{html.escape(row["error"])}</td>']
        elif results:
            outcome = [_cell(row[c]) for c in results]
        else:
            outcome = ["<td></td>"]
        cells = [
            f"<td>{link}</td>",
            f'<td><span class="badge badge-{status}">{status}</span></td>',
            f"<td>{_breakable(Path(pfile).name) if isinstance(pfile, str) else ''}</td>",
            *(f"<td>{_breakable(format_value(row[c]))}</td>" for c in grid_columns),
            *outcome,
            f'<td class="num">{row["seed"]}</td>',
            f'<td class="num">{row["duration_s"]:.1f}</td>',
            f'<td><a href="{run_id}/{NOTEBOOK_FILE}">ipynb</a></td>' if has_report else "<td></td>",
        ]
        lines.append(f"<tr>{''.join(cells)}</tr>")
    lines += ["</tbody></table></div>", "</body></html>", ""]
    return "\n".join(lines)

"""The summary of a batch: a tidy table (CSV and Parquet) and an HTML index linking every run's report."""

from __future__ import annotations

import html
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from atmp_hta.batch_plan import INDEX_FILE, NOTEBOOK_FILE, SUMMARY_CSV, SUMMARY_PARQUET, format_value
from atmp_hta.records import atomic_write_bytes

__all__ = [
    "INDEX_FILE",
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
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
tr.failed td { background: #fdecea; }
td.error { font-family: ui-monospace, monospace; max-width: 50rem; }
.ok { color: #1b7f3b; } .skipped { color: #555; } .failed { color: #b3261e; font-weight: 600; }
"""


def index_html(frame: pd.DataFrame, notebook: Path, n_grid: int, title: str) -> str:
    """A standalone HTML page: one row per run linking its report, with status and error."""
    counts = frame["status"].value_counts()
    summary = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in ("ok", "skipped", "failed"))
    grid_columns = list(frame.columns[4 : 4 + n_grid])
    header = ["run", "status", "error", "parameter file", *grid_columns, "seed", "duration (s)", "notebook"]
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_INDEX_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Notebook <code>{html.escape(str(notebook))}</code> &middot; {len(frame)} runs: {summary} "
        "&middot; "
        f'summary as <a href="{SUMMARY_CSV}">CSV</a> and <a href="{SUMMARY_PARQUET}">Parquet</a></p>',
        "<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>",
    ]
    for row in frame.to_dict("records"):
        run_id = html.escape(row["run_id"])
        has_report = isinstance(row["report"], str)
        link = f'<a href="{html.escape(row["report"])}">{run_id}</a>' if has_report else run_id
        status = html.escape(row["status"])
        pfile = row["parameter_file"]
        cells = [
            f"<td>{link}</td>",
            f'<td class="{status}">{status}</td>',
            f'<td class="error">{html.escape(row["error"]) if isinstance(row["error"], str) else ""}</td>',
            f"<td>{html.escape(Path(pfile).name) if isinstance(pfile, str) else ''}</td>",
            *(f"<td>{html.escape(format_value(row[c]))}</td>" for c in grid_columns),
            f"<td>{row['seed']}</td>",
            f"<td>{row['duration_s']:.1f}</td>",
            f'<td><a href="{run_id}/{NOTEBOOK_FILE}">ipynb</a></td>' if has_report else "<td></td>",
        ]
        lines.append(f'<tr class="{status}">{"".join(cells)}</tr>')
    lines += ["</tbody></table>", "</body></html>", ""]
    return "\n".join(lines)

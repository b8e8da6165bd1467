"""Planning a batch: parameter grids, hashes, derived seeds and the list of runs.

Pure bookkeeping with no Jupyter import at module level; :mod:`atmp_hta.batch` is the entry point. A run's
*identity* (its directory, ``run_id``) is where its inputs come from: the parameter file's path, the grid
point and the batch seed. Its *parameter hash* is what they contain: the file's bytes, the grid values
and the batch seed. Editing a parameter file therefore reruns the same run in place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from atmp_hta.exceptions import invalid

__all__ = [
    "DONE_FILE",
    "INDEX_FILE",
    "INJECTED",
    "KERNEL_LOG",
    "NOTEBOOK_FILE",
    "REPORT_FILE",
    "RESULTS_FILE",
    "SUMMARY_CSV",
    "SUMMARY_PARQUET",
    "RunSpec",
    "declared_parameters",
    "derive_seed",
    "format_value",
    "notebook_hash",
    "parameter_hash",
    "parse_grid",
    "plan_runs",
    "validate_batch",
]

#: Files of one run, inside ``output_dir/<run_id>/``.
NOTEBOOK_FILE = "notebook.ipynb"
REPORT_FILE = "report.html"
RESULTS_FILE = "results.json"
DONE_FILE = "done.json"
KERNEL_LOG = "kernel.log"
#: Files of a batch, inside ``output_dir``.
SUMMARY_CSV = "summary.csv"
SUMMARY_PARQUET = "summary.parquet"
INDEX_FILE = "index.html"

#: Parameters the runner injects itself; they cannot be grid keys.
INJECTED = ("parameter_file", "seed", "results_path")
_GRID_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SCALAR_TYPES = (str, int, float, bool, type(None))
_WHERE = "batch"


# --------------------------------------------------------------------------------------------- hashing


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def notebook_hash(notebook: str | os.PathLike[str]) -> str:
    """SHA-256 of a notebook's source: each cell's type, source and tags (outputs and ids ignored).

    Parameters
    ----------
    notebook : path-like
        The ``.ipynb`` file.

    Returns
    -------
    str
        64 hex digits. Executing, clearing outputs or re-saving the notebook does not change it; editing
        any cell does.
    """
    with open(notebook, encoding="utf-8") as handle:
        nb = json.load(handle)
    cells = []
    for cell in nb.get("cells", []):
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        tags = sorted(cell.get("metadata", {}).get("tags", []))
        cells.append([cell.get("cell_type", ""), source, tags])
    return _sha256(_canonical(cells))


def parameter_hash(
    parameter_file: str | os.PathLike[str] | None,
    grid_values: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> str:
    """SHA-256 identifying one run's inputs: the YAML file's content, the grid values and the batch seed.

    The file's *content* counts, not its path: editing a parameter file invalidates its completed runs,
    moving it does not.

    Examples
    --------
    >>> parameter_hash(None, {"x": 1}, seed=0) == parameter_hash(None, {"x": 1}, seed=0)
    True
    >>> parameter_hash(None, {"x": 1}, seed=0) == parameter_hash(None, {"x": 2}, seed=0)
    False
    """
    content = None
    if parameter_file is not None:
        content = _sha256(Path(parameter_file).read_bytes())
    grid = sorted([key, value] for key, value in (grid_values or {}).items())
    return _sha256(_canonical({"parameter_file_sha256": content, "grid": grid, "seed": seed}))


def derive_seed(batch_seed: int, run_parameter_hash: str) -> int:
    """The seed injected into one run: the first 32 bits of SHA-256(batch seed, parameter hash).

    Deterministic (the same batch gives the same seeds on any machine, in any order, on any scheduler),
    distinct between runs, and in ``[0, 2**32)`` so that every random number generator accepts it.

    Examples
    --------
    >>> derive_seed(0, "ab" * 32)
    3046897677
    >>> derive_seed(0, "ab" * 32) == derive_seed(1, "ab" * 32)
    False
    """
    if isinstance(batch_seed, bool) or not isinstance(batch_seed, int) or batch_seed < 0:
        raise invalid("seed", "an integer >= 0", batch_seed, where=_WHERE)
    digest = hashlib.sha256(f"atmp_hta.batch:{batch_seed}:{run_parameter_hash}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


# ------------------------------------------------------------------------------------------------ grid


def _parse_value(text: str, item: str) -> Any:
    import yaml

    if not text.strip():
        raise invalid("grid", "of the form key=value1,value2 with no empty value", item, where=_WHERE)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise invalid("grid", "of the form key=value1,value2 with YAML scalar values", item, where=_WHERE) from None
    if not isinstance(value, _SCALAR_TYPES):  # dates, lists, mappings: keep the text as written
        if isinstance(value, list | dict):
            raise invalid("grid", "of the form key=value1,value2 with YAML scalar values", item, where=_WHERE)
        value = text.strip()
    if isinstance(value, float) and value != value:
        raise invalid("grid", "free of NaN values", item, where=_WHERE)
    return value


def _check_key(key: str, item: object) -> None:
    if not _GRID_KEY.match(key):
        raise invalid("grid", "of the form key=value1,value2 with a Python identifier as key", item, where=_WHERE)
    if key in INJECTED:
        raise invalid("grid", f"free of the injected names {', '.join(INJECTED)}", item, where=_WHERE)


def parse_grid(items: Iterable[str] | Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """Parse grid specifications into ``{parameter: [values...]}``.

    Parameters
    ----------
    items : iterable of str, mapping, or None
        Strings ``"key=v1,v2,..."`` (as on the command line; values are parsed as YAML scalars, so
        ``1`` is an int, ``0.5`` a float, ``true`` a bool, ``null`` None, anything else a string), or a
        mapping ``{key: values}`` whose values are a list of scalars, a single scalar, or a string
        parsed like the command line.

    Returns
    -------
    dict
        Keys in the order given; the batch runs the cartesian product of the value lists.

    Raises
    ------
    ValueError
        On a malformed item, a key that is not an identifier or is injected by the runner
        (``parameter_file``, ``seed``, ``results_path``), a repeated key, or an empty value.

    Examples
    --------
    >>> parse_grid(["x=1,2.5", "arm=gene therapy,true"])
    {'x': [1, 2.5], 'arm': ['gene therapy', True]}
    >>> parse_grid({"x": [1, 2], "y": "a"})
    {'x': [1, 2], 'y': ['a']}
    >>> parse_grid(["x"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    atmp_hta.exceptions.ParameterError: The 'grid' parameter of batch must be of the form ... Got 'x'.
    """
    grid: dict[str, list[Any]] = {}
    if items is None:
        return grid
    if isinstance(items, str):
        items = [items]
    if isinstance(items, Mapping):
        for key, values in items.items():
            _check_key(str(key), key)
            if isinstance(values, str):
                parsed = [_parse_value(v, f"{key}={values}") for v in values.split(",")]
            elif isinstance(values, Sequence):
                parsed = list(values)
            else:
                parsed = [values]
            if not parsed or not all(isinstance(v, _SCALAR_TYPES) for v in parsed):
                raise invalid("grid", "a mapping of key to a non-empty list of scalars", {key: values}, where=_WHERE)
            grid[str(key)] = parsed
        return grid
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise invalid("grid", "of the form key=value1,value2", item, where=_WHERE)
        key, _, values = item.partition("=")
        key = key.strip()
        _check_key(key, item)
        if key in grid:
            raise invalid("grid", "free of repeated keys", item, where=_WHERE)
        grid[key] = [_parse_value(v, item) for v in values.split(",")]
    return grid


# ----------------------------------------------------------------------------------------------- runs


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything one run needs: plain data, picklable, so that it travels to Dask workers."""

    run_id: str
    notebook: str
    notebook_hash: str
    parameter_file: str | None
    grid: tuple[tuple[str, Any], ...]
    batch_seed: int
    seed: int
    parameter_hash: str
    run_dir: str
    timeout: float
    kernel_name: str | None
    cell_timeout: float | None = None

    @property
    def cell_limit(self) -> float:
        """Seconds any one cell may run: ``cell_timeout``, else the whole run's ``timeout``."""
        return self.timeout if self.cell_timeout is None else min(self.cell_timeout, self.timeout)

    def parameters(self) -> dict[str, Any]:
        """Papermill parameters of this run: grid values, ``parameter_file``, ``seed``, ``results_path``."""
        params: dict[str, Any] = dict(self.grid)
        if self.parameter_file is not None:
            params["parameter_file"] = self.parameter_file
        params["seed"] = self.seed
        params["results_path"] = str(Path(self.run_dir) / RESULTS_FILE)
        return params

    def row(self, status: str, error: str | None, duration_s: float, results: Mapping[str, Any] | None) -> dict:
        """One summary row (before flattening) for this run."""
        return {
            "run_id": self.run_id,
            "status": status,
            "error": error,
            "parameter_file": self.parameter_file,
            "grid": dict(self.grid),
            "seed": self.seed,
            "parameter_hash": self.parameter_hash,
            "notebook_hash": self.notebook_hash,
            "duration_s": round(float(duration_s), 3),
            "report": f"{self.run_id}/{REPORT_FILE}" if (Path(self.run_dir) / REPORT_FILE).is_file() else None,
            "results": dict(results or {}),
        }


def _slug(text: str, limit: int = 80) -> str:
    slug = re.sub(r"[^A-Za-z0-9._=+-]+", "_", text).strip("._")
    return slug[:limit] or "run"


def format_value(value: Any) -> str:
    """Show a grid value as typed on the command line (``true``, ``null``, ``0.5``, text as is).

    Examples
    --------
    >>> [format_value(v) for v in (True, None, 0.5, "arm A")]
    ['true', 'null', '0.5', 'arm A']
    """
    return value if isinstance(value, str) else json.dumps(value)


def plan_runs(
    notebook: Path,
    parameter_files: Sequence[Path | None],
    grid: Mapping[str, list[Any]],
    output_dir: Path,
    seed: int,
    timeout: float,
    kernel_name: str | None,
    cell_timeout: float | None = None,
) -> list[RunSpec]:
    """The runs of a batch: every parameter file times every grid point, in that order, without duplicates.

    ``timeout`` is each run's wall-clock limit in seconds, ``cell_timeout`` (optional) each cell's.

    ``run_id`` is ``<file stem>-<key=value>...-<8 hex>``: readable, and unique through a hash of the
    parameter file's path, the grid point and the batch seed.
    """
    nb_hash = notebook_hash(notebook)
    keys = list(grid)
    specs: dict[str, RunSpec] = {}
    for parameter_file in parameter_files:
        for values in itertools.product(*(grid[key] for key in keys)):
            point = tuple(zip(keys, values, strict=True))
            p_hash = parameter_hash(parameter_file, dict(point), seed)
            # The run's identity (its directory) is where its inputs come from, not their content: editing
            # a parameter file reruns it in place (the marker's parameter hash no longer matches).
            identity = _sha256(
                _canonical(
                    {
                        "parameter_file": None if parameter_file is None else str(parameter_file),
                        "grid": sorted([k, v] for k, v in point),
                        "seed": seed,
                    }
                )
            )
            readable = [parameter_file.stem if parameter_file is not None else "run"]
            readable += [f"{k}={format_value(v)}" for k, v in point]
            run_id = f"{_slug('-'.join(readable))}-{identity[:8]}"
            specs.setdefault(
                run_id,
                RunSpec(
                    run_id=run_id,
                    notebook=str(notebook),
                    notebook_hash=nb_hash,
                    parameter_file=None if parameter_file is None else str(parameter_file),
                    grid=point,
                    batch_seed=seed,
                    seed=derive_seed(seed, p_hash),
                    parameter_hash=p_hash,
                    run_dir=str(output_dir / run_id),
                    timeout=float(timeout),
                    kernel_name=kernel_name,
                    cell_timeout=None if cell_timeout is None else float(cell_timeout),
                ),
            )
    return list(specs.values())


def _assigned_names(source: str) -> set[str]:
    """Names a cell assigns at top level, read with :mod:`ast` (IPython magics and shell lines skipped)."""
    import ast

    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def declared_parameters(notebook: Path) -> set[str] | None:
    """Names defined in the notebook's ``parameters`` cell, or None if it has no such cell.

    papermill's own inspection (a regular expression) misses parameters annotated ``str | None`` (papermill
    2.7, nteract/papermill#695); the cell's assignments read with :mod:`ast` count too.
    """
    with open(notebook, encoding="utf-8") as handle:
        nb = json.load(handle)
    cells = [cell for cell in nb.get("cells", []) if "parameters" in cell.get("metadata", {}).get("tags", [])]
    if not cells:
        return None
    import papermill

    source = cells[0].get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    return set(papermill.inspect_notebook(str(notebook))) | _assigned_names(source)


def _is_seconds(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and value > 0 and value != float("inf")


def validate_batch(
    notebook: Any,
    parameter_files: Any,
    grid: Any,
    output_dir: Any,
    workers: Any,
    seed: Any,
    timeout: Any,
    cell_timeout: Any = None,
) -> tuple[Path, list[Path | None], dict[str, list[Any]], Path]:
    """Check :func:`atmp_hta.batch.run_batch`'s arguments; return them resolved (absolute paths, parsed grid).

    Raises ``ValueError`` (:class:`~atmp_hta.exceptions.ParameterError`) with the project's message, e.g.
    "The 'workers' parameter of batch must be >= 1. Got 0.", before anything is written.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise invalid("workers", ">= 1", workers, where=_WHERE)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise invalid("seed", "an integer >= 0", seed, where=_WHERE)
    if not _is_seconds(timeout):
        raise invalid("timeout", "a number of seconds > 0", timeout, where=_WHERE)
    if cell_timeout is not None and not _is_seconds(cell_timeout):
        raise invalid("cell_timeout", "a number of seconds > 0, or None", cell_timeout, where=_WHERE)
    if notebook is None or not Path(notebook).is_file() or Path(notebook).suffix != ".ipynb":
        raise invalid(
            "notebook",
            "an existing .ipynb file",
            None if notebook is None else os.fspath(notebook),
            where=_WHERE,
        )
    notebook = Path(notebook).resolve()
    if isinstance(parameter_files, str | os.PathLike):
        parameter_files = [parameter_files]
    files: list[Path | None] = []
    for item in parameter_files or ():
        if not Path(item).is_file():
            raise invalid("parameter_files", "existing files", os.fspath(item), where=_WHERE)
        files.append(Path(item).resolve())
    files = list(dict.fromkeys(files)) or [None]
    parsed = parse_grid(grid)
    if output_dir is None:
        raise invalid("output_dir", "a directory path", None, where=_WHERE)
    output_dir = Path(output_dir).resolve()
    if output_dir.exists() and not output_dir.is_dir():
        raise invalid("output_dir", "a directory path", os.fspath(output_dir), where=_WHERE)

    declared = declared_parameters(notebook)
    if declared is None:
        raise invalid("notebook", "a notebook with a cell tagged 'parameters'", str(notebook), where=_WHERE)
    needed = ["seed", "results_path", *(["parameter_file"] if files != [None] else []), *parsed]
    missing = [name for name in needed if name not in declared]
    if missing:
        raise invalid(
            "notebook",
            f"a notebook whose 'parameters' cell defines {', '.join(missing)}",
            str(notebook),
            where=_WHERE,
        )
    return notebook, files, parsed, output_dir

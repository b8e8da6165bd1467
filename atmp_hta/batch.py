"""Batch-run a parameterised workbook over many parameter sets, locally or on a Dask cluster.

The runner is generic over any notebook that follows three conventions:

1. a cell tagged ``parameters`` defining at least ``seed`` and ``results_path`` (and ``parameter_file``
   when parameter files are given, and every ``--grid`` key);
2. a cell that validates the parameters and raises on invalid input (papermill only *warns* about
   unknown names);
3. a last cell calling :func:`record_results` (``{name: value}``, ``results_path``) with the key results.

Each run is one papermill execution with the parameters ``parameter_file`` (absolute path of a YAML file),
the grid values, ``seed`` (derived from the batch seed and the run's parameter hash, :func:`derive_seed`)
and ``results_path``. Its outputs go to ``output_dir/<run_id>/``:

============== ==================================================================================
notebook.ipynb the executed notebook (also for failed runs: it shows the traceback)
report.html    the notebook rendered with input cells hidden (:func:`atmp_hta.report.render_html`)
results.json   the key results, written by the notebook through :func:`record_results`
done.json      the completion marker, written last, for successful runs only
kernel.log     the kernel's own stdout/stderr (start-up warnings, crashes)
============== ==================================================================================

and across runs ``summary.csv``, ``summary.parquet`` and ``index.html``.

A run counts as complete only if its ``done.json`` names the same parameter hash (YAML content, grid
values, batch seed) and notebook hash (source cells) as the run about to start; such runs are skipped.
Every file is written atomically (temporary file in the same directory, then :func:`os.replace`) and a
run's old ``done.json`` is deleted before anything else of it is touched, so a batch killed at any moment
leaves nothing a rerun would trust.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atmp_hta.batch_plan import (
    INDEX_FILE,
    SUMMARY_CSV,
    SUMMARY_PARQUET,
    RunSpec,
    derive_seed,
    notebook_hash,
    parameter_hash,
    parse_grid,
    plan_runs,
    validate_batch,
)
from atmp_hta.batch_run import execute_run, is_complete, one_line, skipped_row
from atmp_hta.exceptions import invalid
from atmp_hta.records import atomic_write_text, record_results

if TYPE_CHECKING:  # pandas is imported when a batch runs, not when the CLI builds its parser
    import pandas as pd

__all__ = [
    "BatchResult",
    "add_batch_parser",
    "derive_seed",
    "notebook_hash",
    "parameter_hash",
    "parse_grid",
    "record_results",
    "run_batch",
]

_WHERE = "batch"


# ------------------------------------------------------------------------------------------- executors


def _resolve_scheduler(scheduler: Any) -> Any:
    if scheduler is None:
        scheduler = os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    return scheduler


def _dask_client(scheduler: Any) -> tuple[Any, bool]:
    """A connected ``distributed.Client`` and whether we own it (and must close it)."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(
            "Running a batch on a Dask cluster needs dask.distributed: pip install 'atmp_hta[dask]'."
        ) from exc
    if isinstance(scheduler, Client):
        return scheduler, False
    address = getattr(scheduler, "scheduler_address", scheduler)  # a LocalCluster / SpecCluster
    if not isinstance(address, str) or not address:
        raise invalid("scheduler", "a Dask scheduler address such as 'tcp://host:8786'", scheduler, where=_WHERE)
    return Client(address, timeout="30s", set_as_default=False), True


def _run_local(specs: list[RunSpec], workers: int, on_done: Any) -> None:
    # Threads, not processes: each run's work happens in its own kernel process; the thread only waits
    # on ZeroMQ and renders HTML. A process pool would re-import papermill/nbconvert in every worker.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="atmp-hta-batch")
    try:
        futures = {pool.submit(execute_run, spec): spec for spec in specs}
        for future in concurrent.futures.as_completed(futures):
            spec = futures[future]
            try:
                row = future.result()
            except Exception as exc:  # an error in the runner itself (disk full, ...): report, go on
                row = spec.row("failed", f"{type(exc).__name__}: {one_line(exc)}", 0.0, None)
            on_done(row)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(specs: list[RunSpec], client: Any, on_done: Any) -> None:
    from distributed import as_completed

    futures = client.map(execute_run, specs, pure=False)
    by_key = {future.key: spec for future, spec in zip(futures, specs, strict=True)}
    try:
        for future in as_completed(futures, loop=client.loop):  # our client need not be the default
            spec = by_key[future.key]
            try:
                row = future.result()
            except Exception as exc:  # a worker died (KilledWorker), lost connection, ...
                row = spec.row("failed", f"{type(exc).__name__}: {one_line(exc)}", 0.0, None)
            on_done(row)
    except BaseException:
        client.cancel(futures)
        raise


# ------------------------------------------------------------------------------------------------ API


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class BatchResult:
    """The outcome of :func:`run_batch`.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per run, in the order planned: ``run_id``, ``status`` (``"ok"``, ``"failed"``,
        ``"skipped"`` = completed by an earlier batch), ``error`` (one line, failed runs), ``parameter_file``,
        one column per grid key, ``seed``, ``parameter_hash``, ``notebook_hash``, ``duration_s``,
        ``report`` (path relative to ``output_dir``), then the recorded results (nested mappings flattened
        to ``outer.inner``; a name that collides with a column above is prefixed ``result.``).
    output_dir : pathlib.Path
        Where the runs, ``summary.csv``, ``summary.parquet`` and ``index.html`` are.
    """

    summary: pd.DataFrame
    output_dir: Path

    @property
    def n_runs(self) -> int:
        """Number of runs in the batch."""
        return len(self.summary)

    @property
    def n_ok(self) -> int:
        """Runs executed successfully by this batch."""
        return int((self.summary["status"] == "ok").sum())

    @property
    def n_skipped(self) -> int:
        """Runs already complete (same parameter and notebook hash), not executed again."""
        return int((self.summary["status"] == "skipped").sum())

    @property
    def n_failed(self) -> int:
        """Runs that failed (invalid parameters, an error in a cell, a timeout)."""
        return int((self.summary["status"] == "failed").sum())

    @property
    def failures(self) -> pd.DataFrame:
        """The failed runs' ``run_id``, ``parameter_file`` and ``error``."""
        return self.summary.loc[self.summary["status"] == "failed", ["run_id", "parameter_file", "error"]]

    @property
    def index_path(self) -> Path:
        """The HTML index linking every run's report."""
        return self.output_dir / INDEX_FILE

    def to_frame(self) -> pd.DataFrame:
        """The summary table (a copy)."""
        return self.summary.copy()

    def __repr__(self) -> str:
        return (
            f"BatchResult({self.n_runs} runs: {self.n_ok} ok, {self.n_skipped} skipped, "
            f"{self.n_failed} failed; "
            f"output_dir={str(self.output_dir)!r})"
        )


def run_batch(
    notebook: str | os.PathLike[str],
    parameter_files: Iterable[str | os.PathLike[str]] = (),
    grid: Iterable[str] | Mapping[str, Any] | None = None,
    *,
    output_dir: str | os.PathLike[str],
    workers: int = 2,
    scheduler: Any = None,
    seed: int = 0,
    timeout: float = 600,
    cell_timeout: float | None = None,
    progress: bool = True,
    kernel_name: str | None = None,
) -> BatchResult:
    """Execute a parameterised notebook once per parameter set, in parallel, resumably.

    Parameters
    ----------
    notebook : path-like
        The workbook: a cell tagged ``parameters`` defining ``seed``, ``results_path``, ``parameter_file``
        (when ``parameter_files`` are given) and every grid key.
    parameter_files : iterable of path-like, optional
        YAML files, one run each (times the grid). Each is passed as the absolute path ``parameter_file``;
        the notebook reads and validates it. Without files the notebook runs on its defaults (times the grid).
    grid : iterable of str or mapping, optional
        ``["key=v1,v2", ...]`` or ``{key: [v1, v2]}``; the batch runs the cartesian product of the values
        (times the parameter files). See :func:`parse_grid`.
    output_dir : path-like
        Where each run's directory, ``summary.csv``, ``summary.parquet`` and ``index.html`` go.
    workers : int, default 2
        Runs executed at once on this machine (ignored on a Dask cluster, which uses its own workers).
    scheduler : str, distributed.Client or cluster, optional
        Run on a Dask distributed cluster: a scheduler address (``"tcp://host:8786"``), a ``Client``, or a
        cluster object. Default: the ``DASK_SCHEDULER_ADDRESS`` environment variable if set, else local.
        Workers must see the same file system paths (notebook, parameter files, ``output_dir``).
    seed : int, default 0
        The batch seed. Each run gets ``derive_seed(seed, parameter_hash)``: same batch, same numbers.
    timeout : float, default 600
        Wall-clock limit of each run in seconds, from the kernel's start to the end of its last cell. A run
        that exceeds it stops (its kernel is shut down) and is reported as failed with a ``TimeoutError``.
    cell_timeout : float, optional
        Seconds any one cell may run (papermill's ``execution_timeout``), a tighter limit for a cell that
        hangs; a run whose cell exceeds it fails. Default: the run's ``timeout``.
    progress : bool, default True
        Show a progress bar (tqdm, on stderr).
    kernel_name : str, optional
        Jupyter kernel to use; default: the notebook's own kernelspec.

    Returns
    -------
    BatchResult
        The summary (one row per run) and ``output_dir``. Check ``result.n_failed``.

    Raises
    ------
    ValueError
        On bad input (missing notebook or parameter file, malformed grid, ``workers < 1``, ``timeout <= 0``,
        ``cell_timeout <= 0``, a notebook without the parameters the runner injects), before anything is written.
    ImportError
        If ``scheduler`` is set and dask.distributed is not installed.

    Notes
    -----
    A failing run (its validation cell raises, a cell errors, a cell or the whole run times out, the kernel
    dies) is recorded as ``failed`` with a one-line error; the others go on. Completed runs are skipped on a
    rerun if the parameter file's content, the grid values, the batch seed and the notebook's source are
    unchanged; failed and interrupted runs are executed again.
    """
    from atmp_hta.batch_summary import index_html, summary_frame, write_parquet

    notebook, files, parsed_grid, out = validate_batch(
        notebook, parameter_files, grid, output_dir, workers, seed, timeout, cell_timeout
    )
    specs = plan_runs(notebook, files, parsed_grid, out, seed, timeout, kernel_name, cell_timeout)
    scheduler = _resolve_scheduler(scheduler)
    client, own_client = _dask_client(scheduler) if scheduler is not None else (None, False)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name in (SUMMARY_CSV, SUMMARY_PARQUET, INDEX_FILE):  # a summary only ever describes a whole batch
            try:
                (out / name).unlink()
            except FileNotFoundError:
                pass
        rows: dict[str, dict] = {}
        todo = []
        for spec in specs:
            if is_complete(spec):
                rows[spec.run_id] = skipped_row(spec)
            else:
                todo.append(spec)

        from tqdm.auto import tqdm

        with tqdm(total=len(specs), desc=notebook.stem, unit="run", disable=not progress, file=sys.stderr) as bar:
            bar.update(len(specs) - len(todo))
            failed = 0

            def on_done(row: dict) -> None:
                nonlocal failed
                rows[row["run_id"]] = row
                failed += row["status"] == "failed"
                bar.set_postfix(failed=failed, refresh=False)
                bar.update(1)

            if todo and client is not None:
                _run_dask(todo, client, on_done)
            elif todo:
                _run_local(todo, workers, on_done)
    finally:
        if own_client:
            client.close()

    frame = summary_frame([rows[spec.run_id] for spec in specs], list(parsed_grid))
    atomic_write_text(out / SUMMARY_CSV, frame.to_csv(index=False))
    write_parquet(frame, out / SUMMARY_PARQUET)
    atomic_write_text(out / INDEX_FILE, index_html(frame, notebook, len(parsed_grid), f"Batch: {notebook.name}"))
    return BatchResult(summary=frame, output_dir=out)


# ------------------------------------------------------------------------------------------------ CLI


def _handle_batch(args: argparse.Namespace) -> int:
    output = args.output if args.output is not None else Path("runs") / Path(args.notebook).stem
    try:
        result = run_batch(
            args.notebook,
            args.parameter_files,
            args.grid,
            output_dir=output,
            workers=args.workers,
            scheduler=args.scheduler,
            seed=args.seed,
            timeout=args.timeout,
            cell_timeout=args.cell_timeout,
            progress=not args.no_progress,
        )
    except (ValueError, TypeError, ImportError, OSError) as exc:
        print(f"atmp-hta batch: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("atmp-hta batch: interrupted; completed runs are kept, rerun to resume", file=sys.stderr)
        return 130
    for row in result.failures.itertuples(index=False):
        print(f"failed: {row.run_id}: {row.error}", file=sys.stderr)
    print(
        f"{result.n_runs} runs: {result.n_ok} ok, {result.n_skipped} skipped, {result.n_failed} failed. "
        f"Reports: {result.index_path}"
    )
    return 1 if result.n_failed else 0


def add_batch_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``batch`` subcommand on an :mod:`argparse` subparsers object.

    ``batch NOTEBOOK [PARAMETER_FILES...] [--grid KEY=V1,V2 ...] [--output DIR] [--workers N]
    [--scheduler ADDRESS] [--seed S] [--timeout SECONDS] [--cell-timeout SECONDS] [--no-progress]``. The
    namespace carries ``handler(args) -> int``: 0 all runs ok, 1 some runs failed (listed on stderr), 2 bad
    input (one line on stderr, nothing written).

    Returns
    -------
    argparse.ArgumentParser
        The subcommand's parser.
    """
    parser = subparsers.add_parser(
        "batch",
        help="run a parameterised workbook over parameter files and a grid (papermill; local or Dask)",
        description="Execute NOTEBOOK once per parameter file and grid point, in parallel. Each run writes "
        "its executed notebook, an HTML report and its key results to OUTPUT/<run_id>/; OUTPUT gets "
        "summary.csv, summary.parquet and index.html. Completed runs are skipped when rerun.",
    )
    parser.add_argument("notebook", metavar="NOTEBOOK", help="workbook with a cell tagged 'parameters'")
    parser.add_argument("parameter_files", metavar="PARAMETER_FILES", nargs="*", help="YAML parameter files")
    parser.add_argument(
        "--grid",
        action="extend",
        nargs="+",
        default=None,
        metavar="KEY=V1,V2",
        help="grid over notebook parameters (YAML scalars); several keys give their cartesian product. "
        "Give the parameter files before --grid, which takes every argument up to the next option",
    )
    parser.add_argument(
        "--output", "-o", default=None, metavar="DIR", help="output directory (default: runs/<notebook>)"
    )
    parser.add_argument("--workers", "-j", type=int, default=2, metavar="N", help="local parallel runs (default 2)")
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler address (default: $DASK_SCHEDULER_ADDRESS, else local workers)",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="batch seed (default 0)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600,
        metavar="SECONDS",
        help="wall-clock limit of each run, all cells together; a run that exceeds it is stopped and "
        "reported as failed (default 600)",
    )
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="limit for any one cell, to stop a hung cell sooner (default: the run's --timeout)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_handle_batch)
    return parser


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m atmp_hta.batch")
    add_batch_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["batch", *(sys.argv[1:] if argv is None else argv)])
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())

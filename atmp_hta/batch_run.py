"""Executing one run of a batch: papermill, the HTML report, the results and the completion marker.

:func:`execute_run` is a plain module-level function of a picklable :class:`~atmp_hta.batch_plan.RunSpec`,
so that a thread pool and Dask workers call the same code. The order of writes is what makes a batch
resumable: the old completion marker goes first, the new one is written last, every file atomically.
"""

from __future__ import annotations

import asyncio
import html
import json
import math
import os
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from atmp_hta.batch_plan import DONE_FILE, KERNEL_LOG, NOTEBOOK_FILE, REPORT_FILE, RESULTS_FILE, RunSpec
from atmp_hta.records import atomic_write_text

__all__ = ["execute_run", "is_complete", "one_line", "skipped_row"]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def one_line(text: object, limit: int = 500) -> str:
    """The first non-empty line of ``text``, without ANSI colours, whitespace collapsed, at most ``limit``.

    Examples
    --------
    >>> one_line("\\x1b[31mValueError\\x1b[0m:  bad   value\\nTraceback ...")
    'ValueError: bad value'
    """
    lines = [" ".join(line.split()) for line in _ANSI.sub("", str(text)).splitlines()]
    line = next((line for line in lines if line), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


#: The shortest cell limit handed to nbclient (it reads 0 or a negative number as "no limit").
_MIN_CELL_TIMEOUT = 0.01


class _RunClock:
    """Per-cell time limits that also hold the whole run to its wall-clock limit.

    nbclient asks ``timeout_func(cell)`` for each cell's limit as the cell starts; the answer is the
    per-cell limit or the time left in the run, whichever is shorter. When the run's time is up, the next
    cell gets (almost) none, so the run stops within its limit plus one kernel reply; nbclient then
    raises ``CellTimeoutError`` and shuts the kernel down. ``run_limit_hit`` says which limit it was.
    """

    def __init__(self, run_timeout: float, cell_timeout: float, started: float) -> None:
        self.run_timeout = run_timeout
        self.cell_timeout = cell_timeout
        self.deadline = started + run_timeout
        self.run_limit_hit = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def __call__(self, cell: Any = None) -> float:
        remaining = self.remaining()
        self.run_limit_hit = remaining < self.cell_timeout
        # nbclient reads 0 or a negative number as "no limit": never return one
        return max(min(self.cell_timeout, remaining), _MIN_CELL_TIMEOUT)



def _error_line(exc: BaseException, clock: _RunClock) -> str:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"{exc.ename}: {one_line(exc.evalue)}".rstrip(": ")
    if (isinstance(exc, CellTimeoutError) and clock.run_limit_hit) or clock.remaining() <= 0:
        # a cell cut short by the run's limit, or a kernel that did not start before it
        return (
            f"TimeoutError: the run took longer than its time limit of {clock.run_timeout:g} s "
            "(wall clock, all cells together); the kernel was shut down"
        )
    if isinstance(exc, CellTimeoutError):
        return f"TimeoutError: a cell ran longer than the execution timeout of {clock.cell_timeout:g} s"
    if isinstance(exc, DeadKernelError):
        return f"DeadKernelError: the kernel died ({one_line(exc)}); see {KERNEL_LOG}"
    return f"{type(exc).__name__}: {one_line(exc)}".rstrip(": ")


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def is_complete(spec: RunSpec) -> bool:
    """True only if the run's marker names this parameter and notebook hash and its outputs exist."""
    run_dir = Path(spec.run_dir)
    done = _read_json(run_dir / DONE_FILE)
    if not isinstance(done, dict):
        return False
    if done.get("status") != "ok" or done.get("parameter_hash") != spec.parameter_hash:
        return False
    if done.get("notebook_hash") != spec.notebook_hash:
        return False
    return all((run_dir / name).is_file() for name in (NOTEBOOK_FILE, REPORT_FILE, RESULTS_FILE))


def _invalidate(run_dir: Path) -> None:
    """Forget a run's previous outputs, the completion marker first."""
    for name in (DONE_FILE, RESULTS_FILE, REPORT_FILE, NOTEBOOK_FILE, KERNEL_LOG):
        try:
            (run_dir / name).unlink()
        except FileNotFoundError:
            pass
    for leftover in run_dir.glob(".*.tmp*"):  # temporary files of a killed run
        try:
            leftover.unlink()
        except (FileNotFoundError, IsADirectoryError):
            pass


#: Thread pools of numerical libraries, limited to one thread per kernel unless the environment says otherwise.
KERNEL_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def _kernel_manager_class(log_path: Path) -> type:
    """A kernel manager for batch runs.

    The kernel's stdout/stderr go to ``log_path`` instead of our console, and its numerical libraries get
    one thread each (``OMP_NUM_THREADS=1`` etc., unless already set): a batch is parallel across runs, and
    N kernels each starting a BLAS pool of all cores oversubscribe the machine (OpenBLAS threads spin while
    they wait). It also makes results independent of the worker count and scheduler: the same thread count
    everywhere, as Dask workers already set for their own processes.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _LoggedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            env = dict(kw.get("env") or os.environ)
            for name in KERNEL_THREAD_VARIABLES:
                env.setdefault(name, "1")
            kw["env"] = env
            with open(log_path, "ab") as log:
                kw.setdefault("stdout", log)
                kw.setdefault("stderr", log)
                await super()._async_launch_kernel(kernel_cmd, **kw)

    return _LoggedKernelManager


def _settle_event_loop() -> None:
    """Cancel what nbclient left pending on this thread's event loop after a timeout or a dead kernel.

    Otherwise asyncio prints "Task was destroyed but it is pending!" when the loop is collected.
    """
    try:
        from jupyter_core.utils import ensure_event_loop

        loop = ensure_event_loop()
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=2))
    except Exception:  # best effort: only a message at exit is at stake
        pass


def _write_stopped_notebook(nb: Any, error: str, path: Path) -> None:
    """Save a notebook whose execution was cut short, with a banner saying why (as papermill does)."""
    import nbformat

    banner = nbformat.v4.new_markdown_cell(
        f'<span style="color:red; font-size:1.5em">Execution stopped: {html.escape(error)}</span>'
    )
    nb.cells.insert(0, banner)
    nbformat.write(nb, str(path))


def execute_run(spec: RunSpec) -> dict:
    """Execute one run and write its outputs; never raises for a failure of the notebook itself.

    Module-level (picklable) so that Dask workers can run it.
    """
    import papermill

    from atmp_hta.report import render_html

    started = time.perf_counter()
    clock = _RunClock(spec.timeout, spec.cell_limit, time.monotonic())
    run_dir = Path(spec.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _invalidate(run_dir)

    error: str | None = None
    partial = run_dir / f".{NOTEBOOK_FILE}.{uuid.uuid4().hex[:8]}.tmp.ipynb"
    executing: dict[str, Any] = {}
    try:
        papermill.execute_notebook(
            spec.notebook,
            str(partial),
            parameters=spec.parameters(),
            kernel_name=spec.kernel_name,
            progress_bar=False,
            log_output=False,
            # papermill would otherwise rewrite the whole notebook twice per cell, in this process (GIL):
            # with large chart outputs that dominates a run. It still writes on success and on a cell error.
            request_save_on_cell_execute=False,
            # Each cell's limit is the per-cell timeout or what is left of the run's, whichever is shorter
            # (timeout_func overrides execution_timeout, which nbclient still uses outside cells).
            timeout_func=clock,
            execution_timeout=max(1, math.ceil(spec.cell_limit)),
            start_timeout=max(1, math.ceil(min(60.0, spec.timeout))),
            # The kernel's working directory is the notebook's, as in Jupyter. papermill's own `cwd`
            # argument would os.chdir the whole process, which is unsafe with several runs in threads.
            resources={"metadata": {"path": str(Path(spec.notebook).parent)}},
            kernel_manager_class=_kernel_manager_class(run_dir / KERNEL_LOG),
            # Outputs are all in once the last cell is idle; a graceful shutdown only costs ~0.5 s per run.
            shutdown_kernel="immediate",
            on_notebook_start=lambda notebook, **_: executing.setdefault("nb", notebook),
        )
    except Exception as exc:  # the notebook failed: record it, let the other runs go on
        error = _error_line(exc, clock)
        _settle_event_loop()
        if not partial.exists() and "nb" in executing:  # a timeout or a dead kernel: papermill saved nothing
            _write_stopped_notebook(executing["nb"], error, partial)

    if partial.exists():
        os.replace(partial, run_dir / NOTEBOOK_FILE)
        try:
            atomic_write_text(run_dir / REPORT_FILE, render_html(run_dir / NOTEBOOK_FILE, title=spec.run_id))
        except Exception as exc:
            error = error or f"report: {type(exc).__name__}: {one_line(exc)}"

    results = None
    if error is None:
        results = _read_json(run_dir / RESULTS_FILE)
        if results is None:
            error = (
                "ResultsMissing: the notebook did not write its key results to results_path "
                "(call atmp_hta.batch.record_results(results, results_path) in its last cell)"
            )
        elif not isinstance(results, dict):
            error = f"ResultsInvalid: {RESULTS_FILE} must hold a JSON object, not {type(results).__name__}"
            results = None

    duration = time.perf_counter() - started
    if error is not None:
        return spec.row("failed", error, duration, None)
    marker = {
        "run_id": spec.run_id,
        "status": "ok",
        "parameter_hash": spec.parameter_hash,
        "notebook_hash": spec.notebook_hash,
        "notebook": spec.notebook,
        "parameter_file": spec.parameter_file,
        "grid": dict(spec.grid),
        "batch_seed": spec.batch_seed,
        "seed": spec.seed,
        "duration_s": round(duration, 3),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
    }
    atomic_write_text(run_dir / DONE_FILE, json.dumps(marker, indent=2, default=str) + "\n")  # last
    return spec.row("ok", None, duration, results)


def skipped_row(spec: RunSpec) -> dict:
    """The summary row of a run completed by an earlier batch, read back from its marker and results."""
    done = _read_json(Path(spec.run_dir) / DONE_FILE) or {}
    results = _read_json(Path(spec.run_dir) / RESULTS_FILE) or {}
    return spec.row("skipped", None, float(done.get("duration_s") or 0.0), results)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("atmp_hta", "papermill"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out

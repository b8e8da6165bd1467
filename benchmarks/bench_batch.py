"""Batch runs of a workbook: ``atmp_hta.batch.run_batch`` with 2 workers against the same batch run serially.

Run ``python benchmarks/bench_batch.py`` (or ``make bench`` for every benchmark). It prints a table and
writes ``benchmarks/results/batch.json``.

What is measured, side by side in one run, on N parameter sets (default 16) through one notebook (default
``notebooks/benefit_risk.ipynb`` if it exists, else the test workbook ``tests/data/notebooks/toy.ipynb``):

1. **papermill alone**: ``papermill.execute_notebook`` on K = 4 of the parameter sets, one after another,
   with nothing else (no HTML, no hashing, no summary): the floor a batch runner cannot go below.
2. **batch, 1 worker**: ``run_batch(..., workers=1)`` on the N sets: per notebook, and its overhead over
   papermill alone (the HTML report, the completion marker, results, the summary). It can be negative:
   the runner shuts kernels down at once (papermill's graceful default waits ~0.5 s) and saves the
   notebook once instead of after every cell.
3. **batch, 2 workers**: ``run_batch(..., workers=2)`` on the same N sets (a fresh output directory, so
   nothing is skipped). Speed-up = wall time of 2 over wall time of 3.

Both batches must succeed on every set and record identical results (same derived seeds): otherwise the
measurement failed and the script exits with status 1. With ``--repeat R`` the two batches alternate R
times and the best wall time of each is reported. The load average before and after is recorded: on a
shared 2-core machine a concurrent test run easily halves the speed-up.

For the toy workbook the N parameter sets are N YAML files ``a: i``; for another notebook, N copies of one
parameter file (``--parameter-file``, default ``parameters/axicabtagene_ciloleucel.yaml``) under distinct
names, so that each is its own run.

Goal: speed-up >= 1.6 with 2 workers on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_NOTEBOOK = ROOT / "notebooks" / "benefit_risk.ipynb"
TOY_NOTEBOOK = ROOT / "tests" / "data" / "notebooks" / "toy.ipynb"
DEFAULT_PARAMETER_FILE = ROOT / "parameters" / "axicabtagene_ciloleucel.yaml"
RESULTS = HERE / "results" / "batch.json"
GOALS = {"speedup_2_workers": 1.6}
PAPERMILL_ALONE_RUNS = 4


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def make_parameter_sets(notebook: Path, n: int, directory: Path, parameter_file: Path | None) -> list[Path]:
    """N distinct parameter files for ``notebook`` (see the module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        path = directory / f"set_{i:03d}.yaml"
        if notebook.resolve() == TOY_NOTEBOOK.resolve():
            path.write_text(f"a: {i + 1}\n")
        else:
            path.write_bytes(parameter_file.read_bytes())
        files.append(path)
    return files


def papermill_alone(notebook: Path, files: list[Path], directory: Path, timeout: float) -> list[float]:
    """Seconds per execution of plain ``papermill.execute_notebook``, one after another."""
    import papermill

    directory.mkdir(parents=True, exist_ok=True)
    seconds = []
    for i, path in enumerate(files):
        start = time.perf_counter()
        papermill.execute_notebook(
            str(notebook),
            str(directory / f"run_{i}.ipynb"),
            parameters={
                "parameter_file": str(path),
                "seed": i,
                "results_path": str(directory / f"r{i}.json"),
            },
            progress_bar=False,
            execution_timeout=timeout,
            cwd=str(notebook.parent),  # one run at a time: papermill's chdir is harmless here
        )
        seconds.append(time.perf_counter() - start)
    return seconds


def _cpu() -> tuple[float, float]:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def timed_batch(notebook: Path, files: list[Path], output: Path, workers: int, timeout: float):
    """Wall seconds, the BatchResult, and CPU seconds of this process and of the (reaped) kernels."""
    from atmp_hta.batch import run_batch

    cpu_before = _cpu()
    start = time.perf_counter()
    result = run_batch(notebook, files, output_dir=output, workers=workers, timeout=timeout, progress=False)
    seconds = time.perf_counter() - start
    cpu_after = _cpu()
    return seconds, result, (cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1])


def _result_columns(summary) -> list[str]:
    fixed = {"run_id", "status", "error", "parameter_file", "duration_s", "report"}
    return [c for c in summary.columns if c not in fixed]


def run(notebook: Path, n: int, workers: int, repeat: int, timeout: float, parameter_file: Path | None) -> dict:
    import pandas as pd

    import atmp_hta

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        tmp = Path(tmp)
        files = make_parameter_sets(notebook, n, tmp / "params", parameter_file)
        # Warm-up: imports, kernel spec lookup, disk caches (not timed).
        timed_batch(notebook, files[:1], tmp / "warmup", 1, timeout)
        alone = papermill_alone(notebook, files[:PAPERMILL_ALONE_RUNS], tmp / "papermill", timeout)

        serial, parallel = [], []
        for r in range(repeat):
            for label, w, sink in (("serial", 1, serial), ("parallel", workers, parallel)):
                out = tmp / f"{label}_{r}"
                seconds, result, cpu = timed_batch(notebook, files, out, w, timeout)
                if result.n_ok != n:
                    failures = result.failures.to_dict("records")
                    raise RuntimeError(f"{label} batch: {result.n_failed} of {n} runs failed: {failures[:3]}")
                sink.append((seconds, result.summary, cpu))
                shutil.rmtree(out)
    load_after = os.getloadavg()

    best_serial = min(serial, key=lambda item: item[0])
    runner_cpu = sum(c[0] for _, _, c in serial + parallel) / (n * len(serial + parallel))
    kernel_cpu = sum(c[1] for _, _, c in serial + parallel) / (n * len(serial + parallel))
    best_parallel = min(parallel, key=lambda item: item[0])
    columns = _result_columns(best_serial[1])
    # Same parameter sets, same batch seed: the same derived seeds and results, whatever the worker count.
    # (run_id and parameter_file differ only in the output directory's name, which is not in them.)
    pd.testing.assert_frame_equal(best_serial[1][columns], best_parallel[1][columns])

    per_notebook_alone = sum(alone) / len(alone)
    per_notebook_serial = best_serial[0] / n
    speedup = best_serial[0] / best_parallel[0]
    return {
        "benchmark": "batch",
        "notebook": _shown(notebook),
        "parameter_sets": n,
        "workers": workers,
        "repeat": repeat,
        "timeout_s": timeout,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "atmp_hta": atmp_hta.__version__,
            "platform": platform.platform(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        },
        "papermill_alone": {
            "what": f"papermill.execute_notebook on {len(alone)} sets, one after another",
            "seconds": alone,
            "per_notebook_s": per_notebook_alone,
        },
        "serial": {
            "what": f"run_batch(workers=1) on {n} sets",
            "seconds": [s for s, _, _ in serial],
            "best_seconds": best_serial[0],
            "per_notebook_s": per_notebook_serial,
            "overhead_per_notebook_s": per_notebook_serial - per_notebook_alone,
        },
        "parallel": {
            "what": f"run_batch(workers={workers}) on {n} sets",
            "seconds": [s for s, _, _ in parallel],
            "best_seconds": best_parallel[0],
            "per_notebook_s": best_parallel[0] / n,
        },
        "cpu_per_notebook_s": {
            "what": "CPU seconds per notebook, mean over both batches: this process (papermill client, HTML "
            "report, bookkeeping) and the kernels (reaped child processes)",
            "runner": runner_cpu,
            "kernels": kernel_cpu,
        },
        "speedup": speedup,
        "results_identical": True,
        "goals": GOALS,
        "goals_met": {"speedup_2_workers": speedup >= GOALS["speedup_2_workers"]},
    }


def table(r: dict) -> str:
    alone, serial, parallel = r["papermill_alone"], r["serial"], r["parallel"]
    parallel_label = f"run_batch, {r['workers']} workers"
    met = "met" if r["goals_met"]["speedup_2_workers"] else "NOT met"
    lines = [
        f"batch: {r['parameter_sets']} parameter sets through {r['notebook']} "
        f"({r['machine']['cpu_count']} CPUs, load {r['machine']['load_average_before'][0]:.1f} before, "
        f"{r['machine']['load_average_after'][0]:.1f} after)",
        f"  {'':34} {'wall (s)':>9} {'per notebook (s)':>17}",
        f"  {'papermill alone, 1 at a time':34} {sum(alone['seconds']):9.2f} {alone['per_notebook_s']:17.2f}"
        f"   ({len(alone['seconds'])} sets)",
        f"  {'run_batch, 1 worker':34} {serial['best_seconds']:9.2f} {serial['per_notebook_s']:17.2f}"
        f"   (overhead over papermill: {serial['overhead_per_notebook_s']:+.2f} s per notebook)",
        f"  {parallel_label:34} {parallel['best_seconds']:9.2f} {parallel['per_notebook_s']:17.2f}",
        f"  speed-up with {r['workers']} workers: {r['speedup']:.2f}x "
        f"(goal >= {r['goals']['speedup_2_workers']}: {met})"
        f"; results identical: {r['results_identical']}",
        *(
            [
                "  NOTE: the machine was busy (1-minute load above 1 with nothing of ours running): "
                "the speed-up is understated"
            ]
            if r["machine"]["load_average_before"][0] > 1.0
            else []
        ),
        f"  CPU per notebook: runner {r['cpu_per_notebook_s']['runner']:.2f} s, "
        f"kernels {r['cpu_per_notebook_s']['kernels']:.2f} s",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_nb = DEFAULT_NOTEBOOK if DEFAULT_NOTEBOOK.exists() else TOY_NOTEBOOK
    parser.add_argument("--notebook", type=Path, default=default_nb, help="default %(default)s")
    parser.add_argument("--n", type=int, default=16, help="parameter sets (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="workers of the parallel batch (default 2)")
    parser.add_argument("--repeat", type=int, default=1, help="alternate the two batches R times, keep the best")
    parser.add_argument("--timeout", type=float, default=600, help="per-cell timeout (default %(default)s)")
    parser.add_argument(
        "--parameter-file",
        type=Path,
        default=None,
        help="for a notebook other than the toy: the file copied N times (default parameters/"
        "axicabtagene_ciloleucel.yaml, else the first parameters/*.yaml)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results (default %(default)s)")
    args = parser.parse_args(argv)

    notebook = args.notebook.resolve()
    parameter_file = args.parameter_file
    if notebook != TOY_NOTEBOOK.resolve() and parameter_file is None:
        candidates = [DEFAULT_PARAMETER_FILE, *sorted((ROOT / "parameters").glob("*.yaml"))]
        parameter_file = next((p for p in candidates if p.is_file()), None)
        if parameter_file is None:
            print("bench_batch: no parameter file found; pass --parameter-file", file=sys.stderr)
            return 2
    try:
        result = run(notebook, args.n, args.workers, args.repeat, args.timeout, parameter_file)
    except (RuntimeError, AssertionError, ValueError) as exc:
        print(f"bench_batch: measurement failed: {exc}", file=sys.stderr)
        return 1
    if parameter_file is not None:
        result["parameter_file"] = _shown(parameter_file)
    print(table(result))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.output)
    print(f"  written to {_shown(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

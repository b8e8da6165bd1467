"""Run every ``benchmarks/bench_*.py`` in turn, each in its own process, and print their summaries.

Usage::

    python benchmarks/run_all.py              # every benchmark (what ``make bench`` runs)
    python benchmarks/run_all.py evaluate     # only those whose file name contains "evaluate"

Each benchmark prints its own summary table and writes ``benchmarks/results/<name>.json``; this script
runs them one after another (never in parallel, so they do not compete for the cores), prints each one's
output under a header as it finishes, then a line per benchmark with its exit status and wall time. It
exits with status 1 if any benchmark failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(patterns=()) -> list[Path]:
    scripts = sorted(HERE.glob("bench_*.py"))
    if patterns:
        scripts = [s for s in scripts if any(p in s.name for p in patterns)]
    return scripts


def main(argv=None) -> int:
    patterns = sys.argv[1:] if argv is None else list(argv)
    scripts = discover(patterns)
    if not scripts:
        print(f"run_all: no benchmarks/bench_*.py matches {patterns}", file=sys.stderr)
        return 2
    outcomes = []
    for script in scripts:
        print(f"=== {script.name} ===", flush=True)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
        print(done.stdout.rstrip() or "(no output)")
        if done.returncode != 0:
            print(done.stderr.rstrip(), file=sys.stderr)
        print(flush=True)
        outcomes.append((script.name, done.returncode, seconds))
    print("=== summary ===")
    width = max(len(name) for name, _, _ in outcomes)
    for name, code, seconds in outcomes:
        print(f"  {name:<{width}}  {'ok' if code == 0 else f'FAILED (exit {code})':<16}  {seconds:7.1f} s")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())

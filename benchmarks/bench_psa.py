"""PSA of the shipped CAR-T cost-effectiveness model file: ``atmp-hta psa``'s vectorised path against a per-draw loop.

Run ``python benchmarks/bench_psa.py`` (or ``make bench``). It prints a table and writes
``benchmarks/results/psa.json``.

The model is the shipped model file ``parameters/hta/axicabtagene_ciloleucel_cea.yaml`` (axicabtagene
ciloleucel against salvage chemotherapy in relapsed or refractory large B-cell lymphoma: mixture-cure OS and
PFS, Weibull uncured on the UK life table, three-state partitioned survival, 40 annual cycles, NICE reference
case), evaluated by the package's own code, nothing re-implemented here. Its illustrative inputs are described
in the file; the results are not an estimate of cost-effectiveness.

What is measured, side by side in one run:

1. **shipped path**: :func:`atmp_hta.hta_model.evaluate_cea` on 100,000 draws with the block size
   ``atmp-hta psa`` uses (:data:`atmp_hta.cli_hta.BLOCK_SIZE`): sampling every parameter, the model on blocks of
   draws (each block one vectorised call of :func:`atmp_hta.hta_model.evaluate_values`) and the tidy table (one
   row per draw x strategy); wall and CPU time, best of 3. :func:`atmp_hta.hta_model.cea_summary` (ICER table,
   NMB, EVPI and value-based price at the pack's thresholds, which ``atmp-hta psa`` adds) is timed too.
2. **peak memory** of that run: a child process runs only it and reports its peak resident set size
   (``VmHWM`` from ``/proc/self/status``, else ``ru_maxrss``); a baseline child only imports and loads the model
   file; a third child runs it under ``tracemalloc`` (:mod:`_measure`).
3. **loop**: the package's per-draw path, :func:`atmp_hta.hta_model.evaluate_values` called once per draw on
   one-draw arrays of the same draws, as a ``run_psa``-style peer would: K = 1,000 draws timed, the time
   **extrapolated** linearly to 100,000. Its costs, QALYs and life-years must equal the vectorised ones on those
   K draws (``numpy.allclose``, rtol 1e-12), or the benchmark exits with status 1.

Goals: 100,000 draws in under 5 s on 2 cores, at least 50 times the loop. CPU time is recorded next to each
wall time: on a shared machine the wall time also counts waiting for a core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from _measure import MIB, peak_bytes, report_child, run_child

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "psa.json"
MODEL_FILE = ROOT / "parameters" / "hta" / "axicabtagene_ciloleucel_cea.yaml"
GOALS = {"seconds_1e5": 5.0, "speedup": 50.0}
COLUMNS = ("cost", "effect", "life_years")


def load():
    from atmp_hta.hta_model import load_hta_model

    return load_hta_model(MODEL_FILE)


def shipped_psa(model, draws: int, seed: int):
    """What ``atmp-hta psa`` runs before its summary: sampling, the model on blocks, the tidy table."""
    from atmp_hta.cli_hta import BLOCK_SIZE
    from atmp_hta.hta_model import evaluate_cea

    return evaluate_cea(model, draws, rng=seed, block_size=BLOCK_SIZE)


def loop_psa(model, draws: dict, k: int) -> dict:
    """The per-draw peer: ``evaluate_values`` once per draw on one-draw arrays; (strategy, column) -> (k,)."""
    import numpy as np

    from atmp_hta.hta_model import evaluate_values

    out = {(s, c): np.empty(k) for s in model.strategies for c in COLUMNS}
    for i in range(k):
        one = evaluate_values(model, {name: column[i:i + 1] for name, column in draws.items()})
        for s, r in one.items():
            for c in COLUMNS:
                out[(s, c)][i] = r[c][0]
    return out


# ----------------------------------------------------------------------------------------------- memory
def _child(mode: str, draws: int, seed: int) -> None:
    import numpy  # noqa: F401
    import pandas  # noqa: F401

    import atmp_hta.cli_hta  # noqa: F401
    import atmp_hta.hta_model  # noqa: F401

    model = load()

    def work():
        return {"rows": len(shipped_psa(model, draws, seed).table)}

    report_child(mode, work, ("psa",))


def _run_child(mode: str, draws: int, seed: int) -> dict:
    return run_child(Path(__file__).resolve(), mode, "--draws", str(draws), "--seed", str(seed))


def measure_memory(draws: int, seed: int) -> dict:
    """Peak memory of child processes, spawned before this process allocates much."""
    run = _run_child("psa", draws, seed)
    baseline = _run_child("baseline", draws, seed)
    traced = _run_child("tracemalloc", draws, seed)
    return {
        "method": "peak RSS of a child process running only evaluate_cea (VmHWM, else ru_maxrss); a baseline "
                  "child only imports and loads the model file; a tracemalloc child gives the peak of Python and "
                  "numpy allocations",
        "peak_rss_mib": peak_bytes(run) / MIB,
        "baseline_rss_mib": peak_bytes(baseline) / MIB,
        "increment_rss_mib": (peak_bytes(run) - peak_bytes(baseline)) / MIB,
        "tracemalloc_peak_mib": traced["tracemalloc_peak_bytes"] / MIB,
        "child_seconds": run["seconds"],
    }


# ------------------------------------------------------------------------------------------------- run
def best_of(repeat: int, func):
    """Best wall time of ``repeat`` runs, all wall times, the CPU time (all threads) of the best run."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = func()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    best = min(range(repeat), key=times.__getitem__)
    return times[best], times, cpu[best], result


def run(draws: int, loop_draws: int, repeat: int, seed: int, memory: bool) -> dict:
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    memory_result = measure_memory(draws, seed) if memory else None

    import numpy as np

    import atmp_hta
    from atmp_hta.cli_hta import BLOCK_SIZE
    from atmp_hta.hta_model import cea_summary

    model = load()
    vec_best, vec_times, vec_cpu, result = best_of(repeat, lambda: shipped_psa(model, draws, seed))
    sum_best, sum_times, sum_cpu, summary = best_of(repeat, lambda: cea_summary(model, result))

    k = min(loop_draws, draws)
    start, start_cpu = time.perf_counter(), time.process_time()
    looped = loop_psa(model, result.draws, k)
    loop_seconds, loop_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    strategies = result.strategies
    for (strategy, column), values in looped.items():
        vectorised = result.matrix(column)[:k, strategies.index(strategy)]
        if not np.allclose(values, vectorised, rtol=1e-12, atol=0.0):
            worst = int(np.argmax(np.abs(values - vectorised)))
            raise SystemExit(f"bench_psa: the loop disagrees with evaluate_cea on {strategy} {column} at draw "
                             f"{worst}: {values[worst]!r} vs {vectorised[worst]!r}")
    per_draw = loop_seconds / k
    extrapolated = per_draw * draws

    means = result.table.groupby("strategy", sort=False)[list(COLUMNS)].mean()
    a, c = means.loc[model.intervention], means.loc[model.comparator]
    settings = model.settings
    rate_costs, rate_effects = model.discount_rates()
    out = {
        "benchmark": "psa",
        "model": f"{model.name} ({MODEL_FILE.relative_to(ROOT)}): mixture-cure OS and PFS (Weibull uncured, UK life "
                 f"table for the cured), partitioned survival, {settings.n_cycles} cycles of "
                 f"{settings.cycle_length:g} year",
        "model_sha256": model.sha256,
        "n_cycles": settings.n_cycles,
        "conventions": model.conventions(),
        "draws": draws,
        "seed": seed,
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "atmp_hta": atmp_hta.__version__,
            "platform": platform.platform(),
            "load_average_1min": {"start": load_before,
                                  "end": os.getloadavg()[0] if hasattr(os, "getloadavg") else None},
        },
        "vectorised": {
            "what": f"atmp_hta.hta_model.evaluate_cea(model, {draws}, rng={seed}, block_size={BLOCK_SIZE}) as "
                    "atmp-hta psa runs it: sampling, the model on blocks of draws (one vectorised evaluate_values "
                    "call each, one thread), tidy table (one row per draw x strategy)",
            "block_size": BLOCK_SIZE,
            "best_seconds": vec_best, "seconds": vec_times, "cpu_seconds_of_best": vec_cpu,
            "rows": len(result.table),
        },
        "summary": {
            "what": "atmp_hta.hta_model.cea_summary on those draws (ICER table; NMB, probability cost-effective, "
                    "EVPI and value-based price at the pack's thresholds), which atmp-hta psa adds",
            "best_seconds": sum_best, "seconds": sum_times, "cpu_seconds_of_best": sum_cpu,
        },
        "loop": {
            "what": "atmp_hta.hta_model.evaluate_values called once per draw on one-draw arrays, the same draws",
            "draws_timed": k,
            "seconds": loop_seconds,
            "cpu_seconds": loop_cpu,
            "seconds_per_draw": per_draw,
            "extrapolated_seconds": extrapolated,
            "extrapolated": True,
            "matches_vectorised": True,
        },
        "speedup": extrapolated / vec_best,
        "results": {
            "mean_cost": {s: float(means.loc[s, "cost"]) for s in strategies},
            "mean_qalys": {s: float(means.loc[s, "effect"]) for s in strategies},
            "mean_life_years": {s: float(means.loc[s, "life_years"]) for s in strategies},
            "icer": float((a["cost"] - c["cost"]) / (a["effect"] - c["effect"])),
            "icer_status": str(summary["icers"].set_index("strategy").loc[model.intervention, "status"]),
            "discount_rates": {"costs": rate_costs, "effects": rate_effects},
            "note": "illustrative inputs (see the model file): not an estimate of cost-effectiveness",
        },
        "goals": dict(GOALS),
    }
    if memory:
        out["memory"] = memory_result
    out["goals_met"] = {
        "seconds_1e5": vec_best < GOALS["seconds_1e5"] if draws == 100_000 else None,
        "speedup": out["speedup"] >= GOALS["speedup"],
    }
    return out


def table(r: dict) -> str:
    n = r["draws"]
    ok = {True: "met", False: "MISSED", None: "n/a (stated for 100,000 draws)"}
    v, s, lp = r["vectorised"], r["summary"], r["loop"]
    rows = [
        ("evaluate_cea (as atmp-hta psa runs it)", f"{v['best_seconds']:.3f} s",
         f"best of {len(v['seconds'])}, blocks of {v['block_size']:,} draws, CPU {v['cpu_seconds_of_best']:.2f} s; "
         f"goal < {GOALS['seconds_1e5']:g} s: {ok[r['goals_met']['seconds_1e5']]}"),
        ("  + cea_summary", f"{s['best_seconds']:.3f} s", "ICER table, NMB, EVPI, value-based price"),
        (f"per-draw loop of evaluate_values, {lp['draws_timed']:,} draws (timed)", f"{lp['seconds']:.3f} s",
         f"{lp['seconds_per_draw'] * 1e3:.3f} ms per draw; costs, QALYs, life-years equal evaluate_cea's"),
        (f"per-draw loop, {n:,} draws (EXTRAPOLATED)", f"{lp['extrapolated_seconds']:.0f} s",
         f"= {lp['extrapolated_seconds'] / 60:.1f} min"),
        ("speed-up (loop / evaluate_cea)", f"{r['speedup']:,.0f}x",
         f"goal >= {GOALS['speedup']:g}x: {ok[r['goals_met']['speedup']]}"),
    ]
    if "memory" in r:
        m = r["memory"]
        rows += [
            ("peak RSS of a child running evaluate_cea", f"{m['peak_rss_mib']:.0f} MiB",
             f"baseline (imports, model file) {m['baseline_rss_mib']:.0f} MiB, increment "
             f"{m['increment_rss_mib']:.0f} MiB"),
            ("  tracemalloc peak (Python + numpy)", f"{m['tracemalloc_peak_mib']:.0f} MiB", ""),
        ]
    res = r["results"]
    for name in res["mean_cost"]:
        rows.append((f"mean cost / QALYs, {name}", f"{res['mean_cost'][name]:,.0f}",
                     f"{res['mean_qalys'][name]:.2f} QALYs, {res['mean_life_years'][name]:.2f} LY"))
    rows.append(("ICER", f"{res['icer']:,.0f}", "per QALY (illustrative inputs)"))
    width = max(len(a) for a, _, _ in rows)
    vwidth = max(len(b) for _, b, _ in rows)
    load = r["machine"]["load_average_1min"]
    busy = f", load average {load['start']:.1f} -> {load['end']:.1f}" if load["start"] is not None else ""
    lines = [f"psa: {MODEL_FILE.name}, {r['n_cycles']} cycles, {n:,} draws, seed "
             f"{r['seed']}, {r['machine']['cpu_count']} CPUs{busy}, numpy {r['machine']['numpy']}"]
    lines += [f"  {a:<{width}}  {b:>{vwidth}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--loop-draws", type=int, default=1_000, help="draws timed in the loop (K)")
    parser.add_argument("--repeat", type=int, default=3, help="vectorised runs; the best is reported")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-memory", action="store_true", help="skip the child-process memory measurement")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results (default %(default)s)")
    parser.add_argument("--child", choices=("psa", "baseline", "tracemalloc"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.draws, args.seed)
        return 0
    result = run(args.draws, args.loop_draws, args.repeat, args.seed, memory=not args.no_memory)
    print(table(result))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_name(f".{args.output.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.output)
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"  written to {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""PSA of a CAR-T mixture-cure partitioned-survival model: vectorised kernels against a per-draw Python loop.

Run ``python benchmarks/bench_psa.py`` (or ``make bench``). It prints a table and writes
``benchmarks/results/psa.json``.

The model (two strategies, 40 annual cycles, :mod:`atmp_hta.survival` and :mod:`atmp_hta.cohort`):
axicabtagene ciloleucel against salvage chemotherapy in relapsed or refractory large B-cell lymphoma, a
cohort aged 58, about two thirds male. In each arm OS and PFS are mixture-cure curves: a cured fraction on
general-population mortality (the shipped UK life table, ``atmp_hta.life_tables``) and the uncured on a Weibull,
their hazard floored at the population's; a three-state partitioned-survival model (progression-free,
progressed, dead; PFS capped at OS) gives state occupancy; QALYs, life-years and costs are counted with the
half-cycle correction and discounted continuously within each cycle, costs and QALYs each at their own rate
(3.5% both, NICE reference case); costs are a one-off treatment cost at time 0, per-year state costs and a
one-off end-of-life cost on each death.

Parameters (their distributions are defined in :func:`sample_parameters`): the cure fractions follow
``parameters/axicabtagene_ciloleucel.yaml`` (axi-cel OS: Beta(42, 66), mean 0.39, the durable responders of
ZUMA-1 at two years; salvage OS: Beta(105, 418), the SCHOLAR-1 long-term survivors) and so do the utilities
(progression-free 0.80, sd 0.03; progressed 0.60, sd 0.05). The PFS cure fractions, the uncured Weibulls and
all costs are this benchmark's own illustrative assumptions, chosen to give plausible curves (axi-cel uncured
OS median about 8 months, salvage about 6); they are not estimates and not a price.

What is measured, side by side in one run:

1. **vectorised**: sampling 100,000 draws, the model on them, and the tidy result table (one row per
   draw × strategy); wall time, best of 3. The model runs on blocks of 5,000 draws, two blocks at a time on
   two threads (:func:`blocked_model`): every kernel is elementwise or row-wise over draws, so the numbers are
   those of one call (checked), while blocks that fit in the CPU caches cut memory traffic. The model on all
   draws in one call on one thread is timed too.
2. **peak memory** of that run: a child process runs only it and reports its peak resident set size
   (``VmHWM`` from ``/proc/self/status``, else ``ru_maxrss``); a baseline child only imports; a third child
   runs it under ``tracemalloc``.
3. **loop**: the same model function called once per draw on one-draw arrays (the same draws), as a
   ``run_psa``-style peer would: K = 1,000 draws timed, the time **extrapolated** linearly to 100,000. Its
   costs, QALYs and life-years must equal the vectorised ones on those K draws (``numpy.allclose``, rtol 1e-12).

Goals: 100,000 draws in under 5 s on 2 cores, at least 50 times the loop. CPU time is recorded next to
each wall time: on a shared machine the wall time also counts waiting for a core.
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
GOALS = {"seconds_1e5": 5.0, "speedup": 50.0}

N_CYCLES = 40  # annual cycles
START_AGE = 58.0  # ZUMA-1 median age (parameters/axicabtagene_ciloleucel.yaml, population.age_years)
MALE_SHARE = 0.68  # assumption: about two thirds of ZUMA-1 and SCHOLAR-1 patients were men
DISCOUNT_COSTS = 0.035
DISCOUNT_QALYS = 0.035
METHOD, TIMING = "half-cycle", "continuous"
STRATEGIES = ("axi-cel", "salvage chemotherapy")


# ------------------------------------------------------------------------------------------------ model
def sample_parameters(n: int, rng) -> dict:
    """Draws of every uncertain parameter, arrays of shape (n,)."""
    import numpy as np

    rng = np.random.default_rng(rng)

    def beta_mean_sd(mean, sd, size):
        k = mean * (1 - mean) / sd**2 - 1
        return rng.beta(mean * k, (1 - mean) * k, size)

    def gamma_mean_sd(mean, sd, size):
        return rng.gamma((mean / sd) ** 2, sd**2 / mean, size)

    def lognormal(median, sdlog, size):
        return median * np.exp(sdlog * rng.standard_normal(size))

    return {
        # axi-cel: cure fractions (OS from the parameter file; PFS a little lower: assumption)
        "cure_os_axicel": rng.beta(42, 66, n),
        "cure_pfs_axicel": rng.beta(38, 70, n),
        # uncured Weibull (flexsurv "weibull": shape, scale in years): assumptions
        "os_shape_axicel": lognormal(1.1, 0.08, n), "os_scale_axicel": lognormal(0.95, 0.12, n),
        "pfs_shape_axicel": lognormal(0.9, 0.08, n), "pfs_scale_axicel": lognormal(0.35, 0.12, n),
        # salvage chemotherapy: cure fractions (OS from the parameter file; PFS from SCHOLAR-1's 7% CR)
        "cure_os_salvage": rng.beta(105, 418, n),
        "cure_pfs_salvage": rng.beta(37, 486, n),
        "os_shape_salvage": lognormal(1.2, 0.08, n), "os_scale_salvage": lognormal(0.6, 0.1, n),
        "pfs_shape_salvage": lognormal(1.0, 0.08, n), "pfs_scale_salvage": lognormal(0.3, 0.1, n),
        # utilities (parameter file: u_remission, u_progression)
        "u_pf": beta_mean_sd(0.80, 0.03, n), "u_pd": beta_mean_sd(0.60, 0.05, n),
        # costs in GBP (illustrative assumptions)
        "cost_axicel": gamma_mean_sd(320_000.0, 16_000.0, n),  # acquisition, apheresis, conditioning, stay
        "cost_salvage": gamma_mean_sd(25_000.0, 5_000.0, n),  # salvage regimens and stem-cell transplant share
        "cost_pf_year": gamma_mean_sd(2_500.0, 500.0, n),
        "cost_pd_year": gamma_mean_sd(20_000.0, 4_000.0, n),
        "cost_death": gamma_mean_sd(7_500.0, 1_500.0, n),  # end-of-life care
    }


def model(p: dict) -> dict:
    """Discounted costs, QALYs and undiscounted life-years per strategy: arrays of shape (draws,)."""
    import numpy as np

    from atmp_hta.cohort import cycle_times, state_values
    from atmp_hta.life_tables import general_population_survival
    from atmp_hta.survival import event_values, mixture_cure_survival, partitioned_survival, survival

    t = cycle_times(N_CYCLES)
    background = general_population_survival(START_AGE, t, sex=MALE_SHARE)
    zero = np.zeros_like(p["u_pf"])
    utilities = np.stack([p["u_pf"], p["u_pd"], zero], axis=1)
    state_costs = np.stack([p["cost_pf_year"], p["cost_pd_year"], zero], axis=1)
    out = {}
    for arm, one_off in (("axicel", p["cost_axicel"]), ("salvage", p["cost_salvage"])):
        os_uncured = survival("weibull", t, shape=p[f"os_shape_{arm}"], scale=p[f"os_scale_{arm}"])
        pfs_uncured = survival("weibull", t, shape=p[f"pfs_shape_{arm}"], scale=p[f"pfs_scale_{arm}"])
        os_curve = mixture_cure_survival(p[f"cure_os_{arm}"], os_uncured, background)
        pfs_curve = mixture_cure_survival(p[f"cure_pfs_{arm}"], pfs_uncured, background)
        occupancy = partitioned_survival(pfs_curve, os_curve)
        out[f"qalys_{arm}"] = state_values(occupancy, utilities, method=METHOD, timing=TIMING,
                                           discount_rate=DISCOUNT_QALYS)
        out[f"life_years_{arm}"] = state_values(occupancy, [1.0, 1.0, 0.0], method=METHOD, timing=TIMING)
        out[f"cost_{arm}"] = (one_off
                              + state_values(occupancy, state_costs, method=METHOD, timing=TIMING,
                                             discount_rate=DISCOUNT_COSTS)
                              + event_values(os_curve, p["cost_death"], timing="end", discount_rate=DISCOUNT_COSTS))
    return out


def tidy(result: dict):
    """One row per draw × strategy: draw, strategy, cost, qalys, life_years."""
    import numpy as np
    import pandas as pd

    n = result["cost_axicel"].shape[0]
    frames = []
    for label, arm in zip(STRATEGIES, ("axicel", "salvage"), strict=True):
        frames.append(pd.DataFrame({"draw": np.arange(n), "strategy": label, "cost": result[f"cost_{arm}"],
                                    "qalys": result[f"qalys_{arm}"], "life_years": result[f"life_years_{arm}"]}))
    return pd.concat(frames, ignore_index=True)


def blocked_model(params: dict, block: int, workers: int) -> dict:
    """:func:`model` on blocks of ``block`` draws, ``workers`` threads at a time, concatenated.

    Every kernel is elementwise or row-wise over draws, so blocks give the same numbers as one call; blocks
    that fit in the CPU caches cut memory traffic, and numpy releases the GIL inside its loops, so two
    threads can use both cores. Python loops over blocks, never over draws.
    """
    import numpy as np

    n = next(iter(params.values())).shape[0]
    starts = range(0, n, block)

    def one(start):
        return model({name: column[start:start + block] for name, column in params.items()})

    if workers > 1 and len(starts) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(one, starts))
    else:
        parts = [one(start) for start in starts]
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def psa(draws: int, seed: int, block: int = 5_000, workers: int = 2):
    """The whole vectorised PSA: sampling, model (in blocks of draws), tidy table."""
    params = sample_parameters(draws, seed)
    return params, tidy(blocked_model(params, block, workers))


# ----------------------------------------------------------------------------------------------- memory
def _child(mode: str, draws: int, seed: int) -> None:
    import numpy  # noqa: F401
    import pandas  # noqa: F401

    import atmp_hta.cohort  # noqa: F401
    import atmp_hta.life_tables  # noqa: F401
    import atmp_hta.survival  # noqa: F401

    def work():
        return {"rows": len(psa(draws, seed)[1])}

    report_child(mode, work, ("psa",))


def _run_child(mode: str, draws: int, seed: int) -> dict:
    return run_child(Path(__file__).resolve(), mode, "--draws", str(draws), "--seed", str(seed))


def measure_memory(draws: int, seed: int) -> dict:
    """Peak memory of child processes, spawned before this process allocates much."""
    run = _run_child("psa", draws, seed)
    baseline = _run_child("baseline", draws, seed)
    traced = _run_child("tracemalloc", draws, seed)
    peak = peak_bytes

    return {
        "method": "peak RSS of a child process running only the vectorised PSA (VmHWM, else ru_maxrss); a "
                  "baseline child only imports; a tracemalloc child gives the peak of Python and numpy allocations",
        "peak_rss_mib": peak(run) / MIB,
        "baseline_rss_mib": peak(baseline) / MIB,
        "increment_rss_mib": (peak(run) - peak(baseline)) / MIB,
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


def loop_model(params: dict, k: int) -> dict:
    """The run_psa-style peer: the same model called once per draw, on one-draw arrays."""
    import numpy as np

    out = None
    for i in range(k):
        one = model({name: column[i:i + 1] for name, column in params.items()})
        if out is None:
            out = {name: np.empty(k) for name in one}
        for name, value in one.items():
            out[name][i] = value[0]
    return out


def run(draws: int, loop_draws: int, repeat: int, seed: int, memory: bool, block: int = 5_000,
        workers: int = 2) -> dict:
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    memory_result = measure_memory(draws, seed) if memory else None

    import numpy as np

    import atmp_hta

    vec_best, vec_times, vec_cpu, (params, table) = best_of(
        repeat, lambda: psa(draws, seed, block=block, workers=workers))
    start = time.perf_counter()
    sample_parameters(draws, seed)
    sampling_seconds = time.perf_counter() - start
    one_best, one_times, one_cpu, vectorised = best_of(repeat, lambda: model(params))
    blocked = blocked_model(params, block, workers)
    for name, values in blocked.items():
        if not np.allclose(values, vectorised[name], rtol=1e-12, atol=0.0):
            raise SystemExit(f"bench_psa: blocks of {block} draws disagree with one call on {name}")

    k = min(loop_draws, draws)
    start = time.perf_counter()
    looped = loop_model(params, k)
    loop_seconds = time.perf_counter() - start
    for name, values in looped.items():
        if not np.allclose(values, vectorised[name][:k], rtol=1e-12, atol=0.0):
            worst = int(np.argmax(np.abs(values - vectorised[name][:k])))
            raise SystemExit(f"bench_psa: the loop disagrees on {name} at draw {worst}: "
                             f"{values[worst]!r} vs {vectorised[name][worst]!r}")
    per_draw = loop_seconds / k
    extrapolated = per_draw * draws

    means = table.groupby("strategy")[["cost", "qalys", "life_years"]].mean()
    axi, sal = means.loc[STRATEGIES[0]], means.loc[STRATEGIES[1]]
    out = {
        "benchmark": "psa",
        "model": "CAR-T (axi-cel) vs salvage chemotherapy: mixture-cure OS and PFS (Weibull uncured, UK "
                 "Gompertz life table for the cured), partitioned survival, 40 annual cycles",
        "conventions": {"counting": METHOD, "discount_timing": TIMING, "discount_rate_costs": DISCOUNT_COSTS,
                        "discount_rate_qalys": DISCOUNT_QALYS, "end_of_life_cost_timing": "end",
                        "cycle_length_years": 1.0, "n_cycles": N_CYCLES, "start_age": START_AGE,
                        "male_share": MALE_SHARE},
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
            "what": f"sample_parameters + model on blocks of {block:,} draws, {workers} thread(s) + tidy table "
                    "(one row per draw x strategy)",
            "block": block, "workers": workers,
            "best_seconds": vec_best, "seconds": vec_times, "cpu_seconds_of_best": vec_cpu,
            "sampling_seconds": sampling_seconds, "rows": len(table),
        },
        "vectorised_one_call": {
            "what": "model() on all draws in one call, one thread (no sampling, no table)",
            "best_seconds": one_best, "seconds": one_times, "cpu_seconds_of_best": one_cpu,
        },
        "loop": {
            "what": "model() called once per draw on one-draw arrays, the same draws",
            "draws_timed": k,
            "seconds": loop_seconds,
            "seconds_per_draw": per_draw,
            "extrapolated_seconds": extrapolated,
            "extrapolated": True,
            "matches_vectorised": True,
        },
        "speedup": extrapolated / vec_best,
        "speedup_one_call": extrapolated / one_best,
        "results": {
            "mean_cost": {STRATEGIES[0]: float(axi["cost"]), STRATEGIES[1]: float(sal["cost"])},
            "mean_qalys": {STRATEGIES[0]: float(axi["qalys"]), STRATEGIES[1]: float(sal["qalys"])},
            "mean_life_years": {STRATEGIES[0]: float(axi["life_years"]), STRATEGIES[1]: float(sal["life_years"])},
            "icer": float((axi["cost"] - sal["cost"]) / (axi["qalys"] - sal["qalys"])),
            "note": "illustrative inputs (see the module docstring): not an estimate of cost-effectiveness",
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
    v, lp = r["vectorised"], r["loop"]
    one = r["vectorised_one_call"]
    rows = [
        ("vectorised PSA (sample + model + table)", f"{v['best_seconds']:.3f} s",
         f"best of {len(v['seconds'])}, blocks of {v['block']:,} draws on {v['workers']} threads, CPU "
         f"{v['cpu_seconds_of_best']:.2f} s; goal < {GOALS['seconds_1e5']:g} s: {ok[r['goals_met']['seconds_1e5']]}"),
        ("  of which sampling", f"{v['sampling_seconds']:.3f} s", ""),
        ("model in one call, one thread", f"{one['best_seconds']:.3f} s",
         f"CPU {one['cpu_seconds_of_best']:.2f} s; same numbers as the blocks"),
        (f"Python loop, {lp['draws_timed']:,} draws (timed)", f"{lp['seconds']:.3f} s",
         f"{lp['seconds_per_draw'] * 1e3:.3f} ms per draw; costs, QALYs, life-years equal the vectorised ones"),
        (f"Python loop, {n:,} draws (EXTRAPOLATED)", f"{lp['extrapolated_seconds']:.0f} s",
         f"= {lp['extrapolated_seconds'] / 60:.1f} min"),
        ("speed-up (loop / vectorised PSA)", f"{r['speedup']:,.0f}x",
         f"goal >= {GOALS['speedup']:g}x: {ok[r['goals_met']['speedup']]}; one call {r['speedup_one_call']:,.0f}x"),
    ]
    if "memory" in r:
        m = r["memory"]
        rows += [
            ("peak RSS of a child running the PSA", f"{m['peak_rss_mib']:.0f} MiB",
             f"baseline (imports) {m['baseline_rss_mib']:.0f} MiB, increment {m['increment_rss_mib']:.0f} MiB"),
            ("  tracemalloc peak (Python + numpy)", f"{m['tracemalloc_peak_mib']:.0f} MiB", ""),
        ]
    res = r["results"]
    rows.append(("mean cost / QALYs, axi-cel", f"{res['mean_cost'][STRATEGIES[0]]:,.0f}",
                 f"{res['mean_qalys'][STRATEGIES[0]]:.2f} QALYs, {res['mean_life_years'][STRATEGIES[0]]:.2f} LY"))
    rows.append(("mean cost / QALYs, salvage", f"{res['mean_cost'][STRATEGIES[1]]:,.0f}",
                 f"{res['mean_qalys'][STRATEGIES[1]]:.2f} QALYs, {res['mean_life_years'][STRATEGIES[1]]:.2f} LY; "
                 f"ICER {res['icer']:,.0f} per QALY (illustrative inputs)"))
    width = max(len(a) for a, _, _ in rows)
    vwidth = max(len(b) for _, b, _ in rows)
    load = r["machine"]["load_average_1min"]
    busy = f", load average {load['start']:.1f} -> {load['end']:.1f}" if load["start"] is not None else ""
    lines = [f"psa: CAR-T mixture-cure partitioned survival, {N_CYCLES} annual cycles, {n:,} draws, seed "
             f"{r['seed']}, {r['machine']['cpu_count']} CPUs{busy}, numpy {r['machine']['numpy']}"]
    lines += [f"  {a:<{width}}  {b:>{vwidth}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--loop-draws", type=int, default=1_000, help="draws timed in the loop (K)")
    parser.add_argument("--repeat", type=int, default=3, help="vectorised runs; the best is reported")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--block", type=int, default=5_000, help="draws per block (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="threads over blocks (default %(default)s)")
    parser.add_argument("--no-memory", action="store_true", help="skip the child-process memory measurement")
    parser.add_argument("--output", type=Path, default=RESULTS, help="JSON results (default %(default)s)")
    parser.add_argument("--child", choices=("psa", "baseline", "tracemalloc"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.draws, args.seed)
        return 0
    result = run(args.draws, args.loop_draws, args.repeat, args.seed, memory=not args.no_memory,
                 block=args.block, workers=args.workers)
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

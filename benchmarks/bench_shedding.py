"""Shedding-study design simulation: 10,000 studies of 40 patients × 5 matrices × 20 visits.

Run ``python benchmarks/bench_shedding.py`` (or ``make bench``). It prints a table and writes
``benchmarks/results/shedding.json``.

Measured side by side in one run, with the cited defaults (``parameters/planners/shedding_aav.yaml``,
schedule ``intensive``: 20 visits; matrices blood, saliva, semen, stool, urine; 40 patients; 5 % missing
samples; clearance by 3 consecutive negatives from day 14; sampling stops at clearance):

1. **vectorised**: ``simulate_design(design, ..., n_studies=10_000, keep_studies=False)``: wall and CPU time,
   best of 3 (every random draw, detection, the clearance rule and all summaries).
2. **peak memory**: a child process runs one simulation and reports its own high-water mark of resident
   memory (Linux ``VmHWM``; ``ru_maxrss`` elsewhere) next to a child that only imports; a second child runs
   it under ``tracemalloc`` (numpy reports its array allocations) for the peak of Python + numpy allocations.
3. **loop**: the same model one study, patient, matrix and visit at a time in plain Python (scalar draws,
   the rule as a running count), K = 20 studies timed and **extrapolated** linearly to 10,000. Its
   operating characteristics are a different random stream, so only its time is compared.

Goals: 10,000 studies under 5 s on 2 cores; peak RSS under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "shedding.json"
GOALS = {"seconds": 5.0, "peak_rss_gib": 1.0}
MIB = 1024 * 1024

sys.path.insert(0, str(ROOT))


def _setup(n_patients=40):
    from atmp_hta.planners.shedding import load_shedding_defaults

    d = load_shedding_defaults()
    design = d.study_design("intensive")
    return d, design


def _run(n_studies, seed):
    from atmp_hta.planners.shedding import simulate_design

    d, design = _setup()
    return simulate_design(design, d.kinetics(), d.assays(), n_studies=n_studies, cost_per_sample=d.costs(),
                           keep_studies=False, rng=seed)


def _own_peak_rss_bytes():
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r * (1 if sys.platform == "darwin" else 1024)


def _child(mode, n_studies, seed):
    """Entry point of the memory children: prints one JSON line."""
    if mode == "baseline":
        _setup()
        print(json.dumps({"peak_rss": _own_peak_rss_bytes()}))
    elif mode == "run":
        _run(n_studies, seed)
        print(json.dumps({"peak_rss": _own_peak_rss_bytes()}))
    elif mode == "tracemalloc":
        import tracemalloc

        _setup()
        tracemalloc.start()
        _run(n_studies, seed)
        _, peak = tracemalloc.get_traced_memory()
        print(json.dumps({"traced_peak": peak}))


def _spawn(mode, n_studies, seed):
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--studies", str(n_studies), "--seed",
                          str(seed)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _loop(n_studies, seed):
    """Plain-Python peer: one study, patient, matrix and visit at a time."""
    import random

    d, design = _setup()
    kin = d.kinetics()
    assays = d.assays()
    rnd = random.Random(seed)
    visits = list(design.visits_for(design.matrices[0]))
    out = []
    for _s in range(n_studies):
        samples = 0
        for _i in range(design.n_patients):
            for m in design.matrices:
                k, a = kin[m], assays[m]
                peak = k.peak_log10 + k.peak_log10_sd * rnd.gauss(0, 1)
                tau = k.peak_day * math.exp(k.peak_day_log_sd * rnd.gauss(0, 1))
                dec = k.decay_log10_per_day * math.exp(k.decay_log_sd * rnd.gauss(0, 1))
                shed = rnd.random() < k.fraction_shedding
                run = 0
                for t in visits:
                    if rnd.random() < design.p_missing:
                        continue
                    mu = peak - max(dec * (t - tau), k.rise_log10_per_day * (tau - t))
                    conc = 10 ** (mu + k.residual_sd * rnd.gauss(0, 1))
                    positive = shed and rnd.random() < 1 - math.exp(-a.sensitivity_scale * conc)
                    samples += 1
                    if positive:
                        run = 0
                    elif t >= design.rule_start_day:
                        run += 1
                        if run == design.consecutive:
                            break
        out.append(samples)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--studies", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--loop-studies", type=int, default=20)
    p.add_argument("--child", choices=["baseline", "run", "tracemalloc"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        _child(args.child, args.studies, args.seed)
        return 0

    import numpy as np

    import atmp_hta

    _run(50, args.seed)  # warm-up: imports, YAML, first allocations
    walls, cpus = [], []
    for _ in range(args.repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        res = _run(args.studies, args.seed)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    base = _spawn("baseline", args.studies, args.seed)["peak_rss"]
    run = _spawn("run", args.studies, args.seed)["peak_rss"]
    traced = _spawn("tracemalloc", args.studies, args.seed)["traced_peak"]
    t0 = time.perf_counter()
    _loop(args.loop_studies, args.seed)
    loop_s = (time.perf_counter() - t0) * args.studies / args.loop_studies
    d, design = _setup()
    n_visits = int(np.isfinite(design.visit_matrix()).sum(axis=1).max())
    best = min(walls)
    summary = res.summary
    result = {
        "benchmark": "shedding",
        "what": "simulate_design on the cited defaults, schedule 'intensive'",
        "studies": args.studies, "patients": design.n_patients, "matrices": list(design.matrices),
        "visits": n_visits, "elements": args.studies * design.n_patients * len(design.matrices) * n_visits,
        "seed": args.seed,
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "atmp_hta": atmp_hta.__version__, "platform": platform.platform(),
                    "load_average_1min": os.getloadavg()[0]},
        "vectorised": {"best_seconds": best, "seconds": walls, "cpu_seconds": cpus},
        "memory": {"baseline_rss_mib": base / MIB, "peak_rss_mib": run / MIB,
                   "added_rss_mib": (run - base) / MIB, "tracemalloc_peak_mib": traced / MIB},
        "loop": {"studies_timed": args.loop_studies, "extrapolated_seconds": loop_s,
                 "speedup": loop_s / best},
        "goals": GOALS,
        "met": {"seconds": best < GOALS["seconds"], "peak_rss_gib": run / 1024**3 < GOALS["peak_rss_gib"]},
        "summary": json.loads(summary.to_json(orient="records")),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"shedding design simulation: {args.studies} studies x {design.n_patients} patients x "
          f"{len(design.matrices)} matrices x {n_visits} visits")
    print(f"  vectorised  best {best:6.2f} s  (runs {', '.join(f'{w:.2f}' for w in walls)}; "
          f"cpu {min(cpus):.2f} s)   goal < {GOALS['seconds']} s: {'met' if result['met']['seconds'] else 'MISSED'}")
    print(f"  memory      peak RSS {run / MIB:7.1f} MiB (imports alone {base / MIB:.1f}); tracemalloc peak "
          f"{traced / MIB:.1f} MiB   goal < 1 GiB: {'met' if result['met']['peak_rss_gib'] else 'MISSED'}")
    print(f"  loop        {loop_s:8.1f} s extrapolated from {args.loop_studies} studies  "
          f"(vectorised is {loop_s / best:.0f}x faster)")
    print(f"  load average at the end: {os.getloadavg()[0]:.2f}; results: {RESULTS.relative_to(ROOT)}")
    return 0 if all(result["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())

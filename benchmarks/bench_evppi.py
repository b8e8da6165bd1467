"""EVPPI for 10 single parameters on 100,000 PSA draws: regression (atmp_hta) against nested Monte Carlo.

Run ``python benchmarks/bench_evppi.py`` (or ``make bench``). It prints a table and writes
``benchmarks/results/evppi.json``.

The model is a small one-off-therapy decision problem (standard care, an ATMP, an alternative) with 10
uncertain, independent parameters, at a severity-weighted threshold of 1.7 x GBP 30,000 per QALY. Each
strategy's QALYs and costs are *multilinear* in the parameters (every term a product of functions of
different parameters), so E[NB_j | θ_k = t] is the model evaluated at θ_k = t with every other parameter at
the value that gives its factor's mean. The exact EVPPI of θ_k is then a one-dimensional integral,
computed on a 20,000-point quantile grid: a reference for both methods.

Side by side, in one run:

1. **regression** (``atmp_hta.voi.evppi_table``): the 10 single-parameter EVPPIs from the 100,000 PSA draws
   (penalised cubic regression splines, GCV), each with its standard error (200 coefficient draws); wall
   and CPU time, best of 3. It needs no further model runs.
2. **nested Monte Carlo**: for each parameter, 1,000 outer values (the first 1,000 PSA draws of it), and for
   each a fresh inner sample of 1,000 draws of the other nine parameters through the model: 10^6 model
   evaluations per parameter. The outer loop is Python; the inner sample is vectorised. EVPPI is the mean
   of the inner maxima minus the maximum of the grand means of the same nested sample. Timed once.

Goal: the 10 regression EVPPIs (with standard errors) in under 10 s on 2 cores. The run fails (exit 1) if a
regression estimate is further from the exact value than 4 combined standard errors (regression and
Monte Carlo, see ``EvppiResult``) plus 2% of the EVPI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from atmp_hta import __version__  # noqa: E402
from atmp_hta.voi import evpi, evppi_table  # noqa: E402

RESULTS = HERE / "results" / "evppi.json"
GOALS = {"seconds_10_evppi": 10.0}
THRESHOLD = 1.7 * 30_000  # NICE severity weight 1.7 (PMG36 table 6.1) x GBP 30,000 per QALY
PRICE = 180_000.0  # the ATMP's one-off price
STRATEGIES = ("standard care", "ATMP", "alternative")

# name: (scipy distribution, plug-in value giving the mean of the factor the parameter enters through)
DISTRIBUTIONS = {
    "p_durable": stats.beta(30, 45),  # probability of a durable response
    "qaly_durable": stats.gamma(25, scale=0.4),  # discounted QALYs if durable
    "qaly_nondurable": stats.gamma(36, scale=1 / 12),  # discounted QALYs if not
    "qaly_soc": stats.gamma(64, scale=1 / 32),  # discounted QALYs on standard care
    "p_ae": stats.beta(20, 80),  # probability of a severe adverse event after the ATMP
    "disutility_ae": stats.beta(10, 90),  # QALYs lost per severe adverse event
    "cost_admin": stats.gamma(16, scale=2_500),  # conditioning, hospital stay, monitoring
    "cost_ae": stats.gamma(9, scale=2_000),  # cost of a severe adverse event
    "cost_soc": stats.gamma(25, scale=4_000),  # lifetime cost of standard care
    "log_gain_alt": stats.norm(0.4, 0.2),  # log of the alternative's QALY multiplier
}


def plug_in(name):
    """Value at which the parameter's factor equals its mean (exp for log_gain_alt, identity otherwise)."""
    dist = DISTRIBUTIONS[name]
    if name == "log_gain_alt":
        return float(np.log(dist.expect(np.exp)))
    return float(dist.mean())


def model(v):
    """Net monetary benefit of each strategy; every array in v has the same shape; returns shape + (3,)."""
    q_soc = v["qaly_soc"]
    q_atmp = (v["p_durable"] * v["qaly_durable"] + (1 - v["p_durable"]) * v["qaly_nondurable"]
              - v["p_ae"] * v["disutility_ae"])
    q_alt = v["qaly_soc"] * np.exp(v["log_gain_alt"])
    c_soc = v["cost_soc"]
    c_atmp = PRICE + v["cost_admin"] + v["p_ae"] * v["cost_ae"] + (1 - v["p_durable"]) * v["cost_soc"]
    c_alt = 120_000 + 0.5 * v["cost_soc"]
    return np.stack([THRESHOLD * q - c for q, c in ((q_soc, c_soc), (q_atmp, c_atmp), (q_alt, c_alt))], axis=-1)


def sample(n, rng):
    return {k: d.rvs(size=n, random_state=rng) for k, d in DISTRIBUTIONS.items()}


def exact_evppi(grid_points=20_000):
    """EVPPI of each parameter by quadrature on a quantile grid (the model is multilinear)."""
    plug = {k: plug_in(k) for k in DISTRIBUTIONS}
    current = model({k: np.array([x]) for k, x in plug.items()})[0].max()
    u = (np.arange(grid_points) + 0.5) / grid_points
    out = {}
    for name, dist in DISTRIBUTIONS.items():
        values = {k: np.full(grid_points, x) for k, x in plug.items()}
        values[name] = dist.ppf(u)
        out[name] = float(model(values).max(axis=1).mean() - current)
    return out


def nested_evppi(draws, rng, n_outer=1_000, n_inner=1_000):
    """Nested Monte Carlo EVPPI of each parameter; returns (values, seconds)."""
    values, start = {}, time.perf_counter()
    for name in DISTRIBUTIONS:
        inner_means = np.empty((n_outer, len(STRATEGIES)))
        for i in range(n_outer):
            inner = sample(n_inner, rng)
            inner[name] = np.full(n_inner, draws[name][i])
            inner_means[i] = model(inner).mean(axis=0)
        # E_theta max_j E[NB_j | theta] - max_j E[NB_j], both from the same nested sample
        values[name] = float(inner_means.max(axis=1).mean() - inner_means.mean(axis=0).max())
    return values, time.perf_counter() - start


def regression(nb, draws, seed, repeats):
    walls, cpus, table = [], [], None
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        table = evppi_table(nb, draws, se=True, n_se_draws=200, rng=seed)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return table, walls, cpus


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--outer", type=int, default=1_000)
    parser.add_argument("--inner", type=int, default=1_000)
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    rng = np.random.default_rng(args.seed)
    draws = sample(args.draws, rng)
    nb = model(draws)
    total = evpi(nb)
    exact = exact_evppi()

    table, walls, cpus = regression(nb, draws, args.seed, args.repeats)
    nested, nested_seconds = nested_evppi(draws, np.random.default_rng(args.seed + 1), args.outer, args.inner)

    rows, failures = [], []
    for r in table.itertuples():
        name = r.parameters
        allowed = 4 * np.hypot(r.standard_error, r.monte_carlo_error) + 0.02 * total
        ok = abs(r.evppi - exact[name]) <= allowed
        if not ok:
            failures.append(name)
        rows.append({"parameter": name, "exact": exact[name], "regression": r.evppi,
                     "regression_se": r.standard_error, "regression_mc_error": r.monte_carlo_error,
                     "regression_edf": r.edf, "nested": nested[name],
                     "regression_abs_error": abs(r.evppi - exact[name]),
                     "nested_abs_error": abs(nested[name] - exact[name]), "within_tolerance": bool(ok)})
    best = min(walls)
    result = {
        "benchmark": "evppi",
        "draws": args.draws,
        "seed": args.seed,
        "threshold_gbp_per_qaly": THRESHOLD,
        "strategies": list(STRATEGIES),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "atmp_hta": __version__,
            "platform": platform.platform(),
            "load_average_1min": {"start": load_start,
                                  "end": os.getloadavg()[0] if hasattr(os, "getloadavg") else None},
        },
        "goals": GOALS,
        "evpi": total,
        "regression": {
            "what": "evppi_table(nb, draws): 10 single-parameter EVPPIs, penalised cubic splines (GCV), "
                    "standard errors from 200 coefficient draws; no extra model runs",
            "seconds": walls, "best_seconds": best, "cpu_seconds": cpus,
            "model_evaluations": args.draws,
        },
        "nested_monte_carlo": {
            "what": f"{args.outer} outer x {args.inner} inner draws per parameter; Python loop over outer "
                    "values, inner sample vectorised",
            "seconds": nested_seconds,
            "model_evaluations": 10 * args.outer * args.inner,
        },
        "reference": "exact EVPPI by quadrature on a 20,000-point quantile grid (multilinear model)",
        "parameters": rows,
        "goal_met": best < GOALS["seconds_10_evppi"],
        "agreement_failures": failures,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    tmp.replace(RESULTS)

    print(f"EVPPI of 10 single parameters, {args.draws:,} draws, EVPI = {total:,.0f} GBP per patient "
          f"(load {load_start:.1f} at start)" if load_start is not None else "")
    print(f"{'parameter':<16}{'exact':>10}{'regression':>12}{'± SE':>7}{'± MC':>7}{'nested MC':>11}")
    for row in rows:
        print(f"{row['parameter']:<16}{row['exact']:>10,.0f}{row['regression']:>12,.0f}{row['regression_se']:>7,.0f}"
              f"{row['regression_mc_error']:>7,.0f}{row['nested'] if abs(row['nested']) >= 0.5 else 0.0:>11,.0f}")
    reg_err = np.mean([r["regression_abs_error"] for r in rows])
    nest_err = np.mean([r["nested_abs_error"] for r in rows])
    print(f"regression: best of {args.repeats} {best:.2f} s wall ({min(cpus):.2f} s CPU), "
          f"goal < {GOALS['seconds_10_evppi']:.0f} s: {'met' if result['goal_met'] else 'NOT met'}; "
          f"mean |error| {reg_err:,.0f}")
    print(f"nested Monte Carlo ({args.outer} x {args.inner}): {nested_seconds:.2f} s wall, "
          f"{10 * args.outer * args.inner:,} model evaluations; mean |error| {nest_err:,.0f}; "
          f"regression is {nested_seconds / best:.1f}x faster")
    if failures:
        print(f"regression estimates outside tolerance: {failures}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``atmp-hta cea``: the decision layer on a tidy PSA result file (model-agnostic).

Hook: ``add_cea_parser(subparsers)`` registers the subcommand on ``atmp-hta``'s subparsers. The input is a
CSV (or Parquet) table with one row per draw × strategy and columns ``draw, strategy, cost, effect`` (names
configurable), as a probabilistic run writes it. The command prints, or writes atomically, the ICER table of
the mean costs and effects, the EVPI and the optimal strategy with its probability of being cost-effective at
each willingness to pay. The file is read and checked first (it exists and is a file; every column the options
name is there; costs and effects are finite numbers; one row per draw and strategy), then ``--wtp``/``--policy``.
Bad input raises :class:`atmp_hta.exceptions.ParameterError` naming the file, the column and its option, what
is allowed and the value received; ``atmp-hta`` prints it as one line with exit status 2 and writes nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from atmp_hta.cea import ceac, draw_table_problem, evpi_by_wtp, icer_table, pivot_draws
from atmp_hta.exceptions import ParameterError, invalid

__all__ = ["add_cea_parser", "cea_report"]


def _wtp_grid(text: str) -> np.ndarray:
    """``30000`` or ``20000,30000`` or ``0:100000:5000`` (start:stop:step, stop included)."""
    try:
        if ":" in text:
            start, stop, step = (float(x) for x in text.split(":"))
            if step <= 0 or stop < start:
                raise ValueError
            return np.arange(start, stop + step / 2, step)
        return np.array([float(x) for x in text.split(",")])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--wtp must be a number, a comma-separated list or start:stop:step; got {text!r}") from None


def _read(path: Path) -> pd.DataFrame:
    if path.is_dir():
        raise ParameterError(f"FILE: {str(path)!r} is a directory; give a CSV or Parquet file of PSA draws",
                             field="file")
    if not path.is_file():
        raise ParameterError(f"FILE: {str(path)!r}: no such file", field="file")
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - one line naming the file
        raise ParameterError(f"{path}: cannot be read as a table ({exc.__class__.__name__})", field="file") from None
    if table.empty:
        raise ParameterError(f"{path}: has no rows; expected one row per draw x strategy", field="file")
    return table


def _checked(table: pd.DataFrame, path: Path, columns: dict[str, str]) -> pd.DataFrame:
    """The table with its cost and effect columns as floats, after checking every column the command reads.

    ``columns`` maps each option (``--draw-column``, ...) to the column it names. Errors name the file, the
    column and its option, what is allowed and the value received (with its row, draw and strategy); the
    checks themselves are :func:`atmp_hta.cea.draw_table_problem`'s.
    """
    for option, column in columns.items():
        if column not in table.columns:
            there = ", ".join(map(str, table.columns))
            raise ParameterError(f"{path}: {option} must name a column of the file ({there}). Got {column!r}.",
                                 field=option.lstrip("-"))
    draw, strategy = columns["--draw-column"], columns["--strategy-column"]
    numbers = [columns["--cost-column"], columns["--effect-column"]]
    p = draw_table_problem(table, numbers, draw, strategy)
    if p is not None:
        option = next((o for o, c in columns.items() if c == p.column), None)
        field = option.lstrip("-") if option else "file"
        pair = f"{draw} {p.draw!r}, {strategy} {p.strategy!r}"
        if p.kind == "empty":
            message = (f"column {p.column!r} ({option}) must have a value in every row. Got an empty cell in data "
                       f"row {p.row + 1}.")
        elif p.kind == "not_finite":
            message = (f"column {p.column!r} ({option}) must hold finite numbers. Got {p.shown_value} in data "
                       f"row {p.row + 1} ({pair}).")
        elif p.kind == "repeated":
            message = f"must have one row per draw and strategy. Got {p.count} rows for {pair}."
        else:
            message = f"must have one row per draw and strategy. Got no row for {pair}."
        raise ParameterError(f"{path}: {message}", field=field)
    return table.assign(**{c: pd.to_numeric(table[c]).to_numpy(dtype=float) for c in numbers})


def cea_report(table: pd.DataFrame, wtp, *, draw="draw", strategy="strategy", cost="cost", effect="effect") -> dict:
    """ICER table, EVPI and acceptability at each willingness to pay, from a tidy PSA table.

    Returns
    -------
    dict
        ``icers`` (DataFrame from :func:`atmp_hta.cea.icer_table`), ``by_wtp`` (DataFrame: ``wtp, optimal,
        probability_cost_effective, evpi``) and ``n_draws``.
    """
    names, costs = pivot_draws(table, cost, draw=draw, strategy=strategy)
    _, effects = pivot_draws(table, effect, draw=draw, strategy=strategy)
    grid = np.atleast_1d(np.asarray(wtp, dtype=float))
    acceptability = ceac(costs, effects, grid, names)
    front = acceptability[acceptability["on_frontier"]].reset_index(drop=True)
    by_wtp = pd.DataFrame({"wtp": grid, "optimal": front["strategy"].to_numpy(),
                           "probability_cost_effective": front["probability_cost_effective"].to_numpy(),
                           "evpi": evpi_by_wtp(costs, effects, grid)["evpi"].to_numpy()})
    return {"icers": icer_table(names, costs, effects), "by_wtp": by_wtp, "n_draws": costs.shape[0]}


def _format(report: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"n_draws": report["n_draws"],
                           "icers": json.loads(report["icers"].to_json(orient="records")),
                           "by_wtp": json.loads(report["by_wtp"].to_json(orient="records"))}, indent=2)
    money = lambda v: "" if np.isnan(v) else f"{v:,.0f}"  # noqa: E731
    ratio = lambda v: "" if np.isnan(v) else f"{v:.4f}"  # noqa: E731
    icers = report["icers"].to_string(index=False, formatters={
        "cost": money, "incremental_cost": money, "icer": money, "effect": ratio, "incremental_effect": ratio})
    by_wtp = report["by_wtp"].to_string(index=False, formatters={
        "wtp": money, "evpi": money, "probability_cost_effective": lambda v: f"{v:.3f}"})
    return (f"ICER table (means of {report['n_draws']:,} draws; ND frontier, ED extendedly dominated, "
            f"D dominated)\n{icers}\n\nBy willingness to pay\n{by_wtp}\n")


def _cmd_cea(args) -> int:
    path = Path(args.file)
    columns = {"--draw-column": args.draw_column, "--strategy-column": args.strategy_column,
               "--cost-column": args.cost_column, "--effect-column": args.effect_column}
    table = _checked(_read(path), path, columns)
    wtp = args.wtp
    if args.policy:
        from atmp_hta.policies import load_policy

        pack = load_policy(args.policy)
        if wtp is None:
            wtp = np.array([pack.thresholds.low, pack.thresholds.high])
    if wtp is None:
        raise invalid("--wtp", "given (or --policy)", None, "atmp-hta cea")
    target = None if args.output is None else Path(args.output)
    if target is not None and target.is_dir():
        raise ParameterError(f"--output: {args.output!r} is a directory; give a file name", field="output")
    if target is not None and not target.parent.is_dir():
        raise ParameterError(f"--output: directory {str(target.parent)!r} does not exist", field="output")
    report = cea_report(table, wtp, draw=args.draw_column, strategy=args.strategy_column,
                        cost=args.cost_column, effect=args.effect_column)
    text = _format(report, args.format)
    if args.output is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return 0
    from atmp_hta.records import atomic_write_text

    atomic_write_text(target, text if text.endswith("\n") else text + "\n")
    return 0


def add_cea_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``cea`` on the ``atmp-hta`` subparsers; returns the new parser."""
    p = subparsers.add_parser("cea", help="ICER table, acceptability and EVPI of a tidy PSA result file")
    p.add_argument("file", metavar="FILE", help="CSV or Parquet: one row per draw x strategy")
    p.add_argument("--wtp", type=_wtp_grid, help="willingness to pay: 30000, 20000,30000 or 0:100000:5000")
    p.add_argument("--policy", help="policy pack (nice, icer or a YAML path); default --wtp is its threshold range")
    p.add_argument("--draw-column", default="draw")
    p.add_argument("--strategy-column", default="strategy")
    p.add_argument("--cost-column", default="cost")
    p.add_argument("--effect-column", default="effect")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--output", help="write to this file (atomically) instead of standard output")
    p.set_defaults(handler=_cmd_cea)
    return p

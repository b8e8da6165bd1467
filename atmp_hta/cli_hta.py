"""``atmp-hta psa`` and ``atmp-hta tornado``: a cost-effectiveness model file (:mod:`atmp_hta.hta_model`) run
end to end from the command line.

Hook: ``add_hta_parser(subparsers)`` registers both subcommands on ``atmp-hta``'s subparsers.

- ``atmp-hta psa FILE --draws N --seed S --output DIR`` draws the parameters, evaluates the model on blocks
  of draws (a progress bar on stderr), and writes ``DIR/draws.parquet`` and ``DIR/draws.csv`` (one row per
  draw × strategy: ``draw, strategy, cost, effect, life_years, price``) and ``DIR/summary.json`` (ICER table,
  NMB, probability cost-effective, EVPI and value-based price at the policy pack's thresholds, provenance).
- ``atmp-hta tornado FILE [--threshold X] [--output CSV] [--png PNG]``: one-way sensitivity of the incremental
  NMB at the threshold (default: the pack's upper one), every uncertain parameter at its 2.5% and 97.5%
  quantiles.

Bad input raises :class:`atmp_hta.exceptions.ParameterError` before anything is written; ``atmp-hta`` prints
it as one line on stderr with exit status 2. Every output is rendered in memory first and written atomically
(temporary file, then rename); ``summary.json`` is written last, so its presence marks a complete run.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np

from atmp_hta.cli_args import draws_argument, seed_argument
from atmp_hta.exceptions import ParameterError

__all__ = ["add_hta_parser", "run_psa", "psa_outputs"]

BLOCK_SIZE = 10_000


def _output_dir(text: str | None, flag: str = "--output") -> Path | None:
    if text is None:
        return None
    target = Path(text)
    if target.exists() and not target.is_dir():
        raise ParameterError(f"{flag}: {text!r} exists and is not a directory", field="output")
    if not target.exists() and not target.parent.is_dir():
        raise ParameterError(f"{flag}: directory {str(target.parent)!r} does not exist", field="output")
    return target


def _output_file(text: str | None, flag: str) -> Path | None:
    if text is None:
        return None
    target = Path(text)
    if not target.parent.is_dir():
        raise ParameterError(f"{flag}: directory {str(target.parent)!r} does not exist", field=flag.lstrip("-"))
    if target.is_dir():
        raise ParameterError(f"{flag}: {text!r} is a directory; give a file name", field=flag.lstrip("-"))
    return target


def _jsonable_frame(frame):
    return json.loads(frame.to_json(orient="records"))


def run_psa(model, n_draws: int, seed: int, *, progress: bool = True):
    """Evaluate ``model`` on ``n_draws`` draws with a tqdm progress bar over blocks; returns (result, summary)."""
    from tqdm import tqdm

    from atmp_hta.hta_model import cea_summary, evaluate_cea

    with tqdm(total=n_draws, unit="draw", unit_scale=True, desc="psa", disable=not progress,
              file=sys.stderr, leave=False) as bar:
        result = evaluate_cea(model, n_draws, rng=seed, block_size=BLOCK_SIZE, progress=bar.update)
    return result, cea_summary(model, result)


def psa_outputs(result, summary) -> dict[str, bytes]:
    """The files of a PSA run, rendered in memory: name -> bytes."""
    table = result.table
    files = {"draws.csv": table.to_csv(index=False).encode()}
    try:
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        files["draws.parquet"] = buffer.getvalue()
    except ImportError:  # pragma: no cover - pyarrow is an optional extra
        pass
    doc = {"provenance": summary["provenance"], "icers": _jsonable_frame(summary["icers"]),
           "by_threshold": _jsonable_frame(summary["by_threshold"]),
           "files": sorted(files)}
    files["summary.json"] = (json.dumps(doc, indent=2, allow_nan=False, default=_default) + "\n").encode()
    return files


def _default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _cmd_psa(args) -> int:
    from atmp_hta.hta_model import load_hta_model
    from atmp_hta.records import atomic_write_bytes

    model = load_hta_model(args.file)
    target = _output_dir(args.output)
    result, summary = run_psa(model, args.draws, args.seed, progress=not args.quiet)
    files = psa_outputs(result, summary)
    if target is None:
        by = summary["by_threshold"]
        print(summary["icers"].to_string(index=False))
        print(by.to_string(index=False))
        return 0
    target.mkdir(exist_ok=True)
    for name in sorted(files, key=lambda n: n == "summary.json"):  # summary last: marks a complete run
        atomic_write_bytes(target / name, files[name])
    if not args.quiet:
        print(f"wrote {', '.join(sorted(files))} to {target}", file=sys.stderr)
    return 0


def _cmd_tornado(args) -> int:
    from atmp_hta.hta_model import load_hta_model, tornado
    from atmp_hta.records import atomic_write_bytes, atomic_write_text

    model = load_hta_model(args.file)
    if args.threshold is not None and not (np.isfinite(args.threshold) and args.threshold > 0):
        raise ParameterError(f"--threshold must be a positive number; got {args.threshold}", field="threshold")
    output = _output_file(args.output, "--output")
    png = _output_file(args.png, "--png")
    table = tornado(model, args.threshold)
    png_bytes = None
    if png is not None:
        import vl_convert

        from atmp_hta.charts_cea import tornado_chart

        label = f"Incremental NMB at {table['threshold'].iloc[0]:,.0f} per QALY ({model.currency_code})"
        png_bytes = vl_convert.vegalite_to_png(tornado_chart(table, label).to_dict(), scale=2)
    columns = ["rank", "parameter", "low_value", "high_value", "base_value", "result_low", "result_high",
               "base_result", "swing", "threshold"]
    if output is None:
        print(table[columns].to_string(index=False, float_format=lambda v: f"{v:,.4g}"))
    else:
        atomic_write_text(output, table[columns].to_csv(index=False))
    if png_bytes is not None:
        atomic_write_bytes(png, png_bytes)
    return 0


def add_hta_parser(subparsers) -> None:
    """Register ``psa`` and ``tornado`` on the ``atmp-hta`` subparsers."""
    p = subparsers.add_parser("psa", help="probabilistic sensitivity analysis of a cost-effectiveness model file")
    p.add_argument("file", metavar="FILE", help="model file (parameters/hta/*.yaml)")
    p.add_argument("--draws", type=draws_argument, default=10_000, help="number of draws (default %(default)s)")
    p.add_argument("--seed", type=seed_argument, default=1, help="random seed (default %(default)s)")
    p.add_argument("--output", metavar="DIR",
                   help="write draws.parquet, draws.csv and summary.json here (default: print the summary)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_cmd_psa)

    p = subparsers.add_parser("tornado", help="one-way sensitivity (tornado) of a cost-effectiveness model file")
    p.add_argument("file", metavar="FILE", help="model file (parameters/hta/*.yaml)")
    p.add_argument("--threshold", type=float, help="willingness to pay per QALY (default: the pack's upper one)")
    p.add_argument("--output", metavar="CSV", help="write the table here (atomically) instead of standard output")
    p.add_argument("--png", metavar="PNG", help="also draw the tornado chart to this PNG file")
    p.set_defaults(handler=_cmd_tornado)

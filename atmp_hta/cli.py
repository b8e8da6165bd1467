"""The ``atmp-hta`` command line.

Subcommands: ``validate``, ``evaluate``, ``schema`` (the benefit–risk core), ``dashboard`` (Voilà),
``batch`` and ``report`` (workbooks). Bad input prints one line on stderr and exits with status 2; nothing
is written unless the whole output is ready (files are written atomically).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import atmp_hta
from atmp_hta.cli_args import draws_argument, seed_argument
from atmp_hta.exceptions import ModelError, ParameterError

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with the command line itself (printed as one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage block
        raise UsageError(f"{self.prog}: {message}")


def _write_output(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    from atmp_hta.records import atomic_write_text

    target = Path(output)
    if not target.parent.is_dir():
        raise UsageError(f"--output: directory {str(target.parent)!r} does not exist")
    atomic_write_text(target, text if text.endswith("\n") else text + "\n")


# ----------------------------------------------------------------------------------------------- commands
def _cmd_validate(args) -> int:
    from atmp_hta.params import load_parameters

    failed = 0
    for path in args.files:
        try:
            ps = load_parameters(path)
        except ParameterError as exc:
            print(f"atmp-hta: {exc}", file=sys.stderr)
            failed += 1
            continue
        if not args.quiet:
            n_params = len(ps.parameters)
            print(f"ok  {path}  ({ps.product.name}; {n_params} parameters, {len(ps.harms)} harms)")
    return EXIT_USAGE if failed else EXIT_OK


def _cmd_evaluate(args) -> int:
    from atmp_hta.benefit_risk import evaluate
    from atmp_hta.params import load_parameters

    sets = [load_parameters(path) for path in args.files]  # all validated before any output
    results = [evaluate(ps, n_draws=args.draws, rng=args.seed) for ps in sets]
    if args.format == "json":
        payload = [r.to_dict() for r in results]
        text = json.dumps(payload[0] if len(payload) == 1 else payload, indent=2, allow_nan=False)
    else:
        text = _table(results)
    _write_output(text, args.output)
    for r in results:  # after the output, on stderr, so the JSON stays clean
        for caveat in r.caveats:
            print(f"atmp-hta: warning: {Path(r.parameter_set.path or '-').name}: {caveat}", file=sys.stderr)
    return EXIT_OK


def _table(results) -> str:
    import pandas as pd

    rows = []
    for r in results:
        t = r.terms
        p = r.probability_net_value_positive
        rows.append(
            {
                "product": r.parameter_set.product.short_name or r.parameter_set.product.name,
                "decision": r.decision.upper(),
                "net value": f"{r.net_value:+.3f}",
                "margin": f"{r.margin:+.3f}",
                "P(NV>0)": "—" if p is None else f"{p:.3f}",
                "benefit": f"{t['benefit']:.3f}",
                "w_sev": f"{t['severity_weight']:.2f}",
                "w_need": f"{t['unmet_need_weight']:.2f}",
                "harm": f"{t['expected_harm']:.3f}",
                "penalty": f"{t['uncertainty_penalty']:.3f}",
            }
        )
    first = results[0]
    c = first.provenance["conventions"]
    footer = (
        f"QALYs per patient. draws={first.n_draws}, seed={first.seed}; discount {c['discount_rate']:g} "
        f"({c['timing']} of year); severity {c['severity_scheme']} ({c['severity_basis']}); "
        f"uncertainty penalty {c['ce_method']} r={c['risk_aversion']:g}; atmp_hta {atmp_hta.__version__}"
    )
    if any(r.provenance["conventions"] != c for r in results[1:]):
        footer += "\nNote: the files use different conventions; see --format json for each file's."
    return pd.DataFrame(rows).to_string(index=False) + "\n\n" + footer


def _cmd_schema(args) -> int:
    from atmp_hta.params import json_schema

    _write_output(json.dumps(json_schema(), indent=2), args.output)
    return EXIT_OK


# ------------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="atmp-hta",
        description="Benefit-risk and health-technology assessment of Advanced Therapy Medicinal Products.",
    )
    parser.add_argument("--version", action="version", version=f"atmp_hta {atmp_hta.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate", help="check parameter files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser("evaluate", help="evaluate the benefit-risk decision of parameter files")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--draws", type=draws_argument, default=1, help="1 = base case (default); more = probabilistic")
    p.add_argument("--seed", type=seed_argument, default=1, help="random seed (default %(default)s)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--output", help="write to this file (atomically) instead of standard output")
    p.set_defaults(handler=_cmd_evaluate)

    p = sub.add_parser("schema", help="write the JSON Schema of parameter files (for editors)")
    p.add_argument("--output", help="write to this file instead of standard output")
    p.set_defaults(handler=_cmd_schema)

    for module, hook in (("atmp_hta.serve", "add_dashboard_parser"), ("atmp_hta.batch", "add_batch_parser"),
                         ("atmp_hta.report", "add_report_parser"), ("atmp_hta.cli_cea", "add_cea_parser"),
                         ("atmp_hta.cli_hta", "add_hta_parser")):
        try:
            mod = __import__(module, fromlist=[hook])
        except ImportError:  # pragma: no cover - an optional layer is not installed
            continue
        getattr(mod, hook)(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of ``atmp-hta``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(args.handler(args) or 0)
    except (UsageError, ParameterError, ModelError, ValueError, TypeError) as exc:
        message = str(exc).replace("\n", " ")
        print(message if message.startswith("atmp-hta") else f"atmp-hta: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("atmp-hta: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback; ATMP_HTA_DEBUG=1 shows it
        if os.environ.get("ATMP_HTA_DEBUG"):
            raise
        print(f"atmp-hta: internal error ({exc.__class__.__name__}: {exc}); rerun with ATMP_HTA_DEBUG=1 "
              "for details", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

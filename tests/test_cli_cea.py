"""The ``cea`` subcommand hook on a tidy PSA file (wired into a bare argparse parser here)."""

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from atmp_hta.cli_cea import add_cea_parser, cea_report
from atmp_hta.exceptions import ParameterError


def _run(argv):
    parser = argparse.ArgumentParser(prog="atmp-hta")
    add_cea_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


@pytest.fixture
def psa(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    rows = []
    for name, c, e in (("soc", 1_000, 5.0), ("atmp", 60_000, 7.0), ("other", 70_000, 6.5)):
        rows.append(pd.DataFrame({"draw": np.arange(n), "strategy": name, "cost": rng.normal(c, 2_000, n),
                                  "effect": rng.normal(e, 0.3, n)}))
    path = tmp_path / "psa.csv"
    pd.concat(rows).to_csv(path, index=False)
    return path


def test_cea_json_output(psa, tmp_path):
    out = tmp_path / "cea.json"
    assert _run(["cea", str(psa), "--policy", "nice", "--format", "json", "--output", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["wtp"] for r in report["by_wtp"]] == [20_000, 30_000]  # NICE range from the policy pack
    status = {r["strategy"]: r["status"] for r in report["icers"]}
    assert status == {"soc": "ND", "atmp": "ND", "other": "D"}
    assert report["n_draws"] == 200


def test_cea_table_output(psa, capsys):
    assert _run(["cea", str(psa), "--wtp", "0:60000:20000"]) == 0
    text = capsys.readouterr().out
    assert "ICER table" in text and "By willingness to pay" in text and "60,000" in text


def test_report_agrees_with_the_decision_layer(psa):
    report = cea_report(pd.read_csv(psa), [25_000, 40_000])
    assert report["by_wtp"].optimal.tolist() == ["soc", "atmp"]  # ICER of atmp ~ 59,000/2 = 29,500


def test_bad_input_is_a_parameter_error(psa, tmp_path):
    with pytest.raises(ParameterError, match="no such file"):
        _run(["cea", str(tmp_path / "missing.csv"), "--wtp", "1"])
    with pytest.raises(ParameterError, match="'wtp' parameter of ceac must be >= 0"):
        _run(["cea", str(psa), "--wtp", "-5"])
    with pytest.raises(SystemExit):
        _run(["cea", str(psa), "--wtp", "a:b"])


# ------------------------------------------------------------------------ errors through atmp-hta itself
def _cli(argv, capsys):
    """Run ``atmp-hta`` (atmp_hta.cli.main); return (exit status, stderr)."""
    from atmp_hta.cli import main

    code = main(argv)
    return code, capsys.readouterr().err


def _write(path, text):
    path.write_text(text)
    return str(path)


HEADER = "draw,strategy,cost,effect\n"


@pytest.mark.parametrize(("name", "text", "extra", "expected"), [
    # the file is checked before --wtp: a missing file is reported as such even without --wtp/--policy
    ("missing.csv", None, [], "'{file}': no such file"),
    # a directory says it is one
    (".", None, ["--wtp", "1"], "is a directory"),
    # a missing column names the file, the option and the columns there are
    ("psa.csv", HEADER + "0,a,1,1\n0,b,2,3\n", ["--wtp", "1", "--cost-column", "costs"],
     "{file}: --cost-column must name a column of the file (draw, strategy, cost, effect). Got 'costs'."),
    # a non-numeric cell names the column, its option, what is allowed and the value received
    ("psa.csv", HEADER + "0,a,1,1\n0,b,2,x\n", ["--wtp", "1"],
     "{file}: column 'effect' (--effect-column) must hold finite numbers. Got 'x' in data row 2 (draw 0, "
     "strategy 'b')."),
    # an empty (NaN) effect is a bad value, not "missing or repeated rows"
    ("psa.csv", HEADER + "0,a,1,1\n0,b,2,\n1,a,1,1\n1,b,2,2\n", ["--wtp", "1"],
     "{file}: column 'effect' (--effect-column) must hold finite numbers. Got an empty cell in data row 2"),
    ("psa.csv", HEADER + "0,a,inf,1\n0,b,2,1\n", ["--policy", "nice"],
     "{file}: column 'cost' (--cost-column) must hold finite numbers. Got inf in data row 1 (draw 0, "
     "strategy 'a')."),
    # missing and repeated rows name the draw and strategy
    ("psa.csv", HEADER + "0,a,1,1\n0,b,2,3\n1,a,1,1\n", ["--wtp", "1"],
     "{file}: must have one row per draw and strategy. Got no row for draw 1, strategy 'b'."),
    ("psa.csv", HEADER + "0,a,1,1\n0,b,2,3\n0,b,2,3\n", ["--wtp", "1"],
     "{file}: must have one row per draw and strategy. Got 2 rows for draw 0, strategy 'b'."),
    ("psa.csv", HEADER + "0,,1,1\n", ["--wtp", "1"],
     "{file}: column 'strategy' (--strategy-column) must have a value in every row. Got an empty cell in data "
     "row 1."),
    # a good file with neither --wtp nor --policy: now (only) that is reported
    ("psa.csv", HEADER + "0,a,1,1\n0,b,2,3\n", [], "'--wtp' parameter of atmp-hta cea must be given (or --policy)"),
])
def test_cli_errors_are_one_line_exit_2_and_write_nothing(tmp_path, monkeypatch, capsys, name, text, extra,
                                                         expected):
    monkeypatch.chdir(tmp_path)
    file = _write(tmp_path / name, text) if text is not None else name
    out = tmp_path / "report.json"
    code, err = _cli(["cea", file, *extra, "--output", str(out)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("atmp-hta: ")
    assert expected.format(file=file) in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ([name] if text else [])


def test_cli_output_directory_is_refused(psa, tmp_path, capsys):
    code, err = _cli(["cea", str(psa), "--wtp", "1", "--output", str(tmp_path)], capsys)
    assert code == 2 and "is a directory; give a file name" in err and err.count("\n") == 1

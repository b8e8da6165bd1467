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

"""``atmp-hta psa`` and ``atmp-hta tornado`` through their hook (atmp_hta.cli_hta) on a plain argparse parser."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atmp_hta.cli_hta import add_hta_parser
from atmp_hta.exceptions import ParameterError
from atmp_hta.hta_model import cea_summary, evaluate_cea, load_hta_model, tornado

ROOT = Path(__file__).resolve().parents[1]
FILE = str(ROOT / "parameters" / "hta" / "axicabtagene_ciloleucel_cea.yaml")


def run(*argv):
    parser = argparse.ArgumentParser(prog="atmp-hta")
    add_hta_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.handler(args)


def test_psa_writes_tidy_draws_and_summary(tmp_path, capsys):
    out = tmp_path / "run"
    assert run("psa", FILE, "--draws", "1500", "--seed", "4", "--output", str(out)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["draws.csv", "draws.parquet", "summary.json"]
    csv = pd.read_csv(out / "draws.csv")
    parquet = pd.read_parquet(out / "draws.parquet")
    assert list(csv.columns) == ["draw", "strategy", "cost", "effect", "life_years", "price"]
    np.testing.assert_allclose(csv[["cost", "effect"]], parquet[["cost", "effect"]], rtol=1e-14)
    model = load_hta_model(FILE)
    expected = evaluate_cea(model, 1500, rng=4)
    np.testing.assert_array_equal(parquet["cost"], expected.table["cost"])
    summary = json.loads((out / "summary.json").read_text())
    ref = cea_summary(model, expected)
    assert summary["provenance"]["seed"] == 4 and summary["provenance"]["n_draws"] == 1500
    assert summary["provenance"]["discount_rate_costs"] == 0.035
    for row, (_, want) in zip(summary["by_threshold"], ref["by_threshold"].iterrows(), strict=True):
        assert row["value_based_price"] == pytest.approx(want["value_based_price"], rel=1e-12)
        assert row["evpi"] == pytest.approx(want["evpi"], abs=1e-9)
    assert [r["strategy"] for r in summary["icers"]] == ref["icers"]["strategy"].tolist()
    assert "psa" in capsys.readouterr().err  # the progress bar goes to stderr


@pytest.mark.parametrize(("argv", "message"), [
    (["psa", "missing.yaml", "--draws", "10"], "no such file"),
    (["psa", str(ROOT / "parameters" / "hta"), "--draws", "10"], "is a directory; give a model file"),
    (["tornado", str(ROOT / "parameters"), "--threshold", "20000"], "is a directory; give a model file"),
    (["psa", FILE, "--draws", "10", "--output", "/nonexistent/dir/run"], "does not exist"),
    (["tornado", FILE, "--threshold", "-5"], "--threshold must be a positive number"),
    (["tornado", FILE, "--png", "/nonexistent/t.png"], "does not exist"),
])
def test_bad_input_raises_one_line_and_writes_nothing(tmp_path, argv, message):
    with pytest.raises(ParameterError) as info:
        run(*argv)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_model_file_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(FILE).read_text().replace("horizon_years: 40", "horizon_years: -40"))
    out = tmp_path / "run"
    with pytest.raises(ParameterError, match="settings.horizon_years"):
        run("psa", str(bad), "--draws", "10", "--output", str(out))
    assert not out.exists()


def test_bad_draws_is_a_usage_error():
    with pytest.raises(SystemExit) as info:
        run("psa", FILE, "--draws", "0")
    assert info.value.code == 2


def test_tornado_table_and_png(tmp_path):
    csv, png = tmp_path / "t.csv", tmp_path / "t.png"
    assert run("tornado", FILE, "--output", str(csv), "--png", str(png)) == 0
    table = pd.read_csv(csv)
    expected = tornado(load_hta_model(FILE))
    assert table["parameter"].tolist() == expected["parameter"].tolist()
    np.testing.assert_allclose(table["swing"], expected["swing"], rtol=1e-12)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""The ``atmp-hta`` command line: validate, evaluate, schema.

Most tests call :func:`atmp_hta.cli.main` in-process (fast) and read its output with ``capsys``; one test
runs the installed console script as a subprocess, as a user would. Expected values come from the parameter
files themselves (settings, hashes of their bytes) and from the net-value formula
NV = w_s · w_u · B − H − π, with the unmet-need weight of the linear scheme, w_u = 1 + m · n.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from atmp_hta.cli import main
from atmp_hta.params import json_schema

ROOT = Path(__file__).resolve().parents[1]
CART = ROOT / "parameters" / "axicabtagene_ciloleucel.yaml"
TERMS = {"benefit", "severity_weight", "unmet_need_weight", "weighted_benefit", "expected_harm",
         "uncertainty_penalty"}


@pytest.fixture
def invalid_file(tmp_path):
    """The CAR-T example with a discount rate of 1.5."""
    text = CART.read_text(encoding="utf-8")
    assert text.count("discount_rate: 0.035") == 1
    path = tmp_path / "bad_discount.yaml"
    path.write_text(text.replace("discount_rate: 0.035", "discount_rate: 1.5"), encoding="utf-8")
    return path


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(err: str, *fragments):
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("atmp-hta")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


# ------------------------------------------------------------------------------------------ validate
def test_validate_ok(capsys):
    status, out, err = run(capsys, "validate", CART)
    assert status == 0 and err == ""
    assert out.startswith(f"ok  {CART}")
    assert "13 parameters, 4 harms" in out  # counted in the file


def test_validate_invalid(capsys, invalid_file):
    status, out, err = run(capsys, "validate", invalid_file)
    assert status == 2 and out == ""
    assert_one_line_error(err, invalid_file.name, "settings.discount_rate", "[0, 1)", "1.5")


def test_validate_reports_each_file(capsys, invalid_file):
    status, out, err = run(capsys, "validate", CART, invalid_file)
    assert status == 2
    assert out.count("ok  ") == 1 and str(CART) in out
    assert_one_line_error(err, "settings.discount_rate")


def test_validate_missing_file(capsys, tmp_path):
    status, out, err = run(capsys, "validate", tmp_path / "absent.yaml")
    assert status == 2
    assert_one_line_error(err, "absent.yaml", "no such file")


@pytest.mark.parametrize("command", ["validate", "evaluate"])
def test_a_directory_is_reported_as_a_directory(capsys, tmp_path, command):
    folder = tmp_path / "some_dir"
    folder.mkdir()
    status, out, err = run(capsys, command, f"{folder}{os.sep}")
    assert status == 2 and out == ""
    assert_one_line_error(err, "some_dir", "is a directory")
    assert "no such file" not in err


# ------------------------------------------------------------------------------------------ evaluate
def test_evaluate_table(capsys):
    status, out, err = run(capsys, "evaluate", CART)
    assert status == 0 and err == ""
    header, row = out.splitlines()[:2]
    for column in ("product", "decision", "net value", "P(NV>0)", "benefit", "penalty"):
        assert column in header
    assert "axi-cel" in row and ("APPROVE" in row or "REJECT" in row)
    assert "draws=1, seed=1" in out and "discount 0.035" in out


def _json(capsys, *argv):
    status, out, err = run(capsys, "evaluate", CART, "--format", "json", *argv)
    assert status == 0 and err == ""
    return json.loads(out)


def test_evaluate_json_base_case(capsys):
    result = _json(capsys)
    settings = yaml.safe_load(CART.read_text(encoding="utf-8"))["settings"]
    assert result["decision"] in {"approve", "reject"}
    assert (result["decision"] == "approve") == (result["net_value"] > settings["decision_threshold"])
    assert result["probability_net_value_positive"] is None
    terms = result["terms"]
    assert set(terms) == TERMS
    # the terms compose into the net value as the formula says
    assert terms["weighted_benefit"] == pytest.approx(
        terms["severity_weight"] * terms["unmet_need_weight"] * terms["benefit"], rel=1e-12)
    assert result["net_value"] == pytest.approx(
        terms["weighted_benefit"] - terms["expected_harm"] - terms["uncertainty_penalty"], rel=1e-12)
    # linear unmet-need scheme: 1 + max_uplift * unmet_need = 1 + 0.1 * 0.8
    assert terms["unmet_need_weight"] == pytest.approx(1.08, rel=1e-12)
    prov = result["provenance"]
    assert prov["version"] and isinstance(prov["version"], str)
    assert prov["parameter_file_sha256"] == hashlib.sha256(CART.read_bytes()).hexdigest()
    assert prov["seed"] == 1 and prov["draws"] == 1
    conventions = prov["conventions"]
    for key in ("discount_rate", "timing", "severity_scheme", "ce_method", "risk_aversion"):
        assert conventions[key] == settings[key], key


def test_evaluate_json_with_draws(capsys):
    result = _json(capsys, "--draws", "2000", "--seed", "7")
    p = result["probability_net_value_positive"]
    assert isinstance(p, float) and 0.0 <= p <= 1.0
    assert result["provenance"]["draws"] == 2000 and result["provenance"]["seed"] == 7
    assert all(math.isfinite(result["terms"][k]) for k in TERMS)
    # the same seed gives the same numbers; another seed other numbers
    assert _json(capsys, "--draws", "2000", "--seed", "7") == result
    assert _json(capsys, "--draws", "2000", "--seed", "8")["net_value"] != result["net_value"]


def test_evaluate_json_carries_the_mean_sd_caveat(capsys, tmp_path):
    # mean - k sd does not respect first-order stochastic dominance: the JSON says so, and stays valid JSON
    assert _json(capsys)["caveats"] == []
    text = CART.read_text(encoding="utf-8")
    assert text.count("ce_method: cara") == 1
    path = tmp_path / "mean_sd.yaml"
    path.write_text(text.replace("ce_method: cara", "ce_method: mean-sd"), encoding="utf-8")
    status, out, err = run(capsys, "evaluate", path, "--format", "json")
    assert status == 0
    caveats = json.loads(out)["caveats"]
    assert len(caveats) == 1 and "first-order stochastic dominance" in caveats[0]
    # ... and a reader of the table sees it too: one warning line on stderr naming the file
    status, out, err = run(capsys, "evaluate", path)
    assert status == 0 and ("APPROVE" in out or "REJECT" in out)
    assert err.splitlines() == [f"atmp-hta: warning: mean_sd.yaml: {caveats[0]}"]


def test_evaluate_output_file(capsys, tmp_path):
    target = tmp_path / "result.json"
    status, out, err = run(capsys, "evaluate", CART, "--format", "json", "--output", target)
    assert status == 0 and out == "" and err == ""
    assert json.loads(target.read_text(encoding="utf-8"))["decision"] in {"approve", "reject"}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary file left behind


def test_invalid_input_leaves_no_output(capsys, tmp_path, invalid_file):
    target = tmp_path / "result.json"
    status, out, err = run(capsys, "evaluate", invalid_file, "--format", "json", "--output", target)
    assert status == 2 and out == ""
    assert_one_line_error(err, "settings.discount_rate")
    assert not target.exists()
    # a valid file followed by an invalid one: still nothing written
    status, _, err = run(capsys, "evaluate", CART, invalid_file, "--output", target)
    assert status == 2 and not target.exists()
    # an existing output is left as it was
    target.write_text("previous\n", encoding="utf-8")
    status, _, _ = run(capsys, "evaluate", invalid_file, "--output", target)
    assert status == 2 and target.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["result.json", invalid_file.name])


def test_output_is_replaced_atomically(capsys, tmp_path, monkeypatch):
    """If the final rename fails, the old file is intact and no partial or temporary file remains."""
    target = tmp_path / "result.json"
    target.write_text("previous\n", encoding="utf-8")

    def failing_replace(src, dst):
        raise OSError("simulated failure while moving the file into place")

    monkeypatch.setattr(os, "replace", failing_replace)
    status, out, err = run(capsys, "evaluate", CART, "--output", target)
    monkeypatch.undo()
    assert status != 0 and out == ""
    assert_one_line_error(err, "simulated failure")
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_output_directory_must_exist(capsys, tmp_path):
    status, _, err = run(capsys, "evaluate", CART, "--output", tmp_path / "no" / "such" / "dir.json")
    assert status == 2
    assert_one_line_error(err, "--output")


@pytest.mark.parametrize("flag, value", [("--draws", "0"), ("--draws", "-5"), ("--draws", "abc"),
                                         ("--draws", "2.5"), ("--draws", "10000001"), ("--seed", "-1"),
                                         ("--seed", "x")])
def test_bad_draws_or_seed(capsys, flag, value):
    status, out, err = run(capsys, "evaluate", CART, flag, value)
    assert status == 2 and out == ""
    assert_one_line_error(err, flag, value)


def test_unknown_subcommand_and_missing_arguments(capsys):
    for argv in (["frobnicate"], ["evaluate"], ["evaluate", str(CART), "--format", "xml"]):
        status, out, err = run(capsys, *argv)
        assert status == 2 and out == "", argv
        assert_one_line_error(err)


# -------------------------------------------------------------------------------------------- schema
def test_schema_output(capsys, tmp_path):
    target = tmp_path / "schema.json"
    status, out, err = run(capsys, "schema", "--output", target)
    assert status == 0 and out == "" and err == ""
    written = json.loads(target.read_text(encoding="utf-8"))
    assert written == json_schema()
    assert {"product", "strategies", "population"} <= set(written["required"])


# ---------------------------------------------------------------------------------------- subprocess
def _command():
    script = Path(sys.executable).with_name("atmp-hta")
    if script.exists():
        return [str(script)]
    found = shutil.which("atmp-hta")
    return [found] if found else [sys.executable, "-m", "atmp_hta.cli"]


def test_console_script_as_a_subprocess(tmp_path, invalid_file):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.pop("ATMP_HTA_DEBUG", None)
    target = tmp_path / "out.json"
    done = subprocess.run([*_command(), "evaluate", str(CART), "--format", "json", "--output", str(target)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(target.read_text())["provenance"]["parameter_file_sha256"] == hashlib.sha256(
        CART.read_bytes()).hexdigest()
    done = subprocess.run([*_command(), "validate", str(invalid_file)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert_one_line_error(done.stderr, "settings.discount_rate", "1.5")

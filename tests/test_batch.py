"""Tests of the batch runner (atmp_hta.batch and its helpers batch_plan, batch_run, batch_summary).

The fast tests check planning, hashing, seeds, validation and the completion marker without a kernel. The
tests marked ``notebook`` execute ``tests/data/notebooks/toy.ipynb`` with papermill (about 1 s a run): one
batch of seven parameter sets (four valid, one invalid, one whose model raises, one that times out), a
rerun after fixing them, a batch killed midway and resumed, and the same runs on a Dask LocalCluster.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atmp_hta.batch import (
    BatchResult,
    add_batch_parser,
    derive_seed,
    notebook_hash,
    parameter_hash,
    parse_grid,
    record_results,
    run_batch,
)
from atmp_hta.batch_plan import DONE_FILE, NOTEBOOK_FILE, REPORT_FILE, RESULTS_FILE, plan_runs
from atmp_hta.batch_run import is_complete
from atmp_hta.exceptions import ParameterError

NOTEBOOK = Path(__file__).resolve().parent / "data" / "notebooks" / "toy.ipynb"
REPO = Path(__file__).resolve().parents[1]
TIMEOUT_S = 8  # per cell; the toy's cells take well under a second, the "slow" set sleeps for 60 s
RUN_TIMEOUT_S = 120  # per run (wall clock): far above what a toy run takes, even on a loaded machine
#: The settings every run of the seven-set toy batch shares (the first run, the rerun, the Dask run).
TOY_BATCH = dict(seed=11, timeout=RUN_TIMEOUT_S, cell_timeout=TIMEOUT_S, progress=False)
STEPS = Path(__file__).resolve().parent / "data" / "notebooks" / "steps.ipynb"  # four cells of step_s each

VALID = {"a1": 1, "a2": 2, "a3": 2.5, "a4": -4}
FIXED = {"bad": "a: 3\n", "boom": "a: 5\n", "slow": "a: 6\n"}


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return path


def _parameter_set(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = [_write(directory, name, f"a: {a}\n") for name, a in VALID.items()]
    files.append(_write(directory, "bad", "a: not a number\n"))
    files.append(_write(directory, "boom", "a: 1\nexplode: true\n"))
    files.append(_write(directory, "slow", "a: 1\nsleep_s: 60\n"))
    return files


def _snapshot(result: BatchResult) -> dict:
    """What the batch left on disk right after it finished (later tests change the directory)."""
    runs = {
        run_id: sorted(p.name for p in (result.output_dir / run_id).iterdir()) for run_id in result.summary["run_id"]
    }
    results = {}
    for run_id in result.summary["run_id"]:
        path = result.output_dir / run_id / RESULTS_FILE
        results[run_id] = json.loads(path.read_text()) if path.exists() else None
    return {
        "runs": runs,
        "results": results,
        "index": (result.output_dir / "index.html").read_text(),
        "csv": pd.read_csv(result.output_dir / "summary.csv"),
        "parquet": pd.read_parquet(result.output_dir / "summary.parquet"),
        "reports": {
            run_id: (result.output_dir / run_id / REPORT_FILE).read_text()
            for run_id in result.summary["run_id"]
            if (result.output_dir / run_id / REPORT_FILE).exists()
        },
    }


def _by_stem(frame: pd.DataFrame) -> dict[str, pd.Series]:
    return {Path(row["parameter_file"]).stem: row for _, row in frame.iterrows()}


# ------------------------------------------------------------------------------------------ fast tests


def test_parse_grid_parses_yaml_scalars_in_order():
    grid = parse_grid(["x=1,2.5,-3", "arm=gene therapy,null,true", "when=2026-01-01"])
    assert grid == {"x": [1, 2.5, -3], "arm": ["gene therapy", None, True], "when": ["2026-01-01"]}
    assert [type(v) for v in grid["x"]] == [int, float, int]
    assert parse_grid({"x": [1, 2], "y": "a,b", "z": 3.0}) == {"x": [1, 2], "y": ["a", "b"], "z": [3.0]}
    assert parse_grid(None) == {}


@pytest.mark.parametrize(
    "item",
    ["x", "=1", "1x=2", "x y=1", "x=", "x=1,,2", "seed=1", "results_path=a", "parameter_file=b", "x=[1"],
)
def test_parse_grid_rejects_malformed_items(item):
    with pytest.raises(ValueError, match=r"^The 'grid' parameter of batch must be .*\. Got "):
        parse_grid([item])


def test_parse_grid_rejects_repeated_keys():
    with pytest.raises(ParameterError, match="repeated keys"):
        parse_grid(["x=1", "x=2"])


def test_workers_below_one_is_rejected_with_the_project_message(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError) as info:
        run_batch(NOTEBOOK, output_dir=out, workers=0)
    assert str(info.value) == "The 'workers' parameter of batch must be >= 1. Got 0."
    assert not out.exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"notebook": "missing.ipynb"}, "The 'notebook' parameter of batch must be an existing .ipynb file"),
        ({"parameter_files": ["missing.yaml"]}, "The 'parameter_files' parameter of batch must be existing"),
        ({"grid": ["x"]}, "The 'grid' parameter of batch must be of the form key=value1,value2"),
        ({"grid": ["not_declared=1,2"]}, "whose 'parameters' cell defines not_declared"),
        ({"timeout": 0}, "The 'timeout' parameter of batch must be a number of seconds > 0. Got 0."),
        ({"timeout": float("inf")}, "The 'timeout' parameter of batch must be a number of seconds > 0. Got inf."),
        ({"cell_timeout": -1}, "The 'cell_timeout' parameter of batch must be a number of seconds > 0, or None."),
        ({"seed": -1}, "The 'seed' parameter of batch must be an integer >= 0. Got -1."),
    ],
)
def test_bad_input_raises_before_anything_is_written(tmp_path, kwargs, message):
    out = tmp_path / "out"
    arguments = {"notebook": NOTEBOOK, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        run_batch(arguments.pop("notebook"), **arguments, output_dir=out)
    assert not out.exists()


def test_a_notebook_without_a_parameters_cell_is_rejected(tmp_path):
    nb = json.loads(NOTEBOOK.read_text())
    for cell in nb["cells"]:
        cell["metadata"].pop("tags", None)
    plain = tmp_path / "plain.ipynb"
    plain.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="a notebook with a cell tagged 'parameters'"):
        run_batch(plain, output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    import argparse

    parser = argparse.ArgumentParser(prog="atmp-hta")
    add_batch_parser(parser.add_subparsers(dest="command"))
    out = tmp_path / "out"
    args = parser.parse_args(["batch", str(NOTEBOOK), "--grid", "x=1,", "--output", str(out)])
    assert args.handler(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("atmp-hta batch: error: The 'grid' parameter of batch")
    assert not out.exists()


def test_derive_seed_is_deterministic_and_spreads():
    h = parameter_hash(None, {"x": 1}, seed=7)
    assert derive_seed(7, h) == derive_seed(7, h)
    # The documented derivation, re-implemented: the first 32 bits of SHA-256 of the batch seed and hash.
    digest = hashlib.sha256(f"atmp_hta.batch:7:{h}".encode()).digest()
    assert derive_seed(7, h) == int.from_bytes(digest[:4], "big") == 2911043762  # must not drift
    seeds = {derive_seed(7, parameter_hash(None, {"x": x}, seed=7)) for x in range(200)}
    assert len(seeds) == 200


@settings(max_examples=50, deadline=None)
@given(batch_seed=st.integers(0, 2**63), text=st.text(max_size=20))
def test_derive_seed_property(batch_seed, text):
    h = parameter_hash(None, {"x": text}, seed=batch_seed)
    seed = derive_seed(batch_seed, h)
    assert 0 <= seed < 2**32
    assert seed == derive_seed(batch_seed, h)
    np.random.default_rng(seed)  # any generator accepts it


def test_parameter_hash_covers_content_grid_and_seed(tmp_path):
    p = _write(tmp_path, "p", "a: 1\n")
    base = parameter_hash(p, {"x": 1}, 0)
    assert parameter_hash(p, {"x": 1}, 0) == base
    assert parameter_hash(p, {"x": 2}, 0) != base
    assert parameter_hash(p, {"x": 1}, 1) != base
    assert parameter_hash(p, {"x": 1.5}, 0) != base
    moved = _write(tmp_path, "moved", "a: 1\n")
    assert parameter_hash(moved, {"x": 1}, 0) == base  # content, not path
    p.write_text("a: 2\n")
    assert parameter_hash(p, {"x": 1}, 0) != base


def test_notebook_hash_ignores_outputs_but_not_sources(tmp_path):
    nb = json.loads(NOTEBOOK.read_text())
    nb["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hello"}]
    nb["cells"][2]["execution_count"] = 3
    executed = tmp_path / "executed.ipynb"
    executed.write_text(json.dumps(nb))
    assert notebook_hash(executed) == notebook_hash(NOTEBOOK)
    nb["cells"][2]["source"] = ["a = 2"]
    executed.write_text(json.dumps(nb))
    assert notebook_hash(executed) != notebook_hash(NOTEBOOK)


def test_plan_is_deterministic_with_readable_unique_ids(tmp_path):
    files = [_write(tmp_path, "gene therapy", "a: 1\n"), _write(tmp_path, "car-t", "a: 2\n")]
    grid = parse_grid(["x=1,2", "label=base,high dose"])
    plan = plan_runs(NOTEBOOK, files, grid, tmp_path / "out", 0, 60, None)
    again = plan_runs(NOTEBOOK, files, grid, tmp_path / "out", 0, 60, None)
    assert plan == again
    assert len(plan) == 8 and len({s.run_id for s in plan}) == 8 and len({s.seed for s in plan}) == 8
    assert re.fullmatch(r"gene_therapy-x=1-label=base-[0-9a-f]{8}", plan[0].run_id)
    assert re.fullmatch(r"car-t-x=2-label=high_dose-[0-9a-f]{8}", plan[-1].run_id)
    assert plan[0].parameters() == {
        "x": 1,
        "label": "base",
        "parameter_file": str(files[0]),
        "seed": plan[0].seed,
        "results_path": str(tmp_path / "out" / plan[0].run_id / RESULTS_FILE),
    }
    # Editing a file keeps the run's directory but changes its parameter hash and seed.
    files[0].write_text("a: 3\n")
    edited = plan_runs(NOTEBOOK, files, grid, tmp_path / "out", 0, 60, None)
    assert edited[0].run_id == plan[0].run_id
    assert edited[0].parameter_hash != plan[0].parameter_hash and edited[0].seed != plan[0].seed
    # Another batch seed is another batch.
    other = plan_runs(NOTEBOOK, files, grid, tmp_path / "out", 1, 60, None)
    assert {s.run_id for s in other}.isdisjoint(s.run_id for s in plan)


def _fake_completed_run(tmp_path: Path):
    spec = plan_runs(NOTEBOOK, [_write(tmp_path, "p", "a: 1\n")], {}, tmp_path / "out", 0, 60, None)[0]
    run_dir = Path(spec.run_dir)
    run_dir.mkdir(parents=True)
    for name in (NOTEBOOK_FILE, REPORT_FILE):
        (run_dir / name).write_text("{}")
    record_results({"y": 1.0}, run_dir / RESULTS_FILE)
    marker = {"status": "ok", "parameter_hash": spec.parameter_hash, "notebook_hash": spec.notebook_hash}
    (run_dir / DONE_FILE).write_text(json.dumps(marker))
    return spec, run_dir, marker


def test_completion_marker_is_trusted_only_when_whole_and_matching(tmp_path):
    spec, run_dir, marker = _fake_completed_run(tmp_path)
    assert is_complete(spec)

    done = run_dir / DONE_FILE
    text = done.read_text()
    done.write_text(text[: len(text) // 2])  # a marker cut short
    assert not is_complete(spec)
    done.write_text(json.dumps({**marker, "notebook_hash": "0" * 64}))  # the notebook was edited since
    assert not is_complete(spec)
    done.write_text(json.dumps({**marker, "parameter_hash": "0" * 64}))  # the parameters were edited
    assert not is_complete(spec)
    done.write_text(json.dumps({**marker, "status": "failed"}))
    assert not is_complete(spec)
    done.write_text(json.dumps(marker))
    (run_dir / REPORT_FILE).unlink()  # an output missing
    assert not is_complete(spec)
    (run_dir / REPORT_FILE).write_text("{}")
    assert is_complete(spec)
    done.unlink()
    (run_dir / f".{DONE_FILE}.abc123.tmp").write_text(json.dumps(marker))  # only a temporary file
    assert not is_complete(spec)


def test_record_results_writes_json_atomically(tmp_path):
    path = tmp_path / "r.json"
    assert record_results({"icer": np.float64(2.5), "n": np.int64(3), "arr": np.arange(3)}, path) is None
    assert json.loads(path.read_text()) == {"icer": 2.5, "n": 3, "arr": [0, 1, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    with pytest.raises(TypeError, match="cannot be written as JSON"):
        record_results({"x": object()}, tmp_path / "s.json")
    assert not (tmp_path / "s.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    with pytest.raises(TypeError, match="expects a mapping"):
        record_results([1, 2], tmp_path / "t.json")


def test_scheduler_comes_from_the_environment(monkeypatch):
    from atmp_hta.batch import _resolve_scheduler

    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    assert _resolve_scheduler(None) is None
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://10.0.0.1:8786")
    assert _resolve_scheduler(None) == "tcp://10.0.0.1:8786"
    assert _resolve_scheduler("tcp://other:1") == "tcp://other:1"


def _batch_parser():
    import argparse

    parser = argparse.ArgumentParser(prog="atmp-hta")
    return parser, add_batch_parser(parser.add_subparsers(dest="command"))


def test_cli_help_says_which_timeout_is_which():
    parser, batch = _batch_parser()
    text = " ".join(batch.format_help().split())
    assert "--timeout SECONDS wall-clock limit of each run, all cells together" in text
    assert "--cell-timeout SECONDS limit for any one cell" in text
    args = parser.parse_args(["batch", str(NOTEBOOK), "--timeout", "30", "--cell-timeout", "2.5"])
    assert (args.timeout, args.cell_timeout) == (30.0, 2.5)
    assert parser.parse_args(["batch", str(NOTEBOOK)]).cell_timeout is None


def test_a_cell_may_run_at_most_as_long_as_its_run(tmp_path):
    def cell_limit(timeout, cell_timeout):
        return plan_runs(NOTEBOOK, [None], {}, tmp_path, 0, timeout, None, cell_timeout)[0].cell_limit

    assert cell_limit(30, None) == 30
    assert cell_limit(30, 5) == 5
    assert cell_limit(30, 60) == 30


def test_run_clock_gives_each_cell_what_is_left_of_the_run():
    from atmp_hta.batch_run import _RunClock

    now = time.monotonic()
    clock = _RunClock(run_timeout=10, cell_timeout=4, started=now)
    assert 3.9 < clock(None) <= 4 and not clock.run_limit_hit
    clock = _RunClock(run_timeout=10, cell_timeout=4, started=now - 8)  # about 2 s left
    assert 1 < clock(None) < 2.1 and clock.run_limit_hit
    clock = _RunClock(run_timeout=10, cell_timeout=4, started=now - 11)  # time is up
    assert 0 < clock(None) <= 0.01 and clock.run_limit_hit  # a tiny limit, never 0 (nbclient: "no limit")


def test_declared_parameters_include_union_annotations(tmp_path):
    from atmp_hta.batch_plan import declared_parameters, validate_batch

    nb = json.loads(NOTEBOOK.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    cell["source"] = [
        "from typing import Optional\n",
        "seed: int = 0  # seed\n",
        "results_path: str | None = None  # papermill 2.7 does not read this annotation\n",
        "parameter_file: Optional[str] = None\n",
        "x = 1.0\n",
        "%matplotlib inline\n",
    ]
    path = tmp_path / "union.ipynb"
    path.write_text(json.dumps(nb))
    assert {"seed", "results_path", "parameter_file", "x"} <= declared_parameters(path)
    validate_batch(path, [], None, tmp_path / "out", 1, 0, 60)  # results_path is declared: accepted


def _index_frame(tmp_path: Path) -> pd.DataFrame:
    from atmp_hta.batch_summary import summary_frame

    files = [_write(tmp_path, name, "a: 1\n") for name in ("ok", "failed", "skipped")]
    specs = plan_runs(NOTEBOOK, files, {"x": [1]}, tmp_path / "out", 0, 60, None)
    results = {
        "decision": "approve",
        "net_value": 2.378487992237946,
        "probability": 0.91234567,
        "tipping": float("nan"),
        "n_draws": 100000,
        "sha256": "63ca3799f59ad36d82d4242649c1ab044d843470ae733047c6522754215f33df",
        **{f"extra_{i}": i / 3 for i in range(8)},
    }
    rows = [
        specs[0].row("ok", None, 1.25, results),
        specs[1].row("failed", "ValueError: " + "a long message that must wrap " * 12, 0.5, None),
        specs[2].row("skipped", None, 3.0, {**results, "net_value": -0.5}),
    ]
    return summary_frame(rows, ["x"])


def test_index_is_a_readable_table_of_statuses_results_and_errors(tmp_path):
    from atmp_hta.batch_summary import index_html

    page = index_html(_index_frame(tmp_path), NOTEBOOK, 1, "Batch: toy.ipynb")
    assert "<tr class=" not in page  # the row is not coloured; the status is a badge in its cell
    for status in ("ok", "failed", "skipped"):
        assert f'<span class="badge badge-{status}">{status}</span>' in page
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", page).group(1)
    columns = re.findall(r"<th>(.*?)</th>", header)
    # the first six results with short values are columns; the hash is left to the summary files
    assert [re.sub("<wbr>", "", c) for c in columns] == [
        "run", "status", "parameter file", "x", "decision", "net_value", "probability", "tipping", "n_draws",
        "extra_0", "seed", "duration (s)", "",
    ]  # fmt: skip
    assert "6 of 14 recorded results shown" in page and "63ca3799" not in page
    rows = re.findall(r"<tr>(.*?)</tr>", page.split("<tbody>")[1])
    assert '<td class="num">2.378</td><td class="num">0.9123</td><td class="num">—</td>' in rows[0]
    assert '<td class="num">100,000</td>' in rows[0] and '<td class="num">-0.5000</td>' in rows[2]
    assert "2.378487992237946" not in page and ">nan<" not in page.lower()
    assert '<td class="error" colspan="6">ValueError: a long message' in rows[1]
    assert "width: 100%" in page and "white-space: pre-wrap" in page  # fits the page; errors wrap


# -------------------------------------------------------------------------------------- notebook tests


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """Seven parameter sets: four valid, one invalid, one whose model raises, one that times out."""
    root = tmp_path_factory.mktemp("batch")
    files = _parameter_set(root / "params")
    result = run_batch(NOTEBOOK, files, output_dir=root / "out", workers=2, **TOY_BATCH)
    return root, files, result, _snapshot(result)


@pytest.fixture(scope="module")
def second(first):
    """The same batch after the three failing parameter files were fixed."""
    root, files, _, _ = first
    for name, text in FIXED.items():
        (root / "params" / f"{name}.yaml").write_text(text)
    result = run_batch(NOTEBOOK, files, output_dir=root / "out", workers=2, **TOY_BATCH)
    return result, _snapshot(result)


@pytest.mark.notebook
def test_valid_runs_complete_with_correct_results(first):
    _, _, result, snap = first
    rows = _by_stem(result.summary)
    for stem, a in VALID.items():
        row = rows[stem]
        assert row["status"] == "ok" and pd.isna(row["error"])
        assert row["y"] == pytest.approx(a * 1.0) and row["inputs.a"] == a and row["label"] == "base"
        # The injected seed reached the notebook's generator.
        assert row["draw"] == np.random.default_rng(int(row["seed"])).random()
        # Kernels get one BLAS/OpenMP thread each unless the environment sets a number.
        assert row["omp_num_threads"] == os.environ.get("OMP_NUM_THREADS", "1")
        assert snap["runs"][row["run_id"]] == [
            DONE_FILE,
            "kernel.log",
            NOTEBOOK_FILE,
            REPORT_FILE,
            RESULTS_FILE,
        ]
        assert snap["results"][row["run_id"]]["y"] == pytest.approx(a)
    assert result.n_ok == 4 and result.n_skipped == 0


@pytest.mark.notebook
def test_failures_are_reported_with_their_errors(first):
    _, _, result, snap = first
    assert result.n_failed == 3 and result.n_runs == 7
    rows = _by_stem(result.summary)
    assert rows["bad"]["error"] == (
        "ParameterError: The 'a' parameter of the toy parameter file must be a number. Got 'not a number'."
    )
    assert rows["boom"]["error"] == "RuntimeError: boom: the toy model exploded"
    assert rows["slow"]["error"] == f"TimeoutError: a cell ran longer than the execution timeout of {TIMEOUT_S} s"
    for stem in ("bad", "boom", "slow"):
        run_id = rows[stem]["run_id"]
        assert rows[stem]["status"] == "failed"
        assert DONE_FILE not in snap["runs"][run_id] and RESULTS_FILE not in snap["runs"][run_id]
        # The failed notebook and its report are kept, to show where it stopped.
        assert NOTEBOOK_FILE in snap["runs"][run_id] and REPORT_FILE in snap["runs"][run_id]
    assert "the toy model exploded" in snap["reports"][rows["boom"]["run_id"]]
    assert "Execution stopped: TimeoutError" in snap["reports"][rows["slow"]["run_id"]]
    assert list(result.failures["run_id"]) == [rows[s]["run_id"] for s in ("bad", "boom", "slow")]


@pytest.mark.notebook
def test_summary_files_and_index(first):
    _, files, result, snap = first
    summary = result.summary
    assert list(summary.columns[:9]) == [
        "run_id",
        "status",
        "error",
        "parameter_file",
        "seed",
        "parameter_hash",
        "notebook_hash",
        "duration_s",
        "report",
    ]
    assert {"y", "draw", "label", "inputs.a", "inputs.x"} <= set(summary.columns)
    assert list(summary["parameter_file"]) == [str(f) for f in files]  # the order planned
    assert summary["notebook_hash"].nunique() == 1 and summary["parameter_hash"].nunique() == 7
    pd.testing.assert_frame_equal(snap["parquet"], summary, check_dtype=False)
    assert list(snap["csv"]["run_id"]) == list(summary["run_id"])
    assert np.allclose(snap["csv"]["y"], summary["y"], equal_nan=True)
    index = snap["index"]
    for run_id in summary["run_id"]:
        assert f'href="{run_id}/report.html"' in index
    assert "Got &#x27;not a number&#x27;." in index and "boom: the toy model exploded" in index
    assert "7 runs: 4 ok, 0 skipped, 3 failed" in index


@pytest.mark.notebook
def test_reports_hide_inputs_and_keep_svg(first):
    _, _, result, snap = first
    report = snap["reports"][_by_stem(result.summary)["a2"]["run_id"]]
    assert "TOY_INPUT_MARKER" not in report and "record_results" not in report
    assert "y = 2.0" in report
    # nbconvert embeds SVG outputs as data URIs: static, offline, and kept in the PDF.
    svgs = re.findall(r'data-mime-type="image/svg\+xml".*?src="data:image/svg\+xml;base64,([^"]+)"', report, re.S)
    assert len(svgs) == 1 and b'id="toy-bar" width="2.0"' in base64.b64decode(svgs[0])


@pytest.mark.notebook
def test_rerun_skips_completed_runs_and_finishes_fixed_ones(first, second):
    _, _, before, _ = first
    after, snap = second
    rows, old = _by_stem(after.summary), _by_stem(before.summary)
    for stem in VALID:
        assert rows[stem]["status"] == "skipped"
        for column in ("run_id", "seed", "parameter_hash", "y", "draw", "duration_s"):
            assert rows[stem][column] == old[stem][column]
    for stem, text in FIXED.items():
        a = float(text.split()[1])
        assert rows[stem]["status"] == "ok" and rows[stem]["y"] == a
        assert rows[stem]["run_id"] == old[stem]["run_id"]  # same run, re-executed in place
        assert rows[stem]["parameter_hash"] != old[stem]["parameter_hash"]
        assert DONE_FILE in snap["runs"][rows[stem]["run_id"]]
    assert (after.n_ok, after.n_skipped, after.n_failed) == (3, 4, 0)
    assert "7 runs: 3 ok, 4 skipped, 0 failed" in snap["index"]


@pytest.mark.notebook
def test_dask_cluster_gives_the_same_results_as_local_threads(first, tmp_path):
    distributed = pytest.importorskip("distributed")
    root, files, local, _ = first
    valid = [f for f in files if f.stem in VALID]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_batch(NOTEBOOK, valid, output_dir=tmp_path / "dask", scheduler=cluster.scheduler_address,
                           **TOY_BATCH)
    assert remote.n_ok == 4
    keep = ["run_id", "status", "parameter_file", "seed", "parameter_hash", "notebook_hash", "report"]
    keep += ["y", "draw", "label", "inputs.a", "inputs.x", "omp_num_threads"]
    expected = local.summary[local.summary["parameter_file"].isin([str(f) for f in valid])][keep]
    pd.testing.assert_frame_equal(remote.summary[keep], expected.reset_index(drop=True))


@pytest.mark.notebook
def test_cli_exits_non_zero_when_a_run_fails(tmp_path, capsys):
    import argparse

    parser = argparse.ArgumentParser(prog="atmp-hta")
    add_batch_parser(parser.add_subparsers(dest="command"))
    bad = _write(tmp_path, "bad", "a: [1, 2]\n")
    args = parser.parse_args(["batch", str(NOTEBOOK), str(bad), "--output", str(tmp_path / "out"), "--no-progress"])
    assert args.handler(args) == 1
    captured = capsys.readouterr()
    assert re.search(r"failed: bad-[0-9a-f]{8}: ParameterError: The 'a' parameter", captured.err)
    assert "1 runs: 0 ok, 0 skipped, 1 failed." in captured.out


def _wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.notebook
def test_a_killed_batch_leaves_nothing_a_rerun_trusts(tmp_path):
    params = tmp_path / "params"
    params.mkdir()
    flag = tmp_path / "hold"
    flag.write_text("")
    fast = [_write(params, f"fast{i}", f"a: {i}\n") for i in (1, 2)]
    held = _write(params, "held", f"a: 7\nblock_while: {json.dumps(str(flag))}\n")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "atmp_hta.batch", str(NOTEBOOK), *map(str, fast), str(held)]
    cmd += ["--output", str(out), "--workers", "1", "--no-progress", "--timeout", "60"]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kernel_pid_file = Path(str(flag) + ".pid")
    try:
        _wait_for(kernel_pid_file.exists, 90, "the held run to start")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and anything left in its session
        proc.wait(timeout=30)
        if kernel_pid_file.exists():  # the kernel runs in a session of its own: end it by its id
            try:
                os.kill(int(kernel_pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
    held_dir = next(out.glob("held-*"))
    fast_dirs = sorted(out.glob("fast*"))
    assert [sorted(p.name for p in d.iterdir()) for d in fast_dirs] == [
        [DONE_FILE, "kernel.log", NOTEBOOK_FILE, REPORT_FILE, RESULTS_FILE]
    ] * 2
    # The interrupted run: no marker, no results, no notebook or report that looks finished.
    assert not {DONE_FILE, RESULTS_FILE, NOTEBOOK_FILE, REPORT_FILE} & {p.name for p in held_dir.iterdir()}
    assert not {"summary.csv", "summary.parquet", "index.html"} & {p.name for p in out.iterdir()}

    # Leftovers of a crash: half a results file and a temporary marker, and a fast run's marker cut short.
    (held_dir / RESULTS_FILE).write_text('{"y": 1')
    (held_dir / f".{DONE_FILE}.x1y2z3.tmp").write_text("{}")
    marker = fast_dirs[0] / DONE_FILE
    marker.write_text(marker.read_text()[:40])

    flag.unlink()
    result = run_batch(NOTEBOOK, [*fast, held], output_dir=out, workers=2, timeout=60, progress=False)
    rows = _by_stem(result.summary)
    assert rows["fast1"]["status"] == "ok"  # its marker was cut short: executed again
    assert rows["fast2"]["status"] == "skipped"
    assert rows["held"]["status"] == "ok" and rows["held"]["y"] == 7
    assert sorted(p.name for p in held_dir.iterdir()) == [
        DONE_FILE,
        "kernel.log",
        NOTEBOOK_FILE,
        REPORT_FILE,
        RESULTS_FILE,
    ]


def _kernel_gone(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.notebook
def test_a_run_over_its_time_limit_fails_though_every_cell_is_within_the_cell_limit(tmp_path):
    # steps.ipynb: four cells of step_s = 2 s each, every one under the 4 s cell limit; 8 s together
    pid_file = tmp_path / "kernel.pid"
    grid = {"step_s": [2.0], "pid_file": [str(pid_file)]}
    result = run_batch(STEPS, grid=grid, output_dir=tmp_path / "out", timeout=5, cell_timeout=4, progress=False)
    row = result.summary.iloc[0]
    assert row["status"] == "failed" and result.n_failed == 1
    assert row["error"] == (
        "TimeoutError: the run took longer than its time limit of 5 s (wall clock, all cells together); "
        "the kernel was shut down"
    )
    run_dir = result.output_dir / row["run_id"]
    assert not {DONE_FILE, RESULTS_FILE} & {p.name for p in run_dir.iterdir()}
    assert "Execution stopped: TimeoutError: the run took longer" in (run_dir / REPORT_FILE).read_text()
    executed = json.loads((run_dir / NOTEBOOK_FILE).read_text())
    steps = [c for c in executed["cells"] if "time.sleep(step_s)" in "".join(c["source"])]
    assert len(steps) == 4 and steps[-1]["execution_count"] is None  # stopped before the last step
    # the kernel is shut down, not left running
    _wait_for(lambda: _kernel_gone(int(pid_file.read_text())), 30, "the timed-out run's kernel to end")

    # the same cells with time enough for the run: each cell alone was never the problem
    ok = run_batch(STEPS, grid=grid, output_dir=tmp_path / "ok", timeout=60, cell_timeout=4, progress=False)
    assert ok.n_ok == 1 and ok.summary.iloc[0]["steps"] == 4


@pytest.mark.notebook
def test_index_fits_the_page_and_colours_only_the_badge(first, tmp_path):
    import shutil

    from playwright.sync_api import sync_playwright

    from atmp_hta.report import CHROMIUM_ARGS

    _, _, _, snap = first
    index = tmp_path / "index.html"  # as the first batch left it (the rerun fixed the failed runs)
    index.write_text(snap["index"])
    chromium = shutil.which("chromium")
    assert chromium is not None, "Debian's chromium is not installed (`make browser` installs it)"
    def measure():
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=list(CHROMIUM_ARGS))
            try:
                page = browser.new_page(viewport={"width": 1024, "height": 768})
                page.goto(index.as_uri())
                failed_row = page.locator("tr", has=page.locator(".badge-failed")).first
                return (
                    page.evaluate("document.documentElement.scrollWidth - window.innerWidth"),
                    page.locator(".table-wrap").evaluate("w => w.scrollWidth - w.clientWidth"),
                    failed_row.locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor"),
                    failed_row.locator(".badge").evaluate("e => getComputedStyle(e).backgroundColor"),
                )
            finally:
                browser.close()

    # In a thread of its own: the browser tests' session-wide Playwright may be running in this one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        overflow, table_overflow, row_colour, badge_colour = pool.submit(measure).result()
    assert overflow <= 0, f"the index is {overflow} px wider than the page"
    assert table_overflow <= 0, f"the table is {table_overflow} px wider than the page"
    assert row_colour == "rgba(0, 0, 0, 0)"  # the row itself is not coloured ...
    assert badge_colour not in ("rgba(0, 0, 0, 0)", row_colour)  # ... only the failed run's badge
